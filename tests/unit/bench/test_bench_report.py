"""Number, ratio and table formatting of the benchmark (beamit.bench.report)."""

from __future__ import annotations

import pytest

from beamit.bench.report import (
    NOT_IMPLEMENTED,
    NOT_MEASURED,
    Better,
    Measure,
    Row,
    format_cell,
    format_number,
    format_ratio,
    ratio,
    render_markdown,
    render_text,
)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (1234.4, "1234"),
        (132.0, "132"),
        (99.96, "100"),
        (67.04, "67.0"),
        (12.34, "12.3"),
        (1.234, "1.23"),
        (0.9996, "1.00"),
        (0.5, "0.500"),
        (0.01234, "0.0123"),
        (-3.2, "-3.20"),
    ],
)
def test_format_number_keeps_three_significant_digits(value: float, text: str) -> None:
    assert format_number(value) == text


def test_format_cell() -> None:
    assert format_cell(Measure(74.0, "ms")) == "74.0 ms"
    assert format_cell(Measure(132, "inst/s", "200 in 1.5 s")) == "132 inst/s (200 in 1.5 s)"
    assert format_cell(NOT_IMPLEMENTED) == "n/a (not implemented)"
    assert format_cell(None) == NOT_MEASURED


def test_ratio_is_beamit_over_orthanc() -> None:
    row = Row("STOW", Measure(66, "MB/s"), Measure(132, "MB/s"), Better.HIGHER)
    assert ratio(row) == pytest.approx(0.5)
    assert format_ratio(ratio(row)) == "0.500x"


@pytest.mark.parametrize(
    "row",
    [
        Row("missing", NOT_IMPLEMENTED, Measure(10, "ms"), Better.LOWER),
        Row("unmeasured", Measure(10, "ms"), None, Better.LOWER),
        Row("units differ", Measure(10, "ms"), Measure(1, "s"), Better.LOWER),
        Row("zero", Measure(10, "ms"), Measure(0, "ms"), Better.LOWER),
        Row("memory", Measure(45, "MiB"), Measure(0.02, "MiB"), Better.LOWER, comparable=False),
    ],
)
def test_no_ratio_without_two_comparable_measures(row: Row) -> None:
    assert ratio(row) is None
    assert format_ratio(ratio(row)) == NOT_MEASURED


ROWS = [
    Row("study metadata p50", Measure(286.2, "ms", "n=30"), Measure(516.0, "ms", "n=30"), Better.LOWER),
    Row("QIDO mix p50, 1,000 studies", NOT_IMPLEMENTED, Measure(10.5, "ms"), Better.LOWER),
]


def test_render_text_aligns_columns() -> None:
    lines = render_text(ROWS).splitlines()
    assert lines[0].split(" | ")[0].strip() == "operation"
    assert set(lines[1]) <= {"-", "+"}
    assert len({line.index("|") for line in lines if "|" in line}) == 1
    assert "286 ms (n=30)" in lines[2] and "0.555x" in lines[2] and lines[2].endswith("lower")
    assert "n/a (not implemented)" in lines[3]


def test_render_markdown() -> None:
    lines = render_markdown(ROWS).splitlines()
    assert lines[0] == "| operation | BeamIt | Orthanc | BeamIt/Orthanc | better |"
    assert lines[1] == "|---|---:|---:|---:|---|"
    assert lines[2] == "| study metadata p50 | 286 ms (n=30) | 516 ms (n=30) | 0.555x | lower |"
    assert lines[3] == "| QIDO mix p50, 1,000 studies | n/a (not implemented) | 10.5 ms | — | lower |"


def test_render_markdown_escapes_pipes() -> None:
    row = Row("a|b", "failed (x|y)", None, Better.HIGHER)
    assert "a\\|b" in render_markdown([row]) and "failed (x\\|y)" in render_markdown([row])
