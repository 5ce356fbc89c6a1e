# Services the platform uses. serviceusage and cloudresourcemanager must already be on
# (docs/deploy.md, step 2: Bootstrap) for Terraform to enable the rest.

locals {
  services = toset([
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudkms.googleapis.com",
    "cloudscheduler.googleapis.com",
    "compute.googleapis.com",
    "eventarc.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
  ])
}

resource "google_project_service" "enabled" {
  for_each = local.services

  project = var.project_id
  service = each.value

  disable_on_destroy         = false
  disable_dependent_services = false
}

# An API answers "If you enabled this API recently, wait a few minutes for the action to
# propagate to our systems and retry" for a while after it is enabled, and enabling one
# creates its service agent, whose role grant propagates like any IAM change (Eventarc:
# "it may take a few minutes before all necessary permissions are propagated to the Service
# Agent"). Every resource that calls one of these APIs depends on this wait, never on
# google_project_service directly (tests/infra: check_api_dependencies). It sleeps on the
# first apply, and again when the list of services changes.
resource "time_sleep" "apis" {
  create_duration = "120s"

  triggers = {
    services = join(",", sort([for service in google_project_service.enabled : service.service]))
  }
}

data "google_project" "this" {
  project_id = var.project_id
}
