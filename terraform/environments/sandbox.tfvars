# Sandbox: integrators' test environment (API keys bk_sandbox_...). Synthetic data only.
project_id  = "beamit-sandbox"
environment = "sandbox"
region      = "us-central1"
domain      = "sandbox.api.beamit.example"
alert_email = "oncall+sandbox@beamit.example"

cors_origins = ["https://viewer.sandbox.beamit.example"]

kms_protection_level     = "SOFTWARE"
lock_audit_log_retention = false # sandbox buckets can still be torn down
audit_log_retention_days = 400
dicom_soft_delete_days   = 7
dicom_noncurrent_days    = 7
max_instances            = 10
waf_preview              = false
log_level                = "DEBUG"

# Sandbox texts stay in the Firestore outbox (synthetic patients have no phones).
sms_provider = "outbox"
