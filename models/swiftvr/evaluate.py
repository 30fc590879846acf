"""Quality on the validation split (held-out vtest.avi + held-out photos, degraded as in training).

    .venv/bin/python -m models.swiftvr.evaluate --model models/swiftvr-x2.onnx --out models/runs/x2/quality.json

PSNR-Y / SSIM (Y of BT.601, 2-px border cropped) of the ONNX model streamed in chunks of t_max with state
carried, against bicubic x2 of the same LQ; boundary flicker ratio = mean temporal-difference error
|(P_t - P_t-1) - (G_t - G_t-1)| on pairs that straddle a chunk boundary over pairs inside chunks.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
import torch.nn.functional as F


def to_y(x: np.ndarray) -> np.ndarray:
    """(..., 3, H, W) RGB in [0, 1] -> (..., H, W) Y in [16, 235] / 255 scale (BT.601)."""
    r, g, b = x[..., 0, :, :], x[..., 1, :, :], x[..., 2, :, :]
    return (16.0 + 65.481 * r + 128.553 * g + 24.966 * b) / 255.0


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10.0 * np.log10(1.0 / max(mse, 1e-12))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of two (H, W) images in [0, 1], Gaussian window 11, sigma 1.5."""
    x = torch.from_numpy(a.astype(np.float64))[None, None]
    y = torch.from_numpy(b.astype(np.float64))[None, None]
    g = torch.exp(-((torch.arange(11, dtype=torch.float64) - 5) ** 2) / (2 * 1.5 ** 2))
    g = g / g.sum()
    w = (g[:, None] * g[None, :])[None, None]
    mu_x, mu_y = F.conv2d(x, w), F.conv2d(y, w)
    sxx = F.conv2d(x * x, w) - mu_x ** 2
    syy = F.conv2d(y * y, w) - mu_y ** 2
    sxy = F.conv2d(x * y, w) - mu_x * mu_y
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    m = ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (sxx + syy + c2))
    return float(m.mean())


def frame_scores(pred: np.ndarray, gt: np.ndarray, border: int = 2) -> tuple[list[float], list[float]]:
    """pred, gt: (N, 3, H, W) -> per-frame PSNR-Y and SSIM-Y."""
    py, gy = to_y(pred), to_y(gt)
    if border:
        py, gy = py[:, border:-border, border:-border], gy[:, border:-border, border:-border]
    return [psnr(p, g) for p, g in zip(py, gy)], [ssim(p, g) for p, g in zip(py, gy)]


def temporal_errors(pred: np.ndarray, gt: np.ndarray, chunk: int) -> tuple[list[float], list[float]]:
    """Mean |dP - dG| per consecutive pair, split into (boundary pairs, inside pairs)."""
    bnd, ins = [], []
    for t in range(1, pred.shape[0]):
        e = float(np.mean(np.abs((pred[t] - pred[t - 1]) - (gt[t] - gt[t - 1]))))
        (bnd if t % chunk == 0 else ins).append(e)
    return bnd, ins


def bicubic(lq: np.ndarray, scale: int) -> np.ndarray:
    x = torch.from_numpy(lq)
    return F.interpolate(x, scale_factor=float(scale), mode="bicubic", align_corners=False).clamp(0, 1).numpy()


class OnnxRestorer:
    """Streams a clip through the exported model the way the runtime does (edge pad, chunk, carry, crop)."""

    def __init__(self, path: str | Path, threads: int = 0):
        self.meta = json.loads(Path(path).with_suffix(".json").read_text())
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")  # shared CPU: do not busy-wait
        self.sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    def state_zeros(self, h: int, w: int) -> dict[str, np.ndarray]:
        def dim(d):
            if isinstance(d, int):
                return d
            base = h if d[0] == "H" else w
            return base // int(d[2:]) if d[1] == "/" else base * int(d[2:])
        return {s["name"]: np.zeros([dim(d) for d in s["shape"]], np.float32) for s in self.meta["states"]}

    def __call__(self, lq: np.ndarray, chunk: int | None = None) -> np.ndarray:
        """lq: (N, 3, h, w) float32 in [0, 1] -> (N, 3, h*s, w*s)."""
        a, s = self.meta["alignment"], self.meta["scale"]
        chunk = chunk or self.meta["t_max"]
        n, _, h, w = lq.shape
        hp, wp = -(-h // a) * a, -(-w // a) * a
        x = np.pad(lq, ((0, 0), (0, 0), (0, hp - h), (0, wp - w)), mode="edge")
        state = self.state_zeros(hp, wp)
        outs = []
        for i in range(0, n, chunk):
            res = self.sess.run(None, {"lq": x[None, i:i + chunk], **state})
            outs.append(res[0][0])
            state = {spec["name"]: v for spec, v in zip(self.meta["states"], res[1:])}
        return np.concatenate(outs)[:, :, :h * s, :w * s]


def load_val(path: str | Path) -> list[tuple[np.ndarray, np.ndarray]]:
    d = np.load(path)
    n = len([k for k in d.files if k.startswith("hq")])

    def t(x):  # (N, H, W, 3) uint8 -> (N, 3, H, W) float32
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2)).astype(np.float32) / 255.0

    return [(t(d[f"lq{i}"]), t(d[f"hq{i}"])) for i in range(n)]


def evaluate(restore, clips, names: list[str], scale: int, chunk: int) -> dict:
    rows = {"model": {"psnr": [], "ssim": [], "bnd": [], "ins": []},
            "bicubic": {"psnr": [], "ssim": [], "bnd": [], "ins": []}}
    per_clip = []
    for (lq, hq), name in zip(clips, names):
        for key, pred in (("model", restore(lq)), ("bicubic", bicubic(lq, scale))):
            p, s = frame_scores(pred, hq)
            b, i = temporal_errors(pred, hq, chunk)
            r = rows[key]
            r["psnr"] += p
            r["ssim"] += s
            r["bnd"] += b
            r["ins"] += i
            if key == "model":
                per_clip.append({"clip": name, "psnr_y": round(float(np.mean(p)), 3)})
            else:
                per_clip[-1]["bicubic_psnr_y"] = round(float(np.mean(p)), 3)

    def summary(r):
        return {"psnr_y": round(float(np.mean(r["psnr"])), 3), "ssim": round(float(np.mean(r["ssim"])), 4),
                "flicker_ratio": round(float(np.mean(r["bnd"]) / np.mean(r["ins"])), 3)}

    m, b = summary(rows["model"]), summary(rows["bicubic"])
    return {**m, "bicubic": b, "delta_psnr_y_db": round(m["psnr_y"] - b["psnr_y"], 3), "chunk": chunk,
            "frames": len(rows["model"]["psnr"]), "clips": per_clip}


def main(args: argparse.Namespace) -> dict:
    t0 = time.time()
    restore = OnnxRestorer(args.model, args.threads)
    clips = load_val(args.val)
    manifest = Path(args.val).with_name("manifest.json")
    names = json.loads(manifest.read_text())["val"]["clips"] if manifest.exists() else [str(i) for i in range(len(clips))]
    res = evaluate(lambda lq: restore(lq, args.chunk), clips, names, restore.meta["scale"],
                   args.chunk or restore.meta["t_max"])
    vt = [c for c in res["clips"] if c["clip"].startswith("vtest")]
    res["vtest_psnr_y"] = round(float(np.mean([c["psnr_y"] for c in vt])), 3) if vt else None
    res["vtest_bicubic_psnr_y"] = round(float(np.mean([c["bicubic_psnr_y"] for c in vt])), 3) if vt else None
    res["split"] = ("validation: vtest.avi (held out, 4 clips x 12 frames at 384x288 HQ) + held-out photos with "
                    "synthetic camera motion (256x192 HQ), RealBasicVSR-style degradation as in training")
    res["command"] = "python -m models.swiftvr.evaluate " + " ".join(args.argv)
    res["seconds"] = round(time.time() - t0, 1)
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps({k: v for k, v in res.items() if k != "clips"}, indent=2))
    return res


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    import sys
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="models/swiftvr-x2.onnx")
    p.add_argument("--val", default="models/data/val.npz")
    p.add_argument("--chunk", type=int, default=0, help="chunk length (default: t_max)")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--out", default=None)
    a = p.parse_args(argv)
    a.argv = argv
    return a


if __name__ == "__main__":
    main(parse_args())
