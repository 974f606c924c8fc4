"""Play a Genie world from one image: python main.py --image level.png

The only place that wires a checkpoint to the game: genie_core builds the world, play/ drives it.
Controls and how time advances: see the play package docstring (or press H in the window).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from genie_core import cli
from genie_core.decoding import add_decode_flags, decode_flags_given
from genie_core.device import add_device_flags

SHIPPED_CHECKPOINT = Path(__file__).resolve().parent / "checkpoints" / "coinrun"
MAX_SCALE = 32  # window and GIF zoom: a 64 px frame at x32 is 2048 px


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """Appends '(default: X)' only where there is a real default to show."""

    def _get_help_string(self, action: argparse.Action) -> str:
        help_text = action.help or ""
        shown = not any(action.default is hidden for hidden in (None, False, argparse.SUPPRESS))
        if shown and "default" not in help_text:
            help_text += " (default: %(default)s)"
        return help_text


def build_parser() -> argparse.ArgumentParser:
    p = cli.OneLineParser(
        description="Play a Genie world model from a single start image. Keys 1-8 pick the latent "
                    "action (arrows/space too when the checkpoint names its actions); H shows all controls.",
        formatter_class=DefaultsHelpFormatter)
    p.add_argument("--image", required=True, metavar="PATH",
                   help="start image: PNG, JPEG, GIF, BMP ..., any size or colour mode; fitted to the model size")
    p.add_argument("--checkpoint", metavar="DIR",
                   help="checkpoint folder (config.json + model.safetensors per part); "
                        "default: checkpoints/coinrun beside main.py, the shipped CoinRun world")
    p.add_argument("--fit", choices=("crop", "letterbox", "stretch"), default="crop",
                   help="how a non-square or other-sized image becomes the model's square frame")
    p.add_argument("--seed", type=cli.seed, default=0,
                   help="random seed; the same seed and actions replay the same frames")
    p.add_argument("--context", type=cli.context_frames, metavar="FRAMES",
                   help="past frames the model attends to; default: as many as it was trained on")
    add_device_flags(p)
    p.add_argument("--mode", choices=("continuous", "hold"), default="continuous",
                   help="continuous: the world ticks on its own, playing the held key or the idle action; "
                        "hold: it only ticks while an action key is held")
    p.add_argument("--fps", type=cli.number(0), default=15.0,
                   help="cap on world ticks per second (0: as fast as it generates); also the GIF frame rate cap")
    p.add_argument("--idle-action", type=cli.whole(0), metavar="ID",
                   help="action played in continuous mode when no key is held; "
                        "default: the one the checkpoint names noop/idle, else 0")
    p.add_argument("--threads", type=cli.threads, metavar="N",
                   help="CPU threads for the model (default: torch's choice, all cores, the fastest on idle "
                        "cores; see docs/speed.md); use 1 when other programs keep the cores busy")
    p.add_argument("--scale", type=cli.whole(1, MAX_SCALE), metavar="K",
                   help="window zoom (nearest-neighbour); default makes the frame about 512 px")
    p.add_argument("--record", metavar="OUT.gif",
                   help="record the session to this GIF (written atomically at exit; R toggles in the window)")
    p.add_argument("--record-scale", type=cli.whole(1, MAX_SCALE), default=4, metavar="K",
                   help="GIF upscale factor (nearest-neighbour)")
    p.add_argument("--measure", type=cli.number(0, above=True), metavar="SECONDS",
                   help="in the window: hold Right and Left in turn for this long by script, then print ticks/s, "
                        "key-to-screen latency and time to the first frame, and quit (use with --fps 0)")
    p.add_argument("--headless", action="store_true",
                   help="no window: play --actions, write --record if given, print timings, exit")
    p.add_argument("--actions", metavar="LIST",
                   help="with --headless: comma-separated action ids or names; ACTION*COUNT repeats "
                        "(e.g. 0,3,3,right*10)")
    add_decode_flags(p)
    return p


def check_arguments(args: argparse.Namespace) -> None:
    """Every check that needs no model, so a typo fails in a second, not after loading weights."""
    from genie_core.imaging import load_image
    from play.recorder import check_writable

    if args.headless and not args.actions:
        raise ValueError("--headless needs --actions (e.g. --actions 0,3,3,5)")
    if args.actions and not args.headless:
        raise ValueError("--actions is for --headless play; in the window, use the keys")
    if args.measure and args.headless:
        raise ValueError("--measure times the window; --headless prints its own timings")
    if args.record:
        check_writable(args.record)
    load_image(args.image, 16, args.fit)  # decodes the whole file: missing, folder, non-image, truncated
    if not args.headless:
        from play.window import NoDisplayError, check_display

        try:
            check_display()
        except NoDisplayError as error:
            raise ValueError(str(error)) from None
    if not Path(args.checkpoint).is_dir():
        raise ValueError(f"checkpoint folder {args.checkpoint} not found (train one, or pass --checkpoint DIR)")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.checkpoint = args.checkpoint or str(SHIPPED_CHECKPOINT)
    try:
        check_arguments(args)  # before torch is imported, so a typo fails in a fraction of a second
        from genie_core.checkpoint import CheckpointError

        try:
            return play(args)
        except CheckpointError as error:
            raise ValueError(str(error)) from None
    except ValueError as error:  # also ImageLoadError and OutputPathError: messages are one line
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # e.g. the disk filled up while writing the GIF
        print(f"error: {error.filename or ''}: {error.strerror or error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def play(args: argparse.Namespace) -> int:
    import torch

    from genie_core.imaging import load_image
    from genie_core.loading import load_world

    def make_world():
        if args.threads:
            torch.set_num_threads(args.threads)
        return load_world(args.checkpoint, device=args.device, context=args.context, seed=args.seed, decode=decode_flags_given(args),
                          precision=args.precision)

    worker = None
    if not args.headless:  # the window's world lives on its worker thread from the start (see run_now)
        from play.worker import WorldWorker

        worker = WorldWorker()
    world = worker.run_now(make_world) if worker else make_world()
    start_image, note = load_image(args.image, world.image_size, args.fit)
    if note:
        print(note, file=sys.stderr)
    if args.idle_action is not None and not 0 <= args.idle_action < world.num_actions:
        raise ValueError(f"--idle-action {args.idle_action} out of range 0..{world.num_actions - 1}")
    trained = world.models.dynamics.config.max_frames
    if args.context is not None and args.context > trained:
        print(f"note: --context {args.context} is beyond the {trained} frames this model was trained on; "
              f"frames further back than that are new to it", file=sys.stderr)
    return play_headless(world, start_image, args) if args.headless else play_window(world, start_image, args, worker)


def play_headless(world, start_image, args: argparse.Namespace) -> int:
    from genie_core.blocks.motion import frame_motions
    from play.recorder import GifRecorder
    from play.session import parse_actions, run_session

    actions = parse_actions(args.actions, world.num_actions, world.action_names, world.direction_keys)
    result = run_session(world, start_image, actions)
    dx, dy = frame_motions(result.frames).sum(0).tolist()
    s = world.settings
    print(f"headless: {result.summary()}; rounds {s.rounds}, temperature {s.temperature:g}, "
          f"copy bias {s.copy_bias:g}; the picture moved {dx:+d}, {dy:+d} px (content dx, dy, "
          f"measured frame to frame)")
    if args.record:
        recorder = GifRecorder(args.record, scale=args.record_scale)
        for frame in result.frames:
            recorder.add(frame, result.frame_seconds(args.fps))
        print(f"saved {recorder.save()} ({len(result.frames)} frames)")
    return 0


def play_window(world, start_image, args: argparse.Namespace, worker=None) -> int:
    from play.app import PlayerApp, PlayOptions
    from play.keymap import load_keymap
    from play.window import NoDisplayError

    keymap = load_keymap(world.num_actions, world.action_names, direction_keys=world.direction_keys)
    options = PlayOptions(scale=args.scale, fps=args.fps, mode=args.mode, record_path=args.record,
                          record_scale=args.record_scale, idle_action=args.idle_action,
                          title=f"Genie - {Path(args.image).name}")
    measurement = None
    if args.measure:
        from play.measure import WindowMeasurement, format_measurement, measure_keys

        measurement = WindowMeasurement(args.measure, measure_keys(keymap))
    try:
        summary = PlayerApp(world, start_image, keymap, options, worker).run(on_loop=measurement)
    except NoDisplayError as error:
        raise ValueError(str(error)) from None
    print(f"played {summary.ticks} ticks, {summary.frames_shown} frames shown")
    if measurement is not None and measurement.result:
        print(format_measurement(measurement.result))
    for error in summary.errors:
        print(f"error: {error}", file=sys.stderr)
    return 1 if summary.errors else 0


if __name__ == "__main__":
    sys.exit(main())
