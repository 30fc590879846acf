"""Writes stateful-toy.onnx + .json: a weightless model meeting the swiftvr-model/1 contract whose
output visibly depends on its carried state, so tests can tell carried state from zeros.

  hq        = nearest_x2(0.75 * lq + 0.25 * state)          state broadcast over T
  state_out = mean over T of lq                              [1, 3, H, W]

Regenerate: .venv/bin/python test/inference/toy-model/make_toy_model.py
"""
import json
import os

import onnx
from onnx import TensorProto, helper

here = os.path.dirname(os.path.abspath(__file__))
f = TensorProto.FLOAT
lq = helper.make_tensor_value_info("lq", f, [1, "T", 3, "H", "W"])
st = helper.make_tensor_value_info("state_prev", f, [1, 3, "H", "W"])
hq = helper.make_tensor_value_info("hq", f, [1, "T", 3, "H2", "W2"])
st_out = helper.make_tensor_value_info("state_prev_out", f, [1, 3, "H", "W"])
consts = [
    helper.make_tensor("a", f, [], [0.75]),
    helper.make_tensor("b", f, [], [0.25]),
    helper.make_tensor("ax1", TensorProto.INT64, [1], [1]),
    helper.make_tensor("scales", f, [5], [1.0, 1.0, 1.0, 2.0, 2.0]),
]
nodes = [
    helper.make_node("Unsqueeze", ["state_prev", "ax1"], ["st5"]),  # (1, 1, 3, H, W)
    helper.make_node("Mul", ["lq", "a"], ["lq_a"]),
    helper.make_node("Mul", ["st5", "b"], ["st_b"]),
    helper.make_node("Add", ["lq_a", "st_b"], ["mix"]),  # (1, T, 3, H, W)
    helper.make_node("Resize", ["mix", "", "scales"], ["hq"], mode="nearest"),  # (1, T, 3, 2H, 2W)
    helper.make_node("ReduceMean", ["lq", "ax1"], ["state_prev_out"], keepdims=0),  # (1, 3, H, W)
]
graph = helper.make_graph(nodes, "stateful_toy", [lq, st], [hq, st_out], initializer=consts)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="swiftvr-test")
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, os.path.join(here, "stateful-toy.onnx"))
sidecar = {
    "format": "swiftvr-model/1",
    "name": "stateful-toy",
    "fixture": True,
    "scale": 2,
    "alignment": 4,
    "t_max": 4,
    "input": {"name": "lq", "layout": "NTCHW", "dtype": "float32", "range": [0, 1], "color": "rgb"},
    "output": {"name": "hq", "layout": "NTCHW", "dtype": "float32", "range": [0, 1], "color": "rgb"},
    "states": [{"name": "state_prev", "output": "state_prev_out", "shape": [1, 3, "H", "W"], "dtype": "float32", "init": "zeros"}],
    "provenance": {"trained": False, "note": "weightless test model: output depends on the carried state"},
    "quality": {},
}
with open(os.path.join(here, "stateful-toy.json"), "w") as fh:
    json.dump(sidecar, fh, indent=2)
    fh.write("\n")
