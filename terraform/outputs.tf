output "api_url" {
  description = "Public base URL of the API and viewer (BEAMIT_PUBLIC_URL)."
  value       = "https://${var.domain}"
}

output "dashboard_url" {
  description = "The integration dashboard; each tenant signs in at <dashboard_url>?workspace=<tenant> once its client is registered (beamit dashboard register, docs/deploy.md)."
  value       = "https://${var.domain}/dashboard/"
}

output "load_balancer_ip" {
  description = "Address to point the domain's A record at (the managed certificate needs it)."
  value       = google_compute_global_address.api.address
}

output "bucket_names" {
  description = "Bucket name of each bucket role of platform.json."
  value       = { for role, bucket in google_storage_bucket.data : role => bucket.name }
}

output "topic_names" {
  description = "Topic id of each topic role of platform.json."
  value       = { for role, topic in google_pubsub_topic.topic : role => topic.name }
}

output "dead_letter_subscription" {
  description = "Subscription holding dead-lettered push messages."
  value       = google_pubsub_subscription.dead_letter.name
}

output "function_urls" {
  description = "Cloud Run URL of each function (reachable only through the load balancer or from this project's Pub/Sub, Eventarc and Scheduler)."
  value       = { for name, fn in google_cloudfunctions2_function.function : name => fn.service_config[0].uri }
}

output "function_service_accounts" {
  description = "Runtime service account of each function."
  value       = { for name, sa in google_service_account.function : name => sa.email }
}

output "kms_keys" {
  description = "Cloud KMS key of each purpose."
  value       = local.kms_key_ids
}

output "audit_log_bucket" {
  description = "Bucket receiving Cloud Audit Logs and the application's audit entries."
  value       = google_storage_bucket.audit_logs.name
}

output "cli_environment" {
  description = "Environment for running the beamit CLI against this deployment (docs/deploy.md)."
  value = {
    BEAMIT_ENV             = var.environment
    GOOGLE_CLOUD_PROJECT   = var.project_id
    BEAMIT_REGION          = var.region
    BEAMIT_PUBLIC_URL      = "https://${var.domain}"
    BEAMIT_RESOURCE_PREFIX = local.resource_prefix
    BEAMIT_KMS_LOCATION    = var.region
    BEAMIT_KMS_KEY_RING    = google_kms_key_ring.beamit.name
  }
}
