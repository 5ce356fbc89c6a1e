# Cloud Armor policy of every backend service: preconfigured WAF rules (OWASP CRS), then
# per-client-IP rate limits, stricter on share links (/s/, code guessing) and OAuth
# (/v1/auth/, credential stuffing), and Adaptive Protection against L7 DDoS.
#
# Rule order matters: a rate-limit rule that lets a request through ends evaluation, so
# the WAF rules come first (lower priority numbers).
# STOW-RS bodies are binary DICOM: the body-inspecting rules skip POSTs to /v1/dicomweb/.

locals {
  waf_rules = {
    # priority => [preconfigured rule set, skip DICOMweb STOW bodies]
    "1000" = ["sqli-v33-stable", true]
    "1010" = ["xss-v33-stable", true]
    "1020" = ["lfi-v33-stable", false]
    "1030" = ["rfi-v33-stable", false]
    "1040" = ["rce-v33-stable", true]
    "1060" = ["scannerdetection-v33-stable", false]
    "1070" = ["protocolattack-v33-stable", false]
    "1080" = ["sessionfixation-v33-stable", false]
  }
  # Not methodenforcement: the API uses DELETE (revocation), which CRS 911100 refuses.
  stow_exemption = "!(request.method == 'POST' && request.path.startsWith('/v1/dicomweb/'))"
}

resource "google_compute_security_policy" "edge" {
  name        = "${local.resource_prefix}-edge"
  description = "BeamIt edge policy: OWASP WAF, rate limits, adaptive protection"
  type        = "CLOUD_ARMOR"

  adaptive_protection_config {
    layer_7_ddos_defense_config {
      enable = true
    }
  }

  advanced_options_config {
    json_parsing = "STANDARD"
    log_level    = "NORMAL" # VERBOSE would log matched request content (possible PHI)
  }

  # Log4Shell (CVE-2021-44228) probes: always denied.
  rule {
    action      = "deny(403)"
    priority    = 900
    description = "Log4j JNDI lookups (CVE-2021-44228, CVE-2021-45046)"

    match {
      expr {
        expression = "evaluatePreconfiguredExpr('cve-canary')"
      }
    }
  }

  dynamic "rule" {
    for_each = local.waf_rules
    content {
      action      = "deny(403)"
      priority    = tonumber(rule.key)
      description = "OWASP CRS ${rule.value[0]}"
      preview     = var.waf_preview

      match {
        expr {
          expression = rule.value[1] ? "evaluatePreconfiguredWaf('${rule.value[0]}', {'sensitivity': 1}) && ${local.stow_exemption}" : "evaluatePreconfiguredWaf('${rule.value[0]}', {'sensitivity': 1})"
        }
      }
    }
  }

  # Share links: throttle, and ban clients that keep guessing codes.
  rule {
    action      = "rate_based_ban"
    priority    = 2000
    description = "Share links: ${var.share_rate_limit_per_minute}/min per IP; 5x that in 10 min bans for 10 min"

    match {
      expr {
        expression = "request.path.startsWith('/s/')"
      }
    }

    rate_limit_options {
      conform_action   = "allow"
      exceed_action    = "deny(429)"
      enforce_on_key   = "IP"
      ban_duration_sec = 600

      rate_limit_threshold {
        count        = var.share_rate_limit_per_minute
        interval_sec = 60
      }

      ban_threshold {
        count        = var.share_rate_limit_per_minute * 5
        interval_sec = 600
      }
    }
  }

  rule {
    action      = "throttle"
    priority    = 2100
    description = "OAuth, login and the dashboard's workspace lookup: ${var.auth_rate_limit_per_minute}/min per IP"

    match {
      expr {
        expression = "request.path.startsWith('/v1/auth/') || request.path.startsWith('/dashboard/api/')"
      }
    }

    rate_limit_options {
      conform_action = "allow"
      exceed_action  = "deny(429)"
      enforce_on_key = "IP"

      rate_limit_threshold {
        count        = var.auth_rate_limit_per_minute
        interval_sec = 60
      }
    }
  }

  rule {
    action      = "throttle"
    priority    = 3000
    description = "Everything else: ${var.rate_limit_per_minute}/min per IP"

    match {
      versioned_expr = "SRC_IPS_V1"
      config {
        src_ip_ranges = ["*"]
      }
    }

    rate_limit_options {
      conform_action = "allow"
      exceed_action  = "deny(429)"
      enforce_on_key = "IP"

      rate_limit_threshold {
        count        = var.rate_limit_per_minute
        interval_sec = 60
      }
    }
  }

  rule {
    action      = "allow"
    priority    = 2147483647
    description = "Default: allow"

    match {
      versioned_expr = "SRC_IPS_V1"
      config {
        src_ip_ranges = ["*"]
      }
    }
  }

  depends_on = [time_sleep.apis]
}
