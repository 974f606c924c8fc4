"""Free play's measures on known pictures, a free play on a tiny world, the real game's side, and the
long horizon's teacher-forced rollout."""
import json
import subprocess
import sys

import numpy as np
import torch
import pytest

from genie_core.checkpoint import build_genie, save_genie
from genie_core.data.clips import write_episode
from genie_core.decoding import DecodeSettings
from genie_core.tools.free_play import (SKINS, bucket_summary, buckets_for, edges, format_table, frame_scores, is_flat,
                                        late_ratios, colour_histogram, level_colours, picture, picture_every, player_seen,
                                        skin_of, start_record)
from genie_core.world import World


def test_bands_have_no_edges_across_and_flat_fill_none_at_all():
    bands = np.zeros((64, 64, 3), np.uint8)
    bands[::8] = 200  # a bright row every 8 px: steps down, none across
    bands[1::8] = 200
    bands[2::8] = 200
    bands[3::8] = 200
    across, down = edges(bands)
    assert across == 0 and down > 0.4
    flat = np.full((64, 64, 3), 90, np.uint8)
    assert tuple(edges(flat)) == (0, 0) and is_flat(flat) and not is_flat(bands)
    checker = ((np.indices((16, 16)).sum(0) % 2) * 200).astype(np.uint8).repeat(4, 0).repeat(4, 1)
    assert tuple(edges(np.stack([checker] * 3, -1))) == (1, 1)


@pytest.mark.parametrize("skin", list(SKINS))
def test_each_skin_is_found_at_the_centre_and_seen_only_where_drawn(skin):
    frame = np.full((64, 64, 3), 60, np.uint8)
    frame[30:34, 30:33] = SKINS[skin][0]
    assert skin_of(frame) == skin and player_seen(frame, skin)
    others = [s for s in SKINS if s != skin]
    assert not any(player_seen(frame, s) for s in others)
    frame[30:34, 30:33] = 60
    assert not player_seen(frame, skin)


def test_free_play_on_a_tiny_world_gives_every_bucket_and_a_picture():
    world = World(build_genie("tiny", seed=0), DecodeSettings(rounds=1, temperature=0.0), context=4)
    start = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    frames = [world.reset(start)] + [world.step(a % world.num_actions) for a in range(25)]
    scores = frame_scores(frames, skin_of(start), colour_histogram([start]))
    assert scores["edges"].shape == (26, 2) and scores["camera"].shape == (26, 2) and scores["player"].shape == (26,)
    assert scores["colours"][0] == 1.0
    summary = bucket_summary([scores, scores])
    assert list(summary) == ["1-20"]  # only whole buckets
    assert 0 <= summary["1-20"]["edges_across"] <= 1 and 0 <= summary["1-20"]["colours"] <= 1
    sheet = picture([(frames, frames)], every=10, scale=2)
    assert sheet.shape == (2 * 2 * 16, 3 * 16 * 2, 3)


def test_level_colours_say_how_much_of_a_frame_has_the_levels_mix_of_colours():
    level = np.zeros((64, 64, 3), np.uint8)
    level[:, :32] = (48, 80, 112)  # a cave wall and sky, half and half
    level[:, 32:] = (144, 208, 240)
    mix = colour_histogram([level])
    assert level_colours(level, mix) == 1.0
    noisy = np.clip(level.astype(int) + np.random.default_rng(0).integers(-6, 7, level.shape), 0, 255)
    assert level_colours(noisy.astype(np.uint8), mix) == 1.0  # small decoding errors stay in their colour
    foreign = level.copy()
    foreign[:16] = (230, 120, 30)  # another game's orange blocks over a quarter of the frame
    assert level_colours(foreign, mix) == 0.75
    assert level_colours(np.full_like(level, 90), mix) == 0.0  # flat fill in a colour the level never shows
    assert level_colours(np.full_like(level, (48, 80, 112)), mix) == 0.5  # all wall: half the mix


def test_a_minute_of_play_is_reported_to_its_end_in_buckets_of_150_ticks():
    assert buckets_for(120)[-1] == (61, 120) and buckets_for(60)[-1] == (41, 60)
    minute = buckets_for(896)
    assert minute[6:] == [(121, 270), (271, 420), (421, 570), (571, 720), (721, 896), (121, 896)]  # a short end joins
    assert buckets_for(300)[6:] == [(121, 300)] and buckets_for(200)[6:] == [(121, 200)]
    assert picture_every(120) == 10 and picture_every(896) == 40  # about 24 frames a row at most


def test_each_start_says_how_many_of_its_late_frames_are_flat():
    level = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    flat = np.full((64, 64, 3), 90, np.uint8)
    mix = colour_histogram([level])
    real = frame_scores([level] * 121, "yellow", mix)
    fills = frame_scores([level] * 91 + [flat] * 30, "yellow", mix)  # ticks 91-120 one colour: half of ticks 61-120
    records = [start_record("a.npz", real, real), start_record("b.npz", fills, real)]
    assert [r["model_flat_after_60"] for r in records] == [0.0, 0.5]
    assert records[1]["model"]["91-120"]["flat"] == 1.0 and records[1]["real"]["91-120"]["flat"] == 0.0
    model, real_buckets = bucket_summary([real, fills]), bucket_summary([real, real])
    result = {"starts": 2, "plan": "noop*120", "model": model, "real": real_buckets, "per_start": records,
              **late_ratios(model, real_buckets)}
    table = format_table(result)
    assert "by start: b.npz 50%" in table and "a.npz" not in table
    json.dumps(result)  # the per-start records go into --json as they are


def test_the_real_game_plays_the_named_keys_from_a_levels_start():
    pytest.importorskip("procgen")
    from genie_core.tools.key_motion import plan_words, play_real_keys
    keys = plan_words("right*3,noop,jump*2")
    assert keys == ["right"] * 3 + ["noop"] + ["jump"] * 2
    real = play_real_keys(1000000, 64, keys)
    frames = real.frames
    assert len(frames) == 7 and frames[0].shape == (64, 64, 3) and real.restart is None
    assert player_seen(frames[-1], skin_of(frames[0]))  # the real game always shows its player
    with pytest.raises(ValueError, match="no key named"):
        play_real_keys(1000000, 64, ["fly"])


def test_long_horizon_runs_on_a_tiny_checkpoint_and_refuses_bad_input(tmp_path):
    checkpoint = tmp_path / "ckpt"
    save_genie(build_genie("tiny", seed=0), str(checkpoint))
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    for e in range(2):
        write_episode(str(data / f"ep{e}.npz"), rng.integers(0, 256, (30, 16, 16, 3), dtype=np.uint8))
    out = tmp_path / "long.json"
    run = [sys.executable, "-m", "genie_core.tools.long_horizon", "--checkpoint", str(checkpoint), "--data", str(data)]
    done = subprocess.run(run + ["--frames", "12", "--json", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    assert len(result["model_psnr_by_t"]) == 12 and list(result["buckets"]) == ["1-10", "11-12"]
    assert result["windows"] == 4  # two 13-frame windows in each 30-frame episode
    refused = subprocess.run(run + ["--frames", "0"], capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1


def test_the_real_camera_stops_where_the_level_restarts():
    from genie_core.blocks.motion import shift_frames

    rng = np.random.default_rng(0)
    frame = torch.from_numpy(rng.integers(0, 256, (1, 64, 64, 3), dtype=np.uint8))
    frames = [shift_frames(frame, torch.tensor([[-2 * t, 0]]))[0].numpy() for t in range(5)]
    mix = colour_histogram(frames)
    moving = frame_scores(frames, "yellow", mix)["camera"]
    stopped = frame_scores(frames, "yellow", mix, restart=3)["camera"]
    assert moving[4, 0] == -8 and np.array_equal(stopped[:3], moving[:3]) and (stopped[3:] == moving[2]).all()


def test_frames_identical_to_the_one_before_count_as_still():
    rng = np.random.default_rng(0)
    moving = [rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(121)]
    frozen = moving[:61] + [moving[60].copy() for _ in range(60)]  # nothing changes after tick 60
    mix = colour_histogram(moving)
    summary = bucket_summary([frame_scores(moving, "yellow", mix), frame_scores(frozen, "yellow", mix)])
    assert summary["1-20"]["still"] == 0.0
    assert summary["61-120"]["still"] == 0.5  # one start of two frozen over these ticks
    assert frame_scores(frozen, "yellow", mix)["still"][0] == False  # the start frame has none before it
