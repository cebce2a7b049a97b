/* Small behaviours every page may use, declared in the markup with data-* attributes, so that no
 * template needs an inline script or an on*="…" handler (the Content-Security-Policy forbids both;
 * docs/security.md). Listeners sit on the document, so content htmx swaps in works too.
 *
 *   <button type="submit" data-confirm="Delete this deal?">   asks before the form is sent
 *   <form data-confirm="…">                                    the same for any submit of the form
 *   <select data-autosubmit>                                   sends its form when changed
 *   <input type="checkbox" data-check-all="#board input[name=towns]">  ticks / clears them all
 *   <select data-group-follows="#id_programme">               shows only the <optgroup> labelled as the
 *                                                              option chosen there (a programme's categories)
 */
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("[data-confirm]") : null;
    if (!target || target.tagName === "FORM") return;
    if (!window.confirm(target.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute && form.hasAttribute("data-confirm") && !window.confirm(form.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.hasAttribute && el.hasAttribute("data-autosubmit") && el.form) el.form.submit();
  });

  function followGroups(select) {
    var leader = document.querySelector(select.getAttribute("data-group-follows"));
    if (!leader) return;
    var chosen = leader.selectedIndex >= 0 ? leader.options[leader.selectedIndex].text : "";
    Array.prototype.forEach.call(select.querySelectorAll("optgroup"), function (group) {
      var shown = !chosen || !leader.value || group.label === chosen;
      group.hidden = !shown;
      group.disabled = !shown;
      if (!shown && select.selectedOptions[0] && select.selectedOptions[0].parentNode === group) select.value = "";
    });
  }

  document.addEventListener("change", function (event) {
    document.querySelectorAll("select[data-group-follows]").forEach(function (select) {
      if (event.target.matches && event.target.matches(select.getAttribute("data-group-follows"))) followGroups(select);
    });
  });
  document.querySelectorAll("select[data-group-follows]").forEach(followGroups);

  document.addEventListener("click", function (event) {
    var box = event.target;
    if (!box.hasAttribute || !box.hasAttribute("data-check-all")) return;
    document.querySelectorAll(box.getAttribute("data-check-all")).forEach(function (c) {
      if (c !== box) c.checked = box.checked;
    });
  });
})();
