// Behaviour that used to sit in inline on*="" attributes, which the Content-Security-Policy
// (script-src 'self') does not run:
//   <form data-confirm="确定……？">   asks before submitting;
//   <select data-autosubmit>          submits its form when changed.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field instanceof HTMLSelectElement && field.hasAttribute("data-autosubmit") && field.form) {
      field.form.submit();
    }
  });
})();
