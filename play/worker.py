"""Runs world calls on one background thread so the window keeps answering while a frame generates."""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class JobResult:
    """What one world call returned (or raised), and how long it took."""

    kind: str  # "reset", "step", "undo", "set" ... whatever the caller named it
    value: Any
    seconds: float
    action: int | None = None
    error: BaseException | None = None


class WorldWorker:
    """A single worker thread; jobs run in submission order, so the world is never touched twice at once.

    The main thread submits and polls; it never waits, except in close().
    """

    def __init__(self) -> None:
        self._jobs: queue.Queue = queue.Queue()
        self._results: queue.Queue = queue.Queue()
        self._pending = 0  # submitted and not yet collected; only the main thread changes it
        self._result_ready = threading.Event()
        # Daemon: a quit in the middle of a slow frame must not keep the process alive after close().
        self._thread = threading.Thread(target=self._serve, name="world-worker", daemon=True)
        self._thread.start()

    @property
    def busy(self) -> bool:
        return self._pending > 0

    @property
    def pending(self) -> int:
        """Jobs submitted and not yet collected (running, queued or done)."""
        return self._pending

    def submit(self, kind: str, call: Callable[[], Any], action: int | None = None) -> None:
        self._pending += 1
        self._jobs.put((kind, call, action))

    def run_now(self, call: Callable[[], Any]) -> Any:
        """Run `call` on the worker thread and wait for its value (or its error): for setting up
        before the window's loop. Loading the world here too keeps every torch call on this one
        thread: measured, a tick ran 1.5-2x slower on a second thread once the first had used
        torch's thread pool (its OpenMP/MKL threads then oversubscribe the two cores)."""
        self.submit("setup", call)
        while True:
            self._result_ready.wait()
            for result in self.collect():
                if result.error is not None:
                    raise result.error
                return result.value

    def collect(self) -> list[JobResult]:
        """Every finished job since the last call, oldest first; never blocks."""
        self._result_ready.clear()  # before draining, so a result put meanwhile sets it again
        done = []
        while True:
            try:
                done.append(self._results.get_nowait())
            except queue.Empty:
                break
        self._pending -= len(done)
        return done

    def wait_for_result(self, timeout: float) -> None:
        """Sleep until a job finishes or timeout passes: the UI loop's pause between frames, cut
        short when a frame is ready so the next tick starts at once."""
        if self._pending > 0 and timeout > 0:
            self._result_ready.wait(timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Drop queued jobs, let the running one finish (torch cannot be interrupted), stop the thread."""
        while True:
            try:
                self._jobs.get_nowait()
            except queue.Empty:
                break
        self._jobs.put(None)
        self._thread.join(timeout)

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            kind, call, action = job
            start = time.perf_counter()
            try:
                value, error = call(), None
            except BaseException as caught:  # handed to the main thread, which re-raises it
                value, error = None, caught
            self._results.put(JobResult(kind, value, time.perf_counter() - start, action, error))
            self._result_ready.set()
