// Shares: create (from a study or here), the list with status and view analytics, revoke,
// extend, re-issue (after a lock). The link and QR code are shown once, when made.

import * as session from "./session.js";
import {
  badge, clear, confirm, dialog, emptyState, errorBox, field, h, heading, loading, shortUid, shownOnce, table, time,
  toast,
} from "./ui.js";

const EXPIRY = [["24h", "24 hours"], ["3d", "3 days"], ["7d", "7 days"], ["14d", "14 days"], ["30d", "30 days"]];
const EXTEND = [["1d", "1 more day"], ["7d", "7 more days"], ["14d", "14 more days"]];
const STATUSES = ["active", "locked", "expired", "revoked"];
const list = { status: "", items: [], hasMore: false };
let refreshList = () => {};

// A phone in international form: +, country code, number (spaces, dots, dashes and brackets allowed).
function e164(raw) {
  const compact = raw.replace(/[\s().-]/g, "");
  return /^\+[1-9]\d{6,14}$/.test(compact) ? compact : null;
}

export async function createShare(studyUid) {
  const created = await dialog("Share a study with a patient", (form) => {
    const study = h("input", { required: true, value: studyUid || "", readOnly: Boolean(studyUid),
      spellcheck: "false", pattern: "[0-9.]{1,64}" });
    const phone = h("input", { type: "tel", required: true, autocomplete: "off", placeholder: "+1 415 555 1234" });
    const message = h("textarea", { maxLength: 320, rows: 3 });
    message.value = "Your images are ready to view.";
    const counter = h("small", { class: "muted", "aria-live": "polite" });
    const count = () => { counter.textContent = `${message.value.length} / 320`; };
    message.addEventListener("input", count);
    count();
    const expires = h("select", {}, ...EXPIRY.map(([value, label]) => h("option", { value, text: label })));
    expires.value = "7d";
    const download = h("input", { type: "checkbox" });
    phone.addEventListener("input", () => phone.setCustomValidity(""));
    form.append(
      field("Study (Study Instance UID)", study, studyUid ? null : "Open a study to share it from there."),
      field("Patient's mobile phone", phone, "International form with the country code. The link is texted to it."),
      field("Message", message, "Sent by text message as written: put no patient details in it."), counter,
      field("Link expires after", expires),
      h("label", { class: "check" }, download, " Allow the patient to download the images"));
    const key = crypto.randomUUID(); // one share, however often the button is pressed
    return async () => {
      const number = e164(phone.value);
      if (!number) {
        phone.setCustomValidity("Enter the number in international form, e.g. +1 415 555 1234.");
        phone.reportValidity();
        return undefined;
      }
      return session.apiJson("POST", "/v1/shares", {
        studyId: study.value.trim(), recipientPhone: number, message: message.value.trim(),
        expiresIn: expires.value, allowDownload: download.checked,
      }, { "Idempotency-Key": key });
    };
  }, { submitLabel: "Create share" });
  if (created) {
    await showLink("Share created", created);
    refreshList();
  }
  return created;
}

function showLink(title, share) {
  return dialog(title, (form) => {
    form.append(
      h("p", { text: share.smsStatus === "sent"
        ? "The link was texted to the patient. You can also give it to them yourself:"
        : "The text message could not be sent. Give the patient the link yourself:" }),
      shownOnce("Share link", share.shareUrl,
        "BeamIt keeps only a fingerprint of the code: neither the link nor the QR code can be shown again."),
      h("img", { class: "qr", src: share.qrCode, alt: `QR code of the link ${share.shareUrl}`, width: 180, height: 180 }));
    return () => true;
  }, { submitLabel: "Done" });
}

// -- the list -----------------------------------------------------------------------------------

export async function render(root) {
  const actions = [];
  if (session.has("shares:write")) {
    const create = h("button", { type: "button", class: "primary", text: "New share" });
    create.addEventListener("click", () => createShare(null));
    actions.push(create);
  }
  if (!session.has("shares:read")) {
    clear(root, heading("Shares", ...actions), emptyState("You can create shares",
      "Your role can create and change shares but not list them. Create one from a study, or with New share."));
    return;
  }
  const filter = h("select", { id: "share-status" }, h("option", { value: "", text: "All" }),
    ...STATUSES.map((s) => h("option", { value: s, text: s[0].toUpperCase() + s.slice(1) })));
  filter.value = list.status;
  const results = h("div", { class: "results" });
  filter.addEventListener("change", () => { list.status = filter.value; load(results, false); });
  clear(root, heading("Shares", ...actions), h("div", { class: "filters inline" }, field("Status", filter)), results);
  refreshList = () => { if (results.isConnected) load(results, false); };
  return load(results, false);
}

async function load(results, more) {
  if (!more) clear(results, loading());
  const query = new URLSearchParams({ limit: "25" });
  if (list.status) query.set("status", list.status);
  if (more && list.items.length) query.set("startingAfter", list.items[list.items.length - 1].id);
  const page = await session.apiJson("GET", `/v1/shares?${query}`).catch((error) => error);
  if (page instanceof Error) return clear(results, errorBox(page));
  list.items = more ? list.items.concat(page.data) : page.data;
  list.hasMore = page.hasMore;
  if (!list.items.length) {
    return clear(results, emptyState(list.status ? `No ${list.status} shares` : "No shares yet",
      "Share a study from the Studies page: the patient gets a link by text message."));
  }
  const rows = list.items.map((share) => shareRow(share, results));
  const moreButton = list.hasMore ? h("button", { type: "button", class: "secondary", text: "Load more" }) : null;
  if (moreButton) moreButton.addEventListener("click", () => load(results, true));
  clear(results, table(["Status", "Study", "Recipient", "Created", "Expires", "Views", "First / last view",
    "Verification", ""], rows, "Shares"), moreButton);
}

function verification(share) {
  const v = share.verification;
  if (v.lockedAt) return h("span", {}, badge("locked", "locked"), ` ${time(v.lockedAt)}`);
  return `${v.failures} of ${v.maxFailures} wrong codes`;
}

function shareRow(share, results) {
  const studyCell = session.has("studies:read")
    ? h("a", { href: `#/studies/${encodeURIComponent(share.studyId)}`, class: "uid", text: shortUid(share.studyId),
      title: share.studyId })
    : h("span", { class: "uid", text: shortUid(share.studyId), title: share.studyId });
  const extra = share.studyIds.length > 1 ? ` +${share.studyIds.length - 1}` : "";
  return h("tr", { dataset: { share: share.id } },
    h("td", {}, badge(share.status)),
    h("td", {}, studyCell, extra),
    h("td", { text: share.recipientPhone }),
    h("td", { text: time(share.createdAt) }),
    h("td", { text: time(share.expiresAt) }),
    h("td", { class: "number", text: String(share.views.count) }),
    h("td", { text: share.views.count ? `${time(share.views.firstAccessAt)} / ${time(share.views.lastAccessAt)}` : "not viewed" }),
    h("td", {}, verification(share)),
    h("td", {}, session.has("shares:write") ? rowActions(share, results) : null));
}

function rowActions(share, results) {
  const box = h("div", { class: "row-actions" });
  const open = share.status === "active" || share.status === "locked";
  if (open) {
    const reissue = h("button", { type: "button", class: share.status === "locked" ? "primary" : "secondary",
      text: "Re-issue link" });
    reissue.addEventListener("click", async () => {
      const sure = await confirm("Re-issue the link?", "A new link is texted to the patient. The current link stops " +
        "working at once and its open viewer sessions end. Wrong-code attempts start again from zero.", "Re-issue",
      false);
      if (!sure) return;
      try {
        const body = await session.apiJson("POST", `/v1/shares/${share.id}/reissue`);
        await showLink("New link issued", body);
      } catch (error) {
        toast(error.message, "error");
      }
      load(results, false);
    });
    box.append(reissue);
  }
  if (share.status === "active") {
    const extend = h("button", { type: "button", class: "secondary", text: "Extend" });
    extend.addEventListener("click", async () => {
      const done = await dialog("Extend the share", (form) => {
        const by = h("select", {}, ...EXTEND.map(([value, label]) => h("option", { value, text: label })));
        form.append(h("p", { text: `It expires ${time(share.expiresAt)}. At most 30 days from now.` }),
          field("Extend by", by));
        return () => session.apiJson("POST", `/v1/shares/${share.id}/extend`, { expiresIn: by.value });
      }, { submitLabel: "Extend" });
      if (done) { toast(`The share now expires ${time(done.expiresAt)}.`); load(results, false); }
    });
    box.append(extend);
  }
  if (open) {
    const revoke = h("button", { type: "button", class: "danger", text: "Revoke" });
    revoke.addEventListener("click", async () => {
      if (!await confirm("Revoke the share?", "The link stops working at once, and anyone viewing the images " +
        "is cut off. This cannot be undone.", "Revoke")) return;
      try {
        await session.apiJson("POST", `/v1/shares/${share.id}/revoke`);
        toast("The share was revoked.");
      } catch (error) {
        toast(error.message, "error");
      }
      load(results, false);
    });
    box.append(revoke);
  }
  return box;
}
