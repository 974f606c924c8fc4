"""python -m genie_core.tools.key_motion --checkpoint DIR --data DIR [--starts 16] [--json OUT] [--real]

Do the keys do what they say? From the first frame (a level start) of each of the first --starts
episodes of --data, play the world headless, as `main.py --headless --actions` does, with
    right*10        right*10,left*10        jump*10        jump*30        right*40
and measure the camera motion of every generated frame from the one before (motion.py: the same
shift search evaluate uses, on the pixels the player sees). Per start:
- right: the content's total dx after 10 Right (the camera follows the player: content moves left);
- left back: the content's dx gained over the 10 Left that follow them;
- jump: how far the camera rose, the highest cumulative dy over 10 Jump (content moves down).
A start passes when right <= -6 px, left back >= +5 px, jump >= +10 px. The same three numbers are
measured on the player's move too (tracking.player_moves: the camera's where it scrolls, the tracked
sprite's where the screen stays still, so in bigfish or maze Right is the fish or the dot going right).
With --real, a start agrees on a key when the model moves the real game's way by at least half as much,
or stays within 3 px where the real game stays (issue 25's rule). Two held keys are measured
beside them, with no floor, to set against the real game:
- landing: with Jump held, the camera's lowest height over ticks 11-20 (the real game's first jump
  lands back near 0 there, then jumps again);
- right held: the content's dx after 40 Right (the real game stops at the first wall).
--real plays the same keys in the real game (procgen: each file's game, CoinRun unless `data --game`
said otherwise, and its level seed) and measures it the same way.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
import sys

import numpy as np
import torch

from ..blocks.motion import SEARCH_RADIUS, episode_motions, frame_motions
from ..blocks.tracking import player_moves
from ..checkpoint import CheckpointError
from ..cli import OneLineParser, whole
from ..data.clips import (
    ClipFormatError,
    check_frame_size,
    list_episodes,
    read_frames,
    read_header,
)
from ..decoding import add_decode_flags, resolve_decode_settings
from ..device import add_device_flags
from ..files import check_writable
from ..loading import load_world
from . import print_and_save

PLANS = {"right": "right*10", "right_left": "right*10,left*10", "jump": "jump*10", "jump_held": "jump*30",
         "right_held": "right*40"}
COLUMNS = {"right": "right (dx)", "left_back": "left back", "jump": "jump (dy)", "landing": "landing",
           "right_held": "right held", "player_right": "player R", "player_left_back": "player back",
           "player_jump": "player up"}  # key_scores' numbers, in the table's order
# Floors (px): Right moves the content left, Left brings it back, Jump lifts the camera.
FLOORS = {"right": -6.0, "left_back": 5.0, "jump": 10.0}
AGREED = ("right", "left_back", "jump", "player_right", "player_left_back", "player_jump")
STILL_PX = 3.0  # a move under this is "stays" in the agreement rule
PROCGEN_KEYS = {"right": 7, "left": 1, "jump": 5, "noop": 4}  # procgen's RIGHT, LEFT, UP and NOOP action ids


def key_scores(runs: dict[str, list[np.ndarray]]) -> dict[str, float]:
    """From the frames of each plan (start frame first): the three numbers of the module docstring."""
    right = frame_motions(runs["right"])[:, 0].sum().item()
    right_left = frame_motions(runs["right_left"])[:, 0].numpy()
    jump = np.cumsum(frame_motions(runs["jump"])[:, 1].numpy())
    held = np.cumsum(frame_motions(runs["jump_held"])[:, 1].numpy())
    return {"right": float(right), "left_back": float(right_left[10:].sum()), "jump": float(max(jump.max(), 0)),
            "landing": float(held[10:20].min()), "right_held": float(frame_motions(runs["right_held"])[:, 0].sum()),
            **player_scores(runs)}


def player_scores(runs: dict[str, list[np.ndarray]]) -> dict[str, float]:
    """Right, left back and jump as key_scores measures them, on the player's move instead of the camera's
    (unseen steps count 0)."""
    def moves(frames: list[np.ndarray]) -> np.ndarray:
        video = torch.from_numpy(np.stack(frames))
        return np.nan_to_num(player_moves(video, episode_motions(video, SEARCH_RADIUS)).numpy())

    right_left = moves(runs["right_left"])  # row 0 is the start frame's (0, 0)
    return {"player_right": float(moves(runs["right"])[:, 0].sum()), "player_left_back": float(right_left[11:, 0].sum()),
            "player_jump": float(max(np.cumsum(moves(runs["jump"])[:, 1]).max(), 0))}


def agrees(model: float, real: float) -> bool:
    """Issue 25's rule: the model moves the real game's way by at least half as much, or stays where it stays."""
    if abs(real) < STILL_PX:
        return abs(model) < STILL_PX
    return model * real > 0 and abs(model) >= 0.5 * abs(real)


def agreement(model_rows: list[dict[str, float]], real_rows: list[dict[str, float]]) -> dict[str, int]:
    """Per measured key, the starts where the model agrees with the real game."""
    return {k: int(sum(agrees(m[k], r[k]) for m, r in zip(model_rows, real_rows))) for k in AGREED}


def passes(scores: dict[str, float]) -> dict[str, bool]:
    return {"right": scores["right"] <= FLOORS["right"], "left_back": scores["left_back"] >= FLOORS["left_back"],
            "jump": scores["jump"] >= FLOORS["jump"]}


def play_plan(world, image: np.ndarray, plan: str) -> list[np.ndarray]:
    """The world's frames (start frame first) under a plan of key words, read as `--actions` reads them."""
    from play.session import parse_actions, run_session

    return run_session(world, image, parse_actions(plan, world.num_actions, world.action_names,
                                                   world.direction_keys)).frames


def play_model(world, image: np.ndarray) -> dict[str, list[np.ndarray]]:
    return {name: play_plan(world, image, plan) for name, plan in PLANS.items()}


def plan_words(plan: str) -> list[str]:
    """'right*2,jump' -> ['right', 'right', 'jump']."""
    return [word for part in plan.split(",") for word in [part.split("*")[0]] * int((part.split("*") + ["1"])[1])]


@dataclass
class RealPlay:
    """The real game's frames under named keys (start frame first), and the first tick at which procgen
    restarted the level (the coin reached or the player dead; None if it never did): from there on
    the frames are the level replayed from its start."""
    frames: list[np.ndarray]
    restart: int | None


def play_real_keys(level: int, image_size: int, keys: list[str], game: str = "coinrun") -> RealPlay:
    """The procgen game (CoinRun unless said) from the start of `level` (hard mode, backgrounds on) under named keys."""
    from ..data.coinrun import load_procgen

    unknown = sorted(set(keys) - set(PROCGEN_KEYS))
    if unknown:
        raise ValueError(f"the real game has no key named {unknown[0]!r}; use {', '.join(PROCGEN_KEYS)}")
    env = load_procgen()(num=1, env_name=game, start_level=level, num_levels=1, distribution_mode="hard",
                         use_backgrounds=True, num_threads=0, rand_seed=0)
    frames, restart = [env.observe()[1]["rgb"][0].copy()], None
    for tick, key in enumerate(keys, start=1):
        env.act(np.array([PROCGEN_KEYS[key]]))
        _, observation, first = env.observe()
        frames.append(observation["rgb"][0].copy())
        if first[0] and restart is None:
            restart = tick
    env.close()
    if frames[0].shape[0] != image_size:
        raise ValueError(f"the real game renders {frames[0].shape[0]} px, the model {image_size}")
    return RealPlay(frames, restart)


def play_real(level: int, image_size: int, game: str = "coinrun") -> dict[str, list[np.ndarray]]:
    """The same plans in the real game from the start of `level`."""
    return {name: play_real_keys(level, image_size, plan_words(plan), game).frames for name, plan in PLANS.items()}


def level_of(path: str) -> tuple[int, str]:
    """An episode file's procgen level seed and game (files made by `python -m genie_core.data coinrun`,
    `--game` for other games; files from before `--game` are CoinRun's)."""
    with np.load(path) as episode:
        if "level" not in episode:
            raise ValueError(f"{path}: no level seed; the real game needs files made by "
                             f"`python -m genie_core.data coinrun`")
        return int(episode["level"]), str(episode["game"]) if "game" in episode else "coinrun"


def summarise(rows: list[dict[str, float]]) -> dict:
    ok = [passes(r) for r in rows]
    return {"mean": {k: float(np.mean([r[k] for r in rows])) for k in rows[0]},
            "median": {k: float(np.median([r[k] for r in rows])) for k in rows[0]},
            "passed": {k: int(sum(o[k] for o in ok)) for k in FLOORS}, "starts": len(rows)}


def readable_starts(paths: list[str], count: int) -> tuple[list, list[np.ndarray]]:
    """The headers and first frames of the first `count` episodes that can be read; each corrupt
    file is skipped with a one-line note on stderr."""
    headers, starts = [], []
    for path in paths:
        if len(headers) == count:
            break
        try:
            header = read_header(path)
            start = np.array(read_frames(header)[0])  # a writable copy of the memory map
        except (ClipFormatError, OSError, ValueError) as error:
            print(f"note: skipped {path}: {error}", file=sys.stderr)
            continue
        headers.append(header)
        starts.append(start)
    return headers, starts


def keyed_world(args: argparse.Namespace):
    """The checkpoint's world at the command's decoding flags; raises ValueError when its actions.json names no
    action for a key the plans press."""
    world = load_world(args.checkpoint, args.device, precision=args.precision)
    world.settings = resolve_decode_settings(args, world.settings)
    known = set(world.direction_keys or {}) | set(world.action_names or [])  # as --actions reads words
    missing = [k for k in ("right", "left", "jump") if k not in known]
    if missing:
        raise ValueError(f"{args.checkpoint}: actions.json names no action for {', '.join(missing)}")
    return world


def score_starts(world, data: str, count: int, real: bool, checkpoint: str) -> tuple[list[dict], list[dict]]:
    """key_scores of the plans from the first frame of the first `count` readable episodes of data, in the model
    and (real) in the real game; every start's frame size is checked before any plays."""
    headers, starts = readable_starts(list_episodes(data), count)
    if not headers:
        raise ValueError(f"{data}: no readable episode .npz files")
    for header in headers:
        check_frame_size(header.path, (header.height, header.width), world.image_size,
                         f"the checkpoint {checkpoint}", "use a checkpoint trained on frames of that size")
    rows, real_rows = [], []
    for header, image in zip(headers, starts):
        rows.append(key_scores(play_model(world, image)))
        if real:
            level, game = level_of(header.path)
            real_rows.append(key_scores(play_real(level, world.image_size, game)))
    return rows, real_rows


def main(argv=None) -> int:
    p = OneLineParser(prog="python -m genie_core.tools.key_motion", description=__doc__,
                      formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="checkpoint folder")
    p.add_argument("--data", required=True, help="held-out episodes; each file's first frame is a level start")
    p.add_argument("--starts", type=whole(1), default=16, help="level starts to play from (default 16)")
    p.add_argument("--real", action="store_true", help="also play the real game (needs procgen) for comparison")
    p.add_argument("--json", help="write the per-start numbers and the summary here")
    add_decode_flags(p)
    add_device_flags(p)
    args = p.parse_args(argv)
    try:
        if args.json:
            check_writable(args.json, make_folders=True)
        world = keyed_world(args)
        rows, real_rows = score_starts(world, args.data, args.starts, args.real, args.checkpoint)
    except (CheckpointError, ClipFormatError, ValueError, OSError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    result = {"model": summarise(rows), "model_starts": rows, "floors": FLOORS, "plans": PLANS,
              "direction_keys": world.direction_keys, "checkpoint": args.checkpoint, "data": args.data}
    if real_rows:
        result.update(real=summarise(real_rows), real_starts=real_rows, agree=agreement(rows, real_rows))
    print_and_save(format_table(result), result, args.json)
    return 0


def format_table(result: dict) -> str:
    lines = [f"{'':<22}" + "".join(f"{title:>12}" for title in COLUMNS.values())]
    for name in ("model", "real") if "real" in result else ("model",):
        s = result[name]
        lines.append(f"{name + ' median px':<22}" + "".join(f"{s['median'][k]:>12.1f}" for k in COLUMNS))
        lines.append(f"{name + ' starts passed':<22}"
                     + "".join(f"{s['passed'][k]:>9d}/{s['starts']:<2d}" for k in FLOORS))
    if "agree" in result:
        lines.append(f"{'starts agreeing':<22}" + "".join(
            f"{result['agree'][k]:>9d}/{result['model']['starts']:<2d}" if k in AGREED else f"{'':>12}" for k in COLUMNS))
    lines.append(f"{'floor px':<22}" + "".join(f"{FLOORS[k]:>12.1f}" if k in FLOORS else f"{'(none)':>12}"
                                                for k in COLUMNS))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
