// Asks before a form is sent when the form or the button that sends it has
// data-confirm="Question?" (cancel an order, stop a drip-feed, ...). Any page can use it:
// base.html loads this script everywhere. Without script the form is sent as before.
(function () {
  "use strict";
  document.addEventListener(
    "submit",
    function (event) {
      var submitter = event.submitter;
      var question =
        (submitter && submitter.dataset && submitter.dataset.confirm) ||
        event.target.dataset.confirm;
      if (question && !window.confirm(question)) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true
  );
})();
