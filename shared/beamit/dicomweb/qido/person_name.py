"""Person Name (PN) normalisation and the index tokens behind PN searches.

Structure (PS3.5 §6.2.1): a PN value has up to three component groups - alphabetic,
ideographic, phonetic - separated by ``=`` (DICOM JSON spells them out as ``{"Alphabetic":
..., "Ideographic": ..., "Phonetic": ...}``, PS3.18 §F.2.2).  A group has up to five
components separated by ``^``: family, given, middle, prefix, suffix.  Trailing empty
components may be left out and spaces around components are padding, so ``"DOE ^JOHN^^"``
and ``"DOE^JOHN"`` are the same name; :func:`canonical_pn_group` writes that one form.

Two normalisations, one per matching mode (see :mod:`beamit.dicomweb.qido.query`):

* literal (``fuzzymatching=false``): Unicode NFC, then case folding.  ``"doe^j*"`` matches
  ``"DOE^JOHN"``; ``"Jöhn"`` does not match ``"John"``.
* fuzzy (``fuzzymatching=true``): additionally compatibility decomposition (NFKD) with the
  Latin/Greek/Cyrillic combining diacritics removed, then NFC and case folding:
  ``"Jöhn"`` and ``"JOHN"`` both become ``"john"``, and full-width ``"ＤＯＥ"`` becomes
  ``"doe"``.  Only the combining diacritical-mark blocks are removed, so Japanese voicing
  marks survive (``"が"`` does not become ``"か"``).

A *word* is a maximal run of letters, digits and combining marks of a normalised group;
``^``, spaces, hyphens, apostrophes, ``*`` and ``?`` all separate words.

Index design (for the Firestore translator)
-------------------------------------------
Firestore has no substring search, so each PN attribute gets index terms of tokens (keys of the
``q.words`` map, :mod:`beamit.dicomweb.qido.index`) and a query asks for one token by equality
(or for any of one small set, a disjunction; one per query, as Firestore caps disjunctions),
then post-filters the candidates with the exact matcher of :mod:`beamit.dicomweb.qido.reference`.  Tokens
(:func:`pn_index_tokens`), for every word of every group, in both normalisations (literal
tokens ``p:``/``g:``, fuzzy tokens ``fp:``/``fg:``):

* ``p:<prefix>`` - each prefix of the word, 1 to :data:`PREFIX_MAX` characters;
* ``g:<ngram>`` - each substring of the word of 1 to :data:`NGRAM_MAX` characters.

A query pattern (:func:`query_tokens`) is cut at its wildcards into literal runs, and each run
into word chunks.  A chunk that starts the pattern or follows a separator inside its run must
start a word of the matching name: its first :data:`PREFIX_MAX` characters are a ``p:`` token.
Any other chunk lies somewhere inside a word: its n-grams (length ``min(len, NGRAM_MAX)``) are
``g:`` tokens.  So ``DOE^J*`` needs ``p:doe`` and ``p:j``; ``*OHN*`` needs ``g:ohn``; ``*x*``
needs ``g:x``.  Every name the matcher accepts contains all of those tokens, whatever the
position of the wildcards; the translator picks the most selective one
(:func:`best_query_clause`).  A pattern with no word character at all (``?``, ``^``) yields no
token and needs a scan.

Fuzzy matching accepts a name if the literal match succeeds, *or* the folded one does, *or*
every query word begins a word of one group; so a fuzzy query yields clauses ``{a, b, c}``
(one token guaranteed by each way), each answered with a disjunction of equalities.

Cost: a 3-word name of 6 letters per word gives about 120 tokens (both modes), well within
Firestore's per-document index limits.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

__all__ = [
    "FUZZY_CLAUSE_CHOICES",
    "NGRAM_MAX",
    "PN_GROUP_NAMES",
    "PREFIX_MAX",
    "WILDCARDS",
    "best_query_clause",
    "canonical_pn_group",
    "is_word_char",
    "normalize_pn_component",
    "normalize_pn_group",
    "pn_components",
    "pn_groups",
    "pn_index_tokens",
    "pn_values",
    "pn_words",
    "query_tokens",
    "split_words",
    "tokens_for_element",
]

PN_GROUP_NAMES = ("Alphabetic", "Ideographic", "Phonetic")
"""The DICOM JSON keys of the three component groups (PS3.18 §F.2.2)."""

PREFIX_MAX = 10
"""Longest word prefix stored as a ``p:`` token."""

NGRAM_MAX = 3
"""Longest in-word substring stored as a ``g:`` token."""

FUZZY_CLAUSE_CHOICES = 3
"""Tokens per matching way combined into fuzzy clauses (so at most 27 clauses)."""

_DIACRITIC_BLOCKS = (
    (0x0300, 0x036F),  # Combining Diacritical Marks
    (0x1AB0, 0x1AFF),  # Combining Diacritical Marks Extended
    (0x1DC0, 0x1DFF),  # Combining Diacritical Marks Supplement
    (0x20D0, 0x20FF),  # Combining Diacritical Marks for Symbols
    (0xFE20, 0xFE2F),  # Combining Half Marks
)

WILDCARDS = frozenset("*?")
"""The PS3.4 C.2.2.2.4 wild card characters."""


def pn_groups(pn: object) -> tuple[str, str, str]:
    """The (alphabetic, ideographic, phonetic) groups of one PN value, ``""`` when absent.

    Accepts the DICOM JSON object form and, leniently, the PS3.5 string form
    ``"Yamada^Tarou=山田^太郎=やまだ^たろう"``.  Anything else has no groups.
    """
    if isinstance(pn, str):
        parts = pn.split("=")[:3]
        parts += [""] * (3 - len(parts))
        return parts[0], parts[1], parts[2]
    if isinstance(pn, Mapping):
        values = [pn.get(name) for name in PN_GROUP_NAMES]
        texts = [value if isinstance(value, str) else "" for value in values]
        return texts[0], texts[1], texts[2]
    return "", "", ""


def pn_components(group: str) -> tuple[str, ...]:
    """The components of one group, padding spaces removed and trailing empty ones dropped."""
    components = [component.strip() for component in group.split("^")]
    while components and not components[-1]:
        components.pop()
    return tuple(components)


def canonical_pn_group(group: str) -> str:
    """One spelling per name: ``"DOE ^JOHN^^"`` -> ``"DOE^JOHN"``."""
    return "^".join(pn_components(group))


def _strip_diacritics(text: str) -> str:
    return "".join(ch for ch in text if not any(low <= ord(ch) <= high for low, high in _DIACRITIC_BLOCKS))


def normalize_pn_component(text: str, *, fuzzy: bool = False) -> str:
    """Case-fold (and, for ``fuzzy``, width- and accent-fold) one component or pattern.

    ``*`` and ``?`` pass through unchanged, so the function applies to query patterns too.
    """
    text = text.strip()
    if fuzzy:
        text = _strip_diacritics(unicodedata.normalize("NFKD", text))
    return unicodedata.normalize("NFC", text).casefold()


def normalize_pn_group(group: str, *, fuzzy: bool = False) -> str:
    """The canonical group with each component normalised: the form the matcher compares."""
    return "^".join(normalize_pn_component(c, fuzzy=fuzzy) for c in pn_components(group))


def is_word_char(ch: str) -> bool:
    """Letters, digits and combining marks make words; everything else separates them."""
    return ch.isalnum() or unicodedata.category(ch).startswith("M")


def split_words(normalized: str) -> list[str]:
    """The words of an already normalised group or pattern."""
    words: list[str] = []
    current: list[str] = []
    for ch in normalized:
        if is_word_char(ch):
            current.append(ch)
        elif current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return words


def pn_words(group: str, *, fuzzy: bool = False) -> list[str]:
    """The normalised words of one group (or of a query, whose wildcards separate words)."""
    return split_words(normalize_pn_group(group, fuzzy=fuzzy))


# --- index tokens ---------------------------------------------------------------------------


def _prefix_token(word: str, *, fuzzy: bool) -> str:
    return ("fp:" if fuzzy else "p:") + word[:PREFIX_MAX]


def _word_tokens(word: str, *, fuzzy: bool) -> set[str]:
    gram = "fg:" if fuzzy else "g:"
    tokens = {_prefix_token(word[:length], fuzzy=fuzzy) for length in range(1, PREFIX_MAX + 1) if length <= len(word)}
    for size in range(1, NGRAM_MAX + 1):
        tokens.update(gram + word[i : i + size] for i in range(len(word) - size + 1))
    return tokens


def pn_index_tokens(pn: object) -> frozenset[str]:
    """The tokens a Firestore array field stores for one PN value (all groups, both modes).

    For a multi-valued PN attribute, store the union over its values.
    """
    tokens: set[str] = set()
    for group in pn_groups(pn):
        for fuzzy in (False, True):
            for word in pn_words(group, fuzzy=fuzzy):
                tokens |= _word_tokens(word, fuzzy=fuzzy)
    return frozenset(tokens)


def _pattern_tokens(pattern: str, *, fuzzy: bool) -> set[str]:
    """Tokens every name matching the (normalised) wildcard ``pattern`` contains."""
    gram = "fg:" if fuzzy else "g:"
    tokens: set[str] = set()
    run_start = 0
    for end in [*(i for i, ch in enumerate(pattern) if ch in WILDCARDS), len(pattern)]:
        run = pattern[run_start:end]
        anchored_run = run_start == 0
        index = 0
        while index < len(run):
            if not is_word_char(run[index]):
                index += 1
                continue
            chunk_end = index
            while chunk_end < len(run) and is_word_char(run[chunk_end]):
                chunk_end += 1
            chunk = run[index:chunk_end]
            if index > 0 or anchored_run:
                tokens.add(_prefix_token(chunk, fuzzy=fuzzy))
            else:
                size = min(len(chunk), NGRAM_MAX)
                tokens.update(gram + chunk[i : i + size] for i in range(len(chunk) - size + 1))
            index = chunk_end
        run_start = end + 1
    return tokens


def query_tokens(pattern: str, *, fuzzy: bool = False) -> tuple[frozenset[str], ...]:
    """Index clauses for a PN query: every matching name has at least one token of each.

    Literal mode gives one-token clauses (one equality).  Fuzzy mode accepts a name in any of
    three ways (literal, folded literal, word prefixes), so each clause has one token
    guaranteed by each way (a disjunction); only combinations of the
    :data:`FUZZY_CLAUSE_CHOICES` most selective tokens of each way are listed.  An empty result
    means the pattern cannot use the index (no word characters): scan and post-filter.
    """
    literal = _literal_tokens(pattern, fuzzy=False)
    if not fuzzy:
        return tuple(frozenset({token}) for token in sorted(literal))
    folded = _literal_tokens(pattern, fuzzy=True)
    words = {_prefix_token(word, fuzzy=True) for word in pn_words(pattern, fuzzy=True)}
    if not (literal and folded and words):
        return ()
    choices = [_most_selective(tokens, FUZZY_CLAUSE_CHOICES) for tokens in (literal, folded, words)]
    return tuple(
        sorted(
            {frozenset({a, b, c}) for a in choices[0] for b in choices[1] for c in choices[2]},
            key=sorted,
        )
    )


def _literal_tokens(pattern: str, *, fuzzy: bool) -> set[str]:
    tokens: set[str] = set()
    for group in pattern.split("="):
        tokens |= _pattern_tokens(normalize_pn_group(group, fuzzy=fuzzy), fuzzy=fuzzy)
    return tokens


def _selectivity(token: str) -> tuple[int, int, str]:
    kind, _, text = token.partition(":")
    return (len(text), 1 if kind.endswith("p") else 0, token)


def _most_selective(tokens: set[str], count: int) -> list[str]:
    return sorted(tokens, key=_selectivity, reverse=True)[:count]


def best_query_clause(pattern: str, *, fuzzy: bool = False) -> frozenset[str] | None:
    """The clause the translator should send to Firestore: the most selective one.

    Longer tokens are rarer; at equal length a word prefix beats an n-gram; a clause is as
    selective as its weakest token.  ``None`` when the pattern cannot use the index.
    """
    clauses = query_tokens(pattern, fuzzy=fuzzy)
    if not clauses:
        return None
    return max(clauses, key=lambda clause: min(_selectivity(token) for token in clause))


def pn_values(element: Mapping[str, Any] | None) -> list[object]:
    """The PN values of a DICOM JSON element (``{"vr": "PN", "Value": [...]}``)."""
    if not element:
        return []
    values = element.get("Value")
    return list(values) if isinstance(values, list) else []


def tokens_for_element(element: Mapping[str, Any] | None) -> frozenset[str]:
    """Union of :func:`pn_index_tokens` over every value of a PN element."""
    tokens: set[str] = set()
    for value in pn_values(element):
        tokens |= pn_index_tokens(value)
    return frozenset(tokens)
