/* The roll-up page's chart (projects/rollup.html): start rate and investment completion by unit,
 * one row per child unit, drawn again whenever htmx swaps in new figures; a bar links to its unit.
 * The data sits in <script type="application/json" id="rollup-chart-data"> (docs/security.md). */
(function () {
  "use strict";
  var chart = null;
  function draw() {
    if (chart) { chart.dispose(); chart = null; }
    var el = document.getElementById("rollup-chart"), data = document.getElementById("rollup-chart-data");
    if (!window.echarts || !el || !data) return;
    var d = JSON.parse(data.textContent);
    el.style.height = Math.max(240, d.names.length * 30) + "px";
    chart = window.echarts.init(el);
    // One row per child unit, two bars (start rate, investment rate): readable on a phone too.
    chart.setOption({
      tooltip: {trigger: "axis", renderMode: "richText", axisPointer: {type: "shadow"},
                valueFormatter: function (v) { return v == null ? "—" : v + "%"; }},
      legend: {top: 0},
      grid: {left: 8, right: 24, top: 32, bottom: 8, containLabel: true},
      yAxis: {type: "category", data: d.names, inverse: true, axisLabel: {interval: 0}},
      xAxis: {type: "value", name: "%", max: function (v) { return Math.max(100, Math.ceil(v.max)); }},
      series: [{name: d.labels[0], type: "bar", data: d.start_rate},
               {name: d.labels[1], type: "bar", data: d.investment_rate}]
    });
    chart.on("click", function (p) { if (d.links[p.dataIndex]) window.location.href = d.links[p.dataIndex]; });
  }
  draw();
  document.addEventListener("htmx:afterSettle", draw);
  window.addEventListener("resize", function () { if (chart) chart.resize(); });
})();
