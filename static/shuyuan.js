// Small enhancements; every page works without them.
document.addEventListener("DOMContentLoaded", () => {
  // Search filters: open on wide screens; on phones a tap opens them (the first result stays in view).
  const wide = window.matchMedia("(min-width: 721px)");
  document.querySelectorAll("details[data-open-wide]").forEach((details) => {
    if (wide.matches) details.open = true;
  });
  // Tables that become cards on phones: each cell is labelled with its column's header.
  document.querySelectorAll("table.cards").forEach((table) => {
    // Only the table's own header and rows: a table nested in a cell (an import's conflict) has its own.
    const heads = [...table.querySelectorAll(":scope > thead > tr > th")].map((th) => th.textContent.trim());
    table.querySelectorAll(":scope > tbody > tr").forEach((row) => {
      [...row.children].forEach((cell, i) => {
        if (cell.colSpan === 1 && heads[i] !== undefined) cell.dataset.label = heads[i];
      });
    });
    table.dataset.labelled = "";
  });
  // A select that applies itself (the desk's location), and print buttons.
  // Buttons that only a page without script needs (a select that applies itself makes them redundant).
  document.querySelectorAll("[data-without-js]").forEach((el) => { el.hidden = true; });
  document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
    select.addEventListener("change", () => select.form.submit());
  });
  document.querySelectorAll("[data-print]").forEach((button) => {
    button.addEventListener("click", () => window.print());
  });
  // Buttons that undo something the reader cannot take back in one click ask first: data-confirm="…".
  document.addEventListener("submit", (event) => {
    const button = event.submitter;
    if (button && button.dataset.confirm && !window.confirm(button.dataset.confirm)) event.preventDefault();
  });
  // Copy buttons: <button data-copy="#input-id" hidden> appear only where the clipboard is usable.
  document.querySelectorAll("[data-copy]").forEach((button) => {
    const source = document.querySelector(button.dataset.copy);
    if (!source || !navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", async () => {
      await navigator.clipboard.writeText(source.value);
      button.textContent = button.textContent.replace(/.*/, "✓ " + button.textContent.replace(/^✓ /, ""));
    });
  });
});
