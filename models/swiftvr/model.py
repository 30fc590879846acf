"""SwiftVR on the codec's planes: ReAE (cheap encoder + causal LQ-conditioned decoder) around a one-step
flow DiT, restoring luma; chroma takes the bicubic path.

Streaming contract (see export.py / the JSON sidecar):
    forward(lq, state_ctx, state_dec0, state_dec1) -> (hq, *state_out)
    lq: (B, T, 3H/2, W) uint8, each frame yuv420p (I420: Y rows, then U, then V), H and W even, 1 <= T <= t_max
    hq: (B, T, 3H, 2W) uint8, each frame yuv420p at 2H x 2W
    With `bits = 10` (the HDR graph) lq and hq are int16 holding 0..1023 (yuv420p10le planes).
    Luma runs through the network on Y padded (edge-replicated) to Hp, Wp = multiples of `alignment`;
    state shapes follow Hp, Wp:
    state_ctx:  (B, latent_ch, Hp/4, Wp/4)  restored latent of the previous frame (DiT context)
    state_dec0: (B, dec_ch[0], Hp/4, Wp/4), state_dec1: (B, dec_ch[1], Hp/2, Wp/2)  decoder block memories of
                the previous frame
All-zero state means "start of stream"; training always starts clips from zeros.
No colour matrix is applied anywhere: the model reads and writes the planes the codec carries, so the
output keeps the source's colours (and its tags, set by the encoder).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .attention import Attention, window_geometry
from .config import SwiftVRConfig

STATE_NAMES = ("state_ctx", "state_dec0", "state_dec1")

# Keys cubic with a = -0.6: the kernel of ffmpeg's swscale `bicubic` (B=0, C=0.6), so the untrained
# model reproduces the plain upscale a user already gets from ffmpeg. Taps for output phases 0.25
# (even output pixels) and 0.75 (odd) of a x2 centre-aligned upscale, over source offsets -2..2.
_A = -0.6


def _keys(x: float) -> float:
    x = abs(x)
    if x <= 1:
        return (_A + 2) * x ** 3 - (_A + 3) * x ** 2 + 1
    if x < 2:
        return _A * x ** 3 - 5 * _A * x ** 2 + 8 * _A * x - 4 * _A
    return 0.0


def _phase_taps() -> tuple[list[float], list[float]]:
    # Output pixel 2i samples source position i - 0.25: taps at i-2..i+1 (distances 1.75, 0.75, 0.25, 1.25);
    # output 2i+1 samples i + 0.25: taps at i-1..i+2. Both as 5 taps over offsets -2..2.
    even = [_keys(d) for d in (1.75, 0.75, 0.25, 1.25)]
    odd = [_keys(d) for d in (1.25, 0.25, 0.75, 1.75)]
    return [*even, 0.0], [0.0, *odd]


def bicubic_x2_kernel(channels: int = 1) -> Tensor:
    """Depthwise 5x5 kernels (channels*4 phases, 1, 5, 5): x2 bicubic (a=-0.6, centre-aligned) on a
    2-px edge-replicated input. ONNX Resize(cubic) is several times slower on onnxruntime's CPU provider."""
    even, odd = (torch.tensor(t, dtype=torch.float32) for t in _phase_taps())
    taps = (even, odd)
    k = torch.stack([torch.outer(taps[py], taps[px]) for py in (0, 1) for px in (0, 1)])  # (4, 5, 5)
    return k.repeat(channels, 1, 1)[:, None]  # (channels*4, 1, 5, 5), channel c*4 + phase


def replicate_pad2(x: Tensor) -> Tensor:
    """Edge-replicate 2 px on each side with slices + concat (no Pad op in the graph)."""
    x = torch.cat([x[..., :1], x[..., :1], x, x[..., -1:], x[..., -1:]], dim=-1)
    return torch.cat([x[..., :1, :], x[..., :1, :], x, x[..., -1:, :], x[..., -1:, :]], dim=-2)


def bicubic_x2(x: Tensor, kernel: Tensor) -> Tensor:
    """(N, C, H, W) -> (N, C, 2H, 2W), swscale-style bicubic."""
    c = x.shape[1]
    return F.pixel_shuffle(F.conv2d(replicate_pad2(x), kernel, groups=c), 2)


def pad_to(x: Tensor, a: int) -> Tensor:
    """Edge-replicate (N, C, H, W) on the right/bottom up to multiples of a; sizes follow the tensor
    shape in the exported graph (Expand + Concat, no Pad op)."""
    h, w = x.shape[-2], x.shape[-1]
    ph = (a - h % a) % a
    pw = (a - w % a) % a
    x = torch.cat([x, x[..., -1:].expand(*x.shape[:-1], pw)], dim=-1)
    return torch.cat([x, x[..., -1:, :].expand(*x.shape[:-2], ph, x.shape[-1])], dim=-2)


def unpack_i420(lq: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(B, T, 3H/2, W) -> Y (B, T, H, W), U, V (B, T, H/2, W/2)."""
    b, t, h32, w = lq.shape
    h = h32 * 2 // 3
    flat = lq.reshape(b, t, h32 * w)
    n, c = h * w, (h * w) // 4
    y = flat[:, :, :n].reshape(b, t, h, w)
    u = flat[:, :, n:n + c].reshape(b, t, h // 2, w // 2)
    v = flat[:, :, n + c:].reshape(b, t, h // 2, w // 2)
    return y, u, v


def pack_i420(y: Tensor, u: Tensor, v: Tensor) -> Tensor:
    """Y (B, T, H, W), U, V (B, T, H/2, W/2) -> (B, T, 3H/2, W)."""
    b, t, h, w = y.shape
    flat = torch.cat([y.reshape(b, t, h * w), u.reshape(b, t, (h * w) // 4), v.reshape(b, t, (h * w) // 4)], dim=2)
    return flat.reshape(b, t, h * 3 // 2, w)


def to_u8(x: Tensor) -> Tensor:
    """Float in 0..255 -> uint8, rounded, saturated."""
    return torch.round(x.clamp(0.0, 255.0)).to(torch.uint8)


# Sample depths of the exported graph's planes: 8 bits as uint8 (yuv420p), 10 bits as int16 holding
# 0..1023 (the bytes of yuv420p10le, the HDR path). The network sees both on the same 0..1 scale, so
# a level means the same signal in either graph and the carried state passes between them.
TOP = {8: 255.0, 10: 1023.0}
DTYPE = {8: torch.uint8, 10: torch.int16}


def to_samples(x: Tensor, bits: int) -> Tensor:
    """Float in 0..TOP[bits] -> the planes' dtype, rounded, saturated."""
    return torch.round(x.clamp(0.0, TOP[bits])).to(DTYPE[bits])


def _frames(x: Tensor) -> Tensor:
    # (B, T, C, H, W) -> (B*T, C, H, W)
    return x.flatten(0, 1)


def _past(x: Tensor, state: Tensor) -> Tensor:
    """Per-frame memory: frame t sees frame t-1's input; the first frame sees the carried state.
    x: (B, T, C, H, W), state: (B, C, H, W) -> (B, T, C, H, W)"""
    return torch.cat([state[:, None], x[:, :-1]], dim=1)


class MemBlock(nn.Module):
    """TAEHV-style causal block: conv over [x_t, x_{t-1}] then conv, residual. No activation after the
    sum (EDSR-style): with the output layer starting at zero, a ReLU there let Adam's early updates
    drive every feature below zero, and a dead feature map never learns again."""

    def __init__(self, ch: int):
        super().__init__()
        self.c1 = nn.Conv2d(2 * ch, ch, 3, padding=1)
        self.c2 = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        # x: (B, T, C, H, W); state: (B, C, H, W)
        h = torch.cat([_frames(x), _frames(_past(x, state))], dim=1)  # (B*T, 2C, H, W)
        y = self.c2(F.relu(self.c1(h)))
        out = (_frames(x) + y).reshape(x.shape)  # (B, T, C, H, W)
        return out, x[:, -1]


class ResBlock(nn.Module):
    """x + conv(relu(conv(x))), no activation after the sum (see MemBlock)."""

    def __init__(self, ch: int):
        super().__init__()
        self.c1 = nn.Conv2d(ch, ch, 3, padding=1)
        self.c2 = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        # x: (N, C, H, W)
        return x + self.c2(F.relu(self.c1(x)))


class LQEncoder(nn.Module):
    """Luma (N, 1, H, W) -> latent (N, latent_ch, H/4, W/4) at `factor` = 4 (LQ) or 8 (HQ): unshuffle + convs."""

    def __init__(self, cfg: SwiftVRConfig, factor: int = 4):
        super().__init__()
        self.factor = factor
        self.net = nn.Sequential(
            nn.Conv2d(factor * factor, cfg.enc_ch, 3, padding=1), nn.GELU(),
            nn.Conv2d(cfg.enc_ch, cfg.enc_ch, 3, padding=1), nn.GELU(),
            nn.Conv2d(cfg.enc_ch, cfg.latent_ch, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(F.pixel_unshuffle(x, self.factor))


class Decoder(nn.Module):
    """Latent -> HQ luma, conditioned on LQ luma at every scale, causal block memories.

    Stages at LQ/4 and LQ/2; the LQ/2 features map straight to the 4x4 output pixels they cover
    (depth-to-space by 4). Restoration capacity sits at LQ/2 with wide channels: the same multiply-adds
    per pixel as half the channels at LQ resolution, a wider receptive field, and far less memory
    traffic on a CPU (measured: a pixel shuffle to LQ resolution alone took 10% of the run)."""

    def __init__(self, cfg: SwiftVRConfig):
        super().__init__()
        c0, c1 = cfg.dec_ch
        self.z_in = nn.Conv2d(cfg.latent_ch, c0, 3, padding=1)
        self.lq0 = nn.Conv2d(16, c0, 3, padding=1)
        self.mem0 = MemBlock(c0)
        self.up1 = nn.Conv2d(c0, 4 * c1, 1)
        self.lq1 = nn.Conv2d(4, c1, 3, padding=1)
        self.mem1 = MemBlock(c1)
        self.blocks = nn.Sequential(*(ResBlock(c1) for _ in range(cfg.lq_blocks)))
        self.out = nn.Conv2d(c1, (2 * cfg.scale) ** 2, 3, padding=1)
        self.register_buffer("bicubic", bicubic_x2_kernel(1), persistent=False)
        nn.init.zeros_(self.out.weight)  # starts as bicubic upscaling
        nn.init.zeros_(self.out.bias)

    def forward(self, z: Tensor, lq: Tensor, s0: Tensor, s1: Tensor):
        # z: (B, T, Cz, H/4, W/4); lq: (B, T, 1, H, W) luma in [0, 1]
        b, t = lq.shape[:2]
        lqf = _frames(lq)  # (B*T, 1, H, W)
        h = F.relu(self.z_in(_frames(z)) + self.lq0(F.pixel_unshuffle(lqf, 4)))  # (B*T, c0, H/4, W/4)
        h, s0o = self.mem0(h.reshape(b, t, *h.shape[1:]), s0)
        h = F.pixel_shuffle(self.up1(_frames(h)), 2)  # (B*T, c1, H/2, W/2)
        h = F.relu(h + self.lq1(F.pixel_unshuffle(lqf, 2)))
        h, s1o = self.mem1(h.reshape(b, t, *h.shape[1:]), s1)
        h = self.blocks(_frames(h))
        res = F.pixel_shuffle(self.out(h), 4)  # (B*T, 1, 2H, 2W)
        hq = bicubic_x2(lqf, self.bicubic) + res
        return hq.reshape(b, t, *hq.shape[1:]), s0o, s1o


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
    """Training-only: HQ luma (2H, 2W) -> target latent z_HQ at (H/4, W/4)."""

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
        self.register_buffer("chroma_kernel", bicubic_x2_kernel(1), persistent=False)
        # Sample depth of the planes forward() reads and writes (8, or 10 for the HDR graph).
        self.bits = 8

    def state_shapes(self, b: int, h: int, w: int) -> list[tuple[int, ...]]:
        """State shapes for LQ luma of h x w (rounded up to the alignment, as the graph pads)."""
        a = self.cfg.alignment
        h, w = -(-h // a) * a, -(-w // a) * a
        c0, c1 = self.cfg.dec_ch
        return [(b, self.cfg.latent_ch, h // 4, w // 4), (b, c0, h // 4, w // 4), (b, c1, h // 2, w // 2)]

    def init_state(self, b: int, h: int, w: int, device=None) -> list[Tensor]:
        """Start-of-stream state: all zeros."""
        return [torch.zeros(s, device=device) for s in self.state_shapes(b, h, w)]

    def restore_latent(self, z_lq: Tensor, ctx: Tensor) -> Tensor:
        """One-step flow from t=1: z_HQ = z_LQ - v(z_LQ, 1)."""
        t1 = torch.ones(z_lq.shape[0], device=z_lq.device, dtype=z_lq.dtype)
        return z_lq - self.dit(z_lq, ctx, t1)

    def restore_y(self, y: Tensor, state_ctx: Tensor, state_dec0: Tensor,
                  state_dec1: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """The luma network: y (B, T, 1, H, W) in [0, 1], H and W multiples of the alignment ->
        (B, T, 1, 2H, 2W) (unclamped) and the new state. Training runs this directly."""
        b, t = y.shape[:2]
        z = self.enc(_frames(y))  # (B*T, Cz, H/4, W/4)
        z = z.reshape(b, t, *z.shape[1:])
        z_hq = self.restore_latent(z, state_ctx)  # (B, T, Cz, H/4, W/4)
        hq, s0, s1 = self.dec(z_hq, y, state_dec0, state_dec1)
        return hq, z_hq[:, -1], s0, s1

    def check_input(self, lq: Tensor) -> None:
        want = DTYPE[self.bits]
        assert lq.dim() == 4 and lq.dtype == want, \
            f"lq {lq.dtype} {tuple(lq.shape)} must be {want} (B, T, 3H/2, W) {self.bits}-bit 4:2:0 frames"
        t, h32, w = lq.shape[1], lq.shape[2], lq.shape[3]
        assert 1 <= t <= self.cfg.t_max, f"T={t} must be in 1..t_max={self.cfg.t_max}"
        assert h32 % 3 == 0 and (2 * h32 // 3) % 2 == 0 and w % 2 == 0, \
            f"lq rows={h32}, W={w}: rows must be 3H/2 for an even H, and W even (yuv420p)"

    def forward(self, lq: Tensor, state_ctx: Tensor, state_dec0: Tensor,
                state_dec1: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """The exported streaming interface on yuv420p planes (see the module docstring)."""
        if not torch.jit.is_tracing():
            self.check_input(lq)
        y, u, v = unpack_i420(lq)  # uint8 (B, T, H, W), (B, T, H/2, W/2) x 2
        b, t, h, w = y.shape
        dt = self.chroma_kernel.dtype  # follows the model's dtype (float32 exported; half on a GPU)
        top = TOP[self.bits]
        yp = pad_to(_frames(y[:, :, None]).to(dt) * (1.0 / top), self.cfg.alignment)  # (B*T, 1, Hp, Wp)
        yq, *state = self.restore_y(yp.reshape(b, t, *yp.shape[1:]), state_ctx, state_dec0, state_dec1)
        yq = to_samples(yq[:, :, 0, :2 * h, :2 * w] * top, self.bits)  # (B, T, 2H, 2W)
        uv = torch.stack([u, v], dim=2).flatten(0, 2)[:, None].to(dt)  # (B*T*2, 1, H/2, W/2)
        uvq = to_samples(bicubic_x2(uv, self.chroma_kernel), self.bits).reshape(b, t, 2, h, w)
        return (pack_i420(yq, uvq[:, :, 0], uvq[:, :, 1]), *state)


def stream(model: SwiftVR, y: Tensor, chunks: list[int], state: list[Tensor] | None = None):
    """Run a luma clip (B, N, 1, H, W) through restore_y chunk by chunk, carrying state.
    Returns (hq (B, N, 1, 2H, 2W), final state)."""
    assert sum(chunks) == y.shape[1], f"chunks {chunks} must sum to the clip length {y.shape[1]}"
    if state is None:
        state = model.init_state(y.shape[0], y.shape[3], y.shape[4], device=y.device)
    outs, i = [], 0
    for n in chunks:
        hq, *state = model.restore_y(y[:, i:i + n], *state)
        outs.append(hq)
        i += n
    return torch.cat(outs, dim=1), state


def split_chunks(n: int, t: int) -> list[int]:
    return [t] * (n // t) + ([n % t] if n % t else [])
