// usher console: small enhancements. Every page works without this file.

// Search as you type: the list under the search form (the element named by data-live-search,
// #results when it names none) follows the search box, debounced, read from the server as the
// same page a submitted form would give.
function liveSearch(form) {
  const id = form.dataset.liveSearch || "results";
  const results = document.getElementById(id);
  const q = form.querySelector("input[type=search]");
  if (!results || !q) return;
  let timer = 0;
  let last = new URLSearchParams(new FormData(form)).toString();
  const run = async () => {
    const params = new URLSearchParams(new FormData(form));
    const query = params.toString();
    if (query === last) return;
    last = query;
    const url = form.action + (query ? "?" + query : "");
    results.setAttribute("aria-busy", "true");
    try {
      const res = await fetch(url, { headers: { Accept: "text/html" }, credentials: "same-origin" });
      if (!res.ok && res.status !== 422) { window.location.href = url; return; }
      const doc = new DOMParser().parseFromString(await res.text(), "text/html");
      const fresh = doc.getElementById(id);
      if (fresh && query === last) {
        results.replaceChildren(...fresh.childNodes);
        history.replaceState(null, "", url);
        bind(results);
        // A screen reader hears how many rows the list now shows, not the whole table again.
        const status = document.querySelector('[data-results-status="' + id + '"]');
        if (status) {
          const rows = results.querySelectorAll("tbody tr").length;
          const empty = results.querySelector(".empty");
          status.textContent = empty ? empty.textContent.trim().replace(/\s+/g, " ") : rows === 1 ? "1 row shown" : rows + " rows shown";
        }
      }
    } finally {
      results.removeAttribute("aria-busy");
    }
  };
  q.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(run, 250); });
  form.querySelectorAll("select").forEach((s) => s.addEventListener("change", () => { clearTimeout(timer); run(); }));
}

// Select all: the header checkbox ticks every row of the table; the bar says how many are ticked.
function selectAll(root) {
  const all = root.querySelector("[data-select-all]");
  if (!all) return;
  const table = all.closest("table");
  const boxes = () => table.querySelectorAll("tbody input[type=checkbox]");
  const say = root.querySelector("[data-selected-count]");
  const none = say ? say.textContent : "";
  const update = () => {
    const n = [...boxes()].filter((b) => b.checked).length;
    if (say) say.textContent = n === 0 ? none : n === 1 ? "1 selected" : n + " selected";
    all.checked = n > 0 && n === boxes().length;
    all.indeterminate = n > 0 && n < boxes().length;
  };
  all.addEventListener("change", () => { boxes().forEach((b) => { b.checked = all.checked; }); update(); });
  boxes().forEach((b) => b.addEventListener("change", update));
  update();
}

// Confirm dialogs: a form with data-confirm asks first, in a modal dialog that keeps the focus
// inside and gives it back to the button that opened it.
function confirmForm(form) {
  form.addEventListener("submit", (ev) => {
    if (form.dataset.confirmed === "yes") return;
    ev.preventDefault();
    const opener = ev.submitter || document.activeElement;
    const dialog = document.createElement("dialog");
    dialog.setAttribute("aria-labelledby", "confirm-text");
    const p = document.createElement("p");
    p.id = "confirm-text";
    p.textContent = form.dataset.confirm;
    const actions = document.createElement("div");
    actions.className = "actions";
    const yes = document.createElement("button");
    yes.type = "button";
    const danger = opener && opener.classList && opener.classList.contains("danger");
    yes.className = danger ? "danger" : "primary";
    yes.textContent = (opener && opener.textContent) || "Confirm";
    const no = document.createElement("button");
    no.type = "button";
    no.textContent = "Cancel";
    actions.append(yes, no);
    dialog.append(p, actions);
    document.body.append(dialog);
    dialog.addEventListener("close", () => { dialog.remove(); if (opener && opener.focus) opener.focus(); });
    no.addEventListener("click", () => dialog.close());
    yes.addEventListener("click", () => { form.dataset.confirmed = "yes"; dialog.close(); form.requestSubmit(); });
    dialog.showModal();
    no.focus();
  });
}

// Copy buttons: a button with data-copy="ID" copies the text of the input ID. Without scripts the
// button stays hidden and the text is there to select; a focused secret is selected whole.
function copyButtons(root) {
  root.querySelectorAll("[data-select-on-focus]").forEach((input) => input.addEventListener("focus", () => input.select()));
  root.querySelectorAll("button[data-copy]").forEach((button) => {
    const input = document.getElementById(button.dataset.copy);
    const say = button.closest(".field") && button.closest(".field").querySelector("[data-copy-status]");
    if (!input || !navigator.clipboard) return;
    button.hidden = false;
    if (say) say.textContent = "Copy it with the button, or select the text.";
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(input.value);
        if (say) say.textContent = "Copied. Keep it somewhere safe: usher cannot show it again.";
      } catch {
        input.focus();
        if (say) say.textContent = "Copying was not allowed: the text is selected, copy it with the keyboard.";
      }
    });
  });
}

// The invite form: "+ Add another member" and "Remove" change the rows in place, and the send
// button says how many invitations it sends. Without scripts both buttons post the form and the
// server gives it back with one row more or less.
function inviteForm(form) {
  const list = form.querySelector("[data-invite-rows]");
  const send = form.querySelector("[data-send-label]");
  const paste = form.querySelector("#paste");
  const renumber = () => {
    [...list.children].forEach((row, i) => {
      const n = i + 1;
      const email = row.querySelector("input[name=email]");
      const role = row.querySelector("select[name=role]");
      email.id = "email-" + i;
      role.id = "role-" + i;
      row.querySelector("label[for^=email]").htmlFor = email.id;
      row.querySelector("label[for^=email]").textContent = "Email address " + n;
      row.querySelector("label[for^=role]").htmlFor = role.id;
      row.querySelector("label[for^=role]").textContent = "Role for address " + n;
      row.querySelector("[data-remove-row]").setAttribute("aria-label", "Remove address " + n);
    });
  };
  const count = () => {
    let n = [...form.querySelectorAll("input[name=email]")].filter((e) => e.value.trim() !== "").length;
    if (paste) n += paste.value.split(/[\s,;]+/).filter((s) => s !== "").length;
    send.textContent = n === 0 ? "Send invitations" : n === 1 ? "Send 1 invitation" : "Send " + n + " invitations";
  };
  const wire = (row) => {
    row.querySelector("[data-remove-row]").addEventListener("click", (ev) => {
      ev.preventDefault();
      const next = row.nextElementSibling || row.previousElementSibling;
      if (list.children.length === 1) {
        row.querySelector("input[name=email]").value = "";
        row.querySelector(".field-error")?.remove();
      } else {
        row.remove();
      }
      renumber();
      count();
      (next || list.firstElementChild).querySelector("input[name=email]").focus();
    });
  };
  [...list.children].forEach(wire);
  form.querySelector("[data-add-row]").addEventListener("click", (ev) => {
    ev.preventDefault();
    const row = list.lastElementChild.cloneNode(true);
    row.querySelector("input[name=email]").value = "";
    row.querySelector("input[name=email]").removeAttribute("aria-invalid");
    row.querySelector("input[name=email]").removeAttribute("aria-describedby");
    row.querySelector(".field-error")?.remove();
    list.append(row);
    wire(row);
    renumber();
    row.querySelector("input[name=email]").focus();
  });
  form.addEventListener("input", count);
  count();
}

function bind(root) {
  selectAll(root);
  copyButtons(root);
  root.querySelectorAll("form[data-confirm]").forEach(confirmForm);
}

document.querySelectorAll("form[data-live-search]").forEach(liveSearch);
document.querySelectorAll("form[data-invite-form]").forEach(inviteForm);
bind(document);
