"""Formatting of benchmark numbers into a plain-text or GitHub-markdown table."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def fmt_number(value: float) -> str:
    """Format with about three significant digits, without exponents for ordinary sizes."""
    # Choose the format by the value as it will print, so 999.7 shows as 1,000, not 1000.
    magnitude = abs(float(f"{value:.3g}"))
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def fmt_summary(values: Sequence[float]) -> str:
    """``median (min–max)``, or just the value when there is one sample."""
    if not values:
        return "–"
    med = statistics.median(values)
    if len(values) == 1 or min(values) == max(values):
        return fmt_number(med)
    return f"{fmt_number(med)} ({fmt_number(min(values))}–{fmt_number(max(values))})"


def slowdown(subject: Sequence[float], other: Sequence[float], higher_is_better: bool) -> str:
    """How many times worse ``subject`` is than ``other``, from medians; ``>1×`` = worse.

    For throughputs (``higher_is_better``) the ratio is taken on the inverse, time per
    unit, so that every ratio column reads the same way.
    """
    if not subject or not other:
        return "–"
    a, b = statistics.median(subject), statistics.median(other)
    num, den = (b, a) if higher_is_better else (a, b)
    if den <= 0:
        return "–"
    ratio = num / den
    if ratio >= 10:
        return f"{ratio:,.0f}×"
    return f"{ratio:.1f}×" if ratio >= 1 else f"{ratio:.2f}×"


def render(header: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool) -> str:
    """Render a table; markdown output pastes into a GitHub page as is."""
    if markdown:
        lines = ["| " + " | ".join(header) + " |"]
        lines.append("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows)])
