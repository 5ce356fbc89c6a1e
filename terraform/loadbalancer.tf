# Global external HTTPS load balancer: https://<domain> -> URL map -> one serverless NEG
# and backend service (Cloud Armor attached) per http function of platform.json.
# The URL map's path rules are generated from the manifest's routes (local.route_paths):
# route p serves p and p/*, the longest matching path wins, as in the local gateway.

resource "google_compute_region_network_endpoint_group" "function" {
  for_each = local.http_functions

  name                  = "${local.resource_prefix}-${each.key}"
  region                = var.region
  network_endpoint_type = "SERVERLESS"

  # The NEG takes the Cloud Run service's short name ("run-service"). A gen2 function's
  # service is named after the function; its service_config[0].service is the full
  # projects/<p>/locations/<r>/services/<name> path, which the NEG does not accept.
  cloud_run {
    service = google_cloudfunctions2_function.function[each.key].name
  }
}

resource "google_compute_backend_service" "function" {
  for_each = local.http_functions

  name                  = "${local.resource_prefix}-${each.key}"
  description           = "BeamIt ${each.key} function"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  protocol              = "HTTPS"
  security_policy       = google_compute_security_policy.edge.id

  backend {
    group = google_compute_region_network_endpoint_group.function[each.key].id
  }

  log_config {
    enable      = true
    sample_rate = 1.0
  }
}

resource "google_compute_url_map" "https" {
  name            = "${local.resource_prefix}-https"
  description     = "Routes of shared/beamit/platform.json"
  default_service = google_compute_backend_service.function[local.default_http_function].id

  host_rule {
    hosts        = [var.domain]
    path_matcher = "beamit"
  }

  path_matcher {
    name            = "beamit"
    default_service = google_compute_backend_service.function[local.default_http_function].id

    dynamic "path_rule" {
      for_each = local.route_paths
      content {
        paths   = path_rule.value
        service = google_compute_backend_service.function[path_rule.key].id
      }
    }
  }
}

resource "google_compute_managed_ssl_certificate" "api" {
  # Named after the domain: a new domain creates a new certificate before the old one goes.
  name = "${local.resource_prefix}-${substr(md5(var.domain), 0, 8)}"

  managed {
    domains = [var.domain]
  }

  lifecycle {
    create_before_destroy = true
  }

  depends_on = [time_sleep.apis]
}

resource "google_compute_ssl_policy" "tls" {
  name            = "${local.resource_prefix}-tls"
  description     = "TLS 1.2+ with the RESTRICTED (FIPS 140-2 / PCI-compliant) cipher suites."
  profile         = "RESTRICTED"
  min_tls_version = "TLS_1_2"

  depends_on = [time_sleep.apis]
}

resource "google_compute_target_https_proxy" "api" {
  name             = "${local.resource_prefix}-https"
  url_map          = google_compute_url_map.https.id
  ssl_certificates = [google_compute_managed_ssl_certificate.api.id]
  ssl_policy       = google_compute_ssl_policy.tls.id
}

resource "google_compute_global_address" "api" {
  name         = "${local.resource_prefix}-api"
  address_type = "EXTERNAL"
  ip_version   = "IPV4"

  depends_on = [time_sleep.apis]
}

resource "google_compute_global_forwarding_rule" "https" {
  name                  = "${local.resource_prefix}-https"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  ip_protocol           = "TCP"
  ip_address            = google_compute_global_address.api.address
  port_range            = "443"
  target                = google_compute_target_https_proxy.api.id
}

# Plain HTTP on the same address only redirects to HTTPS.
resource "google_compute_url_map" "http_redirect" {
  name        = "${local.resource_prefix}-http-redirect"
  description = "HTTP to HTTPS redirect"

  default_url_redirect {
    https_redirect         = true
    redirect_response_code = "MOVED_PERMANENTLY_DEFAULT"
    strip_query            = false
  }

  depends_on = [time_sleep.apis]
}

resource "google_compute_target_http_proxy" "redirect" {
  name    = "${local.resource_prefix}-http-redirect"
  url_map = google_compute_url_map.http_redirect.id
}

resource "google_compute_global_forwarding_rule" "http" {
  name                  = "${local.resource_prefix}-http"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  ip_protocol           = "TCP"
  ip_address            = google_compute_global_address.api.address
  port_range            = "80"
  target                = google_compute_target_http_proxy.redirect.id
}
