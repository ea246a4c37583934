// The admin's tabular inlines (a book's copies and contributors) become cards on a phone
// (static/shuyuan_admin.css): each cell is labelled with its column's header.  Rows added later with
// "添加另一个" are copies of the empty form's row, labelled here too.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll(".inline-group .tabular table").forEach((table) => {
    const heads = [...table.querySelectorAll(":scope > thead > tr > th")].map((th) => th.textContent.trim());
    table.querySelectorAll(":scope > tbody > tr.form-row").forEach((row) => {
      [...row.children].forEach((cell, i) => {
        if (cell.colSpan === 1 && heads[i]) cell.dataset.label = heads[i];
      });
    });
    table.dataset.labelled = "";
  });
});
