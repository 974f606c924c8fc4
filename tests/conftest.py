"""Tests use tiny models, for which one thread is faster than two (no sync cost) on any machine."""
import os
import tempfile

import torch

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
# Phase 2's token cache (train/objectives.py) in a throwaway folder, not the user's.
os.environ["GENIE_CACHE"] = tempfile.mkdtemp(prefix="genie-cache-")
torch.set_num_threads(1)
