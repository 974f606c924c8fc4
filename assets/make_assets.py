"""Rebuild the start images in assets/ with the project's own tools.

    python -m genie_core.data coinrun --out data/coinrun_heldout --levels 1000000:1000064 --episodes 64
    python assets/make_assets.py --heldout data/coinrun_heldout [--games data/games]

coinrun_*.png: first frames of held-out CoinRun levels (seeds the shipped model never trained on);
drawn_level.png: a level drawn here with Pillow, in CoinRun's palette but by hand;
pencil_level.png: a level sketched in graphite on paper, and photo_landscape.png: a photo-like
landscape (pictures no game made, both drawn by this script, seeded); games/GAME.png: the first frame
of each game's first held-out episode (with --games: the folder of docs/data.md's GAME_heldout folders). In both the figure stands at the
centre of the picture, where a platformer's camera keeps its player.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

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


def _stroke(d: ImageDraw.ImageDraw, rng: np.random.Generator, points, shade: int, passes: int = 2) -> None:
    """A pencil line through points: a few jittered passes of graphite of about `shade` grey."""
    for _ in range(passes):
        jittered = [(x + rng.normal(0, 1.2), y + rng.normal(0, 1.2)) for x, y in points]
        d.line(jittered, fill=(shade + int(rng.integers(-15, 15)),) * 3, width=int(rng.integers(2, 4)))


def _hatch(d: ImageDraw.ImageDraw, rng: np.random.Generator, box, shade: int, step: int = 7) -> None:
    """Diagonal pencil hatching inside box (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    for k in range(x0 - (y1 - y0), x1, step):
        a, b = (max(k, x0), y0 + max(x0 - k, 0)), (min(k + (y1 - y0), x1), y0 + min(x1 - k, y1 - y0))
        if a[0] < b[0]:
            d.line([(a[0] + rng.normal(0, 0.8), a[1]), (b[0] + rng.normal(0, 0.8), b[1])],
                   fill=(shade + int(rng.integers(-20, 20)),) * 3, width=2)


def pencil_level(size: int = 64, seed: int = 0) -> Image.Image:
    """Graphite on off-white paper: ground, two ledges, a coin, spikes and a stick figure on the ledge
    at the centre; drawn at 4x then shrunk to `size`."""
    rng = np.random.default_rng(seed)
    s = size * 4
    paper = 232 + rng.normal(0, 4, (s, s, 1)) + np.array([3, 0, -8])  # warm paper with grain
    image = Image.fromarray(paper.clip(0, 255).astype(np.uint8))
    d = ImageDraw.Draw(image)
    _stroke(d, rng, [(0, 200), (90, 198), (150, 202), (256, 199)], 70, passes=3)  # the ground
    _hatch(d, rng, (0, 204, 256, 256), 120)
    for x0, y0, x1 in ((96, 141, 168), (188, 100, 250), (10, 120, 60)):  # ledges; the figure's at the centre
        _stroke(d, rng, [(x0, y0), (x1, y0), (x1, y0 + 12), (x0, y0 + 12), (x0, y0)], 80)
        _hatch(d, rng, (x0 + 2, y0 + 2, x1 - 2, y0 + 11), 140, step=5)
    for _ in range(2):  # the coin
        d.ellipse((212 + rng.normal(0, 1), 70 + rng.normal(0, 1), 230, 88), outline=(90, 90, 90), width=2)
    _stroke(d, rng, [(60, 200), (68, 184), (76, 200), (84, 184), (92, 200)], 60)  # spikes
    cx = 132  # the stick figure, feet on the centre ledge
    d.ellipse((cx - 5, 108, cx + 5, 118), outline=(50, 50, 50), width=3)
    _stroke(d, rng, [(cx, 118), (cx, 131)], 50)
    _stroke(d, rng, [(cx - 7, 122), (cx, 124), (cx + 7, 122)], 50)
    _stroke(d, rng, [(cx - 6, 140), (cx, 131), (cx + 6, 140)], 50)
    image = image.filter(ImageFilter.GaussianBlur(0.6))
    return image.resize((size, size), Image.Resampling.LANCZOS)


def _ridge(rng: np.random.Generator, width: int, base: float, rough: float) -> np.ndarray:
    """A mountain or hill line: heights (width,) from summed random sine waves."""
    x = np.arange(width)
    heights = np.full(width, float(base))
    for octave in range(1, 6):
        heights += rough / octave * np.sin(x * octave * rng.uniform(0.01, 0.03) + rng.uniform(0, 6.28))
    return heights


def photo_landscape(size: int = 64, seed: int = 1) -> Image.Image:
    """A photo-like scene: sky, clouds, far mountains, green hills, a rock ledge and a hiker in a red
    jacket on it at the centre; textured with noise and softened like a lens; drawn at 4x."""
    rng = np.random.default_rng(seed)
    s = size * 4
    rows = np.linspace(0, 1, s)[:, None, None]
    img = (np.array([95, 150, 215]) * (1 - rows) + np.array([200, 220, 235]) * rows) * np.ones((s, s, 3))
    yy, xx = np.mgrid[:s, :s]
    for cx, cy, rx, ry in ((60, 40, 50, 14), (170, 60, 60, 12), (230, 30, 35, 10)):  # clouds
        cloud = np.exp(-(((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2))
        img += cloud[..., None] * (np.array([250, 250, 252]) - img) * 0.85
    layers = ((_ridge(rng, s, 120, 30), np.array([110, 125, 150]), 6),
              (_ridge(rng, s, 165, 14), np.array([70, 120, 60]), 14),
              (_ridge(rng, s, 200, 8), np.array([55, 95, 40]), 20))
    for heights, colour, grain in layers:
        below = yy >= heights[None, :]
        shade = 1 - 0.25 * ((yy - heights[None, :]) / s).clip(0, 1)
        texture = rng.normal(0, grain, (s, s, 1))
        img = np.where(below[..., None], colour * shade[..., None] + texture, img)
    ledge = (xx > 92) & (xx < 176) & (yy > 141) & (yy < 160 + (xx - 134) ** 2 / 120)  # grey rock
    img = np.where(ledge[..., None], np.array([120, 115, 108]) + rng.normal(0, 14, (s, s, 1)), img)
    image = Image.fromarray(img.clip(0, 255).astype(np.uint8))
    d = ImageDraw.Draw(image)
    cx = 134  # the hiker: legs, red jacket, head, feet on the ledge at the centre
    d.rectangle((cx - 4, 128, cx - 1, 141), fill=(40, 45, 70))
    d.rectangle((cx + 1, 128, cx + 4, 141), fill=(40, 45, 70))
    d.rectangle((cx - 6, 112, cx + 6, 129), fill=(190, 35, 30))
    d.ellipse((cx - 4, 103, cx + 4, 112), fill=(225, 185, 150))
    image = image.filter(ImageFilter.GaussianBlur(0.8))
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--heldout", required=True, help="held-out CoinRun episodes (clip format)")
    p.add_argument("--count", type=int, default=4)
    p.add_argument("--games", help="folder holding GAME_heldout episode folders (docs/data.md)")
    args = p.parse_args()
    drawn_level().save(os.path.join(HERE, "drawn_level.png"))
    pencil_level().save(os.path.join(HERE, "pencil_level.png"))
    photo_landscape().save(os.path.join(HERE, "photo_landscape.png"))
    for i, path in enumerate(list_episodes(args.heldout)[: args.count]):
        episode = read_episode(path)
        level = int(episode.extras.get("level", i))
        Image.fromarray(np.asarray(episode.frames[0])).save(os.path.join(HERE, f"coinrun_level{level}.png"))
    if args.games:
        os.makedirs(os.path.join(HERE, "games"), exist_ok=True)
        for folder in sorted(f for f in os.listdir(args.games) if f.endswith("_heldout")):
            episode = read_episode(list_episodes(os.path.join(args.games, folder))[0])
            name = folder.removesuffix("_heldout")
            Image.fromarray(np.asarray(episode.frames[0])).save(os.path.join(HERE, "games", f"{name}.png"))
    print(f"wrote {args.count} held-out CoinRun start images, drawn_level.png, pencil_level.png and "
          f"photo_landscape.png to {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
