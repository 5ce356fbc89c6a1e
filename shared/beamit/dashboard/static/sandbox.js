// Sandbox (local and sandbox environments only): add synthetic studies, one request per
// study so the progress is real; reset the workspace's studies and shares.

import * as session from "./session.js";
import { clear, dialog, errorBox, field, h, heading, toast } from "./ui.js";

export function render(root) {
  const count = h("select", {}, ...[1, 2, 3, 5, 10].map((n) => h("option", { value: n, text: String(n) })));
  count.value = "3";
  const add = h("button", { type: "submit", class: "primary", text: "Add studies" });
  const progress = h("div", { "aria-live": "polite" });
  const seedForm = h("form", { class: "card" },
    h("h2", { text: "Add synthetic studies" }),
    h("p", { text: "Made-up patients and images of every modality in turn (CT, MR, US, CR, DX, with a report), " +
      "stored like any study: they appear in search, can be shared, and send study.received to your webhooks." }),
    field("How many", count), add, progress);
  seedForm.addEventListener("submit", (event) => {
    event.preventDefault();
    seed(Number(count.value), add, progress);
  });

  const resetButton = h("button", { type: "button", class: "danger", text: "Reset sandbox data" });
  const resetResult = h("div", { "aria-live": "polite" });
  resetButton.addEventListener("click", () => reset(resetButton, resetResult));
  const resetCard = h("section", { class: "card" },
    h("h2", { text: "Start again" }),
    h("p", { text: "Deletes every study (records and files) and every share of this workspace. Keeps API keys, " +
      "users, webhook endpoints and their logs, uploads, and the audit trail." }),
    session.has("shares:write") ? resetButton : h("p", { class: "muted", text: "Your role cannot delete shares, " +
      "so it cannot reset the sandbox." }),
    resetResult);
  clear(root, heading("Sandbox"), h("p", { class: "muted", text: "Synthetic data only: this workspace is a " +
    `${session.currentWorkspace().environment} environment.` }), seedForm, resetCard);
}

async function seed(total, button, box) {
  button.disabled = true;
  const bar = h("progress", { max: total, value: 0 });
  const text = h("span", { text: `Storing study 1 of ${total}…` });
  clear(box, h("p", { class: "notice", role: "status" }, text, " ", bar));
  let studies = 0;
  let images = 0;
  try {
    for (let i = 0; i < total; i += 1) {
      text.textContent = `Storing study ${i + 1} of ${total}…`;
      const result = await session.apiJson("POST", "/v1/sandbox/seed", { count: 1 });
      studies += result.studies.length;
      images += result.instances;
      bar.value = i + 1;
    }
    clear(box, h("p", { class: "notice ok", role: "status" },
      `Added ${studies} ${studies === 1 ? "study" : "studies"} (${images} instances). `,
      h("a", { href: "#/studies", text: "See them in Studies" })));
  } catch (error) {
    clear(box, errorBox(error), h("p", { text: `${studies} of ${total} studies were added before the problem.` }));
  } finally {
    button.disabled = false;
  }
}

async function reset(button, box) {
  const id = session.currentWorkspace().id;
  const confirmed = await dialog("Reset the sandbox data?", (form) => {
    const typed = h("input", { required: true, autocomplete: "off", spellcheck: "false" });
    form.append(h("p", { text: "Every study and share of this workspace is deleted. This cannot be undone." }),
      field(`Type the workspace name (${id}) to confirm`, typed));
    return () => {
      if (typed.value.trim() !== id) throw new Error(`Type ${id} exactly to confirm.`);
      return true;
    };
  }, { submitLabel: "Delete studies and shares", danger: true });
  if (!confirmed) return;
  button.disabled = true;
  clear(box, h("p", { class: "notice", role: "status", text: "Deleting…" }));
  try {
    const result = await session.apiJson("POST", "/v1/sandbox/reset");
    const d = result.deleted;
    clear(box, h("p", { class: "notice ok", role: "status", text: `Deleted ${d.studies} studies (${d.instances} ` +
      `instances, ${d.objects} files) and ${d.shares} shares.` }));
    toast("The sandbox data was reset.");
  } catch (error) {
    clear(box, errorBox(error));
  } finally {
    button.disabled = false;
  }
}
