"""Quality metrics on the luma plane (8-bit Y as the codec carries it): PSNR-Y, SSIM-Y, boundary flicker."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def psnr_y(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per-frame PSNR of (N, H, W) uint8 luma, peak 255."""
    d = pred.astype(np.float64) - gt.astype(np.float64)
    mse = np.maximum((d * d).reshape(d.shape[0], -1).mean(axis=1), 1e-10)
    return 10.0 * np.log10(255.0 ** 2 / mse)


def _gauss_1d() -> torch.Tensor:
    g = torch.exp(-((torch.arange(11, dtype=torch.float64) - 5) ** 2) / (2 * 1.5 ** 2))
    return g / g.sum()


def _gauss_filter(x: torch.Tensor) -> torch.Tensor:
    """The 11x11 Gaussian (sigma 1.5) as two 1-D passes, valid region: the same sums as the 2-D window in
    22 taps instead of 121 (float64)."""
    g = _gauss_1d()
    c = x.shape[1]
    x = F.conv2d(x, g.view(1, 1, 1, 11).expand(c, 1, 1, 11).contiguous(), groups=c)
    return F.conv2d(x, g.view(1, 1, 11, 1).expand(c, 1, 11, 1).contiguous(), groups=c)


def ssim_y(pred: np.ndarray, gt: np.ndarray, batch: int = 16) -> np.ndarray:
    """Per-frame SSIM (Wang et al.: Gaussian window 11, sigma 1.5, K1 0.01, K2 0.03, peak 255) of (N, H, W) luma."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    out = []
    for i in range(0, pred.shape[0], batch):
        x = torch.from_numpy(pred[i:i + batch].astype(np.float64))[:, None]
        y = torch.from_numpy(gt[i:i + batch].astype(np.float64))[:, None]
        mx, my, xx, yy, xy = _gauss_filter(torch.cat([x, y, x * x, y * y, x * y], dim=1)).unbind(1)
        sxx, syy, sxy = xx - mx * mx, yy - my * my, xy - mx * my
        m = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
        out.append(m.mean(dim=(1, 2)).numpy())
    return np.concatenate(out)


def chunk_starts(segment_frames: list[int], t_max: int) -> set[int]:
    """Frame indices where a model chunk starts: every t_max frames from each segment's first frame
    (the runtime runs a segment's frames in chunks of t_max and flushes at its end)."""
    starts, base = set(), 0
    for n in segment_frames:
        starts.update(range(base, base + n, t_max))
        base += n
    return starts


def flicker_ratio(pred: np.ndarray, gt: np.ndarray, starts: set[int]) -> float:
    """Mean |(P_t - P_t-1) - (G_t - G_t-1)| over frame pairs that straddle a chunk boundary, divided by the
    same over pairs inside chunks. 1.0: boundaries look like any other frame step."""
    bnd, ins = [], []
    for t in range(1, pred.shape[0]):
        dp = pred[t].astype(np.float32) - pred[t - 1].astype(np.float32)
        dg = gt[t].astype(np.float32) - gt[t - 1].astype(np.float32)
        (bnd if t in starts else ins).append(float(np.abs(dp - dg).mean()))
    if not bnd or not ins:
        return float("nan")
    return float(np.mean(bnd) / np.mean(ins))


def scores(pred: np.ndarray, gt: np.ndarray, starts: set[int]) -> dict:
    assert pred.shape == gt.shape, f"prediction {pred.shape} and ground truth {gt.shape} differ"
    return {"psnr_y": float(psnr_y(pred, gt).mean()), "ssim_y": float(ssim_y(pred, gt).mean()),
            "flicker_ratio": flicker_ratio(pred, gt, starts)}
