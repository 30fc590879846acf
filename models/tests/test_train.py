"""Each training stage runs a few steps on CPU with the tiny preset; the end-to-end CLI writes a checkpoint."""
import numpy as np
import pytest
import torch

from models.swiftvr import SwiftVR, get_config
from models.swiftvr.data import camera_clip, degrade_clips
from models.swiftvr.export import export_onnx, load_model
from models.swiftvr.train import ClipBatches, main, parse_args, run_stage


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from PIL import Image
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:160, 0:160]
    img = np.stack([(np.sin(xx / 5.0) * 127 + 128), (np.cos(yy / 7.0) * 127 + 128), (xx + yy) % 256], -1)
    pic = Image.fromarray(img.astype(np.uint8))
    hqs = [camera_clip(pic, 6, (32, 32), rng) for _ in range(6)]
    lqs, _ = degrade_clips(hqs, rng)
    path = tmp_path_factory.mktemp("data") / "train.npz"
    np.savez(path, hq=np.stack(hqs), lq=np.stack(lqs))
    return path


def snapshot(module):
    return [p.detach().clone() for p in module.parameters()]


def changed(before, module):
    return any(not torch.equal(a, p) for a, p in zip(before, module.parameters()))


@pytest.mark.parametrize("stage,moves,frozen", [
    ("ae", ["enc", "enc_hq", "dec"], ["dit"]),
    ("teacher", ["dit"], ["enc", "enc_hq", "dec"]),
    ("distill", ["dit"], ["enc", "enc_hq", "dec"]),
    ("joint", ["enc", "dit", "dec"], ["enc_hq"]),
])
def test_stage_runs_a_few_steps(data, stage, moves, frozen):
    torch.manual_seed(0)
    model = SwiftVR(get_config("tiny"))
    teacher = None
    if stage == "distill":
        teacher = SwiftVR(get_config("tiny", attention="full")).eval()
        teacher.load_state_dict(model.state_dict())
        with torch.no_grad():  # a teacher that differs from the student's start
            for p in teacher.dit.parameters():
                p.add_(torch.randn_like(p) * 0.05)
    before = {n: snapshot(getattr(model, n)) for n in moves + frozen}
    out = run_stage(model, stage, ClipBatches(data, 6, 0), steps=3, minutes=5, batch=2, lr=1e-3, seed=0,
                    teacher=teacher, log=lambda _m: None)
    assert out["steps"] == 3 and np.isfinite(out["loss_first"]) and np.isfinite(out["loss_last"])
    for n in moves:
        assert changed(before[n], getattr(model, n)), f"stage {stage} did not update {n}"
    for n in frozen:
        assert not changed(before[n], getattr(model, n)), f"stage {stage} must not update {n}"
    assert model.cfg.attention == ("full" if stage == "teacher" else "mfswa")


def test_joint_stage_gradient_crosses_the_chunk_boundary():
    """Loss on the second chunk only must reach the first chunk's input through the carried state."""
    torch.manual_seed(0)
    model = SwiftVR(get_config("tiny"))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    lq = torch.rand(1, 4, 3, 16, 16, requires_grad=True)
    state = model.init_state(1, 16, 16)
    _, *state = model(lq[:, :2], *state)
    out2, *_ = model(lq[:, 2:], *state)
    out2.sum().backward()
    assert float(lq.grad[:, :2].abs().sum()) > 0


def test_train_cli_writes_checkpoint_that_exports(data, tmp_path):
    args = parse_args(["--preset", "tiny", "--data", str(data), "--out", str(tmp_path), "--steps", "1,1,1,1",
                       "--batch", "2", "--frames", "4"])
    prov = main(args)
    assert set(prov["stages"]) == {"ae", "teacher", "distill", "joint"}
    model, meta = load_model("tiny", str(tmp_path / "final.pt"), 0)
    assert meta["trained"] is True and meta["stages"]["joint"]["steps"] == 1
    export_onnx(model, tmp_path / "m.onnx", h=32, w=32)
    assert (tmp_path / "m.onnx").stat().st_size > 10_000
