"""Tests use tiny models, for which one thread is faster than two (no sync cost) on any machine."""
import os

import torch

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
torch.set_num_threads(1)
