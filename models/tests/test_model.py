"""The model on the codec's planes: I420 in and out, bicubic base equal to ffmpeg's own bicubic scale."""
import subprocess

import numpy as np
import pytest
import torch

from models.swiftvr import SwiftVR, get_config
from models.swiftvr.media import Planes
from models.swiftvr.metrics import psnr_y
from models.swiftvr.model import pack_i420, pad_to, unpack_i420

from models.tests.conftest import randomised_tiny


def natural_planes(n: int, w: int, h: int) -> Planes:
    """A moving test pattern with texture (ffmpeg's testsrc2 + noise), as yuv420p planes."""
    out = subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"testsrc2=size={w}x{h}:rate=25",
                          "-vf", "noise=alls=20:allf=t", "-frames:v", str(n), "-f", "rawvideo", "-pix_fmt", "yuv420p",
                          "-"], capture_output=True, check=True).stdout
    return Planes.frombuffer(out, w, h)


def ffmpeg_bicubic(p: Planes) -> Planes:
    w, h = p.size
    out = subprocess.run(["ffmpeg", "-v", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{w}x{h}", "-i", "-",
                          "-vf", f"scale={2 * w}:{2 * h}:flags=bicubic", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"],
                         input=p.tobytes(), capture_output=True, check=True).stdout
    return Planes.frombuffer(out, 2 * w, 2 * h)


def as_lq(p: Planes) -> torch.Tensor:
    w, h = p.size
    return torch.from_numpy(np.frombuffer(p.tobytes(), np.uint8).copy()).reshape(1, p.frames, h * 3 // 2, w)


def run_model(model: SwiftVR, p: Planes) -> Planes:
    w, h = p.size
    lq = as_lq(p)
    with torch.no_grad():
        out, *_ = model(lq, *model.init_state(1, h, w))
    return Planes.frombuffer(out.numpy().tobytes(), 2 * w, 2 * h)


def test_i420_unpack_pack_round_trip():
    p = natural_planes(2, 20, 14)
    y, u, v = unpack_i420(as_lq(p))
    assert np.array_equal(y[0].numpy(), p.y) and np.array_equal(u[0].numpy(), p.u) and np.array_equal(v[0].numpy(), p.v)
    assert torch.equal(pack_i420(y, u, v), as_lq(p))


def test_pad_to_replicates_edges_up_to_the_alignment():
    x = torch.arange(12.0).reshape(1, 1, 3, 4)
    p = pad_to(x, 8)
    assert p.shape == (1, 1, 8, 8)
    assert torch.equal(p[..., :3, :4], x)
    assert torch.equal(p[..., 7, :4], x[..., 2, :]) and torch.equal(p[..., :3, 7], x[..., :, 3])
    assert pad_to(torch.zeros(1, 1, 16, 8), 8).shape == (1, 1, 16, 8)


@pytest.mark.parametrize("w,h", [(64, 48), (58, 38)])
def test_untrained_model_is_ffmpeg_bicubic_on_every_plane(w, h):
    """The output layer starts at zero, so the model is the plain upscale ffmpeg makes (swscale bicubic,
    a = -0.6), also at sizes that are not a multiple of the alignment."""
    p = natural_planes(3, w, h)
    got, ref = run_model(SwiftVR(get_config("tiny")).eval(), p), ffmpeg_bicubic(p)
    for plane in "yuv":
        a, b = getattr(got, plane), getattr(ref, plane)
        assert psnr_y(a, b).min() > 50, f"{plane}: {psnr_y(a, b).min():.2f} dB against ffmpeg's bicubic"


def test_chroma_takes_the_bicubic_path_whatever_the_luma_network_does():
    p = natural_planes(2, 32, 24)
    got, plain = run_model(randomised_tiny(3), p), ffmpeg_bicubic(p)
    assert psnr_y(got.y, plain.y).mean() < 40, "the randomised luma network should change luma"
    assert psnr_y(got.u, plain.u).min() > 50 and psnr_y(got.v, plain.v).min() > 50


def test_flat_colour_stays_flat():
    """No colour matrix anywhere: a flat saturated frame comes out as the same plane values."""
    y, u, v = 81, 90, 240  # BT.601 limited-range pure red
    p = Planes(np.full((2, 24, 32), y, np.uint8), np.full((2, 12, 16), u, np.uint8), np.full((2, 12, 16), v, np.uint8))
    got = run_model(SwiftVR(get_config("tiny")).eval(), p)
    assert (got.y == y).all() and (got.u == u).all() and (got.v == v).all()
