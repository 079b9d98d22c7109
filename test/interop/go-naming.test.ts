import { realNamingClientSuite } from '../support/naming-interop-suite.js';
import { goNaming } from '../support/real-naming-clients.js';

// The real github.com/nacos-group/nacos-sdk-go/v2 naming client against one of our nodes.
realNamingClientSuite(goNaming);
