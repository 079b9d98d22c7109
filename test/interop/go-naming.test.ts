import { fileURLToPath } from 'node:url';
import { realNamingClientSuite } from '../support/naming-interop-suite.js';

const goDir = fileURLToPath(new URL('../../interop/go/', import.meta.url));

// The real github.com/nacos-group/nacos-sdk-go/v2 naming client against one of our nodes.
realNamingClientSuite({
  name: 'Go nacos-sdk-go/v2 naming client',
  build: `${goDir}build.sh`,
  command: (server, cacheDir) => [`${goDir}bin/nacos-interop-go`, ['naming', '--servers', server, '--cache-dir', cacheDir, '--log-level', 'warn']],
  refusedWith501: (answer) => /501/.test(String(answer['message'])),
});
