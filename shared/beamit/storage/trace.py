"""Round trips to the storage services of one request, for the benchmark.

With ``BEAMIT_TRACE_STORAGE`` on (the benchmark's gateway only; off by default), every call of
the four adapters (:class:`~beamit.storage.protocols.BlobStore`, ``MetadataStore``,
``EventBus``, ``KeyService``) is wrapped by :func:`traced_services` and records its service,
operation and start and end times into the :class:`RequestTrace` of the current context.
Off, nothing is wrapped: the adapters are called directly and this module costs nothing.

What a user waits for is not the number of calls but the longest chain of calls that had to
wait for each other: :func:`sequential_depth` is the length of the longest chain of
non-overlapping calls (calls that ran at the same time count once).

Work handed to a thread pool records into the submitting request's trace when it is run
through :func:`carried` (thread pools do not inherit context variables). Its first call counts
as started when the work was handed over: what it waited for is the work before it, not a
free thread or core (on the benchmark's two busy cores, calls submitted together would
otherwise look as if they had waited for each other).
"""

from __future__ import annotations

import bisect
import contextvars
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

HEADER = "X-BeamIt-Trace"
"""The response header of the benchmark's gateway that carries a request's trace."""


@dataclass(frozen=True)
class StorageCall:
    """One call of an adapter: ``service.operation`` from ``start`` to ``end`` (monotonic seconds)."""

    service: str
    operation: str
    start: float
    end: float

    @property
    def name(self) -> str:
        return f"{self.service}.{self.operation}"


@dataclass
class RequestTrace:
    """The adapter calls of one request (threads of the request record into it too)."""

    calls: list[StorageCall] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, call: StorageCall) -> None:
        with self._lock:
            self.calls.append(call)

    def snapshot(self) -> list[StorageCall]:
        with self._lock:
            return list(self.calls)


_current: contextvars.ContextVar[RequestTrace | None] = contextvars.ContextVar("beamit_trace", default=None)
_handed_over: contextvars.ContextVar[float | None] = contextvars.ContextVar("beamit_trace_handed_over", default=None)
"""When the pool work running in this context was submitted (until its first call)."""


def start_trace() -> tuple[RequestTrace, contextvars.Token[RequestTrace | None]]:
    """Begin recording the current context's calls; hand the token to :func:`stop_trace`."""
    trace = RequestTrace()
    return trace, _current.set(trace)


def stop_trace(token: contextvars.Token[RequestTrace | None]) -> None:
    _current.reset(token)


def carried(fn: Callable[P, T]) -> Callable[P, T]:
    """``fn`` run in the current context (for ``pool.submit(carried(fn), ...)`` and
    ``pool.map``): the request's trace follows its work into pool threads. Each run enters its
    own copy, so runs may overlap."""
    context = contextvars.copy_context()
    submitted = time.monotonic()

    def handed_over(*args: P.args, **kwargs: P.kwargs) -> T:
        _handed_over.set(submitted)
        return fn(*args, **kwargs)

    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        return context.copy().run(handed_over, *args, **kwargs)

    return run


# -- the sequential depth of a set of calls -----------------------------------------------------------


def _longest_chains(calls: Sequence[StorageCall]) -> tuple[list[StorageCall], list[int], list[int | None]]:
    """Calls by end time, the longest chain ending with each, and the call before it in that
    chain (the latest-ending one among equally long choices). O(n log n)."""
    ordered = sorted(calls, key=lambda c: c.end)
    ends = [c.end for c in ordered]
    length: list[int] = []
    previous: list[int | None] = []
    best_upto: list[int] = []  # best_upto[k]: index of a longest chain among ordered[:k + 1]
    for i, call in enumerate(ordered):
        # A chain may continue from any call that ended no later than this one started.
        before = bisect.bisect_right(ends, call.start, 0, i)
        link = best_upto[before - 1] if before else None
        length.append(1 + (length[link] if link is not None else 0))
        previous.append(link)
        top = best_upto[-1] if best_upto else None
        best_upto.append(i if top is None or length[i] >= length[top] else top)
    return ordered, length, previous


def sequential_depth(calls: Sequence[StorageCall]) -> int:
    """The number of calls in the longest chain of calls each of which started after the
    previous one ended: round trips that had to wait for each other. Calls that overlap in
    time count once; 0 for no calls."""
    _, length, _ = _longest_chains(calls)
    return max(length, default=0)


def critical_chain(calls: Sequence[StorageCall]) -> list[StorageCall]:
    """One longest chain of :func:`sequential_depth` (earliest first), to show what it is made of;
    among equally long ones, each call is linked to the latest-ending call it waited for."""
    ordered, length, previous = _longest_chains(calls)
    if not ordered:
        return []
    index: int | None = max(range(len(ordered)), key=lambda i: (length[i], i))
    chain = []
    while index is not None:
        chain.append(ordered[index])
        index = previous[index]
    return chain[::-1]


def header_value(calls: Sequence[StorageCall], served: float | None = None) -> str:
    """``depth=2; calls=3; chain=firestore.get,firestore.commit; wait=3.10; served=4.52``: what
    the header carries. ``wait``: milliseconds the chain's calls lasted (what the request waited
    for storage at the least); ``served``: milliseconds from the start of the trace to the
    response's start, when given."""
    chain = critical_chain(calls)
    wait = sum(call.end - call.start for call in chain) * 1000
    value = (f"depth={sequential_depth(calls)}; calls={len(calls)}; chain={','.join(c.name for c in chain)}; "
             f"wait={wait:.2f}")
    return value if served is None else f"{value}; served={served * 1000:.2f}"


@dataclass(frozen=True)
class TraceSummary:
    """A trace as the benchmark reads it from the header."""

    depth: int
    calls: int
    chain: tuple[str, ...]
    wait_ms: float | None = None
    served_ms: float | None = None


def parse_header(value: str) -> TraceSummary:
    fields = dict(item.strip().partition("=")[::2] for item in value.split(";") if item.strip())
    chain = tuple(name for name in fields.get("chain", "").split(",") if name)
    wait, served = fields.get("wait"), fields.get("served")
    return TraceSummary(int(fields.get("depth", 0)), int(fields.get("calls", 0)), chain,
                        float(wait) if wait else None, float(served) if served else None)


# -- recording adapters --------------------------------------------------------------------------------

_ITERATING = frozenset({"stream", "list"})
"""Methods returning iterators: the call lasts until the iterator is done."""
_TRANSACTION_READS = frozenset({"get", "query"})
"""A transaction's round trips before its commit (its writes are buffered until then)."""


class _Traced:
    """An adapter whose public methods record a :class:`StorageCall` each."""

    def __init__(self, service: str, inner: Any, only: frozenset[str] | None = None) -> None:
        self._service = service
        self._inner = inner
        self._only = only

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if name.startswith("_") or not callable(attribute) or (self._only is not None and name not in self._only):
            return attribute
        if name in _ITERATING:
            return self._iterating(name, attribute)
        if name == "run_transaction":
            return self._transaction(attribute)
        return self._timed(name, attribute)

    def _timed(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            trace = _current.get()
            if trace is None:
                return method(*args, **kwargs)
            started = _started()
            try:
                return method(*args, **kwargs)
            finally:
                trace.record(StorageCall(self._service, name, started, time.monotonic()))

        return call

    def _iterating(self, name: str, method: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
        def call(*args: Any, **kwargs: Any) -> Iterator[Any]:
            trace = _current.get()
            started = _started()
            try:
                yield from method(*args, **kwargs)
            finally:
                if trace is not None:
                    trace.record(StorageCall(self._service, name, started, time.monotonic()))

        return call

    def _transaction(self, method: Callable[..., Any]) -> Callable[..., Any]:
        """A transaction's reads are round trips of their own, and so is its commit (which
        starts when the transaction function returns)."""

        def call(fn: Callable[[Any], T]) -> T:
            trace = _current.get()
            if trace is None:
                return method(fn)  # type: ignore[no-any-return]
            body_end = [time.monotonic()]

            def traced_fn(transaction: Any) -> T:
                result = fn(_Traced(self._service, transaction, _TRANSACTION_READS))
                body_end[0] = time.monotonic()
                return result

            try:
                return method(traced_fn)  # type: ignore[no-any-return]
            finally:
                trace.record(StorageCall(self._service, "commit", body_end[0], time.monotonic()))

        return call


def _started() -> float:
    """Now, or when the pool work making its first call was handed over (module docstring)."""
    now = time.monotonic()
    handed_over = _handed_over.get()
    if handed_over is None:
        return now
    _handed_over.set(None)
    return min(handed_over, now)


def traced(service: str, adapter: T) -> T:
    """``adapter`` recording each call into the current :class:`RequestTrace` (if any)."""
    return _Traced(service, adapter)  # type: ignore[return-value]
