"""Checkpoints that describe themselves: one folder per component, config.json + model.safetensors.

    DIR/tokenizer/{config.json, model.safetensors}
    DIR/lam/{config.json, model.safetensors}
    DIR/dynamics/{config.json, model.safetensors}
    DIR/actions.json      (optional: names of the latent actions, see genie_core.action_names)

Nothing on the load path unpickles anything. Every file is written to a temporary name in the
same folder and renamed, so a crash never leaves a half-written checkpoint in place.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from .config import DynamicsConfig, LAMConfig, TokenizerConfig, config_from_dict, config_to_json, preset
from .dynamics import DynamicsModel
from .lam import LatentActionModel
from .tokenizer import VideoTokenizer

COMPONENTS = {"tokenizer": (VideoTokenizer, TokenizerConfig), "lam": (LatentActionModel, LAMConfig),
              "dynamics": (DynamicsModel, DynamicsConfig)}


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be loaded; the message is one line naming the file and the problem."""


@dataclass
class GenieModels:
    tokenizer: VideoTokenizer
    lam: LatentActionModel
    dynamics: DynamicsModel


def atomic_write_bytes(path: str, data: bytes) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes owner-only files; checkpoints and pictures are for sharing
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def save_component(model: torch.nn.Module, folder: str) -> None:
    """Write folder/config.json and folder/model.safetensors (each atomically)."""
    os.makedirs(folder, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    atomic_write_bytes(os.path.join(folder, "model.safetensors"), save(state, metadata={"format": "pt"}))
    atomic_write_text(os.path.join(folder, "config.json"), config_to_json(model.config))


def load_component(folder: str, kind: str, device="cpu") -> torch.nn.Module:
    """Build a component from folder/config.json and fill it from folder/model.safetensors."""
    model_cls, config_cls = COMPONENTS[kind]
    config_path, weights_path = os.path.join(folder, "config.json"), os.path.join(folder, "model.safetensors")
    for path in (config_path, weights_path):
        if not os.path.isfile(path):
            raise CheckpointError(f"{path}: missing ({kind} checkpoint incomplete)")
    try:
        with open(config_path) as f:
            config = config_from_dict(config_cls, json.load(f))
    except (ValueError, TypeError) as error:
        raise CheckpointError(f"{config_path}: bad {kind} config ({error})") from None
    model = model_cls(config)
    try:
        state = load_file(weights_path, device="cpu")
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"{weights_path}: unreadable or truncated ({error})") from None
    expected = model.state_dict()
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or unexpected:
        raise CheckpointError(f"{weights_path}: tensors do not match config.json (missing {missing[:3]}, "
                              f"unexpected {unexpected[:3]})")
    for name, tensor in state.items():
        if tensor.shape != expected[name].shape:
            raise CheckpointError(f"{weights_path}: tensor {name} has shape {tuple(tensor.shape)}, "
                                  f"config.json implies {tuple(expected[name].shape)}")
    model.load_state_dict(state)
    return model.to(device).eval()


def save_genie(models: GenieModels, folder: str) -> None:
    for kind in COMPONENTS:
        save_component(getattr(models, kind), os.path.join(folder, kind))


def load_genie(folder: str, device="cpu") -> GenieModels:
    if not os.path.isdir(folder):
        raise CheckpointError(f"{folder}: no such checkpoint folder")
    models = GenieModels(*(load_component(os.path.join(folder, kind), kind, device) for kind in COMPONENTS))
    if models.dynamics.config.num_codes != models.tokenizer.config.num_codes:
        raise CheckpointError(f"{folder}: dynamics vocabulary {models.dynamics.config.num_codes} != "
                              f"tokenizer codebook {models.tokenizer.config.num_codes}")
    return models


def build_genie(preset_name: str = "tiny", seed: int = 0) -> GenieModels:
    """Random-initialised models of a named preset (for tests and for the start of training)."""
    config = preset(preset_name)
    torch.manual_seed(seed)
    return GenieModels(VideoTokenizer(config.tokenizer), LatentActionModel(config.lam),
                       DynamicsModel(config.dynamics))


def save_random_genie(folder: str, preset: str = "tiny", seed: int = 0) -> GenieModels:
    models = build_genie(preset, seed)
    save_genie(models, folder)
    return models

