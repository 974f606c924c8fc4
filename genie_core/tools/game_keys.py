"""python -m genie_core.tools.game_keys --checkpoint DIR --data DIR [DIR ...] [--frames 10] [--max-windows 64] [--json OUT]

Does the model follow each game's own keys? From the first frame of each held-out window, --frames
frames are generated with the keys the recording agent pressed: each of procgen's actions is played
as the checkpoint's action of that name, as the window's arrow keys and `--actions` words play them
(RIGHT+UP as right+jump, else right; UP as jump; the special keys as noop), and the action prior
steers them as in play. Each frame is scored against the real one, beside copying the first frame:
- psnr: the whole frame;
- psnr_changed: only the pixels where the real game changed since the first frame (a channel moved
  by more than evaluate.CHANGED_LEVEL); a model that holds still scores there as copying does.
Both are means over the frames (frames where nothing changed are left out of psnr_changed). One
row per --data folder, one game each: the game its files name (CoinRun for files without one).
Beside them, the same from the same first frames with the LAM's labels of the real window played as
given (labels_psnr, labels_psnr_changed): the moves the game made, so the gap between the two rows is
what turning the game's keys into latent actions costs, and the labels' gap to copying is the world
model's own.
"""
from __future__ import annotations

import argparse
import os
import sys

import torch

from ..checkpoint import CheckpointError
from ..cli import OneLineParser, seed, whole
from ..data.clips import ClipFormatError, list_episodes
from ..data.procgen_keys import checkpoint_keys
from ..decoding import add_decode_flags, resolve_decode_settings
from ..device import add_device_flags
from ..files import check_writable
from ..loading import load_models
from ..world.rollout import Rollout
from . import print_and_save
from .evaluate import changed_mask, held_out_clips
from .key_motion import level_of

def psnr_on(mask_BTHW: torch.Tensor, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(B, T) PSNR (dB) over each frame's masked pixels only (NaN where none is)."""
    error = (prediction.float() - target.float()).div(255).pow(2).mean(-1)  # (B, T, H, W)
    count = mask_BTHW.flatten(2).sum(-1)
    mse = (error * mask_BTHW).flatten(2).sum(-1) / count.clamp(min=1)
    return torch.where(count > 0, 10 * torch.log10(1.0 / mse.clamp(min=1e-10)), torch.nan).clamp(max=100.0)


def played(models, settings, first_BHW3: torch.Tensor, actions_BT: torch.Tensor, generator) -> torch.Tensor:
    """(B, T, H, W, 3) the frames generated from first_BHW3 with one action a frame."""
    rollout = Rollout.of(models, settings, models.dynamics.config.max_frames, undoable=False)
    rollout.start(first_BHW3)
    return torch.stack([rollout.next_frame(actions_BT[:, t], generator) for t in range(actions_BT.shape[1])], 1)


@torch.inference_mode()
def game_scores(models, clips, latent_of: torch.Tensor, settings, frames: int, max_windows: int,
                seed: int = 0, batch: int = 16) -> dict:
    """Model (keys and the LAM's labels) and copy PSNR, whole frames and changed pixels only, over
    windows with recorded keys."""
    device = next(models.dynamics.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    rows = {}
    windows = 0
    for clip in clips.iter_windows(window=frames + 1, stride=frames + 1, batch_size=batch):
        keep = (clip.actions >= 0).all(1)[: max_windows - windows]  # windows whose keys were recorded
        if not keep.any():
            continue
        real = torch.from_numpy(clip.frames[: len(keep)][keep]).to(device)
        keys = latent_of[torch.from_numpy(clip.actions[: len(keep)][keep])].to(device)
        windows += len(real)
        shown = {"": played(models, settings, real[:, 0], keys, generator),
                 "labels_": played(models, settings.for_latent_actions(), real[:, 0],
                                   models.lam.infer_actions(real), generator),  # the moves the game made
                 "copy_": real[:, :1].expand(-1, frames, -1, -1, -1)}
        changed = changed_mask(shown["copy_"], real[:, 1:])
        for prefix, made in shown.items():
            for suffix, mask in (("", torch.ones_like(changed)), ("_changed", changed)):
                rows.setdefault(f"{prefix}psnr{suffix}", []).append(psnr_on(mask, made, real[:, 1:]).cpu())
        if windows >= max_windows:
            break
    if not windows:
        raise ValueError("no window with recorded keys: the files hold no actions")
    return {**{name: float(torch.cat(r).nanmean()) for name, r in rows.items()}, "windows": windows}


def game_of(folder: str) -> str:
    paths = list_episodes(folder)
    try:
        return level_of(paths[0])[1] if paths else os.path.basename(os.path.normpath(folder))
    except (ValueError, OSError):
        return os.path.basename(os.path.normpath(folder))


def format_table(result: dict) -> str:
    lines = [f"{result['frames']} frames from 1, played with each game's recorded keys and with the LAM's labels of the "
             "real frames (the moves the game made): PSNR (dB) and its gap to copying the first frame",
             f"{'':<12}{'copy':>16}{'keys':>32}{'labels':>32}",
             f"{'game':<12}{'whole':>8}{'changed':>8}" + f"{'whole':>16}{'changed':>16}" * 2]
    for game, s in result["games"].items():
        row = f"{game:<12}{s['copy_psnr']:>8.2f}{s['copy_psnr_changed']:>8.2f}"
        for prefix in ("", "labels_"):
            for suffix in ("", "_changed"):
                model, copy = s[f"{prefix}psnr{suffix}"], s[f"copy_psnr{suffix}"]
                row += f"{model:>9.2f}{model - copy:>+7.2f}"
        lines.append(row)
    lines.append("windows per game: " + ", ".join(f"{game} {s['windows']}" for game, s in result["games"].items()))
    return "\n".join(lines)


def main(argv=None) -> int:
    p = OneLineParser(prog="python -m genie_core.tools.game_keys", description=__doc__,
                      formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="checkpoint folder")
    p.add_argument("--data", required=True, nargs="+", help="held-out episode folders with recorded keys, one game each")
    p.add_argument("--frames", type=whole(1), default=10, help="frames generated from 1 (default 10)")
    p.add_argument("--max-windows", type=whole(1), default=64, help="windows per game (default 64)")
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--json", help="write the numbers here")
    add_decode_flags(p)
    add_device_flags(p)
    args = p.parse_args(argv)
    try:
        if args.json:
            check_writable(args.json, make_folders=True)
        models = load_models(args.checkpoint, args.device, args.precision)  # as played: see device.pick_precision
        size = models.tokenizer.config.image_size
        clips = {folder: held_out_clips(folder, args.frames + 1, size, args.checkpoint) for folder in args.data}
        settings = resolve_decode_settings(args, models.decoding)
        latent_of = checkpoint_keys(args.checkpoint, models.lam.config.num_actions)
        games = {game_of(folder): game_scores(models, windows, latent_of, settings, args.frames, args.max_windows,
                                              args.seed) for folder, windows in clips.items()}
    except (CheckpointError, ClipFormatError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    result = {"games": games, "frames": args.frames, "checkpoint": args.checkpoint}
    print_and_save(format_table(result), result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
