// The test fixture model (meets the swiftvr-model/1 contract, never trained), made by models/.
import { fileURLToPath } from 'node:url';

export const FIXTURE_MODEL = fileURLToPath(new URL('../fixtures/model/swiftvr-fixture.onnx', import.meta.url));

/**
 * A weightless model whose output depends on its carried state (hq = nearest_x2(0.75 lq +
 * 0.25 state), state_out = mean of the chunk), made by toy-model/make_toy_model.py. The fixture
 * above starts from zero-initialised output layers, so its frames ignore the state.
 */
export const STATEFUL_TOY_MODEL = fileURLToPath(new URL('./toy-model/stateful-toy.onnx', import.meta.url));
