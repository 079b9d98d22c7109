import { fileURLToPath } from 'node:url';
import { realConfigClientSuite } from '../support/config-interop-suite.js';

const javaDir = fileURLToPath(new URL('../../interop/java/', import.meta.url));

// The current client, com.alibaba.nacos:nacos-client:3.1.0, and its ConfigService against one of
// our nodes. It names the default namespace 'public' where 2.x clients send ''.
realConfigClientSuite({
  name: 'Java nacos-client 3.1.0',
  build: `${javaDir}build.sh`,
  command: (server, cacheDir) => [
    'java',
    ['-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-cp', `${javaDir}target/nacos-interop-java-3.1.0.jar`, 'nacosremote.interop.ConfigHarness', '--servers', server, '--cache-dir', cacheDir],
  ],
});
