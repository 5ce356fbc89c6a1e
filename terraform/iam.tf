# Identity and access. Each function runs as its own service account (functions.tf) with
# exactly the grants listed for it in local.function_roles, each on one resource.

# Custom roles where no predefined role is narrow enough.
locals {
  custom_roles = {
    # bucket_exists() of the health check: bucket metadata only, no object names or data.
    beamitBucketMetadataReader = {
      title       = "BeamIt bucket metadata reader"
      description = "Read a bucket's metadata (health checks); no object listing or reads."
      permissions = ["storage.buckets.get"]
    }
  }
  # Names to use in local.function_roles (known at plan time).
  custom_role = { for id, _ in local.custom_roles : id => "projects/${var.project_id}/roles/${id}" }
}

resource "google_project_iam_custom_role" "role" {
  for_each = local.custom_roles

  project     = var.project_id
  role_id     = each.key
  title       = each.value.title
  description = each.value.description
  permissions = each.value.permissions

  depends_on = [time_sleep.apis]
}

# ============================================================================================
# Per-function least-privilege grants: function name => list of { role, on }.
#
# EVERY function of shared/beamit/platform.json has exactly one entry (an empty list is an
# explicit "no access"); tests/infra/test_terraform.py and terraform_data.manifest_checks
# fail otherwise. `on` names the one resource the role is granted on:
#   "project"           project level: only for Firestore (roles/datastore.*), whose IAM
#                       has no finer resource
#   "bucket:<role>"     a bucket of platform.json           (storage roles)
#   "topic:<role>"      a topic of platform.json            (roles/pubsub.publisher, ...)
#   "kms:<key>"         a Cloud KMS key of platform.json    (roles/cloudkms.cryptoKeyEncrypterDecrypter, ...)
#   "secret:<id>"       a secret of secrets.tf (roles/secretmanager.secretAccessor also
#                       exposes it as the environment variable BEAMIT_<ID>, e.g. BEAMIT_SHARE_CODE_KEY)
# Custom roles: local.custom_role.<id>.
#
# Examples for functions to come:
#   "ingest" = [
#     { role = "roles/datastore.user", on = "project" },
#     { role = "roles/storage.objectUser", on = "bucket:inbox" },
#     { role = "roles/storage.objectCreator", on = "bucket:quarantine" },
#     { role = "roles/storage.objectUser", on = "bucket:dicom" },
#     { role = "roles/storage.objectUser", on = "bucket:derived" },
#     { role = "roles/pubsub.publisher", on = "topic:events" },
#   ]
#   "shares" = [
#     { role = "roles/datastore.user", on = "project" },
#     { role = "roles/secretmanager.secretAccessor", on = "secret:share-code-key" },
#     { role = "roles/pubsub.publisher", on = "topic:events" },
#   ]
#   "webhooks" = [
#     { role = "roles/datastore.user", on = "project" },
#     { role = "roles/cloudkms.cryptoKeyEncrypterDecrypter", on = "kms:secrets" },
#   ]
# ============================================================================================
locals {
  function_roles = {
    # /v1/health (dependency checks), the OpenAPI document and the conformance statement page.
    "platform" = [
      { role = "roles/datastore.viewer", on = "project" },                          # Firestore ping (one document read)
      { role = local.custom_role.beamitBucketMetadataReader, on = "bucket:dicom" }, # bucket_exists(dicom)
      { role = "roles/pubsub.viewer", on = "topic:events" },                        # topic_exists(events)
      { role = "roles/cloudkms.viewer", on = "kms:secrets" },                       # get_crypto_key(secrets): metadata only
    ]
    # /v1/api-keys: create, list and revoke a tenant's keys (SHA-256 hashes in Firestore).
    "api-keys" = [
      { role = "roles/datastore.user", on = "project" },
    ]
    # /v1/auth: OAuth clients, users, codes, grants and tokens (hashed) in Firestore; audit records.
    "auth" = [
      { role = "roles/datastore.user", on = "project" },
    ]
    # /v1/audit: reads the trail and its chain heads; writes the audit record of each call.
    "audit" = [
      { role = "roles/datastore.user", on = "project" },
    ]
    # /v1/dicomweb: STOW-RS ingest (instances, catalog, audit), QIDO-RS, WADO-RS, and DELETE
    # (objects and derived data: objectUser includes delete; records and share revocation: datastore.user).
    "dicomweb" = [
      { role = "roles/datastore.user", on = "project" },
      { role = "roles/storage.objectUser", on = "bucket:dicom" },   # store if absent, stat, read, clean up a failed write
      { role = "roles/storage.objectUser", on = "bucket:derived" }, # series metadata JSON, frame offsets: write, list, read
      { role = "roles/pubsub.publisher", on = "topic:events" },     # domain events (study.received, ...)
    ]
    # /v1/uploads: upload records, resumable upload sessions into the inbox.
    "uploads" = [
      { role = "roles/datastore.user", on = "project" },
      { role = "roles/storage.objectCreator", on = "bucket:inbox" }, # create resumable upload sessions
    ]
    # GCS finalize on the inbox: the same ingest core as STOW-RS; refused files to quarantine.
    "ingest" = [
      { role = "roles/datastore.user", on = "project" },
      { role = "roles/storage.objectUser", on = "bucket:inbox" },      # read the upload, delete it once ingested
      { role = "roles/storage.objectUser", on = "bucket:quarantine" }, # retries rewrite the same quarantine names
      { role = "roles/storage.objectUser", on = "bucket:dicom" },
      { role = "roles/storage.objectUser", on = "bucket:derived" },
      { role = "roles/pubsub.publisher", on = "topic:events" },
    ]
    # /v1/webhooks: endpoints and delivery logs; encrypts new signing secrets, decrypts them to redeliver.
    "webhooks" = [
      { role = "roles/datastore.user", on = "project" },
      { role = "roles/cloudkms.cryptoKeyEncrypterDecrypter", on = "kms:secrets" },
    ]
    # Pub/Sub push of the events topic: delivery records; decrypts signing secrets to sign deliveries.
    "webhook-delivery" = [
      { role = "roles/datastore.user", on = "project" },
      { role = "roles/cloudkms.cryptoKeyDecrypter", on = "kms:secrets" },
    ]
    # Pub/Sub push of the events topic (study.received only): reads the catalog and frames, lists
    # and writes renderings and thumbnails in derived (objectCreator: it never overwrites or deletes).
    "prerender" = [
      { role = "roles/datastore.viewer", on = "project" },
      { role = "roles/storage.objectViewer", on = "bucket:dicom" },
      { role = "roles/storage.objectViewer", on = "bucket:derived" },
      { role = "roles/storage.objectCreator", on = "bucket:derived" },
    ]
    # Scheduled every minute: due retries (the webhook_retries queue and delivery records); signs them.
    "webhook-retry" = [
      { role = "roles/datastore.user", on = "project" },
      { role = "roles/cloudkms.cryptoKeyDecrypter", on = "kms:secrets" },
    ]
    # Scheduled every minute: the outbox's unpublished events (all tenants), settled study arrivals
    # (catalog study records) announced as study.received; publishes them.
    "event-sweep" = [
      { role = "roles/datastore.user", on = "project" },
      { role = "roles/pubsub.publisher", on = "topic:events" },
    ]
    # /v1/shares: shares, code directory (HMAC digests), idempotency records (responses KMS-encrypted),
    # SMS outbox/Twilio, study.shared events.
    "shares" = [
      { role = "roles/datastore.user", on = "project" },
      { role = "roles/secretmanager.secretAccessor", on = "secret:share-code-key" },
      { role = "roles/secretmanager.secretAccessor", on = "secret:twilio-auth-token" },
      { role = "roles/cloudkms.cryptoKeyEncrypterDecrypter", on = "kms:secrets" },
      { role = "roles/pubsub.publisher", on = "topic:events" },
    ]
    # /s: the patient viewer: code lookup, verification codes (SMS), sessions, share-scoped WADO-RS reads,
    # thumbnails cached in derived, share.accessed events.
    "viewer" = [
      { role = "roles/datastore.user", on = "project" },
      { role = "roles/secretmanager.secretAccessor", on = "secret:share-code-key" },
      { role = "roles/secretmanager.secretAccessor", on = "secret:twilio-auth-token" },
      { role = "roles/storage.objectViewer", on = "bucket:dicom" },
      { role = "roles/storage.objectUser", on = "bucket:derived" },
      { role = "roles/pubsub.publisher", on = "topic:events" },
    ]
    # Scheduled every 5 minutes: expires due shares (share_codes directory, shares) and publishes share.expired.
    "share-expiry" = [
      { role = "roles/datastore.user", on = "project" },
      { role = "roles/pubsub.publisher", on = "topic:events" },
    ]
    # Scheduled hourly: lists the dicom and derived buckets, reads the catalog, deletes leftovers of
    # abandoned requests, appends audit records.
    "consistency-sweep" = [
      { role = "roles/datastore.user", on = "project" },
      { role = "roles/storage.objectUser", on = "bucket:dicom" },
      { role = "roles/storage.objectUser", on = "bucket:derived" },
    ]
    # /dashboard: static files, and the workspace lookup (a tenant document and its dashboard OAuth client).
    # Everything else the page does is a call to the API with the signed-in user's token.
    "dashboard" = [
      { role = "roles/datastore.viewer", on = "project" },
    ]
    # /v1/sandbox (BEAMIT_ENV local and sandbox only; 404 in production): synthetic studies through the
    # ingest core (catalog, DICOM and derived objects, study.received); reset deletes a tenant's studies
    # (records and objects) and shares.
    "sandbox" = [
      { role = "roles/datastore.user", on = "project" },
      { role = "roles/storage.objectUser", on = "bucket:dicom" },   # store, list and delete the tenant's objects
      { role = "roles/storage.objectUser", on = "bucket:derived" }, # series metadata JSON: write, list, delete
      { role = "roles/pubsub.publisher", on = "topic:events" },     # study.received
    ]
  }

  # Roles that may be granted at project level (Firestore has no finer IAM resource).
  project_level_function_roles = ["roles/datastore.user", "roles/datastore.viewer"]

  grant_kinds = ["project", "bucket", "topic", "kms", "secret"]

  function_grants = flatten([
    for fn, grants in local.function_roles : [
      for grant in grants : {
        key      = "${fn}|${grant.on}|${grant.role}"
        function = fn
        role     = grant.role
        kind     = split(":", grant.on)[0]
        target   = length(split(":", grant.on)) > 1 ? split(":", grant.on)[1] : ""
      }
    ]
  ])

  grants_by_kind = {
    for kind in local.grant_kinds : kind => { for g in local.function_grants : g.key => g if g.kind == kind }
  }
}

resource "google_project_iam_member" "function" {
  for_each = local.grants_by_kind["project"]

  project = var.project_id
  role    = each.value.role
  member  = "serviceAccount:${google_service_account.function[each.value.function].email}"
}

resource "google_storage_bucket_iam_member" "function" {
  for_each = local.grants_by_kind["bucket"]

  bucket = google_storage_bucket.data[each.value.target].name
  role   = each.value.role
  member = "serviceAccount:${google_service_account.function[each.value.function].email}"

  depends_on = [google_project_iam_custom_role.role]
}

resource "google_pubsub_topic_iam_member" "function" {
  for_each = local.grants_by_kind["topic"]

  topic  = google_pubsub_topic.topic[each.value.target].id
  role   = each.value.role
  member = "serviceAccount:${google_service_account.function[each.value.function].email}"

  depends_on = [google_project_iam_custom_role.role]
}

resource "google_kms_crypto_key_iam_member" "function" {
  for_each = local.grants_by_kind["kms"]

  crypto_key_id = local.kms_key_ids[each.value.target]
  role          = each.value.role
  member        = "serviceAccount:${google_service_account.function[each.value.function].email}"

  depends_on = [google_project_iam_custom_role.role]
}

resource "google_secret_manager_secret_iam_member" "function" {
  for_each = local.grants_by_kind["secret"]

  secret_id = google_secret_manager_secret.secret[each.value.target].id
  role      = each.value.role
  member    = "serviceAccount:${google_service_account.function[each.value.function].email}"

  depends_on = [google_project_iam_custom_role.role]
}

# Plan-time guard: the manifest and the grants agree, and every grant is well-formed.
resource "terraform_data" "manifest_checks" {
  input = sort(keys(local.functions))

  lifecycle {
    precondition {
      condition     = length(setsubtract(keys(local.functions), keys(local.function_roles))) == 0
      error_message = "Functions of platform.json without an entry in local.function_roles (terraform/iam.tf): ${join(", ", setsubtract(keys(local.functions), keys(local.function_roles)))}."
    }
    precondition {
      condition     = length(setsubtract(keys(local.function_roles), keys(local.functions))) == 0
      error_message = "local.function_roles names functions that platform.json does not have: ${join(", ", setsubtract(keys(local.function_roles), keys(local.functions)))}."
    }
    precondition {
      condition = alltrue([for g in local.function_grants : contains(local.grant_kinds, g.kind) && (
        g.kind == "project" ? contains(local.project_level_function_roles, g.role) :
        g.kind == "bucket" ? contains(keys(local.buckets), g.target) :
        g.kind == "topic" ? contains(keys(local.topics), g.target) :
        g.kind == "kms" ? contains(keys(local.kms_keys), g.target) :
        contains(keys(local.secrets), g.target)
      )])
      error_message = "Every grant's `on` must be \"project\" (Firestore roles only) or <bucket|topic|kms|secret>:<a name that exists>."
    }
    precondition {
      condition     = alltrue([for name, _ in local.functions : can(regex("^[a-z][a-z0-9-]{2,26}[a-z0-9]$", name))])
      error_message = "Function names must be 4-28 lowercase letters, digits or hyphens (service account fn-<name> is at most 30 characters)."
    }
    precondition {
      condition     = length(local.all_route_paths) == length(distinct(local.all_route_paths))
      error_message = "Two functions of platform.json serve the same route."
    }
    precondition {
      condition     = alltrue([for name, bucket in local.gcs_trigger_buckets : contains(keys(local.buckets), bucket)])
      error_message = "A gcs-finalize function names a bucket role that platform.json does not declare."
    }
    precondition {
      condition     = alltrue([for name, topic in local.push_trigger_topics : contains(keys(local.topics), topic)])
      error_message = "A pubsub-push function names a topic role that platform.json does not declare."
    }
    precondition {
      condition     = length(setsubtract(keys(var.secret_versions), keys(local.secrets))) == 0
      error_message = "var.secret_versions names secrets that secrets.tf does not have: ${join(", ", setsubtract(keys(var.secret_versions), keys(local.secrets)))}."
    }
    precondition {
      condition     = contains(keys(local.http_functions), local.default_http_function)
      error_message = "local.default_http_function must be an http function of platform.json."
    }
  }
}

# --- platform identities ----------------------------------------------------------------------

# Cloud Build identity of the function builds (instead of the default compute account).
resource "google_service_account" "build" {
  account_id   = "beamit-build"
  display_name = "BeamIt function builds"

  depends_on = [time_sleep.apis]
}

# Pub/Sub push OIDC identity; may invoke the pubsub-push functions only.
resource "google_service_account" "push_invoker" {
  account_id   = "beamit-push"
  display_name = "BeamIt Pub/Sub push invoker"

  depends_on = [time_sleep.apis]
}

# Eventarc trigger identity of gcs-finalize functions.
resource "google_service_account" "eventarc_trigger" {
  account_id   = "beamit-eventarc"
  display_name = "BeamIt Eventarc trigger"

  depends_on = [time_sleep.apis]
}

# Cloud Scheduler OIDC identity; may invoke the scheduler functions only.
resource "google_service_account" "scheduler_invoker" {
  account_id   = "beamit-scheduler"
  display_name = "BeamIt Cloud Scheduler invoker"

  depends_on = [time_sleep.apis]
}

locals {
  # Cloud Functions copies the source to gcf-v2-sources-<number>-<region> before building.
  gcf_sources_bucket = "gcf-v2-sources-${data.google_project.this.number}-${var.region}"
}

resource "google_project_iam_member" "build" {
  for_each = {
    logs      = "roles/logging.logWriter"
    artifacts = "roles/artifactregistry.writer" # the gcf-artifacts image repository
  }

  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.build.email}"
}

# Builds read the source archive only: a condition keeps the reader off the data buckets.
resource "google_project_iam_member" "build_source_reader" {
  project = var.project_id
  role    = "roles/storage.objectViewer"
  member  = "serviceAccount:${google_service_account.build.email}"

  condition {
    title       = "function-sources-only"
    description = "Only the function source buckets."
    expression  = "resource.name.startsWith(\"projects/_/buckets/${local.gcf_sources_bucket}\") || resource.name.startsWith(\"projects/_/buckets/${google_storage_bucket.function_source.name}\")"
  }
}

# Eventarc requirements for Cloud Storage triggers.
resource "google_project_iam_member" "eventarc_receiver" {
  count = length(local.gcs_functions) > 0 ? 1 : 0

  project = var.project_id
  role    = "roles/eventarc.eventReceiver"
  member  = "serviceAccount:${google_service_account.eventarc_trigger.email}"
}

resource "google_project_iam_member" "gcs_pubsub_publisher" {
  count = length(local.gcs_functions) > 0 ? 1 : 0

  project = var.project_id
  role    = "roles/pubsub.publisher"
  member  = local.storage_agent
}
