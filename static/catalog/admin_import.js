// Admin import page: one checkbox selects or clears every provider service.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var all = document.getElementById("import-select-all");
  if (!all) {
    return;
  }
  all.addEventListener("change", function () {
    document.querySelectorAll("input.import-choice").forEach(function (box) {
      box.checked = all.checked;
    });
  });
});
