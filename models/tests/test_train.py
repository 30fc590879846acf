"""Training on the tiny preset: each stage updates only its modules, the state carries gradient, the run
checkpoints, resumes where it stopped and exports."""
import numpy as np
import pytest
import torch

from models.swiftvr import SwiftVR, get_config
from models.swiftvr.export import export_onnx, load_model
from models.swiftvr.train import fresh_model, main, parse_args


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:64, 0:64]
    hq = np.stack([np.stack([(np.sin((xx + 2 * t + k) / 5.0) * 100 + 128) for t in range(6)]) for k in range(6)])
    hq = hq.astype(np.uint8)
    lq = hq[:, :, ::2, ::2] + rng.integers(0, 3, (6, 6, 32, 32)).astype(np.uint8)
    path = tmp_path_factory.mktemp("data") / "train.npz"
    np.savez(path, hq=hq, lq=lq)
    return path


def weights(state: dict, prefix: str) -> list[torch.Tensor]:
    return [v for k, v in state.items() if k.startswith(prefix + ".")]


def train(data, out, stages, steps, *extra):
    return main(parse_args(["--preset", "tiny", "--data", str(data), "--out", str(out), "--stages", stages,
                            "--steps", steps, "--lr", ",".join(["1e-3"] * len(stages.split(","))),
                            "--batch", "2", "--frames", "4", "--crop", "16", "--val-every", "0", *extra]))


@pytest.mark.parametrize("stage,moves,frozen", [
    ("ae", ["enc", "enc_hq", "dec"], ["dit"]),
    ("teacher", ["dit"], ["enc", "enc_hq", "dec"]),
    ("joint", ["enc", "dit", "dec"], ["enc_hq"]),
])
def test_stage_updates_only_its_modules(data, tmp_path, stage, moves, frozen):
    init = fresh_model("tiny", parse_args([]).seed).state_dict()
    train(data, tmp_path, stage, "3")
    after = torch.load(tmp_path / f"{stage}.pt", weights_only=False)["model"]
    for n in moves:
        assert any(not torch.equal(a, b) for a, b in zip(weights(init, n), weights(after, n))), f"{stage}: {n} did not move"
    for n in frozen:
        assert all(torch.equal(a, b) for a, b in zip(weights(init, n), weights(after, n))), f"{stage}: {n} moved"


def test_joint_stage_gradient_crosses_the_chunk_boundary():
    """Loss on the second chunk only must reach the first chunk's input through the carried state."""
    torch.manual_seed(0)
    model = SwiftVR(get_config("tiny"))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    y = torch.rand(1, 4, 1, 16, 16, requires_grad=True)
    state = model.init_state(1, 16, 16)
    _, *state = model.restore_y(y[:, :2], *state)
    out2, *_ = model.restore_y(y[:, 2:], *state)
    out2.sum().backward()
    assert float(y.grad[:, :2].abs().sum()) > 0


def test_a_run_resumes_where_it_stopped_and_exports(data, tmp_path):
    run = train(data, tmp_path, "ae,teacher,distill,joint", "2,2,2,4")
    assert run.stage_i == 4 and (tmp_path / "joint.pt").exists()
    ck = torch.load(tmp_path / "last.pt", weights_only=False)
    assert ck["provenance"]["stages"]["joint"]["steps"] == 4
    # a longer plan resumes from last.pt: the finished stages are not repeated
    again = train(data, tmp_path, "ae,teacher,distill,joint", "2,2,2,4", "--resume", "auto")
    assert again.stage_i == 4 and len(again.provenance["sittings"]) == 2
    model, meta = load_model("tiny", str(tmp_path / "joint.pt"), 0)
    assert meta["trained"] is True
    export_onnx(model, tmp_path / "m.onnx", h=32, w=32)
    assert (tmp_path / "m.onnx").stat().st_size > 10_000


def test_a_sitting_ends_on_time_and_the_next_continues_the_same_stage(data, tmp_path):
    run = train(data, tmp_path, "joint", "100000", "--minutes", "0.02", "--ckpt-minutes", "100")
    assert run.stage_i == 0 and 0 < run.step < 100000
    step = run.step
    nxt = train(data, tmp_path, "joint", "100000", "--minutes", "0.02", "--resume", "auto")
    assert nxt.stage_i == 0 and nxt.step > step


def test_a_new_plan_starts_from_committed_weights(data, tmp_path):
    """--init takes the weights of a finished run (as models/swiftvr-x2.pt is committed) and runs its stages afresh."""
    first = train(data, tmp_path / "a", "joint", "3")
    weights_pt = tmp_path / "weights.pt"
    torch.save({"config": first.model.cfg.to_dict(), "model": first.ema.model.state_dict(), "provenance": first.provenance}, weights_pt)
    nxt = train(data, tmp_path / "b", "joint", "1", "--init", str(weights_pt), "--lr", "0")
    assert nxt.provenance["init"]["from"] == str(weights_pt)
    assert nxt.provenance["init"]["provenance"]["sittings"] == first.provenance["sittings"]
    # one step at lr 0 leaves the weights as they were loaded
    for a, b in zip(first.ema.model.state_dict().values(), nxt.model.state_dict().values()):
        assert torch.equal(a, b)
