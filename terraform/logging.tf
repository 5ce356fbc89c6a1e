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

# --- request logs ------------------------------------------------------------------------------
# The load balancer (log_config, sample rate 1.0: every request) and Cloud Run record each
# request's full URL, query string included: QIDO-RS filters (patient names, birth dates) and
# share codes (/s/BM-...). The application's own logs carry route templates only (beamit.logs).
# These entries are routed to a log bucket of their own, encrypted with the `logs` CMEK key,
# kept var.request_log_retention_days, and readable only through its _AllLogs view by
# var.request_log_readers; and they are excluded from _Default, which every project log viewer
# reads. tests/infra (check_request_logs) holds the filter, the exclusion and the key.

locals {
  request_log_filter = join(" OR ", [
    "resource.type=\"http_load_balancer\"",
    "(resource.type=\"cloud_run_revision\" AND log_id(\"run.googleapis.com/requests\"))",
  ])
  logs_kms_key = "logs"
}

data "google_logging_project_cmek_settings" "this" {
  project = var.project_id

  depends_on = [time_sleep.apis]
}

resource "google_logging_project_bucket_config" "requests" {
  project        = var.project_id
  location       = var.region
  bucket_id      = "${local.resource_prefix}-requests"
  description    = "Load balancer and Cloud Run request logs: full URLs (PHI in query strings). Restricted."
  retention_days = var.request_log_retention_days

  cmek_settings {
    kms_key_name = local.kms_key_ids[local.logs_kms_key]
  }

  depends_on = [time_sleep.cmek_grants]
}

resource "google_logging_project_sink" "requests" {
  name                   = "${local.resource_prefix}-requests"
  description            = "Request logs (full URLs) to their restricted, CMEK-encrypted log bucket"
  destination            = "logging.googleapis.com/${google_logging_project_bucket_config.requests.id}"
  filter                 = local.request_log_filter
  unique_writer_identity = true
}

resource "google_logging_project_exclusion" "requests" {
  name        = "${local.resource_prefix}-requests"
  description = "Request logs (full URLs, PHI in query strings) are kept only in the restricted request log bucket"
  filter      = local.request_log_filter

  depends_on = [google_logging_project_sink.requests]
}

resource "google_logging_log_view_iam_member" "request_log_readers" {
  for_each = toset(var.request_log_readers)

  parent   = "projects/${var.project_id}"
  location = google_logging_project_bucket_config.requests.location
  bucket   = google_logging_project_bucket_config.requests.bucket_id
  name     = "_AllLogs"
  role     = "roles/logging.viewAccessor"
  member   = each.value
}
