"""PN normalisation and index tokens; the no-false-negative property of the token design."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from beamit.dicomweb.qido.attributes import SearchLevel
from beamit.dicomweb.qido.conditions import PersonNameCondition, PersonNameFuzzyCondition
from beamit.dicomweb.qido.person_name import (
    PREFIX_MAX,
    best_query_clause,
    canonical_pn_group,
    normalize_pn_component,
    normalize_pn_group,
    pn_components,
    pn_groups,
    pn_index_tokens,
    pn_words,
    query_tokens,
    split_words,
    tokens_for_element,
)
from beamit.dicomweb.qido.query import parse_search
from beamit.dicomweb.qido.reference import matches

# --- structure and normalisation --------------------------------------------------------------


def test_groups_from_dicom_json_and_from_the_string_form() -> None:
    value = {"Alphabetic": "Yamada^Tarou", "Ideographic": "山田^太郎", "Phonetic": "やまだ^たろう"}
    assert pn_groups(value) == ("Yamada^Tarou", "山田^太郎", "やまだ^たろう")
    assert pn_groups("Yamada^Tarou=山田^太郎=やまだ^たろう") == pn_groups(value)
    assert pn_groups({"Ideographic": "山田^太郎"}) == ("", "山田^太郎", "")
    assert pn_groups("DOE^JOHN") == ("DOE^JOHN", "", "")
    assert pn_groups(None) == ("", "", "")
    assert pn_groups({"Alphabetic": 5}) == ("", "", "")


def test_components_drop_padding_and_trailing_empty_components() -> None:
    assert pn_components("DOE ^ JOHN ^^^") == ("DOE", "JOHN")
    assert pn_components("DOE^^^Dr") == ("DOE", "", "", "Dr")
    assert pn_components("") == ()
    assert canonical_pn_group(" Doe^John^^ ") == "Doe^John"


@pytest.mark.parametrize(
    ("text", "literal", "fuzzy"),
    [
        ("JÖHN", "jöhn", "john"),
        ("Jo\u0308hn", "jöhn", "john"),  # decomposed input: NFC in both modes
        ("  Müller ", "müller", "muller"),
        ("STRAßE", "strasse", "strasse"),
        ("ＤＯＥ", "ｄｏｅ", "doe"),  # full-width: folded only in fuzzy mode
        ("がっこう", "がっこう", "がっこう"),  # Japanese voicing marks survive
        ("Παπαδόπουλος", "παπαδόπουλοσ", "παπαδοπουλοσ"),  # case folding: final sigma too
        ("ИВАН", "иван", "иван"),
        ("D*E?", "d*e?", "d*e?"),  # wildcards pass through
    ],
)
def test_normalize_component(text: str, literal: str, fuzzy: str) -> None:
    assert normalize_pn_component(text) == literal
    assert normalize_pn_component(text, fuzzy=True) == fuzzy


def test_normalize_group_and_words() -> None:
    assert normalize_pn_group("DOE ^JÖHN^^") == "doe^jöhn"
    assert normalize_pn_group("DOE ^JÖHN^^", fuzzy=True) == "doe^john"
    assert pn_words("Müller-Lüdenscheidt^Jean Pierre^^Dr.", fuzzy=True) == [
        "muller",
        "ludenscheidt",
        "jean",
        "pierre",
        "dr",
    ]
    assert pn_words("O'Brien^Seán") == ["o", "brien", "seán"]
    assert split_words("doe*j?hn") == ["doe", "j", "hn"]
    assert pn_words("山田^太郎") == ["山田", "太郎"]


# --- tokens ------------------------------------------------------------------------------------


def test_index_tokens_of_a_name() -> None:
    tokens = pn_index_tokens({"Alphabetic": "DOE^JÖHN"})
    assert {"p:d", "p:do", "p:doe", "p:j", "p:jö", "p:jöhn"} <= tokens
    assert {"g:ö", "g:öh", "g:öhn", "g:hn", "g:oe"} <= tokens
    assert {"fp:john", "fg:ohn"} <= tokens
    assert "p:oe" not in tokens  # only word prefixes are p: tokens
    assert "g:doej" not in tokens and "g:e^j" not in tokens  # n-grams stay inside words


def test_index_tokens_cover_every_group() -> None:
    tokens = pn_index_tokens("Yamada^Tarou=山田^太郎=やまだ^たろう")
    assert {"p:yamada", "p:山田", "p:やまだ", "g:太郎", "fp:たろう"} <= tokens


def test_long_words_store_prefixes_up_to_the_limit() -> None:
    word = "abcdefghijklmnop"
    tokens = pn_index_tokens(word)
    assert "p:" + word[:PREFIX_MAX] in tokens
    assert "p:" + word[: PREFIX_MAX + 1] not in tokens
    assert query_tokens(word + "*") == (frozenset({"p:" + word[:PREFIX_MAX]}),)


def test_tokens_for_a_multi_valued_element() -> None:
    element: dict[str, Any] = {"vr": "PN", "Value": [{"Alphabetic": "DOE"}, {"Alphabetic": "ROE"}]}
    assert {"p:doe", "p:roe"} <= tokens_for_element(element)
    assert tokens_for_element({"vr": "PN"}) == frozenset()
    assert tokens_for_element(None) == frozenset()


@pytest.mark.parametrize(
    ("pattern", "clauses"),
    [
        ("DOE^J*", [{"p:doe"}, {"p:j"}]),
        ("doe*", [{"p:doe"}]),
        ("*OHN*", [{"g:ohn"}]),  # infix: trigrams
        ("*OHNNY", [{"g:ohn"}, {"g:hnn"}, {"g:nny"}]),
        ("*x*", [{"g:x"}]),  # OHIF's one-letter search
        ("*jo", [{"g:jo"}]),
        ("*^jo*", [{"p:jo"}]),  # after a separator: a word start
        ("d?e^*", [{"p:d"}, {"g:e"}]),
        ("?", []),  # nothing to look up: scan
        ("*^*", []),
        ("山田^*", [{"p:山田"}]),
        ("Yamada*=山*", [{"p:yamada"}, {"p:山"}]),
    ],
)
def test_query_tokens_literal(pattern: str, clauses: list[set[str]]) -> None:
    assert [set(clause) for clause in query_tokens(pattern)] == sorted(clauses, key=sorted)


def test_query_tokens_fuzzy_combine_the_three_ways() -> None:
    assert query_tokens("joh", fuzzy=True) == (frozenset({"p:joh", "fp:joh"}),)
    assert query_tokens("*ÖHN*", fuzzy=True) == (frozenset({"g:öhn", "fg:ohn", "fp:ohn"}),)
    assert query_tokens("?", fuzzy=True) == ()
    assert len(query_tokens("alpha beta gamma delta", fuzzy=True)) <= 27


def test_best_clause_prefers_long_tokens_and_word_prefixes() -> None:
    assert best_query_clause("DOE^JOHNNY*") == frozenset({"p:johnny"})
    assert best_query_clause("*ab*^c*") == frozenset({"g:ab"})  # length first
    assert best_query_clause("*ab*^cd*") == frozenset({"p:cd"})  # then word prefixes
    assert best_query_clause("*abc*") == frozenset({"g:abc"})
    assert best_query_clause("?") is None


# --- the property: no false negatives ------------------------------------------------------------

LETTERS = "abdeJOHNÖöéñçßαβγόΑΒΓиванИВАН山田太郎やまだたろうが"
word = st.text(alphabet=LETTERS, min_size=1, max_size=6)
component = st.tuples(st.lists(word, min_size=1, max_size=2), st.sampled_from([" ", "-"])).map(
    lambda parts: parts[1].join(parts[0])
)
group = st.lists(component, min_size=1, max_size=3).map("^".join)
person_name = st.fixed_dictionaries({"Alphabetic": group}, optional={"Ideographic": group, "Phonetic": group})


@st.composite
def derived_pattern(draw: st.DrawFn, source: str) -> tuple[str, bool]:
    """A wildcard pattern made from ``source``; True if literal matching must accept it."""
    out: list[str] = []
    exact = True
    for ch in source:
        op = draw(st.sampled_from(["keep"] * 6 + ["upper", "lower", "?", "*"]))
        if op == "keep":
            out.append(ch)
        elif op == "upper":
            out.append(ch.upper())
        elif op == "lower":
            out.append(ch.lower())
        else:
            out.append(op)
            exact &= op == "*" or len(ch.casefold()) == 1  # "?" is one folded character
        if draw(st.integers(0, 7)) == 0:
            out.append("*")
    return "".join(out), exact


def pn_record(value: object) -> dict[str, Any]:
    return {"00100010": {"vr": "PN", "Value": [value]}}


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not 0x300 <= ord(c) <= 0x36F))


def parse_name(pattern: str, fuzzy: bool) -> PersonNameCondition | PersonNameFuzzyCondition | None:
    query = parse_search(SearchLevel.STUDY, {"PatientName": [pattern], "fuzzymatching": ["true" if fuzzy else "false"]})
    if not query.conditions:
        return None  # universal matching
    (condition,) = query.conditions
    assert isinstance(condition, PersonNameCondition | PersonNameFuzzyCondition)
    return condition


def assert_no_false_negatives(pattern: str, fuzzy: bool, names: list[dict[str, str]]) -> None:
    condition = parse_name(pattern, fuzzy)
    if condition is None:
        return
    is_fuzzy = isinstance(condition, PersonNameFuzzyCondition)
    text = condition.query if isinstance(condition, PersonNameFuzzyCondition) else condition.pattern
    clauses = query_tokens(text, fuzzy=is_fuzzy)
    best = best_query_clause(text, fuzzy=is_fuzzy)
    assert (best is None) == (not clauses)
    query = parse_search(SearchLevel.STUDY, {"PatientName": [pattern], "fuzzymatching": [str(fuzzy).lower()]})
    for name in names:
        if matches(query, pn_record(name)):
            tokens = pn_index_tokens(name)
            for clause in clauses:
                assert clause & tokens, (pattern, name, clause)


PROPERTY = settings(
    max_examples=300,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@PROPERTY
@given(st.data(), st.lists(person_name, min_size=1, max_size=4), st.booleans())
def test_patterns_derived_from_names_find_them_through_the_index(
    data: st.DataObject, names: list[dict[str, str]], fuzzy: bool
) -> None:
    source = data.draw(st.sampled_from(names))
    source_group = data.draw(st.sampled_from([g for g in pn_groups(source) if g]))
    pattern, exact = data.draw(derived_pattern(source_group))
    assume(pattern.strip() and pattern.count("^") <= 4)
    if exact:  # the pattern was made from the name, so the name matches (both modes)
        assert matches(parse_search(SearchLevel.STUDY, {"PatientName": [pattern]}), pn_record(source))
        fuzzy_query = parse_search(SearchLevel.STUDY, {"PatientName": [pattern], "fuzzymatching": ["true"]})
        assert matches(fuzzy_query, pn_record(source))
    assert_no_false_negatives(pattern, fuzzy, names)


@PROPERTY
@given(
    st.text(alphabet=LETTERS[:12] + "*?^ -", min_size=1, max_size=10),
    st.lists(person_name, min_size=1, max_size=5),
    st.booleans(),
)
def test_arbitrary_patterns_never_lose_a_match(pattern: str, names: list[dict[str, str]], fuzzy: bool) -> None:
    assume(pattern.strip() and pattern.count("^") <= 4)
    assert_no_false_negatives(pattern, fuzzy, names)


@PROPERTY
@given(st.data(), person_name)
def test_fuzzy_word_prefixes_in_any_order_and_without_accents(data: st.DataObject, name: dict[str, str]) -> None:
    source_group = data.draw(st.sampled_from([g for g in pn_groups(name) if g]))
    raw_words = [w for part in source_group.replace("-", " ").replace("^", " ").split(" ") for w in part.split()]
    chosen = data.draw(st.lists(st.sampled_from(raw_words), min_size=1, max_size=3))
    query_words = []
    for raw in chosen:
        prefix = raw[: data.draw(st.integers(1, len(raw)))]
        if data.draw(st.booleans()):
            prefix = strip_accents(prefix)
        query_words.append(prefix.upper() if data.draw(st.booleans()) else prefix)
    query_text = " ".join(data.draw(st.permutations(query_words)))
    query = parse_search(SearchLevel.STUDY, {"PatientName": [query_text], "fuzzymatching": ["true"]})
    assert matches(query, pn_record(name)), (query_text, name)
    assert_no_false_negatives(query_text, True, [name])


@PROPERTY
@given(st.text(alphabet=LETTERS[:12] + "*?^ ", min_size=1, max_size=8), person_name)
def test_fuzzy_finds_everything_literal_matching_finds(pattern: str, name: dict[str, str]) -> None:
    assume(pattern.strip() and pattern.count("^") <= 4)
    literal = parse_search(SearchLevel.STUDY, {"PatientName": [pattern]})
    fuzzy = parse_search(SearchLevel.STUDY, {"PatientName": [pattern], "fuzzymatching": ["true"]})
    if matches(literal, pn_record(name)):
        assert matches(fuzzy, pn_record(name))
