import { fileURLToPath } from 'node:url';
import { realNamingClientSuite } from '../support/naming-interop-suite.js';

const javaDir = fileURLToPath(new URL('../../interop/java/', import.meta.url));

// The real com.alibaba.nacos:nacos-client:2.2.4 NamingService against one of our nodes.
realNamingClientSuite({
  name: 'Java nacos-client 2.2.4 NamingService',
  build: `${javaDir}build.sh`,
  command: (server, cacheDir) => [
    'java',
    ['-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-cp', `${javaDir}target/nacos-interop-java.jar`, 'nacosremote.interop.NamingHarness', '--servers', server, '--cache-dir', cacheDir],
  ],
  // Java's HTTP proxy carries the status as the error code and our body as the message.
  refusedWith501: (answer) => answer['code'] === 501 && /persistent instances are not supported/.test(String(answer['message'])),
});
