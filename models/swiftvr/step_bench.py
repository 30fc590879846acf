"""Training-step timing: the joint stage's step (forward through the streamed chunks, backward, AdamW)
in fp32 and under bf16 autocast, for a preset, batch and crop.

    .venv/bin/python -m models.swiftvr.step_bench --preset x2 --batch 8 --crop 48 --steps 20 --threads 2
    .venv/bin/python -m models.swiftvr.step_bench --preset x2 --crop 96 --batch 4 --amp fp32,bf16

Prints one JSON line per setting: median and mean seconds per step after warm-up, and the loss after the
timed steps (same seed and data for every setting). Random clips: the step's cost does not depend on them.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch

from .train import STEP, fresh_model, random_chunks, trainable


def time_steps(preset: str, batch: int, frames: int, crop: int, amp: str, steps: int, warmup: int,
               seed: int = 0) -> dict:
    model = fresh_model(preset, seed)
    params = trainable(model, "joint")
    opt = torch.optim.AdamW(params, lr=1e-3, betas=(0.9, 0.99))
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    hq = torch.rand(batch, frames, 1, 2 * crop, 2 * crop, generator=gen)
    lq = torch.nn.functional.avg_pool2d(hq.flatten(0, 1), 2).reshape(batch, frames, 1, crop, crop)
    times, losses = [], []
    model.train()
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        chunks = random_chunks(frames, model.cfg.t_max, rng)
        with torch.autocast(device_type="cpu", dtype=torch.bfloat16, enabled=amp == "bf16"):
            loss = STEP["joint"](model, lq, hq, chunks)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
            losses.append(loss.item())
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"preset": preset, "params": n_params, "batch": batch, "frames": frames, "crop_lq": crop, "amp": amp,
            "steps": steps, "median_s": round(float(np.median(times)), 4), "mean_s": round(float(np.mean(times)), 4),
            "last_loss": round(float(np.mean(losses[-5:])), 5), "threads": torch.get_num_threads(),
            "torch": torch.__version__, "load_avg_1m": round(os.getloadavg()[0], 2)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="x2")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--frames", type=int, default=6)
    p.add_argument("--crop", type=int, default=48)
    p.add_argument("--amp", default="fp32,bf16", help="comma list of fp32 | bf16")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=0)
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    for amp in a.amp.split(","):
        assert amp in ("fp32", "bf16"), f"--amp {amp!r} must be fp32 or bf16"
        print(json.dumps(time_steps(a.preset, a.batch, a.frames, a.crop, amp, a.steps, a.warmup)), flush=True)


if __name__ == "__main__":
    main()
