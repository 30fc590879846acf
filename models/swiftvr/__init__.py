"""SwiftVR: ReAE + MFSWA DiT one-step flow video restoration, causal chunk-wise streaming."""
from .config import PRESETS, SwiftVRConfig, get_config
from .model import SwiftVR

__all__ = ["PRESETS", "SwiftVRConfig", "SwiftVR", "get_config"]
