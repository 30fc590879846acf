"""Quality benchmark on real video the model never trained on, end to end through `swiftvr restore`.

    .venv/bin/python -m models.swiftvr.benchmark prepare --set all   # fetch sources, build the clips
    .venv/bin/python -m models.swiftvr.benchmark run                 # the test set (= npm run bench:quality)
    .venv/bin/python -m models.swiftvr.benchmark run --set val [--model models/swiftvr-x2.onnx]

Two sets of clips from sources that training never sees (models/swiftvr/data.py roles "val" and "test"):
- **val**: the validation set. Training validates on it (`load_clips`), checkpoints are chosen on it, and
  every tuning decision (sizes, crops, precision, output CRF, inference options) is taken on it.
- **test**: only ever reported. No decision reads it; the model card's headline is this set.

Ground truth: clean frames of the real clips, area-downscaled to the clip's size (the test set keeps its
sources as large as they are, 720p where the source has it). Input: the low-quality HLS stream a user would
have (optional Gaussian blur, x2 antialiased bicubic downscale, optional sensor noise, H.264 yuv420p at
CRF 24-34 with 2-6 s segments), all in yuv420p. The stream goes through `swiftvr restore` (the encoded
output rendition is scored, decoded as a player decodes it) and through ffmpeg's bicubic and lanczos x2
scales of the same stream on the YUV planes. Scores on the luma plane of every frame: PSNR-Y, SSIM-Y and
the boundary flicker ratio (metrics.py).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .data import SOURCES, fetch
from .degrade import Degradation, degrade_planes
from .media import read_planes, segment_frame_counts, write_hls
from .metrics import chunk_starts, scores

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "models/data"


@dataclass(frozen=True)
class BenchClip:
    source: str
    set: str         # "val" or "test"
    start: float     # seconds into the source
    seconds: float
    gt_size: tuple[int, int]  # (w, h): ground truth; the stream is half of it
    crf: int
    segment: float   # HLS segment seconds
    blur: float = 0.8   # Gaussian sigma in ground-truth pixels before the downscale (0: none)
    noise: float = 2.0  # sensor noise sigma in 8-bit levels (0: none)
    vf: str = ""        # filter to the ground truth instead of the area scale (e.g. a crop to a multiple of 4)

    @property
    def name(self) -> str:
        return self.source


# The test set: 8 clips of 7 kinds (data.py KINDS), sources as large as the registries hold them, each
# degraded differently within the range real streams have (blur or none, noise or none, CRF 24-34,
# 2-6 s segments). Only ever reported: no decision reads these figures.
TEST_CLIPS = (
    BenchClip("face", "test", 0.0, 10.0, (640, 360), 28, 2.0, blur=0.6, noise=1.5),
    BenchClip("pianist", "test", 20.0, 8.0, (640, 480), 30, 4.0, blur=0.0, noise=2.0),
    BenchClip("dancer", "test", 10.0, 8.0, (516, 496), 26, 2.0, blur=0.8, noise=0.0, vf="crop=516:496:1:0"),
    BenchClip("rocket", "test", 0.0, 8.0, (640, 360), 32, 4.0, blur=0.8, noise=2.0),
    BenchClip("selfie", "test", 0.0, 2.0, (960, 540), 30, 2.0, blur=0.0, noise=3.0),
    BenchClip("earth", "test", 0.0, 10.0, (480, 268), 24, 6.0, blur=0.0, noise=0.0, vf="crop=480:268:0:1"),
    BenchClip("titles", "test", 0.0, 6.9, (1280, 720), 34, 2.0, blur=0.6, noise=0.0),
    BenchClip("frontier", "test", 0.0, 12.0, (640, 480), 28, 6.0, blur=0.0, noise=1.0),
)

CLIPS = (
    # validation
    BenchClip("vtest", "val", 10.0, 10.0, (640, 480), 30, 2.0),
    BenchClip("city", "val", 0.0, 7.6, (640, 360), 28, 2.0),
    BenchClip("bikes", "val", 0.0, 10.0, (640, 272), 32, 4.0),
    BenchClip("classroom", "val", 0.0, 10.0, (640, 512), 26, 6.0),
    # test: only ever reported
    *TEST_CLIPS,
)
SETS = ("val", "test")
SEED = 2026


def clips_of(which: str) -> tuple[BenchClip, ...]:
    assert which in (*SETS, "all"), f"set {which!r} must be one of val, test, all"
    return tuple(c for c in CLIPS if which == "all" or c.set == which)


def prepare(raw: Path, out: Path, which: str = "all") -> None:
    """Ground-truth luma (gt_y.npy) and the low-quality HLS stream (hls/) of every clip of the set."""
    sources = {s.name: s for s in SOURCES}
    fetch(raw, tuple(sources[c.source] for c in clips_of(which)), photos=False)
    for i, c in enumerate(CLIPS):
        if which != "all" and c.set != which:
            continue
        src = sources[c.source]
        assert src.role == c.set, f"{c.source} is a {src.role} source; a {c.set} clip must come from a {c.set} source"
        from .media import probe
        fps = probe(src.file(raw))["fps"]
        n = int(round(c.seconds * fps[0] / fps[1]))
        w, h = c.gt_size
        gt = read_planes(src.file(raw), vf=c.vf or f"scale={w}:{h}:flags=area", size=(w, h), start=c.start, frames=n)
        d = Degradation.bench(c.crf, keyint=int(round(c.segment * fps[0] / fps[1])), blur=c.blur, noise=c.noise)
        lq = degrade_planes(gt, d, np.random.default_rng(SEED + i))
        d_out = out / c.source
        if d_out.exists():
            shutil.rmtree(d_out)
        playlist = write_hls(lq, d_out / "hls", fps, d.crf, c.segment, preset=d.preset, bframes=d.bframes)
        np.save(d_out / "gt_y.npy", gt.y)
        meta = {"clip": c.__dict__, "source": src.__dict__, "fps": list(fps), "frames": gt.frames,
                "degradation": d.to_dict(), "segments": segment_frame_counts(playlist)}
        (d_out / "clip.json").write_text(json.dumps(meta, indent=2) + "\n")
        print(f"{c.source} ({c.set}): {gt.frames} frames {w}x{h}, stream {w // 2}x{h // 2} CRF {c.crf}, "
              f"blur {c.blur}, noise {c.noise}, segments {meta['segments']}", flush=True)


@dataclass
class LoadedClip:
    name: str
    lq_y: np.ndarray   # (N, h, w) decoded stream luma
    gt_y: np.ndarray   # (N, 2h, 2w)
    segments: list[int]
    playlist: Path
    bicubic: float | None = None  # mean PSNR-Y of ffmpeg's bicubic (filled in by training validation)


def load_clips(bench: Path = DATA / "bench", max_frames: int | None = None, which: str = "val") -> list[LoadedClip]:
    """The streams of a set decoded (as the runtime decodes them) with their ground truth. Training reads
    the validation set only."""
    out = []
    for c in clips_of(which):
        d = bench / c.source
        meta = json.loads((d / "clip.json").read_text())
        w, h = c.gt_size[0] // 2, c.gt_size[1] // 2
        lq = read_planes(d / "hls/index.m3u8", size=(w, h)).y
        gt = np.load(d / "gt_y.npy")
        assert lq.shape[0] == gt.shape[0], f"{c.source}: stream has {lq.shape[0]} frames, ground truth {gt.shape[0]}"
        segs = meta["segments"]
        if max_frames is not None and max_frames < lq.shape[0]:  # the first max_frames, segments cut to fit
            keep, total = [], 0
            for s in segs:
                n = min(s, max_frames - total)
                if n <= 0:
                    break
                keep.append(n)
                total += n
            segs, lq, gt = keep, lq[:total], gt[:total]
        out.append(LoadedClip(c.source, lq, gt, segs, d / "hls/index.m3u8"))
    return out


def plain_scores(d: Path, clip: "LoadedClip", size: tuple[int, int], starts: set[int]) -> dict:
    """Scores of ffmpeg's bicubic and lanczos x2 of the clip's stream. They depend only on the stream
    and the ground truth, so they are computed once per prepared clip and kept beside it
    (plain-<chunk starts>.json, removed when the clip is prepared again)."""
    # The flicker ratio depends on where chunks start (the model's t_max): part of the name.
    key = hashlib.sha1(json.dumps(sorted(starts)).encode()).hexdigest()[:12]
    cache = d / f"plain-{key}.json"
    if cache.exists():
        return json.loads(cache.read_text())
    row = {flags: scores(ffmpeg_scale(clip.playlist, flags, size), clip.gt_y, starts) for flags in ("bicubic", "lanczos")}
    cache.write_text(json.dumps(row, indent=2) + "\n")
    return row


def ffmpeg_scale(playlist: Path, flags: str, size: tuple[int, int]) -> np.ndarray:
    """ffmpeg's own x2 scale of the stream on the YUV planes (yuv420p in and out), luma."""
    w, h = size
    return read_planes(playlist, vf=f"scale={w}:{h}:flags={flags}", size=size).y


def restore_cli(playlist: Path, model: Path | None, work: Path, extra: list[str]) -> tuple[np.ndarray, float, float]:
    """`swiftvr restore` end to end; returns the decoded luma of the published rendition, the seconds and
    the rendition's bit rate (segment bytes over the playlist's duration, kbit/s)."""
    out = work / "out"
    cmd = ["node", str(ROOT / "dist/src/cli/main.js"), "restore", str(playlist), "--out", str(out), "--quiet"]
    if model is not None:
        cmd += ["--model", str(model)]
    t0 = time.time()
    subprocess.run(cmd + extra, check=True)
    seconds = time.time() - t0
    rendition = out / "x2/index.m3u8"
    from .media import probe
    first = next(l for l in rendition.read_text().splitlines() if l and not l.startswith("#"))
    p = probe(rendition.parent / first)
    y = read_planes(rendition, size=(p["width"], p["height"])).y
    lines = rendition.read_text().splitlines()
    duration = sum(float(l.split(":", 1)[1].split(",")[0]) for l in lines if l.startswith("#EXTINF:"))
    size = sum((rendition.parent / l).stat().st_size for l in lines if l and not l.startswith("#"))
    shutil.rmtree(out)
    return y, seconds, (size * 8 / 1000 / duration) if duration > 0 else 0.0


def mean_row(rows: list[dict]) -> dict:
    keys = rows[0].keys()
    return {k: float(np.mean([r[k] for r in rows])) for k in keys}


def run(args: argparse.Namespace) -> dict:
    bench = Path(args.bench)
    if not all((bench / c.source / "clip.json").exists() for c in clips_of(args.set)):
        prepare(Path(args.raw), bench, args.set)
    model = Path(args.model) if args.model else None
    meta = json.loads(((model or ROOT / "models/swiftvr-x2.onnx").with_suffix(".json")).read_text())
    t_max = args.chunk_frames or meta["t_max"]
    extra = ["--chunk-frames", str(args.chunk_frames)] if args.chunk_frames else []
    if args.crf is not None:
        extra += ["--crf", str(args.crf)]
    results = {"set": args.set, "clips": {}, "model": str(model or "models/swiftvr-x2.onnx"),
               "model_name": meta["name"]}
    work = Path(tempfile.mkdtemp(prefix="swiftvr-bench-"))
    try:
        for clip in load_clips(bench, which=args.set):
            starts = chunk_starts(clip.segments, t_max)
            size = (clip.gt_y.shape[2], clip.gt_y.shape[1])
            row = plain_scores(bench / clip.name, clip, size, starts)
            y, secs, kbps = restore_cli(clip.playlist, model, work, extra)
            row["swiftvr"] = {**scores(y, clip.gt_y, starts), "restore_seconds": round(secs, 2),
                              "fps": round(clip.gt_y.shape[0] / secs, 2), "output_kbps": round(kbps, 1)}
            row["frames"] = int(clip.gt_y.shape[0])
            row["size"] = f"{size[0] // 2}x{size[1] // 2} -> {size[0]}x{size[1]}"
            results["clips"][clip.name] = row
            print(f"{clip.name}: swiftvr {row['swiftvr']['psnr_y']:.3f} dB  bicubic {row['bicubic']['psnr_y']:.3f} dB  "
                  f"lanczos {row['lanczos']['psnr_y']:.3f} dB", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows = results["clips"].values()
    results["mean"] = {k: mean_row([r[k] for r in rows]) for k in ("bicubic", "lanczos", "swiftvr")}
    m = results["mean"]
    results["gain_over_bicubic_db"] = m["swiftvr"]["psnr_y"] - m["bicubic"]["psnr_y"]
    gains = [r["swiftvr"]["psnr_y"] - r["bicubic"]["psnr_y"] for r in rows]
    results["gain_spread_db"] = {"min": min(gains), "max": max(gains), "std": float(np.std(gains))}
    results["command"] = "python -m models.swiftvr.benchmark " + " ".join(args.argv)
    results["hardware"] = _hardware()
    print(table(results))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    return results


def _hardware() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()}, {os.cpu_count()} cores"
    except OSError:
        pass
    return f"{platform.machine()}, {os.cpu_count()} cores"


def table(r: dict) -> str:
    lines = ["| clip | frames | size | bicubic PSNR-Y / SSIM-Y | lanczos PSNR-Y / SSIM-Y | SwiftVR PSNR-Y / SSIM-Y | "
             "gain over bicubic | flicker ratio (bicubic / SwiftVR) |", "|---|---|---|---|---|---|---|---|"]
    for name, row in [*r["clips"].items(), ("**mean**", {**r["mean"], "frames": "", "size": ""})]:
        b, l, s = row["bicubic"], row["lanczos"], row["swiftvr"]
        lines.append(f"| {name} | {row['frames']} | {row['size']} | {b['psnr_y']:.3f} / {b['ssim_y']:.4f} | "
                     f"{l['psnr_y']:.3f} / {l['ssim_y']:.4f} | {s['psnr_y']:.3f} / {s['ssim_y']:.4f} | "
                     f"{s['psnr_y'] - b['psnr_y']:+.3f} dB | {b['flicker_ratio']:.3f} / {s['flicker_ratio']:.3f} |")
    sp = r["gain_spread_db"]
    lines.append(f"\n{r['set']} set, {len(r['clips'])} clips: mean gain {r['gain_over_bicubic_db']:+.3f} dB over bicubic, "
                 f"spread over clips {sp['min']:+.3f} .. {sp['max']:+.3f} dB (std {sp['std']:.3f})")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["prepare", "run"])
    p.add_argument("--set", default=None, choices=[*SETS, "all"],
                   help="run: test (reported only; the default) or val (validation: every decision); "
                        "prepare: all (the default), test or val")
    p.add_argument("--raw", default=str(DATA / "raw"))
    p.add_argument("--bench", default=str(DATA / "bench"))
    p.add_argument("--model", default=None, help="ONNX model (default: the CLI's shipped model)")
    p.add_argument("--chunk-frames", type=int, default=0)
    p.add_argument("--crf", type=int, default=None, help="output encode CRF passed to the CLI")
    p.add_argument("--out", default=None, help="write the results as JSON")
    a = p.parse_args(argv)
    a.set = a.set or ("all" if a.command == "prepare" else "test")
    a.argv = argv
    return a


if __name__ == "__main__":
    a = parse_args()
    if a.command == "prepare":
        prepare(Path(a.raw), Path(a.bench), a.set)
    else:
        assert a.set != "all", "run takes --set test or --set val"
        run(a)
