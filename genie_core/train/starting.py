"""What a dynamics run starts from besides its data: the player the camera follows, measured on the
training video, and the weights of an earlier run (--init)."""
from __future__ import annotations

import dataclasses
import os

import numpy as np
import torch

from ..blocks.motion import followed_pixels
from ..checkpoint import load_component
from ..models.config import TRAINING_ONLY

FOLLOWED_EPISODES = 64  # enough: CoinRun's player blob is the same from 30 episodes on


def measure_followed(clips) -> tuple[int, ...]:
    """DynamicsConfig.followed_pixels measured on the first training episodes (motion.followed_pixels)."""
    episodes = (torch.from_numpy(np.array(clips._frames(i))) for i in range(min(FOLLOWED_EPISODES, len(clips.episodes))))
    followed = followed_pixels(episodes)
    print(f"followed pixels: {len(followed)} (the draft keeps them unmoved)")
    return followed


# Switches that add parts to a model without changing the rest: --init from a run without them
# loads everything else and starts the added parts fresh.
ADDED_BY_INIT = ("motion_codes", "mask_revealed", "copy_gates", "followed_pixels")


def load_initial_weights(models: dict, folder: str) -> None:
    """Copy a checkpoint's weights into models built from the run's config ({"lam": ..., "dynamics": ...});
    training settings may differ, sizes may not (raises ValueError)."""
    for kind, model in models.items():
        source = load_component(os.path.join(folder, kind), kind)
        ignored = {f: getattr(model.config, f) for f in TRAINING_ONLY + ADDED_BY_INIT if hasattr(model.config, f)}
        if dataclasses.replace(source.config, **ignored) != model.config:
            raise ValueError(f"--init {folder}: its {kind} config differs from this run's (preset and tokenizer); "
                             f"pass the --preset it was trained with")
        missing, _ = model.load_state_dict(source.state_dict(), strict=False)
        if missing:  # parts a newer config adds (e.g. motion-anchored LAM codes) start fresh
            print(f"--init: {kind} starts these fresh: {', '.join(missing)}")
