/* Org-unit boxes (input[data-org-picker]) suggest units by name or code while one types.
   The suggestions come from /org-picker/?q= (only units the user may see) into a <datalist>;
   picking one puts its division code in the box, which is what the form and the API take. */
(function () {
  "use strict";
  var url = document.documentElement.getAttribute("data-org-picker-url");
  if (!url || !window.fetch) { return; }
  var counter = 0;

  function attach(input) {
    if (input.dataset.orgPickerReady) { return; }
    input.dataset.orgPickerReady = "1";
    var list = document.createElement("datalist");
    list.id = "org-picker-" + (++counter);
    input.setAttribute("list", list.id);
    input.after(list);
    var timer = null, asked = null;
    function ask() {
      var q = input.value.trim();
      if (q === asked) { return; }
      asked = q;
      fetch(url + "?q=" + encodeURIComponent(q), {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { return r.ok ? r.json() : {results: []}; })
        .then(function (data) {
          if (asked !== q) { return; }  // an older answer arriving late
          list.replaceChildren.apply(list, data.results.map(function (unit) {
            var option = document.createElement("option");
            option.value = unit.code;
            option.label = unit.label;
            option.textContent = unit.label;
            return option;
          }));
        })
        .catch(function () { /* no suggestions; the box still takes a typed code */ });
    }
    input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(ask, 200); });
    input.addEventListener("focus", ask);
  }

  function attachAll(root) {
    (root || document).querySelectorAll("input[data-org-picker]").forEach(attach);
  }
  document.addEventListener("DOMContentLoaded", function () { attachAll(); });
  document.addEventListener("htmx:load", function (event) { attachAll(event.target); });
})();
