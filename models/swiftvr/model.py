"""SwiftVR: ReAE (cheap encoder + causal LQ-conditioned decoder) around a one-step flow DiT.

Streaming contract (see export.py / the JSON sidecar):
    forward(lq, state_ctx, state_dec0, state_dec1, state_dec2) -> (hq, *state_out)
    lq: (B, T, 3, H, W) RGB in [0, 1], H and W multiples of 8, 1 <= T <= t_max
    hq: (B, T, 3, 2H, 2W)
    state_ctx:  (B, latent_ch, H/4, W/4)  restored latent of the previous frame (DiT context)
    state_decK: (B, dec_ch[K], H/4 * 2^K, W/4 * 2^K)  decoder block memory of the previous frame
All-zero state means "start of stream"; training always starts clips from zeros.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .attention import Attention, window_geometry
from .config import SwiftVRConfig

STATE_NAMES = ("state_ctx", "state_dec0", "state_dec1", "state_dec2")


def _frames(x: Tensor) -> Tensor:
    # (B, T, C, H, W) -> (B*T, C, H, W)
    return x.flatten(0, 1)


def _past(x: Tensor, state: Tensor) -> Tensor:
    """Per-frame memory: frame t sees frame t-1's input; the first frame sees the carried state.
    x: (B, T, C, H, W), state: (B, C, H, W) -> (B, T, C, H, W)"""
    return torch.cat([state[:, None], x[:, :-1]], dim=1)


def bicubic_x2_kernel() -> Tensor:
    """Depthwise 5x5 kernels (3*4 phases, 1, 5, 5) equal to PyTorch bicubic x2 (a=-0.75, align_corners=False)
    on a 2-px edge-replicated input; ONNX Resize(cubic) is several times slower on onnxruntime CPU."""
    even = torch.tensor([-0.03515625, 0.26171875, 0.87890625, -0.10546875, 0.0])
    odd = torch.tensor([0.0, -0.10546875, 0.87890625, 0.26171875, -0.03515625])
    taps = (even, odd)
    k = torch.stack([torch.outer(taps[py], taps[px]) for py in (0, 1) for px in (0, 1)])  # (4, 5, 5)
    return k.repeat(3, 1, 1)[:, None]  # (12, 1, 5, 5), channel c*4 + phase


def replicate_pad2(x: Tensor) -> Tensor:
    """Edge-replicate 2 px on each side with slices + concat (no Pad op in the graph)."""
    x = torch.cat([x[..., :1], x[..., :1], x, x[..., -1:], x[..., -1:]], dim=-1)
    return torch.cat([x[..., :1, :], x[..., :1, :], x, x[..., -1:, :], x[..., -1:, :]], dim=-2)


class MemBlock(nn.Module):
    """TAEHV-style causal block: conv over [x_t, x_{t-1}] then conv, residual."""

    def __init__(self, ch: int):
        super().__init__()
        self.c1 = nn.Conv2d(2 * ch, ch, 3, padding=1)
        self.c2 = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        # x: (B, T, C, H, W); state: (B, C, H, W)
        b, t = x.shape[:2]
        h = torch.cat([_frames(x), _frames(_past(x, state))], dim=1)  # (B*T, 2C, H, W)
        y = self.c2(F.relu(self.c1(h)))
        out = F.relu(_frames(x) + y).reshape(x.shape)  # (B, T, C, H, W)
        return out, x[:, -1]


class LQEncoder(nn.Module):
    """LQ frames (B*T, 3, H, W) -> latent (B*T, latent_ch, H/4, W/4): pixel-unshuffle + convs."""

    def __init__(self, cfg: SwiftVRConfig, factor: int = 4):
        super().__init__()
        self.factor = factor
        self.net = nn.Sequential(
            nn.Conv2d(3 * factor * factor, cfg.enc_ch, 3, padding=1), nn.GELU(),
            nn.Conv2d(cfg.enc_ch, cfg.enc_ch, 3, padding=1), nn.GELU(),
            nn.Conv2d(cfg.enc_ch, cfg.latent_ch, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(F.pixel_unshuffle(x, self.factor))


class Decoder(nn.Module):
    """Latent -> HQ frames, conditioned on LQ pixels at every scale, causal block memories."""

    def __init__(self, cfg: SwiftVRConfig):
        super().__init__()
        c0, c1, c2 = cfg.dec_ch
        self.z_in = nn.Conv2d(cfg.latent_ch, c0, 3, padding=1)
        self.lq0 = nn.Conv2d(48, c0, 3, padding=1)
        self.mem0 = MemBlock(c0)
        self.up1 = nn.Conv2d(c0, 4 * c1, 1)
        self.lq1 = nn.Conv2d(12, c1, 3, padding=1)
        self.mem1 = MemBlock(c1)
        self.up2 = nn.Conv2d(c1, 4 * c2, 1)
        self.lq2 = nn.Conv2d(3, c2, 3, padding=1)
        self.mem2 = MemBlock(c2)
        self.out = nn.Conv2d(c2, 3 * cfg.scale * cfg.scale, 3, padding=1)
        self.scale = cfg.scale
        self.register_buffer("bicubic", bicubic_x2_kernel(), persistent=False)
        nn.init.zeros_(self.out.weight)  # starts as bicubic upscaling
        nn.init.zeros_(self.out.bias)

    def forward(self, z: Tensor, lq: Tensor, s0: Tensor, s1: Tensor, s2: Tensor):
        # z: (B, T, Cz, H/4, W/4); lq: (B, T, 3, H, W)
        b, t = lq.shape[:2]
        lqf = _frames(lq)  # (B*T, 3, H, W)
        h = F.relu(self.z_in(_frames(z)) + self.lq0(F.pixel_unshuffle(lqf, 4)))  # (B*T, c0, H/4, W/4)
        h, s0o = self.mem0(h.reshape(b, t, *h.shape[1:]), s0)
        h = F.pixel_shuffle(self.up1(_frames(h)), 2)  # (B*T, c1, H/2, W/2)
        h = F.relu(h + self.lq1(F.pixel_unshuffle(lqf, 2)))
        h, s1o = self.mem1(h.reshape(b, t, *h.shape[1:]), s1)
        h = F.pixel_shuffle(self.up2(_frames(h)), 2)  # (B*T, c2, H, W)
        h = F.relu(h + self.lq2(lqf))
        h, s2o = self.mem2(h.reshape(b, t, *h.shape[1:]), s2)
        res = F.pixel_shuffle(self.out(_frames(h)), self.scale)  # (B*T, 3, sH, sW)
        base = F.pixel_shuffle(F.conv2d(replicate_pad2(lqf), self.bicubic, groups=3), 2)  # bicubic x2
        hq = (base + res).clamp(0.0, 1.0)
        return hq.reshape(b, t, *hq.shape[1:]), s0o, s1o, s2o


def timestep_embedding(t: Tensor, dim: int) -> Tensor:
    # t: (B,) -> (B, dim) sinusoidal
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t[:, None].float() * 1000.0 * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class DiTBlock(nn.Module):
    """adaLN-Zero transformer block; attention grouping per config (odd layers shifted)."""

    def __init__(self, cfg: SwiftVRConfig, shifted: bool):
        super().__init__()
        d = cfg.dim
        self.norm1 = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(d, cfg.heads, cfg.window, shifted, cfg.attention)
        self.norm2 = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
        hidden = int(d * cfg.mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(d, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, d))
        self.ada = nn.Sequential(nn.SiLU(), nn.Linear(d, 6 * d))
        nn.init.zeros_(self.ada[1].weight)
        nn.init.zeros_(self.ada[1].bias)

    def forward(self, x: Tensor, c: Tensor, hg, wg, geom) -> Tensor:
        # x: (B, F, P, d); c: (B, d)
        sh1, sc1, g1, sh2, sc2, g2 = self.ada(c)[:, None, None].chunk(6, dim=-1)  # each (B, 1, 1, d)
        x = x + g1 * self.attn(self.norm1(x) * (1 + sc1) + sh1, hg, wg, geom)
        x = x + g2 * self.mlp(self.norm2(x) * (1 + sc2) + sh2)
        return x


class DiT(nn.Module):
    """Velocity v(z_t, t) over latent tokens (patch 2) of [context frame, chunk frames]."""

    def __init__(self, cfg: SwiftVRConfig):
        super().__init__()
        self.cfg = cfg
        d, cz = cfg.dim, cfg.latent_ch
        self.patch = nn.Conv2d(cz, d, 2, stride=2)
        self.pos = nn.Conv2d(d, d, 3, padding=1, groups=d)  # conditional position encoding, any size
        self.frame_emb = nn.Parameter(torch.zeros(cfg.t_max + 1, d))  # index 0 = context frame
        self.t_mlp = nn.Sequential(nn.Linear(d, d), nn.SiLU(), nn.Linear(d, d))
        self.blocks = nn.ModuleList(DiTBlock(cfg, shifted=(i % 2 == 1)) for i in range(cfg.depth))
        self.norm = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
        self.ada = nn.Sequential(nn.SiLU(), nn.Linear(d, 2 * d))
        self.head = nn.Linear(d, cz * 4)
        nn.init.normal_(self.frame_emb, std=0.02)
        for m in (self.ada[1], self.head):
            nn.init.zeros_(m.weight)
            nn.init.zeros_(m.bias)

    def forward(self, z: Tensor, ctx: Tensor, t: Tensor) -> Tensor:
        # z: (B, T, Cz, h, w) chunk latents at flow time t; ctx: (B, Cz, h, w) clean context; t: (B,)
        b, nt, cz, h, w = z.shape
        zz = torch.cat([ctx[:, None], z], dim=1)  # (B, F, Cz, h, w), F = T + 1
        f = nt + 1
        x = self.patch(_frames(zz))  # (B*F, d, Hg, Wg)
        x = x + self.pos(x)
        hg, wg = x.shape[2], x.shape[3]
        x = x.flatten(2).transpose(1, 2).reshape(b, f, -1, self.cfg.dim)  # (B, F, P, d)
        x = x + self.frame_emb[:f][None, :, None]
        c = self.t_mlp(timestep_embedding(t, self.cfg.dim).to(x.dtype))  # (B, d)
        geoms = (None, None)
        if self.cfg.attention == "mfswa":  # computed once per forward, shared by the blocks
            geoms = (window_geometry(hg, wg, self.cfg.window, False, x.device),
                     window_geometry(hg, wg, self.cfg.window, True, x.device))
        for i, blk in enumerate(self.blocks):
            x = blk(x, c, hg, wg, geoms[i % 2])
        sh, sc = self.ada(c)[:, None, None].chunk(2, dim=-1)
        x = self.head(self.norm(x) * (1 + sc) + sh)  # (B, F, P, 4*Cz)
        x = x[:, 1:]  # drop the context frame: (B, T, P, 4*Cz)
        x = x.transpose(2, 3).reshape(b * nt, 4 * cz, hg, wg)  # (B*T, 4*Cz, Hg, Wg)
        return F.pixel_shuffle(x, 2).reshape(b, nt, cz, h, w)  # (B, T, Cz, h, w)


class HQEncoder(nn.Module):
    """Training-only: HQ frames (2H, 2W) -> target latent z_HQ at (H/4, W/4)."""

    def __init__(self, cfg: SwiftVRConfig):
        super().__init__()
        self.net = LQEncoder(cfg, factor=4 * cfg.scale)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class SwiftVR(nn.Module):
    def __init__(self, cfg: SwiftVRConfig):
        super().__init__()
        self.cfg = cfg
        self.enc = LQEncoder(cfg)
        self.enc_hq = HQEncoder(cfg)  # not exported
        self.dit = DiT(cfg)
        self.dec = Decoder(cfg)

    def state_shapes(self, b: int, h: int, w: int) -> list[tuple[int, ...]]:
        c0, c1, c2 = self.cfg.dec_ch
        return [(b, self.cfg.latent_ch, h // 4, w // 4), (b, c0, h // 4, w // 4),
                (b, c1, h // 2, w // 2), (b, c2, h, w)]

    def init_state(self, b: int, h: int, w: int) -> list[Tensor]:
        """Start-of-stream state: all zeros."""
        return [torch.zeros(s) for s in self.state_shapes(b, h, w)]

    def check_input(self, lq: Tensor) -> None:
        assert lq.dim() == 5 and lq.shape[2] == 3, f"lq shape {tuple(lq.shape)} must be (B, T, 3, H, W)"
        t, h, w = lq.shape[1], lq.shape[3], lq.shape[4]
        assert 1 <= t <= self.cfg.t_max, f"T={t} must be in 1..t_max={self.cfg.t_max}"
        a = self.cfg.alignment
        assert h % a == 0 and w % a == 0, f"lq H={h}, W={w} must be multiples of alignment={a}"

    def restore_latent(self, z_lq: Tensor, ctx: Tensor) -> Tensor:
        """One-step flow from t=1: z_HQ = z_LQ - v(z_LQ, 1)."""
        t1 = torch.ones(z_lq.shape[0], device=z_lq.device, dtype=z_lq.dtype)
        return z_lq - self.dit(z_lq, ctx, t1)

    def forward(self, lq: Tensor, state_ctx: Tensor, state_dec0: Tensor, state_dec1: Tensor,
                state_dec2: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        if not torch.jit.is_tracing():
            self.check_input(lq)
        b, t = lq.shape[:2]
        z = self.enc(_frames(lq))  # (B*T, Cz, H/4, W/4)
        z = z.reshape(b, t, *z.shape[1:])
        z_hq = self.restore_latent(z, state_ctx)  # (B, T, Cz, H/4, W/4)
        hq, s0, s1, s2 = self.dec(z_hq, lq, state_dec0, state_dec1, state_dec2)
        return hq, z_hq[:, -1], s0, s1, s2


def stream(model: SwiftVR, lq: Tensor, chunks: list[int], state: list[Tensor] | None = None):
    """Run a clip (B, N, 3, H, W) chunk by chunk, carrying state. Returns (hq, final state)."""
    assert sum(chunks) == lq.shape[1], f"chunks {chunks} must sum to the clip length {lq.shape[1]}"
    if state is None:
        state = model.init_state(lq.shape[0], lq.shape[3], lq.shape[4])
    outs, i = [], 0
    for n in chunks:
        hq, *state = model(lq[:, i:i + n], *state)
        outs.append(hq)
        i += n
    return torch.cat(outs, dim=1), state


def split_chunks(n: int, t: int) -> list[int]:
    return [t] * (n // t) + ([n % t] if n % t else [])
