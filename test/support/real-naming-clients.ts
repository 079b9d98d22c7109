import { fileURLToPath } from 'node:url';
import type { RealNamingClient } from './naming-interop-suite.js';

const javaDir = fileURLToPath(new URL('../../interop/java/', import.meta.url));
const goDir = fileURLToPath(new URL('../../interop/go/', import.meta.url));

/** The real Java NamingService of the nacos-client whose harness jar is `jar`. */
function javaNamingClient(name: string, jar: string): RealNamingClient {
  return {
    name,
    build: `${javaDir}build.sh`,
    command: (server, cacheDir) => [
      'java',
      ['-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-cp', `${javaDir}target/${jar}`, 'nacosremote.interop.NamingHarness', '--servers', server, '--cache-dir', cacheDir],
    ],
    // Java's HTTP proxy carries the status as the error code and our body as the message.
    refusedWith501: (answer) => answer['code'] === 501 && /persistent instances are not supported/.test(String(answer['message'])),
  };
}

/** com.alibaba.nacos:nacos-client:2.2.4. */
export const javaNaming224 = javaNamingClient('Java nacos-client 2.2.4 NamingService', 'nacos-interop-java.jar');

/** com.alibaba.nacos:nacos-client:3.1.0, the current client. */
export const javaNaming310 = javaNamingClient('Java nacos-client 3.1.0 NamingService', 'nacos-interop-java-3.1.0.jar');

/** github.com/nacos-group/nacos-sdk-go/v2. */
export const goNaming: RealNamingClient = {
  name: 'Go nacos-sdk-go/v2 naming client',
  build: `${goDir}build.sh`,
  command: (server, cacheDir) => [`${goDir}bin/nacos-interop-go`, ['naming', '--servers', server, '--cache-dir', cacheDir, '--log-level', 'warn']],
  refusedWith501: (answer) => /501/.test(String(answer['message'])),
};
