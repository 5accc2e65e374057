/* A pending payment's page reloads itself once Stripe's confirmation has been handled. */
(function () {
  "use strict";

  const box = document.querySelector("[data-status-url]");
  if (!box) {
    return;
  }
  let tries = 0;

  async function poll() {
    tries += 1;
    try {
      const response = await fetch(box.dataset.statusUrl, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (response.ok) {
        const body = await response.json();
        if (body.status !== box.dataset.status) {
          window.location.reload();
          return;
        }
      }
    } catch (err) {
      /* a network blip: ask again */
    }
    if (tries < 150) {
      window.setTimeout(poll, Math.min(1000 + tries * 200, 5000));
    }
  }

  window.setTimeout(poll, 1000);
})();
