import { ReferenceBackend } from '../src/compute/reference.js';
import { goldenSuite } from './helpers/golden-suite.js';

// The suite lives in helpers/golden-suite.ts so other backends' tests (wasm-backend.test.ts) can run it too.
export { goldenSuite };

goldenSuite(new ReferenceBackend('float64'), { forward: 1e-10, grad: 1e-9, adam: 1e-10 });
goldenSuite(new ReferenceBackend('float32'), { forward: 1e-4, grad: 1e-4, adam: 1e-5 });
