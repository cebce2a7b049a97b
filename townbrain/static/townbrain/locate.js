/* "Use my location" on the event forms (governance/_locate.html). The browser gives WGS-84 (GPS);
 * the form declares it so the service stores it as it is. No inline script (docs/security.md). */
(function () {
  "use strict";
  var button = document.getElementById("locate-me");
  if (!button) return;
  button.addEventListener("click", function () {
    var status = document.getElementById("locate-status");
    if (!navigator.geolocation) { status.textContent = button.dataset.noGeo; return; }
    navigator.geolocation.getCurrentPosition(function (p) {
      document.getElementById("id_lat").value = p.coords.latitude.toFixed(6);
      document.getElementById("id_lng").value = p.coords.longitude.toFixed(6);
      document.getElementById("id_crs").value = "wgs84";
      status.textContent = p.coords.latitude.toFixed(5) + ", " + p.coords.longitude.toFixed(5);
    }, function () { status.textContent = button.dataset.failed; });
  });
})();
