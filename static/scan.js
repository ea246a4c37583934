// Scan to borrow (/borrow): the phone's camera reads the copy's barcode (ZXing, vendored in static/vendor)
// and submits the form; without a camera (or on plain HTTP) the reader types the barcode.
document.addEventListener("DOMContentLoaded", () => {
  const start = document.getElementById("scan-start");
  const form = document.getElementById("scan-form");
  if (!start || !form) return;
  const box = document.getElementById("scanner");
  const video = document.getElementById("scan-video");
  const status = document.getElementById("scan-status");
  const input = document.getElementById("scan-barcode");
  if (!window.ZXingBrowser || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    document.getElementById("scan-unavailable").hidden = false;
    return;
  }
  start.hidden = false;
  let controls = null;
  start.addEventListener("click", async () => {
    if (controls) return;
    box.hidden = false;
    status.textContent = start.dataset.looking || "…";
    const reader = new ZXingBrowser.BrowserMultiFormatReader();
    try {
      controls = await reader.decodeFromVideoDevice(undefined, video, (result, error, ctl) => {
        if (!result) return;
        ctl.stop();
        input.value = result.getText();
        status.textContent = input.value;
        form.requestSubmit();
      });
    } catch (err) {
      box.hidden = true;
      document.getElementById("scan-unavailable").hidden = false;
      controls = null;
    }
  });
});
