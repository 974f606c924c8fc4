"""python -m genie_core.tools.action_names --checkpoint DIR --data DIR [--device auto]

Names each latent action by what it visibly does on held-out transitions: the player's average
step, read from how the picture shifts from frame t to t+1 (no labels needed, any video). The
true actions, when the data recorded them, are kept beside as evidence. Writes
CHECKPOINT/actions.json: {"names": [...], "evidence": ..., "direction_keys": ...}. The player
shows the names in its header and puts on the arrow and jump keys the actions named so, else
those that `direction_keys` picks as moving most that way.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from ..checkpoint import CheckpointError
from ..cli import OneLineParser
from ..device import DEVICES
from ..files import atomic_write_json, check_writable
from ..models.lam import DIRECTION_NAMES
from .confusion import clips_action_name, confusion
from .evaluate import HORIZON, latent_and_true_actions, load_held_out

MOTIONS = [(h, v) for h in (-1, 0, 1) for v in (-1, 0, 1)]  # the player's (horizontal, vertical) step


def motion_table(latent: np.ndarray, motions: np.ndarray, num_actions: int) -> np.ndarray:
    """Counts (latent, 9) of the player's visible step per latent action. latent: (X,) action ids;
    motions: (X, 2) the content's (dx, dy) in the same transitions (motion.estimate_motion). With a
    camera that follows the player, the content moving left means the player went right, and
    moving down means it went up."""
    player = np.stack((-np.sign(motions[:, 0]), np.sign(motions[:, 1])), axis=1).astype(int)
    column = {m: i for i, m in enumerate(MOTIONS)}
    table = np.zeros((num_actions, len(MOTIONS)), dtype=np.int64)
    for action, (h, v) in zip(latent.tolist(), player.tolist()):
        table[action, column[(h, v)]] += 1
    return table


def _direction_words(dx: float, dy: float, threshold: float, idle: str) -> str:
    """(horizontal, vertical) direction -> "right", "left+jump", ...; idle when neither passes threshold."""
    horizontal = "right" if dx > threshold else "left" if dx < -threshold else ""
    vertical = "jump" if dy > threshold else "down" if dy < -threshold else ""
    return "+".join(p for p in (horizontal, vertical) if p) or idle


def motion_name(motion: tuple[int, int]) -> str:
    return _direction_words(*motion, threshold=0.5, idle="still")


def name_actions_by_motion(table: np.ndarray, still: int | None = None) -> list[str]:
    """table from motion_table. Named by the average step of the player when the action was
    inferred, in absolute terms: an action whose transitions mostly stand still is "noop".
    still: the LAM's reserved "nothing changed" action, named "still" whatever the table says."""
    names = _names_from_directions(table.astype(np.float64), np.array(MOTIONS, dtype=np.float64), threshold=0.25)
    if still is not None:
        names[still] = "still"
    return names


def _names_from_directions(table: np.ndarray, directions: np.ndarray, threshold: float) -> list[str]:
    """table (latent, K) counts of K outcomes, each with a (horizontal, vertical) direction; the
    average direction of a latent's outcomes names it."""
    names = []
    for row in table:
        if row.sum() == 0:
            names.append("unused")
            continue
        share = row / row.sum()
        dx, dy = share @ directions
        names.append(_direction_words(dx, dy, threshold, idle="noop"))
    # The first latent with a name keeps it plain (so the player's arrow keys find it); later
    # ones with the same effect become "right 2", "right 3".
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            names[i] = f"{name} {seen[name]}"
    return names


# Player keys that want a direction, and the (horizontal, vertical) step each asks for.
KEY_DIRECTIONS = {"right": (1.0, 0.0), "left": (-1.0, 0.0), "jump": (0.0, 1.0), "down": (0.0, -1.0)}


def direction_actions(table: np.ndarray, still: int | None = None) -> dict[str, int]:
    """table from motion_table -> {"right": id, "left": id, "jump": id, "down": id}: for each
    direction, the latent action whose player steps furthest that way relative to the average
    action, each action used for at most one direction (strongest matches first). Unlike the
    names, which are absolute, this gives every arrow key the closest action there is, even on
    data where almost every action runs right. still: an action no arrow key should get."""
    counts = table.astype(np.float64)
    share = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    mean_step = share @ np.array(MOTIONS, dtype=np.float64)  # (latent, 2)
    used = counts.sum(1) > 0
    if still is not None:
        used[still] = False
    relative = mean_step - mean_step[used].mean(0)
    scores = {(key, a): float(relative[a] @ np.array(d)) for key, d in KEY_DIRECTIONS.items()
              for a in range(len(table)) if used[a]}
    chosen: dict[str, int] = {}
    for (key, action), _ in sorted(scores.items(), key=lambda item: -item[1]):
        if key not in chosen and action not in chosen.values():
            chosen[key] = action
    return {key: chosen[key] for key in KEY_DIRECTIONS if key in chosen}


def names_of_direction_classes(num_actions: int, still: int | None) -> tuple[list[str], dict[str, int]]:
    """Names and direction keys of a LAM whose codes are the classes by direction (lam.DIRECTION_NAMES,
    then the reserved still action)."""
    names = list(DIRECTION_NAMES) + ["unused"] * (num_actions - len(DIRECTION_NAMES))
    if still is not None:
        names[still] = "still"
    return names, {key: names.index(key) for key in KEY_DIRECTIONS}


def top_shares(table: np.ndarray, labels: list[str], top: int = 3) -> dict:
    """Per latent action, its `top` most common outcomes and their shares: the evidence for a name."""
    share = table / np.maximum(table.sum(1, keepdims=True), 1)
    return {f"latent {i}": {labels[j]: round(float(share[i, j]), 3) for j in np.argsort(-share[i])[:top]}
            for i in range(len(table))}


def write_action_names(checkpoint: str, names: list[str], method: str, evidence: dict,
                       directions: dict[str, int] | None = None) -> None:
    payload = {"names": names, "method": method, "evidence": evidence}
    if directions:
        payload["direction_keys"] = directions
    atomic_write_json(os.path.join(checkpoint, "actions.json"), payload)


def name_from_data(checkpoint: str, data: str, device: str = "auto") -> tuple[list[str], dict[str, int]]:
    """Infer the latent action of every held-out transition, name each action by its motion, and
    write CHECKPOINT/actions.json; returns (names, direction keys). Raises CheckpointError,
    ValueError or OSError."""
    models, clips = load_held_out(checkpoint, data, device, HORIZON + 1)  # the episodes evaluate reads
    check_writable(os.path.join(checkpoint, "actions.json"))
    latent, true, motions = latent_and_true_actions(models, clips, next(models.lam.parameters()).device)
    num_actions, still = models.lam.config.num_actions, models.lam.config.still_id
    table = motion_table(latent.numpy(), motions.numpy(), num_actions)
    names, directions = name_actions_by_motion(table, still), direction_actions(table, still)
    by_class = models.lam.config.motion_codes and models.lam.config.classes == "directions"
    if by_class:  # the classes were fixed by the player's way: the names are known, the data is evidence
        names, directions = names_of_direction_classes(num_actions, still)
    evidence = {"player step (from the scene's shift)": top_shares(table, [motion_name(m) for m in MOTIONS])}
    known = (true >= 0).numpy()
    if known.any():  # true actions, when the data has them, are kept beside as evidence
        true_table, true_ids = confusion(latent.numpy()[known], true.numpy()[known], num_actions)
        evidence["true action"] = top_shares(true_table, [clips_action_name(data, a) for a in true_ids])
    method = ("the LAM's classes by the player's way (lam.DIRECTIONS); the evidence is the scene's global shift "
              "between frames, reversed, over held-out transitions given each latent action") if by_class else (
        "average visible step of the player (the scene's global shift between frames, reversed) over held-out "
        "transitions given each latent action")
    write_action_names(checkpoint, names, method, evidence, directions)
    return names, directions


def main(argv=None) -> int:
    p = OneLineParser(prog="python -m genie_core.tools.action_names", description=__doc__,
                      formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="checkpoint folder; its actions.json is (re)written")
    p.add_argument("--data", required=True, help="held-out episodes in the clip format")
    p.add_argument("--device", default="auto", choices=DEVICES)  # only the LAM runs here: no --precision
    args = p.parse_args(argv)
    try:
        names, directions = name_from_data(args.checkpoint, args.data, args.device)
    except (CheckpointError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print("action names: " + ", ".join(f"{i}={n}" for i, n in enumerate(names))
          + "; direction keys: " + ", ".join(f"{k}={a}" for k, a in directions.items()))
    print(f"wrote {os.path.join(args.checkpoint, 'actions.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
