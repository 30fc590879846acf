"""The ESRGAN baseline: upscale.mjs reproduces the package's own x2 sample offline, and the driver scores the
right frames against the right HQ. Needs `npm install` in models/baselines/esrgan (skipped without it)."""
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from models.baselines import esrgan_eval
from models.swiftvr.evaluate import bicubic, frame_scores

PKG = Path(esrgan_eval.__file__).resolve().parent / "esrgan"
MODEL_PKG = PKG / "node_modules" / "@upscalerjs" / "esrgan-medium"
pytestmark = pytest.mark.skipif(not MODEL_PKG.is_dir() or shutil.which("node") is None,
                                reason="needs node and `npm install` in models/baselines/esrgan")


def test_reproduces_package_sample_offline(tmp_path):
    # fixture.png -> samples/2x/result.png is the package's own reference output (made by UpscalerJS);
    # upscale.mjs replaces fetch with one that throws, so this also shows nothing came from the network.
    (tmp_path / "in").mkdir()
    shutil.copy(MODEL_PKG / "assets" / "fixture.png", tmp_path / "in" / "fixture.png")
    res = subprocess.run(["node", str(PKG / "upscale.mjs"), "--in", str(tmp_path / "in"), "--out", str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary["backend"] == "wasm" and summary["frames"] == 1
    ours = np.asarray(Image.open(tmp_path / "out" / "fixture.png").convert("RGB")).astype(int)
    ref = np.asarray(Image.open(MODEL_PKG / "assets" / "samples" / "2x" / "result.png").convert("RGB")).astype(int)
    assert ours.shape == ref.shape == (256, 256, 3)
    assert np.abs(ours - ref).max() <= 1, "x2 output must match the package's sample within 1 LSB"
    assert (ours != ref).mean() < 1e-3


def test_rejects_bad_scale(tmp_path):
    res = subprocess.run(["node", str(PKG / "upscale.mjs"), "--in", str(tmp_path), "--out", str(tmp_path / "o"),
                          "--scale", "5"], capture_output=True, text=True, timeout=60)
    assert res.returncode != 0 and "--scale must be one of 2, 3, 4, 8" in res.stderr


def smooth_clip(t: int, h: int, w: int, phase: float) -> np.ndarray:
    """(t, h, w, 3) uint8 moving gradients: easy to upscale, distinct per clip."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    frames = [np.stack([128 + 100 * np.sin((x + 2 * i) / w * 2 * np.pi + phase),
                        128 + 100 * np.cos(y / h * 2 * np.pi + phase),
                        128 + 60 * np.sin((x + y + i) / (w + h) * 4 * np.pi)], -1) for i in range(t)]
    return np.clip(np.rint(frames), 0, 255).astype(np.uint8)


def test_driver_scores_each_clip_against_its_own_hq(tmp_path):
    hq = [smooth_clip(2, 48, 64, 0.0), smooth_clip(3, 32, 40, 2.0)]
    lq = [np.asarray([np.asarray(Image.fromarray(f).resize((f.shape[1] // 2, f.shape[0] // 2), Image.BICUBIC))
                      for f in c]) for c in hq]
    np.savez(tmp_path / "val.npz", lq0=lq[0], lq1=lq[1], hq0=hq[0], hq1=hq[1])
    out = tmp_path / "results.json"
    res = esrgan_eval.main(esrgan_eval.parse_args(["--val", str(tmp_path / "val.npz"), "--out", str(out)]))
    assert json.loads(out.read_text()) == res
    assert [c["frames"] for c in res["clips"]] == [2, 3] and res["split"]["frames"] == 5
    assert [c["lq_size"] for c in res["clips"]] == ["32x24", "20x16"]
    for c, l, h in zip(res["clips"], lq, hq):
        # bicubic column is evaluate.py's bicubic + frame_scores on the same frames
        p, s = frame_scores(bicubic(esrgan_eval.to_float(l), 2), esrgan_eval.to_float(h))
        assert c["bicubic"]["psnr_y"] == pytest.approx(np.mean(p), abs=1e-3)
        assert c["bicubic"]["ssim"] == pytest.approx(np.mean(s), abs=1e-4)
        # a swapped clip or frame would not even have the right shape or would score far lower
        assert c["esrgan"]["psnr_y"] > 25.0
    # frame-weighted means over both clips
    all_p = [v for c in res["clips"] for v in [c["esrgan"]["psnr_y"]] * c["frames"]]
    assert res["esrgan"]["psnr_y"] == pytest.approx(np.mean(all_p), abs=2e-3)


def test_parse_clips():
    assert esrgan_eval.parse_clips("all", 3) == [0, 1, 2]
    assert esrgan_eval.parse_clips("0-1,3", 5) == [0, 1, 3]
    with pytest.raises(AssertionError, match="must lie within 0..2"):
        esrgan_eval.parse_clips("2-3", 3)
