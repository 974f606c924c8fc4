"""A playable World from a checkpoint folder (or from random weights, for tests)."""
from __future__ import annotations

import dataclasses
import json
import os

import torch

from .blocks.packed import can_pack, pack_linears
from .checkpoint import GenieModels, build_genie, load_genie
from .device import keep_freed_memory, pick_device, pick_precision
from .world import World


def read_action_labels(folder: str, num_actions: int) -> tuple[list[str] | None, dict[str, int] | None]:
    """Names and direction keys from folder/actions.json ({"names": [...], "direction_keys":
    {"left": id, ...}}), each None when absent or malformed."""
    path = os.path.join(folder, "actions.json")
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None, None
    names = data.get("names") if isinstance(data, dict) else None
    names = [str(n) for n in names] if isinstance(names, list) and len(names) == num_actions else None
    keys = data.get("direction_keys") if isinstance(data, dict) else None
    keys = ({str(k): int(v) for k, v in keys.items() if isinstance(v, int) and 0 <= v < num_actions}
            if isinstance(keys, dict) else None)
    return names, keys or None


def use_precision(models: GenieModels, dtype: torch.dtype) -> GenieModels:
    """Run the tokenizer and the dynamics networks in dtype (in place) for play and evaluation; the
    quantiser stays fp32 (its rounding decides the tokens), and the LAM, used only to label real
    video, is left alone. The models compute their logits in fp32 whatever dtype they run in."""
    kept = {name: tensor.clone() for name, tensor in models.tokenizer.vq.state_dict().items()}
    models.tokenizer.to(dtype)
    models.tokenizer.vq.float().load_state_dict(kept)  # a learned codebook must not pass through bf16
    models.dynamics.to(dtype)
    return models


def load_models(checkpoint: str, device: str = "auto", precision: str = "fp32") -> GenieModels:
    """The checkpoint's models on `device`, networks in `precision` (auto: see device.pick_precision),
    for inference: on CPU the two networks' linear layers packed for oneDNN (blocks/packed.py)
    and freed memory kept for reuse (device.keep_freed_memory)."""
    place = pick_device(device)
    dtype = pick_precision(precision, place)
    models = use_precision(load_genie(checkpoint, place), dtype)
    if place.type == "cpu":
        keep_freed_memory()
    if can_pack(place.type, dtype):
        pack_linears(models.tokenizer)
        pack_linears(models.dynamics)
    return models


def load_world(checkpoint: str, device: str = "auto", context: int | None = None, seed: int = 0,
               decode: dict | None = None, precision: str = "auto") -> World:
    """A World from a checkpoint folder (see genie_core.checkpoint); raises CheckpointError.
    context: past frames attended to (None: the dynamics model's training length); decode: decoding
    settings to change from the checkpoint's, by DecodeSettings field (e.g. {"rounds": 4});
    precision: see device.pick_precision."""
    models = load_models(checkpoint, device, precision)
    context = models.dynamics.config.max_frames if context is None else context
    names, direction_keys = read_action_labels(checkpoint, models.dynamics.config.num_actions)
    settings = dataclasses.replace(models.decoding, **(decode or {}))
    return World(models, settings, context, seed, names, direction_keys)


def random_world(preset: str = "tiny", seed: int = 0, **options) -> World:
    """A World on random-initialised weights at the preset's decoding settings (options: World's)."""
    models = build_genie(preset, seed)
    for model in (models.tokenizer, models.lam, models.dynamics):
        model.eval()
    return World(models, options.pop("settings", models.decoding), seed=seed, **options)
