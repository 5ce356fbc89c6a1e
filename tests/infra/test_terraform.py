"""terraform/ agrees with shared/beamit/platform.json, and keeps its security properties.

The checks live in ``terraform_model.py`` as functions of (manifest dict, parsed HCL); the
tests run them on the real files and on altered copies, to show each one can fail.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from beamit.deployment import load_manifest
from beamit.settings import load_settings
from beamit.storage.firestore import index_shape
from beamit.storage.protocols import Filter, Query
from tests.infra import terraform_model as tm
from tests.infra.indexes import (
    declared_indexes,
    is_covered,
    needs_composite_index,
    parse_index_file,
    uncovered,
)

TERRAFORM = shutil.which("terraform")
needs_terraform = pytest.mark.skipif(
    TERRAFORM is None,
    reason="terraform binary not on PATH: install Terraform >= 1.11 to run this check "
    "(`make lint` needs it too)",
)


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return tm.load_manifest_json()


@pytest.fixture
def tf() -> tm.Terraform:
    return tm.parse_terraform()


def with_function(manifest: dict[str, Any], **spec: Any) -> dict[str, Any]:
    """A copy of the manifest with one more function."""
    fn = {"entryPoint": spec["name"].replace("-", "_"), "trigger": {"type": "http"}, "routes": [],
          "memory": "256Mi", "timeoutSeconds": 60, "concurrency": 1, **spec}
    changed: dict[str, Any] = json.loads(json.dumps(manifest))
    changed["functions"].append(fn)
    return changed


def write_manifest(tmp_path: Path, manifest: dict[str, Any]) -> Path:
    path = tmp_path / "platform.json"
    path.write_text(json.dumps(manifest, indent=2), "utf-8")
    return path


# --- the manifest Terraform reads is the one the code reads ---------------------------------------


def test_terraform_reads_the_package_manifest(manifest: dict[str, Any], tf: tm.Terraform) -> None:
    assert tm.check_manifest_source(manifest, tf) == []
    package_file = resources.files("beamit").joinpath("platform.json")
    assert json.loads(package_file.read_text("utf-8")) == manifest
    code = load_manifest()
    assert [fn.name for fn in code.functions] == [fn["name"] for fn in manifest["functions"]]
    assert set(code.buckets) == set(manifest["buckets"])
    assert set(code.topics) == set(manifest["topics"])
    assert set(code.kms_keys) == set(manifest["kmsKeys"])


def test_resource_names_match_settings(tf: tm.Terraform) -> None:
    """<prefix>-<role> in Terraform is what Settings.bucket/topic compute from the same env."""
    assert tm.check_buckets(tm.load_manifest_json(), tf) == []
    settings = load_settings({"BEAMIT_ENV": "production", "GOOGLE_CLOUD_PROJECT": "acme-prod"})
    assert settings.resource_prefix == "acme-prod-beamit"  # local.resource_prefix's default
    assert settings.bucket("dicom") == "acme-prod-beamit-dicom"
    assert settings.topic("events") == "acme-prod-beamit-events"
    assert settings.kms_key_ring == tf.resources("google_kms_key_ring")["beamit"]["name"].replace(
        "${var.kms_key_ring}", "beamit"
    )


def test_function_environment_is_the_documented_settings(tf: tm.Terraform) -> None:
    env = tf.locals()["function_env"]
    required = {"BEAMIT_ENV", "GOOGLE_CLOUD_PROJECT", "BEAMIT_PUBLIC_URL", "BEAMIT_RESOURCE_PREFIX",
                "BEAMIT_KMS_LOCATION", "BEAMIT_KMS_KEY_RING", "BEAMIT_CORS_ORIGINS",
                "BEAMIT_VERIFY_PUSH_OIDC", "BEAMIT_REGION", "BEAMIT_LOG_LEVEL"}
    assert required <= set(env)
    readme = (tm.REPO_ROOT / "README.md").read_text("utf-8")
    for name in [*env, "BEAMIT_PUSH_AUDIENCE"]:
        assert f"`{name}`" in readme, f"{name} is not documented in README.md Settings"
    service = tm.block(tm.parse_terraform().resources("google_cloudfunctions2_function")["function"],
                       "service_config")
    assert service is not None
    assert "BEAMIT_PUSH_AUDIENCE = local.function_audiences[each.key]" in " ".join(
        str(service["environment_variables"]).split()
    )
    # The values Terraform sets are ones Settings accepts.
    settings = load_settings({
        "BEAMIT_ENV": "production", "GOOGLE_CLOUD_PROJECT": "acme-prod",
        "BEAMIT_CORS_ORIGINS": "https://viewer.example,https://ohif.example",
        "BEAMIT_VERIFY_PUSH_OIDC": "true", "BEAMIT_LOG_LEVEL": "INFO",
    })
    assert settings.verify_push_oidc and settings.cors_allowed_origins == (
        "https://viewer.example", "https://ohif.example")


# --- functions and their grants ------------------------------------------------------------------


def test_every_manifest_function_is_deployed(manifest: dict[str, Any], tf: tm.Terraform) -> None:
    assert tm.check_functions(manifest, tf) == []


def test_every_manifest_function_has_least_privilege_grants(
    manifest: dict[str, Any], tf: tm.Terraform
) -> None:
    assert tm.check_function_roles(manifest, tf) == []
    assert set(tm.function_roles(tf)) == {fn["name"] for fn in manifest["functions"]}


def test_a_new_function_without_grants_fails(
    manifest: dict[str, Any], tf: tm.Terraform, tmp_path: Path
) -> None:
    path = write_manifest(tmp_path, with_function(manifest, name="reports", routes=["/v1/reports"]))
    changed = tm.load_manifest_json(path)
    problems = tm.check_function_roles(changed, tf)
    assert problems == [
        "function reports of platform.json has no entry in local.function_roles (terraform/iam.tf)"
    ]
    # Everything else follows the manifest by itself: for_each, URL map, triggers.
    assert tm.check_functions(changed, tf) == []
    assert tm.check_routes(changed, tf) == []
    assert tm.check_triggers(changed, tf) == []


def test_a_grant_entry_for_no_function_fails(manifest: dict[str, Any], tf: tm.Terraform) -> None:
    for doc in tf.files.values():
        for block in doc.get("locals", []):
            if "function_roles" in block:
                block["function_roles"]["retired"] = [{"role": "roles/datastore.user", "on": "project"}]
    assert tm.check_function_roles(manifest, tf) == [
        "local.function_roles has an entry for retired, which platform.json lacks"
    ]


@pytest.mark.parametrize(
    ("grant", "message"),
    [
        ({"role": "roles/storage.objectViewer", "on": "project"}, "only Firestore roles"),
        ({"role": "roles/storage.objectViewer", "on": "bucket:photos"}, "no bucket named 'photos'"),
        ({"role": "roles/pubsub.publisher", "on": "topic:audit"}, "no topic named 'audit'"),
        ({"role": "roles/secretmanager.secretAccessor", "on": "secret:nope"}, "no secret named"),
        ({"role": "roles/editor", "on": "project"}, "role too broad"),
        ({"role": "roles/storage.admin", "on": "bucket:dicom"}, "role too broad"),
        ({"role": "roles/datastore.user", "on": "organization"}, "`on` must be"),
    ],
)
def test_bad_grants_fail(
    manifest: dict[str, Any], tf: tm.Terraform, grant: dict[str, str], message: str
) -> None:
    for doc in tf.files.values():
        for block in doc.get("locals", []):
            if "function_roles" in block:
                block["function_roles"]["api-keys"].append(grant)
    problems = tm.check_function_roles(manifest, tf)
    assert any(message in p for p in problems), problems


# --- buckets, topics, keys --------------------------------------------------------------------------


def test_buckets_are_the_manifest_roles_and_locked_down(
    manifest: dict[str, Any], tf: tm.Terraform
) -> None:
    assert tm.check_buckets(manifest, tf) == []
    assert set(tf.resources("google_storage_bucket")) >= {"data", "access_logs", "audit_logs"}


def test_a_bucket_without_cmek_or_with_public_access_fails(
    manifest: dict[str, Any], tf: tm.Terraform
) -> None:
    bucket = tf.resources("google_storage_bucket")["access_logs"]
    del bucket["encryption"]
    bucket["public_access_prevention"] = "inherited"
    assert tm.check_buckets(manifest, tf) == [
        "google_storage_bucket.access_logs: no CMEK default_kms_key_name",
        "google_storage_bucket.access_logs: public_access_prevention must be enforced",
    ]


def test_topics_have_kms_keys(manifest: dict[str, Any], tf: tm.Terraform) -> None:
    assert tm.check_topics(manifest, tf) == []
    del tf.resources("google_pubsub_topic")["dead_letter"]["kms_key_name"]
    assert tm.check_topics(manifest, tf) == ["google_pubsub_topic.dead_letter: no kms_key_name"]


def test_kms_keys_cover_every_manifest_purpose(manifest: dict[str, Any], tf: tm.Terraform) -> None:
    assert tm.check_kms_keys(manifest, tf) == []
    # A future token-signing key is created by the signing resource; an unknown purpose is not.
    changed = json.loads(json.dumps(manifest))
    changed["kmsKeys"]["token-signing"] = {"purpose": "ASYMMETRIC_SIGN", "use": "JWT signing"}
    assert tm.check_kms_keys(changed, tf) == []
    changed["kmsKeys"]["mac"] = {"purpose": "MAC", "use": "?"}
    assert tm.check_kms_keys(changed, tf) == ["KMS key mac: purpose 'MAC' has no google_kms_crypto_key"]


# --- routes, triggers, TLS -------------------------------------------------------------------------


def test_url_map_is_generated_from_manifest_routes(manifest: dict[str, Any], tf: tm.Terraform) -> None:
    assert tm.check_routes(manifest, tf) == []
    assert tm.expected_route_paths(manifest)["api-keys"] == ["/v1/api-keys", "/v1/api-keys/*"]


def test_hand_written_path_rules_fail(manifest: dict[str, Any], tf: tm.Terraform) -> None:
    matcher = tf.resources("google_compute_url_map")["https"]["path_matcher"][0]
    matcher["dynamic"] = []
    matcher["path_rule"] = [{"paths": ["/v1/api-keys", "/v1/api-keys/*"], "service": "x"}]
    tf.texts["loadbalancer.tf"] += '\n# paths = ["/v1/api-keys"]\n'
    problems = tm.check_routes(manifest, tf)
    assert "the URL map's path_rule must be dynamic over local.route_paths" in problems
    assert "the URL map has hand-written path rules" in problems
    assert "route /v1/api-keys is hard-coded in loadbalancer.tf" in problems


def test_negs_use_the_short_service_name(manifest: dict[str, Any], tf: tm.Terraform) -> None:
    neg = tf.resources("google_compute_region_network_endpoint_group")["function"]
    assert neg["cloud_run"][0]["service"] == "${google_cloudfunctions2_function.function[each.key].name}"
    neg["cloud_run"][0]["service"] = "${google_cloudfunctions2_function.function[each.key].service_config[0].service}"
    assert tm.check_routes(manifest, tf) == [
        "serverless NEGs must name the function's Cloud Run service by its short name "
        "(google_cloudfunctions2_function.function[each.key].name)"
    ]


def test_two_functions_on_one_route_fail(manifest: dict[str, Any], tf: tm.Terraform) -> None:
    changed = with_function(manifest, name="health2", routes=["/v1/health"])
    assert "two functions serve the same route" in tm.check_routes(changed, tf)


def test_event_triggers_match_trigger_types(manifest: dict[str, Any], tf: tm.Terraform) -> None:
    assert tm.check_triggers(manifest, tf) == []
    changed = with_function(manifest, name="ingest-probe", trigger={"type": "gcs-finalize", "bucket": "inbox"})
    changed = with_function(changed, name="webhook-delivery",
                            trigger={"type": "pubsub-push", "topic": "events"})
    changed = with_function(changed, name="share-expiry",
                            trigger={"type": "scheduler", "schedule": "*/5 * * * *"})
    assert tm.check_triggers(changed, tf) == []
    bad = with_function(manifest, name="ingest-probe", trigger={"type": "gcs-finalize", "bucket": "uploads"})
    bad = with_function(bad, name="fanout", trigger={"type": "pubsub-push", "topic": "nope"})
    bad = with_function(bad, name="nightly", trigger={"type": "scheduler"})
    assert tm.check_triggers(bad, tf) == [
        "function ingest-probe: trigger bucket 'uploads' not declared",
        "function fanout: trigger topic 'nope' not declared",
        "function nightly: scheduler trigger without a schedule",
    ]


def test_missing_trigger_plumbing_fails(manifest: dict[str, Any], tf: tm.Terraform) -> None:
    for doc in tf.files.values():
        for block in doc.get("resource", []):
            block.pop("google_cloud_scheduler_job", None)
            subs = block.get("google_pubsub_subscription", {})
            if "push" in subs:
                subs["push"]["retry_policy"] = [{"minimum_backoff": "1s", "maximum_backoff": "5s"}]
    problems = tm.check_triggers(manifest, tf)
    assert "push retry policy must back off exponentially from 10s to 600s" in problems
    assert any("google_cloud_scheduler_job.function" in p for p in problems)


def test_push_subscriptions_filter_as_the_manifest_says(manifest: dict[str, Any], tf: tm.Terraform) -> None:
    (subscription,) = [block["google_pubsub_subscription"]["push"] for doc in tf.files.values()
                       for block in doc.get("resource", []) if "push" in block.get("google_pubsub_subscription", {})]
    assert "each.value.trigger.filter" in str(subscription["filter"])
    triggers = {f["name"]: f["trigger"] for f in manifest["functions"]}
    # prerender only wants study.received; webhook-delivery every event type.
    assert triggers["prerender"] == {"type": "pubsub-push", "topic": "events",
                                     "filter": 'attributes.type = "study.received"'}
    assert "filter" not in triggers["webhook-delivery"]


def test_tls_policy_is_at_least_tls_1_2(tf: tm.Terraform) -> None:
    assert tm.check_tls(tf) == []
    tf.resources("google_compute_ssl_policy")["tls"]["min_tls_version"] = "TLS_1_0"
    assert tm.check_tls(tf) == ["ssl policy tls: min_tls_version must be TLS_1_2"]


def test_plain_http_only_redirects_to_https(tf: tm.Terraform) -> None:
    assert tm.check_plain_http_only_redirects(tf) == []
    served = tf.copy()
    served.resources("google_compute_url_map")["http_redirect"]["default_service"] = (
        "${google_compute_backend_service.function[\"platform\"].id}")
    assert tm.check_plain_http_only_redirects(served) == [
        "google_compute_global_forwarding_rule.http: its URL map serves requests over plain HTTP (default_service)"]
    direct = tf.copy()
    direct.resources("google_compute_target_http_proxy")["redirect"]["url_map"] = "${google_compute_url_map.https.id}"
    assert "google_compute_global_forwarding_rule.http: its URL map must redirect to HTTPS" in (
        tm.check_plain_http_only_redirects(direct))


def test_request_logs_with_full_urls_go_only_to_the_restricted_cmek_bucket(tf: tm.Terraform) -> None:
    """The load balancer logs every request (sample rate 1.0) and Cloud Run too, with the query
    string: patient names and birth dates of QIDO-RS searches, share codes."""
    assert tm.check_request_logs(tf) == []
    backends = tf.resources("google_compute_backend_service")
    assert any((tm.block(b, "log_config") or {}).get("enable") is True for b in backends.values())
    no_exclusion = tf.copy()
    for block_ in no_exclusion.files["logging.tf"]["resource"]:
        block_.pop("google_logging_project_exclusion", None)
    assert tm.check_request_logs(no_exclusion) == [
        "no google_logging_project_exclusion keeps local.request_log_filter out of _Default"]
    no_cmek = tf.copy()
    del no_cmek.resources("google_logging_project_bucket_config")["requests"]["cmek_settings"]
    assert tm.check_request_logs(no_cmek) == [
        "google_logging_project_sink.requests: its log bucket must be encrypted with a CMEK key"]
    narrow = tf.copy()
    for doc in narrow.files.values():
        for locals_ in doc.get("locals", []):
            if "request_log_filter" in locals_:
                locals_["request_log_filter"] = '${"resource.type=\\"http_load_balancer\\""}'
    assert tm.check_request_logs(narrow) == [f"local.request_log_filter must select {tm.REQUEST_LOG_SOURCES[1]}"]


def test_expiring_documents_have_ttl_policies(tf: tm.Terraform) -> None:
    """The throttle and API-key budget counters are written with expiresAt, published outbox
    events with expireAt: Firestore deletes them."""
    from beamit.auth import key_budget, throttle
    from beamit.events.outbox import OUTBOX

    assert tf.locals()["firestore_ttl_fields"] == {throttle.COLLECTION: "expiresAt", key_budget.COLLECTION: "expiresAt",
                                                   OUTBOX: "expireAt"}
    ttl = tf.resources("google_firestore_field")["ttl"]
    assert tm.expr(ttl["for_each"]) == "local.firestore_ttl_fields" and tm.block(ttl, "ttl_config") is not None


def test_functions_take_the_client_ip_the_load_balancer_appends(tf: tm.Terraform, manifest: dict[str, Any]) -> None:
    """Only the load balancer reaches the http functions from the internet (ingress), and it appends
    two X-Forwarded-For entries, so the functions trust two hops (beamit.web.context.client_ip)."""
    assert tm.check_functions(manifest, tf) == []
    hops = tf.locals()["function_env"]["BEAMIT_TRUSTED_PROXY_HOPS"]
    assert load_settings({"BEAMIT_TRUSTED_PROXY_HOPS": hops}).trusted_proxy_hops == 2


# --- creation order: APIs first ------------------------------------------------------------------------


def test_every_api_gated_resource_waits_for_the_apis(tf: tm.Terraform) -> None:
    assert tm.check_api_dependencies(tf) == []
    graph = tm.dependency_graph(tf)
    # The resources a first apply used to create before their API was on (issue #23) ...
    for address in ("google_service_account.function", "google_project_iam_custom_role.role",
                    "google_compute_security_policy.edge", "google_compute_ssl_policy.tls",
                    "google_compute_global_address.api", "google_compute_managed_ssl_certificate.api",
                    "google_compute_global_forwarding_rule.http"):
        assert tm.reaches(graph, address, "time_sleep.apis"), address
    # ... wait for the APIs to settle, which only the time_sleep waits on directly.
    assert [a for a, refs in graph.items() if tm.SERVICES in refs] == ["time_sleep.apis"]
    assert tf.resources("time_sleep")["apis"]["create_duration"] == "120s"


def test_a_resource_without_the_api_dependency_fails(tf: tm.Terraform) -> None:
    del tf.resources("google_compute_security_policy")["edge"]["depends_on"]
    tf.files["loadbalancer.tf"]["resource"].append(
        {"google_compute_global_address": {"v6": {"name": "x", "ip_version": "IPV6"}}})
    assert tm.check_api_dependencies(tf) == [
        "google_compute_global_address.v6: needs compute.googleapis.com but does not depend on "
        "google_project_service.enabled (depends_on = [time_sleep.apis])",
        "google_compute_security_policy.edge: needs compute.googleapis.com but does not depend on "
        "google_project_service.enabled (depends_on = [time_sleep.apis])",
    ]


def test_unknown_types_direct_dependencies_and_disabled_apis_fail(tf: tm.Terraform) -> None:
    tf.files["apis.tf"]["resource"].append(
        {"google_bigquery_dataset": {"audit": {"dataset_id": "audit", "depends_on": ["${time_sleep.apis}"]}}})
    tf.resources("google_kms_key_ring")["beamit"]["depends_on"] = ["${google_project_service.enabled}"]
    for doc in tf.files.values():
        for block in doc.get("locals", []):
            if "services" in block:
                block["services"] = block["services"].replace('"monitoring.googleapis.com",', "")
    problems = tm.check_api_dependencies(tf)
    assert "google_bigquery_dataset.audit: google_bigquery_dataset is not in API_OF_TYPE " \
           "(tests/infra/terraform_model.py): name the API it calls" in problems
    assert "google_kms_key_ring.beamit: depends on google_project_service.enabled directly; depend on " \
           "time_sleep.apis, so that the APIs settle first" in problems
    assert "google_monitoring_notification_channel.email: needs monitoring.googleapis.com, which apis.tf " \
           "does not enable" in problems


def test_dependency_graph_follows_references_through_locals(tf: tm.Terraform) -> None:
    graph = tm.dependency_graph(tf)
    assert "local.kms_key_ids" in graph["google_storage_bucket.data"]
    assert "google_kms_crypto_key.symmetric" in graph["local.kms_key_ids"]
    assert graph["local.storage_agent"] == {"data.google_storage_project_service_account.gcs"}
    assert tm.reaches(graph, "google_storage_bucket.data", "google_kms_key_ring.beamit")
    assert not tm.reaches(graph, "google_kms_key_ring.beamit", "google_storage_bucket.data")


def test_grants_propagate_before_what_checks_them(tf: tm.Terraform) -> None:
    assert tm.check_grant_ordering(tf) == []
    sleeps = tf.resources("time_sleep")
    assert sleeps["cmek_grants"]["create_duration"] == sleeps["function_grants"]["create_duration"] == "120s"
    graph = tm.dependency_graph(tf)
    assert "google_eventarc_google_channel_config.cmek" in graph["google_cloudfunctions2_function.function"]


def test_a_function_before_the_eventarc_channel_or_a_bucket_before_its_grant_fails(tf: tm.Terraform) -> None:
    function = tf.resources("google_cloudfunctions2_function")["function"]
    function["depends_on"] = ["${time_sleep.apis}", "${time_sleep.function_grants}"]
    tf.resources("google_storage_bucket")["access_logs"]["depends_on"] = [f"${{{tm.CMEK_AGENT_GRANTS}}}"]
    assert tm.check_grant_ordering(tf) == [
        "google_storage_bucket.access_logs: must wait (time_sleep) for "
        "google_kms_crypto_key_iam_member.service_agent",
        "google_cloudfunctions2_function.function: creates Eventarc triggers, so must depend on "
        "google_eventarc_google_channel_config.cmek",
    ]


# --- secrets ------------------------------------------------------------------------------------------


def test_mounted_secrets_have_versions_created_before_the_functions(
    manifest: dict[str, Any], tf: tm.Terraform
) -> None:
    assert tm.check_secret_versions(tf) == []
    # Every secret a function mounts (its secretAccessor grants) is one Terraform versions.
    mounted = {grant["on"].removeprefix("secret:") for grants in tm.function_roles(tf).values()
               for grant in grants if grant["role"] == "roles/secretmanager.secretAccessor"}
    assert mounted and mounted <= set(tf.locals()["secrets"]) == set(tf.locals()["secret_values"])
    assert {fn["name"] for fn in manifest["functions"]} >= {"shares", "viewer"}
    graph = tm.dependency_graph(tf)
    assert tm.reaches(graph, "google_secret_manager_secret_version.value", "time_sleep.cmek_grants")


def test_latest_plain_secret_data_and_literal_values_fail(tf: tm.Terraform) -> None:
    function = tf.resources("google_cloudfunctions2_function")["function"]
    mount = tm.dynamic(function["service_config"][0], "secret_environment_variables")
    assert mount is not None
    mount["content"]["version"] = "latest"
    version = tf.resources("google_secret_manager_secret_version")["value"]
    version["secret_data"] = version.pop("secret_data_wo")
    for doc in tf.files.values():
        for block in doc.get("locals", []):
            if "secret_values" in block:
                block["secret_values"]["share-code-key"] = "not-so-secret-0123456789abcdefghijkl"
                del block["secret_values"]["twilio-auth-token"]
            if "secrets" in block:
                block["secrets"]["webhook-key"] = "a new secret without a value"
    assert tm.check_secret_versions(tf) == [
        "google_secret_manager_secret_version.value: secret_data lands in the state; use secret_data_wo",
        "google_secret_manager_secret_version.value: secret_data_wo = local.secret_values[each.key], "
        "with secret_data_wo_version",
        "local.secret_values has no value for twilio-auth-token, webhook-key",
        "local.secret_values[share-code-key] is a literal: secret values never live in the repository",
        "google_cloudfunctions2_function.function mounts secret version 'latest': mount "
        "google_secret_manager_secret_version.value[...].version, which exists before the function",
        "google_cloudfunctions2_function.function must depend on google_secret_manager_secret_version.value",
    ]


def test_secret_value_variables_must_be_ephemeral(tf: tm.Terraform) -> None:
    for doc in tf.files.values():
        for block in doc.get("variable", []):
            if "twilio_auth_token" in block:
                block["twilio_auth_token"]["ephemeral"] = False
    assert tm.check_secret_versions(tf) == [
        "var.twilio_auth_token feeds a secret value: it must be sensitive and ephemeral"]


# --- principals an organization policy may refuse -----------------------------------------------------


def test_principals_outside_the_organization_are_named_in_deploy_docs(tf: tm.Terraform) -> None:
    """Domain-restricted sharing refuses literal principals that are not the project's own
    service accounts: docs/deploy.md must name each one among the grants to allow."""
    literal = {str(body["member"]) for _, _, body in tf.all_resources()
               if "member" in body and "${" not in str(body["member"])
               and not str(body["member"]).startswith("serviceAccount:")}
    assert literal == {"allUsers", "group:cloud-storage-analytics@google.com"}
    deploy = (tm.REPO_ROOT / "docs" / "deploy.md").read_text("utf-8")
    policy = deploy[deploy.index("`iam.allowedPolicyMemberDomains`"):deploy.index("`gcp.restrictNonCmekServices`")]
    for member in literal:
        assert f"`{member}`" in policy, member


# --- Firestore backups ------------------------------------------------------------------------------


def test_backup_retention_is_within_each_recurrences_limit(tf: tm.Terraform) -> None:
    assert tm.check_firestore_backups(tf) == []
    schedules = tf.resources("google_firestore_backup_schedule")
    assert {name: body["retention"] for name, body in schedules.items()} == {
        "daily": "604800s", "weekly": "8467200s"}


def test_long_daily_retention_and_a_second_daily_schedule_fail(tf: tm.Terraform) -> None:
    schedules = tf.resources("google_firestore_backup_schedule")
    schedules["daily"]["retention"] = "8467200s"  # 98 days, daily: what the API refuses
    weekly = schedules["weekly"]
    del weekly["weekly_recurrence"]
    weekly.update(retention="86400s", daily_recurrence=[{}])
    assert tm.check_firestore_backups(tf) == [
        "google_firestore_backup_schedule.daily: retention 8467200s exceeds the daily_recurrence limit"
        " of 604800s",
        "google_firestore_backup_schedule.weekly: a database takes one daily_recurrence schedule"
        " (google_firestore_backup_schedule.daily is one)",
        "the database needs a weekly backup schedule kept 14 weeks (8467200s)",
    ]


# --- Terraform itself evaluates the manifest as the Python code does ---------------------------------


def terraform_console(tmp_path: Path, manifest: dict[str, Any], expression: str) -> Any:
    """Evaluate an expression over manifest.tf + variables.tf against ``manifest``."""
    module = tmp_path / "terraform"
    (tmp_path / "shared" / "beamit").mkdir(parents=True)
    module.mkdir()
    (tmp_path / "shared" / "beamit" / "platform.json").write_text(json.dumps(manifest), "utf-8")
    for name in ("manifest.tf", "variables.tf"):
        shutil.copy(tm.TERRAFORM_DIR / name, module / name)
    config = tmp_path / "terraformrc"
    config.write_text("", "utf-8")
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(config), "TF_DATA_DIR": str(tmp_path / ".tf"),
           "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
    assert TERRAFORM is not None
    result = subprocess.run(
        [TERRAFORM, "console", "-var", "project_id=acme-prod", "-var", "environment=production",
         "-var", "domain=api.acme.example", "-var", "alert_email=ops@acme.example"],
        input=f"jsonencode({expression})\n", capture_output=True, text=True, cwd=module, env=env,
        timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(json.loads(result.stdout))


@needs_terraform
def test_terraform_derives_routes_and_triggers_like_the_gateway(
    manifest: dict[str, Any], tmp_path: Path
) -> None:
    has_viewer = any(f["name"] == "viewer" for f in manifest["functions"])  # the real one, since the shares issue
    changed = manifest if has_viewer else with_function(manifest, name="viewer", routes=["/s"])
    changed = with_function(changed, name="ingest-probe", trigger={"type": "gcs-finalize", "bucket": "inbox"})
    changed = with_function(changed, name="events-probe",
                            trigger={"type": "pubsub-push", "topic": "events"})
    changed = with_function(changed, name="nightly-probe",
                            trigger={"type": "scheduler", "schedule": "*/5 * * * *"})
    changed["kmsKeys"]["token-signing"] = {"purpose": "ASYMMETRIC_SIGN", "use": "JWT signing"}
    got = terraform_console(tmp_path, changed, (
        "{routes = local.route_paths, gcs = local.gcs_trigger_buckets, push = local.push_trigger_topics,"
        " scheduled = keys(local.scheduled_functions), http = keys(local.http_functions),"
        " symmetric = keys(local.symmetric_kms_keys), signing = keys(local.signing_kms_keys),"
        " buckets = local.bucket_names, topics = local.topic_names}"
    ))
    assert got["routes"] == tm.expected_route_paths(changed)
    assert got["routes"]["viewer"] == ["/s", "/s/*"]
    assert got["gcs"] == {"ingest": "inbox", "ingest-probe": "inbox"}
    declared = {f["name"]: f["trigger"] for f in manifest["functions"]}
    assert got["push"] == {**{n: t["topic"] for n, t in declared.items() if t["type"] == "pubsub-push"},
                           "events-probe": "events"}
    assert sorted(got["scheduled"]) == sorted([n for n, t in declared.items() if t["type"] == "scheduler"]
                                              + ["nightly-probe"])
    assert set(got["http"]) == {f["name"] for f in changed["functions"] if f["trigger"]["type"] == "http"}
    assert got["signing"] == ["token-signing"]
    assert set(got["symmetric"]) == set(manifest["kmsKeys"])
    settings = load_settings({"BEAMIT_ENV": "production", "GOOGLE_CLOUD_PROJECT": "acme-prod"})
    assert got["buckets"] == {role: settings.bucket(role) for role in manifest["buckets"]}
    assert got["topics"] == {role: settings.topic(role) for role in manifest["topics"]}
    # Every path the load balancer routes goes where the local gateway sends it.
    code_manifest = load_manifest()
    for name, paths in tm.expected_route_paths(manifest).items():
        for path in paths:
            resolved = code_manifest.resolve(path.replace("*", "x"))
            assert resolved is not None and resolved.name == name


@needs_terraform
def test_terraform_fmt() -> None:
    assert TERRAFORM is not None
    result = subprocess.run(
        [TERRAFORM, "fmt", "-check", "-recursive", "-diff", str(tm.TERRAFORM_DIR)],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "CHECKPOINT_DISABLE": "1"},
    )
    assert result.returncode == 0, f"run `terraform fmt -recursive terraform`:\n{result.stdout}"


# --- environments, checkov ---------------------------------------------------------------------------


@pytest.mark.parametrize("environment", ["sandbox", "production"])
def test_environment_tfvars(environment: str) -> None:
    import hcl2

    path = tm.TERRAFORM_DIR / "environments" / f"{environment}.tfvars"
    values = hcl2.loads(path.read_text("utf-8"), serialization_options=tm.HCL_OPTIONS)
    assert values["environment"] == environment
    required = {"project_id", "environment", "region", "domain", "alert_email"}
    assert required <= set(values)
    declared: set[str] = set()
    for doc in tm.parse_terraform().files.values():
        for block in doc.get("variable", []):
            declared |= set(block)
    assert set(values) <= declared, set(values) - declared
    assert values["lock_audit_log_retention"] is (environment == "production")


def test_checkov_skips_are_documented(tf: tm.Terraform) -> None:
    config = (tm.TERRAFORM_DIR / ".checkov.yaml").read_text("utf-8")
    inline = tm.inline_checkov_skips(tf)
    documented = tm.documented_checkov_skips(config)
    assert inline, "expected the accepted findings to be suppressed inline"
    assert inline == documented


# --- Firestore composite indexes ----------------------------------------------------------------------


def test_declared_indexes() -> None:
    declared = declared_indexes()
    assert ("api_keys", (("tenantId", "ASCENDING"), ("createdAt", "DESCENDING"))) in declared
    for doc_name, text in tm.parse_terraform().texts.items():
        if 'resource "google_firestore_index"' in text:
            assert doc_name == "firestore_indexes.tf"


def test_api_keys_list_query_is_covered() -> None:
    query = Query(collection="api_keys", filters=(Filter("tenantId", "==", "t1"),),
                  order_by=(("createdAt", "desc"),))
    shape = index_shape(query)
    assert shape == ("api_keys", (("tenantId", "ASCENDING"), ("createdAt", "DESCENDING")))
    assert needs_composite_index(shape)
    assert is_covered(shape)
    assert uncovered([shape]) == []


def test_uncovered_shapes_are_reported() -> None:
    declared = declared_indexes()
    by_prefix = index_shape(Query(collection="api_keys", filters=(Filter("tenantId", "==", "t1"),),
                                  order_by=(("createdAt", "asc"),)))
    other = index_shape(Query(collection="tenants/t1/studies",
                              filters=(Filter("modalities", "array_contains", "CT"),),
                              order_by=(("studyDate", "desc"),)))
    assert other == ("studies", (("modalities", "CONTAINS"), ("studyDate", "DESCENDING")))
    assert uncovered([by_prefix, other, other], declared) == [by_prefix, other]
    # One field, or a trailing __name__, needs nothing more.
    single = index_shape(Query(collection="api_keys", filters=(Filter("tenantId", "==", "t1"),)))
    assert not needs_composite_index(single) and is_covered(single, set())
    named = ("api_keys", (("tenantId", "ASCENDING"), ("createdAt", "DESCENDING"),
                          ("__name__", "DESCENDING")))
    assert is_covered(named, declared)


def test_malformed_index_entries_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "firestore_indexes.tf"
    path.write_text(
        'locals {\n  firestore_indexes = {\n'
        '    "one" = { collection = "api_keys", fields = [["tenantId", "ASCENDING"]] }\n'
        '    "bad" = { collection = "a/b", fields = [["x", "UP"], ["y", "ASCENDING"]] }\n'
        '    "ok"  = { collection = "studies", fields = [["modalities", "CONTAINS"], ["d", "DESCENDING"]] }\n'
        '  }\n}\n', "utf-8")
    shapes, problems = parse_index_file(path)
    assert shapes == {("api_keys", (("tenantId", "ASCENDING"),)),
                      ("studies", (("modalities", "CONTAINS"), ("d", "DESCENDING")))}
    assert problems == ["index one: a composite index has at least two fields",
                        "index bad: collection must be a collection id"]
