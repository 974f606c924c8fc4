"""A scripted window session that measures what a player feels: `main.py --measure SECONDS`.

It drives the real PlayerApp (same event handling, worker thread and drawing) by posting key
events, as a player holding keys would: one direction key held at a time, switched to the other
every SWITCH_SECONDS, each switch at a random moment of a tick (seeded). It reports
- ticks per second while a key is held, and its share of the bare play loop (the benchmark's), run
  on the same world in turns with the window play (see WindowMeasurement),
- latency: from a key's press to the first frame on screen that was made with its action,
- the time from the window opening to the first generated frame.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

import numpy as np
import pygame

SWITCH_SECONDS = 0.8  # long enough for a few ticks per key at any speed this runs at
WINDOW_PHASE_SECONDS = 3 * SWITCH_SECONDS  # window play between two stretches of the bare loop
LOOP_TICKS = 40  # ticks of the bare play loop (the benchmark's) in each of its stretches


@dataclass
class WindowMeasurement:
    """Window play and the bare play loop take turns on the same world, a few seconds each, so the
    two figures meet the same minute of a machine whose speed drifts; their ratio is the figure."""

    seconds: float  # of window play
    keys: tuple[str, str]  # pygame key names, pressed in turn
    opened: float = 0.0
    first_frame_s: float | None = None
    phase_start: float | None = None  # when the running window phase began (None: in a loop phase or before)
    ticks_at_phase: int = 0
    window_ticks: int = 0
    window_seconds: float = 0.0
    loop_seconds: list[float] = field(default_factory=list)  # each loop stretch's LOOP_TICKS ticks
    loop_asked: bool = False
    begun: bool = False
    pressed: tuple[int, float] | None = None  # (action, time) of the newest press not yet seen on screen
    latencies: list[float] = field(default_factory=list)
    last_switch: float = 0.0
    turn: int = 0
    result: dict = field(default_factory=dict)
    rng: random.Random = field(default_factory=lambda: random.Random(0))  # when in a tick each press lands

    def __call__(self, app) -> None:
        """PlayerApp's on_loop hook: runs once per UI frame, after drawing."""
        now = time.perf_counter()
        if not self.opened:
            self.opened = now
        if app.frame is None:
            return
        if self.first_frame_s is None and app.summary.ticks >= 1:
            self.first_frame_s = now - self.opened
        if self.pressed is not None and app.last_action == self.pressed[0]:
            self.latencies.append(now - self.pressed[1])
            self.pressed = None
        if not self.begun:  # window play first: the time to the first frame is the window's own
            self.begun, self.phase_start, self.ticks_at_phase = True, now, app.summary.ticks
            self._press(app, now)
        elif self.phase_start is None:
            self._loop_phase(app, now)
        elif now - self.phase_start >= WINDOW_PHASE_SECONDS and self.pressed is None:
            self.window_ticks += app.summary.ticks - self.ticks_at_phase
            self.window_seconds += now - self.phase_start
            self.phase_start, app.paused = None, True  # the world finishes what it has, then the bare loop runs
        elif now - self.last_switch >= SWITCH_SECONDS:
            self._press(app, now)

    def _loop_phase(self, app, now: float) -> None:
        """Once the world is idle, LOOP_TICKS bare ticks on the worker (as the benchmark times them);
        then window play again."""
        from genie_core.tools.timing import time_world_ticks

        if not self.loop_asked and not app.worker.busy:
            self.loop_asked = True
            world = app.world  # "set" jobs leave the screen alone
            app.worker.submit("set", lambda: self.loop_seconds.append(
                float(time_world_ticks(world, None, LOOP_TICKS, reset=False).sum())))
        elif self.loop_asked and not app.worker.busy:
            self.loop_asked, app.paused = False, False
            if self.window_seconds >= self.seconds:
                return self._finish(app)
            self.phase_start, self.ticks_at_phase = now, app.summary.ticks
            self._press(app, now)

    def _press(self, app, now: float) -> None:
        """Release the key held now and press the other one, at a random moment of the next tick (from
        SDL's timer thread, as a real key arrives): a press made right after a frame would always meet
        the world at the same point of its tick."""
        held, other = self.keys[self.turn % 2], self.keys[(self.turn + 1) % 2]
        delay_ms = 1 + int(self.rng.uniform(0, app.ticks.period_s() * 1000))
        if self.turn:
            pygame.time.set_timer(pygame.event.Event(pygame.KEYUP, key=pygame.key.key_code(held)), delay_ms, 1)
        pygame.time.set_timer(pygame.event.Event(pygame.KEYDOWN, key=pygame.key.key_code(other)), delay_ms, 1)
        self.pressed = (app.keymap.action_for_key[other], now + delay_ms / 1000)
        self.turn += 1
        self.last_switch = now

    def _finish(self, app) -> None:
        tick_s = app.ticks.median_s()
        tick_ms = tick_s * 1e3 if tick_s is not None else None
        latency = np.array(self.latencies) * 1e3
        window = self.window_ticks / self.window_seconds
        loop = LOOP_TICKS * len(self.loop_seconds) / sum(self.loop_seconds)
        self.result = {
            "window_ticks_per_s": round(window, 2),
            "loop_ticks_per_s": round(loop, 2),
            "window_of_loop": round(window / loop, 3),
            "paced": app.options.fps > 0,  # then the window's ticks/s is --fps, not what it could do
            "window_tick_ms_p50": tick_ms and round(tick_ms, 1),
            "key_latency_ms_p50": round(float(np.median(latency)), 1) if len(latency) else None,
            "key_latency_ms_p90": round(float(np.percentile(latency, 90)), 1) if len(latency) else None,
            "key_presses": len(latency),
            "first_frame_s": self.first_frame_s and round(self.first_frame_s, 2),
            "seconds": self.seconds,
        }
        app.running = False


def measure_keys(keymap) -> tuple[str, str]:
    """Two keys to alternate: Right and Left when the checkpoint names them, else keys 1 and 2."""
    for pair in (("right", "left"), ("right", "up")):
        if all(name in keymap.action_for_key for name in pair):
            return pair
    return ("1", "2")


def format_measurement(result: dict) -> str:
    ratio = ""
    if result.get("window_ticks_per_s") and result.get("key_latency_ms_p50"):  # in ticks of the world's clock
        ratio = f" ({result['key_latency_ms_p50'] * result['window_ticks_per_s'] / 1000:.2f} ticks)"
    share = (f"paced by --fps; the bare play loop ran {result['loop_ticks_per_s']}" if result["paced"] else
             f"{result['window_of_loop']:.0%} of the bare play loop's {result['loop_ticks_per_s']}, timed in turns with it")
    return (f"window: {result['window_ticks_per_s']} ticks/s with a key held ({share}), tick p50 "
            f"{result['window_tick_ms_p50']} ms; key to screen p50 {result['key_latency_ms_p50']} ms{ratio}, "
            f"p90 {result['key_latency_ms_p90']} ms over {result['key_presses']} presses; first frame "
            f"{result['first_frame_s']} s after the window opened")
