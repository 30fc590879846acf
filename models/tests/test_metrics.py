"""Luma metrics: PSNR-Y, SSIM-Y, chunk starts and the boundary flicker ratio."""
import numpy as np

from models.swiftvr.metrics import chunk_starts, flicker_ratio, psnr_y, ssim_y


def test_psnr_of_a_known_error():
    gt = np.full((2, 16, 16), 100, np.uint8)
    pred = gt.copy()
    pred[0] += 1  # MSE 1 -> 48.13 dB; the second frame is exact (capped)
    p = psnr_y(pred, gt)
    assert abs(p[0] - 10 * np.log10(255 ** 2)) < 1e-9 and p[1] > 100


def test_ssim_is_one_for_identical_frames_and_drops_with_noise():
    rng = np.random.default_rng(0)
    gt = rng.integers(0, 256, (2, 32, 32)).astype(np.uint8)
    assert np.allclose(ssim_y(gt, gt), 1.0)
    smooth = np.broadcast_to(np.linspace(60, 180, 32)[None, None], (2, 32, 32)).astype(np.uint8)
    noisy = np.clip(smooth.astype(int) + rng.normal(0, 20, smooth.shape), 0, 255).astype(np.uint8)
    assert (ssim_y(noisy, smooth) < 0.5).all()


def test_chunk_starts_restart_at_every_segment():
    assert chunk_starts([5, 3], 2) == {0, 2, 4, 5, 7}


def test_flicker_ratio_sees_a_jump_at_chunk_boundaries():
    rng = np.random.default_rng(1)
    gt = rng.integers(50, 200, (12, 8, 8)).astype(np.float32)
    smooth = gt + 2.0 * (np.arange(12) % 2)[:, None, None]  # the same small error pattern everywhere
    starts = chunk_starts([12], 4)
    assert abs(flicker_ratio(smooth, gt, starts) - 1.0) < 0.3
    jumpy = smooth.copy()
    for s in (4, 8):
        jumpy[s:] += 20.0  # an offset that changes exactly at chunk starts
    assert flicker_ratio(jumpy, gt, starts) > 3
