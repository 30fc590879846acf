"""ffmpeg in and out of yuv420p planes (the layout the runtime and the model use): decode a video to
planes at a size, H.264 round trips, HLS streams. No colour matrix is applied anywhere."""
from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Planes:
    """A clip as yuv420p planes: y (N, H, W), u and v (N, H/2, W/2), uint8."""
    y: np.ndarray
    u: np.ndarray
    v: np.ndarray

    @property
    def frames(self) -> int:
        return self.y.shape[0]

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)"""
        return self.y.shape[2], self.y.shape[1]

    def tobytes(self) -> bytes:
        n = self.frames
        return np.concatenate([self.y.reshape(n, -1), self.u.reshape(n, -1), self.v.reshape(n, -1)], axis=1).tobytes()

    def __getitem__(self, s) -> "Planes":
        return Planes(self.y[s], self.u[s], self.v[s])

    @staticmethod
    def frombuffer(buf: bytes, w: int, h: int) -> "Planes":
        assert w % 2 == 0 and h % 2 == 0, f"{w}x{h}: yuv420p planes need an even width and height"
        fb = w * h * 3 // 2
        assert len(buf) % fb == 0, f"{len(buf)} bytes is not a whole number of {w}x{h} yuv420p frames"
        a = np.frombuffer(buf, np.uint8).reshape(-1, fb)
        n = a.shape[0]
        return Planes(a[:, :w * h].reshape(n, h, w), a[:, w * h:w * h * 5 // 4].reshape(n, h // 2, w // 2),
                      a[:, w * h * 5 // 4:].reshape(n, h // 2, w // 2))


def probe(path: str | Path) -> dict:
    """width, height, frame rate (num, den) of the first video stream."""
    r = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-of", "json", "-show_entries",
                        "stream=width,height,r_frame_rate,avg_frame_rate", str(path)],
                       capture_output=True, text=True, check=True)
    s = json.loads(r.stdout)["streams"][0]
    num, den = (int(v) for v in s["avg_frame_rate"].split("/"))
    if num == 0 or den == 0 or num / den > 120:
        num, den = (int(v) for v in s["r_frame_rate"].split("/"))
    return {"width": int(s["width"]), "height": int(s["height"]), "fps": (num, den)}


def read_planes(path: str | Path, vf: str | None = None, size: tuple[int, int] | None = None,
                start: float = 0.0, frames: int | None = None) -> Planes:
    """Decode to yuv420p planes, after an optional filter chain `vf` (crop/scale, in YUV: swscale
    converts pixel formats without a colour matrix between YUV formats). `size` = output (w, h)."""
    cmd = ["ffmpeg", "-v", "error", "-nostdin"]
    if start > 0:
        cmd += ["-ss", f"{start:.3f}"]
    cmd += ["-i", str(path), "-map", "0:v:0", "-fps_mode", "passthrough"]
    if frames:
        cmd += ["-frames:v", str(frames)]
    if vf:
        cmd += ["-vf", vf]
    cmd += ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-"]
    out = subprocess.run(cmd, capture_output=True, check=True).stdout
    if size is None:
        p = probe(path)
        size = (p["width"], p["height"])
    return Planes.frombuffer(out, *size)


def x264_args(crf: int, preset: str, keyint: int, bframes: int = 3) -> list[str]:
    return ["-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p",
            "-x264-params", f"keyint={keyint}:min-keyint={keyint}:scenecut=0:bframes={bframes}"]


def h264_roundtrip(p: Planes, crf: int, preset: str = "veryfast", keyint: int = 48, bframes: int = 3,
                   fps: int = 25) -> Planes:
    """Encode with libx264 (yuv420p) and decode back: the degradation a real stream carries."""
    w, h = p.size
    enc = subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{w}x{h}",
         "-r", str(fps), "-i", "-", *x264_args(crf, preset, keyint, bframes), "-f", "h264", "-"],
        input=p.tobytes(), capture_output=True, check=True).stdout
    dec = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-f", "h264", "-i", "-", "-f", "rawvideo",
                          "-pix_fmt", "yuv420p", "-"], input=enc, capture_output=True, check=True).stdout
    out = Planes.frombuffer(dec, w, h)
    assert out.frames == p.frames, f"H.264 round trip returned {out.frames} frames, expected {p.frames}"
    return out


def write_hls(p: Planes, out_dir: Path, fps: tuple[int, int], crf: int, segment_seconds: float,
              preset: str = "medium", bframes: int = 3) -> Path:
    """An H.264 (yuv420p) MPEG-TS HLS media playlist with `segment_seconds` segments (closed GOP, one IDR
    per segment start). Returns the playlist path."""
    w, h = p.size
    out_dir.mkdir(parents=True, exist_ok=True)
    keyint = round(segment_seconds * fps[0] / fps[1])
    playlist = out_dir / "index.m3u8"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{w}x{h}",
         "-framerate", f"{fps[0]}/{fps[1]}", "-i", "-", *x264_args(crf, preset, keyint, bframes),
         "-f", "hls", "-hls_time", str(segment_seconds), "-hls_list_size", "0", "-hls_playlist_type", "vod",
         "-hls_segment_filename", str(out_dir / "seg_%03d.ts"), str(playlist)],
        input=p.tobytes(), check=True)
    return playlist


def segment_frame_counts(playlist: Path) -> list[int]:
    """Frames per segment of a local media playlist (ffprobe packet counts)."""
    counts = []
    for line in playlist.read_text().splitlines():
        if line and not line.startswith("#"):
            r = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets", "-show_entries",
                                "stream=nb_read_packets", "-of", "csv=p=0", str(playlist.parent / line)],
                               capture_output=True, text=True, check=True)
            counts.append(int(r.stdout.split()[0]))
    return counts
