# Inputs. One GCP project per environment: environments/<environment>.tfvars.

variable "project_id" {
  description = "GCP project id of this environment (GOOGLE_CLOUD_PROJECT of every function)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a GCP project id (6-30 characters: lowercase letters, digits, hyphens)."
  }
}

variable "region" {
  description = "Region of the functions, buckets, Firestore database, Pub/Sub storage and the KMS key ring (CMEK keys must share the location of what they encrypt)."
  type        = string
  default     = "us-central1"
}

variable "environment" {
  description = "BEAMIT_ENV of the functions: sandbox or production (API key prefix, OIDC on pushes, retention locks)."
  type        = string

  validation {
    condition     = contains(["sandbox", "production"], var.environment)
    error_message = "environment must be \"sandbox\" or \"production\"."
  }
}

variable "domain" {
  description = "Public host name of the API and viewer (managed TLS certificate, BEAMIT_PUBLIC_URL = https://<domain>)."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,}$", var.domain))
    error_message = "domain must be a fully qualified lowercase DNS name, e.g. api.beamit.example."
  }
}

variable "resource_prefix" {
  description = "Prefix of bucket, topic and other resource names (<prefix>-dicom, <prefix>-events, ...). Defaults to \"<project_id>-beamit\", as Settings.resource_prefix does."
  type        = string
  default     = null

  validation {
    condition     = var.resource_prefix == null || can(regex("^[a-z][a-z0-9-]{2,38}[a-z0-9]$", var.resource_prefix))
    error_message = "resource_prefix must be 4-40 characters: lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "kms_key_ring" {
  description = "Name of the Cloud KMS key ring in var.region (BEAMIT_KMS_KEY_RING)."
  type        = string
  default     = "beamit"
}

variable "kms_protection_level" {
  description = "Protection level of the Cloud KMS keys: SOFTWARE or HSM."
  type        = string
  default     = "SOFTWARE"

  validation {
    condition     = contains(["SOFTWARE", "HSM"], var.kms_protection_level)
    error_message = "kms_protection_level must be SOFTWARE or HSM."
  }
}

variable "cors_origins" {
  description = "Origins allowed to call DICOMweb from a browser (BEAMIT_CORS_ORIGINS), e.g. an OHIF deployment."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for o in var.cors_origins : can(regex("^https://[^/,\\s]+$", o))])
    error_message = "Each CORS origin must be https://host[:port], without a path or comma."
  }
}

variable "alert_email" {
  description = "Email address that receives monitoring alerts (dead-lettered events, 5xx bursts)."
  type        = string

  validation {
    condition     = can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alert_email))
    error_message = "alert_email must be an email address."
  }
}

variable "function_source_archive" {
  description = "Path of the function source archive built by `make package` (default: build/functions.zip of the repository). It is uploaded to the <prefix>-functions-source bucket under its MD5, so a new archive redeploys every function."
  type        = string
  default     = null
}

variable "log_level" {
  description = "BEAMIT_LOG_LEVEL of the functions."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "NOTICE", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, NOTICE, WARNING or ERROR."
  }
}

variable "max_instances" {
  description = "Default maximum instance count of each function (a manifest function's \"maxInstances\" overrides it)."
  type        = number
  default     = 20
}

variable "min_instances" {
  description = "Minimum (warm) instances per function name, e.g. { dicomweb = 1 }; others scale to zero."
  type        = map(number)
  default     = {}
}

variable "dicom_soft_delete_days" {
  description = "Soft-delete retention of the dicom bucket, in days (7-90): deleted instances stay restorable this long."
  type        = number
  default     = 90

  validation {
    condition     = var.dicom_soft_delete_days >= 7 && var.dicom_soft_delete_days <= 90
    error_message = "dicom_soft_delete_days must be between 7 and 90."
  }
}

variable "dicom_noncurrent_days" {
  description = "Days a noncurrent (overwritten or deleted) version of a DICOM object is kept before lifecycle deletes it."
  type        = number
  default     = 30
}

variable "inbox_object_ttl_days" {
  description = "Days after which an inbox upload that ingest never consumed is deleted (ingest moves what it accepts and quarantines what it refuses)."
  type        = number
  default     = 30
}

variable "quarantine_ttl_days" {
  description = "Days a quarantined file (refused by ingest) is kept for the tenant to inspect."
  type        = number
  default     = 90
}

variable "audit_log_retention_days" {
  description = "Retention of the audit log and access log buckets, in days (HIPAA: 6 years = 2190)."
  type        = number
  default     = 2190
}

variable "request_log_retention_days" {
  description = "Retention of the request log bucket (load balancer and Cloud Run request logs, whose URLs may hold PHI), in days."
  type        = number
  default     = 30

  validation {
    condition     = var.request_log_retention_days >= 1 && var.request_log_retention_days <= 3650
    error_message = "request_log_retention_days must be 1 to 3650 (Cloud Logging's range)."
  }
}

variable "request_log_readers" {
  description = "Principals who may read the request log bucket (full request URLs: PHI), e.g. [\"group:beamit-oncall@example.org\"]. Keep it to those who investigate incidents."
  type        = list(string)
  default     = []
}

variable "lock_audit_log_retention" {
  description = "Lock the audit log bucket's retention policy. IRREVERSIBLE: a locked bucket cannot be deleted or have its retention shortened. true in production, false in sandbox."
  type        = bool
  default     = false
}

variable "pubsub_max_delivery_attempts" {
  description = "Deliveries of a push message before it goes to the dead-letter topic (5-100)."
  type        = number
  default     = 10

  validation {
    condition     = var.pubsub_max_delivery_attempts >= 5 && var.pubsub_max_delivery_attempts <= 100
    error_message = "pubsub_max_delivery_attempts must be between 5 and 100."
  }
}

variable "waf_preview" {
  description = "Run the Cloud Armor preconfigured WAF rules in preview (log only) instead of deny: use while tuning false positives."
  type        = bool
  default     = false
}

variable "rate_limit_per_minute" {
  description = "Requests per minute per client IP across the API before Cloud Armor throttles with 429."
  type        = number
  default     = 6000
}

variable "share_rate_limit_per_minute" {
  description = "Requests per minute per client IP to /s/ (share links) before Cloud Armor answers 429; 5x that over 10 minutes bans the IP for 10 minutes (share code guessing)."
  type        = number
  default     = 120
}

variable "auth_rate_limit_per_minute" {
  description = "Requests per minute per client IP to /v1/auth/ (OAuth token, login) before Cloud Armor answers 429."
  type        = number
  default     = 60
}

variable "oauth_grant_lifetime_days" {
  description = "BEAMIT_OAUTH_GRANT_LIFETIME_DAYS: an OAuth grant (and every token of it) ends this many days after the user signed in, however often it is refreshed; then the user signs in again."
  type        = number
  default     = 90

  validation {
    condition     = var.oauth_grant_lifetime_days >= 1 && var.oauth_grant_lifetime_days <= 365
    error_message = "oauth_grant_lifetime_days must be 1 to 365."
  }
}

variable "study_settle_seconds" {
  description = "BEAMIT_STUDY_SETTLE_SECONDS: study.received goes out once a study has had no new instances for this long (docs/webhooks.md)."
  type        = number
  default     = 30

  validation {
    condition     = var.study_settle_seconds >= 5 && var.study_settle_seconds <= 3600
    error_message = "study_settle_seconds must be between 5 and 3600."
  }
}

variable "sms_provider" {
  description = "BEAMIT_SMS_PROVIDER: twilio (production) or outbox (sandbox: messages stay in Firestore)."
  type        = string
  default     = "twilio"

  validation {
    condition     = contains(["twilio", "outbox"], var.sms_provider)
    error_message = "sms_provider must be twilio or outbox."
  }
}

variable "twilio_account_sid" {
  description = "BEAMIT_TWILIO_ACCOUNT_SID (not secret); the auth token lives in Secret Manager (twilio-auth-token)."
  type        = string
  default     = ""
}

variable "twilio_from" {
  description = "BEAMIT_TWILIO_FROM: the E.164 number or messaging service SID patients' texts come from."
  type        = string
  default     = ""
}

variable "share_base_url" {
  description = "BEAMIT_SHARE_BASE_URL: origin of patient links (e.g. https://beamit.health); empty = the API domain."
  type        = string
  default     = ""
}

variable "twilio_auth_token" {
  description = "Twilio Auth Token (BEAMIT_TWILIO_AUTH_TOKEN), written into Secret Manager when Terraform creates the twilio-auth-token version: give it (TF_VAR_twilio_auth_token) on the first apply with sms_provider = twilio, and when secret_versions bumps that secret. Ephemeral: never stored in the plan or the state. Unset, the version holds a placeholder (enough for sms_provider = outbox)."
  type        = string
  default     = null
  sensitive   = true
  ephemeral   = true

  validation {
    condition     = var.twilio_auth_token == null || can(regex("^[[:graph:]]{16,}$", var.twilio_auth_token))
    error_message = "twilio_auth_token must be the Twilio Auth Token: at least 16 characters, no spaces or line breaks."
  }
}

variable "secret_versions" {
  description = "Generation of each Secret Manager secret's value, by secret id (default 1), e.g. { \"twilio-auth-token\" = 2 }. Raising one writes a new version from its current value (twilio-auth-token: var.twilio_auth_token; share-code-key: a new random key, which invalidates every share code issued), moves the functions to it and disables the old version."
  type        = map(number)
  default     = {}

  validation {
    condition     = alltrue([for generation in values(var.secret_versions) : generation >= 1 && floor(generation) == generation])
    error_message = "secret_versions values are whole numbers from 1."
  }
}
