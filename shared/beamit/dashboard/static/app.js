// The BeamIt integration dashboard: sign-in, navigation by the user's scopes, routing.
// Routes are hash fragments (#/studies, #/webhooks/whk_...): they hold ids and UIDs only,
// never search terms or other PHI, and never reach the server.

import * as session from "./session.js";
import { busy, clear, errorBox, h, releaseObjectUrls } from "./ui.js";
import * as studies from "./studies.js";
import * as shares from "./shares.js";
import * as webhooks from "./webhooks.js";
import * as keys from "./keys.js";
import * as audit from "./audit.js";
import * as sandbox from "./sandbox.js";

const SECTIONS = [
  { id: "studies", label: "Studies", any: ["studies:read"], view: studies },
  { id: "shares", label: "Shares", any: ["shares:read", "shares:write"], view: shares },
  { id: "webhooks", label: "Webhooks", any: ["webhooks:manage"], view: webhooks },
  { id: "keys", label: "API keys", any: ["keys:manage"], view: keys },
  { id: "audit", label: "Audit", any: ["audit:read"], view: audit },
  { id: "sandbox", label: "Sandbox", any: ["studies:write"], view: sandbox, sandboxOnly: true },
];

const main = document.getElementById("main");

function allowed(section) {
  if (section.sandboxOnly && !session.currentWorkspace().sandboxTools) return false;
  return section.any.some((scope) => session.has(scope));
}

function parseRoute() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  return { section: parts[0] || "", rest: parts.slice(1) };
}

export function navigate(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

function renderNav() {
  const nav = document.getElementById("nav");
  const { section } = parseRoute();
  clear(nav, ...SECTIONS.filter(allowed).map((s) => h("a", {
    href: `#/${s.id}`, text: s.label, "aria-current": s.id === section ? "page" : null,
  })));
  nav.hidden = false;
  const ws = session.currentWorkspace();
  document.getElementById("workspace-name").textContent = ws.name || ws.id;
  document.getElementById("account").hidden = false;
}

function render() {
  if (!session.signedIn()) return;
  releaseObjectUrls();
  const route = parseRoute();
  const section = SECTIONS.find((s) => s.id === route.section);
  const first = SECTIONS.find(allowed);
  renderNav();
  if (!section) {
    if (first) navigate(`#/${first.id}`);
    else clear(main, h("h1", { tabindex: "-1", text: "Nothing to show" }),
      h("p", { text: "Your role gives you access to none of the dashboard's sections. Ask an administrator." }));
    return;
  }
  document.title = `${section.label} · BeamIt dashboard`;
  if (!allowed(section)) {
    clear(main, h("h1", { tabindex: "-1", text: `${section.label}: no access` }),
      h("p", { text: `Your role does not include ${section.label.toLowerCase()}, so this section is not available ` +
        "to you. Ask an administrator of your workspace if you need it." }));
    focusHeading();
    return;
  }
  const content = h("div", { class: "view" });
  clear(main, content);
  Promise.resolve(section.view.render(content, { rest: route.rest, navigate }))
    .catch((error) => { if (!(error instanceof session.SessionEnded)) clear(content, errorBox(error)); })
    .finally(focusHeading);
}

function focusHeading() {
  const title = main.querySelector("h1");
  if (title && !main.contains(document.activeElement)) title.focus({ preventScroll: true });
}

// -- signed out ------------------------------------------------------------------------------

function workspaceForm(problem) {
  document.getElementById("nav").hidden = true;
  document.getElementById("account").hidden = true;
  const input = h("input", { id: "workspace", name: "workspace", required: true, autocomplete: "organization",
    pattern: "[a-z][a-z0-9\\-]{2,39}", spellcheck: "false", autocapitalize: "none" });
  const form = h("form", { class: "card narrow", method: "get", novalidate: true },
    h("h1", { tabindex: "-1", text: "Sign in to the BeamIt dashboard" }),
    h("p", { text: "Which workspace? It is your organization's id in BeamIt, e.g. acme-health." }),
    problem ? errorBox(problem) : null,
    h("div", { class: "field" }, h("label", { for: "workspace", text: "Workspace" }), input),
    h("button", { type: "submit", class: "primary", text: "Continue" }));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!form.reportValidity()) return;
    location.assign(`/dashboard/?workspace=${encodeURIComponent(input.value.trim())}${location.hash}`);
  });
  clear(main, form);
  input.focus();
}

function signedOutScreen(message) {
  document.getElementById("nav").hidden = true;
  document.getElementById("account").hidden = true;
  const button = h("button", { type: "button", class: "primary", text: "Sign in" });
  button.addEventListener("click", () => session.signIn(location.hash || "#/"));
  clear(main, h("section", { class: "card narrow" },
    h("h1", { tabindex: "-1", text: message ? "Session ended" : "Signed out" }),
    h("p", { text: message || "You are signed out of the BeamIt dashboard." }),
    button));
  button.focus();
}

function problemScreen(error) {
  const ws = session.currentWorkspace();
  const again = h("button", { type: "button", class: "primary", text: "Sign in again" });
  again.addEventListener("click", () => (ws ? session.signIn("#/") : workspaceForm()));
  clear(main, h("section", { class: "card narrow" },
    h("h1", { tabindex: "-1", text: "Not signed in" }), errorBox(error), again));
}

// -- start --------------------------------------------------------------------------------------

async function start() {
  const url = new URL(location.href);
  if (url.pathname === "/dashboard/callback") {
    try {
      const pending = await session.completeSignIn(url.searchParams);
      history.replaceState(null, "", `/dashboard/?workspace=${encodeURIComponent(pending.workspace)}` +
        `${pending.returnTo || "#/"}`);
    } catch (error) {
      const ws = session.currentWorkspace();
      history.replaceState(null, "", ws ? `/dashboard/?workspace=${encodeURIComponent(ws.id)}` : "/dashboard/");
      problemScreen(error);
      return;
    }
    window.addEventListener("hashchange", render);
    render();
    return;
  }
  const id = url.searchParams.get("workspace");
  if (!id) return workspaceForm();
  try {
    await session.loadWorkspace(id);
  } catch (error) {
    return workspaceForm(error);
  }
  // Not signed in (a first visit, a reload, a bookmark): straight to the sign-in page.
  await session.signIn(location.hash || "#/");
}

session.onSessionEnded((message) => {
  releaseObjectUrls();
  signedOutScreen(message);
});

document.getElementById("sign-out").addEventListener("click", (event) => busy(event.currentTarget, session.signOut));
document.getElementById("skip").addEventListener("click", () => {
  const target = main.querySelector("h1") || main;
  target.focus();
});
start();
