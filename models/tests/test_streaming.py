"""Causal chunk-wise streaming: state through memory == through serialised bytes; bounded state."""
import io

import numpy as np
import pytest
import torch

from models.swiftvr import SwiftVR
from models.swiftvr.model import stream

from models.tests.conftest import randomised_tiny


def serialise(state):
    buf = io.BytesIO()
    np.savez(buf, *[s.numpy() for s in state])
    return buf.getvalue()


def deserialise(blob):
    d = np.load(io.BytesIO(blob))
    return [torch.from_numpy(d[f"arr_{i}"]) for i in range(len(d.files))]


def i420(n: int, h: int, w: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (1, n, h * 3 // 2, w), generator=g, dtype=torch.uint8)


def test_stream_in_memory_equals_serialised_state_on_another_instance():
    model = randomised_tiny(1)
    clip = i420(7, 24, 34)
    chunks = [3, 2, 2]
    with torch.no_grad():
        state, ref, i = model.init_state(1, 24, 34), [], 0
        for n in chunks:
            hq, *state = model(clip[:, i:i + n], *state)
            ref.append(hq)
            i += n
        # resume after every chunk on a fresh model instance from serialised bytes ("another machine")
        state, outs, i = model.init_state(1, 24, 34), [], 0
        for n in chunks:
            other = SwiftVR(model.cfg).eval()
            other.load_state_dict(model.state_dict())
            hq, *state = other(clip[:, i:i + n], *deserialise(serialise(state)))
            outs.append(hq)
            i += n
    assert torch.equal(torch.cat(outs, 1), torch.cat(ref, 1))


def test_state_carries_information_between_chunks():
    model = randomised_tiny(2)
    clip = torch.rand(1, 4, 1, 16, 16)
    with torch.no_grad():
        carried, _ = stream(model, clip, [2, 2])
        second_fresh, _ = stream(model, clip[:, 2:], [2])
    assert not torch.allclose(carried[:, 2:], second_fresh, atol=1e-4), "state_out had no effect on the next chunk"
    assert torch.allclose(carried[:, :2], stream(model, clip[:, :2], [2])[0]), "first chunk must start from zeros"


@pytest.mark.parametrize("n_chunks", [1, 4, 12])
def test_state_size_does_not_grow_with_stream_length(n_chunks):
    model = randomised_tiny(3)
    init = model.init_state(1, 16, 24)
    with torch.no_grad():
        _, state = stream(model, torch.rand(1, 2 * n_chunks, 1, 16, 24), [2] * n_chunks)
    assert [tuple(s.shape) for s in state] == [tuple(s.shape) for s in init]
    assert sum(s.numel() for s in state) == sum(s.numel() for s in init)
    assert all(s.dtype == torch.float32 for s in state)


def test_dynamic_chunk_length_up_to_t_max():
    model = randomised_tiny(4)
    with torch.no_grad():
        for t in range(1, model.cfg.t_max + 1):
            hq, *_ = model(i420(t, 16, 10), *model.init_state(1, 16, 10))
            assert hq.shape == (1, t, 48, 20) and hq.dtype == torch.uint8


@pytest.mark.parametrize("lq,msg", [(lambda: i420(5, 16, 16), "t_max"), (lambda: i420(2, 16, 15), "even"),
                                    (lambda: torch.zeros(1, 2, 25, 16, dtype=torch.uint8), "3H/2"),
                                    (lambda: torch.zeros(1, 2, 24, 16), "uint8")])
def test_invalid_input_names_the_rule(lq, msg):
    model = randomised_tiny(5)
    with pytest.raises(AssertionError, match=msg):
        model(lq(), *model.init_state(1, 16, 16))


@pytest.mark.parametrize("kind", ["full", "swin", "mfswa"])
def test_reduced_precision_forward_keeps_dtype(kind):
    """GPU training runs the luma network in bfloat16; every path must follow the input dtype."""
    model = randomised_tiny(6, attention=kind).to(torch.bfloat16)
    y = torch.rand(1, 2, 1, 40, 48, dtype=torch.bfloat16)
    with torch.no_grad():
        hq, *state = model.restore_y(y, *[s.to(torch.bfloat16) for s in model.init_state(1, 40, 48)])
    assert hq.dtype == torch.bfloat16 and all(s.dtype == torch.bfloat16 for s in state)
    assert torch.isfinite(hq.float()).all()
