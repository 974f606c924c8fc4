"""The player the camera follows: measured on video (pixels that stay while the camera moves) and kept
unmoved in every draft, in training (drafts, snapped targets) and in play."""
import dataclasses
import json

import numpy as np
import torch

from genie_core.blocks.motion import followed_pixels, move_camera, pixel_mask, shift_frames
from genie_core.checkpoint import build_genie, load_genie, save_genie
from genie_core.decoding import DecodeSettings
from genie_core.train.__main__ import main as train_main
from genie_core.train.starting import measure_followed
from genie_core.world.rollout import Rollout

from tests.test_train import common, moving_squares  # noqa: F401  (the fixture)

SPRITE = (slice(14, 18), slice(15, 18))  # rows 14-17, columns 15-17 of a 32x32 frame


def followed_video(T: int = 12, size: int = 32, seed: int = 0, still: bool = False) -> torch.Tensor:
    """A random level scrolling 1 px left a frame (or still) with a textured sprite that stays in the middle."""
    rng = np.random.default_rng(seed)
    level = rng.integers(0, 200, (size, size + T, 3), dtype=np.uint8)
    frames = np.stack([level[:, (0 if still else t):(0 if still else t) + size] for t in range(T)]).copy()
    frames[:, SPRITE[0], SPRITE[1]] = rng.integers(200, 256, (4, 3, 3), dtype=np.uint8)
    return torch.from_numpy(frames)


def test_followed_pixels_are_the_sprite_that_stays_while_the_level_moves():
    found = followed_pixels([followed_video(seed=s) for s in range(3)])
    expected = torch.zeros(32, 32, dtype=torch.bool)
    expected[SPRITE] = True
    assert torch.equal(pixel_mask(found, 32), expected)
    assert followed_pixels([followed_video(still=True)]) == ()  # a still camera follows nothing
    assert pixel_mask((), 32) is None


def test_the_player_is_measured_over_the_whole_data_and_stray_pixels_are_left_out():
    """A folder of many games in name order starts with a still-screen game's episodes: the measure spreads
    its episodes over all of them. A pixel of scenery that also stayed is not part of the player."""
    class Clips:
        episodes = [f"still{i}" for i in range(70)] + [f"scroll{i}" for i in range(10)]

        def _frames(self, index):
            video = followed_video(seed=index, still=index < 70)
            if index >= 70:
                video[:, 9, 22] = 255  # one still pixel away from the player
            return video.numpy()

    expected = torch.zeros(32, 32, dtype=torch.bool)
    expected[SPRITE] = True
    assert torch.equal(pixel_mask(measure_followed(Clips()), 32), expected)


def test_a_moved_frame_keeps_the_followed_pixels_and_leaves_no_trail_of_them():
    video = followed_video()
    kept = pixel_mask(followed_pixels([video]), 32)
    frame, motion = video[3:4], torch.tensor([[-1, 0]])
    moved = move_camera(frame, motion, kept)
    assert torch.equal(moved[0][kept], frame[0][kept])
    trail = shift_frames(kept[None], motion)[0] & ~kept  # where the sprite would land if it moved
    assert trail.any() and torch.equal(moved[0][trail], frame[0][trail])
    elsewhere = ~(kept | trail)
    assert torch.equal(moved[0][elsewhere], shift_frames(frame, motion)[0][elsewhere])
    assert torch.equal(move_camera(frame, motion, None), shift_frames(frame, motion))


def test_play_drafts_keep_the_followed_pixels():
    models = build_genie("tiny", seed=0)
    followed = (5 * 16 + 6, 5 * 16 + 7, 6 * 16 + 6)
    dynamics = type(models.dynamics)(dataclasses.replace(models.dynamics.config, followed_pixels=followed))
    dynamics.load_state_dict(models.dynamics.state_dict())
    dynamics.eval()
    rollout = Rollout(models.tokenizer, dynamics, DecodeSettings(rounds=1, temperature=1.0, reuse_patches=True))
    rollout.start(torch.from_numpy(np.random.default_rng(1).integers(0, 256, (1, 16, 16, 3), dtype=np.uint8)))
    kept = pixel_mask(followed, 16)
    g, moves = torch.Generator().manual_seed(0), 0
    for action in (0, 1, 2, 3, 4, 5):
        previous = rollout.history[-1].shown_BHW3
        rollout.next_frame(torch.tensor([action]), g)
        moved_pixels = rollout.last_draft[0]
        assert torch.equal(moved_pixels[0][kept], previous[0][kept])
        moves += int(rollout.last_motion().abs().sum())
    assert moves > 0, "random motion logits sampled at temperature 1 move somewhere"


def test_training_with_keep_followed_measures_and_saves_the_pixels(tmp_path, moving_squares):
    source = tmp_path / "source"
    save_genie(build_genie("tiny", seed=5), str(source))
    out = tmp_path / "kept"
    assert train_main(["dynamics", *common(moving_squares, out, 2), "--tokenizer", str(source), "--init", str(source),
                       "--keep-followed", "on", "--snap-tolerance", "0.05"]) == 0
    followed = load_genie(str(out)).dynamics.config.followed_pixels
    assert isinstance(followed, tuple) and all(isinstance(i, int) for i in followed)


def test_a_run_from_init_keeps_the_init_checkpoints_followed_pixels(tmp_path, moving_squares):
    source = tmp_path / "source"
    save_genie(build_genie("tiny", seed=5), str(source))
    config_path = source / "dynamics" / "config.json"
    config = json.loads(config_path.read_text())
    config["followed_pixels"] = [1, 2, 3]  # not what this video would measure: the critic's and prior's player
    config_path.write_text(json.dumps(config))
    out = tmp_path / "tuned"
    assert train_main(["dynamics", *common(moving_squares, out, 2), "--tokenizer", str(source), "--init", str(source),
                       "--keep-followed", "on"]) == 0
    assert load_genie(str(out)).dynamics.config.followed_pixels == (1, 2, 3)
