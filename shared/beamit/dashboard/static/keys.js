// API keys: create with scopes (the key is shown once), list, revoke.

import * as session from "./session.js";
import {
  badge, clear, confirm, dialog, emptyState, errorBox, field, h, heading, loading, shownOnce, table, time, toast,
} from "./ui.js";

const SCOPES = [
  ["studies:read", "Search and retrieve studies"],
  ["studies:write", "Store studies"],
  ["shares:read", "See share links"],
  ["shares:write", "Create and revoke share links"],
  ["webhooks:manage", "Manage webhook endpoints"],
  ["audit:read", "Read the audit trail"],
  ["keys:manage", "Manage API keys, users and OAuth clients"],
];

export async function render(root) {
  const create = h("button", { type: "button", class: "primary", text: "Create API key" });
  const results = h("div", { class: "results" });
  create.addEventListener("click", () => createKey(() => load(results)));
  clear(root, heading("API keys", create),
    h("p", { class: "muted", text: "Keys let your servers call the API (Authorization: Bearer <key>). Each key " +
      "belongs to this workspace and holds the scopes you give it." }), results);
  return load(results);
}

async function createKey(refresh) {
  const created = await dialog("Create an API key", (form) => {
    const name = h("input", { required: true, maxLength: 100, placeholder: "PACS bridge" });
    const checks = h("fieldset", { class: "checks" }, h("legend", { text: "Scopes" }),
      ...SCOPES.map(([scope, label]) => {
        const held = session.has(scope);
        return h("label", { class: held ? "check" : "check muted" },
          h("input", { type: "checkbox", name: "scopes", value: scope, disabled: !held }),
          ` ${label} `, h("code", { text: scope }), held ? null : " (your role does not hold it)");
      }));
    form.append(field("Name", name, "So you can tell the keys apart."), checks);
    return () => {
      const scopes = [...checks.querySelectorAll("input:checked")].map((box) => box.value);
      if (!scopes.length) throw new Error("Choose at least one scope.");
      return session.apiJson("POST", "/v1/api-keys", { name: name.value.trim(), scopes });
    };
  }, { submitLabel: "Create key" });
  if (!created) return;
  refresh();
  await dialog("API key created", (form) => {
    form.append(shownOnce("API key", created.key,
      "Copy it into your server's secret store now. BeamIt keeps only a hash of it and cannot show it again."));
    return () => true;
  }, { submitLabel: "I have stored it" });
}

async function load(results) {
  clear(results, loading());
  const page = await session.apiJson("GET", "/v1/api-keys").catch((error) => error);
  if (page instanceof Error) return clear(results, errorBox(page));
  if (!page.data.length) return clear(results, emptyState("No API keys yet", "Create one for each system that calls BeamIt."));
  clear(results, table(["Name", "Key", "Scopes", "Created", "Status", ""], page.data.map((key) => {
    let action = null;
    if (key.status === "active") {
      action = h("button", { type: "button", class: "danger", text: "Revoke" });
      action.addEventListener("click", async () => {
        if (!await confirm(`Revoke "${key.name || key.id}"?`, "Anything using this key stops working at once. " +
          "This cannot be undone.", "Revoke")) return;
        try {
          await session.apiJson("DELETE", `/v1/api-keys/${key.id}`);
          toast("The key was revoked.");
        } catch (error) {
          toast(error.message, "error");
        }
        load(results);
      });
    }
    return h("tr", { dataset: { key: key.id } },
      h("td", { text: key.name || "(no name)" }),
      h("td", {}, h("code", { text: key.hint })),
      h("td", {}, ...key.scopes.map((s) => h("code", { class: "scope", text: s }))),
      h("td", { text: time(key.createdAt) }),
      h("td", {}, badge(key.status), key.revokedAt ? h("small", { class: "muted", text: ` ${time(key.revokedAt)}` }) : null),
      h("td", {}, action));
  }), "API keys"));
}
