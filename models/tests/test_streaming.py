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


def test_stream_in_memory_equals_serialised_state_on_another_instance():
    model = randomised_tiny(1)
    clip = torch.rand(1, 7, 3, 24, 32)
    chunks = [3, 2, 2]
    with torch.no_grad():
        ref, _ = stream(model, clip, chunks)
        # resume after every chunk on a fresh model instance from serialised bytes ("another machine")
        state, outs, i = model.init_state(1, 24, 32), [], 0
        for n in chunks:
            other = SwiftVR(model.cfg).eval()
            other.load_state_dict(model.state_dict())
            hq, *state = other(clip[:, i:i + n], *deserialise(serialise(state)))
            outs.append(hq)
            i += n
    assert torch.equal(torch.cat(outs, 1), ref)


def test_state_carries_information_between_chunks():
    model = randomised_tiny(2)
    clip = torch.rand(1, 4, 3, 16, 16)
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
        _, state = stream(model, torch.rand(1, 2 * n_chunks, 3, 16, 24), [2] * n_chunks)
    assert [tuple(s.shape) for s in state] == [tuple(s.shape) for s in init]
    assert sum(s.numel() for s in state) == sum(s.numel() for s in init)
    assert all(s.dtype == torch.float32 for s in state)


def test_dynamic_chunk_length_up_to_t_max():
    model = randomised_tiny(4)
    with torch.no_grad():
        for t in range(1, model.cfg.t_max + 1):
            hq, *_ = model(torch.rand(1, t, 3, 16, 8), *model.init_state(1, 16, 8))
            assert hq.shape == (1, t, 3, 32, 16)
            assert float(hq.min()) >= 0.0 and float(hq.max()) <= 1.0


@pytest.mark.parametrize("shape,msg", [((1, 5, 3, 16, 16), "t_max"), ((1, 2, 3, 12, 16), "alignment"),
                                       ((1, 2, 1, 16, 16), r"\(B, T, 3, H, W\)")])
def test_invalid_input_names_the_rule(shape, msg):
    model = randomised_tiny(5)
    with pytest.raises(AssertionError, match=msg):
        model(torch.rand(*shape), *model.init_state(1, 16, 16))


@pytest.mark.parametrize("kind", ["full", "swin", "mfswa"])
def test_reduced_precision_forward_keeps_dtype(kind):
    """The GPU bench runs the model in half precision; every path must follow the input dtype."""
    model = randomised_tiny(6, attention=kind).to(torch.bfloat16)
    lq = torch.rand(1, 2, 3, 40, 48, dtype=torch.bfloat16)
    with torch.no_grad():
        hq, *state = model(lq, *[s.to(torch.bfloat16) for s in model.init_state(1, 40, 48)])
    assert hq.dtype == torch.bfloat16 and all(s.dtype == torch.bfloat16 for s in state)
    assert torch.isfinite(hq.float()).all()
