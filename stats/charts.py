"""Small SVG charts drawn on the server: no script, no CDN (the CSP allows neither)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT, PAD = 600, 180, 24


def _count_text(value: Decimal | int) -> str:
    return f"{value:,}"


def bar_chart(points: list[tuple[str, Decimal | int]], *, color: str = "#0d6efd",
              label: str = "",
              value_text: Callable[[Decimal | int], str] = _count_text) -> SafeString:  # fmt: skip
    """Vertical bars, one per (label, value); negative values hang below the axis.

    ``value_text`` writes a value for people (each bar's title and the top of the scale): counts
    by default; money charts pass ``billing.money.usd_text``, the one display rule (issue 14).
    """
    if not points:
        return mark_safe('<p class="text-muted small">No data yet.</p>')
    values = [float(value) for _, value in points]
    top, bottom = max(*values, 0.0), min(*values, 0.0)
    span = (top - bottom) or 1.0
    inner = HEIGHT - 2 * PAD
    zero_y = PAD + inner * top / span
    step = (WIDTH - 2 * PAD) / len(points)
    bars = []
    for index, ((name, value), number) in enumerate(zip(points, values, strict=True)):
        height = inner * abs(number) / span
        y = zero_y - height if number >= 0 else zero_y
        x = PAD + index * step + step * 0.1
        bars.append((f"{x:.1f}", f"{y:.1f}", f"{step * 0.8:.1f}", f"{max(height, 0.5):.1f}",
                     "#dc3545" if number < 0 else color,
                     f"{name}: {value_text(value)}"))  # fmt: skip
    rects = format_html_join(
        "", '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}</title></rect>', bars
    )
    first, last = points[0][0], points[-1][0]
    highest = max(*(value for _, value in points), 0)
    return format_html(
        '<svg class="w-100" viewBox="0 0 {} {}" role="img" aria-label="{}">{}'
        '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#6c757d" stroke-width="1"/>'
        '<text x="{}" y="{}" font-size="11" fill="#6c757d">{}</text>'
        '<text x="{}" y="{}" font-size="11" fill="#6c757d" text-anchor="end">{}</text>'
        '<text x="{}" y="12" font-size="11" fill="#6c757d">max {}</text></svg>',
        WIDTH, HEIGHT, label, rects, PAD, WIDTH - PAD, f"{zero_y:.1f}", f"{zero_y:.1f}",
        PAD, HEIGHT - 6, first, WIDTH - PAD, HEIGHT - 6, last, PAD, value_text(highest),
    )  # fmt: skip


def hbar_chart(points: list[tuple[str, int]], *, color: str = "#198754") -> SafeString:
    """Horizontal bars with their labels and counts (orders by status)."""
    if not points:
        return mark_safe('<p class="text-muted small">No data yet.</p>')
    top = max(value for _, value in points) or 1
    row = 22
    items = []
    for index, (name, value) in enumerate(points):
        y = index * row + 4
        width = 360 * value / top
        items.append((y + 12, name, 130, y, f"{max(width, 1):.1f}", color, f"{130 + width + 6:.1f}",
                      y + 12, f"{value:,}"))  # fmt: skip
    body = format_html_join(
        "",
        '<text x="0" y="{}" font-size="12">{}</text>'
        '<rect x="{}" y="{}" width="{}" height="16" fill="{}"/>'
        '<text x="{}" y="{}" font-size="12">{}</text>',
        items,
    )
    return format_html(
        '<svg class="w-100" viewBox="0 0 {} {}" role="img" aria-label="Orders by status">{}</svg>',
        WIDTH, len(points) * row + 8, body,
    )  # fmt: skip
