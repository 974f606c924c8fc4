"""Continued ground (world/continuation.py): new ground is drafted from the level shown so far, never
from ground the world has not shown (the player's pixels included), and the cached engine still equals
recomputation with it."""
import numpy as np
import pytest
import torch

from genie_core.blocks.motion import revealed_pixels, shift_frames
from genie_core.decoding import DecodeSettings
from genie_core.world.continuation import continue_ground
from genie_core.world.memory import GroundMemory
from genie_core.world.reference import UncachedRollout
from genie_core.world.rollout import Rollout

from tests.test_core import frames_uint8
from tests.test_memory import _motion_genie

SIZE = 32


def periodic_level() -> torch.Tensor:
    """A level three views wide that repeats every 12 px across and every 10 px down."""
    rows, cols = np.mgrid[:3 * SIZE, :3 * SIZE]
    level = np.stack([(cols % 12) * 20, (rows % 10) * 25, (cols // 12 % 2) * 200], -1)
    return torch.from_numpy(level.astype(np.uint8))


@pytest.mark.parametrize("dx,dy", [(-3, 0), (4, 0), (0, 2), (0, -5), (-2, 3)])
def test_a_repeating_level_is_continued_exactly(dx, dy):
    level = periodic_level()
    memory = GroundMemory.empty(1, SIZE, "cpu")
    start = level[SIZE:2 * SIZE, SIZE:2 * SIZE][None]
    memory = memory.written(start, None)
    shift = torch.tensor([[dx, dy]])
    moved = shift_frames(start, shift)
    new = revealed_pixels(shift, SIZE)
    continued, still_new = continue_ground(moved, new, memory.moved(shift), shift)
    truth = level[SIZE - dy:2 * SIZE - dy, SIZE - dx:2 * SIZE - dx][None]
    filled = new & ~still_new
    assert torch.equal(continued[filled], truth[filled])
    assert torch.equal(continued[~new], moved[~new])  # only new ground is drafted
    # All of it is continued but, in a diagonal move, the corner no single shown block reaches.
    corner = revealed_pixels(torch.tensor([[dx, 0]]), SIZE) & revealed_pixels(torch.tensor([[0, dy]]), SIZE)
    assert torch.equal(still_new, corner)


def test_nothing_is_copied_from_ground_never_shown():
    level = periodic_level()
    start = level[SIZE:2 * SIZE, SIZE:2 * SIZE][None]
    never = torch.ones(SIZE, SIZE, dtype=torch.bool)  # a world that showed nothing (every pixel followed)
    memory = GroundMemory.empty(1, SIZE, "cpu").written(start, never)
    shift = torch.tensor([[-3, 0]])
    moved = shift_frames(start, shift)
    new = revealed_pixels(shift, SIZE)
    continued, still_new = continue_ground(moved, new, memory.moved(shift), shift)
    assert torch.equal(continued, moved) and torch.equal(still_new, new)


def test_with_continued_ground_cached_equals_uncached():
    models, dynamics = _motion_genie()
    settings = DecodeSettings(rounds=2, temperature=1.0, order="random", reuse_patches=True, remember=True,
                              continue_ground=True)
    results = []
    for engine in (Rollout, UncachedRollout):
        rollout = engine(models.tokenizer, dynamics, settings, context=4)
        rollout.start(frames_uint8(B=2, T=1)[:, 0])
        g = torch.Generator().manual_seed(3)
        frames = [rollout.next_frame(torch.tensor([a, (a + 3) % 8]), g) for a in [0, 5, 2, 6, 1, 3, 4, 7]]
        results.append((torch.stack([r.draft_BN for r in rollout.history[1:]]), torch.stack(frames)))
    assert results[0][0].equal(results[1][0])
    assert (results[0][1].int() - results[1][1].int()).abs().max() <= 1
