/* An indicator's value by unit (indicators/indicator_detail.html), from the page's
 * <script type="application/json" id="indicator-chart-data"> (docs/security.md). */
(function () {
  "use strict";
  var el = document.getElementById("indicator-chart"), data = document.getElementById("indicator-chart-data");
  if (!window.echarts || !el || !data) return;
  var d = JSON.parse(data.textContent);
  el.style.height = Math.max(200, d.names.length * 26) + "px";
  var chart = window.echarts.init(el);
  chart.setOption({
    tooltip: {trigger: "axis", renderMode: "richText", axisPointer: {type: "shadow"},
              valueFormatter: function (v) { return v == null ? "—" : v + (d.unit ? " " + d.unit : ""); }},
    grid: {left: 8, right: 24, top: 8, bottom: 8, containLabel: true},
    yAxis: {type: "category", data: d.names, inverse: true, axisLabel: {interval: 0}},
    xAxis: {type: "value", name: d.unit},
    series: [{type: "bar", data: d.values}]
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
