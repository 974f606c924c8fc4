"""The header above the frame (action, speed, MaskGIT settings, PAUSED, REC) and the help overlay."""
from __future__ import annotations

from dataclasses import dataclass

import pygame

TEXT = (230, 230, 230)
DIM = (140, 140, 150)
BACKGROUND = (24, 24, 30)
PAUSED = (255, 200, 60)
REC_RED = (230, 40, 40)
FONT_SIZE = 22  # pygame's default font at 22 px is readable at a 512 px window


@dataclass(frozen=True)
class HudState:
    action: str  # e.g. "3 right"
    idle: bool  # the last tick used the idle action (no key held)
    fps: float
    tick_ms: float | None
    rounds: int
    temperature: float
    copy_bias: float
    paused: bool
    recording_frames: int | None  # None when not recording
    message: str | None  # a short-lived notice: "saved ...", "nothing to undo"


class Hud:
    """Draws the header; three text lines in pygame's default font (no font files to ship)."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.font = pygame.font.Font(None, FONT_SIZE)
        self.line_height = self.font.get_linesize()
        self.height = 3 * self.line_height + 8
        self._help_fonts: dict[int, pygame.font.Font] = {}
        self._rendered: dict[tuple[str, tuple], pygame.Surface] = {}  # most header text repeats frame to frame

    def _text(self, surface: pygame.Surface, text: str, pos: tuple[int, int], color=TEXT, right=False) -> int:
        """Blit text at pos (or right-aligned to end at pos[0]); returns the x just after it."""
        image = self._rendered.get((text, color))
        if image is None:
            if len(self._rendered) > 512:  # fps and ms figures change: keep the cache bounded
                self._rendered.clear()
            image = self._rendered[(text, color)] = self.font.render(text, True, color)
        x = pos[0] - image.get_width() if right else pos[0]
        surface.blit(image, (x, pos[1]))
        return x + image.get_width()

    def draw(self, surface: pygame.Surface, state: HudState) -> None:
        surface.fill(BACKGROUND, (0, 0, self.width, self.height))
        y1, y2, y3 = 4, 4 + self.line_height, 4 + 2 * self.line_height
        margin, right = 8, self.width - 8

        x = self._text(surface, "action ", (margin, y1), DIM)
        x = self._text(surface, state.action, (x, y1))
        if state.idle:
            self._text(surface, " (idle)", (x, y1), DIM)
        tick = f"{state.tick_ms:.0f} ms/tick" if state.tick_ms is not None else "-- ms/tick"
        self._text(surface, f"{state.fps:4.1f} fps   {tick}", (right, y1), right=True)

        settings = f"rounds {state.rounds}  temp {state.temperature:.2f}  copy {state.copy_bias:+.1f}"
        x = self._text(surface, settings, (margin, y2))
        if state.paused:
            self._text(surface, "  PAUSED", (x, y2), PAUSED)
        if state.recording_frames is not None:
            label = self.font.render(f"REC {state.recording_frames}", True, REC_RED)
            left = right - label.get_width()
            surface.blit(label, (left, y2))
            pygame.draw.circle(surface, REC_RED, (left - 10, y2 + self.line_height // 2 - 1), 5)

        if state.message:
            self._text(surface, state.message[:80], (margin, y3), PAUSED)
        else:
            self._text(surface, "H: help   Esc: quit", (margin, y3), DIM)

    def draw_help(self, surface: pygame.Surface, area: pygame.Rect, rows: list[tuple[str, str]]) -> None:
        """A translucent panel over `area` listing every binding; the font shrinks to fit small windows."""
        shade = pygame.Surface(area.size, pygame.SRCALPHA)
        shade.fill((0, 0, 0, 200))
        surface.blit(shade, area.topleft)
        count = len(rows) + 2
        size = max(10, min(FONT_SIZE, int((area.height - 16) / count / 0.75)))
        if size not in self._help_fonts:
            self._help_fonts[size] = pygame.font.Font(None, size)
        font = self._help_fonts[size]
        step = min(font.get_linesize(), (area.height - 16) // count)
        y = area.top + 8
        surface.blit(font.render("Controls", True, PAUSED), (area.left + 12, y))
        for keys, meaning in rows:
            y += step
            surface.blit(font.render(keys, True, PAUSED), (area.left + 12, y))
            surface.blit(font.render(meaning, True, TEXT), (area.left + 12 + int(area.width * 0.36), y))
