/* The sensor page's chart: drawn from the json_script block, then refreshed from the chart API every
   30 s (the live view). Aggregated points (hourly, daily) show their min–max band. */
(function () {
  "use strict";
  var el = document.getElementById("sensor-chart"), dataEl = document.getElementById("sensor-chart-data");
  if (!el || !dataEl || typeof echarts === "undefined") { return; }
  var chart = echarts.init(el);
  function draw(data) {
    var pts = data.points || [];
    var series = [{name: data.unit, type: "line", showSymbol: false,
                   data: pts.map(function (p) { return [p.ts, p.value]; })}];
    if (data.grain !== "raw") {
      series.push({name: "min", type: "line", showSymbol: false, lineStyle: {opacity: 0.3},
                   data: pts.map(function (p) { return [p.ts, p.min]; })});
      series.push({name: "max", type: "line", showSymbol: false, lineStyle: {opacity: 0.3},
                   data: pts.map(function (p) { return [p.ts, p.max]; })});
    }
    chart.setOption({tooltip: {trigger: "axis", renderMode: "richText"}, grid: {left: 50, right: 20, top: 20, bottom: 30},
                     xAxis: {type: "time"}, yAxis: {type: "value", name: data.unit, scale: true},
                     series: series}, true);
  }
  draw(JSON.parse(dataEl.textContent));
  window.addEventListener("resize", function () { chart.resize(); });
  var url = el.getAttribute("data-url"), span = el.getAttribute("data-span");
  if (!url || !window.fetch) { return; }
  setInterval(function () {
    if (document.hidden) { return; }
    fetch(url + "?span=" + encodeURIComponent(span), {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) { draw(data); } })
      .catch(function () {});
  }, 30000);
})();
