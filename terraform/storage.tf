# Buckets: one per bucket role of platform.json (<prefix>-<role>, Settings.bucket(role)),
# plus the platform's own: access logs, audit logs (logging.tf), function source.
# All: CMEK default key, uniform bucket-level access, public access prevention enforced,
# object versioning, soft delete, usage logs to the access-log bucket.

locals {
  # Per-role data protection. A role missing here (a new bucket in the manifest) gets
  # the default: versioned, 30 days soft delete, noncurrent versions kept 90 days.
  bucket_protection_default = { soft_delete_days = 30, noncurrent_days = 90, live_ttl_days = 0, abort_uploads = false }
  bucket_protection = {
    # DICOM exactly as received: never lost. Overwrites/deletes stay as noncurrent
    # versions, then in soft delete for up to 90 more days.
    dicom = { soft_delete_days = var.dicom_soft_delete_days, noncurrent_days = var.dicom_noncurrent_days, live_ttl_days = 0, abort_uploads = false }
    # Uploads awaiting ingest: ingest consumes them; leftovers expire.
    inbox = { soft_delete_days = 7, noncurrent_days = 7, live_ttl_days = var.inbox_object_ttl_days, abort_uploads = true }
    # Files ingest refused, kept for the tenant to inspect.
    quarantine = { soft_delete_days = 30, noncurrent_days = 30, live_ttl_days = var.quarantine_ttl_days, abort_uploads = false }
    # Regenerable artifacts (metadata JSON, rendered frames): short protection.
    derived = { soft_delete_days = 7, noncurrent_days = 7, live_ttl_days = 0, abort_uploads = false }
  }
}

resource "google_storage_bucket" "data" {
  for_each = local.buckets

  name                        = local.bucket_names[each.key]
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  encryption {
    default_kms_key_name = local.kms_key_ids[each.value.kmsKey]
  }

  versioning {
    enabled = true
  }

  soft_delete_policy {
    retention_duration_seconds = lookup(local.bucket_protection, each.key, local.bucket_protection_default).soft_delete_days * 86400
  }

  logging {
    log_bucket        = google_storage_bucket.access_logs.name
    log_object_prefix = "${each.key}/"
  }

  lifecycle_rule {
    condition {
      with_state                 = "ARCHIVED"
      days_since_noncurrent_time = lookup(local.bucket_protection, each.key, local.bucket_protection_default).noncurrent_days
    }
    action {
      type = "Delete"
    }
  }

  dynamic "lifecycle_rule" {
    for_each = lookup(local.bucket_protection, each.key, local.bucket_protection_default).live_ttl_days > 0 ? [lookup(local.bucket_protection, each.key, local.bucket_protection_default).live_ttl_days] : []
    content {
      condition {
        age        = lifecycle_rule.value
        with_state = "LIVE"
      }
      action {
        type = "Delete"
      }
    }
  }

  dynamic "lifecycle_rule" {
    for_each = lookup(local.bucket_protection, each.key, local.bucket_protection_default).abort_uploads ? [1] : []
    content {
      condition {
        age = 1
      }
      action {
        type = "AbortIncompleteMultipartUpload"
      }
    }
  }

  depends_on = [time_sleep.cmek_grants]

  lifecycle {
    prevent_destroy = true
  }
}

# Usage (access) logs of every bucket. It cannot log to itself.
resource "google_storage_bucket" "access_logs" {
  #checkov:skip=CKV_GCP_62:This is the access-log bucket every other bucket logs to; logging it to itself would log its own log writes.
  name                        = "${local.resource_prefix}-access-logs"
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  encryption {
    default_kms_key_name = local.kms_key_ids[local.storage_kms_key]
  }

  versioning {
    enabled = true
  }

  soft_delete_policy {
    retention_duration_seconds = 30 * 86400
  }

  lifecycle_rule {
    condition {
      age        = var.audit_log_retention_days
      with_state = "LIVE"
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      with_state                 = "ARCHIVED"
      days_since_noncurrent_time = 7
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [time_sleep.cmek_grants]
}

# Cloud Storage writes usage logs as this Google group (documented for usage logs).
resource "google_storage_bucket_iam_member" "access_logs_writer" {
  bucket = google_storage_bucket.access_logs.name
  role   = "roles/storage.objectCreator"
  member = "group:cloud-storage-analytics@google.com"
}

# The function source archive (`make package`), uploaded under its MD5 so that a new
# archive is a new object and redeploys the functions.
locals {
  function_source_archive = coalesce(var.function_source_archive, "${path.module}/../build/functions.zip")
}

resource "google_storage_bucket" "function_source" {
  name                        = "${local.resource_prefix}-functions-source"
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  encryption {
    default_kms_key_name = local.kms_key_ids[local.storage_kms_key]
  }

  versioning {
    enabled = true
  }

  soft_delete_policy {
    retention_duration_seconds = 7 * 86400
  }

  logging {
    log_bucket        = google_storage_bucket.access_logs.name
    log_object_prefix = "functions-source/"
  }

  lifecycle_rule {
    condition {
      with_state                 = "ARCHIVED"
      days_since_noncurrent_time = 30
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [time_sleep.cmek_grants]
}

resource "google_storage_bucket_object" "function_source" {
  name         = "functions-${filemd5(local.function_source_archive)}.zip"
  bucket       = google_storage_bucket.function_source.name
  source       = local.function_source_archive
  content_type = "application/zip"
}
