# Secret Manager secrets the functions read (as environment variables, see functions.tf),
# replicated in the region only and encrypted with the manifest's secrets key.
# Terraform creates the secret, never its value (which would land in the state): add the
# first version by hand, see docs/deploy.md ("Secrets").

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
