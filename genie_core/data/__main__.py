"""Command line: `python -m genie_core.data {coinrun,import,check} --help`."""
from __future__ import annotations

import argparse
import os
import sys

from ..cli import OneLineParser, number, seed, whole
from .coinrun import AGENTS, PROCGEN_GAMES, ProcgenMissing
from .quality import QualityConfig

EXAMPLES = """examples:
  python -m genie_core.data coinrun --out data/coinrun --levels 0:10000 --episodes 2000
  python -m genie_core.data coinrun --out data/coinrun_heldout --levels 100000:100100
  python -m genie_core.data coinrun --game ninja --out data/ninja --levels 0:500 --agent wide
  python -m genie_core.data import my_videos/ gameplay.mp4 --out data/mine --fit letterbox
  python -m genie_core.data check data/coinrun
Re-running a coinrun or import command continues where it stopped."""


positive_int, positive_float = whole(1), number(0, above=True)


def level_range(text: str) -> range:
    start, _, stop = text.partition(":")
    if not (start.isdigit() and stop.isdigit() and int(start) < int(stop) < 2**31):
        raise argparse.ArgumentTypeError(f"expected START:STOP level seeds with START < STOP, got {text!r}")
    return range(int(start), int(stop))


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m genie_core.data", epilog=EXAMPLES,
                           formatter_class=argparse.RawDescriptionHelpFormatter,
                           description="Make training clips for Genie: CoinRun episodes from procgen,\n"
                                       "or your own game videos. The format is described at the top of\n"
                                       "genie_core/data/clips.py.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{coinrun,import,check}")
    add_coinrun_command(commands)
    add_import_command(commands)
    check = commands.add_parser("check", help="index a clip folder and report what a trainer would use",
                                description="Read every episode header in a folder and report episodes, "
                                            "frames, windows, too-short and unreadable files.")
    check.add_argument("folder", help="a folder of episode files")
    check.add_argument("--window", type=positive_int, default=16, help="window length in frames (default 16)")
    return parser


def add_coinrun_command(commands) -> None:
    coinrun = commands.add_parser("coinrun", help="generate CoinRun episodes with procgen",
                                  description="Play CoinRun (hard mode) with random and scripted agents "
                                              "and record one episode per level seed, with true actions.")
    coinrun.add_argument("--out", required=True, help="folder for the episode files and meta.json")
    coinrun.add_argument("--levels", type=level_range, default=range(0, 10000),
                         help="level seeds START:STOP, STOP excluded (default 0:10000); use a far range "
                              "such as 100000:100100 for held-out levels")
    coinrun.add_argument("--episodes", type=positive_int,
                         help="episodes to write (default one per level); episode i plays level "
                              "START + i %% levels, so more episodes than levels replay levels")
    coinrun.add_argument("--steps-per-episode", type=positive_int, default=100,
                         help="actions per episode, so steps+1 frames, unless the level ends first (default 100)")
    coinrun.add_argument("--min-frames", type=positive_int, default=16,
                         help="replay a level (up to 5 times) when the agent dies before this many frames (default 16)")
    coinrun.add_argument("--envs", type=positive_int, default=1,
                         help="environments run in parallel, one per worker process (default 1; up to "
                              "the number of free CPU cores)")
    coinrun.add_argument("--agent", choices=AGENTS, default="mix",
                         help="random: hold random moves 1-8 steps; scripted: mostly run right and jump; "
                              "explore: hold right, left, still or jumps 2-10 steps; mix (default): random or "
                              "scripted per episode; wide: random, scripted or explore per episode; wander: hold "
                              "an arrow until the picture stops changing, then turn (top-down games: maze); traverse: scripted, "
                              "but a death rewinds the game and plays on, so the video crosses the level to its coin")
    coinrun.add_argument("--seed", type=seed, default=0, help="seed for the agents (default 0)")
    coinrun.add_argument("--game", choices=PROCGEN_GAMES, default="coinrun", metavar="GAME",
                         help="the Procgen game to play (default coinrun): " + ", ".join(PROCGEN_GAMES))
    coinrun.add_argument("--compress", action="store_true",
                         help="write compressed files (~9x smaller, but the loader reads them much more slowly)")


def add_import_command(commands) -> None:
    imports = commands.add_parser("import", help="import your own videos, GIFs or image folders",
                                  description="Decode videos (mp4, webm, mkv, mov, avi), GIFs and folders of "
                                              "images (in name order), resample to --fps by timestamps, fit to "
                                              "--size, drop black, blank and static stretches, split at scene "
                                              "cuts, and cut into episodes. Unreadable inputs are skipped with "
                                              "a reason. Re-running the command skips inputs already imported.")
    imports.add_argument("inputs", nargs="+", metavar="VIDEO_OR_FOLDER",
                         help="video files and GIFs, or folders: a folder's images (in name order) form one "
                              "sequence and each video in it is imported on its own")
    imports.add_argument("--out", required=True, help="folder for the episode files, meta.json and manifest.json")
    imports.add_argument("--size", type=positive_int, default=64, help="frame size in pixels, square (default 64)")
    imports.add_argument("--fit", choices=["crop", "letterbox", "stretch"], default="crop",
                         help="crop: fill and centre-crop (default); letterbox: fit and pad black; stretch")
    imports.add_argument("--fps", type=positive_float, default=10.0, help="output frame rate (default 10)")
    imports.add_argument("--folder-fps", type=positive_float,
                         help="frame rate of image folders (default: the --fps value, every image kept)")
    imports.add_argument("--episode-len", type=positive_int, default=64, help="frames per episode (default 64)")
    imports.add_argument("--min-len", type=positive_int, default=16,
                         help="keep the shorter rest of a stretch if it has this many frames (default 16)")
    imports.add_argument("--static-seconds", type=positive_float, default=QualityConfig.static_seconds,
                         help="drop stretches where nothing moves for this long (default 2)")


def run(args: argparse.Namespace) -> None:
    if args.command == "coinrun":
        from .coinrun import CoinRunSettings, generate_coinrun

        settings = CoinRunSettings(args.steps_per_episode, args.min_frames, args.agent, args.seed, args.compress,
                                   args.game)
        counts = generate_coinrun(args.out, args.levels, args.episodes or len(args.levels), settings, args.envs)
        rate = counts["frames"] / max(counts["seconds"], 1e-9)
        print(f"wrote {counts['written']} episodes ({counts['frames']} frames) in {counts['seconds']:.1f} s, "
              f"{rate:.0f} frames/s; {counts['skipped_existing']} already there; ended by: steps "
              f"{counts['ended_steps']}, coin {counts['ended_coin']}, death {counts['ended_died']}; "
              f"{counts['shorter_than_min']} shorter than {args.min_frames} frames; "
              f"{args.out} now holds {counts['meta']['episodes']} episodes")
    elif args.command == "import":
        from dataclasses import replace

        from .importer import ImportSettings, import_videos

        quality = replace(QualityConfig(), static_seconds=args.static_seconds)
        settings = ImportSettings(args.size, args.fit, args.fps, args.episode_len, args.min_len,
                                  args.folder_fps, quality)
        existed = os.path.isdir(args.out)
        report = import_videos(args.inputs, args.out, settings)
        if all(r.status == "skipped" for r in report.inputs):
            if not existed and not os.listdir(args.out):
                os.rmdir(args.out)  # made for nothing: leave no trace of a run that imported nothing
            raise ValueError("nothing imported: every input was skipped (reasons above)")
    else:
        from .clips import list_episodes
        from .sampler import ClipSampler

        paths = list_episodes(args.folder)
        if not paths:
            raise ValueError(f"{args.folder}: no episode .npz files")
        sampler = ClipSampler(paths, args.window, on_error="quiet")  # unreadable files are listed below
        print(sampler.describe())
        for line in sampler.bad:
            print(f"  unreadable: {line}")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        run(args)
    except (OSError, ValueError, ProcgenMissing) as error:  # bad paths, other settings, no procgen
        print(f"{parser.prog} {args.command}: error: {error}", file=sys.stderr)
        return 2
    except RuntimeError as error:  # procgen failed at run time
        print(f"{parser.prog} {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; run the same command again to continue (finished files are kept)", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
