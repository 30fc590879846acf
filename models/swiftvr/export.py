"""Export SwiftVR to ONNX + JSON sidecar (+ a small reference I/O for the TS parity test).

    .venv/bin/python -m models.swiftvr.export --preset tiny --seed 0 --fixture \
        --out test/fixtures/model/swiftvr-fixture.onnx
    .venv/bin/python -m models.swiftvr.export --preset x2 --checkpoint models/runs/x2/final.pt \
        --out models/swiftvr-x2.onnx
"""
from __future__ import annotations

import argparse
import json
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .config import SwiftVRConfig, get_config
from .model import DTYPE, STATE_NAMES, TOP, SwiftVR

FORMAT = "swiftvr-model/1"
OPSET = 17


class Exported(nn.Module):
    """The streaming interface only (the training-only HQ encoder is left out)."""

    def __init__(self, model: SwiftVR):
        super().__init__()
        self.model = model

    def forward(self, lq, state_ctx, state_dec0, state_dec1):
        return self.model(lq, state_ctx, state_dec0, state_dec1)


def state_specs(cfg: SwiftVRConfig) -> list[dict]:
    """State shapes in the sidecar's symbols: H and W are the LQ luma size rounded up to the alignment."""
    c0, c1 = cfg.dec_ch
    dims = [(cfg.latent_ch, 4), (c0, 4), (c1, 2)]
    return [{"name": n, "output": f"{n}_out", "shape": [1, c, f"H/{k}" if k > 1 else "H", f"W/{k}" if k > 1 else "W"],
             "dtype": "float32", "init": "zeros"} for n, (c, k) in zip(STATE_NAMES, dims)]


def export_onnx(model: SwiftVR, path: str | Path, h: int = 64, w: int = 96, t: int = 2) -> None:
    """Trace at (t, h, w) with dynamic T, H, W; window indices and padding follow the input shape in-graph.
    The planes' dtype follows model.bits (uint8, or int16 for the 10-bit graph)."""
    model = model.eval()
    lq = torch.randint(0, int(TOP[model.bits]) + 1, (1, t, h * 3 // 2, w), dtype=DTYPE[model.bits])
    state = model.init_state(1, h, w)
    dyn = {"lq": {1: "T", 2: "H3_2", 3: "W"}, "hq": {1: "T", 2: "H3", 3: "W2"}}
    for i, n in enumerate(STATE_NAMES):
        dyn[n] = {2: f"sh{i}", 3: f"sw{i}"}
        dyn[f"{n}_out"] = {2: f"sh{i}", 3: f"sw{i}"}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Exported(model), (lq, *state), str(path), dynamo=False, opset_version=OPSET,
            input_names=["lq", *STATE_NAMES], output_names=["hq", *[f"{n}_out" for n in STATE_NAMES]],
            dynamic_axes=dyn, do_constant_folding=True,
        )


PLANES = {"name": "lq", "layout": "NT(I420)", "dtype": "uint8", "pix_fmt": "yuv420p",
          "note": "each frame is the codec's yuv420p planes (Y rows, then U, then V) as one (3H/2, W) block"}
PLANES_P10 = {"name": "lq", "layout": "NT(I420)", "dtype": "int16", "pix_fmt": "yuv420p10le",
              "note": "each frame is the codec's yuv420p10le planes (Y rows, then U, then V; samples 0..1023) "
                      "as one (3H/2, W) block"}


def sidecar(cfg: SwiftVRConfig, fixture: bool, provenance: dict, quality: dict, bits: int = 8,
            p10: str | None = None) -> dict:
    planes = PLANES if bits == 8 else PLANES_P10
    return {
        "format": FORMAT,
        "name": f"swiftvr-{cfg.name}" + ("-fixture" if fixture else "") + ("-p10" if bits == 10 else ""),
        "fixture": fixture,
        "scale": cfg.scale,
        "alignment": cfg.alignment,
        "t_max": cfg.t_max,
        "input": planes,
        "output": {**planes, "name": "hq"},
        # The same weights as a graph on 10-bit planes (HDR sources), beside this file.
        **({"p10": p10} if p10 is not None else {}),
        "colour": "planes pass through: no matrix is applied; luma restored by the network, chroma by bicubic x2",
        "states": state_specs(cfg),
        "config": cfg.to_dict(),
        "provenance": provenance,
        "quality": quality,
    }


def reference_input(n: int, h: int, w: int) -> np.ndarray:
    """Deterministic clip the TS test rebuilds: byte at flat index i of (1, n, 3h/2, w) = (i * 37 + (i >> 7)) % 251."""
    i = np.arange(n * (h * 3 // 2) * w, dtype=np.int64)
    return ((i * 37 + (i >> 7)) % 251).astype(np.uint8).reshape(1, n, h * 3 // 2, w)


def write_reference(model: SwiftVR, onnx_path: Path, out_stem: Path, h: int = 12, w: int = 20,
                    chunks: tuple[int, ...] = (2, 1)) -> None:
    """Reference outputs of the PyTorch model on a tiny clip (sizes not a multiple of the alignment, so the
    in-graph padding is covered), streamed in `chunks` with state carried."""
    lq = torch.from_numpy(reference_input(sum(chunks), h, w))
    state = model.init_state(1, h, w)
    blobs, entries, i, off = [], [], 0, 0
    with torch.no_grad():
        for n in chunks:
            hq, *state = model(lq[:, i:i + n], *state)
            arr = hq.numpy().ravel()
            entries.append({"t": n, "hq_shape": list(hq.shape), "offset_bytes": off})
            blobs.append(arr)
            off += arr.size
            i += n
    out_stem.with_suffix(".bin").write_bytes(np.concatenate(blobs).astype(np.uint8).tobytes())
    meta = {
        "model": os.path.basename(onnx_path),
        "input": {"shape": [1, sum(chunks), h * 3 // 2, w], "formula": "lq[i] = (i * 37 + (i >> 7)) % 251, i = flat index"},
        "chunks": entries,
        "expected": out_stem.with_suffix(".bin").name,
        "dtype": "uint8",
        # Float differences between PyTorch and onnxruntime can flip a rounding: at most 1 level.
        "tolerance": {"max_abs": 1},
    }
    out_stem.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")


def load_model(preset: str, checkpoint: str | None, seed: int) -> tuple[SwiftVR, dict]:
    torch.manual_seed(seed)
    cfg = get_config(preset)
    model = SwiftVR(cfg)
    meta: dict = {}
    if checkpoint:
        ck = torch.load(checkpoint, map_location="cpu", weights_only=False)
        cfg = SwiftVRConfig.from_dict(ck["config"])
        model = SwiftVR(cfg)
        model.load_state_dict(ck["ema"] if "ema" in ck else ck["model"])
        meta = ck.get("provenance", {})
    return model.eval(), meta


def main(args: argparse.Namespace) -> None:
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    model, prov = load_model(args.preset, args.checkpoint, args.seed)
    if args.attention:
        model.cfg = model.cfg.with_attention(args.attention)
    export_onnx(model, out)
    fixture = args.fixture
    provenance = prov or {"trained": False, "seed": args.seed, "preset": args.preset,
                          "note": "untrained weights from a fixed seed: contract fixture, not a restorer"}
    provenance["export"] = {"torch": torch.__version__, "opset": OPSET, "command": " ".join(args.argv)}
    quality = {}
    if args.quality:
        q = json.loads(Path(args.quality).read_text())
        quality = {k: v for k, v in q.items() if k not in ("clips", "seconds")}
    if args.bench:
        b = json.loads(Path(args.bench).read_text())
        quality["cpu_bench"] = {k: b[k] for k in ("fps", "output", "chunk", "threads", "cpu_count", "load_avg_1m", "command")
                               if k in b}
    p10 = out.with_name(out.stem + "-p10.onnx")
    meta = sidecar(model.cfg, fixture, provenance, quality, p10=p10.name)
    out.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
    if args.reference:
        write_reference(model, out, Path(args.reference))
    print(f"wrote {out} ({out.stat().st_size} bytes) and {out.with_suffix('.json')}")
    # The 10-bit graph: same weights, int16 planes of 0..1023, for HDR sources.
    model.bits = 10
    export_onnx(model, p10)
    p10.with_suffix(".json").write_text(json.dumps(sidecar(model.cfg, fixture, provenance, {}, bits=10), indent=2) + "\n")
    print(f"wrote {p10} ({p10.stat().st_size} bytes) and {p10.with_suffix('.json')}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    import sys
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="tiny")
    p.add_argument("--checkpoint", default=None, help="training checkpoint (.pt); omitted = untrained, seeded")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fixture", action="store_true", help='mark the sidecar "fixture": true')
    p.add_argument("--attention", choices=["full", "mfswa"], default=None)
    p.add_argument("--quality", default=None, help="JSON file with measured quality (from `benchmark run --out`)")
    p.add_argument("--bench", default=None, help="JSON file with CPU throughput (from bench.py --out)")
    p.add_argument("--reference", default=None, help="path stem for reference I/O (.json + .bin)")
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    a.argv = ["python -m models.swiftvr.export", *argv]
    return a


if __name__ == "__main__":
    main(parse_args())
