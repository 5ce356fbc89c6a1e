# Single-field index settings of the catalog collections. Firestore indexes every field of a
# document by default, each array also as one ascending and one descending value; the
# catalog's documents are what ingest writes hundreds of per second, so they keep only the
# indexes the code's queries use (beamit.dicomweb.qido.index, beamit.dicomweb.wado.instances):
#
# - `dicom` (the DICOM JSON a search result is built from) and `pixel` (frame offsets) are
#   read, never queried: not indexed at all, which also keeps long values within Firestore's
#   index entry size limit;
# - `q.keys` and `q.words` (hundreds of index terms) are only looked up with array-contains:
#   no ascending/descending index of the whole array (an index entry of several KiB).
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

  firestore_contains_only_fields = {
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

resource "google_firestore_field" "contains_only" {
  for_each = local.firestore_contains_only_fields

  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = each.value.collection
  field      = each.value.field

  index_config {
    indexes {
      array_config = "CONTAINS"
    }
  }
}
