# Audit trail. Two sources go to one retention-locked, CMEK bucket:
#  1. Cloud Audit Logs of the project (Admin Activity, System Event, Policy Denied and the
#     Data Access logs enabled below): who touched which resource through a Google API.
#  2. The application's own audit entries: structured logs of the Cloud Run services with
#     `"audit": true` in their JSON payload (beamit.logs), e.g. each PHI access by a tenant.
# A GCS sink keeps them out of the _Default log bucket's 30-day window and under a retention
# policy nobody (including project owners) can shorten once locked.

resource "google_project_iam_audit_config" "all" {
  project = var.project_id
  service = "allServices"

  audit_log_config {
    log_type = "ADMIN_READ"
  }
  audit_log_config {
    log_type = "DATA_READ"
  }
  audit_log_config {
    log_type = "DATA_WRITE"
  }
}

resource "google_storage_bucket" "audit_logs" {
  #checkov:skip=CKV_GCP_78:Cloud Storage does not allow object versioning on a bucket with a retention policy; the (lockable) retention policy protects every object instead.
  name                        = "${local.resource_prefix}-audit-logs"
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  encryption {
    default_kms_key_name = local.kms_key_ids[local.storage_kms_key]
  }

  retention_policy {
    retention_period = var.audit_log_retention_days * 86400
    is_locked        = var.lock_audit_log_retention
  }

  soft_delete_policy {
    retention_duration_seconds = 90 * 86400
  }

  logging {
    log_bucket        = google_storage_bucket.access_logs.name
    log_object_prefix = "audit-logs/"
  }

  lifecycle_rule {
    condition {
      age        = var.audit_log_retention_days + 1
      with_state = "ANY"
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [time_sleep.cmek_grants]

  lifecycle {
    prevent_destroy = true
  }
}

resource "google_logging_project_sink" "audit" {
  #checkov:skip=CKV2_GCP_4:The retention lock is var.lock_audit_log_retention: true in production.tfvars, false in sandbox so that a sandbox can be torn down (a locked bucket can never be deleted before its retention ends).
  name                   = "${local.resource_prefix}-audit"
  description            = "Cloud Audit Logs and BeamIt application audit entries"
  destination            = "storage.googleapis.com/${google_storage_bucket.audit_logs.name}"
  unique_writer_identity = true

  filter = join(" OR ", [
    "logName:\"/logs/cloudaudit.googleapis.com\"",
    "(resource.type=\"cloud_run_revision\" AND jsonPayload.audit=true)",
  ])
}

resource "google_storage_bucket_iam_member" "audit_sink_writer" {
  bucket = google_storage_bucket.audit_logs.name
  role   = "roles/storage.objectCreator"
  member = google_logging_project_sink.audit.writer_identity
}
