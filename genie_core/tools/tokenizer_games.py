"""python -m genie_core.tools.tokenizer_games --tokenizer DIR --data DIR [DIR ...] [--episodes 16] [--json OUT]

How well one tokenizer keeps each game: tokenize -> detokenize PSNR (as `evaluate` reports it) on each
--data folder's episodes, one row per folder, named by it (e.g. data/games/ninja_heldout -> ninja).
The tokenizer may be a run, a checkpoint or its tokenizer/ folder. Issue 25 asks 26 dB in every game.
"""
from __future__ import annotations

import argparse
import os
import sys

import torch

from ..checkpoint import CheckpointError, load_component
from ..cli import OneLineParser, whole
from ..data.clips import check_frame_size, list_episodes
from ..data.sampler import ClipSampler
from ..device import DEVICES, pick_device
from ..files import check_writable
from . import print_and_save
from .evaluate import tokenizer_psnr

FLOOR_DB = 26.0


def game_name(folder: str) -> str:
    """data/games/ninja_heldout -> ninja."""
    name = os.path.basename(os.path.normpath(folder))
    for suffix in ("_heldout", "_dev"):
        name = name.removesuffix(suffix)
    return name


class _TokenizerOnly:
    """What tokenizer_psnr reads of a GenieModels."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer


@torch.inference_mode()
def game_scores(tokenizer, folders: list[str], episodes: int, device) -> dict[str, float]:
    """Mean tokenizer PSNR per folder's first `episodes` episodes, by game name; raises ValueError."""
    scores = {}
    for folder in folders:
        paths = list_episodes(folder)[:episodes]
        if not paths:
            raise ValueError(f"{folder}: no episode .npz files")
        clips = ClipSampler(paths, window=1)
        check_frame_size(folder, clips.frame_size, tokenizer.config.image_size, "the tokenizer",
                         "use a tokenizer trained on frames of that size")
        scores[game_name(folder)] = tokenizer_psnr(_TokenizerOnly(tokenizer), clips, device)
    return scores


def main(argv=None) -> int:
    p = OneLineParser(prog="python -m genie_core.tools.tokenizer_games", description=__doc__,
                      formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tokenizer", required=True, help="run, checkpoint or tokenizer/ folder")
    p.add_argument("--data", required=True, nargs="+", help="one folder of episodes per game")
    p.add_argument("--episodes", type=whole(1), default=16, help="episodes per folder (default 16)")
    p.add_argument("--json", help="write the scores here")
    p.add_argument("--device", choices=DEVICES, default="auto", help="where the tokenizer runs (fp32)")
    args = p.parse_args(argv)
    try:
        if args.json:
            check_writable(args.json, make_folders=True)
        nested = os.path.join(args.tokenizer, "tokenizer")
        device = pick_device(args.device)
        tokenizer = load_component(nested if os.path.isdir(nested) else args.tokenizer, "tokenizer", device).eval()
        scores = game_scores(tokenizer, args.data, args.episodes, device)
    except (CheckpointError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    rows = [f"{'game':<12}{'PSNR (dB)':>10}"] + [f"{g:<12}{s:>10.2f}{'' if s >= FLOOR_DB else '   below 26'}"
                                                   for g, s in scores.items()]
    print_and_save("\n".join(rows), {"tokenizer": args.tokenizer, "episodes": args.episodes, "psnr": scores},
                   args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
