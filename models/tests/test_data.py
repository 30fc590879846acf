"""Data: sources policy, camera motion, degradation shapes and codec round trip."""
import numpy as np
from PIL import Image

from models.swiftvr.data import (Degradation, camera_clip, degrade_clips, degrade_pre_codec, h264_roundtrip,
                                 list_clips)


def test_training_clips_never_include_the_held_out_or_studio_clips(tmp_path):
    data = tmp_path / "x/usr/share/doc/opencv-doc/examples/data"
    data.mkdir(parents=True)
    media = tmp_path / "package/examples/media"
    media.mkdir(parents=True)
    for n in ("vtest.avi", "tree.avi", "Megamind.avi", "Megamind_bugy.avi"):
        (data / n).write_bytes(b"")
    (media / "franck.mp4").write_bytes(b"")
    names = sorted(p.name for p in list_clips(tmp_path))
    assert names == ["franck.mp4", "tree.avi"]


def test_camera_clip_moves_over_the_still():
    rng = np.random.default_rng(1)
    img = Image.fromarray((np.random.default_rng(0).random((300, 400, 3)) * 255).astype(np.uint8))
    clip = camera_clip(img, 6, (64, 48), rng)
    assert clip.shape == (6, 48, 64, 3) and clip.dtype == np.uint8
    assert all(np.abs(clip[i].astype(int) - clip[i + 1]).mean() > 1 for i in range(5))


def test_degradation_halves_size_and_changes_content():
    rng = np.random.default_rng(2)
    hq = (np.random.default_rng(0).random((3, 32, 48, 3)) * 255).astype(np.uint8)
    d = Degradation(blur=1.0, down="bicubic", noise=4.0, gray_noise=False, codec="jpeg", quality=50)
    lq = degrade_pre_codec(hq, d, rng)
    assert lq.shape == (3, 16, 24, 3) and lq.dtype == np.uint8
    plain = np.asarray(Image.fromarray(hq[0]).resize((24, 16), Image.BICUBIC))
    assert np.abs(lq[0].astype(int) - plain).mean() > 2


def test_h264_round_trip_keeps_frames_and_is_lossy():
    frames = (np.random.default_rng(0).random((5, 32, 32, 3)) * 255).astype(np.uint8)
    out = h264_roundtrip(frames, 35)
    assert out.shape == frames.shape
    assert 0 < np.abs(out.astype(int) - frames).mean() < 128


def test_degrade_clips_groups_codec_clips_without_mixing_them():
    rng = np.random.default_rng(3)
    hqs = [np.full((4, 32, 32, 3), 40 * i, np.uint8) for i in range(6)]
    lqs, degs = degrade_clips(hqs, rng)
    for hq, lq in zip(hqs, lqs):
        assert lq.shape == (4, 16, 16, 3)
        assert abs(float(lq.mean()) - float(hq.mean())) < 20, "a clip got another clip's frames"
