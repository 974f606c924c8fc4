"""The command line of `python -m genie_core.train`: one subcommand per trained part, and export."""
from __future__ import annotations

import argparse

from ..cli import OneLineParser, fsq_levels, number, on_off, seed, whole
from ..decoding import add_decode_flags
from ..device import DEVICES
from ..models.config import PRESETS

positive = number(0, above=True)
PRESET_SIZES = ", ".join(f"{name} {c.tokenizer.image_size}x{c.tokenizer.image_size}" for name, c in PRESETS.items())


def _common(p: argparse.ArgumentParser, batch_size: int, lr: float) -> None:
    p.add_argument("--data", required=True, help="folder of episode .npz files (see docs/data.md: the clip format)")
    p.add_argument("--out", required=True, help="run folder: checkpoints, metrics.jsonl, curves.png, state/")
    p.add_argument("--preset", default="cpu", choices=list(PRESETS),
                   help=f"model sizes, by the frames they take: {PRESET_SIZES} (default cpu)")
    p.add_argument("--steps", type=whole(1), default=100_000, help="optimizer steps (budget and schedule length)")
    p.add_argument("--minutes", type=positive, default=None, help="wall-clock budget; ends with a saved checkpoint")
    p.add_argument("--batch-size", type=whole(1), default=batch_size,
                   help=f"windows per step per process (default {batch_size})")
    p.add_argument("--lr", type=number(0, 1), default=lr, help=f"peak learning rate, 0 to 1 (default {lr})")
    p.add_argument("--warmup-steps", type=whole(0), default=200)
    p.add_argument("--val-every", type=whole(1), default=250, help="steps between validations")
    p.add_argument("--log-every", type=whole(1), default=20, help="steps between metrics.jsonl lines")
    p.add_argument("--save-every-minutes", type=number(0), default=5.0,
                   help="minutes between resumable saves (0: after every step)")
    p.add_argument("--val-fraction", type=number(0, 1, below=True), default=0.05,
                   help="share of episodes held out for validation, 0 to below 1")
    p.add_argument("--max-episodes", type=whole(1), default=None,
                   help="use only the first N episode files (by name); phase 2 pretokenizes every frame it uses")
    p.add_argument("--device", default="auto", choices=DEVICES, help="auto (CUDA when present), cpu or cuda")
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--cpu-bf16", type=on_off, default=False, metavar="on|off",
                   help="bf16 autocast on CPU too (default off; always on with CUDA). Faster for the "
                        "patch-4 tokenizer on CPUs with AMX; measure before using it elsewhere")
    p.add_argument("--fresh", action="store_true", help="ignore a previous run in --out instead of resuming")


def parse_args(argv=None, description: str = "") -> argparse.Namespace:
    """The parsed command line; description: the usage text --help prints (the package's __main__ doc)."""
    parser = OneLineParser(prog="python -m genie_core.train", description=description,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="phase", required=True)
    tok = sub.add_parser("tokenizer", help="phase 1: train the video tokenizer")
    _common(tok, batch_size=8, lr=4e-4)
    tok.add_argument("--init", metavar="DIR", help="start from this run's or checkpoint's tokenizer weights (same "
                                                   "preset), e.g. to widen it to more games")
    tok.add_argument("--fsq-levels", type=fsq_levels, default=None, metavar="L,L,...",
                     help="the code's levels per dimension, e.g. 8,8,8,5,5 (12,800 codes; default: the preset's); "
                          "--init from a tokenizer with fewer dimensions keeps its weights and adds the new ones")
    tok.add_argument("--decoder-depth", type=whole(1), default=None, metavar="N",
                     help="decoder blocks (default: the preset's); --init from a shallower decoder adds blocks that "
                          "start as the identity")
    tok.add_argument("--freeze-encoder", type=on_off, default=False, metavar="on|off",
                     help="with --init: train the decoder only, so every frame keeps its tokens and a dynamics model "
                          "trained on them still fits the new tokenizer")
    _dynamics_flags(sub.add_parser("dynamics", help="phase 2: co-train the latent action model and the dynamics model"))
    _small_net_flags(sub)
    _export_flags(sub.add_parser("export", help="copy a finished phase-2 run into a self-contained checkpoint folder"))
    return parser.parse_args(argv)


def _dynamics_flags(dyn: argparse.ArgumentParser) -> None:
    _common(dyn, batch_size=12, lr=4e-4)
    dyn.add_argument("--tokenizer", required=True, help="phase-1 run folder (or checkpoint) holding tokenizer/")
    dyn.add_argument("--mask-mode", choices=["clean_past", "paper"], default=None,
                     help="dynamics training mask (default: the preset's)")
    dyn.add_argument("--init", metavar="DIR",
                     help="start from this checkpoint's LAM and dynamics weights (a fresh optimiser and schedule), "
                          "e.g. to train the shipped model longer or on other data; its sizes must be the preset's "
                          "(--depth may grow)")
    dyn.add_argument("--depth", type=whole(1), default=None, metavar="N",
                     help="dynamics transformer blocks (default: the preset's); --init from a shallower model adds "
                          "blocks that start as the identity")
    dyn.add_argument("--changed-weight", type=number(1, 100), default=1.0, metavar="W",
                     help="weight in the token loss of the tokens that differ from their draft (the moved last "
                          "frame): the level entering at an edge, the player; the rest weigh 1 (default 1)")
    dyn.add_argument("--mask-revealed", type=on_off, default=None, metavar="on|off",
                     help="hide the draft's tokens where the move reveals new ground (default: the preset's)")
    dyn.add_argument("--hide-behind-player", type=on_off, default=None, metavar="on|off",
                     help="hide the draft's patches the moving player uncovers, like revealed ground (default off)")
    dyn.add_argument("--copy-gates", type=on_off, default=None, metavar="on|off",
                     help="per-token learned copy bonuses for the draft and the last frame (default: the preset's)")
    dyn.add_argument("--context-noise", type=number(0, 1), default=None, metavar="R",
                     help="training only: replace up to this share of context tokens by random ones (default: the preset's)")
    dyn.add_argument("--own-context", type=number(0, 1), default=0.0, metavar="S",
                     help="training only: this share of each batch's windows is first played by the model itself "
                          "(the --init checkpoint's decoding, the real camera), and it learns the real next frames from "
                          "its own past (train/own_context.py; needs --freeze-lam on and a motion model; default 0)")
    dyn.add_argument("--snap-tolerance", type=number(0, 1), default=None, metavar="E",
                     help="training only: targets take their copy source's token where its pixels are within this "
                          "RMS error, 0..1 (default: the preset's)")
    dyn.add_argument("--keep-followed", type=on_off, default=False, metavar="on|off",
                     help="measure where the player the camera follows stands (pixels that stay while the camera "
                          "moves, on the training video) and keep those pixels unmoved in every draft (default off); "
                          "with --init from a run that has them, its pixels are kept")
    dyn.add_argument("--lam-anchor", choices=["camera", "player"], default=None,
                     help="what the LAM's motion-anchored codes are classes of: the camera's motion, or the player's "
                          "move in every game (the camera's where it follows, the tracked sprite's where the screen "
                          "stays still; for many games at once) (default: the preset's, camera)")
    dyn.add_argument("--lam-classes", choices=["kmeans", "directions"], default=None,
                     help="how moves become the LAM's classes: k-means of the training data's moves, or fixed by the "
                          "player's way (idle, right, left, up, down, right+up, right+down) (default: the preset's, kmeans)")
    dyn.add_argument("--lam-measured-codes", type=on_off, default=None, metavar="on|off",
                     help="in training, a transition whose move was measured takes its class as the LAM's code (the "
                          "encoder's guess only where the move is unknown) (default: the preset's, off)")
    dyn.add_argument("--freeze-lam", type=on_off, default=False, metavar="on|off",
                     help="with --init: train the dynamics model only, so every latent action keeps its meaning "
                          "and the --init checkpoint's critic, prior and actions.json still fit (default off)")


def _small_net_flags(sub) -> None:
    """The critic's and the prior's commands."""
    crit = sub.add_parser("critic", help="train the move critic that makes walls block (models/critic.py)")
    _common(crit, batch_size=128, lr=1e-3)
    crit.add_argument("--dynamics", required=True, metavar="DIR",
                      help="phase-2 run or checkpoint whose player (followed pixels; measured on --data when its dynamics "
                           "model keeps none) and motion radius the critic takes")
    pri = sub.add_parser("prior", help="train the action prior that gives keys the world's physics (models/prior.py)")
    _common(pri, batch_size=128, lr=1e-3)
    pri.add_argument("--dynamics", required=True, metavar="DIR",
                     help="phase-2 run or checkpoint whose LAM labels the video and whose player the prior watches "
                          "(measured on --data when its dynamics model keeps none)")
    pri.add_argument("--history", type=whole(1), default=4,
                     help="camera moves into the frame the prior sees, the newest last (default 4; a longer one "
                          "sees how far a jump has risen or a fall has gone)")
    pri.add_argument("--keyed", type=on_off, default=False, metavar="on|off",
                     help="also see the key pressed, and learn what each key does in each world from the recorded "
                          "keys in --data (procgen's actions, played as the --dynamics checkpoint's actions.json "
                          "names them); a key then plays the likeliest latent action given it (default off)")
    pri.add_argument("--key-history", type=whole(1), default=1,
                     help="with --keyed on: keys the prior sees, the one pressed now last (default 1; more see a "
                          "held key build up speed)")


def _export_flags(exp: argparse.ArgumentParser) -> None:
    exp.add_argument("--run", required=True, help="phase-2 run folder (holds tokenizer/, lam/, dynamics/)")
    exp.add_argument("--out", required=True, help="checkpoint folder to write, e.g. checkpoints/coinrun")
    exp.add_argument("--critic", metavar="DIR", help="critic run (or checkpoint) whose critic/ to ship beside the "
                                                     "models (default: the run's own critic/, if any)")
    exp.add_argument("--prior", metavar="DIR", help="prior run (or checkpoint) whose prior/ to ship beside the "
                                                    "models (default: the run's own prior/, if any)")
    add_decode_flags(exp, rounds_flags=("--rounds", "--maskgit-steps"))  # the checkpoint's new defaults; the run's where not given
