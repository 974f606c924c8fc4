"""The outpainter: it learns to draw a hidden band along a frame's edge from the rest of the frame, it
ships in the checkpoint, and with imagine_ahead play draws the ground ahead of the view into the ground
memory (never over ground the world has shown), the cache still equal to recomputation."""
import dataclasses

import numpy as np
import torch

from genie_core.checkpoint import build_genie, load_genie, save_genie
from genie_core.decoding import DecodeSettings
from genie_core.world.memory import GroundMemory
from genie_core.world.reference import UncachedRollout
from genie_core.world.rollout import Rollout
from genie_core.train.__main__ import main as train_main
from genie_core.train.outpainter_objective import MAX_BAND, edge_bands

from tests.test_critic import FOLLOWED, wall_frame, wall_video  # noqa: F401  (the fixture)


def test_bands_lie_along_one_edge_and_leave_most_of_the_frame():
    grid = 16
    bands = edge_bands(256, grid, torch.Generator().manual_seed(0)).view(-1, grid, grid)
    for band in bands:
        cols, rows = band.any(0), band.any(1)
        full_cols, full_rows = band.all(0), band.all(1)
        # A band is whole rows or whole columns, at one edge, 1..MAX_BAND deep.
        assert torch.equal(band, full_cols[None].expand_as(band)) or torch.equal(band, full_rows[:, None].expand_as(band))
        lines = full_cols if full_cols.any() else full_rows
        depth = int(lines.sum())
        assert 1 <= depth <= MAX_BAND
        assert lines[:depth].all() or lines[grid - depth:].all()
    assert {int(b.sum()) // grid for b in bands} == set(range(1, MAX_BAND + 1))


def test_imagined_ground_never_covers_ground_the_world_showed():
    memory = GroundMemory.empty(1, 4, "cpu")  # canvas 12 x 12, view at (4, 4)
    shown = torch.full((1, 4, 4, 3), 10, dtype=torch.uint8)
    memory = memory.written(shown, None)
    drawn = torch.full((1, 4, 4, 3), 99, dtype=torch.uint8)
    everywhere = torch.ones(1, 4, 4, dtype=torch.bool)
    ahead = memory.imagined(drawn, torch.tensor([[2, 0]]), everywhere)  # the view 2 px to the right
    assert (ahead.canvas_BSS3[0, 4:8, 4:8] == 10).all()  # shown ground kept
    assert (ahead.canvas_BSS3[0, 4:8, 8:10] == 99).all() and ahead.known_BSS[0, 4:8, 8:10].all()
    assert not ahead.known_BSS[0, 4:8, 10:].any()
    off = memory.imagined(drawn, torch.tensor([[7, 0]]), everywhere)  # half off the canvas: the rest is dropped
    assert off.known_BSS[0, 4:8, 11].all() and int(off.known_BSS.sum()) == 16 + 4


def world_with_moves(followed=FOLLOWED):
    genie = build_genie("tiny", seed=0)
    config = dataclasses.replace(genie.dynamics.config, followed_pixels=followed, mask_revealed=True)
    genie.dynamics = type(genie.dynamics)(config)
    return genie


def test_trained_outpainter_ships_and_draws_ahead_the_cache_still_equal(tmp_path, wall_video):
    genie = world_with_moves()
    source, run, out = tmp_path / "source", tmp_path / "outpainter", tmp_path / "shipped"
    save_genie(genie, str(source))
    assert train_main(["outpainter", "--data", str(wall_video), "--dynamics", str(source), "--out", str(run),
                       "--steps", "6", "--val-every", "6", "--warmup-steps", "2", "--val-fraction", "0.2",
                       "--batch-size", "8", "--device", "cpu"]) == 0
    assert train_main(["export", "--run", str(source), "--outpainter", str(run), "--out", str(out),
                       "--remember", "on", "--imagine-ahead", "4"]) == 0
    models = load_genie(str(out))
    assert models.outpainter is not None and models.decoding.imagine_ahead == 4
    assert not torch.equal(models.outpainter.token_embed.weight, models.dynamics.token_embed.weight)

    settings = dataclasses.replace(models.decoding, rounds=2, temperature=1.0, imagine_rounds=2,
                                   imagine_temperature=1.0)
    image = torch.from_numpy(wall_frame(12, np.random.default_rng(0)))[None]
    results = []
    for engine in (Rollout, UncachedRollout):
        rollout = engine.of(models, settings, 8)
        rollout.start(image)
        g = torch.Generator().manual_seed(1)
        for action in [0, 0, 6, 6, 0, 5]:
            rollout.next_frame(torch.tensor([action]), g)
        results.append(rollout.history)
    cached, uncached = results
    for a, b in zip(cached, uncached):
        assert torch.equal(a.tokens_BN, b.tokens_BN) and torch.equal(a.shown_BHW3, b.shown_BHW3)
        assert torch.equal(a.memory.canvas_BSS3, b.memory.canvas_BSS3)

    # Drawn ahead: after moves the canvas knows ground beyond the view that no shown frame covered.
    plain = Rollout.of(models, dataclasses.replace(settings, imagine_ahead=0), 8)
    plain.start(image)
    g = torch.Generator().manual_seed(1)
    for action in [0, 0, 6, 6, 0, 5]:
        plain.next_frame(torch.tensor([action]), g)
    # The same world without drawing ahead: the ticks and moves are the same (the generator was given the same
    # seed; drawing ahead draws from it, so only the first move is compared), and only the drawn world knows
    # ground beyond its view.
    first = cached[1]
    assert first.motion_B is not None and torch.equal(first.motion_B, plain.history[1].motion_B)
    known, plain_known = int(first.memory.known_BSS.sum()), int(plain.history[1].memory.known_BSS.sum())
    assert known > plain_known
