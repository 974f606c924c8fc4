"""python -m genie_core.tools.free_play --checkpoint DIR --data DIR [--starts 16] [--json OUT] [--picture OUT.png]

Does a minute of play still look like the game? From the first frame (a level start) of each of the
first --starts episodes of --data, the same keys (--actions; default 120 ticks of right, jump,
left and noop) are played in the real game (procgen: the file's game and level seed, hard mode)
and in the model, and every frame is measured, per bucket of ticks, model beside real:
- edges across / down: on the frame averaged over 4x4-pixel blocks (16x16; fine noise and
  hatching average out, walls, platforms and gaps stay), the share of blocks whose colour steps
  by more than 40 (summed over RGB) to the right neighbour / to the one below. Horizontal bands
  have no edges across, flat fill none at all;
- flat: frames whose most common colour (in steps of 8) covers more than 85% of the pixels;
- still: frames identical to the frame before, pixel for pixel: a world whose keys no longer move
  anything (a move critic refusing every move, a key steered to no move) scores well on the rest;
- level colours: how much of the frame's mix of colours (in steps of 32) the level's mix holds, as its
  recorded episode (the --data file) and the real game's first 60 ticks of the plan show it (histogram
  intersection: 100% for the same mix). Procgen draws each level in colours of its own (two levels of a
  game: 1-50%), so ground drawn from another level's or game's tiles, or flat fill, falls here where edges
  do not; the real game's late ticks fall only as far as new parts of its level look different;
- player seen: at least 3 pixels within 4 of the start frame's player skin colours (CoinRun draws
  five skins; checked on real frames: seen in 100% of dev and held-out frames, and in 0-2% with
  the player's square blanked out);
- camera: the content's cumulative motion (dx, dy) at the bucket's end, median over starts; the real
  game's stops where its level restarts (the coin reached or the player dead: procgen replays the
  level from its start), and the table says in how many starts and at which ticks that happened.
--picture draws the real game (upper row) above the model (lower row), every 10th tick (fewer for
plans past 240 ticks), per start. Plans past 120 ticks are also reported every 150 ticks to their end,
and from tick 121 to the end (the window minute's keys: docs/evaluation.md).
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys

import numpy as np

from ..blocks.motion import frame_motions
from ..checkpoint import CheckpointError
from ..cli import OneLineParser, whole
from ..data.clips import ClipFormatError, check_frame_size, list_episodes, read_frames, read_header
from ..decoding import add_decode_flags, resolve_decode_settings
from ..device import add_device_flags
from ..files import atomic_write_bytes, check_writable
from ..loading import load_world
from . import print_and_save
from .key_motion import level_of, plan_words, play_real_keys

PLAN = "right*30,jump*4,right*25,left*15,jump*4,right*30,noop*12"
BUCKETS = ((1, 20), (21, 40), (41, 60), (61, 90), (91, 120), (61, 120))  # ticks, inclusive
LONG_BUCKET = 150  # ticks per bucket after the first 120, for plans as long as a minute of play
# The player's colours in each skin CoinRun draws (read off the sprites as rendered at 64x64).
SKINS = {"beige": [(233, 223, 199), (230, 218, 191), (224, 209, 175)],
         "blue": [(175, 203, 238), (163, 195, 235), (141, 181, 231)],
         "green": [(154, 214, 195), (139, 207, 186), (111, 196, 169)],
         "pink": [(245, 186, 204), (243, 175, 197), (241, 156, 183)],
         "yellow": [(255, 219, 77), (255, 214, 51)]}
SKIN_TOLERANCE, SKIN_PIXELS = 4, 3
# Colours are compared in steps of 32: coarse enough for the tokenizer's decoding (about 11 RMS at 27 dB).
COLOUR_STEP, LEVEL_TICKS = 32, 60


def edges(frame: np.ndarray) -> np.ndarray:
    """(across, down) shares of blocks (a 16x16 grid: 4x4 pixels at 64x64) with a strong colour step to
    the next block."""
    h, w = frame.shape[0] // 16, frame.shape[1] // 16
    x = frame.astype(float).reshape(16, h, 16, w, 3).mean((1, 3))
    return np.array([np.mean(np.abs(np.diff(x, axis=1)).sum(-1) > 40),
                     np.mean(np.abs(np.diff(x, axis=0)).sum(-1) > 40)])


def is_flat(frame: np.ndarray) -> bool:
    _, counts = np.unique(frame.reshape(-1, 3) // 8, axis=0, return_counts=True)
    return counts.max() / (frame.shape[0] * frame.shape[1]) > 0.85


def skin_pixels(frame: np.ndarray, skin: str, tolerance: int = SKIN_TOLERANCE) -> int:
    colours = np.array(SKINS[skin], np.int16)
    return int((np.abs(frame[:, :, None, :].astype(np.int16) - colours).max(-1) <= tolerance).any(-1).sum())


def skin_of(frame: np.ndarray) -> str:
    """The skin whose exact colours fill most of the central square (where the camera keeps the player)."""
    h, w = frame.shape[0] // 2, frame.shape[1] // 2
    centre = frame[h - 8:h + 8, w - 8:w + 8]
    return max(SKINS, key=lambda skin: skin_pixels(centre, skin, 0))


def player_seen(frame: np.ndarray, skin: str) -> bool:
    return skin_pixels(frame, skin) >= SKIN_PIXELS


def colour_histogram(frames: list[np.ndarray]) -> np.ndarray:
    """The frames' pixels' shares over colours in steps of COLOUR_STEP (a flat array)."""
    n = 256 // COLOUR_STEP
    bins = np.concatenate([f.reshape(-1, 3) for f in frames]).astype(np.int64) // COLOUR_STEP
    counts = np.bincount(bins @ np.array([n * n, n, 1]), minlength=n ** 3)
    return counts / counts.sum()


def level_colours(frame: np.ndarray, level: np.ndarray) -> float:
    """How much of the frame's colour mix the level's (colour_histogram) holds: 1 for the same mix."""
    return float(np.minimum(colour_histogram([frame]), level).sum())


def frame_scores(frames: list[np.ndarray], skin: str, level: np.ndarray, restart: int | None = None
                 ) -> dict[str, np.ndarray]:
    """Per frame (start frame first): edges (T, 2), flat (T,), still (T,), player (T,), level colours (T,),
    camera (T, 2) cumulative. level: the level's colour_histogram; restart: the tick at which the level
    restarted (RealPlay), from which the camera stays where it was."""
    camera = np.concatenate((np.zeros((1, 2)), np.cumsum(frame_motions(frames).numpy(), axis=0)))
    if restart is not None:
        camera[restart:] = camera[restart - 1]
    still = [False] + [np.array_equal(before, after) for before, after in zip(frames[:-1], frames[1:])]
    return {"edges": np.stack([edges(f) for f in frames]), "flat": np.array([is_flat(f) for f in frames]),
            "still": np.array(still),
            "player": np.array([player_seen(f, skin) for f in frames]),
            "colours": np.array([level_colours(f, level) for f in frames]), "camera": camera}


def buckets_for(ticks: int) -> list[tuple[int, int]]:
    """The buckets a plan of `ticks` ticks is reported in: BUCKETS (the ones it reaches), then every
    LONG_BUCKET ticks to its end (a last stretch under half of that joins the bucket before it) and,
    where that makes more than one, all of them together (121 to the end, as 61-120 sums 61-90 and 91-120)."""
    buckets = [(first, last) for first, last in BUCKETS if last <= ticks]
    long = [[first, min(first + LONG_BUCKET - 1, ticks)] for first in range(121, ticks + 1, LONG_BUCKET)]
    if len(long) > 1 and long[-1][1] - long[-1][0] + 1 < LONG_BUCKET // 2:
        end = long.pop()[1]
        long[-1][1] = end
    return buckets + [tuple(bucket) for bucket in long] + ([(121, ticks)] if len(long) > 1 else [])


def bucket_summary(runs: list[dict[str, np.ndarray]]) -> dict[str, dict]:
    """Means over starts and the ticks of each bucket; the camera's median over starts at its end."""
    out = {}
    for first, last in buckets_for(len(runs[0]["flat"]) - 1):
        ticks = slice(first, last + 1)
        edge = np.mean([r["edges"][ticks].mean(0) for r in runs], 0)
        out[f"{first}-{last}"] = {
            "edges_across": float(edge[0]), "edges_down": float(edge[1]),
            "flat": float(np.mean([r["flat"][ticks].mean() for r in runs])),
            "still": float(np.mean([r["still"][ticks].mean() for r in runs])),
            "player": float(np.mean([r["player"][ticks].mean() for r in runs])),
            "colours": float(np.mean([r["colours"][ticks].mean() for r in runs])),
            "camera_dx": float(np.median([r["camera"][last, 0] for r in runs])),
            "camera_dy": float(np.median([r["camera"][last, 1] for r in runs]))}
    return out


def start_record(episode: str, model: dict[str, np.ndarray], real: dict[str, np.ndarray]) -> dict:
    """One start's buckets, model and real, and its share of model frames one flat colour after tick 60 (the
    issue-24 measure's late ticks): which starts a flat-frame share comes from."""
    return {"episode": episode, "model": bucket_summary([model]), "real": bucket_summary([real]),
            "model_flat_after_60": float(model["flat"][61:].mean()) if len(model["flat"]) > 61 else 0.0}


def picture(pairs: list[tuple[list[np.ndarray], list[np.ndarray]]], every: int = 10, scale: int = 2) -> np.ndarray:
    """Per start, the real frames (upper row) above the model's (lower row), every `every`th tick."""
    rows = []
    for real, model in pairs:
        for frames in (real, model):
            rows.append(np.concatenate(frames[::every], axis=1))
        rows.append(np.full((4, rows[-1].shape[1], 3), 255, np.uint8))  # a white line between starts
    sheet = np.concatenate(rows[:-1], axis=0)
    return sheet.repeat(scale, 0).repeat(scale, 1)


def picture_every(ticks: int) -> int:
    """Every 10th tick, or fewer where that would draw more than about 24 frames a row (a minute's plan)."""
    return max(10, -(-ticks // 240) * 10)


def format_table(result: dict) -> str:
    lines = [f"free play, {result['starts']} starts, keys {result['plan']}",
             f"{'ticks':<8}{'edges across m/r':>18}{'edges down m/r':>18}{'flat m/r':>14}{'still m/r':>14}{'player m/r':>14}"
             f"{'colours m/r':>14}{'camera dx m/r':>16}{'camera dy m/r':>16}"]
    for bucket, m in result["model"].items():
        r = result["real"][bucket]
        lines.append(f"{bucket:<8}{m['edges_across']:>9.3f} /{r['edges_across']:>6.3f}"
                     f"{m['edges_down']:>11.3f} /{r['edges_down']:>6.3f}{m['flat']:>8.1%} /{r['flat']:>5.1%}"
                     f"{m['still']:>8.1%} /{r['still']:>5.1%}"
                     f"{m['player']:>8.0%} /{r['player']:>5.0%}{m['colours']:>8.0%} /{r['colours']:>5.0%}"
                     f"{m['camera_dx']:>9.1f} /{r['camera_dx']:>6.1f}"
                     f"{m['camera_dy']:>9.1f} /{r['camera_dy']:>6.1f}")
    restarts = [t for t in result.get("real_restarts", []) if t is not None]
    if restarts:
        lines.append(f"the real level restarted (coin or death) in {len(restarts)} of {result['starts']} starts, "
                     f"at ticks {min(restarts)}-{max(restarts)}: its camera stops there, its frames replay the level")
    flat = [(r["episode"], r["model_flat_after_60"]) for r in result.get("per_start", []) if r["model_flat_after_60"]]
    if flat:
        lines.append("model frames one flat colour after tick 60, by start: "
                     + ", ".join(f"{name} {share:.0%}" for name, share in flat))
    for name, late in (("61-120", result["ratio_61_120"]), (result.get("last_bucket"), result.get("ratio_last"))):
        if name is not None:
            lines.append(f"ticks {name}, model / real: edges across {late['edges_across']:.2f}x, edges down "
                         f"{late['edges_down']:.2f}x")
    return "\n".join(lines)


def edge_ratio(model: dict | None, real: dict | None) -> dict[str, float]:
    """A bucket's edges across and down, model over real (nan where the plan does not reach it)."""
    if not (model and real):
        return {"edges_across": float("nan"), "edges_down": float("nan")}
    return {k: model[k] / max(real[k], 1e-9) for k in ("edges_across", "edges_down")}


def late_ratios(model: dict, real: dict) -> dict:
    """Edge ratios of ticks 61-120 and, for a plan past 120 ticks, of its last row (121 to its end)."""
    ratios = {"ratio_61_120": edge_ratio(model.get("61-120"), real.get("61-120"))}
    last = list(model)[-1] if model else None
    if last and int(last.split("-")[1]) > 120:
        ratios.update(last_bucket=last, ratio_last=edge_ratio(model[last], real[last]))
    return ratios


def play_start(world, start: np.ndarray, path: str, plan: list, keys: list[str]
               ) -> tuple[list[np.ndarray], list[np.ndarray], int | None]:
    """The model's frames and the real game's under the same keys from the level start of the episode at
    path, and the tick at which the real level restarted (None: it did not)."""
    from play.session import run_session
    model = run_session(world, start, plan).frames
    level, game = level_of(path)
    real = play_real_keys(level, world.image_size, keys, game)
    return model, real.frames, real.restart


def main(argv=None) -> int:
    p = OneLineParser(prog="python -m genie_core.tools.free_play", description=__doc__,
                      formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="checkpoint folder")
    p.add_argument("--data", required=True, help="episodes made by `genie_core.data coinrun`; first frames are level starts")
    p.add_argument("--starts", type=whole(1), default=16, help="level starts to play from (default 16)")
    p.add_argument("--actions", default=PLAN, help=f"the keys, as main.py --actions reads them (default {PLAN})")
    p.add_argument("--json", help="write every number here")
    p.add_argument("--picture", help="write the real-above-model picture here (PNG)")
    p.add_argument("--picture-starts", type=whole(1), default=4, help="starts drawn in --picture (default 4)")
    add_decode_flags(p)
    add_device_flags(p)
    args = p.parse_args(argv)
    from play.session import parse_actions
    try:
        for path in (args.json, args.picture):
            if path:
                check_writable(path, make_folders=True)
        world = load_world(args.checkpoint, args.device, precision=args.precision)
        world.settings = resolve_decode_settings(args, world.settings)
        plan = parse_actions(args.actions, world.num_actions, world.action_names, world.direction_keys)
        keys = plan_words(args.actions)
        headers = [read_header(path) for path in list_episodes(args.data)[:args.starts]]
        if not headers:
            raise ValueError(f"{args.data}: no episode .npz files")
        model_runs, real_runs, pairs, restarts = [], [], [], []
        for header in headers:
            check_frame_size(header.path, (header.height, header.width), world.image_size,
                             f"the checkpoint {args.checkpoint}", "use a checkpoint trained on frames of that size")
            recorded = [np.array(frame) for frame in read_frames(header)]
            model, real, restart = play_start(world, recorded[0], header.path, plan, keys)
            restarts.append(restart)
            level_mix = colour_histogram(recorded + real[:LEVEL_TICKS + 1])
            model_runs.append(frame_scores(model, skin_of(recorded[0]), level_mix))
            real_runs.append(frame_scores(real, skin_of(recorded[0]), level_mix, restart))
            if len(pairs) < args.picture_starts:
                pairs.append((real, model))
    except (CheckpointError, ClipFormatError, ValueError, OSError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    result = {"model": bucket_summary(model_runs), "real": bucket_summary(real_runs), "starts": len(headers),
              "plan": args.actions, "checkpoint": args.checkpoint, "data": args.data,
              "settings": dataclasses.asdict(world.settings), "real_restarts": restarts,
              "per_start": [start_record(os.path.basename(header.path), model_run, real_run)
                            for header, model_run, real_run in zip(headers, model_runs, real_runs)]}
    result.update(late_ratios(result["model"], result["real"]))
    print_and_save(format_table(result), result, args.json)
    if args.picture:
        from io import BytesIO

        from PIL import Image
        buffer = BytesIO()
        Image.fromarray(picture(pairs, picture_every(len(plan)))).save(buffer, format="PNG")
        atomic_write_bytes(args.picture, buffer.getvalue())
        print(f"wrote {args.picture}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
