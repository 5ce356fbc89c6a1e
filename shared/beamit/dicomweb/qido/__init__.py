"""QIDO-RS search (PS3.18 §10.6): query parameters -> typed query -> store translator.

* :mod:`.attributes` - search levels, matching keys, default return attributes;
* :mod:`.query` - :func:`parse_search` and :class:`SearchQuery` (never touches a store);
* :mod:`.conditions` - the condition types (PS3.4 C.2.2.2);
* :mod:`.reference` - the brute-force reference search over DICOM JSON records, the oracle
  store-backed searches are tested against;
* :mod:`.person_name` - PN normalisation and the index tokens for PN wildcard queries;
* :mod:`.temporal` - DA/TM/DT parsing.
"""

from beamit.dicomweb.qido.attributes import AttributePath, MatchingKey, SearchLevel
from beamit.dicomweb.qido.conditions import (
    AnyOfCondition,
    CombinedDateTimeCondition,
    Condition,
    DateRangeCondition,
    DateTimeRangeCondition,
    PersonNameCondition,
    PersonNameFuzzyCondition,
    SingleValueCondition,
    TimeRangeCondition,
    UidListCondition,
    WildcardCondition,
)
from beamit.dicomweb.qido.errors import QueryError
from beamit.dicomweb.qido.query import (
    ALL,
    DEFAULT_LIMIT,
    MAX_LIMIT,
    IncludeAll,
    IncludeFields,
    SearchQuery,
    parse_search,
)

__all__ = [
    "ALL",
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "AnyOfCondition",
    "AttributePath",
    "CombinedDateTimeCondition",
    "Condition",
    "DateRangeCondition",
    "DateTimeRangeCondition",
    "IncludeAll",
    "IncludeFields",
    "MatchingKey",
    "PersonNameCondition",
    "PersonNameFuzzyCondition",
    "QueryError",
    "SearchLevel",
    "SearchQuery",
    "SingleValueCondition",
    "TimeRangeCondition",
    "UidListCondition",
    "WildcardCondition",
    "parse_search",
]
