"""Throughput benchmark.

    .venv/bin/python -m models.swiftvr.bench                       # CPU: onnxruntime, 640x360 output, model only
    .venv/bin/python -m models.swiftvr.bench --dit --checkpoint models/runs/x2/final.pt   # CPU DiT ablation
    .venv/bin/python -m models.swiftvr.bench --gpu --checkpoint models/runs/x2/final.pt
        # GPU: frames/s + peak memory at 1920x1080, 2560x1440, 3840x2160 output, and DiT time for
        # full attention vs Swin-style masked windows vs MFSWA on the same weights and shape.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

GPU_OUTPUTS = ((1920, 1080), (2560, 1440), (3840, 2160))


def state_zeros(meta: dict, h: int, w: int) -> dict:
    """Zero state for LQ luma h x w (the sidecar's H, W are the size rounded up to the alignment)."""
    a = meta["alignment"]
    h, w = -(-h // a) * a, -(-w // a) * a

    def dim(d):
        if isinstance(d, int):
            return d
        base = h if d[0] == "H" else w
        return base if len(d) == 1 else base // int(d[2:]) if d[1] == "/" else base * int(d[2:])
    return {st["name"]: np.zeros([dim(d) for d in st["shape"]], np.float32) for st in meta["states"]}


def cpu_bench(model: str, out_w: int, out_h: int, frames: int, chunk: int, threads: int) -> dict:
    """The model alone through onnxruntime (no decode/encode): yuv420p chunks in, state carried."""
    meta = json.loads(Path(model).with_suffix(".json").read_text())
    s = meta["scale"]
    h, w = out_h // s, out_w // s
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    lq = rng.integers(0, 256, (1, chunk, h * 3 // 2, w), dtype=np.uint8)
    state = state_zeros(meta, h, w)
    res = sess.run(None, {"lq": lq, **state})  # warm-up
    n_chunks = max(1, frames // chunk)
    t0 = time.perf_counter()
    for _ in range(n_chunks):
        res = sess.run(None, {"lq": lq, **state})
        state = {st["name"]: v for st, v in zip(meta["states"], res[1:])}
    dt = time.perf_counter() - t0
    return {"device": "cpu", "threads": threads, "cpu_count": os.cpu_count(), "model": model,
            "lq": [w, h], "output": [w * s, h * s], "chunk": chunk, "frames": n_chunks * chunk,
            "seconds": round(dt, 3), "fps": round(n_chunks * chunk / dt, 2), "onnxruntime": ort.__version__,
            "load_avg_1m": round(os.getloadavg()[0], 2)}


def gpu_bench(checkpoint: str | None, chunk: int, iters: int) -> dict:
    import torch

    if not torch.cuda.is_available():
        raise SystemExit("GPU bench needs a CUDA device: torch.cuda.is_available() is False here "
                         "(CPU figures: run without --gpu)")
    from .export import load_model
    from .model import SwiftVR

    model, _ = load_model("x2", checkpoint, 0)
    model = model.cuda().eval().half()
    dev = torch.device("cuda")
    out = {"device": torch.cuda.get_device_name(0), "dtype": "float16", "chunk": chunk, "restore": [], "dit": []}

    def timed(fn) -> float:
        fn()
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        torch.cuda.synchronize()
        return (time.perf_counter() - t0) / iters

    with torch.no_grad():
        for ow, oh in GPU_OUTPUTS:
            h, w = oh // 2, ow // 2
            lq = torch.randint(0, 256, (1, chunk, h * 3 // 2, w), device=dev, dtype=torch.uint8)
            st = [s.to(dev, torch.float16) for s in model.init_state(1, h, w)]
            torch.cuda.reset_peak_memory_stats()
            sec = timed(lambda: model(lq, *st))
            out["restore"].append({"output": [ow, oh], "fps": round(chunk / sec, 1),
                                   "peak_mib": round(torch.cuda.max_memory_allocated() / 2 ** 20)})
        out["dit"] = dit_timing(model, 1920, 1080, chunk, iters, dev, torch.float16, timed)
    return out


def dit_timing(model, out_w: int, out_h: int, chunk: int, iters: int, dev, dtype, timed) -> list[dict]:
    """DiT alone on the latent of one (out_w x out_h) chunk: full vs Swin-style masked vs MFSWA, same weights."""
    import torch

    h = -(-(out_h // 2) // 8) * 8 // 4  # latent of the padded LQ
    w = -(-(out_w // 2) // 8) * 8 // 4
    z = torch.randn(1, chunk, model.cfg.latent_ch, h, w, device=dev, dtype=dtype)
    ctx = torch.zeros_like(z[:, 0])
    t1 = torch.ones(1, device=dev, dtype=dtype)
    rows = []
    with torch.no_grad():
        for kind in ("full", "swin", "mfswa"):
            for blk in model.dit.blocks:
                blk.attn.kind = kind
            model.dit.cfg = model.cfg.with_attention(kind)
            try:
                sec = timed(lambda: model.dit(z, ctx, t1))
                rows.append({"attention": kind, "latent": [w, h], "tokens": (chunk + 1) * (h // 2) * (w // 2),
                             "ms": round(sec * 1000, 2)})
            except torch.OutOfMemoryError:
                rows.append({"attention": kind, "latent": [w, h], "ms": None, "error": "out of memory"})
    model.dit.cfg = model.cfg.with_attention("mfswa")
    for blk in model.dit.blocks:
        blk.attn.kind = "mfswa"
    return rows


def cpu_dit_bench(checkpoint: str | None, out_w: int, out_h: int, chunk: int, iters: int) -> dict:
    """Eager PyTorch fp32 on the CPU: the DiT ablation at the CPU output size."""
    import torch

    from .export import load_model

    model, _ = load_model("x2", checkpoint, 0)

    def timed(fn) -> float:
        fn()
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        return (time.perf_counter() - t0) / iters

    return {"device": "cpu (eager PyTorch, fp32)", "threads": torch.get_num_threads(), "chunk": chunk,
            "output": [out_w, out_h], "dit": dit_timing(model, out_w, out_h, chunk, iters, "cpu", torch.float32, timed)}


def main(args: argparse.Namespace) -> dict:
    if args.gpu:
        res = gpu_bench(args.checkpoint, args.chunk, args.iters)
    elif args.dit:
        res = cpu_dit_bench(args.checkpoint, args.width, args.height, args.chunk, args.iters)
    else:
        res = cpu_bench(args.model, args.width, args.height, args.frames, args.chunk, args.threads)
    res["command"] = "python -m models.swiftvr.bench " + " ".join(args.argv)
    print(json.dumps(res, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=2) + "\n")
    return res


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="models/swiftvr-x2.onnx")
    p.add_argument("--width", type=int, default=640, help="output width")
    p.add_argument("--height", type=int, default=360, help="output height")
    p.add_argument("--frames", type=int, default=48)
    p.add_argument("--chunk", type=int, default=4)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--gpu", action="store_true", help="GPU part (needs CUDA)")
    p.add_argument("--dit", action="store_true", help="CPU: DiT full vs masked windows vs MFSWA (eager PyTorch)")
    p.add_argument("--checkpoint", default=None, help="training checkpoint for the GPU / --dit parts")
    p.add_argument("--iters", type=int, default=10)
    p.add_argument("--out", default=None, help="also write the figures to this JSON file")
    a = p.parse_args(argv)
    a.argv = argv
    return a


if __name__ == "__main__":
    main(parse_args())
