"""python -m genie_core.tools.action_sheet --checkpoint DIR --image PATH --out PREFIX [--frames 8] [--seed 0]

What does each latent action do? From one start image, one row per action: the start frame, then
`--frames` generated frames holding that action, every row from a fresh reset with the same seed
(so rows differ only by the action). Writes PREFIX.png (the grid) and PREFIX.gif (frame k shows
step k of every action side by side), each labelled with the action id, its name from the
checkpoint's actions.json when there is one, and (in the PNG) how far it moved the picture: the
sum over the row of each frame's camera motion, measured on the pixels (motion.py), as the
content's (dx, dy) in px (Right moves the content left: dx < 0; a jump moves it down: dy > 0).
"""
from __future__ import annotations

import io
import sys

import numpy as np
from PIL import Image, ImageDraw

from ..blocks.motion import frame_motions
from ..checkpoint import CheckpointError
from ..cli import OneLineParser, seed, whole
from ..decoding import add_decode_flags, decode_flags_given
from ..device import add_device_flags
from ..files import atomic_write_bytes, check_writable
from ..imaging import load_image
from ..loading import load_world
from ..world import World

PAD = 2  # pixels between cells
LABEL_WIDTH = 84  # left column of the PNG grid, for "action 7" and a name
HEADER = 14  # strip above the grid (column steps) and above each GIF frame ("step k")
CAPTION = 12  # label strip above each cell of the GIF
GIF_COLUMNS = 4  # actions per row in the GIF: 8 actions make a 4 x 2 block
MIN_CELL = 96  # small models are upscaled further so labels and pixels stay readable
BACKGROUND, INK = (24, 24, 24), (235, 235, 235)


def action_sheet(world: World, image: np.ndarray, frames: int) -> list[list[np.ndarray]]:
    """rows[action] = [start frame, then `frames` generated frames holding that action]."""
    rows = []
    for action in range(world.num_actions):
        row = [world.reset(image)]  # reset reseeds: every row draws the same random numbers
        row += [world.step(action) for _ in range(frames)]
        rows.append(row)
    return rows


def upscale_factor(image_size: int) -> int:
    """x3, or more for tiny frames, nearest-neighbour so pixel art stays crisp."""
    return max(3, -(-MIN_CELL // image_size))


def action_labels(num_actions: int, names: list[str] | None, one_line: bool = False) -> list[str]:
    """"action 3" and its name from actions.json when known; one_line ("3 jump") for the GIF captions."""
    if not names:
        return [f"action {a}" for a in range(num_actions)]
    return [f"{a} {name[:13]}" if one_line else f"action {a}\n{name[:13]}" for a, name in enumerate(names)]


def upscale(frame: np.ndarray, scale: int) -> Image.Image:
    return Image.fromarray(frame.repeat(scale, axis=0).repeat(scale, axis=1))


def draw_grid(rows: list[list[np.ndarray]], labels: list[str], scale: int) -> Image.Image:
    """PNG layout: header of step numbers, then per action a label column and its frames."""
    cell = rows[0][0].shape[0] * scale
    columns = len(rows[0])
    canvas = Image.new("RGB", (LABEL_WIDTH + PAD + columns * (cell + PAD), HEADER + PAD + len(rows) * (cell + PAD)),
                       BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    for j in range(columns):
        draw.text((LABEL_WIDTH + PAD + j * (cell + PAD) + 2, 1), "start" if j == 0 else f"t+{j}", fill=INK)
    for i, (row, label) in enumerate(zip(rows, labels)):
        y = HEADER + PAD + i * (cell + PAD)
        draw.text((4, y + 2), label, fill=INK)
        for j, frame in enumerate(row):
            canvas.paste(upscale(frame, scale), (LABEL_WIDTH + PAD + j * (cell + PAD), y))
    return canvas


def draw_animation(rows: list[list[np.ndarray]], labels: list[str], scale: int) -> list[Image.Image]:
    """GIF frames: frame k shows step k of every action, GIF_COLUMNS actions per row, each captioned."""
    cell = rows[0][0].shape[0] * scale
    columns = min(len(rows), GIF_COLUMNS)
    grid_rows = -(-len(rows) // columns)
    size = (PAD + columns * (cell + PAD), HEADER + PAD + grid_rows * (CAPTION + cell + PAD))
    pictures = []
    for k in range(len(rows[0])):
        canvas = Image.new("RGB", size, BACKGROUND)
        draw = ImageDraw.Draw(canvas)
        # The step caption also keeps consecutive frames distinct, so Pillow never merges two of them.
        draw.text((PAD + 2, 1), "start" if k == 0 else f"step {k}", fill=INK)
        for a, (row, label) in enumerate(zip(rows, labels)):
            x = PAD + (a % columns) * (cell + PAD)
            y = HEADER + PAD + (a // columns) * (CAPTION + cell + PAD)
            draw.text((x + 1, y), label, fill=INK)
            canvas.paste(upscale(row[k], scale), (x, y + CAPTION))
        pictures.append(canvas)
    return pictures


def write_png(picture: Image.Image, path: str) -> None:
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())


def write_gif(pictures: list[Image.Image], path: str, frame_ms: int = 300, hold_ms: int = 1200) -> None:
    """Looping GIF; the last frame is held longer so the end state of every action can be read."""
    buffer = io.BytesIO()
    durations = [frame_ms] * (len(pictures) - 1) + [hold_ms]
    pictures[0].save(buffer, format="GIF", save_all=True, append_images=pictures[1:], duration=durations, loop=0)
    atomic_write_bytes(path, buffer.getvalue())


def main(argv: list[str] | None = None) -> int:
    p = OneLineParser(prog="python -m genie_core.tools.action_sheet", description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--image", required=True, help="start image (any size; centre-cropped to the model's)")
    p.add_argument("--out", required=True, help="output prefix: writes PREFIX.png and PREFIX.gif")
    p.add_argument("--frames", type=whole(1, 256), default=8, help="generated frames per action (default 8)")
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--scale", type=whole(1, 32), help="upscale factor (default: x3, more for tiny models)")
    add_device_flags(p)
    add_decode_flags(p)
    args = p.parse_args(argv)
    try:
        for suffix in (".png", ".gif"):
            check_writable(f"{args.out}{suffix}", make_folders=True)
        world = load_world(args.checkpoint, args.device, seed=args.seed, decode=decode_flags_given(args), precision=args.precision)
        image, note = load_image(args.image, world.image_size)
    except (CheckpointError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if note:
        print(note, file=sys.stderr)
    rows = action_sheet(world, image, args.frames)
    scale = args.scale or upscale_factor(world.image_size)
    labels = [f"{label}\nmoved {dx:+d},{dy:+d}" for label, (dx, dy) in
              zip(action_labels(world.num_actions, world.action_names), (frame_motions(row).sum(0).tolist() for row in rows))]
    try:
        write_png(draw_grid(rows, labels, scale), f"{args.out}.png")
        write_gif(draw_animation(rows, action_labels(world.num_actions, world.action_names, one_line=True), scale),
                  f"{args.out}.gif")
    except OSError as error:
        print(f"error: cannot write {args.out}.png/.gif ({error})", file=sys.stderr)
        return 2
    print(f"wrote {args.out}.png and {args.out}.gif ({world.num_actions} actions x {args.frames + 1} frames)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
