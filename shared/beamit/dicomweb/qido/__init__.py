"""QIDO-RS search (PS3.18 §10.6): query parameters -> typed query -> store translator.

* :mod:`.attributes` - search levels, matching keys, default return attributes;
* :mod:`.index` - the index terms a catalog keeps so that conditions are looked up by equality;
* :mod:`.query` - :func:`parse_search` and :class:`SearchQuery` (never touches a store);
* :mod:`.conditions` - the condition types (PS3.4 C.2.2.2);
* :mod:`.reference` - the brute-force reference search over DICOM JSON records, the oracle
  store-backed searches are tested against;
* :mod:`.person_name` - PN normalisation and the index tokens for PN wildcard queries;
* :mod:`.temporal` - DA/TM/DT parsing.

The store translator is :mod:`beamit.catalog.search`.
"""

from beamit.dicomweb.qido.attributes import SearchLevel
from beamit.dicomweb.qido.errors import QueryError
from beamit.dicomweb.qido.query import SearchQuery, parse_search

__all__ = ["QueryError", "SearchLevel", "SearchQuery", "parse_search"]
