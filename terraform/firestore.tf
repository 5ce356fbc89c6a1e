# The Firestore database: native mode, CMEK (the manifest's firestore key), point-in-time
# recovery, delete protection, daily and weekly backups. Composite indexes: firestore_indexes.tf.
#
# CMEK can only be chosen when a database is created: if the project already has a
# "(default)" database (created by hand or by App Engine), this resource cannot adopt it
# with CMEK. See docs/deploy.md (Caveats: "Firestore and CMEK").

resource "google_firestore_database" "main" {
  project     = var.project_id
  name        = "(default)"
  location_id = var.region # a regional location, so the regional CMEK key can encrypt it
  type        = "FIRESTORE_NATIVE"

  app_engine_integration_mode       = "DISABLED"
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  delete_protection_state           = "DELETE_PROTECTION_ENABLED"
  deletion_policy                   = "ABANDON"

  cmek_config {
    kms_key_name = local.kms_key_ids[local.firestore_kms_key]
  }

  depends_on = [
    time_sleep.apis,
    time_sleep.cmek_grants,
  ]

  lifecycle {
    prevent_destroy = true
  }
}

# Backups beside 7-day PITR: daily ones kept 7 days and weekly ones kept 14 weeks, the
# longest each recurrence allows (google_firestore_backup_schedule: "For a daily backup
# recurrence, set this to a value up to 7 days. If you set a weekly backup recurrence, set
# this to a value up to 14 weeks."). A database takes at most one schedule of each.
resource "google_firestore_backup_schedule" "daily" {
  project   = var.project_id
  database  = google_firestore_database.main.name
  retention = "604800s" # 7 days

  daily_recurrence {}
}

resource "google_firestore_backup_schedule" "weekly" {
  project   = var.project_id
  database  = google_firestore_database.main.name
  retention = "8467200s" # 14 weeks

  weekly_recurrence {
    day = "SUNDAY"
  }
}
