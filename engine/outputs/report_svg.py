"""Inline SVG plots for the run report: horizontal bars, a histogram and a line chart, nothing fetched.

Each function returns one ``<svg class="plot">`` element (text escaped), sized in user units and
scaled by CSS, so the report stays one self-contained file that opens without a network.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

__all__ = ["bar_chart", "histogram", "line_chart"]

_PALETTE = ("#3b6ea8", "#d9822b", "#3a9d5d", "#b8434e", "#7b5ea7", "#8c6d3f")


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 or float(v).is_integer() else f"{v:.2f}"


def bar_chart(name: str, title: str, rows: Sequence[tuple[str, float]], *, unit: str = "") -> str:
    """Horizontal bars, one per (label, value), largest scale = the largest value."""
    if not rows:
        return f'<p class="empty" data-figure="{escape(name)}">{escape(title)}: nothing to plot.</p>'
    label_w, bar_w, row_h, top = 230, 380, 22, 28
    height = top + row_h * len(rows) + 8
    peak = max(v for _, v in rows) or 1.0
    parts = [
        f'<svg class="plot" data-figure="{escape(name)}" viewBox="0 0 {label_w + bar_w + 70} {height}" '
        f'role="img" aria-label="{escape(title)}">',
        f'<text x="4" y="18" class="title">{escape(title)}</text>',
    ]
    for k, (label, value) in enumerate(rows):
        y = top + k * row_h
        w = max(1.0, bar_w * value / peak)
        short = label if len(label) <= 34 else label[:33] + "…"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end"><title>{escape(label)}</title>'
            f"{escape(short)}</text>"
        )
        parts.append(
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" fill="{_PALETTE[0]}"/>'
        )
        parts.append(f'<text x="{label_w + w + 5:.1f}" y="{y + 15}">{_fmt(value)}{escape(unit)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def histogram(name: str, title: str, counts: dict[int, int], *, x_label: str) -> str:
    """Vertical bars of counts per integer value (gaps between values shown as empty slots)."""
    if not counts:
        return f'<p class="empty" data-figure="{escape(name)}">{escape(title)}: nothing to plot.</p>'
    lo, hi = min(counts), max(counts)
    values = list(range(lo, hi + 1))
    width, height, left, bottom, top = 640, 260, 44, 40, 30
    slot = (width - left - 10) / len(values)
    peak = max(counts.values())
    parts = [
        f'<svg class="plot" data-figure="{escape(name)}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}">',
        f'<text x="4" y="18" class="title">{escape(title)}</text>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 6}" y2="{height - bottom}" class="axis"/>',
    ]
    plot_h = height - bottom - top
    for k, v in enumerate(values):
        n = counts.get(v, 0)
        h = plot_h * n / peak
        x = left + k * slot
        parts.append(
            f'<rect x="{x + 2:.1f}" y="{height - bottom - h:.1f}" width="{max(1.0, slot - 4):.1f}" '
            f'height="{h:.1f}" fill="{_PALETTE[1]}"><title>{v}: {n}</title></rect>'
        )
        if len(values) <= 30 or k % 2 == 0:
            parts.append(
                f'<text x="{x + slot / 2:.1f}" y="{height - bottom + 14}" text-anchor="middle">{v}</text>'
            )
        if n:
            parts.append(
                f'<text x="{x + slot / 2:.1f}" y="{height - bottom - h - 3:.1f}" text-anchor="middle" '
                f'class="small">{n}</text>'
            )
    parts.append(
        f'<text x="{width / 2}" y="{height - 6}" text-anchor="middle">{escape(x_label)}</text></svg>'
    )
    return "".join(parts)


def line_chart(
    name: str,
    title: str,
    series: Sequence[tuple[str, Sequence[tuple[str, float]]]],
    *,
    y_range: tuple[float, float] = (-1.0, 1.0),
) -> str:
    """Lines of (ISO date, value) points, one per named series, on a shared date axis."""
    dates = sorted({d for _, pts in series for d, _ in pts})
    if len(dates) < 2:
        return f'<p class="empty" data-figure="{escape(name)}">{escape(title)}: fewer than two dates.</p>'
    width, height, left, right, top, bottom = 640, 300, 44, 10, 30, 70
    lo, hi = y_range
    index = {d: k for k, d in enumerate(dates)}

    def x(d: str) -> float:
        return left + (width - left - right) * index[d] / (len(dates) - 1)

    def y(v: float) -> float:
        return top + (height - top - bottom) * (hi - v) / (hi - lo)

    parts = [
        f'<svg class="plot" data-figure="{escape(name)}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}">',
        f'<text x="4" y="18" class="title">{escape(title)}</text>',
    ]
    for tick in (lo, (lo + hi) / 2, hi):
        parts.append(
            f'<line x1="{left}" y1="{y(tick):.1f}" x2="{width - right}" y2="{y(tick):.1f}" class="grid"/>'
            f'<text x="{left - 4}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:+.1f}</text>'
        )
    for k, d in enumerate(dates):
        if k in (0, len(dates) - 1) or k % max(1, len(dates) // 5) == 0:
            parts.append(
                f'<text x="{x(d):.1f}" y="{height - bottom + 14}" text-anchor="middle" '
                f'class="small">{escape(d)}</text>'
            )
    for k, (label, pts) in enumerate(series):
        colour = _PALETTE[k % len(_PALETTE)]
        path = " ".join(f"{x(d):.1f},{y(v):.1f}" for d, v in pts)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts += [
            f'<circle cx="{x(d):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}"><title>{escape(label)} '
            f"{escape(d)}: {v:+.2f}</title></circle>"
            for d, v in pts
        ]
        ly = height - bottom + 30 + 14 * (k // 2)
        lx = left + (k % 2) * 300
        short = label if len(label) <= 44 else label[:43] + "…"
        parts.append(
            f'<rect x="{lx}" y="{ly - 9}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{lx + 14}" y="{ly}" class="small">{escape(short)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
