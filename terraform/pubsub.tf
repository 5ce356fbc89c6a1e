# Pub/Sub: one topic per topic role of platform.json (<prefix>-<role>, Settings.topic(role)),
# CMEK-encrypted and kept in the region; a dead-letter topic; one push subscription per
# pubsub-push function, authenticated with an OIDC token the function's service verifies.

resource "google_pubsub_topic" "topic" {
  for_each = local.topics

  name                       = local.topic_names[each.key]
  kms_key_name               = local.kms_key_ids[each.value.kmsKey]
  message_retention_duration = "604800s" # 7 days: replay window for redelivery

  message_storage_policy {
    allowed_persistence_regions = [var.region]
  }

  depends_on = [time_sleep.cmek_grants]
}

resource "google_pubsub_topic" "dead_letter" {
  name                       = "${local.resource_prefix}-dead-letter"
  kms_key_name               = local.kms_key_ids[local.pubsub_kms_key]
  message_retention_duration = "2678400s" # 31 days

  message_storage_policy {
    allowed_persistence_regions = [var.region]
  }

  depends_on = [time_sleep.cmek_grants]
}

# Holds dead-lettered messages for inspection and replay (a topic alone keeps nothing
# readable without a subscription).
resource "google_pubsub_subscription" "dead_letter" {
  name                       = "${local.resource_prefix}-dead-letter"
  topic                      = google_pubsub_topic.dead_letter.id
  ack_deadline_seconds       = 60
  message_retention_duration = "604800s" # the maximum for a subscription
  retain_acked_messages      = false

  expiration_policy {
    ttl = "" # never expires
  }
}

resource "google_pubsub_subscription" "push" {
  for_each = local.push_functions

  name                       = "${local.resource_prefix}-${each.key}"
  topic                      = google_pubsub_topic.topic[local.push_trigger_topics[each.key]].id
  ack_deadline_seconds       = min(600, max(10, each.value.timeoutSeconds))
  message_retention_duration = "604800s"
  filter                     = try(each.value.trigger.filter, null) # e.g. prerender: study.received only

  push_config {
    push_endpoint = google_cloudfunctions2_function.function[each.key].service_config[0].uri

    oidc_token {
      service_account_email = google_service_account.push_invoker.email
      audience              = local.function_audiences[each.key]
    }
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = var.pubsub_max_delivery_attempts
  }

  expiration_policy {
    ttl = ""
  }

  depends_on = [
    google_cloud_run_v2_service_iam_member.push_invoker,
    google_pubsub_topic_iam_member.dead_letter_publisher,
  ]
}

# The Pub/Sub service agent forwards undeliverable messages to the dead-letter topic: it
# must publish there and subscribe to (acknowledge on) each source subscription.
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  topic  = google_pubsub_topic.dead_letter.id
  role   = "roles/pubsub.publisher"
  member = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  for_each = local.push_functions

  subscription = google_pubsub_subscription.push[each.key].id
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}

# The Pub/Sub service agent mints the push OIDC tokens as the push invoker account.
resource "google_service_account_iam_member" "pubsub_token_creator" {
  service_account_id = google_service_account.push_invoker.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_agent
}
