// Herald's own script: small helpers that htmx does not cover. No inline
// handlers are used anywhere, so the CSP can forbid inline script.
(function () {
  "use strict";
  // A form with data-confirm asks before it is submitted, for actions that
  // cannot be undone, such as deleting a relay.
  document.addEventListener("submit", function (ev) {
    var form = ev.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.getAttribute("data-confirm"))) {
      ev.preventDefault();
      return;
    }
    // A bulk form asks before the one action that cannot be undone.
    form = ev.target.closest("form[data-confirm-action]");
    if (form && form.elements.action && form.elements.action.value === form.getAttribute("data-confirm-action") &&
        !window.confirm("Delete the chosen contacts and their history? This cannot be undone.")) {
      ev.preventDefault();
    }
  }, true);

  // A button with data-copy="ID" copies the text of element ID.
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest("[data-copy]");
    if (!btn) return;
    var el = document.getElementById(btn.getAttribute("data-copy"));
    if (!el || !navigator.clipboard) return;
    navigator.clipboard.writeText(el.textContent.trim()).then(function () {
      var label = btn.textContent;
      btn.textContent = "Copied";
      setTimeout(function () { btn.textContent = label; }, 2000);
    });
  });
})();
