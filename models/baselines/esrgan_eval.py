"""Baseline for the model card: the x2 model of the npm package @upscalerjs/esrgan-medium on the validation split.

    (cd models/baselines/esrgan && npm install --no-audit --no-fund)     # once: tfjs 4.11 + wasm + weights
    nice .venv/bin/python -m models.baselines.esrgan_eval                 # all clips, all frames

Writes the LQ frames of models/data/val.npz as PNG to a temp folder, runs models/baselines/esrgan/upscale.mjs
(tfjs wasm backend, weights from node_modules, no network) over them, and scores the x2 outputs against HQ with
the PSNR-Y / SSIM-Y / 2-px border of models.swiftvr.evaluate, next to bicubic x2 of the same LQ. ESRGAN is a
single-image model, so the temporal figure is the mean |dP - dG| over all consecutive pairs (no chunks).
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from models.swiftvr.evaluate import bicubic, frame_scores, load_val

ROOT = Path(__file__).resolve().parents[2]
PKG = Path(__file__).resolve().parent / "esrgan"
SCALE = 2


def parse_clips(spec: str, n: int) -> list[int]:
    """'all' or comma-separated indices / ranges ('0-3,7') -> sorted clip indices < n."""
    if spec == "all":
        return list(range(n))
    out: set[int] = set()
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        a, b = int(lo), int(hi or lo)
        assert 0 <= a <= b < n, f"--clips range {part!r} must lie within 0..{n - 1}"
        out.update(range(a, b + 1))
    return sorted(out)


def to_uint8(x: np.ndarray) -> np.ndarray:
    """(N, 3, H, W) float in [0, 1] -> (N, H, W, 3) uint8."""
    return np.clip(np.rint(x.transpose(0, 2, 3, 1) * 255.0), 0, 255).astype(np.uint8)


def to_float(x: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) uint8 -> (N, 3, H, W) float32 in [0, 1] (the layout evaluate.py scores)."""
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2)).astype(np.float32) / 255.0


def clean_lq(hq: np.ndarray) -> np.ndarray:
    """(N, 3, H, W) HQ -> (N, 3, H/2, W/2) PIL bicubic (antialiased) x1/2, no noise/blur/codec: the clean-input control."""
    frames = to_uint8(hq)
    return to_float(np.stack([np.asarray(Image.fromarray(f).resize((f.shape[1] // SCALE, f.shape[0] // SCALE),
                                                                    Image.BICUBIC)) for f in frames]))


def frame_name(clip: int, t: int) -> str:
    return f"c{clip:02d}_f{t:03d}.png"


def run_upscaler(lq_dir: Path, sr_dir: Path) -> dict:
    """Runs upscale.mjs under nice; returns its JSON summary (last stdout line)."""
    if not (PKG / "node_modules" / "@upscalerjs" / "esrgan-medium").is_dir():
        raise SystemExit(f"{PKG / 'node_modules'} must hold @upscalerjs/esrgan-medium: "
                         f"run `cd {PKG.relative_to(ROOT)} && npm install --no-audit --no-fund` first")
    node = shutil.which("node")
    assert node, "node must be on PATH to run models/baselines/esrgan/upscale.mjs"
    cmd = ["nice", node, str(PKG / "upscale.mjs"), "--in", str(lq_dir), "--out", str(sr_dir), "--scale", str(SCALE)]
    res = subprocess.run(cmd, cwd=PKG, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"upscale.mjs exited {res.returncode}:\n{res.stderr[-4000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def temporal_error(pred: np.ndarray, gt: np.ndarray) -> list[float]:
    """Mean |(P_t - P_t-1) - (G_t - G_t-1)| per consecutive pair."""
    return [float(np.mean(np.abs((pred[t] - pred[t - 1]) - (gt[t] - gt[t - 1])))) for t in range(1, len(pred))]


def score(pred: np.ndarray, hq: np.ndarray) -> dict:
    p, s = frame_scores(pred, hq)
    return {"psnr": p, "ssim": s, "tde": temporal_error(pred, hq)}


def summary(rows: list[dict]) -> dict:
    """Means over all frames (and all pairs), as evaluate.py averages."""
    cat = lambda k: [v for r in rows for v in r[k]]  # noqa: E731
    tde = cat("tde")  # empty with --frames 1
    return {"psnr_y": round(float(np.mean(cat("psnr"))), 3), "ssim": round(float(np.mean(cat("ssim"))), 4),
            "temporal_diff_error": round(float(np.mean(tde)), 5) if tde else None}


def main(args: argparse.Namespace) -> dict:
    t0 = time.time()
    torch.set_num_threads(1)  # SSIM convs; faster than 2 contending threads on the shared 2-core machine
    clips = load_val(args.val)
    if args.lq == "clean":
        clips = [(clean_lq(hq), hq) for _, hq in clips]
    manifest_path = Path(args.val).with_name("manifest.json")
    manifest = json.loads(manifest_path.read_text())["val"] if manifest_path.exists() else {}
    names = manifest.get("clips", [str(i) for i in range(len(clips))])
    degr = manifest.get("degradations", [None] * len(clips))
    chosen = parse_clips(args.clips, len(clips))
    assert args.frames >= 0, f"--frames must be >= 0 (0 = all), got {args.frames}"

    work = Path(args.keep).resolve() if args.keep else Path(tempfile.mkdtemp(prefix="esrgan-eval-"))
    lq_dir, sr_dir = work / "lq", work / "sr"
    lq_dir.mkdir(parents=True, exist_ok=True)
    # LQ goes through uint8 PNG for ESRGAN; it already is uint8 in val.npz, so bicubic sees the same pixels.
    for i in chosen:
        lq = to_uint8(clips[i][0][: args.frames or None])
        for t, frame in enumerate(lq):
            Image.fromarray(frame).save(lq_dir / frame_name(i, t))
    try:
        node_summary = run_upscaler(lq_dir, sr_dir)
        esr_rows, bic_rows, per_clip = [], [], []
        for i in chosen:
            lq, hq = (a[: args.frames or None] for a in clips[i])
            sr = to_float(np.stack([np.asarray(Image.open(sr_dir / frame_name(i, t)).convert("RGB"))
                                    for t in range(len(lq))]))
            assert sr.shape == hq.shape, f"ESRGAN output {sr.shape} must match HQ {hq.shape} for clip {names[i]}"
            e, b = score(sr, hq), score(bicubic(lq, SCALE), hq)
            esr_rows.append(e)
            bic_rows.append(b)
            per_clip.append({"index": i, "clip": names[i], "frames": len(lq), "lq_size": f"{lq.shape[3]}x{lq.shape[2]}",
                             "degradation": degr[i] if args.lq == "val" else "none: PIL bicubic x1/2 of HQ", "esrgan": summary([e]), "bicubic": summary([b])})
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    esr, bic = summary(esr_rows), summary(bic_rows)
    res = {
        "command": "python -m models.baselines.esrgan_eval " + " ".join(args.argv),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "model": node_summary["model"], "tfjs": node_summary["tfjs"], "backend": node_summary["backend"],
        "simd": node_summary.get("simd"), "input_range": node_summary["input_range"],
        "split": {"val": str(args.val), "val_sha256": hashlib.sha256(Path(args.val).read_bytes()).hexdigest(),
                  "clips": len(chosen), "of_clips": len(clips),
                  "frames": int(sum(c["frames"] for c in per_clip)), "lq": args.lq,
                  "subset": args.clips != "all" or args.frames != 0},
        "metric": "PSNR-Y / SSIM-Y (BT.601 Y, 2-px border cropped, mean over frames) from models.swiftvr.evaluate; "
                  "temporal_diff_error = mean |(P_t - P_t-1) - (G_t - G_t-1)| in [0, 1] RGB over consecutive pairs",
        "esrgan": esr, "bicubic": bic, "delta_psnr_y_db": round(esr["psnr_y"] - bic["psnr_y"], 3),
        "delta_ssim": round(esr["ssim"] - bic["ssim"], 4),
        "esrgan_ms_per_frame": node_summary["ms_per_frame"], "esrgan_seconds": node_summary["seconds"],
        "seconds": round(time.time() - t0, 1), "clips": per_clip,
    }
    print_table(res)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(res, indent=2) + "\n")
        print(f"wrote {args.out}")
    return res


def print_table(res: dict) -> None:
    print(f"{'clip':<32} {'frames':>6} {'bicubic PSNR-Y':>15} {'ESRGAN PSNR-Y':>14} {'bicubic SSIM':>13} {'ESRGAN SSIM':>12}")
    for c in res["clips"]:
        print(f"{c['clip']:<32} {c['frames']:>6} {c['bicubic']['psnr_y']:>15.3f} {c['esrgan']['psnr_y']:>14.3f} "
              f"{c['bicubic']['ssim']:>13.4f} {c['esrgan']['ssim']:>12.4f}")
    b, e = res["bicubic"], res["esrgan"]
    print(f"{'ALL (mean over frames)':<32} {res['split']['frames']:>6} {b['psnr_y']:>15.3f} {e['psnr_y']:>14.3f} "
          f"{b['ssim']:>13.4f} {e['ssim']:>12.4f}")
    print(f"ESRGAN - bicubic: {res['delta_psnr_y_db']:+.3f} dB PSNR-Y, {res['delta_ssim']:+.4f} SSIM; "
          f"temporal diff error bicubic {b['temporal_diff_error']}, ESRGAN {e['temporal_diff_error']}; "
          f"{res['esrgan_ms_per_frame']} ms/frame ({res['backend']})")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--val", default="models/data/val.npz")
    p.add_argument("--clips", default="all", help="'all' or indices/ranges, e.g. '0-3,7'")
    p.add_argument("--frames", type=int, default=0, help="first N frames of each clip (0 = all)")
    p.add_argument("--out", default=str((PKG / "results.json").relative_to(ROOT)))
    p.add_argument("--lq", choices=["val", "clean"], default="val",
                   help="val: the split's degraded LQ; clean: bicubic x1/2 of HQ (control, no degradation)")
    p.add_argument("--keep", default=None, help="keep LQ/SR PNGs in this folder instead of a temp dir")
    a = p.parse_args(argv)
    a.argv = argv
    return a


if __name__ == "__main__":
    main(parse_args())
