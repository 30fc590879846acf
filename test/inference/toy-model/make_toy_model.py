"""Writes stateful-toy.onnx + .json: a weightless model meeting the swiftvr-model/1 contract (yuv420p
planes in and out) whose output visibly depends on its carried state, so tests can tell carried state
from zeros.

  hq luma   = nearest_x2(0.75 * Y + 0.25 * state)     state broadcast over T; chroma nearest_x2
  state_out = mean over T of Y                          [1, 1, H, W]

Regenerate: .venv/bin/python test/inference/toy-model/make_toy_model.py
"""
import json
import os
import sys
import warnings

import torch
import torch.nn.functional as F

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "../../.."))
from models.swiftvr.model import pack_i420, to_u8, unpack_i420  # noqa: E402


class Toy(torch.nn.Module):
    def forward(self, lq: torch.Tensor, state_prev: torch.Tensor):
        y, u, v = unpack_i420(lq)  # (1, T, H, W), (1, T, H/2, W/2)
        yf = y.float()
        mix = 0.75 * yf + 0.25 * state_prev  # state (1, 1, H, W) broadcast over T
        up = lambda x: F.interpolate(x, scale_factor=2.0, mode="nearest")  # noqa: E731
        return pack_i420(to_u8(up(mix)), to_u8(up(u.float())), to_u8(up(v.float()))), yf.mean(dim=1, keepdim=True)


with warnings.catch_warnings(), torch.no_grad():
    warnings.simplefilter("ignore")
    torch.onnx.export(Toy(), (torch.zeros(1, 2, 12, 8, dtype=torch.uint8), torch.zeros(1, 1, 8, 8)),
                      os.path.join(here, "stateful-toy.onnx"), dynamo=False, opset_version=17,
                      input_names=["lq", "state_prev"], output_names=["hq", "state_prev_out"],
                      dynamic_axes={"lq": {1: "T", 2: "R", 3: "W"}, "hq": {1: "T", 2: "R2", 3: "W2"},
                                    "state_prev": {2: "H", 3: "W"}, "state_prev_out": {2: "H", 3: "W"}})
planes = {"layout": "NT(I420)", "dtype": "uint8", "pix_fmt": "yuv420p"}
sidecar = {
    "format": "swiftvr-model/1",
    "name": "stateful-toy",
    "fixture": True,
    "scale": 2,
    "alignment": 2,
    "t_max": 4,
    "input": {"name": "lq", **planes},
    "output": {"name": "hq", **planes},
    "states": [{"name": "state_prev", "output": "state_prev_out", "shape": [1, 1, "H", "W"], "dtype": "float32",
                "init": "zeros"}],
    "provenance": {"trained": False, "note": "weightless test model: output depends on the carried state"},
    "quality": {},
}
with open(os.path.join(here, "stateful-toy.json"), "w") as fh:
    json.dump(sidecar, fh, indent=2)
    fh.write("\n")
