# Single-field index settings of the catalog collections. Firestore indexes every field of a
# document by default (map subfields included), each ascending and descending; the catalog's
# documents are what ingest writes hundreds of per second, so they keep only the indexes the
# code's queries use (beamit.catalog.search, beamit.catalog.repository):
#
# - `dicom` (the DICOM JSON a search result is built from) and `pixel` (frame offsets) are
#   read, never queried: not indexed at all, which also keeps long values within Firestore's
#   index entry size limit;
# - the child UID lists (`seriesUIDs` of a study, `instances` of series_members, up to 5,000
#   UIDs) are read by id, never queried: not indexed (an array is indexed per element);
# - `q.keys` and `q.words` are maps of hundreds of index terms, each looked up by equality
#   (`q.words.`PatientName:p:doe` == true`) and merged with the other equality filters in
#   document name order: one ascending index per term is all a search needs;
# - `orthancStudyId` of a study (beamit.catalog.orthanc_ids) is looked up by equality alone
#   (`POST /v1/shares` naming a study by its Orthanc identifier): ascending only.
#
# Composite indexes (firestore_indexes.tf) are not affected by these settings.

locals {
  # Literal entries, so tests/infra can hold them against the queries the code makes:
  # field => the single-field index orders it keeps ([] = not indexed at all).
  firestore_field_indexes = {
    "studies-dicom"            = { collection = "studies", field = "dicom", orders = [] }
    "series-dicom"             = { collection = "series", field = "dicom", orders = [] }
    "instances-dicom"          = { collection = "instances", field = "dicom", orders = [] }
    "instances-pixel"          = { collection = "instances", field = "pixel", orders = [] }
    "studies-seriesUIDs"       = { collection = "studies", field = "seriesUIDs", orders = [] }
    "series_members-instances" = { collection = "series_members", field = "instances", orders = [] }
    "studies-q.keys"           = { collection = "studies", field = "q.keys", orders = ["ASCENDING"] }
    "studies-q.words"          = { collection = "studies", field = "q.words", orders = ["ASCENDING"] }
    "series-q.keys"            = { collection = "series", field = "q.keys", orders = ["ASCENDING"] }
    "series-q.words"           = { collection = "series", field = "q.words", orders = ["ASCENDING"] }
    "instances-q.keys"         = { collection = "instances", field = "q.keys", orders = ["ASCENDING"] }
    "instances-q.words"        = { collection = "instances", field = "q.words", orders = ["ASCENDING"] }
    "studies-orthancStudyId"   = { collection = "studies", field = "orthancStudyId", orders = ["ASCENDING"] }
    # Outbox events (beamit.events.outbox): their data is read, never queried.
    "outbox-data" = { collection = "outbox", field = "data", orders = [] }
  }
}

resource "google_firestore_field" "catalog" {
  for_each = local.firestore_field_indexes

  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = each.value.collection
  field      = each.value.field

  index_config {
    dynamic "indexes" {
      for_each = each.value.orders
      content {
        order = indexes.value
      }
    }
  }
}

# Documents that expire: Firestore deletes each some time after its timestamp (TTL policies,
# typically within a day). The throttles' per-window counters (beamit.auth.throttle) and the
# API-key budgets' leases (beamit.auth.key_budget) are written with `expiresAt`; published outbox
# events (beamit.events.outbox) get `expireAt` a week after publishing, pending ones none, so they
# never expire. The fields are never queried, so they are not indexed either.
locals {
  firestore_ttl_fields = {
    "login_throttle" = "expiresAt"
    "api_key_usage"  = "expiresAt"
    "outbox"         = "expireAt"
  }
}

resource "google_firestore_field" "ttl" {
  for_each = local.firestore_ttl_fields

  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = each.key
  field      = each.value

  ttl_config {}

  index_config {}
}
