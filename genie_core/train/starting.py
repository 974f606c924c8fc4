"""What a dynamics run starts from besides its data: the player the camera follows, measured on the
training video, and the weights of an earlier run (--init)."""
from __future__ import annotations

import dataclasses
import os

import numpy as np
import torch

from ..blocks.motion import followed_pixels
from ..checkpoint import load_component, read_json
from ..models.config import TRAINING_ONLY

FOLLOWED_EPISODES = 64  # enough: CoinRun's player blob is the same from 30 episodes on


def measure_followed(clips, kept_by: str = "the draft keeps them unmoved") -> tuple[int, ...]:
    """DynamicsConfig.followed_pixels measured on training episodes spread evenly over the data
    (motion.followed_pixels): a folder of many games, in name order, starts with one game's."""
    count = len(clips.episodes)
    picks = np.unique(np.linspace(0, count - 1, min(FOLLOWED_EPISODES, count)).round().astype(int))
    followed = followed_pixels(torch.from_numpy(np.array(clips._frames(int(i)))) for i in picks)
    print(f"followed pixels: {len(followed)} ({kept_by})")
    return followed


def initial_followed(folder: str | None) -> tuple[int, ...]:
    """The followed pixels of the --init checkpoint's dynamics model (() when none): a run that goes on
    from it keeps its player, which its critic and prior were trained around."""
    # Only the config is read; load_initial_weights loads and checks the whole part afterwards (and
    # reports a missing or broken one).
    path = os.path.join(folder, "dynamics", "config.json") if folder else ""
    return tuple(read_json(path).get("followed_pixels", ())) if os.path.isfile(path) else ()


# Switches that add parts to a model without changing the rest: --init from a run without them
# loads everything else and starts the added parts fresh.
ADDED_BY_INIT = ("motion_codes", "mask_revealed", "copy_gates", "followed_pixels", "hide_behind_player")


# A tokenizer's code may grow at --init (grow): more FSQ dimensions or levels. The weights into
# and out of the code keep the old dimensions; the new dimensions' weights out of the code start at
# zero, so the widened tokenizer begins as the old one, and those into it keep their fresh random
# start (both at zero, neither would ever get a gradient: measured, a run left the new dimension unused).
CODE_FIELDS = ("fsq_levels", "num_codes", "code_dim")
CODE_WEIGHTS = {"to_code.weight": "fresh", "to_code.bias": "fresh", "from_code.weight": "zero"}
# A tokenizer's decoder and a dynamics model's transformer may grow deeper at --init: the added blocks
# go after the old ones with their residual outputs (both attentions' projections and the MLP's last
# layer) at zero, so each starts as the identity and the deeper model begins as the old one.
IDENTITY_AT_START = ("spatial.proj", "temporal.proj", "mlp.2")
DEEPENED = {"tokenizer": ("decoder_depth", "decoder"), "dynamics": ("depth", "transformer")}  # kind: (field, stack)


def load_initial_weights(models: dict, folder: str, grow: bool = False) -> None:
    """Copy a checkpoint's weights into models built from the run's config ({"lam": ..., "dynamics": ...});
    training settings may differ, sizes may not (raises ValueError), but with grow a tokenizer's code may
    have more dimensions than the checkpoint's; a tokenizer's decoder and a dynamics model may have more
    blocks (DEEPENED)."""
    for kind, model in models.items():
        source = load_component(os.path.join(folder, kind), kind)
        ignored = {f: getattr(model.config, f) for f in TRAINING_ONLY + ADDED_BY_INIT if hasattr(model.config, f)}
        if grow:
            ignored.update({f: getattr(model.config, f) for f in CODE_FIELDS if hasattr(model.config, f)})
        depth_field, stack = DEEPENED.get(kind, (None, None))
        if depth_field:
            ignored[depth_field] = getattr(model.config, depth_field)
        if dataclasses.replace(source.config, **ignored) != model.config:
            raise ValueError(f"--init {folder}: its {kind} config differs from this run's (preset and tokenizer); "
                             f"pass the --preset it was trained with")
        weights = source.state_dict()
        if grow and any(getattr(source.config, f, None) != getattr(model.config, f, None) for f in CODE_FIELDS):
            weights = _widened_code(weights, model.state_dict(), kind, folder)
        missing, _ = model.load_state_dict(weights, strict=False)
        if depth_field and getattr(source.config, depth_field) != getattr(model.config, depth_field):
            _deepen(model.get_submodule(stack), getattr(source.config, depth_field), kind, stack, folder)
        elif missing:  # parts a newer config adds (e.g. motion-anchored LAM codes) start fresh
            print(f"--init: {kind} starts these fresh: {', '.join(missing)}")


def _deepen(transformer, old_depth: int, kind: str, stack: str, folder: str) -> None:
    """The blocks of a transformer past old_depth (fresh weights) made the identity (see IDENTITY_AT_START)."""
    blocks = transformer.blocks
    if len(blocks) < old_depth:
        raise ValueError(f"--init {folder}: its {kind}'s {stack} is deeper than this run's; a {stack} only grows")
    with torch.no_grad():
        for block in blocks[old_depth:]:
            for name in IDENTITY_AT_START:
                layer = block.get_submodule(name)
                layer.weight.zero_()
                layer.bias.zero_()
    print(f"--init: {kind}'s {stack} grows from {old_depth} to {len(blocks)} blocks (the new ones start as the identity)")


def _widened_code(weights: dict, target: dict, kind: str, folder: str) -> dict:
    """The source's weights with those into and out of the code grown to the target's code size (see
    CODE_WEIGHTS); the quantizer's own buffers (sized by the number of codes) are left to the target's."""
    out = {name: value for name, value in weights.items() if not name.startswith("vq.")}
    for name, start in CODE_WEIGHTS.items():
        old, new = weights[name], target[name]
        if any(o > n for o, n in zip(old.shape, new.shape)):
            raise ValueError(f"--init {folder}: its {kind}'s code is wider than this run's; a code only grows")
        grown = new.clone() if start == "fresh" else torch.zeros_like(new)
        grown[tuple(slice(0, o) for o in old.shape)] = old
        out[name] = grown
    return out
