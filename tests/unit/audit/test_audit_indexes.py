"""Every query of the audit trail and the OAuth stores has its composite index in Terraform."""

from __future__ import annotations

from datetime import UTC, datetime

from beamit.audit.chain import chain_query
from beamit.audit.search import AuditFilter, search_query
from beamit.auth.oauth.clients import list_clients_query
from beamit.auth.oauth.grants import live_grants_query
from beamit.storage.firestore import index_shape
from beamit.tenancy import TenantScope
from tests.infra.indexes import uncovered

ACME = TenantScope("acme")
MOMENT = datetime(2026, 1, 1, tzinfo=UTC)


def test_audit_and_client_queries_are_covered():
    shapes = [index_shape(chain_query(ACME, "chn_x", after=2)), index_shape(list_clients_query(ACME)),
              index_shape(live_grants_query(ACME, user_id="usr_x", newest_first=True)),
              index_shape(live_grants_query(ACME, user_id="usr_x")),
              index_shape(live_grants_query(ACME, client_id="cli_x"))]
    for study in (None, "1.2.3"):
        for principal in (None, "usr_x"):
            for action in (None, "POST /v1/shares"):
                for since, until in ((None, None), (MOMENT, None), (None, MOMENT), (MOMENT, MOMENT)):
                    query = search_query(ACME, AuditFilter(study, principal, since, until, action), 10, "cursor")
                    shapes.append(index_shape(query))
    assert uncovered(shapes) == []
