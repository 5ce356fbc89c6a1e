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
