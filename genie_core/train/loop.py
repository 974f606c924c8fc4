"""One training loop for every component.

An Objective is an nn.Module whose forward(batch) returns (loss, metrics); it owns the models it
trains. The loop adds AdamW, warm-up + cosine learning rate, gradient clipping, periodic
validation, metrics in JSONL plus PNG curves, a progress bar with ETA, step and minute budgets
that end with a saved checkpoint, resume after a kill, and DistributedDataParallel under torchrun.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import time
from dataclasses import asdict, dataclass
from typing import Protocol

import numpy as np
import torch
import torch.distributed as dist
from tqdm import tqdm

from ..checkpoint import CheckpointError, save_component
from ..decoding import split_legacy_fields
from ..files import atomic_write_bytes
from ..files import to_json
from .curves import draw_curves
from .schedule import parameter_groups, warmup_cosine


@dataclass(frozen=True)
class LoopOptions:
    out: str
    steps: int = 100_000  # budget and schedule length; a --minutes budget may end it sooner
    minutes: float | None = None
    batch_size: int = 16
    lr: float = 3e-4
    warmup_steps: int = 200
    weight_decay: float = 0.05
    grad_clip: float = 1.0
    val_every: int = 250
    log_every: int = 20
    save_every_minutes: float = 5.0
    seed: int = 0
    resume: bool = True
    # bf16 autocast: always on CUDA; on CPU only when asked, since it pays off only for large
    # matmuls (measured: patch-4 tokenizer step 0.84 s vs 1.33 s fp32; patch-8 step slower in bf16).
    cpu_bf16: bool = False


class Objective(Protocol):
    def forward(self, batch) -> tuple[torch.Tensor, dict[str, float]]: ...
    def sample_batch(self, batch_size: int, rng: np.random.Generator): ...
    def components(self) -> dict[str, torch.nn.Module]: ...  # saved as out/<name>/
    def after_step(self, step: int) -> None: ...
    def validate(self) -> dict[str, float]: ...


@dataclass
class Distributed:
    rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup_distributed(device: torch.device) -> Distributed:
    """Under torchrun (WORLD_SIZE > 1): NCCL on GPUs, gloo on CPU; otherwise a single process."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return Distributed(device=device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend)
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    return Distributed(dist.get_rank(), world_size, device)


def _state_path(out: str) -> str:
    return os.path.join(out, "state", "trainer.pt")


def save_state(out: str, objective, optimizer, step: int, elapsed: float, rng: np.random.Generator) -> None:
    """Models as safetensors under out/<name>/, resumable trainer state apart (all atomic)."""
    for name, module in objective.components().items():
        save_component(module, os.path.join(out, name))
    buffer = io.BytesIO()
    torch.save({"optimizer": optimizer.state_dict(), "step": step, "elapsed": elapsed,
                "rng": json.dumps(rng.bit_generator.state)}, buffer)
    atomic_write_bytes(_state_path(out), buffer.getvalue())


def check_resumable(out: str, configs: dict) -> None:
    """Raise CheckpointError when `out` holds a resumable run whose components ({name: config})
    were built with other configs: resuming it would fail, or silently train something else.
    Phase 2 calls this before pretokenizing, so the mistake costs seconds, not a quarter hour."""
    if not os.path.isfile(_state_path(out)):
        return
    for name, config in configs.items():
        path = os.path.join(out, name, "config.json")
        try:
            with open(path) as f:
                saved = split_legacy_fields(json.load(f))[0] if name == "dynamics" else json.load(f)
        except (OSError, ValueError):
            saved = None
        if saved != json.loads(to_json(config)):
            raise CheckpointError(f"{out} holds a run whose {name} config differs from this one; resume it with "
                                  f"the same settings, pass --fresh to start over there, or choose another --out")


def try_resume(out: str, objective, optimizer, device) -> tuple[int, float, dict | None]:
    path = _state_path(out)
    if not os.path.isfile(path):
        return 0, 0.0, None
    from ..checkpoint import load_component

    check_resumable(out, {name: module.config for name, module in objective.components().items()})
    for name, module in objective.components().items():
        loaded = load_component(os.path.join(out, name), name, device)
        module.load_state_dict(loaded.state_dict())
    state = torch.load(path, map_location=device, weights_only=True)
    optimizer.load_state_dict(state["optimizer"])
    return int(state["step"]), float(state["elapsed"]), json.loads(state["rng"])


def append_metrics(path: str, row: dict) -> None:
    with open(path, "a") as f:
        f.write(json.dumps(row) + "\n")


@dataclass
class Run:
    """What the loop carries from step to step."""
    objective: torch.nn.Module
    model: torch.nn.Module  # the objective, or its DistributedDataParallel wrapper
    optimizer: torch.optim.Optimizer
    ddp: Distributed
    device: torch.device
    rng: np.random.Generator
    step: int
    start: float  # time.time() at step 0, moved back by the time an interrupted run had spent
    metrics_path: str


def start_run(objective, options: LoopOptions, device: torch.device, run_info: dict | None) -> Run:
    """Distributed setup, the optimiser, resume from options.out, and run.json."""
    ddp = setup_distributed(device)
    device = ddp.device
    objective.to(device)
    os.makedirs(options.out, exist_ok=True)
    modules = list(objective.components().values())
    optimizer = torch.optim.AdamW(parameter_groups(modules, options.weight_decay), lr=options.lr,
                                  betas=(0.9, 0.95), fused=device.type == "cuda")
    step, elapsed, rng_state = (try_resume(options.out, objective, optimizer, device)
                                if options.resume else (0, 0.0, None))
    rng = np.random.default_rng(options.seed + 1000 * ddp.rank)
    if rng_state is not None:
        rng.bit_generator.state = rng_state
    model = objective
    if ddp.world_size > 1:
        model = torch.nn.parallel.DistributedDataParallel(
            objective, device_ids=[device.index] if device.type == "cuda" else None)
    if ddp.is_main:
        with open(os.path.join(options.out, "run.json"), "w") as f:
            json.dump({"options": asdict(options), "world_size": ddp.world_size, "device": str(device),
                       "resumed_at_step": step, **(run_info or {})}, f, indent=2)
    return Run(objective, model, optimizer, ddp, device, rng, step, time.time() - elapsed,
               os.path.join(options.out, "metrics.jsonl"))


def out_of_time(run: Run, budget_s: float | None) -> bool:
    """Whether the minute budget is spent; every rank agrees, so all stop at the same step."""
    spent = budget_s is not None and time.time() - run.start >= budget_s
    if run.ddp.world_size > 1:
        flag = torch.tensor([float(spent)], device=run.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        spent = bool(flag.item())
    return spent


def train_step(run: Run, options: LoopOptions, lr: float, autocast) -> dict:
    """One optimiser step at learning rate lr -> its metrics."""
    for group in run.optimizer.param_groups:
        group["lr"] = lr
    run.objective.train()
    batch = run.objective.sample_batch(options.batch_size, run.rng)
    with autocast:
        loss, metrics = run.model(batch)
    run.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    parameters = [p for m in run.objective.components().values() for p in m.parameters()]
    grad_norm = torch.nn.utils.clip_grad_norm_(parameters, options.grad_clip)
    run.optimizer.step()
    run.objective.after_step(run.step)
    run.step += 1
    return {**metrics, "loss": loss.item(), "grad_norm": grad_norm.item()}


def train(objective, options: LoopOptions, device: torch.device, run_info: dict | None = None) -> dict:
    """Run the loop; returns the last validation metrics. Only rank 0 writes files."""
    run = start_run(objective, options, device, run_info)
    autocast = (torch.autocast(run.device.type, dtype=torch.bfloat16)
                if run.device.type == "cuda" or options.cpu_bf16 else contextlib.nullcontext())
    budget_s = options.minutes * 60 if options.minutes else None
    name = os.path.basename(os.path.normpath(options.out))
    bar = tqdm(total=options.steps, initial=run.step, disable=not run.ddp.is_main, dynamic_ncols=True, desc=name)
    last_val, window, last_save = {}, [], time.time()
    while run.step < options.steps and not out_of_time(run, budget_s):
        elapsed = time.time() - run.start
        progress = max(run.step / options.steps, elapsed / budget_s if budget_s else 0.0)
        lr = warmup_cosine(run.step, progress, options.warmup_steps, options.lr)
        window.append(train_step(run, options, lr, autocast))
        bar.update(1)
        if run.ddp.is_main and run.step % options.log_every == 0:
            mean = {k: float(np.mean([w[k] for w in window])) for k in window[0]}
            window = []
            append_metrics(run.metrics_path, {"step": run.step, "time_s": round(time.time() - run.start, 1),
                                              "lr": lr, **mean})
            bar.set_postfix({k: f"{v:.3g}" for k, v in list(mean.items())[:4]})
            if budget_s:  # tqdm's ETA assumes the step budget; a time budget ends sooner
                bar.set_description(f"{name} {(budget_s - (time.time() - run.start)) / 60:.1f} min left")
        if run.step % options.val_every == 0:
            last_val = _validate(objective, run.metrics_path, run.step, run.start, run.ddp)
        if run.ddp.is_main and time.time() - last_save > options.save_every_minutes * 60:
            save_state(options.out, objective, run.optimizer, run.step, time.time() - run.start, run.rng)
            last_save = time.time()
    bar.close()
    return finish_run(run, options, last_val)


def finish_run(run: Run, options: LoopOptions, last_val: dict) -> dict:
    """Validate unless the last step just did, save, draw the curves, leave the process group."""
    if run.step % options.val_every != 0 or not last_val:
        last_val = _validate(run.objective, run.metrics_path, run.step, run.start, run.ddp)
    if run.ddp.is_main:
        save_state(options.out, run.objective, run.optimizer, run.step, time.time() - run.start, run.rng)
        draw_curves(run.metrics_path, os.path.join(options.out, "curves.png"))
    if run.ddp.world_size > 1:
        dist.barrier()
        dist.destroy_process_group()
    return {"step": run.step, "time_s": time.time() - run.start, **last_val}


def _validate(objective, metrics_path: str, step: int, start: float, ddp: Distributed) -> dict:
    if not ddp.is_main:
        return {}
    objective.eval()
    with torch.no_grad():
        val = objective.validate()
    append_metrics(metrics_path, {"step": step, "time_s": round(time.time() - start, 1), "split": "val", **val})
    tqdm.write(f"step {step} val " + " ".join(f"{k}={v:.4g}" for k, v in val.items()))
    draw_curves(metrics_path, os.path.join(os.path.dirname(metrics_path), "curves.png"))
    return val
