"""Behaviour of the core models: causality, action timing, caching, MaskGIT, VQ, checkpoints."""
import dataclasses
import json
import os

import numpy as np
import pytest
import torch

from genie_core.blocks.maskgit import maskgit_decode, num_masked
from genie_core.blocks.st_transformer import STTransformer, clean_past_mask
from genie_core.blocks.vq import VectorQuantizer
from genie_core.checkpoint import (
    CheckpointError,
    GenieModels,
    build_genie,
    load_component,
    load_genie,
    save_genie,
)
from genie_core.decoding import DecodeSettings
from genie_core.loading import random_world
from genie_core.files import to_json
from genie_core.models.config import PRESETS, DynamicsConfig, preset
from genie_core.blocks.patches import merge_tokens, split_tokens
from genie_core.models.dynamics import DynamicsModel
from genie_core.models.lam import LatentActionModel, shift_mix
from genie_core.models.tokenizer import VideoTokenizer
from genie_core.world.reference import UncachedRollout, full_inputs
from genie_core.world.rollout import Rollout

GREEDY_REUSE = DecodeSettings(rounds=2, temperature=0.0, order="confidence", reuse_patches=True)


def next_frame_with(rollout: Rollout, action_B: torch.Tensor, settings: DecodeSettings, generator):
    """One frame at the given decoding settings, keeping the rollout's patch reuse."""
    rollout.settings = dataclasses.replace(settings, reuse_patches=rollout.settings.reuse_patches)
    return rollout.next_frame(action_B, generator)


@pytest.fixture(scope="module")
def models():
    m = build_genie("tiny", seed=0)
    for part in (m.tokenizer, m.lam, m.dynamics):
        part.eval()
    return m


def build_still_camera(seed=0):
    """The tiny models without camera motion: the copy prior then has one source, the previous frame."""
    config = preset("tiny")
    torch.manual_seed(seed)
    models = GenieModels(VideoTokenizer(config.tokenizer),
                         LatentActionModel(dataclasses.replace(config.lam, motion_radius=0)),
                         DynamicsModel(dataclasses.replace(config.dynamics, motion_radius=0)))
    for part in (models.tokenizer, models.lam, models.dynamics):
        part.eval()
    return models


def frames_uint8(B=2, T=5, size=16, seed=0):
    return torch.randint(0, 256, (B, T, size, size, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def test_st_transformer_is_causal_in_time():
    torch.manual_seed(0)
    net = STTransformer(dim=16, depth=2, heads=2).eval()
    x = torch.randn(1, 6, 4, 16)
    changed = x.clone()
    # change frame 3 only, and not by a constant: every block and the final norm subtract a shift
    # common to all channels, so that change reached the output only as rounding noise
    changed[:, 3] += torch.randn(1, 4, 16)
    a, b = net(x), net(changed)
    assert torch.allclose(a[:, :3], b[:, :3], atol=1e-6), "frames before 3 saw the future"
    assert not torch.allclose(a[:, 3:], b[:, 3:]), "frames from 3 on should see the change"


def test_models_are_causal(models):
    frames = frames_uint8()
    changed = frames.clone()
    changed[:, 3] = 255 - changed[:, 3]
    with torch.no_grad():
        tok_a, tok_b = models.tokenizer(frames), models.tokenizer(changed)
        assert torch.allclose(tok_a.recon[:, :3], tok_b.recon[:, :3], atol=1e-6)
        # LAM action t describes transition t -> t+1: actions 0, 1 (frames <= 2) are unchanged.
        lam_a, lam_b = models.lam.encode(frames), models.lam.encode(changed)
        assert torch.allclose(lam_a[:, :2], lam_b[:, :2], atol=1e-6)
        assert not torch.allclose(lam_a[:, 2], lam_b[:, 2])
        tokens = torch.randint(0, 32, (2, 5, 16))
        actions = torch.randint(0, 8, (2, 4))
        other = tokens.clone()
        other[:, 3] = (other[:, 3] + 1) % 32
        la, lb = models.dynamics(tokens, actions), models.dynamics(other, actions)
        assert torch.allclose(la[:, :3], lb[:, :3], atol=1e-6)


def test_action_of_transition_t_conditions_frame_t_plus_1(models):
    tokens = torch.randint(0, 32, (1, 5, 16))
    actions = torch.tensor([[1, 2, 3, 4]])
    other = actions.clone()
    other[0, 2] = 7  # transition 2 -> 3
    with torch.no_grad():
        a, b = models.dynamics(tokens, actions), models.dynamics(tokens, other)
    assert torch.allclose(a[:, :3], b[:, :3], atol=1e-6), "action 2->3 leaked into frames <= 2"
    assert not torch.allclose(a[:, 3], b[:, 3]), "action 2->3 must change frame 3"


def test_clean_past_mask_matches_play_time_view():
    mask = clean_past_mask(3, None, "cpu")
    assert mask[:3, :3].equal(torch.tril(torch.ones(3, 3, dtype=torch.bool)))
    assert not mask[:3, 3:].any()  # the clean stream never sees masked frames
    assert mask[3 + 2].tolist() == [True, True, False, False, False, True]


def test_clean_past_training_equals_plain_pass_on_clean_frames(models):
    """The two-stream pass gives the masked frame t the logits a plain pass gives when only t is masked."""
    tokens = torch.randint(0, 32, (1, 4, 16))
    actions = torch.randint(0, 8, (1, 3))
    masked = tokens.clone()
    masked[:, 2] = models.dynamics.mask_id
    with torch.no_grad():
        two_stream = models.dynamics.forward_clean_past(tokens, masked, actions)[0][:, 2]
        plain = models.dynamics(torch.cat((tokens[:, :2], masked[:, 2:3]), 1), actions[:, :2])[:, 2]
    assert torch.allclose(two_stream, plain, atol=1e-5)


def test_changed_token_weight_reweighs_only_tokens_that_differ_from_their_draft():
    dynamics = DynamicsModel(preset("tiny").dynamics)
    tokens = torch.randint(0, 32, (2, 4, 16), generator=torch.Generator().manual_seed(0))
    actions, motions = torch.randint(0, 8, (2, 3)), torch.full((2, 4), dynamics.num_motions // 2)
    drafts = torch.cat((torch.full_like(tokens[:, :1], dynamics.mask_id), tokens[:, :-1]), 1)

    def loss(weight, drafts_BTN=drafts):
        with torch.no_grad():
            out = dynamics.masked_token_loss(tokens, actions, torch.Generator().manual_seed(1), drafts_BTN, motions,
                                             changed_weight=weight)
        return (out.loss - out.motion_loss).item()  # the token loss alone

    assert loss(4.0) != pytest.approx(loss(1.0))  # random tokens: most differ from the frame before
    assert loss(4.0, tokens) == pytest.approx(loss(1.0, tokens))  # drafts equal to the frames: nothing changed


@pytest.mark.parametrize("context", [16, 3])
def test_cached_world_equals_uncached(models, context):
    image = frames_uint8(B=1, T=1)[:, 0]
    results = []
    for cached in (True, False):
        rollout = (Rollout if cached else UncachedRollout)(models.tokenizer, models.dynamics, DecodeSettings(rounds=4, temperature=1.0, order="random"), context=context)
        first = rollout.start(image)
        g = torch.Generator().manual_seed(3)
        frames = [first] + [rollout.next_frame(torch.tensor([a]), g) for a in [0, 5, 2, 7, 1, 3]]
        results.append((torch.stack([r.tokens_BN for r in rollout.history]), torch.stack(frames)))
    assert results[0][0].equal(results[1][0])
    assert (results[0][1].int() - results[1][1].int()).abs().max() <= 1  # float rounding at most


def test_cached_logits_equal_full_forward(models):
    rollout = Rollout(models.tokenizer, models.dynamics, DecodeSettings(rounds=2, temperature=1.0, order="random"), context=16)
    rollout.start(frames_uint8(B=1, T=1)[:, 0])
    for a in (1, 2, 3):
        rollout.next_frame(torch.tensor([a]), torch.Generator().manual_seed(0))
    query = torch.randint(0, 33, (1, 16))
    draft = torch.randint(0, 32, (1, 16))  # the tiny preset has motion: the new frame's draft tokens
    with torch.inference_mode():
        rollout.dyn_kv.load([r.dynamics_kv for r in rollout.history])
        cached = rollout.dynamics.step(query, torch.tensor([4]), 4, rollout.dyn_kv, rollout.history[-1].tokens_BN,
                                       draft_BN=draft)
        inputs = full_inputs(rollout.history, query, torch.tensor([4]), draft)
        full = rollout.dynamics.newest_logits(*inputs, window=16)
        cached_biased = rollout.dynamics.step(query, torch.tensor([4]), 4, rollout.dyn_kv,
                                              rollout.history[-1].tokens_BN, copy_bias=2.5, draft_BN=draft)
        full_biased = rollout.dynamics.newest_logits(*inputs, window=16, copy_bias=2.5)
    assert torch.allclose(cached, full, atol=1e-4)
    assert torch.allclose(cached_biased, full_biased, atol=1e-4)


def test_copy_bias_raises_only_the_previous_tokens_logit_and_keeps_the_frame_when_large():
    models = build_still_camera()
    rollout = Rollout(models.tokenizer, models.dynamics, DecodeSettings(rounds=2, temperature=1.0, order="random"), context=16)
    rollout.start(frames_uint8(B=1, T=1)[:, 0])
    previous = rollout.history[-1].tokens_BN
    query = torch.full_like(previous, models.dynamics.mask_id)
    with torch.inference_mode():
        rollout.dyn_kv.load([r.dynamics_kv for r in rollout.history])
        plain, biased = (rollout.dynamics.step(query, torch.tensor([2]), 1, rollout.dyn_kv, previous, copy_bias=b)
                         for b in (0.0, 3.0))
    expected = torch.zeros_like(plain).scatter_(-1, previous[..., None], 3.0)
    assert torch.allclose(biased - plain, expected, atol=1e-5)
    with torch.no_grad():
        models.dynamics.copy_logit.fill_(-30.0)  # the learned part votes for changing every token ...
    rollout.settings = DecodeSettings(rounds=2, temperature=0.0, order="confidence")
    rollout.next_frame(torch.tensor([2]), None)
    assert (rollout.history[-1].tokens_BN != previous).all()
    rollout.history.pop()
    rollout.settings = dataclasses.replace(rollout.settings, copy_bias=1e4)
    rollout.next_frame(torch.tensor([2]), None)  # ... and the bias outvotes it
    assert rollout.history[-1].tokens_BN.equal(previous)


def test_reused_patches_keep_the_start_image_where_tokens_do_not_change():
    models = build_still_camera()
    image = frames_uint8(B=1, T=1)[:, 0]
    rollout = Rollout(models.tokenizer, models.dynamics, GREEDY_REUSE)
    assert rollout.start(image).equal(image)  # the real start image, not its reconstruction
    with torch.no_grad():
        models.dynamics.copy_logit.fill_(1e4)  # greedy decoding now repeats every token
    same = rollout.next_frame(torch.tensor([3]), None)
    assert same.equal(image)
    with torch.no_grad():
        models.dynamics.copy_logit.fill_(-1e4)  # and now changes every token
    changed = rollout.next_frame(torch.tensor([3]), None)
    assert (rollout.history[-1].tokens_BN != rollout.history[-2].tokens_BN).all()
    tokens = torch.stack([r.tokens_BN for r in rollout.history], dim=1)
    decoded = models.tokenizer.decode(tokens)[:, -1]  # every patch changed: all pixels are decoded
    assert (changed.int() - decoded.int()).abs().max() <= 1
    off = Rollout(models.tokenizer, models.dynamics, dataclasses.replace(GREEDY_REUSE, reuse_patches=False))
    assert not off.start(image).equal(image)  # off: the tokenizer's reconstruction


def test_token_merge_groups_squares_and_splits_back():
    grid = torch.arange(36).view(1, 36, 1)  # a 6x6 raster of token ids
    merged = merge_tokens(grid, 6, 2)
    assert merged.shape == (1, 9, 4)
    assert merged[0, 0].tolist() == [0, 1, 6, 7]  # the top-left 2x2 square
    assert merged[0, 4].tolist() == [14, 15, 20, 21]  # the centre square
    assert split_tokens(merged, 6, 2).equal(grid)


def test_merged_dynamics_keeps_one_logit_row_per_token_and_its_squares_apart():
    torch.manual_seed(0)
    d = DynamicsModel(DynamicsConfig(num_codes=32, tokens_per_frame=16, dim=32, heads=2, depth=1, token_merge=2)).eval()
    tokens = torch.randint(0, 32, (1, 3, 16))
    actions = torch.tensor([[1, 2]])
    logits = d(tokens, actions)
    assert logits.shape == (1, 3, 16, 32)
    changed = tokens.clone()
    changed[0, 2, 0] = (changed[0, 2, 0] + 1) % 32  # token 0 of frame 2 lies in the top-left square
    other = d(changed, actions)
    assert torch.allclose(logits[:, :2], other[:, :2], atol=1e-6)  # earlier frames do not see it
    assert not torch.allclose(logits[:, 2], other[:, 2])
    selected = d(tokens, actions, select_BTN=tokens > 15)
    assert torch.allclose(selected, logits[tokens > 15], atol=1e-5)


def test_action_copy_prior_lets_one_action_keep_every_token():
    models = build_still_camera()
    assert models.dynamics.action_copy_logit is not None
    with torch.no_grad():
        models.dynamics.copy_logit.fill_(-1e4)  # every token changes ...
        models.dynamics.action_copy_logit[5] = 2e4  # ... except under action 5
    image = frames_uint8(B=1, T=1)[:, 0]
    rollout = Rollout(models.tokenizer, models.dynamics, GREEDY_REUSE)
    rollout.start(image)
    assert rollout.next_frame(torch.tensor([5]), None).equal(image)
    rollout.next_frame(torch.tensor([4]), None)
    assert (rollout.history[-1].tokens_BN != rollout.history[-2].tokens_BN).all()


def test_still_action_keeps_every_token_even_against_the_network_and_when_sampling():
    models = build_genie("tiny", seed=0)
    models.dynamics.eval()
    still = models.lam.config.still_id
    assert still == 7 and models.dynamics.config.still_action == still
    with torch.no_grad():
        models.dynamics.copy_logit.fill_(-20.0)  # the learned part votes against copying
    image = frames_uint8(B=2, T=1)[:, 0]
    rollout = Rollout(models.tokenizer, models.dynamics, GREEDY_REUSE)
    rollout.start(image)
    generator = torch.Generator().manual_seed(0)
    for _ in range(3):
        assert next_frame_with(rollout, torch.tensor([still, still]), DecodeSettings(rounds=4, temperature=1.0, order="random"), generator).equal(image)
    next_frame_with(rollout, torch.tensor([2, 2]), DecodeSettings(rounds=4, temperature=0.0, order="confidence"), None)
    assert (rollout.history[-1].tokens_BN != rollout.history[-2].tokens_BN).any()


def test_lam_gives_the_still_action_exactly_to_unchanged_transitions():
    torch.manual_seed(0)
    lam = LatentActionModel(dataclasses.replace(preset("tiny").lam, motion_codes=False))  # the VQ codes
    frames = frames_uint8(B=3, T=6)
    frames[0, 2] = frames[0, 1]  # transition 1 -> 2 of clip 0 changes nothing
    frames[1, 1:] = frames[1, 0]  # clip 1 stands still throughout
    frames[2, 4] = frames[2, 3]
    frames[2, 4, 0, 0, 0] ^= 1  # one sub-pixel differs: that is a move, however small
    still = lam.config.still_id
    expected = torch.zeros(3, 5, dtype=torch.bool)
    expected[0, 1] = expected[1, :] = True
    out = lam(frames)
    assert (out.actions == still).equal(expected)
    assert (lam.infer_actions(frames) == still).equal(expected)
    assert out.quantized_latents.shape == (int((~expected).sum()), lam.config.code_dim)
    out.loss.backward()
    assert lam.still_code.grad is not None and lam.encoder_embed.weight.grad.abs().sum() > 0
    all_still = lam(frames[1:2])  # only still transitions: no quantiser pass, still a finite loss
    assert (all_still.actions == still).all() and torch.isfinite(all_still.loss)
    all_still.loss.backward()


def test_unmerged_dynamics_keeps_the_v1_weight_layout():
    d = DynamicsModel(DynamicsConfig())  # the defaults of checkpoints made before token_merge
    assert d.to_tokens is None and d.action_copy_logit is None
    assert d.token_embed.weight.shape == (1025, 128) and d.pos_NC.shape == (64, 128)


def test_world_memory_is_flat_over_long_rollouts():
    world = random_world("tiny", context=4, max_undo=8, settings=DecodeSettings(rounds=1, temperature=1.0, order="random"))
    world.reset(np.zeros((16, 16, 3), np.uint8))
    for i in range(300):
        world.step(i % 8)
    assert len(world.rollout.history) <= 4 + 8 and len(world.frames) <= 9
    assert world.rollout.history[-1].position == 300  # positions keep counting; RoPE is relative


def test_world_undo_restores_previous_frame():
    world = random_world("tiny", settings=DecodeSettings(rounds=2, temperature=1.0, order="random"))
    world.reset(np.full((16, 16, 3), 40, np.uint8))
    first = world.step(1)
    world.step(2)
    assert np.array_equal(world.undo(), first)
    world.reseed(5)
    again = world.step(2)
    world.undo()
    world.reseed(5)
    assert np.array_equal(world.step(2), again), "after undo, generation continues from the restored state"


def test_num_masked_schedule():
    assert num_masked(0, 8, 64) < 64 and num_masked(7, 8, 64) == 0
    values = [num_masked(s, 8, 64) for s in range(8)]
    assert values == sorted(values, reverse=True)


@pytest.mark.parametrize("order", ["random", "confidence"])
def test_maskgit_fills_everything_and_never_changes_fixed_tokens(order):
    V, N, mask_id = 10, 20, 10
    history = []

    def logits_fn(tokens):
        history.append(tokens.clone())
        return torch.randn(tokens.shape[0], N, V)

    out = maskgit_decode(logits_fn, 3, N, mask_id, DecodeSettings(rounds=5, temperature=1.0, order=order),
                         generator=torch.Generator().manual_seed(0))
    assert (out != mask_id).all()
    states = history + [out]
    for before, after in zip(states, states[1:]):
        fixed = before != mask_id
        assert after[fixed].equal(before[fixed]), "a fixed token changed"
        assert (after != mask_id).sum() >= fixed.sum()


def test_maskgit_greedy_is_deterministic():
    logits = torch.randn(1, 8, 5)
    run = lambda: maskgit_decode(lambda t: logits, 1, 8, 5, DecodeSettings(rounds=3, temperature=0.0, order="confidence"))
    assert run().equal(run()) and run().equal(logits.argmax(-1))


def test_shift_mix_moves_each_patch_by_its_chosen_offset():
    frames = torch.rand(1, 2, 32, 32, 3)
    R, K = 3, 7
    logits = torch.full((1, 2, 4, 2 * K), -50.0)
    logits[..., R] = logits[..., K + R] = 50.0  # every patch: no shift ...
    logits[:, :, 0, R] = 0.0
    logits[:, :, 0, R + 2] = 50.0  # ... except the top-left one: rows from 2 below, columns from 1 left
    logits[:, :, 0, K + R] = 0.0
    logits[:, :, 0, K + R - 1] = 50.0
    out = shift_mix(frames, logits, patch=16)
    assert torch.allclose(out[:, :, 16:], frames[:, :, 16:], atol=1e-5)
    assert torch.allclose(out[:, :, :, 16:], frames[:, :, :, 16:], atol=1e-5)
    assert torch.allclose(out[:, :, 3:14, 3:14], frames[:, :, 5:16, 2:13], atol=1e-5)


def test_fresh_lam_predicts_the_last_frame():
    """The residual and shift heads start at "copy x_t", so a new LAM is never worse than copying."""
    lam = LatentActionModel(preset("tiny").lam).eval()
    assert lam.config.decoder_shift and lam.config.difference_input
    frames = frames_uint8()
    with torch.no_grad():
        out = lam(frames)
    assert torch.allclose(out.recon, frames[:, :-1].float() / 255, atol=1e-3)


def test_vq_straight_through_gradient_reaches_encoder():
    torch.manual_seed(0)
    encoder = torch.nn.Linear(4, 8)
    vq = VectorQuantizer(16, 8)
    out = vq(encoder(torch.randn(32, 4)))
    assert torch.allclose(out.quantized, vq.lookup(out.indices), atol=1e-6)
    (out.quantized.sum() + out.loss).backward()
    assert encoder.weight.grad is not None and encoder.weight.grad.abs().sum() > 0


def test_vq_restarts_dead_codes():
    vq = VectorQuantizer(16, 4, dead_fraction=0.25).train()
    for _ in range(300):
        vq(torch.tensor([[1.0, 0, 0, 0]]).repeat(8, 1))  # one code takes everything
    assert vq.usage_fraction() < 0.5
    restarted = vq.restart_dead_codes(torch.randn(64, 4))
    assert restarted > 0 and vq.usage_fraction() == 1.0


def test_save_load_gives_identical_outputs(tmp_path, models):
    save_genie(models, str(tmp_path))
    loaded = load_genie(str(tmp_path))
    frames = frames_uint8()
    with torch.no_grad():
        assert models.tokenizer.encode(frames).equal(loaded.tokenizer.encode(frames))
        assert models.lam.infer_actions(frames).equal(loaded.lam.infer_actions(frames))
        tokens, actions = torch.randint(0, 32, (1, 3, 16)), torch.tensor([[1, 2]])
        assert torch.equal(models.dynamics(tokens, actions), loaded.dynamics(tokens, actions))


def test_wrong_shape_checkpoint_fails_clearly(tmp_path, models):
    save_genie(models, str(tmp_path))
    config_path = tmp_path / "dynamics" / "config.json"
    bigger = dataclasses.replace(models.dynamics.config, dim=64)
    config_path.write_text(to_json(bigger))
    with pytest.raises(CheckpointError, match=r"model.safetensors: tensor .* has shape"):
        load_genie(str(tmp_path))


def test_missing_and_truncated_checkpoints_fail_clearly(tmp_path, models):
    with pytest.raises(CheckpointError, match="no such checkpoint folder"):
        load_genie(str(tmp_path / "nope"))
    save_genie(models, str(tmp_path))
    weights = tmp_path / "lam" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="lam/model.safetensors: unreadable or truncated"):
        load_component(str(tmp_path / "lam"), "lam")
    os.remove(tmp_path / "tokenizer" / "config.json")
    with pytest.raises(CheckpointError, match="tokenizer/config.json: missing"):
        load_genie(str(tmp_path))


def test_presets_build_and_agree():
    for name, config in PRESETS.items():
        assert config.dynamics.num_codes == config.tokenizer.num_codes
        assert config.dynamics.tokens_per_frame == config.tokenizer.tokens_per_frame
    assert preset("tiny").lam.num_actions == 8
    with pytest.raises(ValueError, match="unknown preset"):
        preset("huge")


def test_tiny_session_is_pixel_identical_to_the_pinned_frames():
    """Frames made before the engine was restructured (tests/fixtures/tiny_session.npz): any change
    to what a fixed seed and action list produce shows here. Within 1 level for float rounding on
    other CPUs; a changed token would move a whole patch."""
    world = random_world("tiny", seed=1, settings=DecodeSettings(rounds=3, temperature=1.0, order="random"))
    world.reset(np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8))
    frames = np.stack([world.step(a % world.num_actions) for a in range(12)])
    pinned = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "tiny_session.npz"))["frames"]
    assert frames.shape == pinned.shape
    assert np.abs(frames.astype(int) - pinned).max() <= 1


def test_checkpoint_from_before_decode_json_still_loads(tmp_path, models):
    """Decoding defaults used to live in dynamics/config.json under other names."""
    save_genie(models, str(tmp_path))
    os.remove(tmp_path / "dynamics" / "decode.json")
    config_path = tmp_path / "dynamics" / "config.json"
    legacy = {**json.loads(config_path.read_text()), "maskgit_steps": 5, "temperature": 0.5,
              "unmask_order": "confidence", "decode_copy_bias": 1.5, "reuse_unchanged_patches": True}
    config_path.write_text(json.dumps(legacy))
    loaded = load_genie(str(tmp_path))
    assert loaded.decoding == DecodeSettings(rounds=5, temperature=0.5, order="confidence", copy_bias=1.5,
                                             reuse_patches=True)
    assert loaded.dynamics.config == models.dynamics.config


def test_decode_json_round_trips_and_bad_values_fail_clearly(tmp_path, models):
    models.decoding = DecodeSettings(rounds=3, temperature=0.25, order="random", copy_bias=-1.0)
    save_genie(models, str(tmp_path))
    assert load_genie(str(tmp_path)).decoding == models.decoding
    (tmp_path / "dynamics" / "decode.json").write_text('{"steps": 0}')
    with pytest.raises(CheckpointError, match="decode.json: bad decoding settings"):
        load_genie(str(tmp_path))
    (tmp_path / "dynamics" / "decode.json").write_text('{"remember": "off"}')  # a truthy string
    with pytest.raises(CheckpointError, match="remember must be true or false"):
        load_genie(str(tmp_path))


def test_reset_takes_a_read_only_image_without_a_warning():
    import warnings
    world = random_world("tiny", seed=0)
    image = np.zeros((16, 16, 3), np.uint8)
    image.setflags(write=False)  # as np.asarray(PIL image) gives
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert world.reset(image).shape == (16, 16, 3)
        world.step(0)
