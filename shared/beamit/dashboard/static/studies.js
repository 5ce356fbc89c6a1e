// Studies: QIDO-RS search (patient name with wildcards, date range, modality, accession),
// paging, thumbnails, a study's series and images (WADO-RS rendered), share from a study.
// Search terms stay in this page's memory: they never go into the page's URL.

import * as session from "./session.js";
import { createShare } from "./shares.js";
import {
  badge, clear, dicom, dicomDate, emptyState, errorBox, field, h, heading, loading, objectUrl, personName, table,
} from "./ui.js";

const PAGE = 20;
const MODALITIES = ["CT", "MR", "US", "CR", "DX", "MG", "PT", "NM", "XA", "SR", "OT"];
const STUDY_FIELDS = "StudyDescription,ModalitiesInStudy,NumberOfStudyRelatedSeries,NumberOfStudyRelatedInstances";
const search = { name: "", from: "", to: "", modality: "", accession: "", offset: 0 };

export function render(root, { rest }) {
  if (rest.length) return renderStudy(root, rest[0]);
  return renderSearch(root);
}

// -- search -------------------------------------------------------------------------------------

function qidoQuery() {
  const query = new URLSearchParams({ limit: String(PAGE + 1), offset: String(search.offset),
    includefield: STUDY_FIELDS });
  if (search.name) query.set("PatientName", search.name);
  if (search.from || search.to) query.set("StudyDate", `${search.from.replace(/-/g, "")}-${search.to.replace(/-/g, "")}`);
  if (search.modality) query.set("ModalitiesInStudy", search.modality);
  if (search.accession) query.set("AccessionNumber", search.accession);
  return query;
}

function renderSearch(root) {
  const name = h("input", { name: "name", value: search.name, autocomplete: "off", spellcheck: "false",
    placeholder: "DOE* or *JOHN*" });
  const from = h("input", { type: "date", name: "from", value: search.from });
  const to = h("input", { type: "date", name: "to", value: search.to });
  const modality = h("select", { name: "modality" }, h("option", { value: "", text: "Any" }),
    ...MODALITIES.map((m) => h("option", { value: m, text: m })));
  modality.value = search.modality;
  const accession = h("input", { name: "accession", value: search.accession, autocomplete: "off" });
  const results = h("div", { class: "results" });
  const form = h("form", { class: "filters", role: "search", "aria-label": "Search studies" },
    field("Patient name (* for any text)", name),
    field("Study date from", from), field("to", to),
    field("Modality", modality), field("Accession number", accession),
    h("div", { class: "filter-actions" },
      h("button", { type: "submit", class: "primary", text: "Search" }),
      h("button", { type: "reset", class: "secondary", text: "Clear" })));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    Object.assign(search, { name: name.value.trim(), from: from.value, to: to.value, modality: modality.value,
      accession: accession.value.trim(), offset: 0 });
    load(results);
  });
  form.addEventListener("reset", () => {
    Object.assign(search, { name: "", from: "", to: "", modality: "", accession: "", offset: 0 });
    setTimeout(() => load(results));
  });
  clear(root, heading("Studies"), form, results);
  return load(results);
}

async function load(results) {
  clear(results, loading("Searching…"));
  const response = await session.api("GET", `/v1/dicomweb/studies?${qidoQuery()}`,
    { headers: { Accept: "application/dicom+json" } });
  if (response.status === 204) return showStudies(results, []);
  if (!response.ok) return clear(results, errorBox(await session.errorFrom(response)));
  return showStudies(results, await response.json());
}

function showStudies(results, found) {
  const filtered = search.name || search.from || search.to || search.modality || search.accession;
  if (!found.length && search.offset === 0) {
    return clear(results, filtered
      ? emptyState("No studies match", "Try fewer filters, or * as a wildcard in the patient name.")
      : emptyState("No studies yet", "Store studies with STOW-RS or an upload" +
        (session.currentWorkspace().sandboxTools ? ", or add synthetic ones on the Sandbox page." : ".")));
  }
  const page = found.slice(0, PAGE);
  const rows = page.map((study) => studyRow(study));
  const previous = h("button", { type: "button", class: "secondary", text: "Previous", disabled: search.offset === 0 });
  const next = h("button", { type: "button", class: "secondary", text: "Next", disabled: found.length <= PAGE });
  previous.addEventListener("click", () => { search.offset = Math.max(0, search.offset - PAGE); load(results); });
  next.addEventListener("click", () => { search.offset += PAGE; load(results); });
  clear(results,
    table(["", "Patient", ["Patient ID", "wide-only"], "Date", "Modalities", "Description",
      ["Accession", "wide-only"], "Instances", ""], rows,
      "Studies found"),
    h("div", { class: "pager" },
      h("span", { class: "muted", text: `Studies ${search.offset + 1}–${search.offset + page.length}` }),
      previous, next));
  loadThumbnails(page);
}

function studyRow(study) {
  const uid = dicom(study, "0020000D");
  const modalities = (study["00080061"] && study["00080061"].Value) || [];
  const actions = h("div", { class: "row-actions" },
    h("a", { class: "button secondary", href: `#/studies/${encodeURIComponent(uid)}`, text: "Open" }));
  if (session.has("shares:write")) {
    const share = h("button", { type: "button", class: "secondary", text: "Share" });
    share.addEventListener("click", () => createShare(uid));
    actions.append(share);
  }
  return h("tr", { dataset: { uid } },
    h("td", { class: "thumb-cell" }, h("img", { class: "thumb", alt: "", width: 64, height: 64, dataset: { uid } })),
    h("td", { text: personName(dicom(study, "00100010")) }),
    h("td", { class: "wide-only", text: dicom(study, "00100020") || "—" }),
    h("td", { class: "nowrap", text: dicomDate(dicom(study, "00080020")) }),
    h("td", { text: modalities.join(", ") || "—" }),
    h("td", { text: dicom(study, "00081030") || "—" }),
    h("td", { class: "wide-only", text: dicom(study, "00080050") || "—" }),
    h("td", { class: "number", text: String(dicom(study, "00201208") ?? "—") }),
    h("td", {}, actions));
}

async function loadThumbnails(page) {
  const queue = page.map((study) => dicom(study, "0020000D"));
  const worker = async () => {
    while (queue.length) {
      const uid = queue.shift();
      const img = document.querySelector(`img.thumb[data-uid="${CSS.escape(uid)}"]`);
      if (!img) continue;
      const src = await image(`/v1/dicomweb/studies/${uid}/thumbnail?viewport=128,128`).catch(() => null);
      if (src) img.src = src;
      else img.classList.add("missing");
    }
  };
  await Promise.all([worker(), worker(), worker()]);
}

async function image(path) {
  const response = await session.api("GET", path, { headers: { Accept: "image/jpeg" } });
  if (!response.ok) throw await session.errorFrom(response);
  return objectUrl(await response.blob());
}

// -- one study: series and images -------------------------------------------------------------------

async function renderStudy(root, uid) {
  clear(root, loading());
  const query = new URLSearchParams({ StudyInstanceUID: uid, includefield: STUDY_FIELDS });
  const found = await session.api("GET", `/v1/dicomweb/studies?${query}`, { headers: { Accept: "application/dicom+json" } });
  if (found.status !== 400 && !found.ok) return clear(root, errorBox(await session.errorFrom(found)));
  const [study] = found.status === 200 ? await found.json() : [];
  if (!study) {
    return clear(root, heading("Study not found"), emptyState("Study not found",
      "There is no such study in this workspace. It may have been deleted, or it belongs to another workspace.",
      h("a", { class: "button secondary", href: "#/studies", text: "Back to studies" })));
  }
  const actions = [h("a", { class: "button secondary", href: "#/studies", text: "Back to studies" })];
  if (session.has("shares:write")) {
    const share = h("button", { type: "button", class: "primary", text: "Share this study" });
    share.addEventListener("click", () => createShare(uid));
    actions.push(share);
  }
  const seriesList = h("ul", { class: "series-list", "aria-label": "Series" });
  const stage = h("section", { class: "stage", "aria-label": "Images" },
    emptyState("Choose a series", "Pick a series on the left to see its images."));
  clear(root,
    heading(personName(dicom(study, "00100010")), ...actions),
    h("dl", { class: "facts" },
      h("dt", { text: "Patient ID" }), h("dd", { text: dicom(study, "00100020") || "—" }),
      h("dt", { text: "Study date" }), h("dd", { text: dicomDate(dicom(study, "00080020")) }),
      h("dt", { text: "Description" }), h("dd", { text: dicom(study, "00081030") || "—" }),
      h("dt", { text: "Accession" }), h("dd", { text: dicom(study, "00080050") || "—" }),
      h("dt", { text: "Study UID" }), h("dd", { class: "uid", text: uid })),
    h("div", { class: "study-view" }, seriesList, stage));
  const response = await session.api("GET", `/v1/dicomweb/studies/${uid}/series`,
    { headers: { Accept: "application/dicom+json" } });
  if (!response.ok) return clear(stage, errorBox(await session.errorFrom(response)));
  const series = (await response.json())
    .sort((a, b) => (dicom(a, "00200011") ?? 1e9) - (dicom(b, "00200011") ?? 1e9));
  for (const item of series) seriesList.append(seriesItem(uid, item, stage, seriesList));
  const firstImage = seriesList.querySelector("button:not([data-report])");
  if (firstImage) firstImage.click();
}

const REPORTS = new Set(["SR", "DOC", "KO", "PR"]);

function seriesItem(study, series, stage, list) {
  const uid = dicom(series, "0020000E");
  const modality = dicom(series, "00080060") || "";
  const report = REPORTS.has(modality);
  const thumb = h("img", { class: "thumb", alt: "", width: 64, height: 64 });
  const button = h("button", { type: "button", class: "series", dataset: report ? { report: "1", uid } : { uid } },
    thumb,
    h("span", {}, h("strong", { text: dicom(series, "0008103E") || `Series ${dicom(series, "00200011") ?? ""}` }),
      h("br"), `${modality} · ${dicom(series, "00201209") ?? "?"} ${report ? "document(s)" : "image(s)"}`));
  if (report) {
    thumb.classList.add("missing");
    button.addEventListener("click", () => clear(stage, emptyState("Not an image",
      "This series holds a report or document, which the dashboard does not display.")));
  } else {
    image(`/v1/dicomweb/studies/${study}/series/${uid}/thumbnail?viewport=128,128`)
      .then((src) => { thumb.src = src; }, () => thumb.classList.add("missing"));
    button.addEventListener("click", () => {
      for (const other of list.querySelectorAll("button")) other.removeAttribute("aria-current");
      button.setAttribute("aria-current", "true");
      showSeries(stage, study, uid);
    });
  }
  return h("li", {}, button);
}

async function showSeries(stage, study, series) {
  clear(stage, loading("Loading images…"));
  const response = await session.api("GET",
    `/v1/dicomweb/studies/${study}/series/${series}/instances?includefield=NumberOfFrames`,
    { headers: { Accept: "application/dicom+json" } });
  if (!response.ok) return clear(stage, errorBox(await session.errorFrom(response)));
  const instances = (await response.json())
    .sort((a, b) => (dicom(a, "00200013") ?? 0) - (dicom(b, "00200013") ?? 0));
  const frames = [];
  for (const instance of instances) {
    const count = Number(dicom(instance, "00280008") || 1);
    for (let frame = 1; frame <= Math.min(count, 500); frame += 1) {
      frames.push(`/v1/dicomweb/studies/${study}/series/${series}/instances/${dicom(instance, "00080018")}` +
        `/frames/${frame}/rendered`);
    }
  }
  if (!frames.length) return clear(stage, emptyState("No images", "This series has no images."));
  viewer(stage, frames);
}

function viewer(stage, frames) {
  const cache = new Map();
  const img = h("img", { class: "frame", alt: "" });
  const counter = h("span", { class: "counter", "aria-live": "polite" });
  const slider = h("input", { type: "range", min: 1, max: frames.length, value: 1, "aria-label": "Image number" });
  const previous = h("button", { type: "button", class: "secondary", text: "Previous", "aria-label": "Previous image" });
  const next = h("button", { type: "button", class: "secondary", text: "Next", "aria-label": "Next image" });
  const frame = h("div", { class: "frame-box", tabindex: "0", role: "img",
    "aria-label": "Image. Use the arrow keys to move through the images." }, img);
  let index = 0;
  let shown = -1;
  const fetchFrame = (i) => {
    if (!cache.has(i)) cache.set(i, image(frames[i]).catch((error) => { cache.delete(i); throw error; }));
    return cache.get(i);
  };
  const show = async (i) => {
    index = Math.max(0, Math.min(frames.length - 1, i));
    slider.value = String(index + 1);
    counter.textContent = `Image ${index + 1} of ${frames.length}`;
    const wanted = index;
    try {
      const src = await fetchFrame(wanted);
      if (wanted !== index) return;
      img.src = src;
      shown = wanted;
      frame.dataset.shown = String(shown + 1);
    } catch (error) {
      if (wanted === index) clear(frame, errorBox(error));
    }
    for (let ahead = 1; ahead <= 3 && index + ahead < frames.length; ahead += 1) fetchFrame(index + ahead).catch(() => {});
  };
  previous.addEventListener("click", () => show(index - 1));
  next.addEventListener("click", () => show(index + 1));
  slider.addEventListener("input", () => show(Number(slider.value) - 1));
  frame.addEventListener("keydown", (event) => {
    const step = { ArrowDown: 1, ArrowRight: 1, PageDown: 10, ArrowUp: -1, ArrowLeft: -1, PageUp: -10 }[event.key];
    if (step) { event.preventDefault(); show(index + step); }
    if (event.key === "Home") { event.preventDefault(); show(0); }
    if (event.key === "End") { event.preventDefault(); show(frames.length - 1); }
  });
  frame.addEventListener("wheel", (event) => { event.preventDefault(); show(index + Math.sign(event.deltaY)); },
    { passive: false });
  clear(stage, frame, h("div", { class: "viewer-controls" }, previous, slider, next, counter,
    badge("rendered by WADO-RS", "info")));
  return show(0);
}
