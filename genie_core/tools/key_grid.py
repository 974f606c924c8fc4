"""python -m genie_core.tools.key_grid --checkpoint DIR --images A.png B.png ... --out PREFIX [--actions PLAN]

Many worlds under the same keys: from each picture (a game's level start, a drawing, a photo), the
same plan of named keys (--actions, default right*10,jump*6,left*10,noop*4) is played, and
PREFIX.gif shows the worlds side by side, tick by tick, under a caption naming the key held.
Each picture also plays Right x10, Left x10 and Jump x10 from its start alone, and the table (and
PREFIX.json) says how far each moved the picture's content: the camera's dx and dy summed over the
ticks (content moving left is the player going right; a jump lifts the content, dy > 0), and the
share of pixels changed from the start (a still screen whose figure moves changes pixels, not the camera).
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import torch
from PIL import Image, ImageDraw

from ..blocks.motion import frame_motions
from ..checkpoint import CheckpointError
from ..cli import OneLineParser, whole
from ..decoding import add_decode_flags, resolve_decode_settings
from ..device import add_device_flags
from ..files import atomic_write, check_writable
from ..imaging import ImageLoadError, load_image
from ..loading import load_world
from . import print_and_save
from .evaluate import changed_pixels
from .key_motion import plan_words, play_plan

PLAN = "right*10,jump*6,left*10,noop*4"
KEY_CHECKS = {"right": "right*10", "left": "left*10", "jump": "jump*10"}
CAPTION = 12  # px of caption above the tiles


def grid_frames(worlds: list[list[np.ndarray]], keys: list[str], scale: int) -> list[Image.Image]:
    """One picture per tick: the worlds side by side (scaled), the key held written above."""
    size = worlds[0][0].shape[0] * scale
    out = []
    for t in range(len(worlds[0])):
        canvas = Image.new("RGB", (size * len(worlds), size + CAPTION), (20, 20, 20))
        for i, frames in enumerate(worlds):
            canvas.paste(Image.fromarray(frames[t]).resize((size, size), Image.Resampling.NEAREST), (i * size, CAPTION))
        ImageDraw.Draw(canvas).text((3, 0), f"tick {t:>2}  {keys[t - 1] if t else 'start'}", fill=(230, 230, 230))
        out.append(canvas)
    return out


def shared_palette(frames: list[Image.Image], colours: int = 128) -> list[Image.Image]:
    """The frames in one palette drawn from four of them, undithered: a third smaller GIF than a palette
    per frame, and no palette flicker."""
    width, height = frames[0].size
    picks = [frames[i * (len(frames) - 1) // 3] for i in range(4)]
    sample = Image.new("RGB", (width, height * 4))
    for i, frame in enumerate(picks):
        sample.paste(frame, (0, height * i))
    palette = sample.quantize(colours, Image.Quantize.MEDIANCUT)
    return [frame.quantize(palette=palette, dither=Image.Dither.NONE) for frame in frames]


def main(argv=None) -> int:
    p = OneLineParser(prog="python -m genie_core.tools.key_grid", description=__doc__,
                      formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="checkpoint folder")
    p.add_argument("--images", required=True, nargs="+", help="start pictures, one world each")
    p.add_argument("--out", required=True, help="writes PREFIX.gif and PREFIX.json")
    p.add_argument("--actions", default=PLAN, help=f"the keys every world plays, in the GIF (default {PLAN})")
    p.add_argument("--scale", type=whole(1, 8), default=2, help="GIF pixels per model pixel (default 2)")
    add_decode_flags(p)
    add_device_flags(p)
    args = p.parse_args(argv)
    try:
        for suffix in (".gif", ".json"):
            check_writable(args.out + suffix, make_folders=True)
        world = load_world(args.checkpoint, args.device, precision=args.precision)
        world.settings = resolve_decode_settings(args, world.settings)
        starts = [load_image(path, world.image_size)[0] for path in args.images]
        worlds = [play_plan(world, image, args.actions) for image in starts]
        keys = plan_words(args.actions)
        rows = {}
        for path, image in zip(args.images, starts):
            rows[os.path.basename(path)] = {}
            for key, plan in KEY_CHECKS.items():
                frames = play_plan(world, image, plan)
                dx, dy = frame_motions(frames).sum(0).tolist()  # the content's move, frame to frame
                changed = float(changed_pixels(torch.from_numpy(image)[None], torch.from_numpy(frames[-1])[None]))
                rows[os.path.basename(path)][key] = {"dx": dx, "dy": dy, "changed": changed}
    except (CheckpointError, ImageLoadError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    images = shared_palette(grid_frames(worlds, keys, args.scale))
    atomic_write(args.out + ".gif", lambda f: images[0].save(f, format="GIF", save_all=True, append_images=images[1:],
                                                             duration=150, loop=0, optimize=True))
    lines = [f"{'picture':<28}" + "".join(f"{k + ' x10 dx/dy, changed':>28}" for k in KEY_CHECKS)]
    for name, checks in rows.items():
        lines.append(f"{name:<28}" + "".join(f"{s['dx']:>12} / {s['dy']:<4}{s['changed']:>9.0%}" for s in checks.values()))
    lines.append(f"wrote {args.out}.gif")
    print_and_save("\n".join(lines), {"pictures": rows, "plan": args.actions, "checkpoint": args.checkpoint},
                   args.out + ".json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
