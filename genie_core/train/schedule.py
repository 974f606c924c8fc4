"""Learning-rate schedule and optimizer groups as small pure functions."""
from __future__ import annotations

import math

import torch


def warmup_cosine(step: int, progress: float, warmup_steps: int, peak_lr: float, final_fraction: float = 0.1) -> float:
    """Linear warm-up over the first steps, then cosine decay to final_fraction * peak_lr.

    progress in [0, 1] is the share of the budget spent: of steps, or of wall time when the run
    has a time budget, so a `--minutes` run anneals fully by its deadline.
    """
    if step < warmup_steps:
        return peak_lr * (step + 1) / warmup_steps
    progress = min(1.0, max(0.0, progress))
    return peak_lr * (final_fraction + (1 - final_fraction) * 0.5 * (1 + math.cos(math.pi * progress)))


def parameter_groups(modules: list[torch.nn.Module], weight_decay: float) -> list[dict]:
    """Weight decay on matrices only; norms, biases, embeddings of positions and codebooks are exempt."""
    decay, no_decay = [], []
    for module in modules:
        for name, p in module.named_parameters():
            if not p.requires_grad:
                continue
            exempt = p.ndim < 2 or "codebook" in name or name.endswith("_NC")
            (no_decay if exempt else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
