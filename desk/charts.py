"""Charts for the reviewer desk's statistics, drawn on the server as SVG.

No script and nothing loaded: the SVG is part of the page, its numbers are in it as
text (and in a table next to it), so what the reviewer sees is what was counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from markupsafe import Markup, escape

__all__ = ["bar_chart", "day_chart", "days_of"]

_BAR = 22
_GAP = 6
_LABEL = 180
_WIDTH = 500
_DAYS_WIDTH = 1000
_COLOUR = "#0d6b3f"


def _attrs(**values: object) -> str:
    return " ".join(
        f'{k.rstrip("_").replace("_", "-")}="{escape(str(v))}"' for k, v in values.items()
    )


def bar_chart(rows: Sequence[tuple[str, int]], *, title: str, chart_id: str) -> Markup:
    """Horizontal bars, one per (label, count), largest scale first as given."""
    if not rows:
        return Markup('<p class="hint" id="{}">Nothing to count.</p>').format(chart_id)
    top = max(1, max(count for _label, count in rows))
    plot = _WIDTH - _LABEL - 50
    height = len(rows) * (_BAR + _GAP) + _GAP
    parts = [
        f"<svg {_attrs(id=chart_id, width=_WIDTH, height=height, role='img')}"
        f' viewBox="0 0 {_WIDTH} {height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for index, (label, count) in enumerate(rows):
        y = _GAP + index * (_BAR + _GAP)
        width = round(plot * count / top) if count else 0
        parts.append(
            f"<g {_attrs(class_='bar', data_label=label, data_count=count)}>"
            f"<text {_attrs(x=_LABEL - 8, y=y + _BAR * 0.7, text_anchor='end', font_size=13)}>"
            f"{escape(_short(label))}</text>"
            f"<rect {_attrs(x=_LABEL, y=y, width=max(width, 1), height=_BAR, fill=_COLOUR)}/>"
            f"<text {_attrs(x=_LABEL + width + 6, y=y + _BAR * 0.7, font_size=13)}>"
            f"{count}</text></g>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every value above is escaped)


def days_of(by_day: dict[str, int], today: date, window: int) -> list[tuple[date, int]]:
    """Every day of the window (today last), with its count (0 when none came)."""
    first = today - timedelta(days=window - 1)
    return [
        (first + timedelta(days=i), by_day.get((first + timedelta(days=i)).isoformat(), 0))
        for i in range(window)
    ]


def day_chart(days: Sequence[tuple[date, int]], *, title: str, chart_id: str) -> Markup:
    """Columns, one per day, oldest on the left; the first and last day named below."""
    height, base, left = 180, 150, 36
    plot = _DAYS_WIDTH - left - 10
    top = max([1, *(count for _day, count in days)])
    step = plot / max(1, len(days))
    column = max(1.0, step * 0.8)
    parts = [
        f"<svg {_attrs(id=chart_id, width=_DAYS_WIDTH, height=height, role='img')}"
        f' viewBox="0 0 {_DAYS_WIDTH} {height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f"<line {_attrs(x1=left, y1=base, x2=_DAYS_WIDTH - 10, y2=base, stroke='#9aa5b1')}/>",
        f"<text {_attrs(x=left - 6, y=18, text_anchor='end', font_size=12)}>{top}</text>",
        f"<text {_attrs(x=left - 6, y=base, text_anchor='end', font_size=12)}>0</text>",
    ]
    for index, (day, count) in enumerate(days):
        bar = round((base - 14) * count / top)
        x = left + index * step + (step - column) / 2
        parts.append(
            f"<rect {_attrs(class_='day', data_day=day.isoformat(), data_count=count)}"
            f" {_attrs(x=f'{x:.1f}', y=base - bar, width=f'{column:.1f}', height=bar)}"
            f' fill="{_COLOUR}"><title>{day.isoformat()}: {count}</title></rect>'
        )
    if days:
        first, last = days[0][0].isoformat(), days[-1][0].isoformat()
        parts.append(f"<text {_attrs(x=left, y=base + 20, font_size=12)}>{first}</text>")
        parts.append(
            f"<text {_attrs(x=_DAYS_WIDTH - 10, y=base + 20, text_anchor='end', font_size=12)}>"
            f"{last}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every value above is escaped)


def _short(label: str, limit: int = 26) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
