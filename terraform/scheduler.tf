# Cloud Scheduler: one job per `scheduler` function of platform.json (trigger.schedule,
# UTC), calling the function's URL with an OIDC token of the scheduler invoker account.

resource "google_cloud_scheduler_job" "function" {
  for_each = local.scheduled_functions

  name             = "${local.resource_prefix}-${each.key}"
  description      = "Runs the ${each.key} function."
  region           = var.region
  schedule         = each.value.trigger.schedule
  time_zone        = "Etc/UTC"
  attempt_deadline = "${min(1800, max(15, each.value.timeoutSeconds))}s"

  retry_config {
    retry_count          = 3
    min_backoff_duration = "10s"
    max_backoff_duration = "600s"
    max_doublings        = 5
  }

  http_target {
    http_method = "POST"
    uri         = google_cloudfunctions2_function.function[each.key].service_config[0].uri
    body        = base64encode("{}")
    headers = {
      "Content-Type" = "application/json"
    }

    oidc_token {
      service_account_email = google_service_account.scheduler_invoker.email
      audience              = local.function_audiences[each.key]
    }
  }

  depends_on = [
    time_sleep.apis,
    google_cloud_run_v2_service_iam_member.scheduler_invoker,
  ]
}
