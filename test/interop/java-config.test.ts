import { fileURLToPath } from 'node:url';
import { realConfigClientSuite } from '../support/config-interop-suite.js';

const javaDir = fileURLToPath(new URL('../../interop/java/', import.meta.url));

// The real com.alibaba.nacos:nacos-client:2.2.4 ConfigService against one of our nodes.
realConfigClientSuite({
  name: 'Java nacos-client 2.2.4',
  build: `${javaDir}build.sh`,
  command: (server, cacheDir) => [
    'java',
    ['-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-cp', `${javaDir}target/nacos-interop-java.jar`, 'nacosremote.interop.ConfigHarness', '--servers', server, '--cache-dir', cacheDir],
  ],
});
