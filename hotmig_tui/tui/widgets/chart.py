"""A plotext line chart that redraws at most twice a second, and only when its data or size changed.

A plotext redraw costs 10-40 ms here (textual-notes.md), so the chart keeps the last rendering and a dirty
flag; the data itself is read from the run's samples at redraw time (the screen owns no copy).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import plotext as plt
from rich.text import Text
from textual.color import Color
from textual.widget import Widget

REDRAW_INTERVAL_S = 0.5


@dataclass(frozen=True)
class Series:
    label: str
    xs: Sequence[float]
    ys: Sequence[float]
    color: str = "primary"  # a theme colour name: primary, accent, warning, error, success, secondary
    marker: str = "braille"


class Chart(Widget):
    DEFAULT_CSS = """
    Chart { border: round $panel; border-title-color: $foreground; height: 1fr; min-height: 5; padding: 0; }
    """

    def __init__(self, title: str, series: Callable[[], list[Series]], *, y_range: tuple[float, float] | None = None,
                 **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.border_title = title
        self._series = series
        self._y_range = y_range
        self._dirty = True
        self._drawn_size: tuple[int, int] = (0, 0)
        self._text: Text = Text("waiting for samples", style="dim")
        self.redraws = 0

    def on_mount(self) -> None:
        self.set_interval(REDRAW_INTERVAL_S, self._redraw_if_needed)
        self.call_after_refresh(self._redraw_if_needed)

    def mark_changed(self) -> None:
        self._dirty = True

    def on_resize(self) -> None:
        self._dirty = True

    def _redraw_if_needed(self) -> None:
        if not self.screen.is_active:
            return  # a monitor under another screen stays dirty and redraws when shown again
        size = (self.content_size.width, self.content_size.height)
        if not self._dirty and size == self._drawn_size:
            return
        self._dirty = False
        self._drawn_size = size
        series = [s for s in self._series() if s.xs]
        if not series or size[0] < 10 or size[1] < 3:
            return
        self._text = self._build(series, *size)
        self.redraws += 1
        self.refresh()

    def _colour(self, name: str) -> tuple[int, int, int]:
        theme = self.app.current_theme
        value = getattr(theme, name, None) or theme.primary
        r, g, b = Color.parse(value).rgb
        return (r, g, b)

    def _build(self, series: list[Series], width: int, height: int) -> Text:
        plt.clear_figure()
        plt.plotsize(width, height)
        plt.theme("clear")
        plt.frame(False)
        for s in series:
            plt.plot(list(s.xs), list(s.ys), marker=s.marker, color=self._colour(s.color),
                     label=s.label if len(series) > 1 else None)
        if self._y_range:
            plt.ylim(*self._y_range)
        else:
            top = max((max(s.ys) for s in series if s.ys), default=1.0)
            plt.ylim(0, top * 1.1 if top > 0 else 1.0)
        return Text.from_ansi(plt.build(), no_wrap=True)

    def render(self) -> Text:
        return self._text
