// Services page: apply a platform, category or flag filter as soon as it changes.
// The form works without this (GET + the Search button).
(function () {
  "use strict";
  var form = document.getElementById("service-filters");
  if (!form) {
    return;
  }
  form.querySelectorAll("select, input[type=checkbox]").forEach(function (field) {
    field.addEventListener("change", function () {
      form.requestSubmit ? form.requestSubmit() : form.submit();
    });
  });
})();
