"""Checkpoints that describe themselves: one folder per component, config.json + model.safetensors.

    DIR/tokenizer/{config.json, model.safetensors}
    DIR/lam/{config.json, model.safetensors}
    DIR/dynamics/{config.json, model.safetensors, decode.json}
    DIR/critic/{config.json, model.safetensors}   (optional: the move critic, models/critic.py)
    DIR/prior/{config.json, model.safetensors}    (optional: the action prior, models/prior.py)
    DIR/actions.json      (optional: names of the latent actions, see genie_core.tools.name_actions)

decode.json holds the decoding defaults (genie_core.decoding); a checkpoint written before it
existed kept them in dynamics/config.json, and still loads.

Nothing on the load path unpickles anything. Every file is written to a temporary name in the
same folder and renamed, so a crash never leaves a half-written checkpoint in place.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from .decoding import FILENAME as DECODE_FILENAME
from .decoding import DecodeSettings, read_settings, settings_from_dict, split_legacy_fields, write_settings
from .files import frozen_from_dict, to_json
from .files import atomic_write_bytes, atomic_write_text
from .models.config import (
    DynamicsConfig,
    LAMConfig,
    TokenizerConfig,
    preset,
)
from .models.critic import CriticConfig, MoveCritic
from .models.dynamics import DynamicsModel
from .models.lam import LatentActionModel
from .models.prior import ActionPrior, PriorConfig
from .models.tokenizer import VideoTokenizer

COMPONENTS = {"tokenizer": (VideoTokenizer, TokenizerConfig), "lam": (LatentActionModel, LAMConfig),
              "dynamics": (DynamicsModel, DynamicsConfig)}
OPTIONAL_COMPONENTS = {"critic": (MoveCritic, CriticConfig), "prior": (ActionPrior, PriorConfig)}  # loaded when there


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be loaded; the message is one line naming the file and the problem."""


@dataclass
class GenieModels:
    tokenizer: VideoTokenizer
    lam: LatentActionModel
    dynamics: DynamicsModel
    decoding: DecodeSettings = DecodeSettings()  # the checkpoint's decoding defaults
    critic: MoveCritic | None = None
    prior: ActionPrior | None = None


def save_component(model: torch.nn.Module, folder: str) -> None:
    """Write folder/config.json and folder/model.safetensors (each atomically)."""
    os.makedirs(folder, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    atomic_write_bytes(os.path.join(folder, "model.safetensors"), save(state, metadata={"format": "pt"}))
    atomic_write_text(os.path.join(folder, "config.json"), to_json(model.config))


def load_config(folder: str, kind: str):
    """A component's frozen config from folder/config.json, without its weights."""
    config_cls = {**COMPONENTS, **OPTIONAL_COMPONENTS}[kind][1]
    config_path = os.path.join(folder, "config.json")
    if not os.path.isfile(config_path):
        raise CheckpointError(f"{config_path}: missing ({kind} checkpoint incomplete)")
    try:
        return frozen_from_dict(config_cls, split_legacy_fields(read_json(config_path))[0])
    except (ValueError, TypeError, OSError) as error:
        raise CheckpointError(f"{config_path}: bad {kind} config ({error})") from None


def load_component(folder: str, kind: str, device="cpu") -> torch.nn.Module:
    """Build a component from folder/config.json and fill it from folder/model.safetensors."""
    model_cls = {**COMPONENTS, **OPTIONAL_COMPONENTS}[kind][0]
    config_path, weights_path = os.path.join(folder, "config.json"), os.path.join(folder, "model.safetensors")
    for path in (config_path, weights_path):
        if not os.path.isfile(path):
            raise CheckpointError(f"{path}: missing ({kind} checkpoint incomplete)")
    config = load_config(folder, kind)
    try:  # a hand-edited config can hold values the layers refuse (a string, 0 heads, ...)
        model = model_cls(config)
    except (TypeError, ValueError, RuntimeError, ZeroDivisionError, OverflowError) as error:
        raise CheckpointError(f"{config_path}: no {kind} model can be built from it ({error})") from None
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


def read_json(path: str):
    with open(path) as f:
        return json.load(f)


def load_decode_settings(dynamics_folder: str) -> DecodeSettings:
    """dynamics_folder/decode.json, else the decoding fields an older config.json held; raises CheckpointError."""
    path = os.path.join(dynamics_folder, DECODE_FILENAME)
    try:
        if os.path.exists(path):
            return read_settings(dynamics_folder)
        return settings_from_dict(split_legacy_fields(read_json(os.path.join(dynamics_folder, "config.json")))[1])
    except (ValueError, TypeError, OSError) as error:
        raise CheckpointError(f"{path}: bad decoding settings ({error})") from None


def save_genie(models: GenieModels, folder: str) -> None:
    for kind in COMPONENTS:
        save_component(getattr(models, kind), os.path.join(folder, kind))
    for kind in OPTIONAL_COMPONENTS:
        if getattr(models, kind) is not None:
            save_component(getattr(models, kind), os.path.join(folder, kind))
    write_settings(os.path.join(folder, "dynamics"), models.decoding)


def load_genie(folder: str, device="cpu") -> GenieModels:
    if not os.path.isdir(folder):
        raise CheckpointError(f"{folder}: no such checkpoint folder")
    models = GenieModels(*(load_component(os.path.join(folder, kind), kind, device) for kind in COMPONENTS))
    models.decoding = load_decode_settings(os.path.join(folder, "dynamics"))
    for kind in OPTIONAL_COMPONENTS:
        if os.path.isdir(os.path.join(folder, kind)):
            setattr(models, kind, load_component(os.path.join(folder, kind), kind, device))
    check_parts_agree(folder, models)
    return models


def check_parts_agree(folder: str, models: GenieModels) -> None:
    """The configs must describe one world: frame size, vocabulary, tokens and actions (and the critic's
    and the prior's frame size, moves and player, when there are)."""
    tok, lam, dyn = models.tokenizer.config, models.lam.config, models.dynamics.config
    pairs = {"dynamics vocabulary / tokenizer codebook": (dyn.num_codes, tok.num_codes),
             "lam image size / tokenizer image size": (lam.image_size, tok.image_size),
             "dynamics tokens per frame / tokenizer tokens per frame": (dyn.tokens_per_frame, tok.tokens_per_frame),
             "dynamics actions / lam actions": (dyn.num_actions, lam.num_actions)}
    if models.critic is not None:
        critic = models.critic.config
        pairs.update({"critic image size / tokenizer image size": (critic.image_size, tok.image_size),
                      "critic motion radius / dynamics motion radius": (critic.motion_radius, dyn.motion_radius)})
    if models.prior is not None:
        prior = models.prior.config
        pairs.update({"prior image size / tokenizer image size": (prior.image_size, tok.image_size),
                      "prior motion radius / dynamics motion radius": (prior.motion_radius, dyn.motion_radius),
                      "prior actions / lam actions": (prior.num_actions, lam.num_actions)})
    for what, (a, b) in pairs.items():
        if a != b:
            raise CheckpointError(f"{folder}: its parts do not fit together ({what}: {a} != {b})")
    # A dynamics model that keeps no player in its draft leaves the critic the player it measured on the data.
    if models.critic is not None and dyn.followed_pixels and models.critic.config.followed_pixels != dyn.followed_pixels:
        raise CheckpointError(f"{folder}: its parts do not fit together (the critic was trained around another "
                              f"player than the dynamics model follows: retrain it with train critic --dynamics)")


def build_genie(preset_name: str = "tiny", seed: int = 0) -> GenieModels:
    """Random-initialised models of a named preset (for tests and for the start of training)."""
    config = preset(preset_name)
    torch.manual_seed(seed)
    return GenieModels(VideoTokenizer(config.tokenizer), LatentActionModel(config.lam),
                       DynamicsModel(config.dynamics), config.decoding)


def save_random_genie(folder: str, preset: str = "tiny", seed: int = 0) -> GenieModels:
    models = build_genie(preset, seed)
    save_genie(models, folder)
    return models

