"""The result table: one row per operation, BeamIt beside Orthanc, and their ratio.

The ratio is always BeamIt / Orthanc; each row says whether higher or lower values are
better for it, so a ratio above 1 favours BeamIt on a "higher" row (throughput) and a
ratio below 1 favours it on a "lower" row (latency, memory, time).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass

NOT_IMPLEMENTED = "n/a (not implemented)"
NOT_MEASURED = "—"
HEADERS = ("operation", "BeamIt", "Orthanc", "BeamIt/Orthanc", "better")
RATIO_NOTE = (
    "BeamIt/Orthanc is the ratio of the two values. \"better\" says which way is better for the row: "
    "on a \"higher\" row a ratio above 1 favours BeamIt, on a \"lower\" row a ratio below 1 does. "
    "Memory growth rows have no ratio (a growth can be zero)."
)


class Better(enum.Enum):
    HIGHER = "higher"
    LOWER = "lower"


@dataclass(frozen=True)
class Measure:
    """A measured value with its unit, and an optional detail shown beside it."""

    value: float
    unit: str
    detail: str = ""


Cell = Measure | str | None
"""A measure; a reason it has none (e.g. :data:`NOT_IMPLEMENTED`); or None, not measured."""


@dataclass(frozen=True)
class Row:
    operation: str
    beamit: Cell
    orthanc: Cell
    better: Better
    comparable: bool = True
    """False where a ratio means nothing (e.g. memory growth, which can be zero)."""


def format_number(value: float) -> str:
    """Three significant digits, no exponent: 1234 -> "1234", 12.34 -> "12.3", 0.01234 -> "0.0123"."""
    if value == 0:
        return "0"
    decimals = min(6, max(0, 2 - math.floor(math.log10(abs(value)))))
    text = f"{value:.{decimals}f}"
    if decimals and abs(float(text)) >= 10 ** (3 - decimals):  # rounding added a digit: 99.96 -> "100.0"
        text = f"{value:.{decimals - 1}f}"
    return text


def format_cell(cell: Cell) -> str:
    if cell is None:
        return NOT_MEASURED
    if isinstance(cell, str):
        return cell
    text = f"{format_number(cell.value)} {cell.unit}"
    return f"{text} ({cell.detail})" if cell.detail else text


def ratio(row: Row) -> float | None:
    """BeamIt / Orthanc, when the row is comparable, both are measures in the same unit and Orthanc's is not 0."""
    b, o = row.beamit, row.orthanc
    if not row.comparable or not isinstance(b, Measure) or not isinstance(o, Measure):
        return None
    if b.unit != o.unit or o.value == 0:
        return None
    return b.value / o.value


def format_ratio(value: float | None) -> str:
    return NOT_MEASURED if value is None else f"{format_number(value)}x"


def table_cells(rows: Sequence[Row]) -> list[tuple[str, ...]]:
    return [
        (row.operation, format_cell(row.beamit), format_cell(row.orthanc), format_ratio(ratio(row)), row.better.value)
        for row in rows
    ]


def render_text(rows: Sequence[Row]) -> str:
    """The table for a terminal: columns padded, a rule under the header."""
    lines = [HEADERS, *table_cells(rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADERS))]
    out = [" | ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in lines]
    out.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(out)


def _md(cell: str) -> str:
    return cell.replace("|", "\\|")


def render_markdown(rows: Sequence[Row]) -> str:
    """The table as GitHub-flavoured Markdown; numeric columns right-aligned."""
    lines = ["| " + " | ".join(HEADERS) + " |", "|---|---:|---:|---:|---|"]
    lines += ["| " + " | ".join(_md(cell) for cell in cells) + " |" for cells in table_cells(rows)]
    return "\n".join(lines)
