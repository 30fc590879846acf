import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from models.swiftvr import SwiftVR, get_config  # noqa: E402


@pytest.fixture(autouse=True)
def _threads():
    torch.set_num_threads(1)
    torch.manual_seed(0)


def randomised_tiny(seed: int = 0, **overrides) -> SwiftVR:
    """Tiny model with every weight random (zero-initialised gates/heads too), so state paths matter."""
    torch.manual_seed(seed)
    m = SwiftVR(get_config("tiny", **overrides))
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn_like(p) * 0.2)
    return m.eval()
