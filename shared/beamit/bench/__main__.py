"""``python -m beamit.bench [--mode full|quick]``: what ``make bench`` and ``make bench-quick`` run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from beamit.bench.modes import MODES
from beamit.bench.run import run
from beamit.devstack.emulators import REPO_ROOT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m beamit.bench", description=__doc__)
    parser.add_argument("--mode", choices=sorted(MODES), default="full")
    parser.add_argument("--large-studies", type=int, default=None,
                        help="the larger QIDO tenant size (default: 50000 full, 5000 quick); loaded as far as "
                             "the phase's time budget allows")
    parser.add_argument("--doc", type=Path, default=REPO_ROOT / "docs" / "benchmarks.md",
                        help="where to write the report (default: docs/benchmarks.md)")
    parser.add_argument("--no-doc", action="store_true", help="print the table only")
    args = parser.parse_args(argv)
    return run(MODES[args.mode], None if args.no_doc else args.doc, args.large_studies)


if __name__ == "__main__":
    sys.exit(main())
