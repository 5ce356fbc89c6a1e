# Secret Manager secrets the functions read (as environment variables, see functions.tf),
# replicated in the region only and encrypted with the manifest's secrets key, and the one
# version of each that the functions mount.
#
# Values never land in the plan, the state or the repository: the version's value is a
# write-only argument (secret_data_wo, Terraform >= 1.11), fed from ephemeral values:
#   share-code-key     64 random characters drawn by Terraform itself when the version is
#                      created (ephemeral random_password): nobody handles the key;
#   twilio-auth-token  var.twilio_auth_token (ephemeral, TF_VAR_twilio_auth_token at apply
#                      time), or a placeholder until it is given (sandbox: the outbox sends
#                      no SMS).
# A write-only value is sent only when the version is created: raising
# var.secret_versions["<id>"] creates a new version from the current value, the functions
# move to it (they mount that version, not "latest"), and the old version is disabled.
# See docs/deploy.md ("Secrets").

locals {
  secrets = {
    # HMAC key that derives/verifies patient share codes (/s/{shareCode}).
    "share-code-key" = "HMAC-SHA256 key of share codes"
    # Twilio Auth Token of the production SMS provider (beamit.sms.twilio).
    "twilio-auth-token" = "Twilio Auth Token (SMS to patients)"
  }
}

resource "google_secret_manager_secret" "secret" {
  for_each = local.secrets

  secret_id = "${local.resource_prefix}-${each.key}"

  labels = {
    purpose = each.key
  }

  annotations = {
    description = each.value
  }

  replication {
    user_managed {
      replicas {
        location = var.region

        customer_managed_encryption {
          kms_key_name = local.kms_key_ids[local.secrets_kms_key]
        }
      }
    }
  }

  depends_on = [time_sleep.cmek_grants]
}

# BEAMIT_SHARE_CODE_KEY must be at least 32 characters (beamit.settings).
ephemeral "random_password" "share_code_key" {
  length  = 64
  special = false
}

locals {
  # The value each secret's version is created with: one entry per secret of local.secrets.
  secret_values = {
    "share-code-key"    = ephemeral.random_password.share_code_key.result
    "twilio-auth-token" = coalesce(var.twilio_auth_token, "placeholder: no Twilio Auth Token given (docs/deploy.md, Secrets)")
  }
}

resource "google_secret_manager_secret_version" "value" {
  for_each = local.secrets

  secret                 = google_secret_manager_secret.secret[each.key].id
  secret_data_wo         = local.secret_values[each.key]
  secret_data_wo_version = lookup(var.secret_versions, each.key, 1)
  deletion_policy        = "DISABLE" # a replaced version is disabled, not destroyed: it can be re-enabled

  lifecycle {
    # The new version exists (and the functions mount it) before the old one is disabled.
    create_before_destroy = true
  }
}
