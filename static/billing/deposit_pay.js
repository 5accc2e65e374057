/* The pay page: Stripe.js Elements collect the card into a SetupIntent (the panel never
 * sees it), then the panel charges that card; 3-D Secure is handled by Stripe.js. */
(function () {
  "use strict";

  const form = document.getElementById("deposit-pay-form");
  if (!form) {
    return;
  }
  const errors = document.getElementById("card-errors");
  const button = document.getElementById("pay-button");
  const stripe = Stripe(form.dataset.publishableKey);
  const card = stripe.elements().create("card");
  card.mount("#card-element");

  function showError(message) {
    // The fallback texts are in the customer's language (data-text-* from the template).
    errors.textContent = message || form.dataset.textFailed || "The payment did not go through.";
    errors.classList.remove("d-none");
    button.disabled = false;
  }

  async function charge() {
    const token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
    const response = await fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": token, Accept: "application/json" },
    });
    return response.json();
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    button.disabled = true;
    errors.classList.add("d-none");
    try {
      const setup = await stripe.confirmCardSetup(form.dataset.setupSecret, {
        payment_method: { card: card },
      });
      if (setup.error) {
        showError(setup.error.message);
        return;
      }
      const result = await charge();
      if (result.status === "requires_action") {
        const auth = await stripe.confirmCardPayment(result.client_secret);
        if (auth.error) {
          showError(auth.error.message);
          return;
        }
      }
      window.location.assign(result.next_url || form.dataset.nextUrl);
    } catch (err) {
      showError(
        form.dataset.textNoAnswer || "The payment service did not answer. Please try again."
      );
    }
  });
})();
