"""Ground memory (world/memory.py): ground the camera showed comes back as it was, only new ground
is left to the model, and the cached engine still equals recomputation with it."""
import dataclasses

import pytest
import torch

from genie_core.blocks.motion import id_to_motion, move_camera, revealed_pixels, shift_frames, uncovered_by_player
from genie_core.checkpoint import build_genie
from genie_core.decoding import DecodeSettings
from genie_core.models.draft import hide_revealed, move_draft, new_ground
from genie_core.world.memory import GroundMemory, recall_revealed
from genie_core.world.reference import UncachedRollout
from genie_core.world.rollout import Rollout

from tests.test_core import frames_uint8


@pytest.mark.parametrize("dx,dy", [(0, 0), (3, 0), (-5, 0), (0, 4), (0, -1), (2, -7), (-8, 8)])
def test_revealed_pixels_are_exactly_those_shift_frames_replicates(dx, dy):
    size = 16
    ys, xs = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    outside = (xs - dx < 0) | (xs - dx >= size) | (ys - dy < 0) | (ys - dy >= size)
    assert torch.equal(revealed_pixels(torch.tensor([[dx, dy]]), size)[0], outside)


def test_ground_that_left_the_view_comes_back_as_it_was_but_never_the_followed_pixels():
    frame = frames_uint8(B=1, T=1, size=16)[:, 0]
    followed = torch.zeros(16, 16, dtype=torch.bool)
    followed[6:10, 6:10] = True
    memory = GroundMemory.empty(1, 16, "cpu").written(frame, followed)
    assert torch.equal(memory.view()[1][0], ~followed)  # the player's pixels are never written
    there, back = torch.tensor([[3, -2]]), torch.tensor([[-3, 2]])
    moved = shift_frames(frame, there)
    memory = memory.moved(there).written(moved, followed)
    returned, new = recall_revealed(shift_frames(moved, back), memory.moved(back), revealed_pixels(back, 16))
    revealed = revealed_pixels(back, 16)[0]
    assert torch.equal(new[0], torch.zeros_like(new[0]))  # every pixel the move back revealed was seen before
    assert torch.equal(returned[0][revealed], frame[0][revealed])


def test_every_pixel_the_memory_recalls_is_the_one_shown_there_even_across_recentring():
    size, g = 8, torch.Generator().manual_seed(0)
    memory = GroundMemory.empty(1, size, "cpu")
    world, corner = {}, torch.zeros(2, dtype=torch.long)  # level pixel (x, y) -> colour; the view's corner
    for _ in range(40):
        frame = torch.randint(0, 256, (1, size, size, 3), dtype=torch.uint8, generator=g)
        memory = memory.written(frame, None)
        for y in range(size):
            for x in range(size):
                world[(int(corner[0]) + x, int(corner[1]) + y)] = frame[0, y, x]
        move = torch.randint(-5, 6, (1, 2), generator=g)
        memory, corner = memory.moved(move), corner - move[0]
        pixels, known = memory.view()
        for y in range(size):
            for x in range(size):
                where = (int(corner[0]) + x, int(corner[1]) + y)
                if known[0, y, x]:
                    assert torch.equal(pixels[0, y, x], world[where])
    assert known.any()


def test_the_pixels_the_player_uncovers_are_those_move_camera_keeps_stale():
    frame = frames_uint8(B=1, T=1, size=16)[:, 0]
    kept = torch.zeros(16, 16, dtype=torch.bool)
    kept[6:9, 7:10] = True
    for dx, dy in [(0, 0), (0, 3), (-2, 0), (4, -1)]:
        shift = torch.tensor([[dx, dy]])
        uncovered = uncovered_by_player(kept, shift)[0]
        expected = torch.zeros_like(kept)
        expected[6 + dy:9 + dy, 7 + dx:10 + dx] = True
        assert torch.equal(uncovered, expected & ~kept)
        stale = (move_camera(frame, shift, kept) != shift_frames(frame, shift)).any(-1)[0] & ~kept
        assert not (stale & ~uncovered).any()  # every stale pixel outside the player is counted


def _motion_genie(**changes):
    models = build_genie("tiny", seed=1)
    c = dataclasses.replace(models.dynamics.config, mask_revealed=True, followed_pixels=(119, 120, 135, 136),
                            **changes)
    dynamics = type(models.dynamics)(c)
    dynamics.load_state_dict(models.dynamics.state_dict())
    return models, dynamics.eval()


@pytest.mark.parametrize("hide_behind_player", [False, True])
def test_with_memory_the_draft_hides_only_new_ground_and_cached_equals_uncached(hide_behind_player):
    models, dynamics = _motion_genie(hide_behind_player=hide_behind_player)
    settings = DecodeSettings(rounds=2, temperature=1.0, order="random", reuse_patches=True, remember=True)
    results = []
    for engine in (Rollout, UncachedRollout):
        rollout = engine(models.tokenizer, dynamics, settings, context=4)
        rollout.start(frames_uint8(B=2, T=1)[:, 0])
        g = torch.Generator().manual_seed(3)
        frames = [rollout.next_frame(torch.tensor([a, (a + 3) % 8]), g) for a in [0, 5, 2, 6, 1, 3, 4, 7]]
        results.append((torch.stack([r.draft_BN for r in rollout.history]), torch.stack(frames)))
        for before, record in zip(rollout.history, rollout.history[1:]):
            shift = id_to_motion(record.motion_B, dynamics.config.motion_radius)
            memory = before.memory.moved(shift)
            _, new = recall_revealed(move_draft(dynamics.config, before.shown_BHW3, shift), memory,
                                    new_ground(dynamics.config, shift, 16))
            grid, patch = dynamics.config.grid, 16 // dynamics.config.grid
            hidden = new.view(-1, grid, patch, grid, patch).any(4).any(2).flatten(1)
            assert torch.equal(record.draft_BN == dynamics.mask_id, hidden)
    assert results[0][0].equal(results[1][0])
    assert (results[0][1].int() - results[1][1].int()).abs().max() <= 1


def test_without_memory_every_revealed_patch_is_hidden_as_before():
    models, dynamics = _motion_genie()
    for remember in (False, True):
        rollout = Rollout(models.tokenizer, dynamics, DecodeSettings(rounds=1, remember=remember), context=4)
        rollout.start(frames_uint8(B=1, T=1)[:, 0])
        rollout.next_frame(torch.tensor([2]), torch.Generator().manual_seed(0))
        record = rollout.history[-1]
        shift = id_to_motion(record.motion_B, dynamics.config.motion_radius)
        expected = hide_revealed(dynamics.config, torch.zeros_like(record.draft_BN), shift, 16) == dynamics.mask_id
        # The first move reveals only ground never shown: memory or not, all of it is hidden.
        assert torch.equal(record.draft_BN == dynamics.mask_id, expected)


def test_a_worlds_draft_is_encoded_again_only_when_its_moved_pixels_changed():
    models, dynamics = _motion_genie()
    rollout = Rollout(models.tokenizer, dynamics, DecodeSettings(rounds=1, reuse_patches=True), context=4)
    encode, rows = models.tokenizer.encode, []
    models.tokenizer.encode = lambda frames: rows.append(len(frames)) or encode(frames)
    try:
        rollout.start(frames_uint8(B=3, T=1)[:, 0])
        g, still, skipped = torch.Generator().manual_seed(0), dynamics.config.still_action, 0
        for actions in ([0, 5, 2], [still, 3, still], [still, 6, still], [still, still, still]):
            before, rows[:] = rollout.last_draft, []
            rollout.next_frame(torch.tensor(actions), g)
            moved, tokens = rollout.last_draft
            assert torch.equal(tokens, encode(moved[:, None])[:, 0])  # as if every world were encoded
            changed = 3 if before is None else int((before[0] != moved).flatten(1).any(1).sum())
            assert sum(rows) == changed
            skipped += 3 - changed
    finally:
        models.tokenizer.encode = encode
    assert skipped > 0, "a world held still by the still action is not encoded again"


def test_a_rollout_that_never_undoes_makes_the_same_frames_without_keeping_keys_and_values():
    models, dynamics = _motion_genie()
    played = []
    for undoable in (True, False):
        rollout = Rollout(models.tokenizer, dynamics, DecodeSettings(rounds=1, reuse_patches=True), context=4,
                          undoable=undoable)
        rollout.start(frames_uint8(B=2, T=1)[:, 0])
        g = torch.Generator().manual_seed(0)
        played.append(torch.stack([rollout.next_frame(torch.tensor([a, (a + 5) % 8]), g) for a in [0, 3, 6, 1, 2, 5]]))
        assert all((r.dynamics_kv is None) == (not undoable) for r in rollout.history)
    assert torch.equal(played[0], played[1])
    with pytest.raises(RuntimeError):
        rollout.undo()
