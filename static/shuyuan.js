// Small enhancements; every page works without them.
document.addEventListener("DOMContentLoaded", () => {
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
