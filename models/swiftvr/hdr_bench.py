"""HDR quality end to end: 10-bit PQ streams through `swiftvr restore` (its 10-bit graph, HEVC Main 10
out) against ffmpeg's plain bicubic and lanczos x2 of the same stream, on the 10-bit luma plane.

    .venv/bin/python -m models.swiftvr.hdr_bench [--clips face,rocket,earth] [--model models/swiftvr-x2.onnx]

Ground truth: test-set clips (benchmark.py TEST_CLIPS: only ever reported) taken from their raw sources
as the 8-bit benchmark takes them, then mapped from BT.709 SDR into BT.2100 PQ (BT.2020 primaries,
SDR white at 203 cd/m2 as ITU-R BT.2408 places it) with zscale and kept as 10-bit yuv420p10le. The
stream: the clip's own blur, an antialiased bicubic x2 downscale and its sensor noise (in 10-bit levels,
4 per 8-bit level), then HEVC Main 10 (libx265, the clip's CRF) with HDR10 metadata in the clip's
segment length. PSNR-Y and SSIM-Y are computed on the 10-bit luma scaled to 0..255 (the same
ratios as at peak 1023); flicker as in metrics.py.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from .benchmark import DATA, ROOT, SEED, TEST_CLIPS, _hardware, mean_row, table
from .data import SOURCES, fetch
from .degrade import _blur_down
from .media import probe, segment_frame_counts
from .metrics import chunk_starts, scores

MASTER_DISPLAY = "G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1)"
TO_PQ = ("zscale=tin=bt709:min=bt709:pin=bt709:rin=tv:t=linear:p=bt709:npl=203,format=gbrpf32le,"
         "zscale=p=bt2020:t=smpte2084:m=bt2020nc:r=tv:npl=203,format=yuv420p10le")


def read_p10(path: Path | str, size: tuple[int, int], vf: str | None = None, start: float = 0.0,
             frames: int | None = None) -> np.ndarray:
    """Frames of a video as yuv420p10le planes: (N, 3H/2, W) uint16 (Y rows, then U, then V)."""
    w, h = size
    cmd = ["ffmpeg", "-v", "error", "-nostdin"]
    if start:
        cmd += ["-ss", str(start)]
    cmd += ["-i", str(path)]
    if frames is not None:
        cmd += ["-frames:v", str(frames)]
    if vf:
        cmd += ["-vf", vf]
    cmd += ["-f", "rawvideo", "-pix_fmt", "yuv420p10le", "-"]
    raw = subprocess.run(cmd, capture_output=True, check=True).stdout
    a = np.frombuffer(raw, dtype="<u2")
    per = w * h * 3 // 2
    assert a.size % per == 0, f"{path}: {a.size} samples is not a whole number of {w}x{h} frames"
    return a.reshape(-1, h * 3 // 2, w)


def luma(frames: np.ndarray, h: int) -> np.ndarray:
    return frames[:, :h]


def degrade_p10(gt: np.ndarray, w: int, h: int, blur: float, noise: float, rng: np.random.Generator) -> np.ndarray:
    """Blur, antialiased bicubic x2 down and sensor noise on each 10-bit plane (noise in 8-bit levels x 4)."""
    def one(p: np.ndarray, sigma_blur: float, sigma_noise: float) -> np.ndarray:
        x = torch.from_numpy(p.astype(np.float32))[:, None]
        x = _blur_down(x, sigma_blur, "bicubic")[:, 0].numpy()
        if sigma_noise > 0:
            x = x + rng.normal(0.0, sigma_noise * 4, x.shape)
        return np.clip(np.round(x), 0, 1023).astype(np.uint16)
    y = gt[:, :h]
    u = gt[:, h:h + h // 4].reshape(-1, h // 2, w // 2)
    v = gt[:, h + h // 4:].reshape(-1, h // 2, w // 2)
    ly, lu, lv = one(y, blur, noise), one(u, blur / 2, noise * 0.5), one(v, blur / 2, noise * 0.5)
    n = y.shape[0]
    return np.concatenate([ly.reshape(n, -1), lu.reshape(n, -1), lv.reshape(n, -1)], axis=1)


def write_hls_p10(lq: np.ndarray, w: int, h: int, out: Path, fps: tuple[int, int], crf: int, segment: float) -> Path:
    """HEVC Main 10 PQ with HDR10 metadata in MPEG-TS segments (closed GOP, an IDR at each segment start)."""
    out.mkdir(parents=True, exist_ok=True)
    keyint = round(segment * fps[0] / fps[1])
    playlist = out / "index.m3u8"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p10le", "-s", f"{w}x{h}",
         "-framerate", f"{fps[0]}/{fps[1]}", "-i", "-", "-c:v", "libx265", "-preset", "medium", "-crf", str(crf),
         "-x265-params", f"log-level=error:keyint={keyint}:min-keyint={keyint}:open-gop=0:scenecut=0:hdr10=1:"
                         f"master-display={MASTER_DISPLAY}:max-cll=1000,400",
         "-color_primaries", "bt2020", "-color_trc", "smpte2084", "-colorspace", "bt2020nc", "-color_range", "tv",
         "-f", "hls", "-hls_time", str(segment), "-hls_list_size", "0", "-hls_playlist_type", "vod",
         "-hls_segment_filename", str(out / "seg_%03d.ts"), str(playlist)],
        input=lq.astype("<u2").tobytes(), check=True)
    return playlist


def to8(y: np.ndarray) -> np.ndarray:
    """10-bit luma on the 8-bit scale (float), so the 255-peak metrics give 1023-peak ratios."""
    return y.astype(np.float64) * (255.0 / 1023.0)


def run(args: argparse.Namespace) -> dict:
    names = args.clips.split(",")
    clips = [c for c in TEST_CLIPS if c.source in names]
    assert len(clips) == len(names), f"clips {names} must be test-set clips ({', '.join(c.source for c in TEST_CLIPS)})"
    sources = {s.name: s for s in SOURCES}
    raw = Path(args.raw)
    fetch(raw, tuple(sources[c.source] for c in clips), photos=False)
    model = Path(args.model)
    t_max = json.loads(model.with_suffix(".json").read_text())["t_max"]
    results: dict = {"clips": {}, "model": str(model.relative_to(ROOT) if model.is_relative_to(ROOT) else model)}
    work = Path(tempfile.mkdtemp(prefix="swiftvr-hdr-bench-"))
    try:
        for i, c in enumerate(clips):
            src = sources[c.source]
            fps = probe(src.file(raw))["fps"]
            n = int(round(c.seconds * fps[0] / fps[1]))
            w, h = c.gt_size
            shape = c.vf or f"scale={w}:{h}:flags=area"
            gt = read_p10(src.file(raw), (w, h), vf=f"{shape},{TO_PQ}", start=c.start, frames=n)
            lq = degrade_p10(gt, w, h, c.blur, c.noise, np.random.default_rng(SEED + 100 + i))
            playlist = write_hls_p10(lq, w // 2, h // 2, work / c.source / "hls", fps, c.crf, c.segment)
            gt_y = to8(luma(gt, h))
            starts = chunk_starts(segment_frame_counts(playlist), t_max)
            row: dict = {}
            for flags in ("bicubic", "lanczos"):
                row[flags] = scores(to8(luma(read_p10(playlist, (w, h), vf=f"scale={w}:{h}:flags={flags}"), h)), gt_y, starts)
            out = work / c.source / "out"
            t0 = time.time()
            subprocess.run(["node", str(ROOT / "dist/src/cli/main.js"), "restore", str(playlist), "--out", str(out),
                            "--quiet", "--model", str(model)], check=True)
            secs = time.time() - t0
            restored = read_p10(out / "x2/index.m3u8", (w, h))
            row["swiftvr"] = {**scores(to8(luma(restored, h)), gt_y, starts), "restore_seconds": round(secs, 2)}
            row["frames"] = int(gt.shape[0])
            row["size"] = f"{w // 2}x{h // 2} -> {w}x{h}"
            results["clips"][c.source] = row
            print(f"{c.source}: swiftvr {row['swiftvr']['psnr_y']:.3f} dB  bicubic {row['bicubic']['psnr_y']:.3f} dB  "
                  f"lanczos {row['lanczos']['psnr_y']:.3f} dB ({secs:.1f} s restore)", flush=True)
            shutil.rmtree(work / c.source, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows = list(results["clips"].values())
    results["set"] = "test (10-bit PQ)"
    results["mean"] = {k: mean_row([r[k] for r in rows]) for k in ("bicubic", "lanczos", "swiftvr")}
    results["gain_over_bicubic_db"] = results["mean"]["swiftvr"]["psnr_y"] - results["mean"]["bicubic"]["psnr_y"]
    gains = [r["swiftvr"]["psnr_y"] - r["bicubic"]["psnr_y"] for r in rows]
    results["gain_spread_db"] = {"min": min(gains), "max": max(gains), "std": float(np.std(gains))}
    results["command"] = "python -m models.swiftvr.hdr_bench " + " ".join(args.argv)
    results["hardware"] = _hardware()
    print(table(results))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    return results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clips", default="face,rocket,earth", help="test-set clips, comma-separated")
    p.add_argument("--model", default=str(ROOT / "models/swiftvr-x2.onnx"))
    p.add_argument("--raw", default=str(DATA / "raw"))
    p.add_argument("--out", default=None)
    a = p.parse_args(argv)
    a.argv = argv
    return a


if __name__ == "__main__":
    run(parse_args())
