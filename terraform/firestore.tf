# The Firestore database: native mode, CMEK (the manifest's firestore key), point-in-time
# recovery, delete protection, daily backups. Composite indexes: firestore_indexes.tf.
#
# CMEK can only be chosen when a database is created: if the project already has a
# "(default)" database (created by hand or by App Engine), this resource cannot adopt it
# with CMEK. See docs/deploy.md ("Firestore and CMEK ordering").

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
    google_project_service.enabled,
    google_kms_crypto_key_iam_member.service_agent,
  ]

  lifecycle {
    prevent_destroy = true
  }
}

# Daily backups kept 14 weeks (the longest Firestore allows), beside 7-day PITR.
resource "google_firestore_backup_schedule" "daily" {
  project   = var.project_id
  database  = google_firestore_database.main.name
  retention = "8467200s" # 98 days

  daily_recurrence {}
}
