/* A project's monthly chart (projects/project_detail.html): cumulative investment and physical
 * progress by month, from the page's <script type="application/json" id="chart-data">; the series
 * names come translated in the chart's data-* attributes. No inline script (docs/security.md). */
(function () {
  "use strict";
  var data = document.getElementById("chart-data"), el = document.getElementById("progress-chart");
  if (!window.echarts || !el || !data) return;
  var d = JSON.parse(data.textContent), chart = window.echarts.init(el);
  chart.setOption({
    tooltip: {trigger: "axis", renderMode: "richText"}, legend: {},
    xAxis: {type: "category", data: d.periods},
    yAxis: [{type: "value", name: "万元"}, {type: "value", name: "%", max: 100}],
    series: [{name: el.getAttribute("data-investment-label"), type: "bar", data: d.cumulative},
             {name: el.getAttribute("data-progress-label"), type: "line", yAxisIndex: 1, data: d.progress}]
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
