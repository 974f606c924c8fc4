"""The levers of the fast play loop keep what they promise: bf16 play, dropped frames, the soak."""
import numpy as np
import pytest
import torch

from genie_core.checkpoint import save_random_genie
from genie_core.decoding import DecodeSettings
from genie_core.device import pick_precision
from genie_core.loading import load_world, random_world, use_precision
from genie_core.tools.bench import soak

SAMPLED = DecodeSettings(rounds=2, temperature=1.0, order="random")


def test_explicit_precision_wins_and_auto_picks_a_float_type():
    cpu = torch.device("cpu")
    assert pick_precision("fp32", cpu) == torch.float32 and pick_precision("bf16", cpu) == torch.bfloat16
    assert pick_precision("auto", cpu) in (torch.float32, torch.bfloat16)
    with pytest.raises(ValueError, match="unknown precision"):
        pick_precision("fp8", cpu)


def test_bf16_play_runs_the_networks_in_bf16_and_keeps_logits_and_tokens_exact_types():
    world = random_world("tiny", seed=0, settings=SAMPLED)
    use_precision(world.models, torch.bfloat16)
    assert world.models.dynamics.token_embed.weight.dtype == torch.bfloat16
    assert world.models.tokenizer.vq.codes_KD.dtype == torch.float32  # the quantiser rounds in fp32
    world.reset(np.full((16, 16, 3), 90, np.uint8))
    frames = [world.step(a) for a in (0, 3, 5, 1, 2, 6, 4, 0, 3, 5)]  # past the 8-frame window
    assert all(f.dtype == np.uint8 and f.shape == (16, 16, 3) for f in frames)
    with torch.inference_mode():
        history = world.rollout.history
        logits = world.models.dynamics.step(history[-1].tokens_BN, torch.tensor([1]), 11, world.rollout.dyn_kv,
                                            history[-1].tokens_BN, draft_BN=history[-1].draft_BN)
    assert logits.dtype == torch.float32


def test_a_dropped_frame_leaves_the_world_as_it_was():
    world = random_world("tiny", seed=4, settings=DecodeSettings(rounds=3, temperature=0.0))
    world.reset(np.full((16, 16, 3), 60, np.uint8))
    first = world.step(2)
    for stop_at in (1, 2, 3, 5):  # at the start (a queued tick), in rounds 1 and 2, before decoding
        asked = []
        assert world.step(5, should_stop=lambda asked=asked, at=stop_at: asked.append(1) or len(asked) >= at) is None
        assert len(asked) == stop_at and len(world.rollout.history) == 2 and np.array_equal(world.frame, first)
    again = random_world("tiny", seed=4, settings=DecodeSettings(rounds=3, temperature=0.0))
    again.reset(np.full((16, 16, 3), 60, np.uint8))
    again.step(2)
    assert np.array_equal(world.step(1), again.step(1))  # as if the dropped frame had never been asked for


def test_soak_reports_time_and_memory_per_block(tmp_path):
    save_random_genie(str(tmp_path / "ckpt"))
    result = soak(str(tmp_path / "ckpt"), ticks=5, device="cpu", block=2, precision="fp32", probe=2)
    assert [b["end"] for b in result["soak_blocks"]] == [2, 4, 5]
    assert all(b["tick_ms"] > 0 and b["rss_mb"] > 0 and b["long_against_fresh"] > 0 for b in result["soak_blocks"])
    assert {"soak_tick_ms_change", "soak_long_against_fresh_last", "soak_rss_mb_change"} <= set(result)


def test_load_world_precision_flag_reaches_the_models(tmp_path):
    save_random_genie(str(tmp_path / "ckpt"))
    assert load_world(str(tmp_path / "ckpt"), "cpu", precision="fp32").models.dynamics.pos_NC.dtype == torch.float32
    assert load_world(str(tmp_path / "ckpt"), "cpu", precision="bf16").models.dynamics.pos_NC.dtype == torch.bfloat16


def test_a_learned_codebook_keeps_its_fp32_values_in_bf16_play():
    import dataclasses

    from genie_core.checkpoint import build_genie
    from genie_core.models.config import preset
    from genie_core.models.tokenizer import VideoTokenizer

    models = build_genie("tiny")
    models.tokenizer = VideoTokenizer(dataclasses.replace(preset("tiny").tokenizer, quantizer="vq"))
    codebook = models.tokenizer.vq.codebook.detach().clone()
    use_precision(models, torch.bfloat16)
    assert torch.equal(models.tokenizer.vq.codebook, codebook)
    frames = torch.randint(0, 256, (1, 2, 16, 16, 3), dtype=torch.uint8)
    assert models.tokenizer.decode(models.tokenizer.encode(frames)).shape == frames.shape


@pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="oneDNN not built into this torch")
def test_packed_linears_play_the_same_frames_keep_their_parameters_and_train_as_before(tmp_path, monkeypatch):
    from genie_core import loading
    from genie_core.blocks.packed import PackedLinear

    save_random_genie(str(tmp_path / "ckpt"))
    packed = load_world(str(tmp_path / "ckpt"), "cpu", precision="fp32")
    monkeypatch.setattr(loading, "pack_linears", lambda net: net)
    plain = load_world(str(tmp_path / "ckpt"), "cpu", precision="fp32")
    mlp = packed.models.dynamics.transformer.blocks[0].mlp
    assert isinstance(mlp[0], PackedLinear) and mlp[0].gelu is not None and isinstance(mlp[1], torch.nn.Identity)
    assert not isinstance(plain.models.dynamics.transformer.blocks[0].mlp[0], PackedLinear)
    assert set(packed.models.dynamics.state_dict()) == set(plain.models.dynamics.state_dict())
    image = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    for world in (packed, plain):
        world.reset(image)
    for action in (0, 3, 5, 1, 2, 6, 4, 0, 3, 5):  # past the 8-frame window
        assert np.abs(packed.step(action).astype(int) - plain.step(action)).max() <= 1
    x = torch.randn(2, 16, mlp[0].in_features, requires_grad=True)
    mlp(x).sum().backward()  # with gradients on: the plain linear of the same parameters
    assert x.grad is not None and mlp[0].weight.grad is not None


def test_one_frame_rotation_and_spelled_out_attention_match_the_reference_kernels():
    import torch.nn.functional as F

    from genie_core.blocks.st_transformer import (
        apply_rope,
        attention,
        rope_angles,
        rope_rotation,
    )

    x = torch.randn(5, 2, 1, 8)
    position = torch.tensor([1234])
    assert torch.allclose(x @ rope_rotation(position, 8), apply_rope(x, *rope_angles(position, 8)), atol=1e-5)
    q, k, v = (torch.randn(1, 2, 16, 8).bfloat16() for _ in range(3))
    mask = torch.rand(16, 16) > 0.3
    mask |= torch.eye(16, dtype=torch.bool)  # every query sees at least itself
    with torch.inference_mode():
        spelled = attention(q, k, v, mask)  # bf16 on CPU at inference: the spelled-out form
    fused = F.scaled_dot_product_attention(q.float(), k.float(), v.float(), attn_mask=mask)
    assert spelled.dtype == torch.bfloat16 and torch.allclose(spelled.float(), fused, atol=0.05)


def test_training_attention_over_short_keys_matches_the_fused_kernel_values_and_gradients():
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel

    from genie_core.blocks.st_transformer import SHORT_KEYS_FOR_MATH, attention

    for length, causal in ((16, True), (SHORT_KEYS_FOR_MATH, False), (SHORT_KEYS_FOR_MATH + 1, True)):
        q, k, v = (torch.randn(3, 2, length, 8, requires_grad=True) for _ in range(3))
        out = attention(q, k, v, causal=causal)
        grads = torch.autograd.grad(out.square().sum(), (q, k, v))
        with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
            fused = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        fused_grads = torch.autograd.grad(fused.square().sum(), (q, k, v))
        assert torch.allclose(out, fused, atol=1e-5)
        assert all(torch.allclose(a, b, atol=1e-4) for a, b in zip(grads, fused_grads))
