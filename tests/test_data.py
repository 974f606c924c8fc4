"""Tests for genie_core.data: the clip format, the loader, CoinRun generation and video import."""
from __future__ import annotations

import dataclasses
import json
import os
import pickle
import shutil
import zipfile
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from genie_core.data import (
    ClipFormatError,
    ClipSampler,
    list_episodes,
    read_episode,
    split_episodes,
    write_episode,
)
from genie_core.data.__main__ import main
from genie_core.data.clips import read_header
from genie_core.data.importer import ImportSettings, import_videos
from genie_core.data.quality import SPLIT, QualityConfig, filter_frames
from genie_core.files import remove_stale_temp_files


def counting_episode(num_frames: int, offset: int = 0, size: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Frame t is filled with offset + t; action t is t, so windows show their own alignment."""
    frames = np.broadcast_to((offset + np.arange(num_frames, dtype=np.uint8))[:, None, None, None],
                             (num_frames, size, size, 3)).copy()
    return frames, np.arange(num_frames - 1, dtype=np.int64)


def scene(t: int, channel: int, size: int = 64, square_x: int | None = None) -> np.ndarray:
    """A game-like frame: scrolling stripes in one colour channel and a moving white square."""
    x = np.arange(size)
    frame = np.full((size, size, 3), 40, np.uint8)
    frame[..., channel] = np.where((x[None, :] + 3 * t) % 16 < 8, 180, 80)
    left = 8 + (4 * t) % (size - 24) if square_x is None else square_x
    frame[20:32, left:left + 12] = 255
    return frame


# ---------------------------------------------------------------- format and loader

def test_episode_file_format_and_round_trip(tmp_path):
    frames, actions = counting_episode(20)
    path = str(tmp_path / "ep.npz")
    write_episode(path, frames, actions, level=7, agent="random")
    with np.load(path, allow_pickle=False) as archive:
        assert archive["frames"].dtype == np.uint8 and archive["frames"].shape == (20, 8, 8, 3)
        assert archive["actions"].dtype == np.int64 and archive["actions"].shape == (19,)
    with zipfile.ZipFile(path) as archive:  # stored, not compressed, so the loader can memory-map it
        assert archive.getinfo("frames.npy").compress_type == zipfile.ZIP_STORED
    episode = read_episode(path)
    assert np.array_equal(episode.frames, frames) and np.array_equal(episode.actions, actions)
    assert episode.extras == {"level": 7, "agent": "random"}
    assert os.listdir(tmp_path) == ["ep.npz"]  # no temp file left behind
    (tmp_path / ".ep.npz.999999999.0123abcd.tmp").write_bytes(b"from a killed writer")
    (tmp_path / f".ep.npz.{os.getpid()}.0123abcd.tmp").write_bytes(b"from a live writer")
    assert remove_stale_temp_files(str(tmp_path)) == 1 and len(os.listdir(tmp_path)) == 2
    with pytest.raises(ValueError, match="actions"):
        write_episode(path, frames, actions[:-1])
    with pytest.raises(ValueError, match="uint8"):
        write_episode(path, frames.astype(np.float32))


def test_sampler_windows_are_consecutive_and_actions_aligned(tmp_path):
    for index, length in enumerate([40, 25, 60]):
        write_episode(str(tmp_path / f"ep{index}.npz"), *counting_episode(length, offset=100 * (index % 2)))
    sampler = ClipSampler(list_episodes(str(tmp_path)), window=16)
    batch = sampler.sample(32, np.random.default_rng(0))
    assert batch.frames.shape == (32, 16, 8, 8, 3) and batch.frames.dtype == np.uint8
    assert batch.actions.shape == (32, 15) and batch.actions.dtype == np.int64
    values = batch.frames[:, :, 0, 0, 0].astype(np.int64)  # (B, T)
    assert (np.diff(values, axis=1) == 1).all()  # consecutive frames of one episode
    assert np.array_equal(batch.actions, values[:, :-1] % 100)  # actions[t] sits between frames t and t+1
    again = sampler.sample(32, np.random.default_rng(0))
    assert np.array_equal(batch.frames, again.frames)
    copy = pickle.loads(pickle.dumps(sampler))  # e.g. into DataLoader workers, without the maps
    assert len(pickle.dumps(sampler)) < 20_000
    assert np.array_equal(copy.sample(32, np.random.default_rng(0)).frames, batch.frames)
    assert sampler.num_windows == 25 + 10 + 45


def test_sampler_skips_short_episodes_and_reports_them(tmp_path):
    write_episode(str(tmp_path / "short.npz"), *counting_episode(5, offset=200))
    write_episode(str(tmp_path / "long.npz"), *counting_episode(20))
    sampler = ClipSampler(list_episodes(str(tmp_path)), window=16)
    assert sampler.num_short == 1 and sampler.num_windows == 5
    assert "skipped 1 shorter than 16" in sampler.describe()
    assert sampler.sample(64, np.random.default_rng(1)).frames.max() < 200  # never the short one
    with pytest.raises(ValueError, match="no usable episode"):
        ClipSampler([str(tmp_path / "short.npz")], window=16)


def test_missing_actions_read_as_minus_one(tmp_path):
    frames, _ = counting_episode(16)
    write_episode(str(tmp_path / "video.npz"), frames)
    batch = ClipSampler([str(tmp_path / "video.npz")], window=16).sample(2, np.random.default_rng(0))
    assert (batch.actions == -1).all()


def test_corrupt_files_are_named_and_skipped(tmp_path, capsys):
    good = str(tmp_path / "good.npz")
    write_episode(good, *counting_episode(20))
    bad = {"garbage.npz": b"this is not a zip file at all",
           "truncated.npz": open(good, "rb").read()[:3000]}
    for name, data in bad.items():
        (tmp_path / name).write_bytes(data)
    np.savez(tmp_path / "nokey.npz", pictures=np.zeros((4, 8, 8, 3), np.uint8))
    np.savez(tmp_path / "floats.npz", frames=np.zeros((4, 8, 8, 3), np.float32))
    np.savez(tmp_path / "misaligned.npz", frames=np.zeros((4, 8, 8, 3), np.uint8), actions=np.zeros(4, np.int64))
    np.savez(tmp_path / "othersize.npz", frames=np.zeros((20, 4, 4, 3), np.uint8))
    names = ["garbage.npz", "truncated.npz", "nokey.npz", "floats.npz", "misaligned.npz"]
    for name in names:
        with pytest.raises(ClipFormatError) as error:
            read_header(str(tmp_path / name))
        assert name in str(error.value) and "\n" not in str(error.value)
    paths = [good] + [str(tmp_path / n) for n in names + ["othersize.npz"]]
    with pytest.raises(ClipFormatError, match="garbage.npz"):
        ClipSampler(paths, window=16, on_error="raise")
    capsys.readouterr()
    sampler = ClipSampler(paths, window=16)
    notes = capsys.readouterr().err.splitlines()  # one plain line per file, no warning with its source line
    assert len(notes) == 6 and all(line.startswith("note: skipping ") for line in notes)
    assert len(sampler.bad) == 6 and any("othersize.npz" in line for line in sampler.bad)
    ClipSampler(paths, window=16, on_error="quiet")
    assert capsys.readouterr().err == ""
    assert sampler.sample(4, np.random.default_rng(0)).frames.shape == (4, 16, 8, 8, 3)


def test_compressed_episodes_read_the_same(tmp_path):
    frames, actions = counting_episode(30)
    write_episode(str(tmp_path / "stored.npz"), frames, actions)
    write_episode(str(tmp_path / "zipped.npz"), frames, actions, compress=True)
    stored = list(ClipSampler([str(tmp_path / "stored.npz")], window=10).iter_windows(stride=5))
    zipped = list(ClipSampler([str(tmp_path / "zipped.npz")], window=10).iter_windows(stride=5))
    assert len(stored) == len(zipped) == 1
    assert np.array_equal(stored[0].frames, zipped[0].frames)
    assert np.array_equal(stored[0].actions, zipped[0].actions)


def test_iter_windows_visits_every_window_in_order(tmp_path):
    write_episode(str(tmp_path / "a.npz"), *counting_episode(20))
    write_episode(str(tmp_path / "b.npz"), *counting_episode(35, offset=100))
    sampler = ClipSampler(list_episodes(str(tmp_path)), window=16)
    batches = list(sampler.iter_windows(stride=8, batch_size=3))
    assert [len(b.frames) for b in batches] == [3, 1]
    starts = np.concatenate([b.frames[:, 0, 0, 0, 0] for b in batches]).tolist()
    assert starts == [0, 100, 108, 116]
    assert sum(len(b.frames) for b in sampler.iter_windows(window=30, stride=1)) == 6  # only b is long enough


def test_split_is_deterministic_by_name_and_stable_when_files_are_added():
    paths = [f"data/ep{i:05d}.npz" for i in range(400)]
    train, val = split_episodes(paths, 0.05, seed=0)
    assert (train, val) == split_episodes(list(paths), 0.05, seed=0)
    assert sorted(train + val) == paths and not set(train) & set(val)
    assert 8 <= len(val) <= 35
    train2, val2 = split_episodes(paths + [f"data/new{i}.npz" for i in range(100)], 0.05, seed=0)
    assert set(val) == set(val2) & set(paths) and set(train) == set(train2) & set(paths)
    assert split_episodes(paths, 0.05, seed=1)[1] != val
    assert len(split_episodes(paths[:3], 0.05)[1]) == 1  # tiny sets still get a validation episode


# ---------------------------------------------------------------- CoinRun

def test_coinrun_episodes_have_true_aligned_actions(tmp_path):
    pytest.importorskip("procgen")
    from genie_core.data.coinrun import (
        CoinRunSettings,
        episode_name,
        generate_coinrun,
        load_procgen,
    )

    out = str(tmp_path / "coinrun")
    settings = CoinRunSettings(steps=12, min_frames=4, agent="mix", seed=3)
    counts = generate_coinrun(out, range(5, 7), 2, settings, progress=False)
    assert counts["written"] == 2
    assert sorted(os.listdir(out)) == ["level0000005_r0.npz", "level0000006_r0.npz", "meta.json"]
    env_class = load_procgen()
    for level in (5, 6):
        episode = read_episode(os.path.join(out, episode_name(level, 0)))
        frames, actions = episode.frames, episode.actions
        assert frames.dtype == np.uint8 and frames.shape[1:] == (64, 64, 3) and 4 <= len(frames) <= 13
        assert actions.dtype == np.int64 and actions.shape == (len(frames) - 1,)
        assert ((0 <= actions) & (actions < 9)).all() and episode.extras["level"] == level
        # Replaying the recorded actions on the same level reproduces every frame: actions[t]
        # really is what led from frames[t] to frames[t+1].
        env = env_class(num=1, env_name="coinrun", start_level=level, num_levels=1, distribution_mode="hard")
        replay = [env.observe()[1]["rgb"][0].copy()]
        for action in actions:
            env.act(np.array([action]))
            replay.append(env.observe()[1]["rgb"][0].copy())
        env.close()
        assert np.array_equal(np.stack(replay), frames)
    meta = json.load(open(os.path.join(out, "meta.json")))
    assert meta["episodes"] == 2 and meta["levels"] == {"count": 2, "min": 5, "max": 6}
    assert len(meta["action_names"]) == 15 and meta["action_names"][7] == "RIGHT"
    before = {name: os.path.getmtime(os.path.join(out, name)) for name in os.listdir(out) if name.endswith(".npz")}
    counts = generate_coinrun(out, range(5, 7), 3, settings, progress=False)  # continue: one more episode
    assert counts["skipped_existing"] == 2 and counts["written"] == 1
    assert os.path.exists(os.path.join(out, "level0000005_r1.npz"))
    assert all(os.path.getmtime(os.path.join(out, name)) == t for name, t in before.items())


def test_other_procgen_games_are_recorded_the_same_way(tmp_path):
    pytest.importorskip("procgen")
    from genie_core.data.coinrun import CoinRunSettings, episode_name, generate_coinrun

    for game in ("ninja", "bigfish"):
        out = str(tmp_path / game)
        counts = generate_coinrun(out, range(3, 4), 1, CoinRunSettings(steps=10, min_frames=4, seed=1, game=game),
                                  progress=False)
        episode = read_episode(os.path.join(out, episode_name(3, 0)))
        assert counts["written"] == 1 and episode.frames.shape[1:] == (64, 64, 3) and episode.extras["game"] == game
        assert json.load(open(os.path.join(out, "meta.json")))["game"] == game
    with pytest.raises(ValueError, match="game must be one of"):
        generate_coinrun(str(tmp_path / "x"), range(1), 1, CoinRunSettings(game="pong"), progress=False)
    # The tools play the file's own game in procgen: its start frame is the episode's first frame.
    from genie_core.tools.key_motion import level_of, play_real_keys

    path = os.path.join(tmp_path, "ninja", episode_name(3, 0))
    assert level_of(path) == (3, "ninja")
    real = play_real_keys(3, 64, ["noop"], "ninja")
    assert np.array_equal(real.frames[0], read_episode(path).frames[0])


def test_the_wander_agent_turns_when_the_picture_stops_changing():
    from genie_core.data.coinrun import WANDER_HOLD, WANDER_MOVES, Agent

    agent = Agent("wander", np.random.default_rng(0))
    first = agent.act()
    assert first in WANDER_MOVES
    assert all(agent.act(picture_changed=True) == first for _ in range(WANDER_HOLD[0] - 2))  # held while it moves
    turned = agent.act(picture_changed=False)  # stuck against a wall: another arrow at once
    assert turned in WANDER_MOVES and turned != first
    held = [agent.act() for _ in range(WANDER_HOLD[1] + 1)]  # nothing stops it: it still turns in time
    assert len(set(held)) > 1


def test_wandering_in_maze_moves_the_sprite(tmp_path):
    pytest.importorskip("procgen")
    from genie_core.data.coinrun import CoinRunSettings, generate_coinrun

    counts = generate_coinrun(str(tmp_path), range(0, 4), 4, CoinRunSettings(steps=40, agent="wander", game="maze"),
                              progress=False)
    assert counts["written"] == 4
    changed = [np.abs(np.diff(read_episode(str(p)).frames.astype(int), axis=0)).sum((1, 2, 3)) > 0
               for p in sorted(tmp_path.glob("*.npz"))]
    assert np.mean(np.concatenate(changed)) > 0.5  # the wide agents leave 82% of maze's transitions unchanged



def test_the_traverse_agent_undoes_deaths_and_reaches_the_coin(tmp_path):
    pytest.importorskip("procgen")
    from genie_core.data.coinrun import CoinRunSettings, generate_coinrun, load_procgen

    settings = CoinRunSettings(steps=300, agent="traverse")
    counts = generate_coinrun(str(tmp_path / "traverse"), range(5000, 5006), 6, settings, progress=False)
    assert counts["ended_coin"] == 6  # scripted play alone dies in half of its episodes
    scripted = generate_coinrun(str(tmp_path / "scripted"), range(5000, 5006), 6,
                                dataclasses.replace(settings, agent="scripted"), progress=False)
    assert counts["frames"] > scripted["frames"]
    # One unbroken stretch of play: the kept actions, replayed from the level's start, draw the same frames.
    episode = read_episode(str(tmp_path / "traverse" / "level0005000_r0.npz"))
    rand_seed = int(np.random.default_rng([0, 5000, 0]).integers(2**31 - 1))  # as play_level seeds the game
    env = load_procgen()(num=1, env_name="coinrun", start_level=5000, num_levels=1, distribution_mode="hard",
                         use_backgrounds=True, rand_seed=rand_seed)
    replayed = [env.observe()[1]["rgb"][0].copy()]
    for action in episode.actions:
        env.act(np.array([action]))
        replayed.append(env.observe()[1]["rgb"][0].copy())
    assert np.array_equal(np.stack(replayed), episode.frames)

# ---------------------------------------------------------------- quality filter and import

def run_filter(frames, static_seconds=2.0):
    counts = Counter()
    items = list(filter_frames(frames, 10.0, QualityConfig(static_seconds=static_seconds), counts))
    stretches, current = [], []
    for item in items + [SPLIT]:
        if isinstance(item, str):
            if current:
                stretches.append(current)
            current = []
        else:
            current.append(item)
    return stretches, counts


def test_quality_filter_drops_static_black_and_splits_cuts():
    red = [scene(t, 0) for t in range(60)]
    blue = [scene(t, 2) for t in range(10)]
    pause = [red[14]] * 5  # a short pause is part of play and is kept
    frames = (red[:10] + [red[50]] * 25 + red[10:15] + pause + red[15:20]
              + [np.zeros_like(red[0])] * 4 + [np.full_like(red[0], 200)] * 2 + red[20:30] + blue)
    stretches, counts = run_filter(frames)
    assert counts["static"] == 24  # the first frame of the held picture stays, the other 24 go
    assert counts["black"] == 4 and counts["blank"] == 2 and counts["cuts"] == 1
    assert [len(s) for s in stretches] == [11, 15, 10, 10]
    assert all(s[0].mean() > 50 for s in stretches)
    assert all(len({int(f[..., 2].mean() > f[..., 0].mean()) for f in s}) == 1 for s in stretches)  # one scene each
    assert sum(map(len, stretches)) + counts["static"] + counts["black"] + counts["blank"] == len(frames)


def write_video(path: str, frames: list[np.ndarray], fps: int = 30) -> None:
    import av

    with av.open(path, "w") as container:
        stream = container.add_stream("libx264", rate=fps, options={"crf": "8", "preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())


def test_import_mp4_filters_static_black_and_cut(tmp_path):
    pytest.importorskip("av")
    big = lambda frame: frame.repeat(2, axis=0).repeat(2, axis=1)  # 128x128 source, fitted to 64
    red = [big(scene(t, 0)) for t in range(400)]
    frames = (red[0:120] + [red[119]] * 90 + red[120:210] + [np.zeros_like(red[0])] * 60
              + red[210:300] + [big(scene(t, 2)) for t in range(120)])  # 4 s, 3 s still, 3 s, 2 s black, 3 s, cut, 4 s
    write_video(str(tmp_path / "game.mp4"), frames, fps=30)
    out = str(tmp_path / "clips")
    settings = ImportSettings(size=64, fps=10, episode_len=16, min_len=8)
    report = import_videos([str(tmp_path / "game.mp4")], out, settings, progress=False, log=lambda line: None)
    counts = report.inputs[0].counts
    assert report.inputs[0].status == "imported"
    assert abs(counts["frames"] - 190) <= 1  # 19 s resampled from 30 to 10 FPS
    assert 28 <= counts["static"] <= 31 and 19 <= counts["black"] <= 21 and counts["cuts"] == 1
    assert counts["frames"] == counts["kept"] + sum(counts[r] for r in ("black", "blank", "static", "short"))
    assert abs(counts["kept"] - 141) <= 2  # 4.1 s + 3 s + 3 s + 4 s at 10 FPS
    episodes = [read_episode(path) for path in list_episodes(out)]
    assert sum(len(e.frames) for e in episodes) == counts["kept"]
    for episode in episodes:
        assert episode.frames.shape[1:] == (64, 64, 3) and episode.actions is None
        assert 8 <= len(episode.frames) <= 16
        assert episode.frames.mean(axis=(1, 2, 3)).min() > 30  # no black frame
        is_blue = episode.frames[..., 2].mean(axis=(1, 2)) > episode.frames[..., 0].mean(axis=(1, 2))
        assert is_blue.all() or not is_blue.any()  # no episode spans the cut
        still = np.abs(np.diff(episode.frames.astype(np.int16), axis=0)).max(axis=(1, 2, 3)) < 12
        assert still.sum() < 5  # the static stretch is gone
    meta = json.load(open(os.path.join(out, "meta.json")))
    assert meta["episodes"] == len(episodes) and meta["resolution"] == [64, 64] and meta["fps"] == 10


def test_import_gif_folder_and_corrupt_file_with_resume(tmp_path):
    pytest.importorskip("av")
    gif = [Image.fromarray(scene(t, 1)) for t in range(20)]
    gif[0].save(tmp_path / "anim.gif", save_all=True, append_images=gif[1:], duration=50, loop=0)
    folder = tmp_path / "shots"
    folder.mkdir()
    for i in range(1, 25):  # frame_2.png must come before frame_10.png
        Image.fromarray(scene(i, 0, square_x=2 * i)).save(folder / f"frame_{i}.png")
    (folder / "frame_13.png").write_bytes(b"not a png")
    (tmp_path / "broken.mp4").write_bytes(os.urandom(2000))
    inputs = [str(tmp_path / "anim.gif"), str(folder), str(tmp_path / "broken.mp4")]
    out = str(tmp_path / "clips")
    settings = ImportSettings(size=32, fps=10, episode_len=8, min_len=2)
    lines = []
    report = import_videos(inputs, out, settings, progress=False, log=lines.append)
    by_name = {os.path.basename(r.path): r for r in report.inputs}
    assert by_name["anim.gif"].counts["frames"] == 10  # 20 frames of 50 ms at 10 FPS
    assert by_name["anim.gif"].counts["kept"] == 10 and len(by_name["anim.gif"].episodes) == 2
    shots = by_name["shots"]
    assert shots.counts["frames"] == 24 and shots.counts["unreadable"] == 1 and shots.counts["kept"] == 23
    square_x = []
    for name in shots.episodes:
        frames = read_episode(os.path.join(out, name)).frames
        assert frames.shape[1:] == (32, 32, 3)
        square_x += [int(np.argmax(f[10:16, :, 1].min(axis=0) > 200)) for f in frames]
    assert square_x == sorted(square_x) and len(set(square_x)) > 5  # name order, not text order
    assert by_name["broken.mp4"].status == "skipped" and by_name["broken.mp4"].reason
    assert "broken.mp4" in lines[-1] and "skipped" in lines[-1]  # the summary names the bad file
    files = sorted(os.listdir(out))
    again = import_videos(inputs, out, settings, progress=False, log=lambda line: None)
    assert [r.status for r in again.inputs] == ["already imported", "already imported", "skipped"]
    assert sorted(os.listdir(out)) == files
    shutil.copy(tmp_path / "anim.gif", tmp_path / "copy.gif")
    copy = import_videos([str(tmp_path / "copy.gif")], out, settings, progress=False, log=lambda line: None)
    assert copy.inputs[0].counts["duplicate"] == 10 and not copy.inputs[0].episodes
    with pytest.raises(ValueError, match="already holds clips"):
        import_videos(inputs, out, ImportSettings(size=64), progress=False, log=lambda line: None)


# ---------------------------------------------------------------- command line

@pytest.mark.parametrize("argv", [[], ["coinrun", "--out", "x", "--levels", "9:3"], ["coinrun"],
                                  ["coinrun", "--out", "x", "--game", "pong"],
                                  ["import", "a.mp4", "--out", "x", "--fps", "0"], ["import", "a.mp4"]])
def test_bad_arguments_give_one_line_and_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error:" in err and "Traceback" not in err


def test_missing_input_and_help(tmp_path, capsys):
    assert main(["import", str(tmp_path / "nothing.mp4"), "--out", str(tmp_path / "o")]) == 2
    assert "nothing.mp4: no such file" in capsys.readouterr().err
    for argv in (["--help"], ["coinrun", "--help"], ["import", "--help"], ["check", "--help"]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 0
    assert "--episode-len" in capsys.readouterr().out


def test_an_import_of_only_unreadable_inputs_fails_in_one_line_and_leaves_no_folder(tmp_path, capsys):
    pytest.importorskip("av")
    (tmp_path / "broken.mp4").write_bytes(os.urandom(2000))
    out = tmp_path / "clips"
    assert main(["import", str(tmp_path / "broken.mp4"), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert "Traceback" not in error and "error: nothing imported" in error.strip().splitlines()[-1]  # after the progress bar
    assert not out.exists()


def test_coinrun_without_procgen_exits_2_with_the_install_line(tmp_path, monkeypatch, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "procgen", None)  # import procgen now raises ImportError
    code = main(["coinrun", "--out", str(tmp_path / "c"), "--levels", "0:1", "--episodes", "1", "--envs", "1"])
    err = capsys.readouterr().err
    assert code == 2 and "requirements-coinrun.txt" in err and len(err.strip().splitlines()) == 1
