"""How a frame is decoded: one frozen DecodeSettings, its JSON file and its command-line flags.

A checkpoint keeps its decoding defaults in dynamics/decode.json, beside the dynamics config
(they steer sampling, not the weights). Every command that generates frames declares the same
flags with `add_decode_flags` (one per field, declared in the field's metadata) and turns them into
settings with `resolve_decode_settings`: the checkpoint's value wherever a flag is not given. The
library never sees the flags: it takes DecodeSettings, or a dict of the fields to change.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
from dataclasses import dataclass, field

from .cli import number, on_off, whole
from .files import atomic_write_json
from .files import frozen_from_dict

FILENAME = "decode.json"
ORDERS = ("confidence", "random")
# Decoding fields that dynamics/config.json held before decode.json existed, by their old names.
LEGACY_FIELDS = {"maskgit_steps": "rounds", "temperature": "temperature", "unmask_order": "order",
                 "decode_copy_bias": "copy_bias", "reuse_unchanged_patches": "reuse_patches"}
RENAMED = {"steps": "rounds", "revealed_steps": "revealed_rounds"}  # decode.json's names before "rounds"


def flag(names: tuple[str, ...], help: str, **argparse_options) -> dict:
    """A DecodeSettings field's command-line flag (names, help and argparse options), as field metadata."""
    return {"flag": names, "help": help, "options": argparse_options}


@dataclass(frozen=True)
class DecodeSettings:
    # MaskGIT rounds per frame: more rounds let later tokens see earlier ones (slower, often sharper).
    rounds: int = field(default=8, metadata=flag(("--rounds", "--steps"), "MaskGIT rounds per frame (more: slower, "
                                                  "often sharper)", type=whole(1), metavar="N"))
    # 0 is greedy (argmax); above 0 samples from the softened distribution.
    temperature: float = field(default=0.0, metadata=flag(("--temperature",), "sampling temperature (0: greedy)",
                                                          type=number(0), metavar="T"))
    # "confidence" fixes the surest tokens first (MaskGIT's); "random" a random subset (Genie's).
    order: str = field(default="confidence", metadata=flag(("--order",), "which tokens MaskGIT fixes first",
                                                           choices=ORDERS))
    # Added to every token's copy logit at decoding time only (training never sees it): a token
    # then moves away from the previous frame's only when the model's odds for the new token beat
    # copying by more than e^bias. Copying keeps exact pixels, while a wrong new token costs a whole
    # patch, so a decoder that moves only when sure can score higher than one that follows the argmax.
    copy_bias: float = field(default=0.0, metadata=flag(
        ("--copy-bias",), "bonus on keeping each token of the previous frame (0: plain argmax; higher: a patch "
                          "changes only when the model is surer)", type=number(), metavar="B"))
    # With motion, added to the unmoved last frame's copy logit only (on top of copy_bias), decoding
    # only: below 0 a token keeps the moved draft's rather than the unmoved frame's. A model whose
    # learned copy gates lean to the unmoved frame shows a still picture while its camera moves.
    # Only where the two sources hold different tokens: where they agree (no move, or plain ground a
    # move leaves as it was) there is no choice, and the bias would only take from the copy the model
    # learned (at -10 the many-games checkpoint's still-screen games fell apart under it).
    unmoved_bias: float = field(default=0.0, metadata=flag(
        ("--unmoved-bias",), "with motion: bonus on keeping the unmoved last frame's token rather than the moved "
                             "draft's (below 0: the picture follows the camera more)", type=number(), metavar="B"))
    # Show the previous (or moved) frame's pixels for every patch whose token equals its source's,
    # so the start image stays sharp instead of passing through the tokenizer.
    reuse_patches: bool = field(default=False, metadata=flag(
        ("--reuse-patches",), "show the previous frame's pixels where a patch's token did not change (sharp start "
                              "image)", type=on_off, metavar="on|off"))
    # Extra MaskGIT rounds for the tokens a move reveals (a model with DynamicsConfig.mask_revealed
    # has no draft there): they are held back through `rounds` and decoded after them, seeing the
    # rest of the frame already fixed. 0: they are decoded with the rest. Other tokens never pay for them.
    revealed_rounds: int = field(default=0, metadata=flag(
        ("--revealed-rounds", "--revealed-steps"), "extra MaskGIT rounds for the ground a move reveals, after the "
                                                   "rest of the frame (0: none)", type=whole(0), metavar="N"))
    # Sampling temperature of those rounds (0: greedy); new ground drawn greedily tends to one flat colour.
    revealed_temperature: float = field(default=0.0, metadata=flag(
        ("--revealed-temperature",), "sampling temperature of those rounds (0: greedy)", type=number(0), metavar="T"))
    # A checkpoint with a move critic (models/critic.py) cuts back a camera move it rates below this
    # probability to the nearest smaller move it accepts: walls and floors stop the level sliding
    # through the player. 0: every move as the dynamics model picks it.
    refuse_below: float = field(default=0.0, metadata=flag(
        ("--refuse-below",), "with the checkpoint's move critic: cut back camera moves it rates below this "
                             "probability, so walls block (0: off)", type=number(0, 1), metavar="P"))

    # The critic judges only a move's sideways part (walls) and cuts only that, leaving rises and falls to
    # the dynamics model and the action prior: on the model's own frames it misjudged floors, refusing
    # falls the real game made (the camera drifted from the real one over 40 frames).
    refuse_sideways: bool = field(default=False, metadata=flag(
        ("--refuse-sideways",), "with the critic: judge and cut only the sideways part of a move (walls), never "
                                "a rise or a fall (off: both axes)", type=on_off, metavar="on|off"))
    # With the critic and the ground memory: a move that reveals only ground the memory holds is never
    # refused. The camera was there, so the player can go back; judged from the frame alone, the critic
    # refused Left after a Right into a wall and froze most start rooms for the rest of the window minute.
    allow_shown: bool = field(default=False, metadata=flag(
        ("--allow-shown",), "with the critic and --remember: never refuse a move that reveals only ground shown "
                            "before (the camera was there)", type=on_off, metavar="on|off"))
    # Ground the camera showed before comes back as it was when a move reveals it again (a memory of
    # the level in play, world/memory.py), instead of being drawn anew; only the new ground is drawn.
    remember: bool = field(default=False, metadata=flag(
        ("--remember",), "bring back ground the camera showed before as it was, when a move reveals it again "
                         "(off: every revealed pixel is drawn anew)", type=on_off, metavar="on|off"))

    # A checkpoint with an action prior (models/prior.py) plays, for a key, the likeliest latent action
    # that goes the key's way sideways whenever the prior rates the key's own below this share of that
    # one: a jump comes down and a run off a ledge falls. A keyed prior sees the key and may steer it
    # any way: the likeliest latent action given the key, this world and its last moves. 0: every key
    # plays its own latent action.
    yield_below: float = field(default=0.0, metadata=flag(
        ("--yield-below",), "with the checkpoint's action prior: a key plays the likeliest action that goes its way "
                            "sideways (a keyed prior: any way, given the key) when its own is rated below this "
                            "share of that one, so jumps land (0: off)",
        type=number(0, 1), metavar="P"))

    # With the action prior: a key whose latent action rises is never steered while the camera has not moved
    # up or down for two ticks (standing on ground). The prior learned what the recording agents did next,
    # not what the game allows: after a Right into a wall it steered Jump to no move in most start rooms,
    # where the real game jumps. In the air it steers as before. Off in the shipped checkpoints: jumps then
    # took off, but some views flew on or sank and flooded with one colour (docs/model.md, the action prior).
    take_off: bool = field(default=False, metadata=flag(
        ("--take-off",), "with the action prior: a rising key always takes off from level ground (the prior "
                         "steers keys only in the air)", type=on_off, metavar="on|off"))

    def for_latent_actions(self) -> DecodeSettings:
        """These settings for playing latent actions as given: the LAM's labels of real video (Genie's
        teacher-forced case) or random draws. The action prior and the move critic interpret a player's
        keys (which latent action a key plays here, and whether a wall lets the level slide); a label
        read off real video already carries the move the game made, walls included, so both stand aside."""
        return dataclasses.replace(self, yield_below=0.0, refuse_below=0.0)

    def __post_init__(self):
        for name, low in (("rounds", 1), ("revealed_rounds", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name.replace('_', ' ')} must be a whole number of at least {low}, got {value!r}")
        for name in ("refuse_below", "yield_below"):
            value = getattr(self, name)
            if isinstance(value, bool) or not (isinstance(value, (int, float)) and 0 <= value <= 1):
                raise ValueError(f"{name.replace('_', ' ')} must be a share from 0 to 1, got {value!r}")
        for name in ("temperature", "revealed_temperature"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{name.replace('_', ' ')} must be 0 (greedy) or more, got {value!r}")
        for f in dataclasses.fields(self):  # a decode.json "off" or 0 must not pass as a truthy switch
            if f.type == "bool" and not isinstance(getattr(self, f.name), bool):
                raise ValueError(f"{f.name.replace('_', ' ')} must be true or false, got {getattr(self, f.name)!r}")
        if self.order not in ORDERS:
            raise ValueError(f"unknown unmask order {self.order!r}; use {' or '.join(ORDERS)}")
        for name in ("copy_bias", "unmoved_bias"):
            value = getattr(self, name)
            if isinstance(value, bool) or not (isinstance(value, (int, float)) and math.isfinite(value)):
                raise ValueError(f"{name.replace('_', ' ')} must be a finite number, got {value!r}")


def split_legacy_fields(config: dict) -> tuple[dict, dict]:
    """A dynamics config.json written before decode.json -> (config without the decoding fields,
    those fields under DecodeSettings' names)."""
    if not isinstance(config, dict):
        raise ValueError("expected a JSON object")
    decoding = {LEGACY_FIELDS[k]: v for k, v in config.items() if k in LEGACY_FIELDS}
    return {k: v for k, v in config.items() if k not in LEGACY_FIELDS}, decoding


def settings_from_dict(data: dict) -> DecodeSettings:
    """decode.json's object -> DecodeSettings (older names accepted); unknown keys fail loudly."""
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    return frozen_from_dict(DecodeSettings, {RENAMED.get(k, k): v for k, v in data.items()})


def read_settings(folder: str) -> DecodeSettings:
    """folder/decode.json; raises ValueError / OSError for an unreadable or invalid file."""
    with open(os.path.join(folder, FILENAME)) as f:
        return settings_from_dict(json.load(f))


def write_settings(folder: str, settings: DecodeSettings) -> None:
    atomic_write_json(os.path.join(folder, FILENAME), dataclasses.asdict(settings))


def add_decode_flags(parser: argparse.ArgumentParser, rounds_flags: tuple[str, ...] = ("--rounds", "--steps")) -> None:
    """A flag per DecodeSettings field, named in its metadata, each defaulting to None ("the
    checkpoint's value"); rounds_flags: the names of the rounds flag (where --steps means other steps)."""
    group = parser.add_argument_group("decoding (default: the checkpoint's decode.json)")
    for f in dataclasses.fields(DecodeSettings):
        names = rounds_flags if f.name == "rounds" else f.metadata["flag"]
        group.add_argument(*names, dest=f.name, default=None, help=f.metadata["help"], **f.metadata["options"])


def decode_flags_given(args: argparse.Namespace) -> dict:
    """The decoding flags a command line gave, under DecodeSettings' names."""
    given = {f.name: getattr(args, f.name, None) for f in dataclasses.fields(DecodeSettings)}
    return {name: value for name, value in given.items() if value is not None}


def resolve_decode_settings(args: argparse.Namespace | None, defaults: DecodeSettings) -> DecodeSettings:
    """The checkpoint's settings with every given flag put in."""
    return dataclasses.replace(defaults, **decode_flags_given(args)) if args is not None else defaults
