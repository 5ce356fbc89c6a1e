# Production: PHI. API keys bk_live_....
project_id  = "beamit-production"
environment = "production"
region      = "us-central1"
domain      = "api.beamit.example"
alert_email = "oncall@beamit.example"

cors_origins = ["https://viewer.beamit.example"]

kms_protection_level     = "HSM"
lock_audit_log_retention = true # IRREVERSIBLE once applied
audit_log_retention_days = 2190 # 6 years (HIPAA)
dicom_soft_delete_days   = 90
dicom_noncurrent_days    = 30
max_instances            = 100
min_instances = {
  platform = 1
}
waf_preview = false
log_level   = "INFO"

# Patients' texts: Twilio (auth token in Secret Manager: twilio-auth-token).
sms_provider       = "twilio"
twilio_account_sid = "AC00000000000000000000000000000000" # replace with the account's SID
twilio_from        = "+14155550100"                       # replace with the sending number
share_base_url     = "https://beamit.health"
