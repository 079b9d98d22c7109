import { fileURLToPath } from 'node:url';
import { realConfigClientSuite } from '../support/config-interop-suite.js';

const goDir = fileURLToPath(new URL('../../interop/go/', import.meta.url));

// The real github.com/nacos-group/nacos-sdk-go/v2 config client against one of our nodes.
realConfigClientSuite({
  name: 'Go nacos-sdk-go/v2',
  build: `${goDir}build.sh`,
  losesPushDuringListen: true,
  command: (server, cacheDir) => [`${goDir}bin/nacos-interop-go`, ['config', '--servers', server, '--cache-dir', cacheDir, '--log-level', 'warn']],
});
