// The test fixture model (meets the swiftvr-model/1 contract, never trained), made by models/.
import { fileURLToPath } from 'node:url';

export const FIXTURE_MODEL = fileURLToPath(new URL('../fixtures/model/swiftvr-fixture.onnx', import.meta.url));
