// Slips open in their own tab and print themselves (the receipt printer at the desk).
window.addEventListener("load", () => window.print());
