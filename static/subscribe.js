// Subscribe buttons (templates/subscribe.html); they work without this.
document.addEventListener("DOMContentLoaded", () => {
  // The address field selects itself whole, ready to copy by hand where the copy button is missing.
  document.querySelectorAll("input[data-subscribe-url]").forEach((input) => {
    const all = () => input.select();
    input.addEventListener("focus", all);
    input.addEventListener("click", all);
  });
  // A link to one subscription (/me#calendar-link-3) unfolds its buttons, on arrival or within the page.
  const unfoldTarget = () => {
    const target = window.location.hash && document.getElementById(decodeURIComponent(window.location.hash.slice(1)));
    if (!target) return;
    const details = target.matches("details[data-subscribe]") ? target : target.querySelector("details[data-subscribe]");
    if (details) details.open = true;
  };
  unfoldTarget();
  window.addEventListener("hashchange", unfoldTarget);
  // On Android the system calendar is Google's: its button comes first.
  if (/Android/i.test(navigator.userAgent)) {
    document.querySelectorAll("details[data-subscribe] li[data-client-item=google]").forEach((item) => {
      item.parentElement.prepend(item);
    });
  }
});
