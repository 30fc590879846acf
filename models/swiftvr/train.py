"""Training: ReAE pre-training, then the paper's three stages, on luma; CPU or GPU, resumable.

    .venv/bin/python -m models.swiftvr.train --out models/runs/x2 --resume auto          # CPU, 2 cores
    .venv/bin/python -m models.swiftvr.train --out models/runs/x2 --resume auto --device cuda --batch 32 --crop 96

Stages (each a planned number of steps with its own cosine learning-rate schedule)
  ae       ReAE pre-training: D(E_hq(HQ), LQ) ~ HQ and D(E(LQ), LQ) ~ HQ, E(LQ) pulled towards E_hq(HQ).
  teacher  full-attention DiT, latent flow matching z_t = (1-t) z_HQ + t z_LQ, target v = z_LQ - z_HQ.
  distill  MFSWA student initialised from the teacher, matches the teacher's velocity (plus the flow target).
  joint    pixel-space fine-tuning of E + student DiT + D over >= 2 consecutive chunks with the state
           connected, Charbonnier + temporal (frame-difference) loss.

The run keeps an EMA of the weights, writes `last.pt` every --ckpt-minutes and at every stage end, and
validates the EMA weights on the quality benchmark's clips (models/swiftvr/benchmark.py) every
--val-every joint steps: `curve.jsonl` records PSNR-Y gain over ffmpeg's bicubic against training time,
`best.pt` keeps the best EMA weights. `--resume auto` continues from `last.pt` where a run stopped
(--minutes ends a sitting cleanly), so one command spans several sittings.
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .config import SwiftVRConfig, get_config
from .model import SwiftVR, split_chunks, stream

STAGES = ("ae", "teacher", "distill", "joint")


class ClipBatches:
    """Random batches of (LQ, HQ) luma clips from the prepared npz: float (B, N, 1, h, w) in [0, 1]."""

    def __init__(self, path: str | Path, frames: int, seed: int, crop: int = 0):
        d = np.load(path)
        assert crop % 8 == 0, f"crop={crop} must be a multiple of the alignment 8"
        self.hq, self.lq = d["hq"], d["lq"]
        assert self.hq.shape[0] == self.lq.shape[0], f"hq/lq clip counts differ: {self.hq.shape} vs {self.lq.shape}"
        assert self.lq.shape[1] >= frames, f"clips have {self.lq.shape[1]} frames, need {frames}"
        assert self.hq.shape[2] == 2 * self.lq.shape[2], f"hq {self.hq.shape} must be twice lq {self.lq.shape}"
        self.crop = crop
        self.frames = frames
        self.rng = np.random.default_rng(seed)

    def __call__(self, b: int) -> tuple[torch.Tensor, torch.Tensor]:
        idx = np.sort(self.rng.integers(0, self.hq.shape[0], size=b))
        s = int(self.rng.integers(0, self.lq.shape[1] - self.frames + 1))
        lq = self.lq[idx, s:s + self.frames]
        hq = self.hq[idx, s:s + self.frames]
        if self.crop and self.crop < lq.shape[2]:  # random LQ crop, matching HQ crop
            y = int(self.rng.integers(0, lq.shape[2] - self.crop + 1))
            x = int(self.rng.integers(0, lq.shape[3] - self.crop + 1))
            lq = lq[:, :, y:y + self.crop, x:x + self.crop]
            hq = hq[:, :, 2 * y:2 * (y + self.crop), 2 * x:2 * (x + self.crop)]
        if self.rng.random() < 0.5:  # vertical flip (the clips were flipped horizontally at preparation)
            lq, hq = lq[:, :, ::-1], hq[:, :, ::-1]
        if self.rng.random() < 0.3:  # time reversal
            lq, hq = lq[:, ::-1], hq[:, ::-1]

        def t(x):  # (B, N, h, w) uint8 -> (B, N, 1, h, w) float
            return torch.from_numpy(np.ascontiguousarray(x))[:, :, None].float() / 255.0

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
    _, *mem = model.init_state(lq.shape[0], lq.shape[3], lq.shape[4], device=lq.device)
    outs, i = [], 0
    for n in chunks:
        hq, *mem = model.dec(z[:, i:i + n], lq[:, i:i + n], *mem)
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
        t = sample_t(b, gen).to(lq.device)
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
    """Stream the clip through the luma network with the state connected across chunks."""
    pred, _ = stream(model, lq, chunks)  # (B, N, 1, H, W)
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


def set_attention(model: SwiftVR, kind: str) -> None:
    model.cfg = model.cfg.with_attention(kind)
    for blk in model.dit.blocks:
        blk.attn.kind = kind


def random_chunks(n: int, t_max: int, rng: np.random.Generator) -> list[int]:
    """At least two chunks so the state connection is always trained."""
    t = int(rng.integers(max(1, min(2, t_max)), t_max + 1))
    t = min(t, max(1, n // 2))
    return split_chunks(n, t)


def fresh_model(preset: str, seed: int) -> SwiftVR:
    """The model a plan starts from. The output layer starts at zero (the untrained model is the plain
    bicubic upscale); a little noise lets gradient reach the layers before it from the first step."""
    torch.manual_seed(seed)
    model = SwiftVR(get_config(preset))
    with torch.no_grad():
        model.dec.out.weight.normal_(0.0, 1e-3)
    return model


class EMA:
    def __init__(self, model: SwiftVR, decay: float):
        self.decay = decay
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: SwiftVR, step: int) -> None:
        d = min(self.decay, (1 + step) / (10 + step))
        for e, p in zip(self.model.parameters(), model.parameters()):
            e.mul_(d).add_(p.detach(), alpha=1 - d)

    @torch.no_grad()
    def reset(self, model: SwiftVR) -> None:
        for e, p in zip(self.model.parameters(), model.parameters()):
            e.copy_(p.detach())


@torch.no_grad()
def validate(model: SwiftVR, clips, device: str) -> dict:
    """PSNR-Y of the model streamed over the benchmark's decoded streams (segment by segment, chunks of
    t_max, state carried), output rounded to 8 bits; gain over ffmpeg's bicubic of the same stream."""
    from .benchmark import ffmpeg_scale
    from .metrics import psnr_y
    model.eval()
    gains, per = [], {}
    for c in clips:
        y = torch.from_numpy(c.lq_y.astype(np.float32) / 255.0)[None, :, None].to(device)
        h, w = y.shape[-2:]
        a = model.cfg.alignment
        ph, pw = (-h) % a, (-w) % a
        yp = F.pad(y.flatten(0, 1), (0, pw, 0, ph), mode="replicate").reshape(1, y.shape[1], 1, h + ph, w + pw)
        state = model.init_state(1, h, w, device=device)
        outs, i = [], 0
        for seg in c.segments:
            chunks = split_chunks(seg, model.cfg.t_max)
            for n in chunks:
                out, *state = model.restore_y(yp[:, i:i + n], *state)
                outs.append(out[0, :, 0, :2 * h, :2 * w])
                i += n
        pred = torch.round(torch.cat(outs).clamp(0, 1) * 255).to(torch.uint8).cpu().numpy()
        if c.bicubic is None:
            c.bicubic = psnr_y(ffmpeg_scale(c.playlist, "bicubic", (2 * w, 2 * h))[:i], c.gt_y[:i]).mean()
        p = float(psnr_y(pred, c.gt_y[:i]).mean())
        per[c.name] = round(p - float(c.bicubic), 4)
        gains.append(p - float(c.bicubic))
    return {"gain_db": round(float(np.mean(gains)), 4), "min_gain_db": round(float(np.min(gains)), 4), "clips": per}


def hardware(device: str) -> str:
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(0)
    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"CPU ({os.cpu_count()} cores: {name})"


class Run:
    """One training run: plan, position, weights, optimiser, EMA, curve; saved to and resumed from last.pt."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.out = Path(args.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.device = args.device
        self.stages = args.stages.split(",")
        self.steps = [int(s) for s in args.steps.split(",")]
        self.lrs = [float(x) for x in args.lr.split(",")]
        assert len(self.stages) == len(self.steps) == len(self.lrs), \
            f"--steps/--lr must give one value per stage ({len(self.stages)} stages: {self.stages})"
        for s in self.stages:
            assert s in STAGES, f"stage {s!r} must be one of {STAGES}"
        self.model = fresh_model(args.preset, args.seed).to(self.device)
        self.ema = EMA(self.model, args.ema)
        self.stage_i, self.step = 0, 0
        self.opt_state = None
        self.train_seconds = 0.0
        self.best = -math.inf
        self.history: list[dict] = []
        self.provenance = {"trained": True, "preset": args.preset, "seed": args.seed, "data": str(args.data),
                           "plan": {"stages": self.stages, "steps": self.steps, "lr": self.lrs, "batch": args.batch,
                                    "frames": args.frames, "crop_lq": args.crop, "ema": args.ema, "amp": args.amp},
                           "sittings": []}
        self.log_file = open(self.out / "train.log", "a")

    def log(self, msg: str) -> None:
        print(msg, flush=True)
        self.log_file.write(msg + "\n")
        self.log_file.flush()

    def save(self, path: Path, opt: torch.optim.Optimizer | None) -> None:
        tmp = path.with_suffix(".tmp")
        torch.save({"config": self.model.cfg.to_dict(), "model": self.model.state_dict(),
                    "ema": self.ema.model.state_dict(), "opt": opt.state_dict() if opt is not None else self.opt_state,
                    "stage_i": self.stage_i, "step": self.step, "train_seconds": self.train_seconds,
                    "best": self.best, "history": self.history, "provenance": self.provenance}, tmp)
        os.replace(tmp, path)

    def load(self, path: Path) -> None:
        ck = torch.load(path, map_location=self.device, weights_only=False)
        self.model.load_state_dict(ck["model"])
        self.ema.model.load_state_dict(ck["ema"])
        self.opt_state = ck["opt"]
        self.stage_i, self.step = ck["stage_i"], ck["step"]
        self.train_seconds, self.best, self.history = ck["train_seconds"], ck["best"], ck["history"]
        self.provenance = ck["provenance"]
        self.log(f"resumed from {path}: stage {self.stages[min(self.stage_i, len(self.stages) - 1)]} step {self.step}, "
                 f"{self.train_seconds / 60:.1f} min trained")

    def init_from(self, path: Path) -> None:
        """Start this plan from trained weights (a best.pt or the committed models/swiftvr-x2.pt): the
        model and its EMA take them; position, optimiser and curve start afresh."""
        ck = torch.load(path, map_location=self.device, weights_only=False)
        shape = lambda d: {k: v for k, v in d.items() if k != "attention"}  # noqa: E731
        assert shape(ck["config"]) == shape(self.model.cfg.to_dict()), \
            f"{path} holds a {ck['config']['name']} model of another shape than preset {self.model.cfg.name}"
        self.model.load_state_dict(ck["ema"] if "ema" in ck else ck["model"])
        self.ema.reset(self.model)
        # The lineage travels on: the weights' own provenance (plan, sittings, validation) nests under "init".
        self.provenance["init"] = {"from": str(path), "provenance": ck.get("provenance")}
        self.log(f"initialised from {path}")

    def export_best(self, val: dict) -> None:
        self.best = val["gain_db"]
        torch.save({"config": self.model.cfg.to_dict(), "model": self.ema.model.state_dict(),
                    "provenance": {**self.provenance, "validation": val, "train_seconds": round(self.train_seconds),
                                   "stage": self.stages[self.stage_i], "step": self.step}}, self.out / "best.pt")


def main(args: argparse.Namespace) -> Run:
    if args.threads:
        torch.set_num_threads(args.threads)
    run = Run(args)
    last = run.out / "last.pt"
    if args.resume == "auto" and last.exists():
        run.load(last)
    elif args.resume not in (None, "auto"):
        run.load(Path(args.resume))
    elif args.init:
        run.init_from(Path(args.init))
    run.provenance["sittings"].append({"hardware": hardware(args.device), "torch": torch.__version__,
                                       "command": " ".join(args.argv), "started": time.strftime("%Y-%m-%d %H:%M")})
    batches = ClipBatches(args.data, args.frames, args.seed + 7919 * len(run.provenance["sittings"]), args.crop)
    clips = None
    if args.val_every:
        from .benchmark import load_clips
        clips = load_clips(Path(args.bench), max_frames=args.val_frames)
    sitting_start = time.time()
    gen = torch.Generator().manual_seed(args.seed + run.step)
    rng = np.random.default_rng(args.seed + run.step)
    while run.stage_i < len(run.stages):
        stage, planned, lr = run.stages[run.stage_i], run.steps[run.stage_i], run.lrs[run.stage_i]
        set_attention(run.model, "full" if stage == "teacher" else "mfswa")
        teacher = None
        if stage == "distill":  # the teacher is the model as the teacher stage left it
            teacher = copy.deepcopy(run.model).eval()
            saved = run.out / "teacher.pt"
            if run.step > 0 and saved.exists():
                teacher.load_state_dict(torch.load(saved, map_location=run.device, weights_only=False)["model"])
            set_attention(teacher, "full")
        params = trainable(run.model, stage)
        opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0, betas=(0.9, 0.99))
        if run.opt_state is not None:
            opt.load_state_dict(run.opt_state)
            run.opt_state = None
        run.model.train()
        last_ckpt, losses, step_times = time.time(), [], []
        while run.step < planned:
            t_step = time.time()
            run.step += 1
            k = run.step
            for g in opt.param_groups:  # cosine decay over the planned steps, short warm-up
                g["lr"] = lr * min(1.0, k / 50) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * k / planned)))
            lq, hq = (x.to(run.device, non_blocking=True) for x in batches(args.batch))
            chunks = random_chunks(lq.shape[1], run.model.cfg.t_max, rng)
            with torch.autocast(device_type=run.device.split(":")[0], dtype=torch.bfloat16,
                                enabled=run.device.startswith("cuda") or args.amp == "bf16"):
                loss = STEP[stage](run.model, lq, hq, chunks, gen=gen, teacher=teacher)
            assert torch.isfinite(loss), f"stage {stage} step {k}: loss is {loss.item()}"
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            run.ema.update(run.model, k)
            losses.append(loss.item())
            # Training time, not wall time: a step that took far longer than usual (the process was
            # paused or the machine suspended) counts as a usual one.
            dt = time.time() - t_step
            step_times.append(dt)
            usual = float(np.median(step_times[-50:]))
            run.train_seconds += min(dt, 5 * usual)
            if k % 50 == 0 or k == 1:
                run.log(f"[{stage}] step {k}/{planned} loss {np.mean(losses[-50:]):.5f} "
                        f"lr {opt.param_groups[0]['lr']:.2e} {run.train_seconds / 60:.1f} min")
            if clips is not None and stage == "joint" and k % args.val_every == 0:
                t_val = time.time()
                val = validate(run.ema.model, clips, run.device)
                run.model.train()
                point = {"train_minutes": round(run.train_seconds / 60, 2), "stage": stage, "step": k, **val}
                run.history.append(point)
                with open(run.out / "curve.jsonl", "a") as f:
                    f.write(json.dumps(point) + "\n")
                run.log(f"[val] {point} ({time.time() - t_val:.0f}s)")
                if val["gain_db"] > run.best:
                    run.export_best(val)
                    run.log(f"[val] best so far: {val['gain_db']:+.4f} dB -> {run.out / 'best.pt'}")
            done_sitting = args.minutes and time.time() - sitting_start > args.minutes * 60
            if time.time() - last_ckpt > args.ckpt_minutes * 60 or done_sitting:
                run.save(last, opt)
                last_ckpt = time.time()
            if done_sitting:
                run.log(f"sitting ends after {args.minutes} min; resume with --resume auto")
                return run
        run.model.eval()
        run.provenance.setdefault("stages", {})[stage] = {"steps": planned, "lr": lr,
                                                          "train_minutes_at_end": round(run.train_seconds / 60, 1)}
        run.log(f"[{stage}] done at {run.train_seconds / 60:.1f} min")
        if stage != "joint":  # later stages start from these weights: the EMA follows them
            run.ema.reset(run.model)
        run.stage_i += 1
        run.step = 0
        run.save(last, None)
        run.save(run.out / f"{stage}.pt", None)
    return run


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    import sys
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="x2")
    p.add_argument("--data", default="models/data/train.npz")
    p.add_argument("--bench", default="models/data/bench", help="benchmark clips (validation)")
    p.add_argument("--out", default="models/runs/x2")
    p.add_argument("--stages", default="ae,teacher,distill,joint")
    p.add_argument("--steps", default="300,300,200,24000", help="planned steps per stage")
    p.add_argument("--lr", default="2e-3,1e-3,5e-4,2e-3")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--frames", type=int, default=6)
    p.add_argument("--crop", type=int, default=48, help="random LQ crop side (multiple of 8); 0 = whole clip")
    p.add_argument("--ema", type=float, default=0.999)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--amp", default="fp32", choices=["fp32", "bf16"],
                   help="CPU precision of the training step (CUDA always runs bf16 autocast); "
                        "models/swiftvr/step_bench.py measures both")
    p.add_argument("--val-every", type=int, default=1500, help="joint steps between validations (0: none)")
    p.add_argument("--val-frames", type=int, default=100, help="frames per benchmark clip in validation")
    p.add_argument("--ckpt-minutes", type=float, default=5.0)
    p.add_argument("--minutes", type=float, default=0.0, help="end this sitting after so many minutes (0: run to the end)")
    p.add_argument("--resume", default=None, help="'auto' (last.pt in --out when present) or a checkpoint path")
    p.add_argument("--init", default=None,
                   help="start from these weights (e.g. models/swiftvr-x2.pt) when not resuming; stages run afresh")
    a = p.parse_args(argv)
    a.argv = ["python -m models.swiftvr.train", *argv]
    return a


if __name__ == "__main__":
    main(parse_args())
