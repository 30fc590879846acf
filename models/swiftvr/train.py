"""Three-stage training (+ optional autoencoder pre-training), CPU or GPU.

    .venv/bin/python -m models.swiftvr.train --preset x2 --data models/data/train.npz --out models/runs/x2 \
        --stages ae,teacher,distill,joint --minutes 8,8,5,25

Stages
  ae       ReAE pre-training: D(E_hq(HQ), LQ) ~ HQ and D(E(LQ), LQ) ~ HQ, E(LQ) pulled towards E_hq(HQ).
  teacher  full-attention DiT, latent flow matching z_t = (1-t) z_HQ + t z_LQ, target v = z_LQ - z_HQ.
  distill  MFSWA student initialised from the teacher, matches the teacher's velocity (plus the flow target).
  joint    pixel-space fine-tuning of E + student DiT + D over consecutive chunks with the state connected,
           L1 + temporal (frame-difference) loss.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .config import SwiftVRConfig, get_config
from .model import SwiftVR, split_chunks

STAGES = ("ae", "teacher", "distill", "joint")


class ClipBatches:
    """Random batches of (LQ, HQ) clips from the prepared npz: float (B, N, 3, h, w) in [0, 1]."""

    def __init__(self, path: str | Path, frames: int, seed: int, crop: int = 0):
        d = np.load(path)
        self.crop = crop
        assert crop % 8 == 0, f"crop={crop} must be a multiple of the alignment 8"
        self.hq, self.lq = d["hq"], d["lq"]
        assert self.hq.shape[0] == self.lq.shape[0], f"hq/lq clip counts differ: {self.hq.shape} vs {self.lq.shape}"
        assert self.lq.shape[1] >= frames, f"clips have {self.lq.shape[1]} frames, need {frames}"
        self.frames = frames
        self.rng = np.random.default_rng(seed)

    def __call__(self, b: int) -> tuple[torch.Tensor, torch.Tensor]:
        idx = self.rng.integers(0, self.hq.shape[0], size=b)
        s = int(self.rng.integers(0, self.lq.shape[1] - self.frames + 1))
        lq = self.lq[idx, s:s + self.frames]
        hq = self.hq[idx, s:s + self.frames]
        if self.crop and self.crop < lq.shape[2]:  # random LQ crop, matching HQ crop
            y = int(self.rng.integers(0, lq.shape[2] - self.crop + 1))
            x = int(self.rng.integers(0, lq.shape[3] - self.crop + 1))
            lq = lq[:, :, y:y + self.crop, x:x + self.crop]
            hq = hq[:, :, 2 * y:2 * (y + self.crop), 2 * x:2 * (x + self.crop)]
        if self.rng.random() < 0.5:  # horizontal flip
            lq, hq = lq[:, :, :, ::-1], hq[:, :, :, ::-1]
        if self.rng.random() < 0.3:  # time reversal
            lq, hq = lq[:, ::-1], hq[:, ::-1]

        def t(x):  # (B, N, h, w, 3) uint8 -> (B, N, 3, h, w) float
            return torch.from_numpy(np.ascontiguousarray(x)).permute(0, 1, 4, 2, 3).float() / 255.0

        return t(lq), t(hq)


def charbonnier(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    return torch.sqrt((a - b) ** 2 + eps * eps).mean()


def encode(model: SwiftVR, lq: torch.Tensor, hq: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Latents (B, N, Cz, h/4, w/4) of LQ (exported encoder) and HQ (training-only encoder)."""
    b, n = lq.shape[:2]
    z_lq = model.enc(lq.flatten(0, 1))
    z_hq = model.enc_hq(hq.flatten(0, 1))
    return z_lq.reshape(b, n, *z_lq.shape[1:]), z_hq.reshape(b, n, *z_hq.shape[1:])


def decode_clip(model: SwiftVR, z: torch.Tensor, lq: torch.Tensor, chunks: list[int]) -> torch.Tensor:
    """Decoder over the clip chunk by chunk, block memories carried."""
    _, s0, s1, s2 = model.init_state(lq.shape[0], lq.shape[3], lq.shape[4])
    outs, i = [], 0
    for n in chunks:
        hq, s0, s1, s2 = model.dec(z[:, i:i + n], lq[:, i:i + n], s0, s1, s2)
        outs.append(hq)
        i += n
    return torch.cat(outs, dim=1)


def step_ae(model: SwiftVR, lq, hq, chunks, **_) -> torch.Tensor:
    z_lq, z_hq = encode(model, lq, hq)
    rec_hq = decode_clip(model, z_hq, lq, chunks)
    rec_lq = decode_clip(model, z_lq, lq, chunks)
    return charbonnier(rec_hq, hq) + charbonnier(rec_lq, hq) + 0.1 * F.mse_loss(z_lq, z_hq.detach())


def sample_t(b: int, gen: torch.Generator) -> torch.Tensor:
    """Flow time: logit-normal, with a quarter of the batch at t=1 (the one-step inference point)."""
    t = torch.sigmoid(torch.randn(b, generator=gen) * 1.0 + 0.5)
    t[torch.rand(b, generator=gen) < 0.25] = 1.0
    return t


def flow_pairs(model: SwiftVR, lq, hq, chunks, gen):
    """Yield per-chunk (z_t, ctx, t, v_target) with the clean previous-frame latent as context."""
    with torch.no_grad():
        z_lq, z_hq = encode(model, lq, hq)
    b, i = lq.shape[0], 0
    for n in chunks:
        ctx = z_hq[:, i - 1] if i > 0 else torch.zeros_like(z_hq[:, 0])
        t = sample_t(b, gen)
        tt = t[:, None, None, None, None]
        z0, z1 = z_hq[:, i:i + n], z_lq[:, i:i + n]
        yield (1 - tt) * z0 + tt * z1, ctx, t, z1 - z0
        i += n


def step_teacher(model: SwiftVR, lq, hq, chunks, gen, **_) -> torch.Tensor:
    losses = [F.mse_loss(model.dit(zt, ctx, t), v) for zt, ctx, t, v in flow_pairs(model, lq, hq, chunks, gen)]
    return torch.stack(losses).mean()


def step_distill(model: SwiftVR, lq, hq, chunks, gen, teacher: SwiftVR, **_) -> torch.Tensor:
    losses = []
    for zt, ctx, t, v in flow_pairs(model, lq, hq, chunks, gen):
        with torch.no_grad():
            v_teacher = teacher.dit(zt, ctx, t)
        v_student = model.dit(zt, ctx, t)
        losses.append(F.mse_loss(v_student, v_teacher) + 0.5 * F.mse_loss(v_student, v))
    return torch.stack(losses).mean()


def step_joint(model: SwiftVR, lq, hq, chunks, temporal_weight: float = 0.5, **_) -> torch.Tensor:
    """Stream the clip through the exported forward with the state connected across chunks."""
    state = model.init_state(lq.shape[0], lq.shape[3], lq.shape[4])
    outs, i = [], 0
    for n in chunks:
        out, *state = model(lq[:, i:i + n], *state)
        outs.append(out)
        i += n
    pred = torch.cat(outs, dim=1)  # (B, N, 3, H, W)
    temporal = charbonnier(pred[:, 1:] - pred[:, :-1], hq[:, 1:] - hq[:, :-1])
    return charbonnier(pred, hq) + temporal_weight * temporal


STEP = {"ae": step_ae, "teacher": step_teacher, "distill": step_distill, "joint": step_joint}


def trainable(model: SwiftVR, stage: str) -> list[torch.nn.Parameter]:
    groups = {"ae": [model.enc, model.enc_hq, model.dec], "teacher": [model.dit], "distill": [model.dit],
              "joint": [model.enc, model.dit, model.dec]}[stage]
    for p in model.parameters():
        p.requires_grad_(False)
    params = [p for m in groups for p in m.parameters()]
    for p in params:
        p.requires_grad_(True)
    return params


def random_chunks(n: int, t_max: int, rng: np.random.Generator) -> list[int]:
    """At least two chunks so the state connection is always trained."""
    t = int(rng.integers(max(1, min(2, t_max)), t_max + 1))
    t = min(t, max(1, n // 2))
    return split_chunks(n, t)


def run_stage(model: SwiftVR, stage: str, batches: ClipBatches, *, steps: int, minutes: float, batch: int,
              lr: float, seed: int, teacher: SwiftVR | None = None, log=print) -> dict:
    """Train one stage in place; returns a summary (steps, seconds, first/last loss)."""
    assert stage in STAGES, f"stage {stage!r} must be one of {STAGES}"
    model.cfg = model.cfg.with_attention("full" if stage == "teacher" else "mfswa")
    for blk in model.dit.blocks:
        blk.attn.kind = model.cfg.attention
    params = trainable(model, stage)
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0, betas=(0.9, 0.99))
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    model.train()
    t0, losses, k = time.time(), [], 0
    for k in range(1, steps + 1):
        lq, hq = batches(batch)
        chunks = random_chunks(lq.shape[1], model.cfg.t_max, rng)
        progress = min(1.0, max(k / steps, (time.time() - t0) / (minutes * 60)))
        for g in opt.param_groups:  # cosine decay over the step or time budget, short warm-up
            g["lr"] = lr * min(1.0, k / 20) * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * progress)))
        loss = STEP[stage](model, lq, hq, chunks, gen=gen, teacher=teacher)
        assert torch.isfinite(loss), f"stage {stage} step {k}: loss is {loss.item()}"
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        losses.append(loss.item())
        if k % 25 == 0 or k == 1:
            log(f"[{stage}] step {k} loss {np.mean(losses[-25:]):.5f} {time.time() - t0:.0f}s")
        if time.time() - t0 > minutes * 60:
            break
    model.eval()
    for p in model.parameters():
        p.requires_grad_(True)
    return {"steps": k, "seconds": round(time.time() - t0, 1), "batch": batch, "lr": lr,
            "loss_first": losses[0], "loss_last": float(np.mean(losses[-10:]))}


def save(model: SwiftVR, path: Path, provenance: dict) -> None:
    torch.save({"config": model.cfg.to_dict(), "model": model.state_dict(), "provenance": provenance}, path)


def hardware() -> str:
    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    dev = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU only ({os.cpu_count()} cores: {name})"
    return dev


def main(args: argparse.Namespace) -> dict:
    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg: SwiftVRConfig = get_config(args.preset)
    model = SwiftVR(cfg)
    resumed = {}
    if args.resume:
        ck = torch.load(args.resume, map_location="cpu", weights_only=False)
        model.load_state_dict(ck["model"])
        resumed = ck.get("provenance", {})
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    batches = ClipBatches(args.data, args.frames, args.seed, args.crop)
    stages = args.stages.split(",")
    minutes = [float(m) for m in args.minutes.split(",")]
    steps = [int(s) for s in args.steps.split(",")]
    lrs = [float(x) for x in args.lr.split(",")]
    assert len(minutes) == len(stages) == len(steps) == len(lrs), \
        f"--minutes/--steps/--lr must give one value per stage ({len(stages)} stages: {stages})"
    logf = open(out / "train.log", "a")

    def log(msg: str) -> None:
        print(msg, flush=True)
        logf.write(msg + "\n")
        logf.flush()

    provenance = {"trained": True, "preset": cfg.name, "seed": args.seed, "hardware": hardware(),
                  "torch": torch.__version__, "data": str(args.data), "frames_per_clip": args.frames,
                  "command": " ".join(args.argv), "stages": dict(resumed.get("stages", {})),
                  "crop_lq": args.crop or None}
    if resumed:
        provenance["resumed_from"] = {"checkpoint": str(args.resume), "command": resumed.get("command")}
    manifest = Path(args.data).with_name("manifest.json")
    if manifest.exists():
        m = json.loads(manifest.read_text())
        provenance["data_summary"] = {"sources": m["sources"], "train_clips": m["train"]["clips"],
                                      "hq_size": m["train"]["hq_size"], "excluded": m["excluded"]}
    teacher = None
    t_all = time.time()
    for stage, mins, st, lr in zip(stages, minutes, steps, lrs):
        if stage == "distill":
            teacher = copy.deepcopy(model).eval()
            teacher.cfg = teacher.cfg.with_attention("full")
            for blk in teacher.dit.blocks:
                blk.attn.kind = "full"
        summary = run_stage(model, stage, batches, steps=st, minutes=mins, batch=args.batch, lr=lr,
                            seed=args.seed + len(provenance["stages"]), teacher=teacher, log=log)
        key = stage if stage not in provenance["stages"] else f"{stage}_{len(provenance['stages'])}"
        provenance["stages"][key] = summary
        log(f"[{stage}] done: {summary}")
        save(model, out / f"{stage}.pt", provenance)
    provenance["total_seconds"] = round(time.time() - t_all, 1)
    save(model, out / "final.pt", provenance)
    return provenance


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    import sys
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="x2")
    p.add_argument("--data", default="models/data/train.npz")
    p.add_argument("--out", default="models/runs/x2")
    p.add_argument("--stages", default="ae,teacher,distill,joint")
    p.add_argument("--minutes", default="8,8,5,25", help="wall budget per stage")
    p.add_argument("--steps", default="100000,100000,100000,100000", help="step cap per stage")
    p.add_argument("--lr", default="2e-3,1e-3,5e-4,5e-4")
    p.add_argument("--batch", type=int, default=6)
    p.add_argument("--frames", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--resume", default=None, help="checkpoint to start from (earlier stages' provenance is kept)")
    p.add_argument("--crop", type=int, default=0, help="random LQ crop side (multiple of 8); 0 = whole clip")
    a = p.parse_args(argv)
    a.argv = ["python -m models.swiftvr.train", *argv]
    return a


if __name__ == "__main__":
    main(parse_args())
