"""The player: keymap, scripted sessions, GIFs, main.py's errors, and the window under SDL's dummy driver."""
from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

os.environ["SDL_VIDEODRIVER"] = "dummy"  # before pygame is imported, so no window is needed
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import numpy as np
import pygame
import pytest
import torch
from PIL import Image

from genie_core.checkpoint import save_random_genie
from genie_core.decoding import DecodeSettings
from genie_core.loading import random_world
from play.app import PlayerApp, PlayOptions
from play.keymap import load_keymap
from play.recorder import GifRecorder, OutputPathError, check_writable
from play.session import parse_actions, run_session

REPO = Path(__file__).resolve().parents[1]
NAMES = ["noop", "left", "right", "jump", "down", "a5", "a6", "a7"]


class FakeWorld:
    """Shifts the image right by action+1 pixels and stamps a step counter, so every frame differs."""

    def __init__(self, size: int = 16, delay: float = 0.0, action_names: list[str] | None = None):
        self.image_size, self.num_actions, self.action_names, self.context = size, 8, action_names, 16
        self.direction_keys = None
        self.settings, self.delay = DecodeSettings(rounds=4, temperature=1.0, order="random"), delay
        self.frames: list[np.ndarray] = []
        self.played_action = None  # the real World's: the action a frame was made with (no prior here)

    def reset(self, image):
        self.frames = [image.copy()]
        return image.copy()

    def step(self, action, should_stop=None):
        time.sleep(self.delay)
        frame = np.roll(self.frames[-1], action + 1, axis=1)
        frame[0, 0] = (len(self.frames) * 37) % 256
        self.frames.append(frame)
        self.played_action = action
        return frame.copy()

    def undo(self):
        if len(self.frames) <= 1:
            return None
        self.frames.pop()
        return self.frames[-1].copy()

    def reseed(self, seed):
        pass

    def change_settings(self, **changes):
        self.settings = dataclasses.replace(self.settings, **changes)


def start_image(size: int = 16, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


def gif_frame_count(path) -> int:
    with Image.open(path) as gif:
        return gif.n_frames


# ---- keymap and scripted sessions -------------------------------------------------------------
def test_keymap_binds_numbers_always_and_arrows_by_action_name():
    named = load_keymap(8, NAMES)
    assert [named.action_for_key[str(k)] for k in range(1, 9)] == list(range(8))
    assert (named.action_for_key["left"], named.action_for_key["right"]) == (1, 2)
    assert named.action_for_key["up"] == named.action_for_key["space"] == 3  # "jump"
    assert named.action_for_key["down"] == 4 and named.idle_action == 0
    assert named.command_for_key["return"] == "reset" and named.command_for_key["escape"] == "quit"
    # A checkpoint with a still action but no noop idles on it (not on action 0, which may run).
    assert load_keymap(8, ["right", "left", "jump", "down", "a4", "a5", "a6", "still"]).idle_action == 7
    unnamed = load_keymap(8, None)
    assert "left" not in unnamed.action_for_key and unnamed.idle_action is None
    # "up" claims the UP key first, so "jump" keeps only SPACE.
    both = load_keymap(8, ["up", "jump", "right", "left", "down", "a5", "a6", "a7"])
    assert (both.action_for_key["up"], both.action_for_key["space"]) == (0, 1)


def test_direction_keys_fill_the_arrows_that_no_name_claims():
    names = ["right", "right 2", "noop", "right+jump", "right 3", "a5", "a6", "a7"]
    keymap = load_keymap(8, names, direction_keys={"right": 4, "left": 2, "jump": 3, "down": 1})
    assert keymap.action_for_key["right"] == 0  # the name wins over the direction pick
    assert keymap.action_for_key["left"] == 2 and keymap.action_for_key["down"] == 1
    assert keymap.action_for_key["up"] == keymap.action_for_key["space"] == 3
    assert parse_actions("left*2,jump", 8, names, {"left": 2, "jump": 3}) == [2, 2, 3]


def test_keymap_file_with_a_key_bound_twice_is_rejected(tmp_path):
    data = json.loads((REPO / "play" / "keymap.json").read_text())
    data["commands"]["undo"].append("return")
    (tmp_path / "keymap.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match="bound to both"):
        load_keymap(8, None, tmp_path / "keymap.json")


def test_parse_actions_ids_names_and_repeats():
    assert parse_actions("0,3,3,5", 8) == [0, 3, 3, 5]
    assert parse_actions("right*3, jump", 8, NAMES) == [2, 2, 2, 3]
    for bad in ("0,8", "-1", "left", "2*x", ""):
        with pytest.raises(ValueError, match="--actions"):
            parse_actions(bad, 8)


def test_headless_session_of_n_actions_gives_n_plus_1_frames_and_gif(tmp_path):
    actions = [0, 3, 3, 5, 1]
    result = run_session(FakeWorld(), start_image(), actions)
    assert len(result.frames) == len(actions) + 1 and len(result.tick_seconds) == len(actions)
    recorder = GifRecorder(tmp_path / "run.gif", scale=4)
    for frame in result.frames:
        recorder.add(frame, result.frame_seconds(fps_cap=15))
    recorder.save()
    assert gif_frame_count(tmp_path / "run.gif") == len(actions) + 1
    with Image.open(tmp_path / "run.gif") as gif:
        assert gif.size == (64, 64) and gif.info["duration"] >= 60  # 4x upscale; no faster than 15 fps
    assert "ms per tick p50" in result.summary()


def test_real_world_actions_matter_and_seeds_replay():
    image = start_image()

    def play(actions, seed=0, temperature=None):
        world = random_world("tiny", seed=seed)
        with torch.no_grad():  # at random init the copy prior hides the action; make actions loud
            world.models.dynamics.copy_logit.zero_()  # the moved frame's copy bonus ...
            world.models.dynamics.previous_copy_logit.zero_()  # ... and the unmoved frame's
            world.models.dynamics.action_embed.weight.normal_(0, 1)
        if temperature is not None:
            world.change_settings(temperature=temperature)
        return run_session(world, image, actions).frames

    left, right, again = play([0, 0, 0]), play([5, 5, 5]), play([0, 0, 0])
    assert any(not np.array_equal(a, b) for a, b in zip(left[1:], right[1:]))
    assert all(np.array_equal(a, b) for a, b in zip(left, again))
    assert np.array_equal(left[0], image)
    # Greedy decoding shows the action's effect on the very next frame; with sampling at random
    # init the logits are so flat that the same random draws can pick the same first frame.
    assert not np.array_equal(play([0], temperature=0.0)[1], play([5], temperature=0.0)[1])


def test_gif_save_is_atomic_and_never_clobbers_half_way(tmp_path, monkeypatch):
    path = tmp_path / "keep.gif"
    path.write_bytes(b"old gif")
    recorder = GifRecorder(path)
    recorder.add(start_image(), 0.1)

    def broken_save(self, fp, *args, **kwargs):
        fp.write(b"half")  # the GIF goes to an open temp file beside the target
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError):
        recorder.save()
    assert path.read_bytes() == b"old gif" and sorted(os.listdir(tmp_path)) == ["keep.gif"]


def test_unwritable_record_paths_fail_before_play(tmp_path):
    for bad in (tmp_path / "missing" / "a.gif", tmp_path):
        with pytest.raises(OutputPathError):
            check_writable(bad)
    check_writable(tmp_path / "fine.gif")
    assert os.listdir(tmp_path) == []  # the probe file is gone


# ---- main.py as a user runs it --------------------------------------------------------------------
@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ckpt") / "tiny"
    save_random_genie(str(folder), preset="tiny", seed=0)
    return folder


def run_main(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "main.py"), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env=env)


def test_main_headless_plays_records_and_reports_timing(checkpoint, tmp_path):
    Image.fromarray(start_image(40)).convert("P").save(tmp_path / "level.gif")  # palette GIF, other size
    done = run_main("--image", "level.gif", "--checkpoint", str(checkpoint), "--headless",
                    "--actions", "0,3,3*2,5", "--record", "out.gif", "--copy-bias", "-2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "resized 40x40 -> 16x16" in done.stderr and "ms per tick p50" in done.stdout
    assert "copy bias -2" in done.stdout
    assert gif_frame_count(tmp_path / "out.gif") == 6


def bad_start_images(folder: Path) -> dict[str, str]:
    (folder / "notes.txt").write_text("not an image\n")
    Image.fromarray(start_image(64)).save(folder / "whole.png")
    data = (folder / "whole.png").read_bytes()
    (folder / "truncated.png").write_bytes(data[: len(data) // 2])
    (folder / "a_folder").mkdir()
    return {"missing": "nope.png", "folder": "a_folder", "text": "notes.txt", "truncated": "truncated.png"}


def test_main_bad_inputs_give_one_line_errors_and_exit_2(checkpoint, tmp_path):
    Image.fromarray(start_image()).save(tmp_path / "ok.png")
    cases = [["--image", path, "--checkpoint", str(checkpoint), "--headless", "--actions", "0"]
             for path in bad_start_images(tmp_path).values()]
    cases += [["--image", "ok.png", "--checkpoint", str(checkpoint), "--headless", "--actions", "0,8"],
              ["--image", "ok.png", "--checkpoint", str(checkpoint), "--headless", "--actions", "0",
               "--record", "no/such/folder/out.gif"],
              ["--image", "ok.png", "--checkpoint", str(tmp_path / "no_checkpoint"), "--headless", "--actions", "0"],
              ["--image", "ok.png", "--checkpoint", str(tmp_path / "a_folder"), "--headless", "--actions", "0"],
              ["--image", "ok.png", "--checkpoint", str(checkpoint), "--headless", "--actions", "0",
               "--copy-bias", "nan"],
              ["--image", "ok.png", "--headless"]]
    for args in cases:
        done = run_main(*args, cwd=tmp_path)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2, (args, done.stderr)
        assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in done.stderr, args
    assert "truncated.png" in run_main(*cases[3], cwd=tmp_path).stderr
    if sys.platform.startswith("linux"):  # a window asked for over plain ssh: say so, before loading
        no_screen = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")}
        done = run_main("--image", "ok.png", "--checkpoint", str(checkpoint), cwd=tmp_path, env=no_screen)
        assert done.returncode == 2 and done.stderr.startswith("error: no display") and "Traceback" not in done.stderr


# ---- the window, under the dummy video driver -----------------------------------------------------
class Script:
    """Runs from the app's on_loop: each (wait_until, do) pair fires once its condition holds."""

    def __init__(self, *steps, timeout: float = 30.0):
        self.steps, self.deadline = list(steps), time.perf_counter() + timeout

    def __call__(self, app: PlayerApp) -> None:
        if time.perf_counter() > self.deadline:
            pygame.event.post(pygame.event.Event(pygame.QUIT))
        elif self.steps and self.steps[0][0](app):
            self.steps.pop(0)[1](app)


def key(key_code: int, down: bool = True) -> None:
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN if down else pygame.KEYUP, key=key_code, mod=0))


def tap(key_code: int):
    return lambda app: (key(key_code), key(key_code, down=False))


def settled(app: PlayerApp) -> bool:
    return app.frame is not None and not app.worker.busy


def test_window_plays_keys_resets_undoes_and_records_with_the_real_world(tmp_path):
    world = random_world("tiny", seed=0)
    world.action_names = NAMES  # as if the checkpoint shipped an actions.json
    image = start_image()
    options = PlayOptions(fps=0, mode="hold", output_dir=str(tmp_path))
    app = PlayerApp(world, image, load_keymap(8, NAMES), options)
    seen = {}
    script = Script(
        (settled, lambda a: key(pygame.K_RIGHT)),
        (lambda a: a.summary.ticks >= 3, lambda a: key(pygame.K_RIGHT, down=False)),
        (settled, lambda a: seen.update(after_right=(a.summary.ticks, a.last_action))),
        (settled, tap(pygame.K_RETURN)),
        (settled, lambda a: seen.update(reset=a.frame.copy())),
        (settled, tap(pygame.K_2)),  # a tap between ticks still plays one step in hold mode
        (settled, tap(pygame.K_BACKSPACE)),
        (settled, lambda a: seen.update(undone=a.frame.copy(), ticks=a.summary.ticks)),
        (settled, tap(pygame.K_r)),
        (settled, tap(pygame.K_SPACE)),
        (settled, tap(pygame.K_SPACE)),
        (settled, tap(pygame.K_r)),
        (settled, tap(pygame.K_EQUALS)),
        (settled, tap(pygame.K_l)),
        (settled, tap(pygame.K_l)),
        (settled, tap(pygame.K_c)),
        (settled, tap(pygame.K_s)),
        (settled, tap(pygame.K_h)),
        (settled, tap(pygame.K_PERIOD)),
        (settled, tap(pygame.K_LEFT)),
        (settled, lambda a: seen.update(paused_ticks=a.summary.ticks)),
        (settled, tap(pygame.K_COMMA)),
        (settled, lambda a: seen.update(stepped_ticks=a.summary.ticks, stepped_action=a.last_action)),
        (settled, tap(pygame.K_ESCAPE)))
    summary = app.run(on_loop=script)
    assert not script.steps, "the script timed out"
    right_ticks, right_action = seen["after_right"]
    assert right_ticks >= 3 and right_action == 2  # held RIGHT kept ticking with "right"
    assert np.array_equal(seen["reset"], image) and np.array_equal(seen["undone"], image)
    assert seen["ticks"] == right_ticks + 1 and world.settings.rounds == 5  # one tick for the tap of 2
    assert world.settings.copy_bias == pytest.approx(-0.5)  # two steps livelier, one steadier, from the tiny preset's 0
    assert seen["paused_ticks"] == right_ticks + 3  # + the two jumps; LEFT while paused did nothing
    assert seen["stepped_ticks"] == seen["paused_ticks"] + 1 and seen["stepped_action"] == 1
    gifs = [p for p in summary.saved if p.suffix == ".gif"]
    pngs = [p for p in summary.saved if p.suffix == ".png"]
    assert len(gifs) == 1 and gif_frame_count(gifs[0]) == 3  # the frame on screen + two jumps
    assert len(pngs) == 1 and Image.open(pngs[0]).size == (16 * app.scale,) * 2
    assert summary.frames_shown == summary.ticks + 3  # + start, reset and undo frames


def test_window_ticks_on_its_own_in_continuous_mode_and_records_from_the_start(tmp_path):
    gif = tmp_path / "session.gif"
    app = PlayerApp(FakeWorld(), start_image(), load_keymap(8, None),
                    PlayOptions(fps=200, record_path=str(gif), scale=4))
    summary = app.run(on_loop=Script((lambda a: a.summary.ticks >= 5, tap(pygame.K_q))))
    assert summary.ticks >= 5 and app.last_action == 0 and app.last_was_idle
    assert summary.saved == [gif] and gif_frame_count(gif) == summary.frames_shown


def test_slow_frames_never_freeze_the_window_and_quit_mid_frame_still_saves_the_gif(tmp_path):
    gif = tmp_path / "slow.gif"
    app = PlayerApp(FakeWorld(delay=0.4), start_image(), load_keymap(8, None),
                    PlayOptions(fps=0, record_path=str(gif)))
    loops_while_busy = []

    def count_busy_loops(a):
        if a.frame is not None and a.worker.busy:
            loops_while_busy.append(time.perf_counter())

    pause_then_quit = Script((lambda a: len(loops_while_busy) > 3, tap(pygame.K_p)),
                             (lambda a: a.paused, tap(pygame.K_ESCAPE)))
    started = time.perf_counter()
    summary = app.run(on_loop=lambda a: (count_busy_loops(a), pause_then_quit(a)))
    assert app.paused and not pause_then_quit.steps
    assert time.perf_counter() - started < 2.0  # quit did not wait for more frames to finish
    assert gif_frame_count(gif) == summary.frames_shown == 1  # the step in flight was never shown


def test_main_opens_the_window_with_a_real_checkpoint(checkpoint, tmp_path, monkeypatch):
    import main as main_module

    Image.fromarray(start_image(30)).save(tmp_path / "level.png")
    original_run = PlayerApp.run
    monkeypatch.setattr(PlayerApp, "run", lambda self, on_loop=None: original_run(
        self, on_loop=Script((lambda a: a.summary.ticks >= 2, tap(pygame.K_ESCAPE)))))
    monkeypatch.chdir(tmp_path)
    code = main_module.main(["--image", "level.png", "--checkpoint", str(checkpoint), "--record", "w.gif",
                             "--fps", "0", "--scale", "2"])
    assert code == 0 and gif_frame_count(tmp_path / "w.gif") >= 3


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the X11 hand-off is chosen on Linux only")
def test_window_asks_sdl_for_the_shared_memory_hand_off_unless_the_user_chose(monkeypatch):
    from play.window import open_window

    for chosen, expected in ((None, "0"), ("1", "1")):
        monkeypatch.delenv("SDL_FRAMEBUFFER_ACCELERATION", raising=False)
        if chosen is not None:
            monkeypatch.setenv("SDL_FRAMEBUFFER_ACCELERATION", chosen)
        open_window((32, 32), "hand-off")
        pygame.quit()
        assert os.environ["SDL_FRAMEBUFFER_ACCELERATION"] == expected


def test_measure_holds_keys_by_script_and_reports_speed_and_latency(checkpoint, tmp_path, capsys):
    import main as main_module

    Image.fromarray(start_image(16)).save(tmp_path / "level.png")
    code = main_module.main(["--image", str(tmp_path / "level.png"), "--checkpoint", str(checkpoint),
                             "--fps", "0", "--measure", "2"])
    out = capsys.readouterr().out
    assert code == 0 and "window:" in out and "ticks/s with a key held" in out, out
    presses = int(out.split(" presses")[0].rsplit(" ", 1)[1])
    assert presses >= 1  # every press was seen on screen with its own action
    share, loop = re.search(r"\((\d+)% of the bare play loop's ([\d.]+),", out).groups()
    assert 0 < int(share) and float(loop) > 0  # the bare loop ran on the same world, in turns with the window


def test_free_running_queues_one_tick_behind_the_one_in_flight_but_never_past_a_new_key():
    class OneJobInFlight:
        busy, pending = True, 1

    def app_with(**options):
        app = PlayerApp(random_world("tiny", seed=0), start_image(), load_keymap(8, NAMES), PlayOptions(**options))
        app.worker = OneJobInFlight()
        return app

    assert app_with(fps=0, mode="continuous")._may_queue_a_tick()
    pressed = app_with(fps=0, mode="continuous")
    pressed._pressed = 3  # a new key is waiting: the frames in flight drop for it, nothing queues
    assert not pressed._may_queue_a_tick()
    assert not app_with(fps=15, mode="continuous")._may_queue_a_tick()  # paced ticks have time to spare
    assert not app_with(fps=0, mode="hold")._may_queue_a_tick()  # a released key must stop at once
    two = app_with(fps=0, mode="continuous")
    two.worker.pending = 2
    assert not two._may_queue_a_tick()


def test_free_running_window_with_a_queued_tick_still_pauses_undoes_resets_and_quits(tmp_path):
    world = random_world("tiny", seed=0)
    world.action_names = NAMES
    image = start_image()
    app = PlayerApp(world, image, load_keymap(8, NAMES), PlayOptions(fps=0, mode="continuous", output_dir=str(tmp_path)))
    seen = {}
    script = Script(
        (lambda a: a.summary.ticks >= 4, lambda a: key(pygame.K_RIGHT)),  # free-running on the idle action, then Right
        (lambda a: a.summary.ticks >= 10, lambda a: key(pygame.K_RIGHT, down=False)),
        (lambda a: a.summary.ticks >= 12, tap(pygame.K_PERIOD)),  # pause
        (settled, lambda a: seen.update(paused=a.summary.ticks)),
        (lambda a: time.sleep(0.05) or settled(a), lambda a: seen.update(still=a.summary.ticks)),
        (settled, tap(pygame.K_BACKSPACE)),
        (settled, lambda a: seen.update(undone=a.frame.copy())),
        (settled, tap(pygame.K_RETURN)),
        (settled, lambda a: seen.update(reset=a.frame.copy())),
        (settled, tap(pygame.K_ESCAPE)))
    summary = app.run(on_loop=script)
    assert not script.steps, "the script timed out"
    assert seen["still"] == seen["paused"], "paused, the world stops (the queued tick included)"
    assert seen["undone"].shape == image.shape and np.array_equal(seen["reset"], image)
    assert summary.ticks >= 12 and not summary.errors
