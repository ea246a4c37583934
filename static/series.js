// The manage page's series actions (/organize/<id>): a box that ticks every occurrence, and how many are ticked.
document.addEventListener("DOMContentLoaded", () => {
  const all = document.getElementById("select-all");
  const boxes = [...document.querySelectorAll("input[data-occurrence]")];
  const count = document.getElementById("selected-count");
  if (!all || !boxes.length) return;
  all.hidden = false;
  const show = () => {
    const n = boxes.filter((b) => b.checked).length;
    all.checked = n === boxes.length;
    all.indeterminate = n > 0 && n < boxes.length;
    if (count) count.textContent = n ? count.dataset.template.replace("N", n) : "";
  };
  all.addEventListener("change", () => {
    boxes.forEach((b) => { b.checked = all.checked; });
    show();
  });
  boxes.forEach((b) => b.addEventListener("change", show));
  show();
});
