"""python -m genie_core.tools.long_horizon --checkpoint DIR --data DIR [--frames 40] [--max-windows 48] [--json OUT]

Does the world hold over four seconds of real play? From 1 real frame, --frames frames are generated
with the actions the LAM infers from the real clip (Genie's teacher-forced case, as evaluate does
for 10 frames), and each is scored against the real frame (PSNR), beside copying the first frame,
per frame t and per bucket of 10 frames. The dynamics model sees at most its context of frames;
older ones slide out, as in play.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys

import torch

from ..blocks.metrics import psnr_per_frame
from ..checkpoint import CheckpointError
from ..cli import OneLineParser, seed, whole
from ..data.clips import ClipFormatError
from ..decoding import add_decode_flags, resolve_decode_settings
from ..device import add_device_flags
from ..files import check_writable
from . import print_and_save
from .evaluate import load_held_out, rollout_scores

BUCKET = 10  # frames per reported bucket


@torch.inference_mode()
def long_horizon(models, clips, settings, frames: int = 40, max_windows: int = 48, seed: int = 0,
                 batch: int = 16) -> dict:
    """PSNR per t (1..frames) of the model with LAM actions and of copying frame 0, means over windows."""
    device = next(models.dynamics.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    model, copy, windows = [], [], 0
    for clip in clips.iter_windows(window=frames + 1, stride=frames + 1, batch_size=batch):
        if windows >= max_windows:
            break
        real = torch.from_numpy(clip.frames[: max_windows - windows]).to(device)
        windows += len(real)
        window = models.dynamics.config.max_frames  # the LAM labels transitions in windows it was trained on
        actions = torch.cat([models.lam.infer_actions(real[:, s:s + window])
                             for s in range(0, frames, window - 1)], dim=1)[:, :frames]
        model.append(rollout_scores(models, real, actions, settings, generator)[0])
        copy.append(psnr_per_frame(real[:, :1].expand(-1, frames, -1, -1, -1), real[:, 1:]).cpu())
    model_t, copy_t = torch.cat(model).mean(0), torch.cat(copy).mean(0)
    buckets = {f"{s + 1}-{min(s + BUCKET, frames)}": {"model": float(model_t[s:s + BUCKET].mean()),
                                                       "copy": float(copy_t[s:s + BUCKET].mean())}
               for s in range(0, frames, BUCKET)}
    return {"model_psnr_by_t": model_t.tolist(), "copy_psnr_by_t": copy_t.tolist(), "buckets": buckets,
            "windows": windows, "frames": frames, "settings": dataclasses.asdict(settings.for_latent_actions())}


def format_table(result: dict) -> str:
    lines = [f"{result['frames']} frames from 1, LAM actions, {result['windows']} windows: PSNR (dB)",
             f"{'frames':<10}{'model':>8}{'copy':>8}{'gap':>8}"]
    for bucket, s in result["buckets"].items():
        lines.append(f"{bucket:<10}{s['model']:>8.2f}{s['copy']:>8.2f}{s['model'] - s['copy']:>+8.2f}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = OneLineParser(prog="python -m genie_core.tools.long_horizon", description=__doc__,
                      formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="checkpoint folder")
    p.add_argument("--data", required=True, help="held-out episodes in the clip format")
    p.add_argument("--frames", type=whole(1, 1000), default=40, help="frames generated per window (default 40)")
    p.add_argument("--max-windows", type=whole(1), default=48, help="windows to roll out (default 48)")
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--json", help="write every number here")
    add_decode_flags(p)
    add_device_flags(p)
    args = p.parse_args(argv)
    try:
        if args.json:
            check_writable(args.json, make_folders=True)
        models, clips = load_held_out(args.checkpoint, args.data, args.device, args.frames + 1, args.precision)
    except (CheckpointError, ClipFormatError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    settings = resolve_decode_settings(args, models.decoding)
    result = long_horizon(models, clips, settings, args.frames, args.max_windows, args.seed)
    result.update(checkpoint=args.checkpoint, data=args.data)
    print_and_save(format_table(result), result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
