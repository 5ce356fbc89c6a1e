// Small DOM helpers: elements without HTML strings (the page enforces Trusted Types, so
// innerHTML is refused), dates, messages, dialogs, copy buttons, empty states.

export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") element.className = value;
    else if (name === "text") element.textContent = value;
    else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (name in element && typeof value !== "string") element[name] = value;
    else element.setAttribute(name, value === true ? "" : value);
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

export function time(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function dicomDate(value) {
  const text = String(value || "");
  return /^\d{8}$/.test(text) ? `${text.slice(0, 4)}-${text.slice(4, 6)}-${text.slice(6)}` : text || "—";
}

export function personName(value) {
  const alphabetic = value && typeof value === "object" ? value.Alphabetic : value;
  if (!alphabetic) return "—";
  const [family, given, middle, prefix, suffix] = String(alphabetic).split("^");
  const rest = [prefix, given, middle, suffix].filter(Boolean).join(" ");
  return rest ? `${family}, ${rest}` : family;
}

// The first value of a DICOM JSON attribute (PS3.18 Annex F).
export function dicom(record, tag) {
  const values = (record && record[tag] && record[tag].Value) || [];
  return values.length ? values[0] : undefined;
}

export function shortUid(uid) {
  return uid && uid.length > 24 ? `${uid.slice(0, 10)}…${uid.slice(-10)}` : uid;
}

export function badge(text, kind) {
  return h("span", { class: `badge ${kind || text}`, text });
}

let toastTimer = 0;
export function toast(message, kind = "ok") {
  const box = document.getElementById("status");
  clear(box, message);
  box.className = `toast ${kind}`;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, kind === "error" ? 10_000 : 5_000);
}

export function errorBox(error) {
  const id = error && error.requestId ? ` (request ${error.requestId})` : "";
  return h("p", { class: "error", role: "alert", text: `${(error && error.message) || "Something went wrong."}${id}` });
}

export function emptyState(title, text, ...actions) {
  return h("div", { class: "empty" }, h("p", { class: "empty-title", text: title }), h("p", { text }), ...actions);
}

export function loading(text = "Loading…") {
  return h("p", { class: "loading", role: "status" }, h("span", { class: "spinner", "aria-hidden": "true" }), text);
}

export function heading(title, ...actions) {
  return h("div", { class: "page-head" }, h("h1", { tabindex: "-1", text: title }),
    h("div", { class: "actions" }, ...actions));
}

// Run an action from a button: disabled and marked busy until it settles.
export async function busy(button, work) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

export function copyButton(value, label = "Copy") {
  const button = h("button", { type: "button", class: "secondary copy", text: label });
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(value);
      button.textContent = "Copied";
    } catch {
      button.textContent = "Select and copy it";
    }
    setTimeout(() => { button.textContent = label; }, 2000);
  });
  return button;
}

// A value shown once (a secret, a key, a link) with its copy button.
export function shownOnce(label, value, note) {
  const field = h("input", { class: "secret", readOnly: true, value, "aria-label": label, spellcheck: "false" });
  field.addEventListener("focus", () => field.select());
  return h("div", { class: "once", role: "region", "aria-label": label },
    h("p", { class: "once-title" }, h("strong", { text: label }), " ", badge("shown only now", "warning")),
    h("div", { class: "copy-row" }, field, copyButton(value)),
    note ? h("p", { class: "muted", text: note }) : null);
}

// A modal dialog (native <dialog>: focus stays inside, Esc closes). Resolves with what
// onSubmit returned, or null when cancelled.
export function dialog(title, build, { submitLabel = "Save", danger = false } = {}) {
  return new Promise((resolve) => {
    const problem = h("div");
    const submit = h("button", { type: "submit", class: danger ? "danger" : "primary", text: submitLabel });
    const cancel = h("button", { type: "button", class: "secondary", text: "Cancel" });
    const form = h("form", { method: "dialog", class: "dialog-form", novalidate: true });
    const box = h("dialog", { "aria-labelledby": "dialog-title" },
      h("h2", { id: "dialog-title", text: title }), form);
    const onSubmit = build(form, { close: finish, problem });
    clear(form, ...Array.from(form.childNodes), problem, h("div", { class: "dialog-actions" }, cancel, submit));
    let result = null;
    function finish(value) {
      result = value;
      box.close();
    }
    cancel.addEventListener("click", () => finish(null));
    box.addEventListener("close", () => { box.remove(); resolve(result); });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!form.reportValidity()) return;
      clear(problem);
      try {
        const value = await busy(submit, () => onSubmit());
        if (value !== undefined) finish(value);
      } catch (error) {
        clear(problem, errorBox(error));
      }
    });
    document.body.append(box);
    box.showModal();
  });
}

export function confirm(title, text, confirmLabel = "Confirm", danger = true) {
  return dialog(title, (form) => {
    form.append(h("p", { text }));
    return () => true;
  }, { submitLabel: confirmLabel, danger }).then((value) => value === true);
}

export function field(label, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  const hintId = hint ? `${id}-hint` : null;
  if (hintId) control.setAttribute("aria-describedby", hintId);
  return h("div", { class: "field" }, h("label", { for: id, text: label }), control,
    hint ? h("small", { id: hintId, class: "muted", text: hint }) : null);
}

// headers: texts, or [text, class] (class "wide-only": a column left out on narrow screens).
export function table(headers, rows, caption) {
  return h("div", { class: "table-wrap" },
    h("table", {},
      caption ? h("caption", { class: "visually-hidden", text: caption }) : null,
      h("thead", {}, h("tr", {}, ...headers.map((header) => (Array.isArray(header)
        ? h("th", { scope: "col", text: header[0], class: header[1] }) : h("th", { scope: "col", text: header }))))),
      h("tbody", {}, ...rows)));
}

// Images from the API need the bearer token: fetched, then shown from blob: URLs that are
// released when the page changes (nothing is cached by the browser: the API says no-store).
const objectUrls = new Set();
export function objectUrl(blob) {
  const url = URL.createObjectURL(blob);
  objectUrls.add(url);
  return url;
}
export function releaseObjectUrls() {
  for (const url of objectUrls) URL.revokeObjectURL(url);
  objectUrls.clear();
}

export function download(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
