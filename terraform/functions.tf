# Cloud Functions (gen2): one per function of platform.json, all built from one source
# archive (`make package`: functions/main.py + shared/beamit + requirements.txt), each with
# its own entry point and its own service account (grants: iam.tf).
#
# Ingress: http functions only through the HTTPS load balancer (ALLOW_INTERNAL_AND_GCLB);
# event functions only from Eventarc, Pub/Sub and Cloud Scheduler of this project
# (ALLOW_INTERNAL_ONLY), with IAM invoker granted to one service account per source.

locals {
  # The deterministic run.app URL of each function's Cloud Run service
  # (https://<service>-<project number>.<region>.run.app), known before the service exists:
  # the audience of the OIDC tokens Pub/Sub pushes and Cloud Scheduler jobs carry, and the
  # function's own BEAMIT_PUSH_AUDIENCE, without a dependency cycle. Cloud Run accepts any
  # of a service's run.app URLs as the audience; requests go to service_config[0].uri.
  function_audiences = {
    for name, _ in local.functions : name => "https://${name}-${data.google_project.this.number}.${var.region}.run.app"
  }

  # Environment of every function: the variables README.md "Settings" documents.
  function_env = {
    BEAMIT_ENV              = var.environment
    GOOGLE_CLOUD_PROJECT    = var.project_id
    BEAMIT_REGION           = var.region
    BEAMIT_PUBLIC_URL       = "https://${var.domain}"
    BEAMIT_RESOURCE_PREFIX  = local.resource_prefix
    BEAMIT_KMS_LOCATION     = var.region
    BEAMIT_KMS_KEY_RING     = google_kms_key_ring.beamit.name
    BEAMIT_CORS_ORIGINS     = join(",", var.cors_origins)
    BEAMIT_VERIFY_PUSH_OIDC = "true"
    # The load balancer appends "<client>, <load balancer>" to X-Forwarded-For and is the only way
    # in from the internet (ingress ALLOW_INTERNAL_AND_GCLB below): the client is 2 hops from the right.
    BEAMIT_TRUSTED_PROXY_HOPS        = "2"
    BEAMIT_LOG_LEVEL                 = var.log_level
    BEAMIT_SMS_PROVIDER              = var.sms_provider
    BEAMIT_TWILIO_ACCOUNT_SID        = var.twilio_account_sid
    BEAMIT_TWILIO_FROM               = var.twilio_from
    BEAMIT_SHARE_BASE_URL            = var.share_base_url
    BEAMIT_OAUTH_GRANT_LIFETIME_DAYS = tostring(var.oauth_grant_lifetime_days)
    BEAMIT_STUDY_SETTLE_SECONDS      = tostring(var.study_settle_seconds)
  }

  # Secrets each function reads, from its secretAccessor grants in local.function_roles:
  # the secret "share-code-key" becomes the environment variable BEAMIT_SHARE_CODE_KEY.
  function_secret_env = {
    for name, _ in local.functions : name => {
      for grant in local.function_grants : "BEAMIT_${upper(replace(grant.target, "-", "_"))}" => grant.target
      if grant.function == name && grant.kind == "secret" && grant.role == "roles/secretmanager.secretAccessor"
    }
  }
}

resource "google_service_account" "function" {
  for_each = local.functions

  account_id   = "fn-${each.key}"
  display_name = "BeamIt function ${each.key}"
  description  = "Runtime identity of the ${each.key} Cloud Function; its grants are local.function_roles[\"${each.key}\"] in terraform/iam.tf."

  depends_on = [time_sleep.apis]
}

# Grants a function deployment checks, given time to propagate before the functions deploy
# (see time_sleep.cmek_grants): the build account's roles (logs, image push, source read),
# each runtime account's access to the secrets it mounts, and for Cloud Storage triggers the
# Cloud Storage agent's Pub/Sub publisher and the trigger account's event receiver roles.
resource "time_sleep" "function_grants" {
  create_duration = "120s"

  triggers = {
    build    = join(",", [for grant in google_project_iam_member.build : grant.role])
    source   = google_project_iam_member.build_source_reader.role
    secrets  = join(",", sort(keys(google_secret_manager_secret_iam_member.function)))
    eventarc = join(",", [for grant in concat(google_project_iam_member.gcs_pubsub_publisher, google_project_iam_member.eventarc_receiver) : "${grant.role} ${grant.member}"])
  }
}

resource "google_cloudfunctions2_function" "function" {
  for_each = local.functions

  name        = each.key
  location    = var.region
  description = "BeamIt ${each.key} (${each.value.trigger.type})"

  build_config {
    runtime         = "python311"
    entry_point     = each.value.entryPoint
    service_account = google_service_account.build.id

    source {
      storage_source {
        bucket = google_storage_bucket.function_source.name
        object = google_storage_bucket_object.function_source.name
      }
    }
  }

  service_config {
    available_memory                 = each.value.memory
    available_cpu                    = try(each.value.cpu, "1") # concurrency > 1 needs at least one vCPU
    timeout_seconds                  = each.value.timeoutSeconds
    max_instance_request_concurrency = each.value.concurrency
    min_instance_count               = lookup(var.min_instances, each.key, 0)
    max_instance_count               = try(each.value.maxInstances, var.max_instances)
    ingress_settings                 = each.value.trigger.type == "http" ? "ALLOW_INTERNAL_AND_GCLB" : "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.function[each.key].email

    environment_variables = merge(local.function_env, {
      BEAMIT_PUSH_AUDIENCE = local.function_audiences[each.key]
    })

    dynamic "secret_environment_variables" {
      for_each = local.function_secret_env[each.key]
      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = google_secret_manager_secret.secret[secret_environment_variables.value].secret_id
        # The version Terraform created (secrets.tf), not "latest": it exists before the
        # function deploys, and a new one rolls out as a new revision.
        version = google_secret_manager_secret_version.value[secret_environment_variables.value].version
      }
    }
  }

  # gcs-finalize: Eventarc delivers google.cloud.storage.object.v1.finalized of the
  # trigger's bucket (inbox), retrying until the function acknowledges.
  dynamic "event_trigger" {
    for_each = each.value.trigger.type == "gcs-finalize" ? [local.gcs_trigger_buckets[each.key]] : []
    content {
      trigger_region        = var.region
      event_type            = "google.cloud.storage.object.v1.finalized"
      retry_policy          = "RETRY_POLICY_RETRY"
      service_account_email = google_service_account.eventarc_trigger.email

      event_filters {
        attribute = "bucket"
        value     = google_storage_bucket.data[event_trigger.value].name
      }
    }
  }

  lifecycle {
    precondition {
      condition     = contains(keys(local.function_roles), each.key)
      error_message = "Function ${each.key} of platform.json has no entry in local.function_roles (terraform/iam.tf): add its least-privilege grants."
    }
  }

  depends_on = [
    time_sleep.apis,
    time_sleep.function_grants,
    # A gcs-finalize function creates an Eventarc trigger: the Google channel's key (which
    # Eventarc applies to every Google-event trigger of the project and region) is set first.
    google_eventarc_google_channel_config.cmek,
  ]
}

# --- who may invoke each function -------------------------------------------------------------

# http: the public, through the load balancer only (ingress ALLOW_INTERNAL_AND_GCLB, Cloud
# Armor in front). Callers authenticate to the application (API keys, OAuth, share codes):
# a serverless NEG forwards no Google identity, so the Cloud Run invoker check must be open.
resource "google_cloud_run_v2_service_iam_member" "public" {
  for_each = local.http_functions

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.function[each.key].service_config[0].service
  role     = "roles/run.invoker"
  member   = "allUsers"
}

resource "google_cloud_run_v2_service_iam_member" "push_invoker" {
  for_each = local.push_functions

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.function[each.key].service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.push_invoker.email}"
}

resource "google_cloud_run_v2_service_iam_member" "eventarc_invoker" {
  for_each = local.gcs_functions

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.function[each.key].service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.eventarc_trigger.email}"
}

resource "google_cloud_run_v2_service_iam_member" "scheduler_invoker" {
  for_each = local.scheduled_functions

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.function[each.key].service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.scheduler_invoker.email}"
}
