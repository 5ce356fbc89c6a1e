# The one table of functions, routes, buckets, topics and keys: shared/beamit/platform.json,
# the same file the local gateway and dev stack read (beamit.deployment.load_manifest).
# Every function, bucket, topic, key and URL-map path rule below is generated from it;
# nothing here may depend on a resource, so tests/infra can evaluate these locals alone.
#
# Adding a function to platform.json needs exactly one addition here: its least-privilege
# grants in local.function_roles (iam.tf). Without it `terraform plan` fails
# (terraform_data.manifest_checks) and so does tests/infra/test_terraform.py.

locals {
  manifest = jsondecode(file("${path.module}/../shared/beamit/platform.json"))

  resource_prefix = coalesce(var.resource_prefix, "${var.project_id}-beamit")

  labels = {
    app         = "beamit"
    environment = var.environment
    managed-by  = "terraform"
  }

  # name => function spec, in manifest order.
  functions = { for fn in local.manifest.functions : fn.name => fn }

  http_functions      = { for name, fn in local.functions : name => fn if fn.trigger.type == "http" }
  gcs_functions       = { for name, fn in local.functions : name => fn if fn.trigger.type == "gcs-finalize" }
  push_functions      = { for name, fn in local.functions : name => fn if fn.trigger.type == "pubsub-push" }
  scheduled_functions = { for name, fn in local.functions : name => fn if fn.trigger.type == "scheduler" }

  # Bucket role of each gcs-finalize function (the manifest may name it; inbox otherwise).
  gcs_trigger_buckets = { for name, fn in local.gcs_functions : name => try(fn.trigger.bucket, "inbox") }
  # Topic role of each pubsub-push function.
  push_trigger_topics = { for name, fn in local.push_functions : name => fn.trigger.topic }

  # URL-map path rules: each route prefix p of an http function serves p and p/*,
  # as beamit.deployment.Manifest.resolve does locally (longest prefix wins in both).
  route_paths = {
    for name, fn in local.http_functions : name => flatten([
      for route in try(fn.routes, []) : [route, "${trimsuffix(route, "/")}/*"]
    ]) if length(try(fn.routes, [])) > 0
  }
  all_route_paths = flatten(values(local.route_paths))

  # Requests no route matches go to this function (its router answers the JSON 404).
  default_http_function = "platform"

  buckets = local.manifest.buckets
  topics  = local.manifest.topics

  bucket_names = { for role, _ in local.buckets : role => "${local.resource_prefix}-${role}" }
  topic_names  = { for role, _ in local.topics : role => "${local.resource_prefix}-${role}" }

  # KMS keys by purpose: symmetric CMEK/envelope keys rotate every 90 days; signing keys
  # (e.g. a future token-signing key) are versioned by hand.
  kms_keys           = local.manifest.kmsKeys
  symmetric_kms_keys = { for name, key in local.kms_keys : name => key if key.purpose == "ENCRYPT_DECRYPT" }
  signing_kms_keys   = { for name, key in local.kms_keys : name => key if key.purpose == "ASYMMETRIC_SIGN" }
}
