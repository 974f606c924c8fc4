"""Procgen's recorded actions as the play window's keys: each of procgen's 15 actions is played as the
checkpoint's action of that name, as the window's arrow keys and `--actions` words play them (RIGHT+UP as
right+jump, else right; UP as jump; the special keys as noop). The per-game key check
(tools.game_keys) plays the recording agents' keys this way, and a keyed action prior
(models/prior.py) learns from them what each key does in each game."""
from __future__ import annotations

import torch

from ..loading import read_action_labels
from .coinrun import ACTION_NAMES

WORDS = {"LEFT": "left", "RIGHT": "right", "UP": "jump", "DOWN": "down", "NOOP": "noop"}  # procgen's -> the keys'


def words_for(procgen_name: str) -> list[str]:
    """The key words that may play a procgen action, best first: 'RIGHT+UP' -> right+jump, right, jump, noop."""
    parts = [WORDS[part] for part in procgen_name.split("+") if part in WORDS]
    combined = ["+".join(parts)] if len(parts) > 1 else []
    return combined + parts + ["noop", "still"]


def procgen_to_latent(ids_by_name: dict[str, int]) -> torch.Tensor:
    """(15,) the latent action that plays each procgen action id, by the first of its words the
    checkpoint names; raises ValueError when it names none of them."""
    latent = []
    for name in ACTION_NAMES:
        known = [ids_by_name[w] for w in words_for(name) if w in ids_by_name]
        if not known:
            raise ValueError(f"the checkpoint names no action that plays procgen's {name} "
                             f"(tried {', '.join(words_for(name))})")
        latent.append(known[0])
    return torch.tensor(latent)


def checkpoint_keys(folder: str, num_actions: int) -> torch.Tensor:
    """(15,) procgen_to_latent by the actions folder/actions.json names; raises ValueError when it names none."""
    names, direction_keys = read_action_labels(folder, num_actions)
    if not names and not direction_keys:
        raise ValueError(f"{folder}: actions.json names no actions; name them first "
                         f"(python -m genie_core.tools.action_names)")
    from play.keymap import action_ids_by_name  # the words the play window's keys and --actions read
    return procgen_to_latent({**(direction_keys or {}), **action_ids_by_name(names or [])})
