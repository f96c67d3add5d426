// Offcloud's dashboard: keeps the list of recent requests fresh. The rows come rendered (and escaped) by the
// server; this only fetches them every second while the page is visible.
"use strict";

(function () {
  const list = document.getElementById("requests");
  if (!list) {
    return;
  }
  let last = null;
  async function refresh() {
    if (document.visibilityState === "visible") {
      try {
        const resp = await fetch(list.dataset.src, { credentials: "same-origin", cache: "no-store" });
        if (resp.ok) {
          const html = await resp.text();
          if (html !== last) {
            last = html;
            list.innerHTML = html;
          }
        }
      } catch (e) {
        // The emulator may be restarting; the next tick tries again.
      }
    }
    setTimeout(refresh, 1000);
  }
  setTimeout(refresh, 1000);
})();
