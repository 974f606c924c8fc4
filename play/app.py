"""The pygame player: a window onto a PlayableWorld, generating on a worker thread.

Controls and how time advances: see the play package docstring (play/__init__.py).
"""
from __future__ import annotations

import dataclasses
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pygame

from play.hud import Hud, HudState
from play.interface import PlayableWorld
from play.keymap import Keymap
from play.recorder import SessionFiles
from play.ticks import TickStats
from play.window import default_scale, open_window, wait_for_input
from play.worker import WorldWorker

UI_HZ = 60  # redraw and event rate; independent of the world's tick rate
MIN_PLAY_AREA = 400  # px; at small --scale the frame sits centred in this, so header and help fit
MESSAGE_SECONDS = 2.5
HUD_REFRESH_SECONDS = 0.25  # with nothing new to show, the header's numbers refresh this often
# C / L move the copy bias by this much, within +-8: at 8 a token changes only at odds of e^8 (3,000:1).
COPY_BIAS_STEP, COPY_BIAS_LIMIT = 0.5, 8.0


@dataclass(frozen=True)
class PlayOptions:
    scale: int | None = None  # None: default_scale
    fps: float = 15.0  # cap on world ticks per second; 0 = as fast as the world generates
    mode: str = "continuous"  # or "hold"
    record_path: str | None = None  # record from the first frame to this GIF
    record_scale: int = 4
    idle_action: int | None = None  # None: the action the checkpoint names noop/idle, else 0
    output_dir: str = "."  # where R recordings (without record_path) and screenshots go
    title: str = "Genie"
    max_rounds: int = 64


@dataclass
class PlaySummary:
    frames_shown: int = 0
    ticks: int = 0
    saved: list[Path] = field(default_factory=list)  # GIFs and screenshots written
    errors: list[str] = field(default_factory=list)  # files that could not be written


class PlayerApp:
    """Owns the window, the keys and the recording; the world itself lives behind a WorldWorker."""

    def __init__(self, world: PlayableWorld, start_image: np.ndarray, keymap: Keymap, options: PlayOptions,
                 worker: WorldWorker | None = None) -> None:
        """worker: the thread the world was made on (see WorldWorker.run_now); a new one if None."""
        self.world, self.start_image, self.keymap, self.options = world, start_image, keymap, options
        self._given_worker = worker
        self.scale = options.scale or default_scale(world.image_size)
        self.idle_action = next(a for a in (options.idle_action, keymap.idle_action, 0) if a is not None)
        self.settings = world.settings  # what the HUD shows; the world's own copy changes on its worker thread
        self.summary = PlaySummary()
        self.running = self.paused = self.show_help = False
        self.frame: np.ndarray | None = None
        self.held: dict[str, int] = {}  # action keys held now, in press order (the last one plays)
        self.tapped: int | None = None  # last action pressed since the previous tick, even if released
        self.last_action: int | None = None
        self.last_played: int | None = None  # the action the last frame was made with (the prior may steer a key)
        self.last_was_idle = False
        self.files = SessionFiles(options.record_path, options.output_dir, options.record_scale, self._notify)
        self.summary.saved, self.summary.errors = self.files.saved, self.files.errors
        self._next_tick_at = 0.0
        self._step_in_flight_idle = False
        self.ticks = TickStats(options.fps)
        self._message: tuple[str, float] | None = None
        self._frame_surface: pygame.Surface | None = None
        self._dirty, self._drawn_at = True, 0.0
        self._pressed: int | None = None  # action key pressed since the frame in flight began (world's thread reads it)
        self._restarted = False  # the frame in flight replaced a dropped one
        self._woken_by: list[pygame.event.Event] = []  # the event that ended the last idle wait

    # ---- the loop -------------------------------------------------------------------------
    def run(self, on_loop: Callable[[PlayerApp], None] | None = None) -> PlaySummary:
        """Open the window and play until quit; on_loop(app) runs once per UI frame (tests script keys there)."""
        frame_px = self.world.image_size * self.scale
        pygame.font.init()  # the header's size depends on the font
        area_px = max(frame_px, MIN_PLAY_AREA)
        self.hud = Hud(area_px)
        self.play_area = pygame.Rect(0, self.hud.height, area_px, area_px)
        self.frame_rect = pygame.Rect(0, 0, frame_px, frame_px)
        self.frame_rect.center = self.play_area.center
        self.screen = open_window((area_px, self.hud.height + area_px), self.options.title)
        self.help_rows = self.keymap.help_rows()
        self.worker = self._given_worker or WorldWorker()
        try:
            if self.options.record_path:
                self.files.start_gif()  # the start frame is added when it arrives
            self.worker.submit("reset", lambda: self.world.reset(self.start_image))
            self.running = True
            while self.running:
                loop_start = time.perf_counter()
                for event in [*self._woken_by, *pygame.event.get()]:
                    self._handle(event)
                    self._dirty = True
                self._collect()
                self._maybe_tick()
                if self._dirty or loop_start - self._drawn_at >= HUD_REFRESH_SECONDS:
                    self._draw()  # only when something changed: drawing holds the GIL the world's thread needs
                if on_loop is not None:
                    on_loop(self)
                self._idle_until_next_loop(loop_start)
        finally:
            pygame.quit()  # the window goes at once, even while a frame is still generating
            self.files.close()  # writes the GIF in progress: quitting never loses a recording
            self.worker.close()
        return self.summary

    def _idle_until_next_loop(self, loop_start: float) -> None:
        """Sleep until the next UI frame, the next tick time, a finished world call or (world idle) an
        input event, whichever is first; waking on a finished frame keeps generation back to back
        instead of UI-frame bound, and on a key press starts that key's frame at once."""
        deadline = loop_start + 1.0 / UI_HZ
        if not self.paused and self._next_tick_at > loop_start:
            deadline = min(deadline, self._next_tick_at)
        remaining = deadline - time.perf_counter()
        self._woken_by = []
        if self.worker.busy:
            self.worker.wait_for_result(remaining)
        elif remaining > 0:
            self._woken_by = wait_for_input(remaining)

    def _handle(self, event: pygame.event.Event) -> None:
        if event.type == pygame.QUIT:
            self.running = False
        elif event.type == pygame.WINDOWFOCUSLOST:
            self.held.clear()  # keys released while the window is unfocused never send KEYUP
        elif event.type == pygame.KEYDOWN:
            name = pygame.key.name(event.key)
            if name in self.keymap.action_for_key:
                action = self.keymap.action_for_key[name]
                self.held.pop(name, None)
                self.held[name] = action
                self.tapped = self._pressed = action
                self._next_tick_at = 0.0  # a new key plays at once, not at the next --fps slot
            elif name in self.keymap.command_for_key:
                self._command(self.keymap.command_for_key[name])
        elif event.type == pygame.KEYUP:
            self.held.pop(pygame.key.name(event.key), None)

    def _command(self, command: str) -> None:
        if command == "quit":
            self.running = False
        elif command == "reset":
            self.worker.submit("reset", lambda: self.world.reset(self.start_image))
        elif command == "undo":
            self.worker.submit("undo", self.world.undo)
        elif command == "pause":
            self.paused = not self.paused
        elif command == "step":
            if not self.paused:
                self.paused = True
            elif not self.worker.busy and self.frame is not None:
                self._submit_step(*self._chosen_action())
        elif command in ("more_steps", "fewer_steps"):
            change = 1 if command == "more_steps" else -1
            self._change_settings(rounds=min(self.options.max_rounds, max(1, self.settings.rounds + change)))
        elif command in ("steadier", "livelier"):
            change = COPY_BIAS_STEP if command == "steadier" else -COPY_BIAS_STEP
            self._change_settings(copy_bias=min(COPY_BIAS_LIMIT, max(-COPY_BIAS_LIMIT, self.settings.copy_bias + change)))
        elif command == "record":
            if self.files.recorder is not None:
                self.files.stop_gif()
            elif self.files.start_gif() and self.frame is not None:
                self.files.recorder.add(self.frame, self.ticks.period_s())
        elif command == "screenshot" and self.frame is not None:
            self.files.screenshot(self.frame, self.scale)
        elif command == "help":
            self.show_help = not self.show_help

    # ---- ticking --------------------------------------------------------------------------
    def _change_settings(self, **changes) -> None:
        """Decode differently from the next frame on (on the worker, between two frames)."""
        self.settings = dataclasses.replace(self.settings, **changes)
        self.worker.submit("set", lambda: self.world.change_settings(**changes))

    def _chosen_action(self) -> tuple[int, bool]:
        """(action, is_idle): the newest held key, else a key tapped since the last tick, else idle."""
        if self.held:
            return next(reversed(self.held.values())), False
        if self.tapped is not None:
            return self.tapped, False
        return self.idle_action, True

    def _maybe_tick(self) -> None:
        if self.paused or self.frame is None or (self.worker.busy and not self._may_queue_a_tick()):
            return
        now = time.perf_counter()
        if now < self._next_tick_at:
            return
        action, idle = self._chosen_action()
        if idle and self.options.mode == "hold":
            return
        self._submit_step(action, idle)
        self._next_tick_at = now + (1.0 / self.options.fps if self.options.fps > 0 else 0.0)

    def _may_queue_a_tick(self) -> bool:
        """Free-running, a tick may wait behind the one in flight: the world need not wait for this thread
        to wake and hand it the next (measured: 1.4 ms of a 13 ms tick). Never past a pending new key."""
        free_running = self.options.fps == 0 and self.options.mode == "continuous"
        return free_running and self.worker.pending == 1 and self._pressed is None and not self._restarted

    def _submit_step(self, action: int, idle: bool) -> None:
        self.tapped = None
        self._step_in_flight_idle = idle
        # An action key pressed while a frame for another action is being made: that frame is dropped
        # between two MaskGIT rounds and the new key's frame starts at once, instead of a whole stale
        # tick later. A frame started that way is always finished, so fast presses never starve the screen.
        self._pressed = None
        stop = None if self._restarted else (lambda: self._pressed not in (None, action))
        self.worker.submit("step", lambda: self._step(action, stop), action=action)

    def _step(self, action: int, stop) -> tuple[np.ndarray, int] | None:
        """On the worker: the frame for the key's action and the action it was made with (the action prior
        may have steered it), read before the next step can change it; None when dropped."""
        frame = self.world.step(action, should_stop=stop)
        return None if frame is None else (frame, self.world.played_action)

    def _collect(self) -> None:
        for result in self.worker.collect():
            if result.error is not None:
                raise result.error
            if result.kind == "set":
                continue
            if result.kind == "step" and result.value is None:  # dropped for a newer key: start that one now
                self._restarted, self._next_tick_at = True, 0.0
                continue
            if result.kind == "step":
                self._restarted = False
            if result.value is None:  # undo with nothing left to undo
                self._notify("nothing to undo")
                continue
            frame = result.value
            if result.kind == "step":
                frame, self.last_played = result.value
                self.summary.ticks += 1
                self.ticks.add(result.seconds, time.perf_counter())
                self.last_action, self.last_was_idle = result.action, self._step_in_flight_idle
            self._show(frame)

    def _show(self, frame: np.ndarray) -> None:
        # Its picture is made in _draw, after the next tick is handed over: the world waits for no drawing.
        self.frame, self._dirty, self._frame_surface = frame, True, None
        self.summary.frames_shown += 1
        if self.files.recorder is not None:
            self.files.recorder.add(frame, self.ticks.period_s())

    # ---- messages and drawing ------------------------------------------------------------
    def _notify(self, text: str) -> None:
        """Show text in the header for a moment and echo it to the terminal (GIF writer threads call it too)."""
        self._message = (text, time.perf_counter() + MESSAGE_SECONDS)
        self._dirty = True
        print(text, file=sys.stderr)

    def _draw(self) -> None:
        self._dirty, self._drawn_at = False, time.perf_counter()
        self.screen.fill((0, 0, 0))
        if self._frame_surface is None and self.frame is not None:
            surface = pygame.surfarray.make_surface(np.ascontiguousarray(self.frame.swapaxes(0, 1)))
            self._frame_surface = pygame.transform.scale(surface, self.frame_rect.size)  # nearest-neighbour
        if self._frame_surface is not None:
            self.screen.blit(self._frame_surface, self.frame_rect)
        message = self._message[0] if self._message and time.perf_counter() < self._message[1] else None
        if self.frame is None:
            message = "generating the first frame..."
        median_s = self.ticks.median_s()
        median_ms = median_s * 1000 if median_s is not None else None
        action = self.keymap.action_label(self.last_action) if self.last_action is not None else "-"
        if self.last_played is not None and self.last_played != self.last_action:
            action += f" -> {self.keymap.action_label(self.last_played)}"
        self.hud.draw(self.screen, HudState(
            action=action, idle=self.last_was_idle, fps=self.ticks.rate(time.perf_counter()), tick_ms=median_ms,
            rounds=self.settings.rounds, temperature=self.settings.temperature, copy_bias=self.settings.copy_bias,
            paused=self.paused,
            recording_frames=len(self.files.recorder.frames) if self.files.recorder is not None else None,
            message=message))
        if self.show_help:
            self.hud.draw_help(self.screen, self.play_area, self.help_rows)
        pygame.display.flip()
