# Alerts to var.alert_email: events that exhausted their deliveries (dead-letter backlog)
# and bursts of server errors at the load balancer.

resource "google_monitoring_notification_channel" "email" {
  display_name = "BeamIt ${var.environment} on-call"
  type         = "email"

  labels = {
    email_address = var.alert_email
  }

  depends_on = [time_sleep.apis]
}

resource "google_monitoring_alert_policy" "dead_letter" {
  display_name          = "BeamIt ${var.environment}: dead-lettered messages"
  combiner              = "OR"
  notification_channels = [google_monitoring_notification_channel.email.name]

  conditions {
    display_name = "Messages waiting in ${google_pubsub_subscription.dead_letter.name}"

    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = \"${google_pubsub_subscription.dead_letter.name}\" AND metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "300s"

      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  documentation {
    content   = "Pub/Sub messages exhausted ${var.pubsub_max_delivery_attempts} push deliveries and were dead-lettered. Inspect them with `gcloud pubsub subscriptions pull ${google_pubsub_subscription.dead_letter.name}`, fix the cause, then republish."
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "server_errors" {
  display_name          = "BeamIt ${var.environment}: 5xx responses"
  combiner              = "OR"
  notification_channels = [google_monitoring_notification_channel.email.name]

  conditions {
    display_name = "More than 1 5xx response per second at the load balancer"

    condition_threshold {
      filter          = "resource.type = \"https_lb_rule\" AND resource.labels.url_map_name = \"${google_compute_url_map.https.name}\" AND metric.type = \"loadbalancing.googleapis.com/https/request_count\" AND metric.labels.response_code_class = 500"
      comparison      = "COMPARISON_GT"
      threshold_value = 1
      duration        = "300s"

      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  documentation {
    content   = "The BeamIt API answers 5xx at more than 1/s. Check the functions' logs (Cloud Run, severity>=ERROR) and /v1/health."
    mime_type = "text/markdown"
  }
}
