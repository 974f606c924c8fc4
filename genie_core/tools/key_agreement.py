"""python -m genie_core.tools.key_agreement --checkpoint DIR --data DIR [DIR ...] [--starts 8] [--json OUT]

Do the keys agree with the real game, in every game? One row per --data folder (a game's held-out
episodes, made by `python -m genie_core.data coinrun --game G`): from the first frame of each of
the first --starts episodes, key_motion's plans (right*10, right*10,left*10, jump*10) are played in
the model and in the real game (procgen, the file's game and level seed, hard mode), and the moves
are measured on the frames, on the camera and on the player (key_motion's docstring). A start agrees
on a key when the model moves the real game's way by at least half as much, or stays within 3 px
where the real game stays (issue 25's rule). Needs procgen.
"""
from __future__ import annotations

import argparse
import sys

from ..checkpoint import CheckpointError
from ..cli import OneLineParser, whole
from ..data.clips import ClipFormatError
from ..decoding import add_decode_flags
from ..device import add_device_flags
from ..files import check_writable
from . import print_and_save
from .game_keys import game_of
from .key_motion import agreement, keyed_world, score_starts, summarise

SHOWN = ("right", "left_back", "jump")  # the camera's moves, named as issue 25's table names them


def game_agreement(world, folder: str, starts: int, checkpoint: str) -> dict:
    """One game's per-start model and real scores, their medians and the starts that agree."""
    model_rows, real_rows = score_starts(world, folder, starts, True, checkpoint)
    return {"starts": len(model_rows), "agree": agreement(model_rows, real_rows),
            "model_median": summarise(model_rows)["median"], "real_median": summarise(real_rows)["median"],
            "model_starts": model_rows, "real_starts": real_rows}


def format_table(result: dict) -> str:
    lines = ["starts agreeing with the real game (camera: Right, back, Jump; then the player's move), and the "
             "camera's medians, model vs real (px)",
             f"{'game':<11}{'Right':>7}{'back':>7}{'Jump':>7}{'pl. R':>7}{'pl. back':>9}{'pl. up':>7}"
             f"   {'Right dx / back dx / Jump lift'}"]
    for game, g in result["games"].items():
        n, a = g["starts"], g["agree"]
        medians = " / ".join(f"{g['model_median'][k]:+.0f} vs {g['real_median'][k]:+.0f}" for k in SHOWN)
        lines.append(f"{game:<11}" + "".join(f"{a[k]:>5d}/{n:<1d}" for k in SHOWN)
                     + f"{a['player_right']:>5d}/{n:<1d}{a['player_left_back']:>7d}/{n:<1d}{a['player_jump']:>5d}/{n:<1d}"
                     + f"   {medians}")
    games = result["games"].values()
    held = sum(all(g["agree"][k] >= 0.75 * g["starts"] for k in SHOWN) for g in games)
    lines.append(f"games where Right, back and Jump each agree on at least 3/4 of the starts: {held} of {len(games)}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = OneLineParser(prog="python -m genie_core.tools.key_agreement", description=__doc__,
                      formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="checkpoint folder")
    p.add_argument("--data", required=True, nargs="+", help="held-out episode folders, one game each")
    p.add_argument("--starts", type=whole(1), default=8, help="level starts per game (default 8)")
    p.add_argument("--json", help="write every number here")
    add_decode_flags(p)
    add_device_flags(p)
    args = p.parse_args(argv)
    try:
        if args.json:
            check_writable(args.json, make_folders=True)
        world = keyed_world(args)
        games = {game_of(folder): game_agreement(world, folder, args.starts, args.checkpoint) for folder in args.data}
    except (CheckpointError, ClipFormatError, ValueError, OSError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    result = {"games": games, "checkpoint": args.checkpoint, "data": args.data}
    print_and_save(format_table(result), result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
