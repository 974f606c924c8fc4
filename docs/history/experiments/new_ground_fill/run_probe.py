# tools.free_play with this session's probes loaded first, by environment variable (run from the repository root):
#   REPEAT=1 (repeat_fill_probe), TRAIL=1 (player_gap_probe), ARCSTEER=1 (../vertical/arc_steer_probe, with --take-off on),
#   YCLAMP=1 HIGH=40 (../vertical/camera_bounds_probe's height band, loaded by the arc probe)
import os, sys
here = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(here, '../../../..'), here, os.path.join(here, '../vertical')]
if os.environ.get("ARCSTEER"): import arc_steer_probe  # noqa: F401
if os.environ.get("REPEAT"): import repeat_fill_probe  # noqa: F401
if os.environ.get("TRAIL"): import player_gap_probe  # noqa: F401
from genie_core.tools.free_play import main
sys.exit(main())
