"""Video data for Genie: CoinRun generation, video import, and the clip format the trainers read.

Run `python -m genie_core.data --help` for the command-line tools; see clips.py for the format.
"""
from .clips import (
                    ClipFormatError,
                    Episode,
                    list_episodes,
                    read_episode,
                    split_episodes,
                    write_episode,
)
from .sampler import ClipBatch, ClipSampler

__all__ = ["ClipBatch", "ClipFormatError", "ClipSampler", "Episode", "list_episodes", "read_episode",
           "split_episodes", "write_episode"]
