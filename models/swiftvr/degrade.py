"""The degradation of a real low-quality stream, computed on yuv420p planes: optional Gaussian blur,
x2 downscale, sensor noise, then H.264 (libx264, yuv420p) in the loop.

`Degradation.sample` is the training distribution; `Degradation.bench` the fixed one of the quality
benchmark (models/swiftvr/benchmark.py), which lies inside it."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .media import Planes, h264_roundtrip

DOWN = ("bicubic", "bilinear", "area")
PRESETS = ("veryfast", "faster", "fast", "medium")


@dataclass(frozen=True)
class Degradation:
    blur: float        # Gaussian sigma in HQ pixels before the downscale (0: none)
    down: str          # downscale kernel (antialiased): bicubic | bilinear | area
    noise: float       # sensor noise sigma in 8-bit levels on LQ luma, independent per frame (0: none)
    chroma_noise: float  # chroma noise sigma as a fraction of the luma sigma
    crf: int           # libx264 CRF
    preset: str
    keyint: int        # frames per GOP (IDR interval)
    bframes: int

    @staticmethod
    def sample(rng: np.random.Generator) -> "Degradation":
        return Degradation(
            blur=float(rng.uniform(0.3, 1.3)) if rng.random() < 0.8 else 0.0,
            down=str(rng.choice(DOWN, p=[0.6, 0.2, 0.2])),
            noise=float(rng.uniform(0.5, 4.0)) if rng.random() < 0.8 else 0.0,
            chroma_noise=float(rng.uniform(0.3, 1.0)),
            crf=int(rng.integers(22, 37)),
            preset=str(rng.choice(PRESETS)),
            keyint=int(rng.choice([12, 25, 50, 100])),
            bframes=int(rng.choice([0, 3])),
        )

    @staticmethod
    def bench(crf: int, keyint: int, blur: float = 0.8, noise: float = 2.0) -> "Degradation":
        return Degradation(blur=blur, down="bicubic", noise=noise, chroma_noise=0.5, crf=crf, preset="medium",
                           keyint=keyint, bframes=3)

    def to_dict(self) -> dict:
        return asdict(self)


def _gauss(sigma: float) -> torch.Tensor:
    r = max(1, int(np.ceil(3 * sigma)))
    x = torch.arange(-r, r + 1, dtype=torch.float32)
    g = torch.exp(-x * x / (2 * sigma * sigma))
    return g / g.sum()


def _blur_down(x: torch.Tensor, sigma: float, down: str) -> torch.Tensor:
    """(N, 1, H, W) float -> blurred (edge-replicated) and downscaled x2, antialiased."""
    if sigma > 0:
        g = _gauss(sigma)
        r = g.numel() // 2
        x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="replicate"), g.view(1, 1, 1, -1))
        x = F.conv2d(F.pad(x, (0, 0, r, r), mode="replicate"), g.view(1, 1, -1, 1))
    h, w = x.shape[-2] // 2, x.shape[-1] // 2
    if down == "area":
        return F.avg_pool2d(x, 2)
    return F.interpolate(x, size=(h, w), mode=down, align_corners=False, antialias=True)


def degrade_planes(hq: Planes, d: Degradation, rng: np.random.Generator) -> Planes:
    """HQ planes (N, H, W) -> LQ planes at H/2 x W/2 before the codec (blur, down, noise, rounded)."""
    def one(p: np.ndarray, sigma_blur: float, sigma_noise: float) -> np.ndarray:
        x = torch.from_numpy(p.astype(np.float32))[:, None]
        x = _blur_down(x, sigma_blur, d.down)[:, 0].numpy()
        if sigma_noise > 0:
            x = x + rng.normal(0.0, sigma_noise, size=x.shape).astype(np.float32)
        return np.clip(np.round(x), 0, 255).astype(np.uint8)

    return Planes(one(hq.y, d.blur, d.noise), one(hq.u, d.blur / 2, d.noise * d.chroma_noise),
                  one(hq.v, d.blur / 2, d.noise * d.chroma_noise))


def degrade(hq: Planes, d: Degradation, rng: np.random.Generator) -> Planes:
    """The whole chain with H.264 in the loop (used for training clips)."""
    lq = degrade_planes(hq, d, rng)
    return h264_roundtrip(lq, d.crf, d.preset, d.keyint, d.bframes)
