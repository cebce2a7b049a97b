/* A data element's values by period (indicators/element_detail.html), from the page's
 * <script type="application/json" id="element-chart-data"> (docs/security.md). */
(function () {
  "use strict";
  var el = document.getElementById("element-chart"), data = document.getElementById("element-chart-data");
  if (!window.echarts || !el || !data) return;
  var d = JSON.parse(data.textContent), chart = window.echarts.init(el);
  chart.setOption({
    tooltip: {trigger: "axis", renderMode: "richText", valueFormatter: function (v) { return v == null ? "—" : v + (d.unit ? " " + d.unit : ""); }},
    grid: {left: 8, right: 16, top: 24, bottom: 8, containLabel: true},
    xAxis: {type: "category", data: d.periods},
    yAxis: {type: "value", name: d.unit},
    series: [{name: d.name, type: d.periods.length > 1 ? "line" : "bar", data: d.values, connectNulls: false,
              label: {show: d.periods.length <= 12, position: "top"}}]
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
