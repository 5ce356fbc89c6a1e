# Terraform and provider versions. `terraform init` with the state bucket of the
# environment (see docs/deploy.md):
#   terraform init -backend-config="bucket=<state bucket>" -backend-config="prefix=beamit/<environment>"
terraform {
  # 1.11: write-only arguments and ephemeral values keep secret values out of the plan and
  # the state (secrets.tf).
  required_version = ">= 1.11.0, < 2.0.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.50"
    }
    # google_project_service_identity (service agents for CMEK grants) is beta-only.
    google-beta = {
      source  = "hashicorp/google-beta"
      version = "~> 6.50"
    }
    # time_sleep: settle time after enabling APIs and granting IAM roles (apis.tf, iam.tf).
    time = {
      source  = "hashicorp/time"
      version = "~> 0.13"
    }
    # The ephemeral random_password (3.7+) that becomes the share-code key (secrets.tf).
    random = {
      source  = "hashicorp/random"
      version = "~> 3.7"
    }
  }

  backend "gcs" {}
}

provider "google" {
  project = var.project_id
  region  = var.region

  default_labels = local.labels
}

provider "google-beta" {
  project = var.project_id
  region  = var.region

  default_labels = local.labels
}
