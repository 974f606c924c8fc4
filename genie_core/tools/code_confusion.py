"""python -m genie_core.tools.code_confusion --checkpoint DIR --data DIR [DIR ...] --out PREFIX

Does a latent action mean the same move in every game? On each game's held-out episodes (one game per
--data folder), the LAM infers the latent action of every transition, which is set beside the key the
recording agent pressed (evaluation only: the LAM never sees a key). Per game and plain key (Right,
Left, Up, Down, Noop): P(latent action | key), drawn one panel a game in PREFIX.png, and the share of
the key's transitions whose latent action is named its way in actions.json (Right: any name with
"right"; Up: with "jump"; Noop: "noop" or "still"). A key that met a wall moved nothing, so no
share reaches 1. Every number goes to PREFIX.json.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from ..checkpoint import CheckpointError
from ..cli import OneLineParser
from ..data.clips import ClipFormatError
from ..data.coinrun import ACTION_NAMES
from ..device import DEVICES
from ..files import atomic_write_json, check_writable
from ..loading import load_models, read_action_labels
from .confusion import save_figure
from .evaluate import held_out_clips, latent_and_true_actions
from .game_keys import game_of

KEYS = ("RIGHT", "LEFT", "UP", "DOWN", "NOOP")  # procgen's plain keys, by name (ACTION_NAMES)
ITS_WAY = {"RIGHT": ("right",), "LEFT": ("left",), "UP": ("jump",), "DOWN": ("down",), "NOOP": ("noop", "still")}


def key_table(latent: np.ndarray, true: np.ndarray, num_actions: int) -> np.ndarray:
    """Counts (num_actions, len(KEYS)) of each latent action over the transitions of each plain key."""
    table = np.zeros((num_actions, len(KEYS)), dtype=np.int64)
    for column, key in enumerate(KEYS):
        chosen = latent[true == ACTION_NAMES.index(key)]
        table[:, column] = np.bincount(chosen, minlength=num_actions)[:num_actions]
    return table


def its_way_shares(table: np.ndarray, names: list[str]) -> dict[str, float | None]:
    """Per key, the share of its transitions whose latent action's name says the key's way."""
    shares = {}
    for column, key in enumerate(KEYS):
        total = table[:, column].sum()
        way = [i for i, name in enumerate(names) if any(word in name.split(" ")[0].split("+") for word in ITS_WAY[key])]
        shares[key] = float(table[way, column].sum() / total) if total else None
    return shares


def draw_panels(tables: dict[str, np.ndarray], names: list[str], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(tables), figsize=(0.4 + 1.9 * len(tables), 3.2), squeeze=False)
    for ax, (game, table) in zip(axes[0], tables.items()):
        share = table / np.maximum(table.sum(0, keepdims=True), 1)
        ax.imshow(share, cmap="viridis", vmin=0, vmax=1)
        ax.set_xticks(range(len(KEYS)), [k.lower() for k in KEYS], rotation=60, fontsize=7)
        ax.set_yticks(range(len(names)), names if ax is axes[0][0] else [""] * len(names), fontsize=7)
        ax.set_title(game, fontsize=8)
        for (i, j), value in np.ndenumerate(share):
            if value >= 0.05:
                ax.text(j, i, f"{value:.1f}", ha="center", va="center", fontsize=5, color="w" if value < 0.5 else "k")
    fig.suptitle("P(latent action | key pressed), held-out transitions of each game", fontsize=9)
    save_figure(fig, path, dpi=110)


def format_table(result: dict) -> str:
    lines = ["share of each key's transitions whose latent action is named its way",
             f"{'game':<16}{'transitions':>12}" + "".join(f"{k.lower():>8}" for k in KEYS)]
    for game, g in result["games"].items():
        lines.append(f"{game:<16}{g['transitions']:>12}" + "".join(
            f"{g['its_way'][k]:>8.2f}" if g["its_way"][k] is not None else f"{'-':>8}" for k in KEYS))
    return "\n".join(lines)


def main(argv=None) -> int:
    p = OneLineParser(prog="python -m genie_core.tools.code_confusion", description=__doc__,
                      formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="checkpoint folder (its actions.json names the actions)")
    p.add_argument("--data", required=True, nargs="+", help="held-out episode folders with recorded keys, one game each")
    p.add_argument("--out", required=True, help="writes PREFIX.png and PREFIX.json")
    p.add_argument("--device", default="auto", choices=DEVICES)  # only the LAM runs here
    args = p.parse_args(argv)
    try:
        for suffix in (".png", ".json"):
            check_writable(args.out + suffix, make_folders=True)
        models = load_models(args.checkpoint, args.device)
        num_actions = models.lam.config.num_actions
        names = read_action_labels(args.checkpoint, num_actions)[0] or [str(i) for i in range(num_actions)]
        device = next(models.lam.parameters()).device
        tables, games = {}, {}
        for folder in args.data:
            clips = held_out_clips(folder, models.dynamics.config.max_frames, models.tokenizer.config.image_size,
                                   args.checkpoint)
            latent, true, _ = latent_and_true_actions(models, clips, device)
            game = game_of(folder)
            if game in tables:  # two folders of one game (other agents): each keeps a row, by its folder's name
                game = os.path.basename(os.path.normpath(folder))
            tables[game] = key_table(latent.numpy(), true.numpy(), num_actions)
            games[game] = {"transitions": int((true >= 0).sum()), "its_way": its_way_shares(tables[game], names),
                           "counts": tables[game].tolist()}
        draw_panels(tables, names, args.out + ".png")
    except (CheckpointError, ClipFormatError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    result = {"games": games, "keys": list(KEYS), "latent_names": names, "checkpoint": args.checkpoint}
    atomic_write_json(args.out + ".json", result)
    print(format_table(result))
    print(f"wrote {args.out}.png and {args.out}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
