import { fileURLToPath } from 'node:url';
import { realNamingClientSuite } from '../support/naming-interop-suite.js';

const javaDir = fileURLToPath(new URL('../../interop/java/', import.meta.url));

// The current client, com.alibaba.nacos:nacos-client:3.1.0, and its NamingService against one of our nodes.
realNamingClientSuite({
  name: 'Java nacos-client 3.1.0 NamingService',
  build: `${javaDir}build.sh`,
  command: (server, cacheDir) => [
    'java',
    ['-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-cp', `${javaDir}target/nacos-interop-java-3.1.0.jar`, 'nacosremote.interop.NamingHarness', '--servers', server, '--cache-dir', cacheDir],
  ],
  refusedWith501: (answer) => answer['code'] === 501 && /persistent instances are not supported/.test(String(answer['message'])),
});
