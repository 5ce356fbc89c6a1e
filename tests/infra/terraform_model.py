"""The Terraform of ``terraform/`` as parsed HCL, and checks that it agrees with platform.json.

Every ``check_*`` function takes the manifest (the parsed ``platform.json`` dict) and a
:class:`Terraform` and returns a list of problems (empty when all is well), so tests can
run them on the real files and on altered copies (a manifest with an extra function, HCL
with a block removed) to show that they catch what they claim to.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import hcl2

REPO_ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = REPO_ROOT / "terraform"
MANIFEST_PATH = REPO_ROOT / "shared" / "beamit" / "platform.json"
# The path every .tf file must use to read the manifest.
MANIFEST_EXPRESSION = 'jsondecode(file("${path.module}/../shared/beamit/platform.json"))'

TRIGGER_TYPES = ("http", "gcs-finalize", "pubsub-push", "scheduler")
GRANT_KINDS = ("project", "bucket", "topic", "kms", "secret")
# Function roles allowed at project level: Firestore IAM has no finer resource.
PROJECT_LEVEL_FUNCTION_ROLES = frozenset({"roles/datastore.user", "roles/datastore.viewer"})
# Never granted to a function, on anything.
FORBIDDEN_FUNCTION_ROLES = re.compile(
    r"^roles/(owner|editor|viewer|.*\.admin|iam\..*|resourcemanager\..*|cloudkms\.admin)$"
)

HCL_OPTIONS = hcl2.SerializationOptions(
    strip_string_quotes=True, explicit_blocks=False, with_comments=False
)


def load_manifest_json(path: Path = MANIFEST_PATH) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data


@dataclass
class Terraform:
    """The parsed ``.tf`` files of one directory (file name -> hcl2 dict) and their text."""

    files: dict[str, dict[str, Any]]
    texts: dict[str, str] = field(default_factory=dict)

    def resources(self, rtype: str) -> dict[str, dict[str, Any]]:
        """``name -> body`` of every ``resource "<rtype>" "<name>"``, over all files."""
        found: dict[str, dict[str, Any]] = {}
        for doc in self.files.values():
            for block in doc.get("resource", []):
                for name, body in block.get(rtype, {}).items():
                    found[name] = body
        return found

    def resource_files(self, rtype: str) -> dict[str, str]:
        """``name -> file name`` of every resource of that type."""
        found: dict[str, str] = {}
        for file_name, doc in self.files.items():
            for block in doc.get("resource", []):
                for name in block.get(rtype, {}):
                    found[name] = file_name
        return found

    def all_resources(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        for doc in self.files.values():
            for block in doc.get("resource", []):
                for rtype, instances in block.items():
                    for name, body in instances.items():
                        yield rtype, name, body

    def all_data_sources(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        for doc in self.files.values():
            for block in doc.get("data", []):
                for dtype, instances in block.items():
                    for name, body in instances.items():
                        yield dtype, name, body

    def locals(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for doc in self.files.values():
            for block in doc.get("locals", []):
                merged.update(block)
        return merged

    def local_files(self) -> dict[str, str]:
        """``local name -> file name`` where it is defined."""
        found: dict[str, str] = {}
        for file_name, doc in self.files.items():
            for block in doc.get("locals", []):
                for name in block:
                    found[name] = file_name
        return found

    def copy(self) -> Terraform:
        return Terraform(copy.deepcopy(self.files), dict(self.texts))


@lru_cache(maxsize=4)
def _parse_dir(directory: str) -> Terraform:
    files: dict[str, dict[str, Any]] = {}
    texts: dict[str, str] = {}
    for path in sorted(Path(directory).glob("*.tf")):
        text = path.read_text("utf-8")
        texts[path.name] = text
        files[path.name] = hcl2.loads(text, serialization_options=HCL_OPTIONS)
    return Terraform(files, texts)


def parse_terraform(directory: Path = TERRAFORM_DIR) -> Terraform:
    """Parse every ``.tf`` file of ``directory`` (a fresh copy each call: checks may mutate it)."""
    return _parse_dir(str(directory)).copy()


# --- small HCL helpers -------------------------------------------------------------------------


def block(body: dict[str, Any], name: str) -> dict[str, Any] | None:
    """The first nested block ``name`` of a body (hcl2 gives blocks as lists of dicts)."""
    value = body.get(name)
    if isinstance(value, list) and value and isinstance(value[0], dict):
        first: dict[str, Any] = value[0]
        return first
    return None


def dynamic(body: dict[str, Any], name: str) -> dict[str, Any] | None:
    """The ``dynamic "<name>"`` block of a body: ``{"for_each": ..., "content": {...}}``."""
    for entry in body.get("dynamic", []):
        if name in entry:
            spec = dict(entry[name])
            content = spec.get("content")
            if isinstance(content, list):
                spec["content"] = content[0] if content else {}
            return spec
    return None


def expr(value: Any) -> str:
    """An attribute value as text, without the ``${...}`` wrapper of a bare expression."""
    text = str(value)
    if text.startswith("${") and text.endswith("}") and text.count("${") == 1:
        return text[2:-1]
    return text


def grant_target(on: str) -> tuple[str, str]:
    kind, _, target = on.partition(":")
    return kind, target


# --- checks ----------------------------------------------------------------------------------


def check_manifest_source(manifest: dict[str, Any], tf: Terraform) -> list[str]:
    """Terraform reads THE manifest, and derives functions/buckets/topics/keys from it."""
    problems: list[str] = []
    local_values = tf.locals()
    if local_values.get("manifest") != "${" + MANIFEST_EXPRESSION + "}":
        problems.append(f"local.manifest must be {MANIFEST_EXPRESSION}")
    expected = {
        "functions": "local.manifest.functions",
        "buckets": "local.manifest.buckets",
        "topics": "local.manifest.topics",
        "kms_keys": "local.manifest.kmsKeys",
    }
    for name, source in expected.items():
        if source not in str(local_values.get(name, "")):
            problems.append(f"local.{name} must be derived from {source}")
    for file_name, text in tf.texts.items():
        for match in re.finditer(r"file\(([^)]*platform\.json[^)]*)\)", text):
            if match.group(0) != 'file("${path.module}/../shared/beamit/platform.json")':
                problems.append(f"{file_name}: reads the manifest as {match.group(0)}")
    for fn in manifest["functions"]:
        if fn["trigger"]["type"] not in TRIGGER_TYPES:
            problems.append(f"function {fn['name']}: unknown trigger type {fn['trigger']['type']!r}")
    return problems


def check_functions(manifest: dict[str, Any], tf: Terraform) -> list[str]:
    """One google_cloudfunctions2_function (and service account) per manifest function."""
    problems: list[str] = []
    functions = tf.resources("google_cloudfunctions2_function")
    if set(functions) != {"function"}:
        return [f"expected one google_cloudfunctions2_function \"function\", found {sorted(functions)}"]
    fn = functions["function"]
    if expr(fn.get("for_each")) != "local.functions":
        problems.append("google_cloudfunctions2_function.function must have for_each = local.functions")
    build = block(fn, "build_config") or {}
    service = block(fn, "service_config") or {}
    wanted = [
        (build, "runtime", "python311"),
        (build, "entry_point", "${each.value.entryPoint}"),
        (service, "available_memory", "${each.value.memory}"),
        (service, "timeout_seconds", "${each.value.timeoutSeconds}"),
        (service, "max_instance_request_concurrency", "${each.value.concurrency}"),
        (service, "service_account_email", "${google_service_account.function[each.key].email}"),
    ]
    for body, attr, value in wanted:
        if body.get(attr) != value:
            problems.append(f"function.{attr} must be {value}, is {body.get(attr)!r}")
    ingress = str(service.get("ingress_settings", ""))
    if "ALLOW_INTERNAL_AND_GCLB" not in ingress or "ALLOW_INTERNAL_ONLY" not in ingress \
            or '"http"' not in ingress:
        problems.append("ingress must be ALLOW_INTERNAL_AND_GCLB for http, ALLOW_INTERNAL_ONLY otherwise")
    storage_source = block(block(build, "source") or {}, "storage_source") or {}
    if "google_storage_bucket_object.function_source" not in str(storage_source.get("object")):
        problems.append("every function must build from the one source archive object")
    accounts = tf.resources("google_service_account")
    if expr(accounts.get("function", {}).get("for_each")) != "local.functions":
        problems.append("google_service_account.function must have for_each = local.functions")
    names = [f["name"] for f in manifest["functions"]]
    if len(names) != len(set(names)):
        problems.append("function names of platform.json are not unique")
    for name in names:
        if not re.fullmatch(r"[a-z][a-z0-9-]{2,26}[a-z0-9]", name):
            problems.append(f"function {name}: service account fn-{name} would be invalid")
    return problems


def function_roles(tf: Terraform) -> dict[str, list[dict[str, str]]]:
    """``local.function_roles`` of iam.tf: function name -> [{role, on}, ...]."""
    roles = tf.locals().get("function_roles", {})
    return {name: list(grants) for name, grants in roles.items()}


def check_function_roles(
    manifest: dict[str, Any], tf: Terraform, secrets: set[str] | None = None
) -> list[str]:
    """Every manifest function has least-privilege grants, and no entry is extra."""
    problems: list[str] = []
    if tf.local_files().get("function_roles") != "iam.tf":
        problems.append("local.function_roles must be defined in terraform/iam.tf")
    roles = function_roles(tf)
    names = {fn["name"] for fn in manifest["functions"]}
    for name in sorted(names - set(roles)):
        problems.append(
            f"function {name} of platform.json has no entry in local.function_roles (terraform/iam.tf)"
        )
    for name in sorted(set(roles) - names):
        problems.append(f"local.function_roles has an entry for {name}, which platform.json lacks")
    secrets = set(tf.locals().get("secrets", {})) if secrets is None else secrets
    targets = {
        "bucket": set(manifest["buckets"]),
        "topic": set(manifest["topics"]),
        "kms": set(manifest["kmsKeys"]),
        "secret": secrets,
    }
    for name, grants in sorted(roles.items()):
        for grant in grants:
            role, on = str(grant.get("role", "")), str(grant.get("on", ""))
            kind, target = grant_target(on)
            where = f"function_roles[{name}] {role} on {on}"
            if set(grant) != {"role", "on"}:
                problems.append(f"{where}: a grant is exactly {{ role, on }}")
            if FORBIDDEN_FUNCTION_ROLES.match(role):
                problems.append(f"{where}: role too broad for a function")
            if kind not in GRANT_KINDS:
                problems.append(f"{where}: `on` must be project or bucket|topic|kms|secret:<name>")
            elif kind == "project":
                if target or role not in PROJECT_LEVEL_FUNCTION_ROLES:
                    problems.append(f"{where}: only Firestore roles may be granted at project level")
            elif target not in targets[kind]:
                problems.append(f"{where}: no {kind} named {target!r}")
    # Each kind of grant is applied by a resource on that one resource, for each grant.
    appliers = {
        "project": "google_project_iam_member",
        "bucket": "google_storage_bucket_iam_member",
        "topic": "google_pubsub_topic_iam_member",
        "kms": "google_kms_crypto_key_iam_member",
        "secret": "google_secret_manager_secret_iam_member",
    }
    for kind, rtype in appliers.items():
        applier = tf.resources(rtype).get("function")
        if applier is None or f'local.grants_by_kind["{kind}"]' not in str(applier.get("for_each")):
            problems.append(f'{rtype}.function must apply local.grants_by_kind["{kind}"]')
    return problems


def check_buckets(manifest: dict[str, Any], tf: Terraform) -> list[str]:
    """A bucket per manifest role; every bucket CMEK, uniform access, public access prevented."""
    problems: list[str] = []
    buckets = tf.resources("google_storage_bucket")
    data = buckets.get("data")
    if data is None or expr(data.get("for_each")) != "local.buckets":
        problems.append("google_storage_bucket.data must have for_each = local.buckets")
    elif "local.bucket_names[each.key]" not in str(data.get("name")):
        problems.append("bucket names must be local.bucket_names[each.key] (<prefix>-<role>)")
    local_values = tf.locals()
    for names, source in (("bucket_names", "local.buckets"), ("topic_names", "local.topics")):
        text = str(local_values.get(names, ""))
        if source not in text or '"${local.resource_prefix}-${role}"' not in text:
            problems.append(f"local.{names} must be <resource_prefix>-<role> (Settings.bucket/topic)")
    if 'coalesce(var.resource_prefix, "${var.project_id}-beamit")' not in str(
        local_values.get("resource_prefix")
    ):
        problems.append("local.resource_prefix must default to <project_id>-beamit")
    for role, spec in manifest["buckets"].items():
        if spec.get("kmsKey") not in manifest["kmsKeys"]:
            problems.append(f"bucket {role}: kmsKey {spec.get('kmsKey')!r} is not a manifest key")
    for name, body in buckets.items():
        encryption = block(body, "encryption") or {}
        if not encryption.get("default_kms_key_name"):
            problems.append(f"google_storage_bucket.{name}: no CMEK default_kms_key_name")
        if body.get("uniform_bucket_level_access") is not True:
            problems.append(f"google_storage_bucket.{name}: uniform_bucket_level_access must be true")
        if body.get("public_access_prevention") != "enforced":
            problems.append(f"google_storage_bucket.{name}: public_access_prevention must be enforced")
        if body.get("force_destroy") not in (False, None):
            problems.append(f"google_storage_bucket.{name}: force_destroy must be false")
    if data is not None:
        if (block(data, "versioning") or {}).get("enabled") is not True:
            problems.append("data buckets must be versioned")
        if not block(data, "soft_delete_policy"):
            problems.append("data buckets need a soft delete policy")
        if not block(data, "logging"):
            problems.append("data buckets must log access")
    return problems


def check_topics(manifest: dict[str, Any], tf: Terraform) -> list[str]:
    problems: list[str] = []
    topics = tf.resources("google_pubsub_topic")
    topic = topics.get("topic")
    if topic is None or expr(topic.get("for_each")) != "local.topics":
        problems.append("google_pubsub_topic.topic must have for_each = local.topics")
    for role, spec in manifest["topics"].items():
        if spec.get("kmsKey") not in manifest["kmsKeys"]:
            problems.append(f"topic {role}: kmsKey {spec.get('kmsKey')!r} is not a manifest key")
    for name, body in topics.items():
        if not body.get("kms_key_name"):
            problems.append(f"google_pubsub_topic.{name}: no kms_key_name")
        if not block(body, "message_storage_policy"):
            problems.append(f"google_pubsub_topic.{name}: messages must stay in the region")
    return problems


def check_kms_keys(manifest: dict[str, Any], tf: Terraform) -> list[str]:
    """Each manifest key is created by the resource for its purpose; CMEK keys rotate."""
    problems: list[str] = []
    keys = tf.resources("google_kms_crypto_key")
    local_values = tf.locals()
    by_purpose = {
        "ENCRYPT_DECRYPT": ("symmetric", "symmetric_kms_keys"),
        "ASYMMETRIC_SIGN": ("signing", "signing_kms_keys"),
    }
    for name, spec in manifest["kmsKeys"].items():
        purpose = spec.get("purpose")
        if purpose not in by_purpose:
            problems.append(f"KMS key {name}: purpose {purpose!r} has no google_kms_crypto_key")
    for purpose, (resource, selection) in by_purpose.items():
        body = keys.get(resource)
        if body is None or expr(body.get("for_each")) != f"local.{selection}":
            problems.append(f"google_kms_crypto_key.{resource} must have for_each = local.{selection}")
            continue
        if f'key.purpose == "{purpose}"' not in str(local_values.get(selection, "")):
            problems.append(f"local.{selection} must select the manifest's {purpose} keys")
        if (block(body, "lifecycle") or {}).get("prevent_destroy") is not True:
            problems.append(f"google_kms_crypto_key.{resource} must prevent_destroy")
    symmetric = keys.get("symmetric", {})
    if symmetric.get("rotation_period") != "7776000s":
        problems.append("symmetric keys must rotate every 90 days (7776000s)")
    ring = tf.resources("google_kms_key_ring").get("beamit")
    if ring is None or ring.get("location") != "${var.region}":
        problems.append("the key ring must be google_kms_key_ring.beamit in var.region")
    for name, body in keys.items():
        if body.get("key_ring") != "${google_kms_key_ring.beamit.id}":
            problems.append(f"google_kms_crypto_key.{name} must be in the beamit key ring")
    return problems


def expected_route_paths(manifest: dict[str, Any]) -> dict[str, list[str]]:
    """What local.route_paths must evaluate to: route p of an http function -> p and p/*."""
    return {
        fn["name"]: [path for route in fn["routes"] for path in (route, route.rstrip("/") + "/*")]
        for fn in manifest["functions"]
        if fn["trigger"]["type"] == "http" and fn.get("routes")
    }


def check_routes(manifest: dict[str, Any], tf: Terraform) -> list[str]:
    """The URL map's path rules are generated from the manifest routes, not written out."""
    problems: list[str] = []
    url_map = tf.resources("google_compute_url_map").get("https")
    if url_map is None:
        return ["no google_compute_url_map.https"]
    matcher = block(url_map, "path_matcher") or {}
    rule = dynamic(matcher, "path_rule")
    if rule is None or expr(rule.get("for_each")) != "local.route_paths":
        problems.append("the URL map's path_rule must be dynamic over local.route_paths")
    elif rule["content"].get("paths") != "${path_rule.value}" or \
            "google_compute_backend_service.function[path_rule.key]" not in str(rule["content"].get("service")):
        problems.append("each path rule must send path_rule.value to that function's backend")
    if matcher.get("path_rule"):
        problems.append("the URL map has hand-written path rules")
    route_paths = str(tf.locals().get("route_paths", ""))
    for needle in ("local.http_functions", "fn.routes", '"${trimsuffix(route, "/")}/*"'):
        if needle not in route_paths:
            problems.append(f"local.route_paths must be built from the manifest routes ({needle})")
    lb_text = tf.texts.get("loadbalancer.tf", "")
    for fn in manifest["functions"]:
        for route in fn.get("routes", []):
            if fn["trigger"]["type"] != "http":
                problems.append(f"function {fn['name']}: only http functions may have routes")
            if f'"{route}' in lb_text:
                problems.append(f"route {route} is hard-coded in loadbalancer.tf")
    paths = [p for ps in expected_route_paths(manifest).values() for p in ps]
    if len(paths) != len(set(paths)):
        problems.append("two functions serve the same route")
    for kind in ("google_compute_region_network_endpoint_group", "google_compute_backend_service"):
        body = tf.resources(kind).get("function")
        if body is None or expr(body.get("for_each")) != "local.http_functions":
            problems.append(f"{kind}.function must have for_each = local.http_functions")
    neg = tf.resources("google_compute_region_network_endpoint_group").get("function", {})
    # cloud_run.service is the Cloud Run service's short name, which a gen2 function's is (its
    # own name); service_config[0].service is the full projects/.../services/<name> path.
    if (block(neg, "cloud_run") or {}).get("service") != "${google_cloudfunctions2_function.function[each.key].name}":
        problems.append("serverless NEGs must name the function's Cloud Run service by its short name "
                        "(google_cloudfunctions2_function.function[each.key].name)")
    backend = tf.resources("google_compute_backend_service").get("function", {})
    if not backend.get("security_policy"):
        problems.append("backend services must have the Cloud Armor policy")
    default = tf.locals().get("default_http_function")
    if default not in {fn["name"] for fn in manifest["functions"] if fn["trigger"]["type"] == "http"}:
        problems.append(f"local.default_http_function {default!r} is not an http function")
    return problems


def check_triggers(manifest: dict[str, Any], tf: Terraform) -> list[str]:
    """gcs-finalize -> Eventarc on the bucket; pubsub-push -> push subscription; scheduler -> job."""
    problems: list[str] = []
    local_values = tf.locals()
    selections = {
        "gcs_functions": "gcs-finalize",
        "push_functions": "pubsub-push",
        "scheduled_functions": "scheduler",
        "http_functions": "http",
    }
    for selection, trigger in selections.items():
        if f'fn.trigger.type == "{trigger}"' not in str(local_values.get(selection, "")):
            problems.append(f"local.{selection} must select the {trigger} functions")
    for fn in manifest["functions"]:
        trigger = fn["trigger"]
        if trigger["type"] == "gcs-finalize" and trigger.get("bucket", "inbox") not in manifest["buckets"]:
            problems.append(f"function {fn['name']}: trigger bucket {trigger.get('bucket')!r} not declared")
        if trigger["type"] == "pubsub-push" and trigger.get("topic") not in manifest["topics"]:
            problems.append(f"function {fn['name']}: trigger topic {trigger.get('topic')!r} not declared")
        if trigger["type"] == "scheduler" and not trigger.get("schedule"):
            problems.append(f"function {fn['name']}: scheduler trigger without a schedule")

    function = tf.resources("google_cloudfunctions2_function").get("function", {})
    event = dynamic(function, "event_trigger")
    if event is None or '"gcs-finalize"' not in str(event.get("for_each")) \
            or "local.gcs_trigger_buckets[each.key]" not in str(event.get("for_each")):
        problems.append("gcs-finalize functions need a dynamic event_trigger on their bucket")
    else:
        content = event["content"]
        if content.get("event_type") != "google.cloud.storage.object.v1.finalized":
            problems.append("the gcs-finalize event type must be google.cloud.storage.object.v1.finalized")
        if content.get("retry_policy") != "RETRY_POLICY_RETRY":
            problems.append("the gcs-finalize trigger must retry")
        flt = block(content, "event_filters") or {}
        on_bucket = "google_storage_bucket.data[event_trigger.value]" in str(flt.get("value"))
        if flt.get("attribute") != "bucket" or not on_bucket:
            problems.append("the gcs-finalize trigger must filter on its manifest bucket")
    if 'try(fn.trigger.bucket, "inbox")' not in str(local_values.get("gcs_trigger_buckets", "")):
        problems.append("local.gcs_trigger_buckets must take trigger.bucket (inbox by default)")

    push = tf.resources("google_pubsub_subscription").get("push")
    if push is None or expr(push.get("for_each")) != "local.push_functions":
        problems.append("pubsub-push functions need google_pubsub_subscription.push (for_each local.push_functions)")
    else:
        if "local.push_trigger_topics[each.key]" not in str(push.get("topic")):
            problems.append("a push subscription must read its function's manifest topic")
        config = block(push, "push_config") or {}
        oidc = block(config, "oidc_token") or {}
        if not oidc.get("service_account_email") or not oidc.get("audience"):
            problems.append("push subscriptions must authenticate with an OIDC token and audience")
        retry = block(push, "retry_policy") or {}
        if (retry.get("minimum_backoff"), retry.get("maximum_backoff")) != ("10s", "600s"):
            problems.append("push retry policy must back off exponentially from 10s to 600s")
        if not (block(push, "dead_letter_policy") or {}).get("dead_letter_topic"):
            problems.append("push subscriptions need a dead-letter policy")
    job = tf.resources("google_cloud_scheduler_job").get("function")
    if job is None or expr(job.get("for_each")) != "local.scheduled_functions":
        problems.append(
            "scheduler functions need google_cloud_scheduler_job.function (for_each local.scheduled_functions)"
        )
    else:
        target = block(job, "http_target") or {}
        if job.get("schedule") != "${each.value.trigger.schedule}" or not block(target, "oidc_token"):
            problems.append("scheduler jobs must use the manifest schedule and an OIDC token")
    invokers = tf.resources("google_cloud_run_v2_service_iam_member")
    for name, selection in (("push_invoker", "push_functions"), ("eventarc_invoker", "gcs_functions"),
                            ("scheduler_invoker", "scheduled_functions"), ("public", "http_functions")):
        body = invokers.get(name)
        if body is None or expr(body.get("for_each")) != f"local.{selection}":
            problems.append(f"google_cloud_run_v2_service_iam_member.{name} must cover local.{selection}")
    return problems


def check_tls(tf: Terraform) -> list[str]:
    problems: list[str] = []
    policies = tf.resources("google_compute_ssl_policy")
    if not policies:
        return ["no google_compute_ssl_policy"]
    for name, body in policies.items():
        if body.get("min_tls_version") != "TLS_1_2":
            problems.append(f"ssl policy {name}: min_tls_version must be TLS_1_2")
        if body.get("profile") not in ("MODERN", "RESTRICTED"):
            problems.append(f"ssl policy {name}: profile must be MODERN or RESTRICTED")
    for name, body in tf.resources("google_compute_target_https_proxy").items():
        if "google_compute_ssl_policy." not in str(body.get("ssl_policy")):
            problems.append(f"https proxy {name} has no SSL policy")
    return problems


def _reference(value: Any, rtype: str) -> str | None:
    """The resource name ``value`` (``${rtype.<name>.id}``) refers to, if it is one of ``rtype``."""
    match = re.search(rf"\b{re.escape(rtype)}\.([\w-]+)\b", str(value))
    return match.group(1) if match else None


def check_plain_http_only_redirects(tf: Terraform) -> list[str]:
    """No API is served over plain HTTP: a forwarding rule not on 443 targets an HTTP proxy whose
    URL map has nothing but a redirect to HTTPS (no backend, no path rules)."""
    problems: list[str] = []
    proxies = tf.resources("google_compute_target_http_proxy")
    url_maps = tf.resources("google_compute_url_map")
    for name, rule in tf.resources("google_compute_global_forwarding_rule").items():
        where = f"google_compute_global_forwarding_rule.{name}"
        if str(rule.get("port_range")) == "443":
            if _reference(rule.get("target"), "google_compute_target_https_proxy") is None:
                problems.append(f"{where}: port 443 must target an HTTPS proxy")
            continue
        proxy = _reference(rule.get("target"), "google_compute_target_http_proxy")
        if proxy is None or proxy not in proxies:
            problems.append(f"{where}: port {rule.get('port_range')} must target an HTTP redirect proxy")
            continue
        url_map = url_maps.get(_reference(proxies[proxy].get("url_map"), "google_compute_url_map") or "")
        redirect = block(url_map or {}, "default_url_redirect") or {}
        if redirect.get("https_redirect") is not True:
            problems.append(f"{where}: its URL map must redirect to HTTPS")
        served = {"default_service", "path_matcher", "host_rule", "default_route_action"} & set(url_map or {})
        if served:
            problems.append(f"{where}: its URL map serves requests over plain HTTP ({', '.join(sorted(served))})")
    return problems


# Log entries that record full request URLs (QIDO-RS filters are names and birth dates, /s/ paths
# are share codes): the load balancer's request logs and Cloud Run's.
REQUEST_LOG_SOURCES = ('resource.type="http_load_balancer"',
                       '(resource.type="cloud_run_revision" AND log_id("run.googleapis.com/requests"))')
REQUEST_LOG_FILTER = "${local.request_log_filter}"
LOG_READER_ROLES = re.compile(r"^roles/logging\.(viewAccessor|privateLogViewer|admin)$")


def check_request_logs(tf: Terraform) -> list[str]:
    """Request logs stay out of ``_Default`` (which every project log viewer reads): a sink routes
    ``local.request_log_filter`` (which covers both sources) to a CMEK-encrypted log bucket, an
    exclusion keeps the same entries out of ``_Default``, and nothing grants project-wide roles
    that read every log bucket."""
    problems: list[str] = []
    text = str(tf.locals().get("request_log_filter", "")).replace('\\"', '"')
    for source in REQUEST_LOG_SOURCES:
        if source not in text:
            problems.append(f"local.request_log_filter must select {source}")
    sinks = {n: b for n, b in tf.resources("google_logging_project_sink").items()
             if b.get("filter") == REQUEST_LOG_FILTER}
    if not sinks:
        problems.append("no google_logging_project_sink routes local.request_log_filter")
    buckets = tf.resources("google_logging_project_bucket_config")
    for name, sink in sinks.items():
        bucket = buckets.get(_reference(sink.get("destination"), "google_logging_project_bucket_config") or "")
        if bucket is None:
            problems.append(f"google_logging_project_sink.{name} must route to a google_logging_project_bucket_config")
        elif "local.kms_key_ids[" not in str((block(bucket, "cmek_settings") or {}).get("kms_key_name")):
            problems.append(f"google_logging_project_sink.{name}: its log bucket must be encrypted with a CMEK key")
    exclusions = tf.resources("google_logging_project_exclusion").values()
    if not any(b.get("filter") == REQUEST_LOG_FILTER for b in exclusions):
        problems.append("no google_logging_project_exclusion keeps local.request_log_filter out of _Default")
    for name, grant in tf.resources("google_project_iam_member").items():
        if LOG_READER_ROLES.match(str(grant.get("role"))):
            problems.append(f"google_project_iam_member.{name} grants {grant['role']} on the project: "
                            "it reads the request log bucket (grant its view instead)")
    return problems


# --- order of creation: APIs, then what calls them ------------------------------------------------

SERVICES = "google_project_service.enabled"
# Enabled by hand before Terraform runs (docs/deploy.md, step 2): what Terraform itself needs
# to enable the rest, set project IAM and read the project.
BOOTSTRAP_APIS = frozenset({"serviceusage.googleapis.com", "cloudresourcemanager.googleapis.com"})

# The API each resource type (and "data.<type>" data source) calls. Every resource of these
# types must depend, through depends_on or references, on the project services
# (google_project_service.enabled, by way of the time_sleep that lets them settle); a type
# missing from this table and from NO_API_DEPENDENCY fails check_api_dependencies.
API_OF_TYPE: dict[str, str] = {
    **dict.fromkeys((
        "google_compute_backend_service", "google_compute_global_address",
        "google_compute_global_forwarding_rule", "google_compute_managed_ssl_certificate",
        "google_compute_region_network_endpoint_group", "google_compute_security_policy",
        "google_compute_ssl_policy", "google_compute_target_http_proxy",
        "google_compute_target_https_proxy", "google_compute_url_map",
    ), "compute.googleapis.com"),
    **dict.fromkeys((
        "google_service_account", "google_service_account_iam_member", "google_project_iam_custom_role",
    ), "iam.googleapis.com"),
    **dict.fromkeys((
        "google_kms_key_ring", "google_kms_crypto_key", "google_kms_crypto_key_iam_member",
    ), "cloudkms.googleapis.com"),
    **dict.fromkeys((
        "google_storage_bucket", "google_storage_bucket_iam_member", "google_storage_bucket_object",
        "data.google_storage_project_service_account",
    ), "storage.googleapis.com"),
    **dict.fromkeys((
        "google_firestore_database", "google_firestore_backup_schedule", "google_firestore_index",
        "google_firestore_field",
    ), "firestore.googleapis.com"),
    **dict.fromkeys((
        "google_pubsub_topic", "google_pubsub_topic_iam_member", "google_pubsub_subscription",
        "google_pubsub_subscription_iam_member",
    ), "pubsub.googleapis.com"),
    **dict.fromkeys((
        "google_secret_manager_secret", "google_secret_manager_secret_iam_member",
        "google_secret_manager_secret_version",
    ), "secretmanager.googleapis.com"),
    "google_cloudfunctions2_function": "cloudfunctions.googleapis.com",
    "google_cloud_run_v2_service_iam_member": "run.googleapis.com",
    "google_eventarc_google_channel_config": "eventarc.googleapis.com",
    "google_cloud_scheduler_job": "cloudscheduler.googleapis.com",
    **dict.fromkeys((
        "google_logging_project_sink", "google_logging_project_bucket_config", "google_logging_project_exclusion",
        "google_logging_log_view_iam_member", "data.google_logging_project_cmek_settings",
    ), "logging.googleapis.com"),
    **dict.fromkeys((
        "google_monitoring_notification_channel", "google_monitoring_alert_policy",
    ), "monitoring.googleapis.com"),
    # generateServiceIdentity (Service Usage) of a service that must itself be enabled.
    "google_project_service_identity": "serviceusage.googleapis.com",
}
# Google resource types that need no API of the list: Service Usage and Resource Manager
# (project IAM, the project itself) are on before Terraform runs.
NO_API_DEPENDENCY = frozenset({
    "google_project_service", "google_project_iam_member", "google_project_iam_audit_config",
    "data.google_project",
})

# A reference in an expression: type.name, data.type.name or local.name (hcl2 keeps
# expressions as text, "${google_storage_bucket.data[each.key].name}").
_REFERENCE = re.compile(r"(?<![\w.-])(data\.[a-z][\w-]*|[a-z][\w-]*)\.([\w-]+)")


def dependency_graph(tf: Terraform) -> dict[str, set[str]]:
    """``address -> addresses it refers to`` (references and depends_on), as Terraform orders them.

    Addresses are ``type.name`` of resources, ``data.type.name`` of data sources and
    ``local.name`` of locals, through which references pass.
    """
    bodies: dict[str, Any] = {}
    for rtype, name, body in tf.all_resources():
        bodies[f"{rtype}.{name}"] = body
    for dtype, name, body in tf.all_data_sources():
        bodies[f"data.{dtype}.{name}"] = body
    for name, value in tf.locals().items():
        bodies[f"local.{name}"] = value
    known_kinds = {address.rsplit(".", 1)[0] for address in bodies}
    graph: dict[str, set[str]] = {}
    for address, body in bodies.items():
        refs = {f"{kind}.{name}" for kind, name in _REFERENCE.findall(json.dumps(body)) if kind in known_kinds}
        graph[address] = refs - {address}
    return graph


def reaches(graph: dict[str, set[str]], start: str, target: str) -> bool:
    """Whether ``start`` depends on ``target``, directly or through other nodes."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        node = todo.pop()
        for ref in graph.get(node, set()):
            if ref == target:
                return True
            if ref not in seen:
                seen.add(ref)
                todo.append(ref)
    return False


def check_api_dependencies(tf: Terraform) -> list[str]:
    """Nothing calls an API before it is enabled and has settled.

    Every resource and data source of a type in API_OF_TYPE reaches google_project_service.enabled
    through depends_on or references; only time_sleep resources (with a create_duration) depend
    on it directly, so everything else waits for the APIs to settle; and each API the table names
    for the types in use is enabled by apis.tf (or on before Terraform runs).
    """
    problems: list[str] = []
    graph = dependency_graph(tf)
    enabled = set(re.findall(r"[a-z0-9]+\.googleapis\.com", str(tf.locals().get("services", ""))))
    addresses = [(f"{rtype}.{name}", rtype) for rtype, name, _ in tf.all_resources()]
    addresses += [(f"data.{dtype}.{name}", f"data.{dtype}") for dtype, name, _ in tf.all_data_sources()]
    for address, kind in sorted(addresses):
        if not kind.removeprefix("data.").startswith("google_") or kind in NO_API_DEPENDENCY:
            continue
        api = API_OF_TYPE.get(kind)
        if api is None:
            problems.append(f"{address}: {kind} is not in API_OF_TYPE (tests/infra/terraform_model.py): "
                            "name the API it calls")
            continue
        if api not in enabled | BOOTSTRAP_APIS:
            problems.append(f"{address}: needs {api}, which apis.tf does not enable")
        if not reaches(graph, address, SERVICES):
            problems.append(f"{address}: needs {api} but does not depend on {SERVICES} "
                            "(depends_on = [time_sleep.apis])")
    resources = dict(((f"{rtype}.{name}", body) for rtype, name, body in tf.all_resources()))
    for address, refs in sorted(graph.items()):
        if SERVICES in refs:
            if not address.startswith("time_sleep."):
                problems.append(f"{address}: depends on {SERVICES} directly; depend on time_sleep.apis, "
                                "so that the APIs settle first")
            elif not resources[address].get("create_duration"):
                problems.append(f"{address}: a settle time needs a create_duration")
    return problems


# IAM grants propagate in about 2 minutes, sometimes 7 or more (IAM: access change propagation).
# Resources whose creation checks a grant wait for it through a time_sleep.
CMEK_TYPES = ("google_storage_bucket", "google_pubsub_topic", "google_firestore_database",
              "google_secret_manager_secret", "google_eventarc_google_channel_config")
CMEK_AGENT_GRANTS = "google_kms_crypto_key_iam_member.service_agent"
# Checked by a function deployment: the build account's roles, the runtime account's secret
# access, the Cloud Storage agent's and the trigger account's roles for Eventarc.
FUNCTION_DEPLOY_GRANTS = (
    "google_project_iam_member.build", "google_project_iam_member.build_source_reader",
    "google_secret_manager_secret_iam_member.function", "google_project_iam_member.gcs_pubsub_publisher",
    "google_project_iam_member.eventarc_receiver",
)


def waits_for(graph: dict[str, set[str]], start: str, target: str) -> bool:
    """Whether ``start`` depends on ``target`` through a time_sleep (that settles it)."""
    return any(reaches(graph, start, node) and reaches(graph, node, target)
               for node in graph if node.startswith("time_sleep."))


def check_grant_ordering(tf: Terraform) -> list[str]:
    """What checks a grant when it is created waits for the grant to propagate.

    CMEK resources wait for their service agents' key grants; functions wait for the grants
    their deployment checks, and for the Eventarc Google channel's CMEK configuration, which
    must be in place before a gcs-finalize function creates its trigger.
    """
    problems: list[str] = []
    graph = dependency_graph(tf)
    for rtype in CMEK_TYPES:
        for name in tf.resources(rtype):
            if not waits_for(graph, f"{rtype}.{name}", CMEK_AGENT_GRANTS):
                problems.append(f"{rtype}.{name}: must wait (time_sleep) for {CMEK_AGENT_GRANTS}")
    channels = [f"google_eventarc_google_channel_config.{name}"
                for name in tf.resources("google_eventarc_google_channel_config")]
    for name, body in tf.resources("google_cloudfunctions2_function").items():
        address = f"google_cloudfunctions2_function.{name}"
        for grant in FUNCTION_DEPLOY_GRANTS:
            if not waits_for(graph, address, grant):
                problems.append(f"{address}: must wait (time_sleep) for {grant}")
        if dynamic(body, "event_trigger") or block(body, "event_trigger"):
            for channel in channels:
                if not reaches(graph, address, channel):
                    problems.append(f"{address}: creates Eventarc triggers, so must depend on {channel}")
    return problems


SECRET_VERSION = "google_secret_manager_secret_version.value"


def check_secret_versions(tf: Terraform) -> list[str]:
    """Every secret a function mounts has a version, created by Terraform before the function,
    from a value that stays out of the plan, the state and the repository.

    google_secret_manager_secret_version.value covers local.secrets with write-only arguments
    (secret_data_wo + secret_data_wo_version, never secret_data, which the provider stores in
    the state); local.secret_values gives each secret its value, and any variable feeding it is
    sensitive and ephemeral; functions mount that version (a reference, so it exists first),
    never "latest".
    """
    problems: list[str] = []
    version = tf.resources("google_secret_manager_secret_version").get("value")
    if version is None or expr(version.get("for_each")) != "local.secrets":
        return [f"{SECRET_VERSION} must exist with for_each = local.secrets"]
    if "secret_data" in version:
        problems.append(f"{SECRET_VERSION}: secret_data lands in the state; use secret_data_wo")
    if version.get("secret_data_wo") != "${local.secret_values[each.key]}" or "secret_data_wo_version" not in version:
        problems.append(
            f"{SECRET_VERSION}: secret_data_wo = local.secret_values[each.key], with secret_data_wo_version")
    local_values = tf.locals()
    values = local_values.get("secret_values") or {}
    missing = sorted(set(local_values.get("secrets", {})) - set(values))
    if missing:
        problems.append(f"local.secret_values has no value for {', '.join(missing)}")
    variables = {name: body for doc in tf.files.values() for block in doc.get("variable", [])
                 for name, body in block.items()}
    for name in sorted(set(re.findall(r"\bvar\.(\w+)", json.dumps(values)))):
        body = variables.get(name, {})
        if body.get("sensitive") is not True or body.get("ephemeral") is not True:
            problems.append(f"var.{name} feeds a secret value: it must be sensitive and ephemeral")
    for name, value in values.items():
        if "${" not in str(value):
            problems.append(f"local.secret_values[{name}] is a literal: secret values never live in the repository")
    graph = dependency_graph(tf)
    for name, function in tf.resources("google_cloudfunctions2_function").items():
        mount = dynamic(block(function, "service_config") or {}, "secret_environment_variables")
        if mount is None:
            continue
        mounted = mount["content"].get("version")
        if mounted != f"${{{SECRET_VERSION}[secret_environment_variables.value].version}}":
            problems.append(f"google_cloudfunctions2_function.{name} mounts secret version {mounted!r}: "
                            f"mount {SECRET_VERSION}[...].version, which exists before the function")
        if not reaches(graph, f"google_cloudfunctions2_function.{name}", SECRET_VERSION):
            problems.append(f"google_cloudfunctions2_function.{name} must depend on {SECRET_VERSION}")
    return problems


# google_firestore_backup_schedule.retention: "For a daily backup recurrence, set this to a
# value up to 7 days. If you set a weekly backup recurrence, set this to a value up to 14 weeks."
BACKUP_RETENTION_LIMITS = {"daily_recurrence": 7 * 86400, "weekly_recurrence": 14 * 7 * 86400}
WEEKDAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")


def check_firestore_backups(tf: Terraform) -> list[str]:
    """Each backup schedule keeps its backups no longer than its recurrence allows.

    A database takes at most one daily and one weekly schedule; BeamIt keeps both, the weekly
    one for the longest retention Firestore offers (14 weeks).
    """
    problems: list[str] = []
    seen: dict[tuple[str, str], str] = {}
    longest: dict[str, int] = {}
    for name, body in tf.resources("google_firestore_backup_schedule").items():
        where = f"google_firestore_backup_schedule.{name}"
        recurrences = [r for r in BACKUP_RETENTION_LIMITS if r in body]
        if len(recurrences) != 1:
            problems.append(f"{where}: exactly one of daily_recurrence, weekly_recurrence")
            continue
        recurrence = recurrences[0]
        match = re.fullmatch(r"(\d+)s", str(body.get("retention", "")))
        if match is None:
            problems.append(f"{where}: retention must be literal seconds, e.g. \"604800s\"")
            continue
        seconds = int(match.group(1))
        if seconds > BACKUP_RETENTION_LIMITS[recurrence]:
            problems.append(f"{where}: retention {seconds}s exceeds the {recurrence} limit of "
                            f"{BACKUP_RETENTION_LIMITS[recurrence]}s")
        if recurrence == "weekly_recurrence" and (block(body, recurrence) or {}).get("day") not in WEEKDAYS:
            problems.append(f"{where}: weekly_recurrence needs a day of the week")
        key = (str(body.get("database")), recurrence)
        if key in seen:
            problems.append(f"{where}: a database takes one {recurrence} schedule ({seen[key]} is one)")
        seen[key] = where
        longest[recurrence] = max(longest.get(recurrence, 0), seconds)
    if longest.get("weekly_recurrence") != BACKUP_RETENTION_LIMITS["weekly_recurrence"]:
        problems.append("the database needs a weekly backup schedule kept 14 weeks (8467200s)")
    return problems


_INLINE_SKIP = re.compile(r"#\s*checkov:skip=(CKV2?_[A-Z]+_\d+):")


def inline_checkov_skips(tf: Terraform) -> set[tuple[str, str]]:
    """``(check id, "type.name")`` of every inline ``#checkov:skip`` comment."""
    found: set[tuple[str, str]] = set()
    for text in tf.texts.values():
        current = None
        for line in text.splitlines():
            start = re.match(r'resource "([\w-]+)" "([\w-]+)"', line)
            if start:
                current = f"{start.group(1)}.{start.group(2)}"
            skip = _INLINE_SKIP.search(line)
            if skip and current:
                found.add((skip.group(1), current))
    return found


def documented_checkov_skips(config_text: str) -> set[tuple[str, str]]:
    """``(check id, "type.name")`` listed in the comments of terraform/.checkov.yaml."""
    return set(re.findall(r"^#\s*-\s*(CKV2?_[A-Z]+_\d+)\s+([\w-]+\.[\w-]+):", config_text, re.M))
