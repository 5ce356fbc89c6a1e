"""beamit.ids: random tokens are of the alphabet, the length asked for, and uniform."""

from __future__ import annotations

from collections import Counter

from beamit.ids import _ALPHABET, new_id, random_token


def test_length_and_alphabet():
    for length in (1, 8, 20, 46, 200):
        token = random_token(length)
        assert len(token) == length and set(token) <= set(_ALPHABET)
    assert new_id("req").startswith("req_") and len(new_id("req")) == 24


def test_every_symbol_about_equally_often():
    draws = 360_000
    counts = Counter(random_token(draws))
    assert set(counts) == set(_ALPHABET)
    expected = draws / 36  # 10,000 each
    chi_square = sum((count - expected) ** 2 / expected for count in counts.values())
    # 35 degrees of freedom: above 66.6 happens by chance once in a thousand runs; the modulo
    # bias of mapping every byte (4 of the 36 symbols 8/256 likely instead of 7/256) gives about 700.
    assert chi_square < 66.6, counts


def test_tokens_do_not_repeat():
    assert len({random_token(20) for _ in range(10_000)}) == 10_000
