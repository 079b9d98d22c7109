import { realNamingClientSuite } from '../support/naming-interop-suite.js';
import { javaNaming224 } from '../support/real-naming-clients.js';

// The real com.alibaba.nacos:nacos-client:2.2.4 NamingService against one of our nodes.
realNamingClientSuite(javaNaming224);
