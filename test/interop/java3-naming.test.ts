import { realNamingClientSuite } from '../support/naming-interop-suite.js';
import { javaNaming310 } from '../support/real-naming-clients.js';

// The current client, com.alibaba.nacos:nacos-client:3.1.0, and its NamingService against one of our nodes.
realNamingClientSuite(javaNaming310);
