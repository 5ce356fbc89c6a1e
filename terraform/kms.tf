# Cloud KMS: one key ring, one key per purpose of platform.json's kmsKeys, and the service
# agents allowed to use each CMEK key (and nothing else).

resource "google_kms_key_ring" "beamit" {
  name     = var.kms_key_ring
  location = var.region

  depends_on = [time_sleep.apis]
}

# ENCRYPT_DECRYPT keys: CMEK for buckets/topics/Firestore, envelope encryption of app secrets.
resource "google_kms_crypto_key" "symmetric" {
  for_each = local.symmetric_kms_keys

  name            = each.key
  key_ring        = google_kms_key_ring.beamit.id
  purpose         = "ENCRYPT_DECRYPT"
  rotation_period = "7776000s" # 90 days

  version_template {
    algorithm        = "GOOGLE_SYMMETRIC_ENCRYPTION"
    protection_level = var.kms_protection_level
  }

  lifecycle {
    prevent_destroy = true
  }
}

# ASYMMETRIC_SIGN keys (token signing). Cloud KMS has no automatic rotation for asymmetric
# keys: a new version is created by hand and published in the JWKS before it signs.
resource "google_kms_crypto_key" "signing" {
  #checkov:skip=CKV_GCP_43:Cloud KMS cannot rotate asymmetric keys automatically (rotation_period is only valid for ENCRYPT_DECRYPT); signing keys are rotated by hand, see docs/deploy.md.
  for_each = local.signing_kms_keys

  name     = each.key
  key_ring = google_kms_key_ring.beamit.id
  purpose  = "ASYMMETRIC_SIGN"

  version_template {
    algorithm        = try(each.value.algorithm, "EC_SIGN_P256_SHA256")
    protection_level = var.kms_protection_level
  }

  lifecycle {
    prevent_destroy = true
  }
}

locals {
  kms_key_ids = merge(
    { for name, key in google_kms_crypto_key.symmetric : name => key.id },
    { for name, key in google_kms_crypto_key.signing : name => key.id },
  )
}

# --- service agents ------------------------------------------------------------------------

data "google_storage_project_service_account" "gcs" {
  project = var.project_id

  depends_on = [time_sleep.apis]
}

resource "google_project_service_identity" "agent" {
  provider = google-beta
  for_each = toset(["pubsub.googleapis.com", "firestore.googleapis.com", "eventarc.googleapis.com", "secretmanager.googleapis.com"])

  project = var.project_id
  service = each.value

  depends_on = [time_sleep.apis]
}

locals {
  storage_agent   = "serviceAccount:${data.google_storage_project_service_account.gcs.email_address}"
  pubsub_agent    = "serviceAccount:${google_project_service_identity.agent["pubsub.googleapis.com"].email}"
  firestore_agent = "serviceAccount:${google_project_service_identity.agent["firestore.googleapis.com"].email}"
  eventarc_agent  = "serviceAccount:${google_project_service_identity.agent["eventarc.googleapis.com"].email}"
  secrets_agent   = "serviceAccount:${google_project_service_identity.agent["secretmanager.googleapis.com"].email}"

  # Key of the platform's own buckets (access logs, audit logs, function source).
  storage_kms_key = "storage"
  # Key of the dead-letter topic and of Eventarc's Google channel (Pub/Sub transport).
  pubsub_kms_key = "pubsub"
  # Keys of the Firestore database and of Secret Manager replicas.
  firestore_kms_key = "firestore"
  secrets_kms_key   = "secrets"
  logging_agent     = "serviceAccount:${data.google_logging_project_cmek_settings.this.service_account_id}"

  # "<agent>/<key>" => grant of roles/cloudkms.cryptoKeyEncrypterDecrypter on that key only.
  kms_agent_grants = merge(
    { for key in distinct(concat([for role, b in local.buckets : b.kmsKey], [local.storage_kms_key])) : "storage/${key}" => { key = key, member = local.storage_agent } },
    { for key in distinct(concat([for role, t in local.topics : t.kmsKey], [local.pubsub_kms_key])) : "pubsub/${key}" => { key = key, member = local.pubsub_agent } },
    {
      "eventarc/${local.pubsub_kms_key}"     = { key = local.pubsub_kms_key, member = local.eventarc_agent }
      "firestore/${local.firestore_kms_key}" = { key = local.firestore_kms_key, member = local.firestore_agent }
      "secrets/${local.secrets_kms_key}"     = { key = local.secrets_kms_key, member = local.secrets_agent }
      "logging/${local.logs_kms_key}"        = { key = local.logs_kms_key, member = local.logging_agent }
    },
  )
}

resource "google_kms_crypto_key_iam_member" "service_agent" {
  for_each = local.kms_agent_grants

  crypto_key_id = local.kms_key_ids[each.value.key]
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = each.value.member
}

# IAM is eventually consistent: "Changes to allow or deny policies typically propagate in 2
# minutes, but could potentially take 7 minutes or longer" (IAM, Access change propagation).
# Creating a CMEK bucket, topic, database, secret or Eventarc channel checks that the service
# agent may use the key, so each of them waits here (on the first apply, and again when an
# agent grant is added).
resource "time_sleep" "cmek_grants" {
  create_duration = "120s"

  triggers = {
    for key, grant in google_kms_crypto_key_iam_member.service_agent : key => grant.member
  }
}

# Eventarc's Google channel (the transport of the GCS finalize trigger) encrypted with CMEK.
resource "google_eventarc_google_channel_config" "cmek" {
  name            = "projects/${var.project_id}/locations/${var.region}/googleChannelConfig"
  location        = var.region
  crypto_key_name = local.kms_key_ids[local.pubsub_kms_key]

  depends_on = [time_sleep.cmek_grants]
}
