"""Window attention over latent tokens: full, Swin-style masked shifted windows, and MFSWA.

Tokens are laid out as x: (B, F, P, d) with F frames (context + chunk) and P = Hg * Wg spatial
positions. A window covers `window x window` spatial positions across ALL F frames.

MFSWA (mask-free shifted window attention): window geometry is a fixed window size with
boundary-clamped starts, so every window is full (no padding tokens, no mask). Tokens are
gathered into dense (B*nW, F*L, d) tensors by one int64 index computed from the grid size
inside the graph (arange/clamp), attention runs with attn_mask=None, and the result is written
back through an owner index: each token takes its output from exactly one window, the one whose
nominal (unclamped) range contains it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _axis_windows(n, window: int, shifted: bool, device=None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Window starts and owner along one axis of length n (int, or traced size).

    Returns (starts (nW,), offsets (w,), owner_win (n,), owner_pos (n,)).
    If n < window the window shrinks to n (defined fallback: one window spans the axis).
    Written with tensor ops only so ONNX export keeps it dynamic in n.
    """
    r = torch.arange(n, device=device)  # (n,)
    n_t = r[-1:] + 1  # (1,) the axis length as a tensor
    w = torch.clamp(n_t, max=window)  # effective window (fallback for small axes)
    s = torch.div(w, 2, rounding_mode="trunc") if shifted else torch.zeros_like(w)
    n_win = torch.div(n_t + s + w - 1, w, rounding_mode="trunc")
    starts = torch.arange(n_win[0], device=device) * w - s  # nominal starts
    starts = torch.minimum(torch.clamp(starts, min=0), n_t - w)  # boundary-clamped
    offsets = torch.arange(w[0], device=device)
    owner_win = torch.clamp(torch.div(r + s, w, rounding_mode="trunc"), max=n_win[0] - 1)
    owner_pos = r - starts[owner_win]
    return starts, offsets, owner_win, owner_pos


@dataclass
class WindowGeometry:
    """Gather index (nW, L) into flattened positions and owner slot (P,) into (nW*L)."""

    index: Tensor
    owner: Tensor
    n_windows: Tensor
    length: Tensor


def window_geometry(hg, wg, window: int, shifted: bool, device=None) -> WindowGeometry:
    sh, oh, wh, ph = _axis_windows(hg, window, shifted, device)
    sw, ow, ww, pw = _axis_windows(wg, window, shifted, device)
    rows = sh[:, None] + oh[None, :]  # (nWh, wh)
    cols = sw[:, None] + ow[None, :]  # (nWw, ww)
    n_cols = wg if isinstance(wg, int) else cols.new_tensor(0) + wg
    idx = rows[:, None, :, None] * n_cols + cols[None, :, None, :]  # (nWh, nWw, wh, ww)
    index = idx.flatten(2, 3).flatten(0, 1)  # (nW, L)
    n_ww = sw.shape[0]
    l_w = ow.shape[0]
    length = oh.shape[0] * l_w
    win = wh[:, None] * n_ww + ww[None, :]  # (Hg, Wg) owner window
    pos = ph[:, None] * l_w + pw[None, :]  # (Hg, Wg) position inside it
    owner = (win * length + pos).flatten()  # (P,)
    return WindowGeometry(index=index, owner=owner, n_windows=index.shape[0], length=length)


class Attention(nn.Module):
    """Multi-head self-attention whose token grouping is chosen by `kind`."""

    def __init__(self, dim: int, heads: int, window: int, shifted: bool, kind: str):
        super().__init__()
        assert dim % heads == 0, f"dim={dim} must be a multiple of heads={heads}"
        self.heads, self.window, self.shifted, self.kind = heads, window, shifted, kind
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def _sdpa(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        # x: (N, L, d) dense groups of tokens
        n, length, d = x.shape
        qkv = self.qkv(x).reshape(n, length, 3, self.heads, d // self.heads)  # (N, L, 3, h, hd)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (N, h, L, hd)
        o = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # (N, h, L, hd)
        return self.proj(o.transpose(1, 2).reshape(n, length, d))

    def forward(self, x: Tensor, hg, wg, geom: WindowGeometry | None = None) -> Tensor:
        # x: (B, F, P, d)
        if self.kind == "full":
            b, f, p, d = x.shape
            return self._sdpa(x.reshape(b, f * p, d)).reshape(b, f, p, d)
        if self.kind == "mfswa":
            if geom is None:
                geom = window_geometry(hg, wg, self.window, self.shifted, x.device)
            return mfswa(x, geom, self._sdpa)
        if self.kind == "swin":
            return swin_masked(x, hg, wg, self.window, self.shifted, self._sdpa)
        raise ValueError(f"attention kind {self.kind!r} must be full|swin|mfswa")


def mfswa(x: Tensor, geom: WindowGeometry, attend) -> Tensor:
    """Gather once into dense windows, attend with no mask, write each token back once."""
    b, f, p, d = x.shape
    xw = x[:, :, geom.index]  # (B, F, nW, L, d)
    n_w, length = xw.shape[2], xw.shape[3]
    xw = xw.permute(0, 2, 1, 3, 4).reshape(b * n_w, f * length, d)  # (B*nW, F*L, d)
    ow = attend(xw)  # (B*nW, F*L, d)
    ow = ow.reshape(b, n_w, f, length, d).permute(0, 2, 1, 3, 4).reshape(b, f, n_w * length, d)  # (B, F, nW*L, d)
    return ow[:, :, geom.owner]  # (B, F, P, d)


def mfswa_reference_mask(hg: int, wg: int, window: int, shifted: bool) -> Tensor:
    """Explicit (P, P) boolean mask of the same geometry: token i attends to the tokens of its owner window."""
    geom = window_geometry(hg, wg, window, shifted)
    p = hg * wg
    mask = torch.zeros(p, p, dtype=torch.bool)
    owner_window = torch.div(geom.owner, geom.length, rounding_mode="trunc")  # (P,)
    for i in range(p):
        mask[i, geom.index[owner_window[i]]] = True
    return mask


def swin_masked(x: Tensor, hg: int, wg: int, window: int, shifted: bool, attend) -> Tensor:
    """Swin-style ablation: pad the grid to a window multiple, roll by half a window, mask
    attention across rolled regions and to padding, roll back. Eager-only reference path."""
    b, f, p, d = x.shape
    hg, wg = int(hg), int(wg)
    ws = window
    hp, wp = math.ceil(hg / ws) * ws, math.ceil(wg / ws) * ws
    s = ws // 2 if shifted else 0
    g = x.reshape(b, f, hg, wg, d)
    g = F.pad(g, (0, 0, 0, wp - wg, 0, hp - hg))  # (B, F, Hp, Wp, d)
    label = torch.zeros(hp, wp, dtype=torch.long, device=x.device)
    valid = torch.zeros(hp, wp, dtype=torch.bool, device=x.device)
    valid[:hg, :wg] = True
    if s:
        g = torch.roll(g, shifts=(-s, -s), dims=(2, 3))
        valid = torch.roll(valid, shifts=(-s, -s), dims=(0, 1))
        cnt = 0
        for hs in (slice(0, -ws), slice(-ws, -s), slice(-s, None)):
            for wsl in (slice(0, -ws), slice(-ws, -s), slice(-s, None)):
                label[hs, wsl] = cnt
                cnt += 1
    nh, nw = hp // ws, wp // ws

    def part(t: Tensor) -> Tensor:  # (..., Hp, Wp) -> (nW, ws*ws)
        return t.reshape(nh, ws, nw, ws).permute(0, 2, 1, 3).reshape(nh * nw, ws * ws)

    lab, val = part(label), part(valid)
    m = (lab[:, :, None] == lab[:, None, :]) & val[:, None, :]  # (nW, L, L)
    m = m.repeat(1, f, f)  # (nW, F*L, F*L): frames share the spatial mask
    gw = g.reshape(b, f, nh, ws, nw, ws, d).permute(0, 2, 4, 1, 3, 5, 6).reshape(b * nh * nw, f * ws * ws, d)
    ow = attend(gw, m.repeat(b, 1, 1)[:, None])  # (B*nW, F*L, d)
    ow = ow.reshape(b, nh, nw, f, ws, ws, d).permute(0, 3, 1, 4, 2, 5, 6).reshape(b, f, hp, wp, d)
    if s:
        ow = torch.roll(ow, shifts=(s, s), dims=(2, 3))
    return ow[:, :, :hg, :wg].reshape(b, f, p, d)
