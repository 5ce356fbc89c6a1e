// Webhooks: create (secret shown once), enable/disable, rotate the secret, send a test event,
// delete; each endpoint's delivery log with its attempts (status, latency), redeliver.

import * as session from "./session.js";
import {
  badge, clear, confirm, dialog, emptyState, errorBox, field, h, heading, loading, shownOnce, table, time, toast,
} from "./ui.js";

const EVENTS = [
  ["study.received", "A study was stored"],
  ["study.shared", "A share link was created"],
  ["share.accessed", "A patient opened a share link"],
  ["share.expired", "A share link expired"],
];
const DELIVERY_STATUSES = ["pending", "retrying", "succeeded", "failed"];

export function render(root, { rest }) {
  if (rest.length) return renderEndpoint(root, rest[0]);
  return renderList(root);
}

function eventChecks(selected) {
  return h("fieldset", { class: "checks" }, h("legend", { text: "Events" }),
    ...EVENTS.map(([type, label]) => h("label", { class: "check" },
      h("input", { type: "checkbox", name: "events", value: type, checked: selected.includes(type) }),
      ` ${label} `, h("code", { text: type }))));
}

async function createEndpoint(refresh) {
  const created = await dialog("Add a webhook endpoint", (form) => {
    const url = h("input", { type: "url", required: true, placeholder: "https://example.com/webhooks/beamit",
      spellcheck: "false" });
    const description = h("input", { maxLength: 500 });
    const events = eventChecks(["study.received"]);
    form.append(field("Endpoint URL", url, "BeamIt POSTs signed JSON events here (https; in the sandbox also " +
      "http to your own machine)."), events, field("Description (optional)", description));
    return () => {
      const chosen = [...events.querySelectorAll("input:checked")].map((box) => box.value);
      if (!chosen.length) throw new Error("Choose at least one event.");
      return session.apiJson("POST", "/v1/webhooks",
        { url: url.value.trim(), events: chosen, description: description.value.trim() });
    };
  }, { submitLabel: "Add endpoint" });
  if (!created) return;
  refresh();
  await showSecret("Endpoint added", created.secret);
}

function showSecret(title, secret) {
  return dialog(title, (form) => {
    form.append(shownOnce("Signing secret", secret,
      "Store it in your secret store now: BeamIt keeps it encrypted and never shows it again. Verify each " +
      "delivery's signature with it (docs/webhooks.md)."));
    return () => true;
  }, { submitLabel: "I have stored it" });
}

async function renderList(root) {
  const add = h("button", { type: "button", class: "primary", text: "Add endpoint" });
  const results = h("div", { class: "results" });
  const refresh = () => load(results);
  add.addEventListener("click", () => createEndpoint(refresh));
  clear(root, heading("Webhooks", add), results);
  return refresh();
}

async function load(results) {
  clear(results, loading());
  const page = await session.apiJson("GET", "/v1/webhooks").catch((error) => error);
  if (page instanceof Error) return clear(results, errorBox(page));
  if (!page.data.length) {
    return clear(results, emptyState("No webhook endpoints yet",
      "Add an endpoint to have BeamIt tell your systems when studies arrive and share links are used."));
  }
  clear(results, h("ul", { class: "cards" },
    ...page.data.map((endpoint) => h("li", { class: "card" }, endpointSummary(endpoint, () => load(results), true)))));
}

function endpointStatus(endpoint) {
  const parts = [badge(endpoint.enabled ? "enabled" : "disabled")];
  if (endpoint.disabledReason) parts.push(h("span", { class: "muted", text: ` ${endpoint.disabledReason}` }));
  if (endpoint.failingSince) parts.push(" ", badge(`failing since ${time(endpoint.failingSince)}`, "warning"));
  return h("p", {}, ...parts);
}

function endpointSummary(endpoint, refresh, linked) {
  const title = linked
    ? h("a", { href: `#/webhooks/${endpoint.id}`, class: "endpoint-url", text: endpoint.url })
    : h("span", { class: "endpoint-url", text: endpoint.url });
  return h("div", { class: "endpoint", dataset: { endpoint: endpoint.id } },
    h("h2", {}, title),
    endpoint.description ? h("p", { text: endpoint.description }) : null,
    endpointStatus(endpoint),
    h("p", { class: "muted" }, "Events: ", ...endpoint.events.map((e) => h("code", { text: `${e} ` }))),
    endpointActions(endpoint, refresh, linked));
}

function endpointActions(endpoint, refresh, linked) {
  const test = h("button", { type: "button", class: "primary", text: "Send test event" });
  test.addEventListener("click", () => sendTest(endpoint, refresh));
  const toggle = h("button", { type: "button", class: "secondary", text: endpoint.enabled ? "Disable" : "Enable" });
  toggle.addEventListener("click", async () => {
    try {
      await session.apiJson("PATCH", `/v1/webhooks/${endpoint.id}`, { enabled: !endpoint.enabled });
      toast(endpoint.enabled ? "The endpoint is disabled: it receives no events." : "The endpoint is enabled.");
    } catch (error) {
      toast(error.message, "error");
    }
    refresh();
  });
  const rotate = h("button", { type: "button", class: "secondary", text: "Rotate secret" });
  rotate.addEventListener("click", () => rotateSecret(endpoint, refresh));
  const remove = h("button", { type: "button", class: "danger", text: "Delete" });
  remove.addEventListener("click", async () => {
    if (!await confirm("Delete the endpoint?", "It stops receiving events, and its delivery log is deleted.",
      "Delete")) return;
    try {
      await session.apiJson("DELETE", `/v1/webhooks/${endpoint.id}`);
      toast("The endpoint was deleted.");
      if (!linked) location.hash = "#/webhooks";
    } catch (error) {
      toast(error.message, "error");
    }
    refresh();
  });
  return h("div", { class: "row-actions" }, test, toggle, rotate,
    linked ? h("a", { class: "button secondary", href: `#/webhooks/${endpoint.id}`, text: "Delivery log" }) : null,
    remove);
}

async function sendTest(endpoint, refresh) {
  const delivery = await dialog("Send a test event", (form) => {
    const type = h("select", {}, ...EVENTS.map(([value]) => h("option", { value, text: value })));
    type.value = endpoint.events[0];
    form.append(h("p", { text: "BeamIt sends one event with made-up sample data, signed like every delivery and " +
      "marked \"test\": true. It is attempted once and never retried." }), field("Event type", type));
    return () => session.apiJson("POST", `/v1/webhooks/${endpoint.id}/test`, { type: type.value });
  }, { submitLabel: "Send" });
  if (!delivery) return;
  const attempt = delivery.attempts[delivery.attempts.length - 1] || {};
  if (delivery.status === "succeeded") {
    toast(`Test event delivered: HTTP ${attempt.statusCode} in ${attempt.latencyMs} ms.`);
  } else {
    toast(`The test event was not accepted: ${attempt.error || `HTTP ${attempt.statusCode}`}.`, "error");
  }
  refresh();
}

async function rotateSecret(endpoint, refresh) {
  const rotated = await dialog("Rotate the signing secret", (form) => {
    const overlap = h("select", {}, h("option", { value: "86400", text: "24 hours (recommended)" }),
      h("option", { value: "3600", text: "1 hour" }), h("option", { value: "604800", text: "7 days" }),
      h("option", { value: "0", text: "No overlap: the old secret stops now" }));
    form.append(h("p", { text: "A new secret is made. During the overlap, deliveries carry signatures with both " +
      "secrets, so you can deploy the new one at your own pace." }), field("Keep the old secret valid for", overlap));
    return () => session.apiJson("POST", `/v1/webhooks/${endpoint.id}/rotate-secret`,
      { overlapSeconds: Number(overlap.value) });
  }, { submitLabel: "Rotate" });
  if (!rotated) return;
  refresh();
  await showSecret("New signing secret", rotated.secret);
}

// -- one endpoint and its delivery log ----------------------------------------------------------------

async function renderEndpoint(root, id) {
  clear(root, loading());
  const endpoint = await session.apiJson("GET", `/v1/webhooks/${encodeURIComponent(id)}`).catch((error) => error);
  if (endpoint instanceof Error) {
    if (endpoint.status !== 404) return clear(root, errorBox(endpoint));
    return clear(root, heading("Endpoint not found"), emptyState("Endpoint not found",
      "There is no such webhook endpoint in this workspace. It may have been deleted, or it belongs to another " +
      "workspace.", h("a", { class: "button secondary", href: "#/webhooks", text: "Back to webhooks" })));
  }
  const log = h("div", { class: "results" });
  const status = h("select", {}, h("option", { value: "", text: "All" }),
    ...DELIVERY_STATUSES.map((s) => h("option", { value: s, text: s })));
  const state = { items: [], hasMore: false };
  const summary = h("div");
  const refresh = async () => {
    const fresh = await session.apiJson("GET", `/v1/webhooks/${endpoint.id}`).catch(() => null);
    if (fresh) clear(summary, endpointSummary(fresh, refresh, false));
    await loadDeliveries(log, endpoint.id, status.value, state, false);
  };
  status.addEventListener("change", () => loadDeliveries(log, endpoint.id, status.value, state, false));
  clear(summary, endpointSummary(endpoint, refresh, false));
  clear(root, heading("Webhook endpoint", h("a", { class: "button secondary", href: "#/webhooks", text: "All endpoints" })),
    h("section", { class: "card" }, summary),
    h("h2", { text: "Delivery log" }), h("div", { class: "filters inline" }, field("Status", status)), log);
  return loadDeliveries(log, endpoint.id, "", state, false);
}

async function loadDeliveries(log, endpointId, status, state, more) {
  if (!more) clear(log, loading());
  const query = new URLSearchParams({ limit: "25" });
  if (status) query.set("status", status);
  if (more && state.items.length) query.set("startingAfter", state.items[state.items.length - 1].id);
  const page = await session.apiJson("GET", `/v1/webhooks/${endpointId}/deliveries?${query}`).catch((error) => error);
  if (page instanceof Error) return clear(log, errorBox(page));
  state.items = more ? state.items.concat(page.data) : page.data;
  state.hasMore = page.hasMore;
  if (!state.items.length) {
    return clear(log, emptyState("No deliveries yet", "Events this endpoint subscribes to appear here as they are " +
      "sent. Send a test event to try it now."));
  }
  const rows = state.items.flatMap((delivery) => deliveryRows(delivery, endpointId,
    () => loadDeliveries(log, endpointId, status, state, false)));
  const moreButton = state.hasMore ? h("button", { type: "button", class: "secondary", text: "Load more" }) : null;
  if (moreButton) moreButton.addEventListener("click", () => loadDeliveries(log, endpointId, status, state, true));
  clear(log, table(["Sent", "Event", "Status", "Attempts", "Last answer", "Latency", "Next attempt", ""], rows,
    "Deliveries"), moreButton);
}

function deliveryRows(delivery, endpointId, reload) {
  const redeliver = h("button", { type: "button", class: "secondary", text: "Redeliver" });
  redeliver.addEventListener("click", async () => {
    try {
      const after = await session.apiJson("POST", `/v1/webhooks/${endpointId}/deliveries/${delivery.id}/redeliver`);
      toast(after.status === "succeeded" ? "Redelivered." : `Redelivery failed: ${after.failureReason ||
        `HTTP ${after.lastStatusCode}`}; it will be retried.`, after.status === "succeeded" ? "ok" : "error");
    } catch (error) {
      toast(error.message, "error");
    }
    reload();
  });
  const attemptsId = `attempts-${delivery.id}`;
  const toggle = h("button", { type: "button", class: "link", text: "Attempts", "aria-expanded": "false",
    "aria-controls": attemptsId });
  const detail = h("tr", { id: attemptsId, class: "detail", hidden: true },
    h("td", { colSpan: 8 }, h("ol", { class: "attempts" }, ...delivery.attempts.map((a) => h("li", {},
      `${time(a.at)}: ${a.statusCode === null ? "no answer" : `HTTP ${a.statusCode}`}, ${a.latencyMs} ms`,
      a.error ? ` (${a.error})` : "")))));
  toggle.addEventListener("click", () => {
    detail.hidden = !detail.hidden;
    toggle.setAttribute("aria-expanded", String(!detail.hidden));
  });
  const row = h("tr", { dataset: { delivery: delivery.id } },
    h("td", { text: time(delivery.createdAt) }),
    h("td", {}, h("code", { text: delivery.eventType }), delivery.test ? [" ", badge("test", "info")] : null),
    h("td", {}, badge(delivery.status), delivery.failureReason ? h("small", { class: "muted",
      text: ` ${delivery.failureReason}` }) : null),
    h("td", { class: "number", text: String(delivery.attemptCount) }),
    h("td", { text: delivery.lastStatusCode === null ? "—" : `HTTP ${delivery.lastStatusCode}` }),
    h("td", { class: "number", text: delivery.lastLatencyMs === null ? "—" : `${delivery.lastLatencyMs} ms` }),
    h("td", { text: delivery.nextAttemptAt ? time(delivery.nextAttemptAt) : "—" }),
    h("td", {}, h("div", { class: "row-actions" }, toggle, redeliver)));
  return [row, detail];
}
