"""MFSWA: equals the explicit-mask reference on the same window geometry; each token written once."""
import pytest
import torch

from models.swiftvr.attention import Attention, mfswa_reference_mask, window_geometry

SIZES = [(8, 8), (5, 7), (6, 11), (9, 4), (4, 13)]


@pytest.mark.parametrize("hg,wg", SIZES + [(2, 3), (1, 6)])
@pytest.mark.parametrize("shifted", [False, True])
def test_mfswa_equals_explicit_mask_reference(hg, wg, shifted):
    torch.manual_seed(hg * 100 + wg)
    attn = Attention(dim=16, heads=2, window=4, shifted=shifted, kind="mfswa").eval()
    b, f, p = 2, 3, hg * wg
    x = torch.randn(b, f, p, 16)
    mask = mfswa_reference_mask(hg, wg, 4, shifted)  # (P, P)
    full_mask = mask.repeat(f, f)  # tokens ordered (frame, position); windows span all frames
    with torch.no_grad():
        got = attn(x, hg, wg)
        ref = attn._sdpa(x.reshape(b, f * p, 16), full_mask).reshape(b, f, p, 16)
    assert torch.allclose(got, ref, atol=1e-5), f"max diff {(got - ref).abs().max():.2e} at {hg}x{wg} shifted={shifted}"


@pytest.mark.parametrize("hg,wg", SIZES)
@pytest.mark.parametrize("shifted", [False, True])
def test_every_token_written_exactly_once(hg, wg, shifted):
    g = window_geometry(hg, wg, 4, shifted)
    p = hg * wg
    slots = g.index.flatten()
    # owner slot of token q holds token q: the write-back reads q from a window that contains it
    assert torch.equal(slots[g.owner], torch.arange(p))
    assert g.owner.unique().numel() == p, "two tokens written from the same slot"
    # every window is full (fixed window size, boundary-clamped) and inside the grid
    assert g.index.shape == (g.index.shape[0], 16)
    assert int(g.index.min()) >= 0 and int(g.index.max()) < p
    # every token appears in some window; owner window is the nominal (unclamped) one
    assert torch.equal(torch.unique(slots), torch.arange(p))
    s = 2 if shifted else 0
    rows = torch.arange(hg).repeat_interleave(wg)
    n_wc = (wg + s + 3) // 4
    own_win_row = torch.div(g.owner, 16, rounding_mode="floor") // n_wc
    assert torch.equal(own_win_row, torch.clamp((rows + s) // 4, max=(hg + s + 3) // 4 - 1))


def test_shifted_windows_are_shifted_by_half_a_window():
    g0, g1 = window_geometry(8, 8, 4, False), window_geometry(8, 8, 4, True)
    starts0 = sorted({int(w[0]) // 8 for w in g0.index})
    starts1 = sorted({int(w[0]) // 8 for w in g1.index})
    assert starts0 == [0, 4]
    assert starts1 == [0, 2, 4]  # nominal -2, 2, 6 clamped to the grid


def test_grid_smaller_than_window_falls_back_to_one_window_per_axis():
    g = window_geometry(2, 3, 4, True)
    assert g.index.shape[1] == 6, "a window must shrink to the whole 2x3 grid"
    attn = Attention(dim=8, heads=2, window=4, shifted=True, kind="mfswa").eval()
    full = Attention(dim=8, heads=2, window=4, shifted=True, kind="full").eval()
    full.load_state_dict(attn.state_dict())
    x = torch.randn(1, 2, 6, 8)
    with torch.no_grad():
        assert torch.allclose(attn(x, 2, 3), full(x, 2, 3), atol=1e-6)


@pytest.mark.parametrize("hg,wg", [(8, 8), (4, 12)])
def test_swin_masked_equals_mfswa_on_plain_windows(hg, wg):
    """Non-shifted, grid a window multiple: both are the same plain windows."""
    a = Attention(dim=16, heads=2, window=4, shifted=False, kind="mfswa").eval()
    b = Attention(dim=16, heads=2, window=4, shifted=False, kind="swin").eval()
    b.load_state_dict(a.state_dict())
    x = torch.randn(2, 3, hg * wg, 16)
    with torch.no_grad():
        assert torch.allclose(a(x, hg, wg), b(x, hg, wg), atol=1e-5)


def test_swin_masked_shifted_keeps_tokens_inside_their_region():
    """Swin-style ablation: a token at the grid's top-left never sees the rolled-in bottom-right tokens."""
    attn = Attention(dim=8, heads=1, window=4, shifted=True, kind="swin").eval()
    x = torch.randn(1, 1, 64, 8)
    y = x.clone()
    y[0, 0, 63] += 10.0  # bottom-right token, rolled next to the top-left one
    with torch.no_grad():
        assert torch.allclose(attn(x, 8, 8)[0, 0, 0], attn(y, 8, 8)[0, 0, 0], atol=1e-6)
