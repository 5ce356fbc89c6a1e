# Single-field index settings of the catalog collections. Firestore indexes every field of a
# document by default (map subfields included), each ascending and descending; the catalog's
# documents are what ingest writes hundreds of per second, so they keep only the indexes the
# code's queries use (beamit.dicomweb.qido.firestore_search, beamit.dicomweb.wado.instances):
#
# - `dicom` (the DICOM JSON a search result is built from) and `pixel` (frame offsets) are
#   read, never queried: not indexed at all, which also keeps long values within Firestore's
#   index entry size limit;
# - `q.keys` and `q.words` are maps of hundreds of index terms, each looked up by equality
#   (`q.words.`PatientName:p:doe` == true`) and merged with the other equality filters in
#   document name order: one ascending index per term is all a search needs.
#
# Composite indexes (firestore_indexes.tf) are not affected by these settings.

locals {
  # Literal entries, so tests/infra can hold them against the queries the code makes.
  firestore_unindexed_fields = {
    "studies-dicom"   = { collection = "studies", field = "dicom" }
    "series-dicom"    = { collection = "series", field = "dicom" }
    "instances-dicom" = { collection = "instances", field = "dicom" }
    "instances-pixel" = { collection = "instances", field = "pixel" }
  }

  firestore_ascending_only_fields = {
    "studies-q.keys"    = { collection = "studies", field = "q.keys" }
    "studies-q.words"   = { collection = "studies", field = "q.words" }
    "series-q.keys"     = { collection = "series", field = "q.keys" }
    "series-q.words"    = { collection = "series", field = "q.words" }
    "instances-q.keys"  = { collection = "instances", field = "q.keys" }
    "instances-q.words" = { collection = "instances", field = "q.words" }
  }
}

resource "google_firestore_field" "unindexed" {
  for_each = local.firestore_unindexed_fields

  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = each.value.collection
  field      = each.value.field

  index_config {}
}

resource "google_firestore_field" "ascending_only" {
  for_each = local.firestore_ascending_only_fields

  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = each.value.collection
  field      = each.value.field

  index_config {
    indexes {
      order = "ASCENDING"
    }
  }
}
