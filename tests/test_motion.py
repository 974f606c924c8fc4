"""Camera motion: the shift search, moved frames, and the motion the dynamics model predicts."""
import numpy as np
import pytest
import torch

from genie_core.blocks.motion import (
    episode_motions,
    estimate_motion,
    id_to_motion,
    motion_to_id,
    shift_errors,
    shift_frames,
)
from genie_core.checkpoint import build_genie
from genie_core.decoding import DecodeSettings
from genie_core.world.rollout import Rollout


def smooth_frames(B=4, size=32, seed=0):
    """Random but smooth pictures: every shift gives a different error, as on a game level."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(B, 3, size // 4, size // 4, generator=g)
    x = torch.nn.functional.interpolate(x, size=(size, size), mode="bicubic", align_corners=False)
    return (x.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).contiguous()


@pytest.mark.parametrize("dx, dy", [(0, 0), (3, -2), (-8, 5), (1, 7), (-4, -8)])
def test_a_frame_shifted_by_dx_dy_gives_back_dx_dy(dx, dy):
    frames = smooth_frames()
    moved = shift_frames(frames, torch.tensor([[dx, dy]] * len(frames)))
    assert estimate_motion(frames, moved, radius=8).tolist() == [[dx, dy]] * len(frames)


def test_shift_moves_content_right_and_down_for_positive_dx_dy():
    frame = torch.zeros(1, 8, 8, 3, dtype=torch.uint8)
    frame[0, 2, 3] = 255
    moved = shift_frames(frame, torch.tensor([[2, 1]]))
    assert moved[0, 3, 5].tolist() == [255, 255, 255] and moved.sum() == 3 * 255


def test_shift_errors_equal_the_mse_of_each_moved_frame():
    frames, target = smooth_frames(B=2, seed=1), smooth_frames(B=2, seed=2)
    errors = shift_errors(frames, target, radius=3)
    for dy in range(-3, 4):
        for dx in range(-3, 4):
            moved = shift_frames(frames, torch.tensor([[dx, dy]] * 2)).float() / 255
            mse = (moved - target.float() / 255).pow(2).mean((1, 2, 3))
            assert torch.allclose(errors[:, dy + 3, dx + 3], mse, atol=1e-5)


def test_motion_ids_round_trip_and_episode_motion_starts_at_zero():
    shifts = torch.tensor([[-8, -8], [0, 0], [8, 8], [3, -5]])
    assert id_to_motion(motion_to_id(shifts, 8), 8).equal(shifts)
    frames = smooth_frames(B=1)[0]
    clip = torch.stack([frames, shift_frames(frames[None], torch.tensor([[2, 0]]))[0]])
    assert episode_motions(clip, 4).tolist() == [[0, 0], [2, 0]]


def test_motion_of_frame_t_plus_1_depends_on_the_action_of_t_to_t_plus_1_and_nothing_later():
    models = build_genie("tiny", seed=0)
    d = models.dynamics.eval()
    torch.manual_seed(0)
    T, N = 6, d.config.tokens_per_frame
    tokens = torch.randint(0, d.config.num_codes, (1, T, N))
    drafts = torch.randint(0, d.config.num_codes, (1, T, N))
    drafts[:, 0] = d.mask_id
    actions = torch.tensor([[0, 1, 2, 3, 4]])
    motions = torch.randint(0, d.num_motions, (1, T))

    def motion_logits(actions_BA, tokens_BTN=tokens):
        with torch.no_grad():
            return d.forward_clean_past(tokens_BTN, tokens_BTN, actions_BA, drafts_BTN=drafts, motions_BT=motions)[1]

    base = motion_logits(actions)  # (1, T-1, M): index t predicts frame t+1's motion
    changed = actions.clone()
    changed[0, 2] = 6  # the action of transition 2 -> 3
    other = motion_logits(changed)
    assert torch.allclose(base[:, :2], other[:, :2], atol=1e-6), "earlier frames' motion saw a later action"
    assert not torch.allclose(base[:, 2], other[:, 2]), "frame 3's motion must depend on the action 2 -> 3"
    later = tokens.clone()
    later[0, 3] = (later[0, 3] + 1) % d.config.num_codes  # frame 3's own tokens: not known when its motion is
    assert torch.allclose(base[:, :3], motion_logits(actions, later)[:, :3], atol=1e-6)


def test_play_moves_the_previous_frame_by_the_predicted_motion():
    models = build_genie("tiny", seed=0)
    for part in (models.tokenizer, models.lam, models.dynamics):
        part.eval()
    rollout = Rollout(models.tokenizer, models.dynamics, DecodeSettings(rounds=2, temperature=1.0, order="random", reuse_patches=True))
    image = smooth_frames(B=1, size=16)
    rollout.start(image)
    with torch.no_grad():  # every draft token is kept: the shown frame is exactly the moved one
        models.dynamics.copy_logit.fill_(1e4)
    moves = []
    g = torch.Generator().manual_seed(0)
    for action in (0, 1, 2, 3, 4, 5):
        previous = rollout.history[-1].shown_BHW3
        frame = rollout.next_frame(torch.tensor([action]), g)
        motion = rollout.last_motion()
        assert frame.equal(shift_frames(previous, motion))
        moves.append(motion)
    assert torch.cat(moves).abs().sum() > 0, "random motion logits sampled at temperature 1 move somewhere"


def test_lam_codes_learn_the_motion_they_are_given():
    models = build_genie("tiny", seed=0)
    lam = models.lam.train()
    frames = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (2, 4, 16, 16, 3), dtype=np.uint8))
    motions = torch.tensor([[[0, 0], [1, 0], [-2, 1], [0, 2]]] * 2)
    out = lam(frames, motions)
    assert out.motion_loss is not None and torch.isfinite(out.motion_loss)
    out.loss.backward()
    assert lam.encoder_embed.weight.grad.abs().sum() > 0


def test_motion_anchored_codes_are_the_nearest_motion_class_and_still_stays_by_rule():
    models = build_genie("tiny", seed=0)
    lam = models.lam
    assert lam.config.motion_codes and lam.config.still_id == 7
    motions = torch.tensor([[-2, 0]] * 50 + [[2, 0]] * 50 + [[0, 2]] * 50 + [[0, -2]] * 50 + [[0, 0]] * 50
                           + [[-1, 2]] * 50 + [[-1, -2]] * 50)
    lam.set_motion_classes(motions)
    classes = lam.motion_classes(motions)
    assert len(set(classes.tolist())) == 7  # seven distinct moves, seven classes
    assert (lam.motion_classes(torch.tensor([[-2, 0], [-2, 1]])) == classes[0]).all()  # nearest centroid
    frames = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (2, 4, 16, 16, 3), dtype=np.uint8))
    frames[1, 2] = frames[1, 1]  # a still transition gets the reserved action, whatever the classifier says
    clip_motions = torch.tensor([[[0, 0], [2, 0], [-2, 0], [0, 2]], [[0, 0], [0, -2], [0, 0], [-1, 2]]])
    lam.train()
    out = lam(frames, clip_motions)
    assert out.actions[1, 1] == 7 and (out.actions[0] < 7).all()
    assert torch.isfinite(out.loss)
    out.loss.backward()
    assert lam.to_class.weight.grad.abs().sum() > 0
    assert lam.infer_actions(frames).shape == (2, 3)
