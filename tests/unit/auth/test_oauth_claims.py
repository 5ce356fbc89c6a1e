"""Claimed-client calls: what their records keep, and their budget per client id and IP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from beamit.auth.oauth.claims import GRANT_TYPES, ClaimBudget, known
from tests.memory_store import MemoryStore

T0 = datetime(2026, 2, 20, 10, 0, tzinfo=UTC)


def test_only_known_values_are_kept():
    assert known("refresh_token", GRANT_TYPES) == "refresh_token"
    assert known("x" * 12_000, GRANT_TYPES) == "other" and known(5, GRANT_TYPES) == "other"
    assert known(None, GRANT_TYPES) is None and known("", GRANT_TYPES) is None


def test_budget_per_client_then_per_ip():
    now = [T0]
    budget = ClaimBudget(MemoryStore(), clock=lambda: now[0])
    assert [budget.admit("cli_a", f"192.0.2.{i}") for i in range(10)] == [None] * 10
    assert budget.admit("cli_a", "192.0.2.99") == T0 + timedelta(seconds=1)  # the 11th waits a second
    now[0] += timedelta(seconds=1)
    assert budget.admit("cli_a", "192.0.2.99") is None
    assert budget.admit("cli_b", "192.0.2.99") is None  # another client id has its own count
    # One IP naming many client ids: its own counter stops it after 20.
    admitted = [budget.admit(f"cli_{n}", "198.51.100.7") is None for n in range(25)]
    assert admitted == [True] * 20 + [False] * 5
