"""ONNX export: contract, parity with PyTorch, graph free of masks/roll/pad, dynamic T/H/W."""
import json
from collections import Counter

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from models.swiftvr.export import export_onnx, reference_input, sidecar, state_specs
from models.swiftvr.config import get_config
from models.swiftvr.model import STATE_NAMES, SwiftVR

from models.tests.conftest import ROOT, randomised_tiny

FIXTURE = ROOT / "test/fixtures/model/swiftvr-fixture.onnx"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    model = randomised_tiny(7)
    d = tmp_path_factory.mktemp("onnx")
    a, b = d / "a.onnx", d / "b.onnx"
    export_onnx(model, a, h=64, w=96, t=2)
    export_onnx(model, b, h=40, w=56, t=3)
    return model, a, b


def shape_of(spec_shape, h, w):
    """Resolve the sidecar's symbolic state dims for LQ luma h x w (rounded up to the alignment 8)."""
    h, w = -(-h // 8) * 8, -(-w // 8) * 8
    out = []
    for s in spec_shape:
        if isinstance(s, int):
            out.append(s)
        else:
            base = h if s[0] == "H" else w
            out.append(base if len(s) == 1 else base // int(s[2:]))
    return tuple(out)


def run_both(model, path, t, h, w, seed=0):
    g = torch.Generator().manual_seed(seed)
    lq = torch.randint(0, 256, (1, t, h * 3 // 2, w), generator=g, dtype=torch.uint8)
    state = [torch.rand(s.shape, generator=g) for s in model.init_state(1, h, w)]
    with torch.no_grad():
        ref = model(lq, *state)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"lq": lq.numpy(), **{n: s.numpy() for n, s in zip(STATE_NAMES, state)}})
    return ref, got


@pytest.mark.parametrize("t,h,w", [(1, 8, 8), (2, 64, 96), (4, 38, 122), (3, 72, 50)])
def test_onnx_matches_pytorch(exported, t, h, w):
    model, a, _ = exported
    ref, got = run_both(model, a, t, h, w)
    assert got[0].dtype == np.uint8 and got[0].shape == (1, t, 3 * h, 2 * w)
    diff = np.abs(got[0].astype(int) - ref[0].numpy().astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-3, f"hq at T={t} {h}x{w}: {diff.max()} levels"
    for name, r, o in zip(STATE_NAMES, ref[1:], got[1:]):
        assert o.shape == tuple(r.shape), f"{name}: onnx {o.shape} vs torch {tuple(r.shape)}"
        d = float(np.abs(o - r.numpy()).max())
        assert d < 1e-4, f"{name} at T={t} {h}x{w}: max |onnx - torch| = {d:.2e}"


def attention_softmax_inputs(path):
    g = onnx.load(str(path)).graph
    producer = {o: n for n in g.node for o in n.output}
    return [producer[n.input[0]].op_type for n in g.node if n.op_type == "Softmax"]


def test_graph_has_no_mask_roll_or_pad_at_two_sizes(exported):
    _, a, b = exported
    ga, gb = onnx.load(str(a)).graph, onnx.load(str(b)).graph
    for g in (ga, gb):
        ops = Counter(n.op_type for n in g.node)
        assert "Pad" not in ops, "a Pad op in the graph"
        # the only Where ops are the exporter's shape arithmetic for the edge padding's Expand, never a mask
        consumers = {}
        for n in g.node:
            for k, i in enumerate(n.input):
                consumers.setdefault(i, []).append((n.op_type, k))
        for n in g.node:
            if n.op_type == "Where":
                assert all(c in (("Expand", 1),) for c in consumers.get(n.output[0], [])), \
                    f"Where {n.name} feeds {consumers.get(n.output[0])}: a mask, not a shape"
        assert "Resize" not in ops, "a Resize op: the bicubic base is a fixed depthwise conv"
    for path in (a, b):  # softmax reads scaled QK^T directly, never a masked sum
        assert set(attention_softmax_inputs(path)) <= {"MatMul", "Mul", "Div"}, attention_softmax_inputs(path)
    # same graph whatever size it was traced at: window indices and padding are not baked for one resolution
    assert Counter(n.op_type for n in ga.node) == Counter(n.op_type for n in gb.node)
    shapes = lambda g: sorted((i.name, tuple(i.dims)) for i in g.initializer)  # noqa: E731
    assert shapes(ga) == shapes(gb)
    assert all(np.prod(d) < 10000 or "weight" in n for n, d in shapes(ga)), "a large non-weight constant was baked in"


def test_exported_at_one_size_runs_at_another(exported):
    model, _, b = exported  # traced at 40x56, run at 66x98 (padded to 72x104 inside, shifted windows clamp)
    ref, got = run_both(model, b, 4, 66, 98, seed=3)
    assert np.abs(got[0].astype(int) - ref[0].numpy().astype(int)).max() <= 1


def test_sidecar_states_match_model_outputs(exported):
    model, a, _ = exported
    meta = sidecar(model.cfg, True, {"trained": False}, {})
    assert meta["format"] == "swiftvr-model/1" and meta["scale"] == 2 and meta["alignment"] == 8
    assert meta["input"]["name"] == "lq" and meta["output"]["name"] == "hq"
    assert meta["input"]["dtype"] == "uint8" and meta["input"]["pix_fmt"] == "yuv420p"
    sess = ort.InferenceSession(str(a), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["lq", *[s["name"] for s in meta["states"]]]
    assert [o.name for o in sess.get_outputs()] == ["hq", *[s["output"] for s in meta["states"]]]
    h, w = 46, 62
    _, got = run_both(model, a, 2, h, w)
    for spec, o in zip(meta["states"], got[1:]):
        assert o.shape == shape_of(spec["shape"], h, w), f"{spec['name']}: {o.shape} vs {spec['shape']}"
        assert spec["init"] == "zeros" and spec["dtype"] == "float32"


def test_committed_fixture_is_reproducible_from_seed():
    """The committed fixture and its reference I/O come from `export --preset tiny --seed 0`."""
    from models.swiftvr.export import load_model
    meta = json.loads(FIXTURE.with_suffix(".json").read_text())
    assert meta["fixture"] is True and FIXTURE.stat().st_size < 1_000_000
    model, _ = load_model("tiny", None, 0)
    assert meta["states"] == json.loads(json.dumps(state_specs(model.cfg)))
    ref = json.loads((FIXTURE.parent / "swiftvr-fixture-ref.json").read_text())
    expected = np.frombuffer((FIXTURE.parent / ref["expected"]).read_bytes(), np.uint8)
    n, h32, w = ref["input"]["shape"][1:]
    h = h32 * 2 // 3
    lq = reference_input(n, h, w)
    sess = ort.InferenceSession(str(FIXTURE), providers=["CPUExecutionProvider"])
    state = [np.zeros(shape_of(s["shape"], h, w), np.float32) for s in meta["states"]]
    pt_state = model.init_state(1, h, w)
    i = 0
    for c in ref["chunks"]:
        out = sess.run(None, {"lq": lq[:, i:i + c["t"]], **{s["name"]: v for s, v in zip(meta["states"], state)}})
        state = out[1:]
        with torch.no_grad():
            pt, *pt_state = model(torch.from_numpy(lq[:, i:i + c["t"]]), *pt_state)
        exp = expected[c["offset_bytes"]:c["offset_bytes"] + out[0].size].reshape(c["hq_shape"])
        tol = ref["tolerance"]["max_abs"]
        assert np.abs(out[0].astype(int) - exp).max() <= tol, "ONNX fixture vs stored reference"
        assert np.abs(pt.numpy().astype(int) - exp).max() <= tol, "seeded PyTorch model vs stored reference"
        i += c["t"]


def test_10bit_graph_matches_pytorch_and_the_8bit_one(tmp_path):
    """The HDR graph: int16 planes of 0..1023, the same weights, the same state. On 8-bit content
    scaled by 4 (1023/255 ~ 4.01) it restores what the 8-bit graph restores, scaled likewise."""
    model = randomised_tiny(7)
    model.bits = 10
    p10 = tmp_path / "m-p10.onnx"
    export_onnx(model, p10, h=64, w=96, t=2)
    g = torch.Generator().manual_seed(3)
    t, h, w = 2, 40, 56
    lq = torch.randint(0, 1024, (1, t, h * 3 // 2, w), generator=g, dtype=torch.int16)
    state = [torch.rand(s.shape, generator=g) for s in model.init_state(1, h, w)]
    with torch.no_grad():
        ref = model(lq, *state)
    sess = ort.InferenceSession(str(p10), providers=["CPUExecutionProvider"])
    assert sess.get_inputs()[0].type == "tensor(int16)"
    got = sess.run(None, {"lq": lq.numpy(), **{n: s.numpy() for n, s in zip(STATE_NAMES, state)}})
    assert got[0].dtype == np.int16 and got[0].shape == (1, t, 3 * h, 2 * w)
    assert got[0].min() >= 0 and got[0].max() <= 1023
    diff = np.abs(got[0].astype(int) - ref[0].numpy().astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-3, f"10-bit hq: {diff.max()} levels"
    for r, o in zip(ref[1:], got[1:]):
        assert float(np.abs(o - r.numpy()).max()) < 1e-4
    # The same picture at 8 bits: samples x 1023/255 in, the 8-bit output x 1023/255 out, within rounding.
    # On the untrained model (ffmpeg's bicubic on every plane, test_model.py): random weights would
    # amplify the input's rounding, a scale check needs a smooth map.
    plain = SwiftVR(get_config("tiny")).eval()
    lq8 = torch.randint(0, 256, (1, t, h * 3 // 2, w), generator=g, dtype=torch.uint8)
    zero = plain.init_state(1, h, w)
    with torch.no_grad():
        out8 = plain(lq8, *zero)[0].numpy().astype(float)
        plain.bits = 10
        out10 = plain(torch.round(lq8.float() * (1023 / 255)).to(torch.int16), *zero)[0].numpy().astype(float)
    assert np.abs(out10 * (255 / 1023) - out8).max() <= 1.0
