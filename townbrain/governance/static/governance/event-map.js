/* The command centre's map of open events (governance/event_map.html, views.event_map_data).
 *
 * No inline script (the Content-Security-Policy forbids it): the element [data-tb-event-map] names its
 * data in data-url (/events/map.json?<the queue's filters>). This fetches it, then the vendored boundary
 * file it names (AMap's GCJ-02 GeoJSON; only the focus features, i.e. the county's outline, when a
 * county or town is shown), and draws the events as points coloured by their state (overdue, due
 * within 24 hours, in time, not yet dispatched). A click on a point opens the event. Points arrive in
 * GCJ-02 already (the server converts the stored WGS-84), so nothing here converts coordinates.
 */
(function () {
  "use strict";

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) throw new Error(r.status + " " + url);
        return r.json();
      });
  }

  function legend(data) {
    document.querySelectorAll("[data-count]").forEach(function (el) {
      el.textContent = String(data.counts[el.getAttribute("data-count")] || 0);
    });
    document.querySelectorAll(".tb-dot[data-colour]").forEach(function (el) {
      el.style.color = el.getAttribute("data-colour");
    });
    [["unlocated", data.unlocated], ["more", data.more]].forEach(function (pair) {
      var note = document.querySelector("[data-" + pair[0] + "-note]");
      if (note && pair[1]) {
        note.hidden = false;
        note.querySelector("[data-" + pair[0] + "]").textContent = String(pair[1]);
      }
    });
  }

  function draw(el, data, features) {
    if (!el.style.height) el.style.height = "560px";
    var chart = window.echarts.init(el);
    var series = Object.keys(data.states).map(function (state) {
      return {
        name: data.states[state].name, type: "scatter", coordinateSystem: features ? "geo" : "cartesian2d",
        symbolSize: state === "overdue" ? 11 : 8, itemStyle: { color: data.states[state].colour },
        data: data.points.filter(function (p) { return p.state === state; }).map(function (p) {
          return { name: p.label, value: [p.lng, p.lat], url: p.url };
        })
      };
    });
    var option = {
      tooltip: { trigger: "item", renderMode: "richText", formatter: function (p) { return p.name; } },
      legend: { show: false },
      series: series
    };
    if (features) {
      var name = "tb-events:" + data.geojson + ":" + data.focus.join(",");
      window.echarts.registerMap(name, { type: "FeatureCollection", features: features });
      option.geo = { map: name, roam: true, itemStyle: { areaColor: "#f1f5f9", borderColor: "#94a3b8" },
                     emphasis: { disabled: true }, label: { show: features.length > 1 } };
    } else {  // no boundary file for this unit: the points on plain longitude / latitude axes
      option.xAxis = { type: "value", scale: true, name: "lng" };
      option.yAxis = { type: "value", scale: true, name: "lat" };
    }
    chart.setOption(option);
    chart.on("click", function (p) {
      if (p.data && p.data.url) window.location.href = p.data.url;
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function start() {
    document.querySelectorAll("[data-tb-event-map]").forEach(function (el) {
      getJSON(el.getAttribute("data-url")).then(function (data) {
        legend(data);
        if (!data.geojson) return draw(el, data, null);
        return getJSON(data.geojson).then(function (geo) {
          var features = geo.features;
          if (data.focus.length) {
            features = features.filter(function (f) { return data.focus.indexOf(f.properties.adcode) >= 0; });
          }
          draw(el, data, features.length ? features : null);
        });
      }).catch(function (err) {
        el.textContent = String(err);
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
