"""python -m genie_core.tools.player_moves --data DIR [DIR ...] [--episodes 8] [--json OUT]

How well the pixel signal behind the latent actions (blocks/tracking.py: the camera's motion where it
follows the player, the tracked sprite where the screen stays still) names the move the recorded keys
asked for, one row per --data folder (a game). The recorded keys are read here only to score the
signal; nothing trains on them.

For each key's transitions: the share whose measured move goes the key's way by more than half a
pixel, the other way, still, and with no measurement (sprite not seen). Inertia and walls keep some
key presses from moving anything, so a right signal need not reach 100% "its way"; a move measured
the other way is what misleads a latent action model.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np
import torch

from ..blocks.motion import SEARCH_RADIUS, episode_motions
from ..blocks.tracking import player_moves
from ..cli import OneLineParser, whole
from ..data.clips import list_episodes, read_episode
from ..data.coinrun import ACTION_NAMES
from ..files import check_writable
from . import print_and_save
from .tokenizer_games import game_name

KEYS = {"right": (1, 0), "left": (-1, 0), "up": (0, -1), "down": (0, 1)}  # the player's way, y down
MOVED = 0.5  # px


def key_way(action: int) -> tuple[str, ...]:
    """Procgen action id -> the ways it asks for, e.g. RIGHT+UP -> ("right", "up")."""
    name = ACTION_NAMES[action] if 0 <= action < len(ACTION_NAMES) else ""
    return tuple(key for key in KEYS if key.upper() in name.split("+"))


def score_folder(folder: str, episodes: int) -> dict:
    """Per key: transitions, and the shares moved the key's way, the other way, still and unseen."""
    counts = {key: np.zeros(4, dtype=np.int64) for key in KEYS}  # key's way, wrong way, still, unseen
    paths = list_episodes(folder)[:episodes]
    if not paths:
        raise ValueError(f"{folder}: no episode .npz files")
    for path in paths:
        episode = read_episode(path)  # a broken file stops the measurement, named (ClipFormatError)
        if episode.actions is None:
            raise ValueError(f"{path}: no recorded actions to score the moves against")
        frames = torch.from_numpy(episode.frames)
        moves = player_moves(frames, episode_motions(frames, SEARCH_RADIUS))
        player = -moves.numpy()  # the player's own step, x right and y down
        for t, action in enumerate(episode.actions[: len(frames) - 1]):
            step = player[t + 1]
            for key in key_way(int(action)):
                along = float(np.dot(step, KEYS[key])) if np.isfinite(step).all() else float("nan")
                column = 3 if np.isnan(along) else 0 if along > MOVED else 1 if along < -MOVED else 2
                counts[key][column] += 1
    return {key: {"transitions": int(c.sum()),
                  **{name: round(float(c[i] / max(c.sum(), 1)), 3)
                     for i, name in enumerate(("its_way", "wrong_way", "still", "unseen"))}}
            for key, c in counts.items()}


def render(scores: dict[str, dict]) -> str:
    lines = ["game       key    transitions  its way  wrong way  still  unseen"]
    for game, keys in scores.items():
        for key, row in keys.items():
            lines.append(f"{game:<10} {key:<6} {row['transitions']:>11}  {row['its_way']:>7.0%}  "
                         f"{row['wrong_way']:>9.0%}  {row['still']:>5.0%}  {row['unseen']:>6.0%}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = OneLineParser(prog="python -m genie_core.tools.player_moves", description=__doc__,
                      formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", nargs="+", required=True, help="episode folders, one per game")
    p.add_argument("--episodes", type=whole(1), default=8, help="episodes per folder (default 8)")
    p.add_argument("--json", default=None, help="also write the numbers here, as JSON")
    args = p.parse_args(argv)
    try:
        if args.json:
            check_writable(args.json, make_folders=True)
        scores = {game_name(folder): score_folder(folder, args.episodes) for folder in args.data}
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print_and_save(render(scores), {"episodes": args.episodes, "scores": scores}, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
