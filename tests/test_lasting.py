"""Issue 24's levers: the revealed strip hidden in the draft, targets snapped to copies, context
corruption in training only, held-back MaskGIT rounds for the strip, and the per-token copy gates."""
import dataclasses

import numpy as np
import pytest
import torch

from genie_core.blocks.maskgit import maskgit_decode
from genie_core.blocks.motion import revealed_patches, shift_frames
from genie_core.checkpoint import build_genie, load_genie, save_genie
from genie_core.decoding import DecodeSettings
from genie_core.models.draft import hide_revealed
from genie_core.train.__main__ import main as train_main
from genie_core.train.targets import snap_to_copies
from genie_core.world import World

from tests.test_train import common, moving_squares  # noqa: F401  (the fixture)


@pytest.mark.parametrize("dx,dy", [(0, 0), (3, 0), (-5, 0), (0, 4), (0, -1), (2, -7), (-8, 8)])
def test_revealed_patches_are_exactly_those_holding_replicated_pixels(dx, dy):
    size, patch = 16, 4
    # Every pixel its own colour: a moved pixel equals some original pixel only if it was copied.
    ids = torch.arange(size * size).view(1, size, size, 1)
    frame = torch.cat((ids % 256, ids // 256, torch.zeros_like(ids)), -1).to(torch.uint8)
    moved = shift_frames(frame, torch.tensor([[dx, dy]]))
    ys, xs = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    replicated = ((xs - dx < 0) | (xs - dx >= size) | (ys - dy < 0) | (ys - dy >= size))  # source outside
    expected = replicated.view(size // patch, patch, size // patch, patch).any(3).any(1).flatten()
    assert torch.equal(revealed_patches(torch.tensor([[dx, dy]]), size, patch)[0], expected)
    assert moved.shape == frame.shape


def test_the_draft_is_hidden_exactly_where_the_move_reveals():
    models = build_genie("tiny", seed=0)
    dynamics = models.dynamics
    dynamics.config = dataclasses.replace(dynamics.config, mask_revealed=True)
    drafts = torch.randint(0, dynamics.config.num_codes, (3, 16))
    motions = torch.tensor([[0, 0], [2, 0], [-1, 5]])
    hidden = hide_revealed(dynamics.config, drafts, motions, 16)
    revealed = revealed_patches(motions, 16, 4)
    assert torch.equal(hidden == dynamics.mask_id, revealed)
    assert torch.equal(hidden[~revealed], drafts[~revealed])
    dynamics.config = dataclasses.replace(dynamics.config, mask_revealed=False)
    assert torch.equal(hide_revealed(dynamics.config, drafts, motions, 16), drafts)


def test_hiding_behind_the_player_adds_exactly_the_patches_it_uncovers():
    config = dataclasses.replace(build_genie("tiny", seed=0).dynamics.config, mask_revealed=True,
                                 followed_pixels=(102, 103, 118, 119), hide_behind_player=True)  # rows 6-7, cols 6-7
    drafts = torch.randint(0, config.num_codes, (3, 16))
    motions = torch.tensor([[0, 0], [0, 3], [-2, 0]])
    hidden = hide_revealed(config, drafts, motions, 16) == config.num_codes
    plain = hide_revealed(dataclasses.replace(config, hide_behind_player=False), drafts, motions, 16) == config.num_codes
    assert torch.equal(hidden[0], plain[0])  # no move, nothing uncovered
    # Content moved 3 px down: the player's old place carried to rows 9-10, in patch row 2, column 1 (patch 9).
    # Moved 2 px left: to columns 4-5, in patch 5, which the player shares: the model draws both there.
    assert (hidden[1] & ~plain[1]).nonzero().flatten().tolist() == [9]
    assert (hidden[2] & ~plain[2]).nonzero().flatten().tolist() == [5]


def test_snapping_takes_the_closer_copy_within_tolerance_and_ties_keep_the_still_frame():
    rng = np.random.default_rng(0)
    frame0 = torch.from_numpy(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8))
    moved = shift_frames(frame0[None], torch.tensor([[4, 0]]))[0]
    frames = torch.stack((frame0, moved, moved))[None]  # frame 1: moved by 4 px; frame 2: still
    motions = torch.tensor([[[0, 0], [4, 0], [0, 0]]])
    tokens = torch.arange(48).view(1, 3, 16)
    drafts = torch.full((1, 3, 16), 100)
    revealed = revealed_patches(torch.tensor([[4, 0]]), 16, 4)[0]
    drafts[0, 1, revealed] = 99  # the revealed column is hidden (mask id 99) in the draft
    out = snap_to_copies(tokens, drafts, frames, motions, tolerance=0.01, mask_id=99)
    assert torch.equal(out[0, 0], tokens[0, 0])
    assert (out[0, 1][~revealed] == 100).all()  # the moved copy matches exactly wherever it has a token
    assert torch.equal(out[0, 1][revealed], tokens[0, 1][revealed])  # no copy there: the real token stays
    assert torch.equal(out[0, 2], out[0, 1])  # pixel-identical: the unmoved frame wins the tie


def test_context_corruption_happens_in_training_only():
    models = build_genie("tiny", seed=0)
    dynamics = models.dynamics
    dynamics.config = dataclasses.replace(dynamics.config, context_noise=0.5)
    T, N = 4, dynamics.config.tokens_per_frame
    tokens = torch.randint(0, dynamics.config.num_codes, (2, T, N))
    actions = torch.randint(0, dynamics.config.num_actions, (2, T - 1))
    drafts = torch.randint(0, dynamics.config.num_codes, (2, T, N))
    motions = torch.randint(0, dynamics.num_motions, (2, T))
    calls = []
    original = dynamics.corrupt_context
    dynamics.corrupt_context = lambda *a, **k: calls.append(1) or original(*a, **k)
    dynamics.eval()
    losses = [dynamics.masked_token_loss(tokens, actions, torch.Generator().manual_seed(1), drafts, motions).loss
              for _ in range(2)]
    assert not calls and torch.equal(losses[0], losses[1])
    dynamics.train()
    dynamics.masked_token_loss(tokens, actions, torch.Generator().manual_seed(1), drafts, motions)
    assert calls
    corrupted = original(tokens, torch.tensor(0.5), torch.Generator().manual_seed(0))
    assert 0.3 < (corrupted != tokens).float().mean() < 0.6


def test_held_tokens_are_decoded_after_the_rest_and_nothing_fixed_changes():
    seen = []

    def logits_fn(tokens):
        seen.append(tokens.clone())
        return torch.randn(tokens.shape[0], tokens.shape[1], 10, generator=torch.Generator().manual_seed(len(seen)))

    held = torch.zeros(2, 16, dtype=torch.bool)
    held[0, :4] = True
    held[1, 3:9] = True
    settings = DecodeSettings(rounds=1, temperature=0.0, revealed_rounds=3, revealed_temperature=1.0)
    out = maskgit_decode(logits_fn, 2, 16, 10, settings, torch.Generator().manual_seed(0), held_BN=held)
    assert len(seen) == 1 + 3 and (out < 10).all()
    assert torch.equal(seen[1] == 10, held)  # after the first round only the held tokens are left
    for before, after in zip(seen[1:], seen[2:] + [out]):
        assert torch.equal(after[before != 10], before[before != 10])  # fixed tokens never change
    plain = maskgit_decode(logits_fn, 2, 16, 10, dataclasses.replace(settings, revealed_rounds=0), held_BN=held)
    assert (plain < 10).all() and len(seen) == 5  # without extra rounds held tokens are ordinary ones


def test_a_fine_tune_with_every_lever_trains_and_plays(tmp_path, moving_squares):
    source = tmp_path / "source"
    save_genie(build_genie("tiny", seed=5), str(source))
    out = tmp_path / "tuned"
    assert train_main(["dynamics", *common(moving_squares, out, 3), "--tokenizer", str(source), "--init", str(source),
                       "--mask-revealed", "on", "--copy-gates", "on", "--context-noise", "0.2",
                       "--snap-tolerance", "0.05", "--hide-behind-player", "on"]) == 0
    models = load_genie(str(out))
    c = models.dynamics.config
    assert (c.mask_revealed, c.copy_gates, c.context_noise, c.snap_tolerance) == (True, True, 0.2, 0.05)
    assert c.hide_behind_player
    assert models.dynamics.copy_gate.weight.abs().sum() > 0  # trained from its zero start
    settings = dataclasses.replace(models.decoding, revealed_rounds=2, revealed_temperature=1.0)
    world = World(models, settings, context=4)
    frame = world.reset(np.zeros((16, 16, 3), np.uint8) + 60)
    frames = [world.step(a % world.num_actions) for a in range(8)]
    assert all(f.shape == frame.shape and f.dtype == np.uint8 for f in frames)


def test_cached_world_equals_uncached_with_the_strip_hidden_held_and_gated():
    from genie_core.world.reference import UncachedRollout
    from genie_core.world.rollout import Rollout
    from tests.test_core import frames_uint8
    models = build_genie("tiny", seed=1)
    c = dataclasses.replace(models.dynamics.config, mask_revealed=True, copy_gates=True)
    dynamics = type(models.dynamics)(c)
    missing, _ = dynamics.load_state_dict(models.dynamics.state_dict(), strict=False)
    assert set(missing) == {"copy_gate.weight", "copy_gate.bias"}
    torch.nn.init.normal_(dynamics.copy_gate.weight, std=1.0)  # gates that matter
    dynamics.eval()
    settings = DecodeSettings(rounds=2, temperature=1.0, order="random", revealed_rounds=2, revealed_temperature=1.0,
                              unmoved_bias=-1.5)
    results = []
    for cached in (True, False):
        rollout = (Rollout if cached else UncachedRollout)(models.tokenizer, dynamics, settings, context=4)
        first = rollout.start(frames_uint8(B=1, T=1)[:, 0])
        g = torch.Generator().manual_seed(3)
        frames = [first] + [rollout.next_frame(torch.tensor([a]), g) for a in [0, 5, 2, 6, 1, 3]]
        results.append((torch.stack([r.tokens_BN for r in rollout.history]),
                        torch.stack([r.draft_BN for r in rollout.history]), torch.stack(frames)))
    assert results[0][0].equal(results[1][0]) and results[0][1].equal(results[1][1])
    assert (results[0][1][1:] == dynamics.mask_id).any()  # some generated frame had its strip hidden
    assert (results[0][2].int() - results[1][2].int()).abs().max() <= 1


def head_inputs(seed: int = 2):
    """A tiny dynamics model, one frame's transformer outputs and random previous tokens for its head."""
    dynamics = build_genie("tiny", seed=seed).dynamics.eval()
    N, V = dynamics.config.tokens_per_frame, dynamics.config.num_codes
    h = torch.randn(1, N // dynamics.config.token_merge ** 2, dynamics.config.dim)
    return dynamics, h, torch.randint(0, V, (1, N)), torch.tensor([2])


def test_unmoved_bias_moves_only_the_unmoved_frames_copy_logit():
    dynamics, h, previous, action = head_inputs()
    draft = (previous + 1) % dynamics.config.num_codes  # every token's two copy sources differ
    with torch.no_grad():
        plain, biased = (dynamics.head(h, previous, action, drafts_BTN=draft, unmoved_bias=b) for b in (0.0, -2.0))
    expected = torch.zeros_like(plain).scatter_(-1, previous[..., None], -2.0)
    assert torch.allclose(biased - plain, expected, atol=1e-5)
    with pytest.raises(ValueError, match="unmoved bias"):
        DecodeSettings(unmoved_bias=float("nan"))


def test_unmoved_bias_leaves_tokens_both_sources_agree_on():
    dynamics, h, previous, action = head_inputs()
    half = dynamics.config.tokens_per_frame // 2
    draft = previous.clone()
    draft[:, :half] = (previous[:, :half] + 1) % dynamics.config.num_codes  # the first half moved, the rest kept
    with torch.no_grad():
        plain, biased = (dynamics.head(h, previous, action, drafts_BTN=draft, unmoved_bias=b) for b in (0.0, -2.0))
        plain_alone, biased_alone = (dynamics.head(h, previous, action, unmoved_bias=b) for b in (0.0, -2.0))
    expected = torch.zeros_like(plain).scatter_(-1, previous[..., None], -2.0)
    assert torch.allclose(biased_alone - plain_alone, expected, atol=1e-5)  # no draft: every unmoved token
    expected[:, half:] = 0.0
    assert torch.allclose(biased - plain, expected, atol=1e-5)
