# Composite indexes of Firestore. Production refuses a query whose composite index is
# missing (the emulator does not), so every query shape the code issues
# (beamit.storage.firestore.index_shape) must be covered by an entry here; tests check it
# through tests/infra/indexes.py:declared_indexes().
#
# One entry per index: key => { collection (collection id), fields = [[field, mode], ...] }
# with mode ASCENDING, DESCENDING or CONTAINS (array-contains), in index order: equality
# fields first, then the range/order-by fields. Firestore appends __name__ itself.
# Optional: scope = "COLLECTION_GROUP" (default "COLLECTION").
# Single-field queries need no entry (Firestore indexes every field automatically).

locals {
  firestore_indexes = {
    # GET /v1/api-keys: a tenant's keys, newest first (beamit.auth.api_keys.list_keys).
    "api_keys-tenantId-createdAt" = {
      collection = "api_keys"
      fields     = [["tenantId", "ASCENDING"], ["createdAt", "DESCENDING"]]
    }
    # GET /v1/webhooks/{id}/deliveries?status=...: one endpoint's deliveries in one status,
    # newest first (beamit.webhooks.deliveries.list_deliveries).
    "deliveries-status-createdAt" = {
      collection = "deliveries"
      fields     = [["status", "ASCENDING"], ["createdAt", "DESCENDING"]]
    }
    # GET /v1/auth/clients: a tenant's OAuth clients, newest first (beamit.auth.oauth.clients).
    "oauth_clients-tenantId-createdAt" = {
      collection = "oauth_clients"
      fields     = [["tenantId", "ASCENDING"], ["createdAt", "DESCENDING"]]
    }
    # GET /v1/auth/users/{id}/grants: a user's grants not revoked, newest first
    # (beamit.auth.oauth.grants.live_grants_query; revoking them is equalities only).
    "oauth_grants-tenantId-userId-revokedAt-createdAt" = {
      collection = "oauth_grants"
      fields     = [["tenantId", "ASCENDING"], ["userId", "ASCENDING"], ["revokedAt", "ASCENDING"], ["createdAt", "DESCENDING"]]
    }
    # GET /v1/shares?status=...&studyId=...: a tenant's shares, newest first (beamit.shares.service.list_shares).
    "shares-status-createdAt" = {
      collection = "shares"
      fields     = [["status", "ASCENDING"], ["createdAt", "DESCENDING"]]
    }
    "shares-studies-createdAt" = {
      collection = "shares"
      fields     = [["studies", "CONTAINS"], ["createdAt", "DESCENDING"]]
    }
    "shares-status-studies-createdAt" = {
      collection = "shares"
      fields     = [["status", "ASCENDING"], ["studies", "CONTAINS"], ["createdAt", "DESCENDING"]]
    }
    # share-expiry: active share codes whose expiry passed (beamit.shares.expiry.expire_due_shares).
    "share_codes-state-expiresAt" = {
      collection = "share_codes"
      fields     = [["state", "ASCENDING"], ["expiresAt", "ASCENDING"]]
    }
    # event-sweep: every tenant's outbox events still unpublished, oldest first
    # (beamit.events.outbox.unpublished_query).
    "outbox-pending-createdAt" = {
      collection = "outbox"
      scope      = "COLLECTION_GROUP"
      fields     = [["pending", "ASCENDING"], ["createdAt", "ASCENDING"]]
    }
    # event-sweep: every tenant's published events no delivery function confirmed, oldest first
    # (beamit.events.outbox.unconfirmed_query).
    "outbox-fannedOut-publishedAt" = {
      collection = "outbox"
      scope      = "COLLECTION_GROUP"
      fields     = [["fannedOut", "ASCENDING"], ["publishedAt", "ASCENDING"]]
    }
    # event-sweep: every tenant's studies with an unannounced arrival, quiet longest first
    # (beamit.catalog.arrivals.pending_query).
    "studies-announcePending-lastArrivalAt" = {
      collection = "studies"
      scope      = "COLLECTION_GROUP"
      fields     = [["announcePending", "ASCENDING"], ["lastArrivalAt", "ASCENDING"]]
    }
    # GET /v1/audit (and /export): filters by principal and/or study, newest first; time
    # ranges are range filters on sortKey itself (beamit.audit.search.search_query).
    "audit_events-principal-sortKey" = {
      collection = "audit_events"
      fields     = [["principal", "ASCENDING"], ["sortKey", "DESCENDING"]]
    }
    "audit_events-studies-sortKey" = {
      collection = "audit_events"
      fields     = [["resources.studies", "CONTAINS"], ["sortKey", "DESCENDING"]]
    }
    "audit_events-principal-studies-sortKey" = {
      collection = "audit_events"
      fields     = [["principal", "ASCENDING"], ["resources.studies", "CONTAINS"], ["sortKey", "DESCENDING"]]
    }
    # ... and by action (method and route template), alone or with the filters above.
    "audit_events-action-sortKey" = {
      collection = "audit_events"
      fields     = [["action", "ASCENDING"], ["sortKey", "DESCENDING"]]
    }
    "audit_events-action-principal-sortKey" = {
      collection = "audit_events"
      fields     = [["action", "ASCENDING"], ["principal", "ASCENDING"], ["sortKey", "DESCENDING"]]
    }
    "audit_events-action-studies-sortKey" = {
      collection = "audit_events"
      fields     = [["action", "ASCENDING"], ["resources.studies", "CONTAINS"], ["sortKey", "DESCENDING"]]
    }
    "audit_events-action-principal-studies-sortKey" = {
      collection = "audit_events"
      fields = [
        ["action", "ASCENDING"], ["principal", "ASCENDING"], ["resources.studies", "CONTAINS"],
        ["sortKey", "DESCENDING"],
      ]
    }
    # GET /v1/audit/verify: one hash chain in order (beamit.audit.chain.chain_query).
    "audit_events-chain-seq" = {
      collection = "audit_events"
      fields     = [["chain", "ASCENDING"], ["seq", "ASCENDING"]]
    }
    # QIDO-RS searches (beamit.dicomweb.qido.firestore_search) are equalities ordered by
    # document name: Firestore serves them by merging single-field indexes, with no entry here
    # (tests/unit/qido/test_firestore_search.py holds every search plan to that).
  }
}

resource "google_firestore_index" "composite" {
  for_each = local.firestore_indexes

  project     = var.project_id
  database    = google_firestore_database.main.name
  collection  = each.value.collection
  query_scope = try(each.value.scope, "COLLECTION")

  dynamic "fields" {
    for_each = each.value.fields
    content {
      field_path   = fields.value[0]
      order        = fields.value[1] == "CONTAINS" ? null : fields.value[1]
      array_config = fields.value[1] == "CONTAINS" ? "CONTAINS" : null
    }
  }
}
