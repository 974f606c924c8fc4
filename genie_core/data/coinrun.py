"""CoinRun episodes from procgen, as in the Genie paper's case study (App. F): hard mode, level
seeds from a range, a random agent, plus a scripted "run right and jump" agent that reaches
deeper into levels than random play does.

Each episode plays one level in its own single-level procgen env (num_levels=1,
start_level=seed), so the file name and the `level` key say exactly which level it shows;
creating such an env costs ~2 ms once procgen's assets are loaded (~2 s per process). One env
stepped from Python runs at ~10k frames/s; `envs` worker processes play levels in parallel
(interleaving many envs in one process was no faster). Episode i of a run uses level
lo + i % (hi - lo), repeat i // (hi - lo); its agent is seeded from (seed, level, repeat), so a
file's content does not depend on how many episodes were asked for, and re-running a command
skips the files that already exist. When the agent dies or reaches the coin, procgen restarts
the level; the episode is cut there so a file never spans a reset, and if it is shorter than
`min_frames` the level is replayed (up to 5 tries; the longest is written if none is long enough).
`CoinRunSettings.game` (`--game`) plays any other Procgen game the same way (issue 25: many games).
"""
from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import re
import signal
import time
import warnings
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from ..files import atomic_write_json, remove_stale_temp_files
from .clips import list_episodes, read_header, write_episode

# procgen's 15 action ids (ProcgenGym3Env.get_combos order). Ids 9-14 are special keys that
# CoinRun ignores (they behave exactly like NOOP), so the agents only use the 9 direction combos.
ACTION_NAMES = ["LEFT+DOWN", "LEFT", "LEFT+UP", "DOWN", "NOOP", "UP", "RIGHT+DOWN", "RIGHT", "RIGHT+UP",
                "D", "A", "W", "S", "Q", "E"]
NUM_DIRECTION_ACTIONS = 9
LEFT, LEFT_UP, DOWN, NOOP, UP, RIGHT, RIGHT_UP = 1, 2, 3, 4, 5, 7, 8
MAX_ATTEMPTS = 5
AGENTS = ("random", "scripted", "explore", "mix", "wide", "wander", "traverse")
# Procgen's 16 games (procgen.env.ENV_NAMES); all share the 15 actions above and render 64x64.
PROCGEN_GAMES = ("bigfish", "bossfight", "caveflyer", "chaser", "climber", "coinrun", "dodgeball", "fruitbot",
                 "heist", "jumper", "leaper", "maze", "miner", "ninja", "plunder", "starpilot")
# explore: longer holds of the moves a player makes, left and standing still included, so that
# every arrow key has camera motion to learn from (random and scripted play rarely run left).
EXPLORE_MOVES = (RIGHT, LEFT, NOOP, RIGHT_UP, LEFT_UP, UP)
EXPLORE_ODDS = (0.30, 0.25, 0.15, 0.12, 0.10, 0.08)
# wander: for top-down games whose screen stays still (maze, heist, miner). The other agents walk the
# few-pixel sprite into a wall and leave it there (maze: 82% of transitions change no pixel), so it
# holds an arrow until the picture stops changing, then turns to another one.
WANDER_MOVES = (LEFT, RIGHT, UP, DOWN)
WANDER_HOLD = (4, 21)  # at most 4-20 steps in one direction, even where nothing stops it
# traverse: the scripted agent, but a death rewinds the game (procgen's get_state / set_state) some
# steps and plays on from there with new choices, so the video crosses the whole level to its coin.
# Other agents die within a view of the start: 9% of wide episodes ever get a view past it, and the
# dynamics model then never sees the level behind the start room (issue 24's minute).
REWIND_STEPS = (6, 25)  # how far back a death sends the game
MAX_REWINDS = 40  # then the episode ends where it is


class ProcgenMissing(RuntimeError):
    """procgen is not installed; the message names the install line."""


def load_procgen():
    """procgen's env class, importing quietly (gym prints a deprecation notice to stderr)."""
    try:
        with contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from procgen import ProcgenGym3Env
    except ImportError as error:
        raise ProcgenMissing(f"procgen is not installed ({error}); install it with "
                           "`pip install --no-deps -r requirements-coinrun.txt`") from None
    return ProcgenGym3Env


def episode_name(level: int, repeat: int) -> str:
    return f"level{level:07d}_r{repeat}.npz"


class Agent:
    """Holds each chosen action for 1-8 steps. random: any direction combo (including NOOP);
    scripted: 80% RIGHT or RIGHT+UP (jump), otherwise a random direction combo;
    explore: one of EXPLORE_MOVES held for 2-10 steps; wander: one of WANDER_MOVES held until the
    picture stops changing (or WANDER_HOLD runs out), then another."""

    def __init__(self, kind: str, rng: np.random.Generator):
        self.kind, self.rng = kind, rng
        self.action, self.steps_left = 4, 0

    def act(self, picture_changed: bool = True) -> int:
        """The next action; picture_changed: whether the last action changed the frame (wander turns when not)."""
        if self.kind == "wander" and (self.steps_left == 0 or not picture_changed):
            self.action = int(self.rng.choice([m for m in WANDER_MOVES if m != self.action]))
            self.steps_left = int(self.rng.integers(*WANDER_HOLD))
        elif self.steps_left == 0 and self.kind == "explore":
            self.action = int(self.rng.choice(EXPLORE_MOVES, p=EXPLORE_ODDS))
            self.steps_left = int(self.rng.integers(2, 11))
        elif self.steps_left == 0:
            if self.kind == "scripted" and self.rng.random() < 0.8:
                self.action = RIGHT if self.rng.random() < 0.5 else RIGHT_UP
            else:
                self.action = int(self.rng.integers(NUM_DIRECTION_ACTIONS))
            self.steps_left = int(self.rng.integers(1, 9))
        self.steps_left -= 1
        return self.action


@dataclass(frozen=True)
class CoinRunSettings:
    steps: int = 100  # actions per episode, so steps + 1 frames unless the level ends first
    min_frames: int = 16  # replay the level when an attempt ends before this many frames
    agent: str = "mix"
    seed: int = 0
    compress: bool = False
    game: str = "coinrun"  # any of PROCGEN_GAMES (issue 25: many games); hard mode, backgrounds on


def play_level(env_class, level: int, repeat: int, settings: CoinRunSettings) -> tuple[list, list, str, str]:
    """Play one level in its own env -> (frames, actions, how it ended, agent kind)."""
    rng = np.random.default_rng([settings.seed, level, repeat])
    if settings.agent == "mix":  # v1-v4's data: half random, half scripted
        kind = "scripted" if rng.random() < 0.5 else "random"
    elif settings.agent == "wide":  # a third each of random, scripted and explore
        kind = ("random", "scripted", "explore")[int(rng.integers(3))]
    else:
        kind = settings.agent
    agent = Agent(kind if kind != "traverse" else "scripted", rng)
    env = env_class(num=1, env_name=settings.game, start_level=level, num_levels=1, distribution_mode="hard",
                    use_backgrounds=True, num_threads=0, rand_seed=int(rng.integers(2**31 - 1)))
    try:
        if int(env.get_info()[0]["level_seed"]) != level:
            raise RuntimeError(f"procgen did not start level {level}")
        if kind == "traverse":
            frames, actions, ended = traverse_level(env, agent, settings.steps, rng)
            return frames, actions, ended, kind
        start_frame, best = env.observe()[1]["rgb"][0].copy(), None
        for _ in range(MAX_ATTEMPTS):
            frames, actions, ended = [start_frame], [], "steps"
            while len(actions) < settings.steps:
                action = agent.act(len(frames) < 2 or not np.array_equal(frames[-1], frames[-2]))
                env.act(np.array([action]))
                reward, obs, first = env.observe()
                if first[0]:  # the level restarted: the action that ended it leads to no frame here
                    ended, start_frame = ("coin" if reward[0] > 0 else "died"), obs["rgb"][0].copy()
                    break
                actions.append(action)
                frames.append(obs["rgb"][0].copy())
            if best is None or len(frames) > len(best[0]):
                best = (frames, actions, ended, kind)
            if len(frames) >= settings.min_frames:
                return frames, actions, ended, kind
        return best
    finally:
        env.close()


def traverse_level(env, agent: Agent, steps: int, rng: np.random.Generator) -> tuple[list, list, str]:
    """Play the level to its coin with `agent`, undoing deaths -> (frames, actions, how it ended).

    Every step's game state is kept; a death restores the state REWIND_STEPS back (more after
    repeated deaths) and drops the frames after it, so the episode is one unbroken, deathless stretch
    of play (the restored game shows exactly the frame kept for that step)."""
    frames, actions, states, rewinds = [env.observe()[1]["rgb"][0].copy()], [], [env.callmethod("get_state")], 0
    while len(actions) < steps:
        action = agent.act()
        env.act(np.array([action]))
        reward, obs, first = env.observe()
        if first[0] and reward[0] > 0:
            return frames, actions, "coin"
        if first[0]:
            rewinds += 1
            if rewinds > MAX_REWINDS:
                return frames, actions, "died"
            back = min(len(actions), int(rng.integers(*REWIND_STEPS)) + rewinds)
            del frames[len(frames) - back:], actions[len(actions) - back:], states[len(states) - back:]
            env.callmethod("set_state", states[-1])
            agent.steps_left = 0  # choose afresh from the restored step
            continue
        actions.append(action)
        frames.append(obs["rgb"][0].copy())
        states.append(env.callmethod("get_state"))
    return frames, actions, "steps"


_worker_env_class = None  # procgen's env class, loaded once per worker process


def _init_worker() -> None:
    global _worker_env_class
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops the pool
    _worker_env_class = load_procgen()


def record_episode(job: tuple[str, int, int, CoinRunSettings]) -> tuple[int, str]:
    """Play and write one episode file -> (frames, how it ended)."""
    out, level, repeat, settings = job
    frames, actions, ended, kind = play_level(_worker_env_class or load_procgen(), level, repeat, settings)
    write_episode(os.path.join(out, episode_name(level, repeat)), np.stack(frames), np.array(actions, np.int64),
                  compress=settings.compress, level=level, agent=kind, ended=ended, game=settings.game)
    return len(frames), ended


def write_meta(out: str, settings: CoinRunSettings) -> dict:
    """Describe the folder from the files in it, so it stays right across resumed or mixed runs."""
    paths = list_episodes(out)
    levels = sorted({int(m.group(1)) for p in paths if (m := re.match(r"level(\d+)_r\d+\.npz$", os.path.basename(p)))})
    meta = {"source": f"procgen {settings.game} (distribution_mode=hard, use_backgrounds=True)", "game": settings.game,
            "levels": {"count": len(levels), "min": levels[0] if levels else None,
                       "max": levels[-1] if levels else None},
            "agent": settings.agent, "steps_per_episode": settings.steps, "seed": settings.seed,
            "resolution": [64, 64], "episodes": len(paths), "frames": sum(read_header(p).num_frames for p in paths),
            "num_actions": len(ACTION_NAMES), "action_names": ACTION_NAMES,
            "note": "actions[t] leads from frames[t] to frames[t+1]; ids 9-14 act like NOOP in CoinRun; "
                    "ended 'coin': the level ended with a reward, 'died': without"}
    atomic_write_json(os.path.join(out, "meta.json"), meta)
    return meta


def generate_coinrun(out: str, levels: range, episodes: int, settings: CoinRunSettings = CoinRunSettings(),
                     envs: int = 1, progress: bool = True) -> dict:
    """Write `episodes` CoinRun episodes into `out` with `envs` worker processes, skipping those
    already there; returns counts."""
    if settings.agent not in AGENTS:
        raise ValueError(f"agent must be one of {AGENTS}, got {settings.agent!r}")
    if settings.game not in PROCGEN_GAMES:
        raise ValueError(f"game must be one of procgen's: {', '.join(PROCGEN_GAMES)}; got {settings.game!r}")
    load_procgen()  # fail early, with the install hint, if procgen is missing
    os.makedirs(out, exist_ok=True)
    plan = [(levels.start + i % len(levels), i // len(levels)) for i in range(episodes)]
    jobs = [(out, level, repeat, settings) for level, repeat in plan
            if not os.path.exists(os.path.join(out, episode_name(level, repeat)))]
    counts = {"written": 0, "skipped_existing": len(plan) - len(jobs), "frames": 0,
              "ended_steps": 0, "ended_coin": 0, "ended_died": 0, "shorter_than_min": 0}
    bar = tqdm(total=len(plan), initial=counts["skipped_existing"], unit="ep", disable=not progress)
    pool = multiprocessing.get_context("spawn").Pool(envs, _init_worker) if envs > 1 and len(jobs) > 1 else None
    start_time = time.perf_counter()
    try:
        results = pool.imap_unordered(record_episode, jobs, chunksize=4) if pool else map(record_episode, jobs)
        for num_frames, ended in results:
            counts["written"] += 1
            counts["frames"] += num_frames
            counts[f"ended_{ended}"] += 1
            counts["shorter_than_min"] += num_frames < settings.min_frames
            bar.update(1)
    finally:
        if pool:
            pool.terminate()
            pool.join()
        remove_stale_temp_files(out)  # from workers stopped mid-write
        bar.close()
        counts["seconds"] = time.perf_counter() - start_time
        counts["meta"] = write_meta(out, settings)
    return counts
