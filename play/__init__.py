"""The pygame front-end. It knows nothing about models: it drives any PlayableWorld.

Controls (the defaults in play/keymap.json):

| Key | Does |
|---|---|
| 1 - 8 (and keypad 1 - 8) | latent action 0 - 7; hold it to keep playing it |
| Left / Right / Up / Down / Space | actions named left / right / up (else jump) / down / jump in actions.json |
| Enter | reset to the start image |
| Backspace | undo one step |
| . or P | pause / resume |
| , or N | one step while paused (pauses first if running) |
| + / - (also ] / [) | more / fewer MaskGIT rounds per frame |
| C / L | steadier / livelier: more / less copy bias (a patch changes only when the model is surer) |
| R | start / stop recording a GIF |
| F12 or S | screenshot of the frame (PNG) |
| H or F1 | show / hide the controls |
| Esc, Q or closing the window | quit (a recording in progress is saved first) |

How time advances:
- `--mode continuous` (default): the world ticks on its own, at most --fps times a second and no
  faster than it can generate. Each tick plays the action of the most recently pressed key that
  is still held; a key tapped between two ticks still counts once; with no key, the idle action
  plays: --idle-action if given, else the action the checkpoint names noop/idle, else action 0.
- `--mode hold`: the world only ticks while an action key is held (or once per tap), like a
  turn-based game; nothing changes while you do nothing.
One world call is in flight at a time, on a worker thread; the window keeps drawing and
answering keys meanwhile, so pause and quit act at once even if a frame takes seconds.

Files: `--record OUT.gif` records from the first frame; R stops it (OUT.gif is written) and
starts OUT-2.gif, OUT-3.gif ... Without --record, R writes genie-YYYYmmdd-HHMMSS.gif in the
current folder. A GIF holds exactly the frames shown (start, reset and undo frames included),
each lasting one tick (the generation time, or 1/--fps if that is longer), upscaled
--record-scale times; it is written to a temporary file and renamed, so quitting (or a crash)
never leaves half a GIF. Screenshots (genie-shot-*.png) go beside the --record file, else in
the current folder.
"""
import os

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # before any submodule imports pygame

from play.interface import PlayableWorld  # noqa: E402
from play.keymap import Keymap, load_keymap  # noqa: E402
from play.session import SessionResult, parse_actions, run_session  # noqa: E402

__all__ = ["PlayableWorld", "Keymap", "load_keymap", "SessionResult", "parse_actions", "run_session"]
