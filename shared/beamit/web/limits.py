"""Request body limits that hold for chunked bodies too (no Content-Length to check)."""

from __future__ import annotations

from typing import BinaryIO

from beamit.errors import PayloadTooLarge


class LimitedBody:
    """A read-only stream that raises ``PayloadTooLarge`` once more than ``limit`` bytes arrive."""

    def __init__(self, stream: BinaryIO, limit: int, message: str) -> None:
        self._stream = stream
        self._limit = limit
        self._message = message
        self.received = 0

    def read(self, size: int = -1) -> bytes:
        want = self._limit + 1 - self.received if size < 0 else min(size, self._limit + 1 - self.received)
        data = self._stream.read(max(want, 1))
        self.received += len(data)
        if self.received > self._limit:
            raise PayloadTooLarge(self._message)
        return data
