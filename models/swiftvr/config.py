"""Model configuration: one dataclass, named presets (DiT `DiT_models` style)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Literal

AttentionKind = Literal["full", "swin", "mfswa"]


@dataclass(frozen=True)
class SwiftVRConfig:
    name: str
    scale: int = 2
    # The luma network runs on Y padded (edge-replicated, inside the graph) up to a multiple of this:
    # latent is LQ/4, DiT patch 2 -> tokens at LQ/8. State shapes follow the padded size.
    alignment: int = 8
    t_max: int = 4
    latent_ch: int = 16
    enc_ch: int = 48
    # DiT
    dim: int = 64
    depth: int = 4
    heads: int = 4
    mlp_ratio: float = 2.0
    window: int = 4  # spatial window side in tokens (patch 2: 4 tokens = 32 LQ px); spans all frames + context
    attention: AttentionKind = "mfswa"
    # Decoder channels at LQ/4 and LQ/2, and residual blocks at LQ/2 (where restoration of detail
    # happens: each LQ/2 position maps to the 4x4 output pixels it covers).
    dec_ch: tuple[int, int] = field(default=(48, 48))
    lq_blocks: int = 1

    def __post_init__(self) -> None:
        assert self.scale == 2, f"scale={self.scale}: only x2 is implemented (decoder pixel-shuffles by 2)"
        assert self.alignment == 8, f"alignment={self.alignment} must be 8 (latent LQ/4, patch 2)"
        assert self.dim % self.heads == 0, f"dim={self.dim} must be a multiple of heads={self.heads}"
        assert self.window >= 2 and self.window % 2 == 0, f"window={self.window} must be an even number >= 2"
        assert 1 <= self.t_max <= 16, f"t_max={self.t_max} must be in 1..16"
        assert self.attention in ("full", "swin", "mfswa"), f"attention={self.attention!r} must be full|swin|mfswa"
        assert self.lq_blocks >= 0, f"lq_blocks={self.lq_blocks} must be >= 0"

    def with_attention(self, attention: AttentionKind) -> "SwiftVRConfig":
        return replace(self, attention=attention)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["dec_ch"] = list(self.dec_ch)
        return d

    @staticmethod
    def from_dict(d: dict) -> "SwiftVRConfig":
        return SwiftVRConfig(**{**d, "dec_ch": tuple(d["dec_ch"])})


PRESETS: dict[str, SwiftVRConfig] = {
    # Shipping preset: sized so a 2-core CPU restores 640x360 output at least as fast as the first
    # (RGB) model did, with its capacity moved to the LQ-resolution decoder.
    "x2": SwiftVRConfig(name="x2"),
    # Candidate quality preset for GPU workers: wider encoder, DiT and LQ/2 decoder, two residual blocks
    # (about 4x the decoder's multiply-adds per pixel). Chosen or not by validation at equal training time.
    "x2-large": SwiftVRConfig(name="x2-large", enc_ch=64, dim=96, heads=4, dec_ch=(64, 96), lq_blocks=2),
    # Tests and the runtime's fixture: a few hundred KB, fast at any size.
    "tiny": SwiftVRConfig(name="tiny", latent_ch=8, enc_ch=16, dim=32, depth=2, heads=2, window=4,
                          dec_ch=(16, 16), lq_blocks=0),
}


def get_config(name: str, **overrides) -> SwiftVRConfig:
    assert name in PRESETS, f"preset {name!r} is not one of {sorted(PRESETS)}"
    return replace(PRESETS[name], **overrides)
