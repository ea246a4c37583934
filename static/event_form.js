// The organizer's event form (templates/events/_event_form.html).  Without script every field shows, grouped in
// fieldsets, and the reading list is searched with a button; with it, the fields the chosen frequency does not
// use are hidden, speakers' rows are added and removed in place, and books and papers are found as you type.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("event-form");
  if (!form) return;

  // A venue conflict is said beside the venue, far below the top of the page: go there and read it out.
  const conflict = form.querySelector("#conflict");
  if (conflict) {
    conflict.scrollIntoView({ block: "start" });
    form.querySelector("#conflict-heading")?.focus({ preventScroll: true });
  }

  // Frequency: show the nested fieldsets whose data-repeat names it.
  const repeat = form.querySelector("#id_repeat");
  const parts = [...form.querySelectorAll("fieldset[data-repeat]")];
  const showParts = () => {
    parts.forEach((part) => { part.hidden = !part.dataset.repeat.split(" ").includes(repeat.value); });
  };
  if (repeat) {
    repeat.addEventListener("change", showParts);
    showParts();
  }

  // Speakers: rows from the <template>, numbered after the last; a removed row is marked for deletion.
  const rows = form.querySelector("#speaker-rows");
  const template = form.querySelector("#speaker-template");
  const total = form.querySelector("input[name='speakers-TOTAL_FORMS']");
  const addSpeaker = form.querySelector("#add-speaker");
  const removable = (row) => {
    const box = row.querySelector("input[name$='-DELETE']");
    if (!box) return;
    box.closest("label").hidden = true;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "secondary speaker-remove";
    button.textContent = form.dataset.removeLabel || "移除";
    button.addEventListener("click", () => {
      box.checked = true;
      row.hidden = true;
    });
    row.append(button);
  };
  if (rows && template && total && addSpeaker) {
    rows.querySelectorAll(".speaker-row").forEach(removable);
    addSpeaker.hidden = false;
    addSpeaker.addEventListener("click", () => {
      const index = Number(total.value);
      const html = template.innerHTML.replace(/__prefix__/g, String(index));
      rows.insertAdjacentHTML("beforeend", html);
      total.value = String(index + 1);
      const row = rows.lastElementChild;
      removable(row);
      row.querySelector("input")?.focus();
    });
  }

  // Reading list: chips backed by hidden inputs named books / papers.
  const chips = form.querySelector("#reading-chips");
  const box = form.querySelector("#id_reading_q");
  const list = form.querySelector("#reading-suggestions");
  if (!chips || !box || !list) return;
  const labels = { book: chips.dataset.bookLabel || "图书", paper: chips.dataset.paperLabel || "调研成果" };
  chips.addEventListener("click", (event) => {
    const button = event.target.closest(".chip-remove");
    if (!button) return;
    event.preventDefault();
    button.closest(".chip").remove();
    box.focus();
  });
  const addChip = (type, id, title) => {
    if (chips.querySelector(`.chip[data-type="${type}"][data-id="${id}"]`)) return;
    const chip = document.createElement("li");
    chip.className = "chip";
    chip.dataset.type = type;
    chip.dataset.id = String(id);
    const input = document.createElement("input");
    input.type = "hidden";
    input.name = `${type}s`;
    input.value = String(id);
    const kind = document.createElement("span");
    kind.className = "meta";
    kind.textContent = labels[type];
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "chip-remove";
    remove.textContent = "×";
    remove.setAttribute("aria-label", `${chips.dataset.removeLabel || "移除"}《${title}》`);
    chip.append(input, kind, ` 《${title}》 `, remove);
    chips.append(chip);
  };
  let timer = null;
  let asked = "";
  const render = (items) => {
    list.replaceChildren(...items.map((hit) => {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "suggestion";
      button.dataset.type = hit.type;
      button.dataset.id = String(hit.id);
      button.dataset.title = hit.title;
      const kind = document.createElement("span");
      kind.className = "meta";
      kind.textContent = labels[hit.type] || hit.type;
      const meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = [(hit.authors || []).slice(0, 3).join("、"), hit.year || ""].filter(Boolean).join(" ");
      button.append(kind, ` 《${hit.title}》 `, meta);
      li.append(button);
      return li;
    }));
  };
  const search = async () => {
    const q = box.value.trim();
    if (q === asked) return;
    asked = q;
    if (!q) { render([]); return; }
    try {
      const response = await fetch(`/api/v1/search?${new URLSearchParams({ q, limit: "8" })}`,
                                   { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok || q !== box.value.trim()) return;
      const body = await response.json();
      render(body.items || []);
    } catch (error) {
      render([]);
    }
  };
  box.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(search, 250);
  });
  box.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {  // never submits the form: picks the first suggestion
      event.preventDefault();
      list.querySelector("button.suggestion")?.click();
    } else if (event.key === "ArrowDown") {
      event.preventDefault();
      list.querySelector("button")?.focus();
    } else if (event.key === "Escape") {
      render([]);
    }
  });
  // A press keeps the focus in the box: moving it to the suggestion could scroll the page between press and
  // release, and the release would then land elsewhere (no click; seen at phone size).
  list.addEventListener("mousedown", (event) => {
    if (event.target.closest("button.suggestion")) event.preventDefault();
  });
  list.addEventListener("click", (event) => {
    const button = event.target.closest("button.suggestion");
    if (!button) return;
    event.preventDefault();
    addChip(button.dataset.type, button.dataset.id, button.dataset.title);
    box.value = "";
    asked = "";
    render([]);
    box.focus();
  });
});
