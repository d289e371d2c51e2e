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

// The upload form: a file dropped on the field is chosen, and the upload shows a bar of how much
// has gone; then the page the server answers with (the preview) replaces this one. Without
// scripts the form posts as any form does.
function uploadForm(form) {
  const zone = form.querySelector("[data-dropzone]");
  const input = form.querySelector("input[type=file]");
  const box = form.querySelector("[data-upload-progress]");
  const bar = box && box.querySelector("progress");
  const say = box && box.querySelector("[data-upload-status]");
  if (zone && input) {
    ["dragenter", "dragover"].forEach((t) => zone.addEventListener(t, (ev) => { ev.preventDefault(); zone.classList.add("dragging"); }));
    ["dragleave", "drop"].forEach((t) => zone.addEventListener(t, () => zone.classList.remove("dragging")));
    zone.addEventListener("drop", (ev) => {
      ev.preventDefault();
      if (ev.dataTransfer && ev.dataTransfer.files.length) input.files = ev.dataTransfer.files;
    });
  }
  if (!box) return;
  form.addEventListener("submit", (ev) => {
    if (!input.files.length) return; // the browser says a file is needed
    ev.preventDefault();
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    box.hidden = false;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    xhr.upload.addEventListener("progress", (p) => {
      if (!p.lengthComputable) return;
      const share = Math.round((p.loaded * 100) / p.total);
      bar.value = share;
      say.textContent = share < 100 ? share + "% uploaded" : "Uploaded. Reading the file…";
    });
    xhr.addEventListener("load", () => {
      if (xhr.responseURL && xhr.responseURL !== window.location.href && xhr.status < 400) {
        window.location.href = xhr.responseURL;
        return;
      }
      // Refused (too large, not a file usher reads…): the page the server answers with says why.
      const doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
      const main = doc.querySelector("main");
      if (!main) { window.location.reload(); return; }
      document.querySelector("main").replaceWith(main);
      main.querySelectorAll("form[data-upload]").forEach(uploadForm);
      bind(main);
      main.focus();
    });
    xhr.addEventListener("error", () => {
      button.disabled = false;
      box.hidden = true;
      say.textContent = "";
      window.alert("The upload broke off. Check the connection and try again.");
    });
    xhr.send(new FormData(form));
  });
}

// A running import or sync: its state is read again every second, in place, until it ends;
// then the page loads again with the result.
function pollImport(section) {
  const url = section.dataset.poll;
  const tick = async () => {
    try {
      const res = await fetch(url, { headers: { Accept: "text/html" }, credentials: "same-origin" });
      if (!res.ok) return;
      const doc = new DOMParser().parseFromString(await res.text(), "text/html");
      const fresh = doc.getElementById(section.id);
      if (!fresh || !fresh.dataset.poll) { window.location.reload(); return; }
      const bar = section.querySelector("progress");
      const freshBar = fresh.querySelector("progress");
      if (bar && freshBar) {
        bar.max = freshBar.max;
        bar.value = freshBar.value;
        const label = section.querySelector(`label[for="${bar.id}"]`);
        const freshLabel = fresh.querySelector(`label[for="${freshBar.id}"]`);
        if (label && freshLabel) label.textContent = freshLabel.textContent;
      }
      const counts = section.querySelector(".counts");
      const freshCounts = fresh.querySelector(".counts");
      if (counts && freshCounts) counts.replaceWith(freshCounts);
      const say = section.querySelector("[data-progress-status]");
      const freshSay = fresh.querySelector("[data-progress-status]");
      if (say && freshSay && say.textContent !== freshSay.textContent) say.textContent = freshSay.textContent;
    } catch {
      // the next tick tries again
    }
    setTimeout(tick, 1000);
  };
  setTimeout(tick, 1000);
}

function bind(root) {
  selectAll(root);
  copyButtons(root);
  root.querySelectorAll("form[data-confirm]").forEach(confirmForm);
}

document.querySelectorAll("form[data-live-search]").forEach(liveSearch);
document.querySelectorAll("form[data-invite-form]").forEach(inviteForm);
document.querySelectorAll("form[data-upload]").forEach(uploadForm);
document.querySelectorAll("[data-poll]").forEach(pollImport);
bind(document);
