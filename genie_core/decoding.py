"""How a frame is decoded: one frozen DecodeSettings, its JSON file and its command-line flags.

A checkpoint keeps its decoding defaults in dynamics/decode.json, beside the dynamics config
(they steer sampling, not the weights). Every command that generates frames declares the same
flags with `add_decode_flags` and turns them into settings with `resolve_decode_settings`: the
checkpoint's value wherever a flag is not given.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
from dataclasses import dataclass

from .cli import number, on_off, whole
from .files import atomic_write_json

FILENAME = "decode.json"
ORDERS = ("confidence", "random")
# Decoding fields that dynamics/config.json held before decode.json existed, by their old names.
LEGACY_FIELDS = {"maskgit_steps": "steps", "temperature": "temperature", "unmask_order": "order",
                 "decode_copy_bias": "copy_bias", "reuse_unchanged_patches": "reuse_patches"}


@dataclass(frozen=True)
class DecodeSettings:
    # MaskGIT rounds per frame: more rounds let later tokens see earlier ones (slower, often sharper).
    steps: int = 8
    # 0 is greedy (argmax); above 0 samples from the softened distribution.
    temperature: float = 0.0
    # "confidence" fixes the surest tokens first (MaskGIT's); "random" a random subset (Genie's).
    order: str = "confidence"
    # Added to every token's copy logit at decoding time only (training never sees it): a token
    # then moves away from the previous frame's only when the model's odds for the new token beat
    # copying by more than e^bias. Copying keeps exact pixels, while a wrong new token costs a whole
    # patch, so a decoder that moves only when sure can score higher than one that follows the argmax.
    copy_bias: float = 0.0
    # Show the previous (or moved) frame's pixels for every patch whose token equals its source's,
    # so the start image stays sharp instead of passing through the tokenizer.
    reuse_patches: bool = False
    # Extra MaskGIT rounds for the tokens a move reveals (a model with DynamicsConfig.mask_revealed
    # has no draft there): they are held back through `steps` and decoded after them, seeing the rest
    # of the frame already fixed. 0: they are decoded with the rest. Other tokens never pay for them.
    revealed_steps: int = 0
    # Sampling temperature of those rounds (0: greedy); new ground drawn greedily tends to one flat colour.
    revealed_temperature: float = 0.0

    def __post_init__(self):
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 1:
            raise ValueError(f"MaskGIT steps must be a whole number of at least 1, got {self.steps!r}")
        if not (isinstance(self.temperature, (int, float)) and math.isfinite(self.temperature)
                and self.temperature >= 0):
            raise ValueError(f"temperature must be 0 (greedy) or more, got {self.temperature!r}")
        if self.order not in ORDERS:
            raise ValueError(f"unknown unmask order {self.order!r}; use {' or '.join(ORDERS)}")
        if isinstance(self.revealed_steps, bool) or not isinstance(self.revealed_steps, int) or self.revealed_steps < 0:
            raise ValueError(f"revealed steps must be a whole number of at least 0, got {self.revealed_steps!r}")
        if not (isinstance(self.revealed_temperature, (int, float)) and math.isfinite(self.revealed_temperature)
                and self.revealed_temperature >= 0):
            raise ValueError(f"revealed temperature must be 0 (greedy) or more, got {self.revealed_temperature!r}")
        if not (isinstance(self.copy_bias, (int, float)) and math.isfinite(self.copy_bias)):
            raise ValueError(f"copy bias must be a finite number, got {self.copy_bias!r}")


def split_legacy_fields(config: dict) -> tuple[dict, dict]:
    """A dynamics config.json written before decode.json -> (config without the decoding fields,
    those fields under DecodeSettings' names)."""
    if not isinstance(config, dict):
        raise ValueError("expected a JSON object")
    decoding = {LEGACY_FIELDS[k]: v for k, v in config.items() if k in LEGACY_FIELDS}
    return {k: v for k, v in config.items() if k not in LEGACY_FIELDS}, decoding


def settings_from_dict(data: dict) -> DecodeSettings:
    """Rejects unknown keys, so a typo in decode.json fails loudly."""
    names = {f.name for f in dataclasses.fields(DecodeSettings)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"unknown decoding settings: {', '.join(sorted(unknown))}")
    return DecodeSettings(**data)


def read_settings(folder: str, legacy: dict | None = None) -> DecodeSettings:
    """folder/decode.json, else the fields an old config.json held (legacy), else the defaults.
    Raises ValueError / OSError for an unreadable or invalid file."""
    path = os.path.join(folder, FILENAME)
    if not os.path.exists(path):
        return settings_from_dict(legacy or {})
    with open(path) as f:
        data = json.load(f)
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    return settings_from_dict(data)


def write_settings(folder: str, settings: DecodeSettings) -> None:
    atomic_write_json(os.path.join(folder, FILENAME), dataclasses.asdict(settings))


def add_decode_flags(parser: argparse.ArgumentParser, steps_flag: str = "--steps") -> None:
    """The decoding flags, each defaulting to None ("the checkpoint's value")."""
    group = parser.add_argument_group("decoding (default: the checkpoint's decode.json)")
    group.add_argument(steps_flag, dest="decode_steps", type=whole(1), metavar="N",
                       help="MaskGIT rounds per frame (more: slower, often sharper)")
    group.add_argument("--temperature", type=number(0), metavar="T", help="sampling temperature (0: greedy)")
    group.add_argument("--order", choices=ORDERS, help="which tokens MaskGIT fixes first")
    group.add_argument("--copy-bias", type=number(), metavar="B",
                       help="bonus on keeping each token of the previous frame (0: plain argmax; higher: a patch "
                            "changes only when the model is surer)")
    group.add_argument("--reuse-patches", type=on_off, metavar="on|off",
                       help="show the previous frame's pixels where a patch's token did not change (sharp start image)")
    group.add_argument("--revealed-steps", type=whole(0), metavar="N",
                       help="extra MaskGIT rounds for the ground a move reveals, after the rest of the frame (0: none)")
    group.add_argument("--revealed-temperature", type=number(0), metavar="T",
                       help="sampling temperature of those rounds (0: greedy)")


def decode_overrides(args: argparse.Namespace) -> dict:
    """The decoding flags that were given, under DecodeSettings' names."""
    given = {"steps": getattr(args, "decode_steps", None), "temperature": getattr(args, "temperature", None),
             "order": getattr(args, "order", None), "copy_bias": getattr(args, "copy_bias", None),
             "reuse_patches": getattr(args, "reuse_patches", None),
             "revealed_steps": getattr(args, "revealed_steps", None),
             "revealed_temperature": getattr(args, "revealed_temperature", None)}
    return {name: value for name, value in given.items() if value is not None}


def resolve_decode_settings(args: argparse.Namespace | None, defaults: DecodeSettings) -> DecodeSettings:
    """The checkpoint's settings with every given flag put in."""
    return dataclasses.replace(defaults, **decode_overrides(args)) if args is not None else defaults
