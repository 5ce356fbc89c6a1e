// Audit: search the trail by study, principal, action and time; each record as a sentence
// (who, what, when, from where) with its details; verify the hash chains; export the FHIR
// AuditEvent bundle.

import * as session from "./session.js";
import {
  badge, clear, download, emptyState, errorBox, field, h, heading, loading, shortUid, time, toast,
} from "./ui.js";

// What each API operation means, in words; the filter offers these.
const ACTIONS = {
  "GET /v1/auth/authorize": "opened the sign-in page",
  "POST /v1/auth/authorize": "signed in",
  "POST /v1/auth/token": "was issued tokens",
  "POST /v1/auth/revoke": "signed out (revoked a token)",
  "POST /v1/shares": "created a share link",
  "GET /v1/shares/<share_id>": "looked at a share link",
  "POST /v1/shares/<share_id>/revoke": "revoked a share link",
  "DELETE /v1/shares/<share_id>": "revoked a share link",
  "POST /v1/shares/<share_id>/extend": "extended a share link",
  "POST /v1/shares/<share_id>/reissue": "re-issued a share link",
  "POST /v1/webhooks": "added a webhook endpoint",
  "PATCH /v1/webhooks/<endpoint_id>": "changed a webhook endpoint",
  "DELETE /v1/webhooks/<endpoint_id>": "deleted a webhook endpoint",
  "POST /v1/webhooks/<endpoint_id>/rotate-secret": "rotated a webhook signing secret",
  "POST /v1/webhooks/<endpoint_id>/test": "sent a webhook test event",
  "POST /v1/webhooks/<endpoint_id>/deliveries/<delivery_id>/redeliver": "redelivered a webhook event",
  "POST /v1/api-keys": "created an API key",
  "DELETE /v1/api-keys/<key_id>": "revoked an API key",
  "POST /v1/auth/users": "added a user",
  "GET /v1/auth/users": "listed the users",
  "GET /v1/api-keys": "listed the API keys",
  "GET /v1/webhooks": "listed the webhook endpoints",
  "GET /v1/shares": "listed the share links",
  "GET /v1/audit": "searched the audit trail",
  "POST /v1/auth/clients": "registered an OAuth client",
  "GET /v1/dicomweb/studies": "searched for studies",
  "POST /v1/dicomweb/studies": "stored instances (STOW-RS)",
  "GET /v1/dicomweb/studies/<study>/metadata": "read a study's metadata",
  "GET /v1/dicomweb/studies/<study>": "retrieved a study",
  "POST /v1/sandbox/seed": "added synthetic studies",
  "POST /v1/sandbox/reset": "reset the sandbox data",
  "GET /v1/audit/export": "exported the audit trail",
  "GET /v1/audit/verify": "verified the audit trail",
  "GET /s/<code>": "opened a share link",
  "POST /s/api/verification": "asked for a verification code",
  "POST /s/api/session": "entered a verification code",
};
const VERBS = { GET: "read", POST: "called", PATCH: "changed", DELETE: "deleted", PUT: "replaced" };
const filters = { study: "", principal: "", action: "", since: "", until: "" };
let people = new Map();

function describeAction(record) {
  const words = ACTIONS[record.action];
  if (words) return words;
  const [method, route] = (record.action || "").split(" ");
  return `${VERBS[method] || method} ${route}`;
}

function who(record) {
  const principal = record.principal || "";
  const ws = session.currentWorkspace();
  const via = record.credentialId && record.credentialId !== principal
    ? (record.credentialId === ws.clientId ? " in the dashboard" : ` with ${record.credentialId}`) : "";
  if (principal.startsWith("usr_")) return `${people.get(principal) || `User ${principal}`}${via}`;
  if (principal.startsWith("key_")) return `API key ${principal}`;
  if (principal.startsWith("cli_")) return principal === ws.clientId ? "The dashboard" : `App ${principal}`;
  if (principal.startsWith("share_")) return `The recipient of ${principal}`;
  return principal || "Someone unknown";
}

function outcome(record) {
  const status = record.outcome;
  if (status < 400) return badge(`ok ${status}`, "succeeded");
  if (status < 500) return badge(`refused ${status}`, "failed");
  return badge(`error ${status}`, "failed");
}

function about(record) {
  const r = record.resources || {};
  const parts = [];
  if (r.studies && r.studies.length) parts.push(`study ${r.studies.map(shortUid).slice(0, 3).join(", ")}` +
    (r.studies.length > 3 ? ` and ${r.studies.length - 3} more` : ""));
  for (const [name, label] of [["share", "share"], ["webhook", "endpoint"], ["apiKey", "key"], ["delivery", "delivery"],
    ["user", "user"], ["oauthClient", "client"]]) {
    if (r[name]) parts.push(`${label} ${r[name]}`);
  }
  const d = record.details || {};
  if (d.event === "login") parts.push(d.result === "success" ? "successfully" : `unsuccessfully (${d.reason || d.result})`);
  if (d.grantType) parts.push(`(${d.grantType.replace("_", " ")})`);
  return parts.join(", ");
}

function client(agent) {
  if (!agent) return "";
  const browser = /(Firefox|Edg|Chrome|Safari)\/[\d.]+/.exec(agent);
  return browser ? browser[0].replace("Edg", "Edge") : agent.slice(0, 40);
}

function recordItem(record) {
  return h("li", { class: "record", dataset: { record: record.id } },
    h("p", { class: "sentence" }, h("strong", { text: who(record) }), ` ${describeAction(record)}`,
      about(record) ? ` — ${about(record)}` : "", " ", outcome(record), record.phi ? [" ", badge("PHI", "warning")] : null),
    h("p", { class: "muted" }, h("time", { datetime: record.time, text: time(record.time) }),
      record.sourceIp ? ` from ${record.sourceIp}` : "", record.userAgent ? ` (${client(record.userAgent)})` : ""),
    h("details", {}, h("summary", { text: "Details" }),
      h("dl", { class: "facts" },
        h("dt", { text: "Operation" }), h("dd", {}, h("code", { text: record.action })),
        h("dt", { text: "Event code" }), h("dd", { text: record.eventCode }),
        h("dt", { text: "Principal" }), h("dd", { text: record.principal || "—" }),
        h("dt", { text: "Credential" }), h("dd", { text: record.credentialId || "—" }),
        h("dt", { text: "Request" }), h("dd", { text: record.requestId || "—" }),
        h("dt", { text: "Resources" }), h("dd", {}, h("code", { text: JSON.stringify(record.resources) })),
        h("dt", { text: "Details" }), h("dd", {}, h("code", { text: JSON.stringify(record.details) })),
        h("dt", { text: "Chain" }), h("dd", { class: "uid", text: `${record.chain.id} #${record.chain.seq} ` +
          `${(record.chain.hash || "").slice(0, 16)}…` }))));
}

function query(extra) {
  const params = new URLSearchParams(extra);
  for (const name of ["study", "principal", "action"]) if (filters[name]) params.set(name, filters[name]);
  if (filters.since) params.set("since", new Date(filters.since).toISOString());
  if (filters.until) params.set("until", new Date(filters.until).toISOString());
  return params;
}

export async function render(root) {
  if (session.has("keys:manage") && !people.size) {
    const users = await session.apiJson("GET", "/v1/auth/users").catch(() => ({ data: [] }));
    people = new Map(users.data.map((u) => [u.id, u.email]));
  }
  const study = h("input", { value: filters.study, spellcheck: "false" });
  const principal = h("input", { value: filters.principal, spellcheck: "false", placeholder: "usr_…, key_… or cli_…" });
  const action = h("select", {}, h("option", { value: "", text: "Any" }),
    ...Object.entries(ACTIONS).map(([value, words]) => h("option", { value, text: `${words} (${value})` })));
  action.value = filters.action;
  const since = h("input", { type: "datetime-local", value: filters.since });
  const until = h("input", { type: "datetime-local", value: filters.until });
  const results = h("div", { class: "results" });
  const form = h("form", { class: "filters", role: "search", "aria-label": "Search the audit trail" },
    field("Study Instance UID", study), field("Who", principal),
    field("Action", action), field("From", since), field("Until", until),
    h("div", { class: "filter-actions" }, h("button", { type: "submit", class: "primary", text: "Search" })));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    Object.assign(filters, { study: study.value.trim(), principal: principal.value.trim(), action: action.value,
      since: since.value, until: until.value });
    load(results, null);
  });
  const verify = h("button", { type: "button", class: "secondary", text: "Verify the chain" });
  const exportButton = h("button", { type: "button", class: "secondary", text: "Export (FHIR)" });
  const report = h("div", { "aria-live": "polite" });
  verify.addEventListener("click", () => verifyChain(verify, report));
  exportButton.addEventListener("click", () => exportBundle(exportButton, report));
  clear(root, heading("Audit trail", verify, exportButton), report, form, results);
  return load(results, null);
}

async function load(results, cursor) {
  const list = cursor ? results.querySelector("ol") : null;
  if (!cursor) clear(results, loading());
  const page = await session.apiJson("GET", `/v1/audit?${query({ limit: "50", ...(cursor ? { cursor } : {}) })}`)
    .catch((error) => error);
  if (page instanceof Error) return clear(results, errorBox(page));
  if (!cursor && !page.data.length) {
    return clear(results, emptyState("No records match", "Every API call is recorded; widen the filters or the time range."));
  }
  const items = page.data.map(recordItem);
  const more = page.nextCursor ? h("button", { type: "button", class: "secondary", text: "Load more" }) : null;
  if (more) more.addEventListener("click", () => { more.remove(); load(results, page.nextCursor); });
  if (list) {
    list.append(...items);
    if (more) results.append(more);
  } else {
    clear(results, h("ol", { class: "records", "aria-label": "Audit records, newest first" }, ...items), more);
  }
}

async function verifyChain(button, report) {
  clear(report, loading("Checking every record's hash and link…"));
  button.disabled = true;
  try {
    const result = await session.apiJson("GET", "/v1/audit/verify");
    clear(report, result.valid
      ? h("p", { class: "notice ok", role: "status", text: `The audit trail is intact: ${result.records} records in ` +
        `${result.chains} chains, checked ${time(result.checkedAt)}.` })
      : h("div", { class: "notice error", role: "alert" },
        h("p", { text: `The audit trail has ${result.problems.length} problem(s): records were changed, removed or ` +
          "inserted outside BeamIt." }),
        h("ul", {}, ...result.problems.slice(0, 20).map((p) => h("li", {
          text: `${p.problem.replace("_", " ")} in chain ${p.chain}${p.seq === null ? "" : ` at #${p.seq}`}` +
            `${p.recordId ? ` (${p.recordId})` : ""}` })))));
  } catch (error) {
    clear(report, errorBox(error));
  } finally {
    button.disabled = false;
  }
}

const EXPORT_PAGES = 20;

async function exportBundle(button, report) {
  button.disabled = true;
  const progress = h("progress", { max: EXPORT_PAGES, value: 0 });
  const text = h("span", { text: "Exporting…" });
  clear(report, h("p", { class: "notice", role: "status" }, text, " ", progress));
  try {
    let path = `/v1/audit/export?${query({ format: "fhir", limit: "1000" })}`;
    let bundle = null;
    for (let page = 0; path && page < EXPORT_PAGES; page += 1) {
      const next = await session.apiJson("GET", path);
      if (bundle) bundle.entry.push(...(next.entry || []));
      else bundle = { ...next, entry: next.entry || [] };
      text.textContent = `Exported ${bundle.entry.length.toLocaleString()} records…`;
      progress.value = page + 1;
      const link = (next.link || []).find((l) => l.relation === "next");
      path = link ? new URL(link.url).pathname + new URL(link.url).search : null;
    }
    bundle.link = (bundle.link || []).filter((l) => l.relation === "self");
    bundle.total = bundle.entry.length;
    download(new Blob([JSON.stringify(bundle, null, 2)], { type: "application/fhir+json" }),
      `audit-events-${new Date().toISOString().slice(0, 10)}.fhir.json`);
    clear(report, h("p", { class: "notice ok", role: "status",
      text: `Exported ${bundle.entry.length.toLocaleString()} AuditEvent resources (FHIR R4 Bundle)` +
        (path ? ". More records match: narrow the time range to export the rest." : ".") }));
    toast("The export was downloaded.");
  } catch (error) {
    clear(report, errorBox(error));
  } finally {
    button.disabled = false;
  }
}
