"""Rebuild the start images in assets/ with the project's own tools.

    python -m genie_core.data coinrun --out data/coinrun_heldout --levels 1000000:1000064 --episodes 64
    python assets/make_assets.py --heldout data/coinrun_heldout

coinrun_*.png: first frames of held-out CoinRun levels (seeds the shipped model never trained on);
drawn_level.png: a level drawn here with Pillow, in CoinRun's palette but by hand.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genie_core.data.clips import list_episodes, read_episode  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def drawn_level(size: int = 64) -> Image.Image:
    """A sky, hills, brick platforms, a coin and a player, drawn at 4x then shrunk to `size`."""
    s = size * 4
    image = Image.new("RGB", (s, s), (120, 170, 230))
    d = ImageDraw.Draw(image)
    d.ellipse((-40, 150, 140, 330), fill=(90, 150, 90))
    d.ellipse((100, 170, 320, 360), fill=(80, 140, 85))
    for x0, y0, w in ((0, 220, 256), (60, 160, 64), (160, 120, 64)):
        for x in range(x0, x0 + w, 16):
            d.rectangle((x, y0, x + 15, y0 + 15), fill=(150, 90, 50), outline=(90, 50, 30))
        if y0 == 220:
            d.rectangle((x0, y0 + 16, x0 + w, s), fill=(120, 70, 40))
    d.ellipse((184, 88, 204, 108), fill=(250, 210, 40), outline=(200, 150, 20), width=3)
    d.rectangle((28, 188, 44, 219), fill=(230, 230, 240), outline=(40, 40, 60), width=2)
    d.rectangle((31, 194, 41, 200), fill=(40, 40, 60))
    return image.resize((size, size), Image.Resampling.BOX)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--heldout", required=True, help="held-out CoinRun episodes (clip format)")
    p.add_argument("--count", type=int, default=4)
    args = p.parse_args()
    drawn_level().save(os.path.join(HERE, "drawn_level.png"))
    for i, path in enumerate(list_episodes(args.heldout)[: args.count]):
        episode = read_episode(path)
        level = int(episode.extras.get("level", i))
        Image.fromarray(np.asarray(episode.frames[0])).save(os.path.join(HERE, f"coinrun_level{level}.png"))
    print(f"wrote {args.count} held-out CoinRun start images and drawn_level.png to {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
