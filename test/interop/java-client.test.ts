import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { realClientSuite } from '../support/interop-suite.js';

const javaDir = fileURLToPath(new URL('../../interop/java/', import.meta.url));

// The real com.alibaba.nacos:nacos-client:2.2.4 RpcClient (via RpcClientFactory) against our nodes.
realClientSuite({
  name: 'Java nacos-client 2.2.4',
  build: `${javaDir}build.sh`,
  command: (servers) => [
    'java',
    ['-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-jar', `${javaDir}target/nacos-interop-java.jar`, '--servers', servers.join(','), '--labels', 'source=sdk,AppName=interop-java'],
  ],
  checkRegistration(info) {
    assert.equal(info.version, 'Nacos-Java-Client:v2.2.4');
    assert.equal(info.labels['AppName'], 'interop-java');
    assert.equal(info.labels['tls.enable'], 'false');
    assert.equal(info.appName, 'interop-java');
  },
});
