"""The window itself: opening it (or saying clearly why there is none) and its default zoom."""
from __future__ import annotations

import os
import sys

import pygame


class NoDisplayError(RuntimeError):
    """There is no screen to open a window on; the message is one line and suggests --headless."""


def check_display() -> None:
    """Fail fast (before a model loads) on a Linux box with no screen, e.g. over plain ssh."""
    if sys.platform.startswith("linux") and not any(
            os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")):
        raise NoDisplayError("no display to open a window on (DISPLAY is not set); "
                             "run on a desktop, or use --headless --actions ...")


def open_window(size: tuple[int, int], title: str) -> pygame.Surface:
    """Open the window, refusing SDL's silent fallback to an invisible offscreen driver."""
    check_display()
    if sys.platform.startswith("linux"):
        # X11's shared-memory hand-off, not a texture through OpenGL: where OpenGL is Mesa's software
        # renderer (no GPU, VMs, Xvfb) SDL still picks it, and its two llvmpipe threads then fight the
        # world's torch threads for the cores. Measured at the 512 px window: 2.0 ms of CPU per flip
        # through llvmpipe against 0.1 ms through shared memory. The user's own setting wins.
        os.environ.setdefault("SDL_FRAMEBUFFER_ACCELERATION", "0")
    try:
        pygame.display.init()
        invisible = pygame.display.get_driver() in ("offscreen", "dummy")
        if invisible and not os.environ.get("SDL_VIDEODRIVER"):  # tests ask for dummy explicitly
            raise pygame.error(f"only the invisible {pygame.display.get_driver()!r} video driver is available")
        screen = pygame.display.set_mode(size)
    except pygame.error as error:
        pygame.quit()
        raise NoDisplayError(f"cannot open a window ({error}); run on a desktop or with DISPLAY set, "
                             "or use --headless --actions ...") from None
    pygame.display.set_caption(title)
    pygame.font.init()
    return screen


def default_scale(image_size: int, target_px: int = 512) -> int:
    """Integer zoom that makes the frame about target_px wide (8x for 64 px frames)."""
    return max(1, target_px // image_size)


def wait_for_input(seconds: float) -> list[pygame.event.Event]:
    """Sleep up to `seconds`, waking as soon as an event arrives; returns it ([] on timeout), to be
    handled before the rest of the queue: a key pressed while the world is idle is seen at once,
    not at the UI's next 60 Hz slot."""
    event = pygame.event.wait(max(1, int(seconds * 1000)))  # ms; 0 would mean "no time limit"
    return [] if event.type == pygame.NOEVENT else [event]
