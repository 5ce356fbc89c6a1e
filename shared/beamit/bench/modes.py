"""What each mode measures and how long each phase may take (seconds, on 2 cores).

``full`` (``make bench``) stays under 15 minutes; ``quick`` (``make bench-quick``) runs a
subset in about 3. A phase that reaches its budget stops its loops and says so; the QIDO
phase loads the larger tenant size only as far as its budget allows.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class BenchMode:
    name: str
    total_seconds: float
    ct_slices: int
    """Slices of the 512x512 16-bit CT series stored in batches of :attr:`stow_batch`."""
    stow_batch: int
    big_stow_slices: tuple[int, ...]
    """Single STOW requests for the memory measurement: ~0.53 MB per slice (200 ~ 100 MB, 2000 ~ 1 GB)."""
    metadata_calls: int
    retrieve_calls: int
    frame_calls: int
    rendered_calls: int
    first_frame_trials: int
    qido_sizes: tuple[int, int]
    """Tenant sizes (studies) of the QIDO measurement; the second is loaded as far as the budget allows."""
    qido_queries_per_kind: int
    qido_seconds: float
    """Bound of one query mix on one server at one size."""
    load_concurrency: int
    load_batch: int
    load_chunk: int
    event_studies: int
    """Studies of the study events measurement (:mod:`beamit.bench.events`)."""
    phase_seconds: dict[str, float]
    """Nominal budget of each phase; a phase may also use what the phases before it left unused."""



FULL = BenchMode(
    name="full",
    total_seconds=920,
    ct_slices=300,
    stow_batch=20,
    big_stow_slices=(200, 2000),
    metadata_calls=30,
    retrieve_calls=3,
    frame_calls=100,
    rendered_calls=40,
    first_frame_trials=3,
    qido_sizes=(1_000, 50_000),
    qido_queries_per_kind=20,
    qido_seconds=60,
    load_concurrency=8,
    load_batch=25,
    load_chunk=500,
    event_studies=20,
    phase_seconds={"start": 120, "stow": 60, "prerender": 30, "events": 60, "retrieve": 90, "viewer": 30,
                   "search": 330, "cold-start": 40, "memory": 240},
)

QUICK = replace(
    FULL, name="quick", total_seconds=265, big_stow_slices=(200,), metadata_calls=10, retrieve_calls=1,
    frame_calls=30, rendered_calls=10, first_frame_trials=2, qido_sizes=(1_000, 5_000), qido_queries_per_kind=8,
    qido_seconds=15, load_chunk=250, event_studies=10,
    phase_seconds={"start": 60, "stow": 40, "prerender": 20, "events": 30, "retrieve": 30, "viewer": 20,
                   "search": 110, "cold-start": 30, "memory": 20},
)

SCALE = replace(
    FULL,
    name="scale",
    total_seconds=4200,
    qido_seconds=300,
    load_chunk=2000,
    phase_seconds={**FULL.phase_seconds, "search": 3600},
)
"""The full run with up to an hour to load and search the 50,000-study tenant the QIDO-RS goal
names: ``make bench BENCH=scale``. On the 2-core machine of docs/benchmarks.md it does not get
there. With the JVM's default heap the Firestore emulator filled it at about 30,000 studies and
then spent its time in full garbage collections (the dev stack now gives it 60% of memory,
``devstack.emulators.FIRESTORE_HEAP``); with the larger heap, loading through STOW still averaged
about 18 studies/s (33,000 studies after 30 minutes, emulator at 8.7 GB), and the run stops
loading where its budget ends, as the full run does. Meant for a larger machine."""


MODES = {mode.name: mode for mode in (FULL, QUICK, SCALE)}
