/* The cockpit's charts: draws each panel Chart (core/panels.py) that the page carries as JSON data.
 * No inline script anywhere (a Content-Security-Policy forbids it): the data sits in
 * <script type="application/json"> blocks, this file reads them. Charts are drawn on load and again
 * whenever htmx swaps in fresh panels (the live refresh); clicks on a bar drill down to its link.
 * The big screen (body[data-screen]) shows one panel at a time and rotates them.
 */
(function () {
  "use strict";

  var drawn = [];
  var dark = function () { return document.body.getAttribute("data-theme") === "dark"; };

  function unitFormatter(unit) {
    return function (value) {
      if (value === null || value === undefined || value === "-") return "—";
      var text = typeof value === "number" ? value.toLocaleString() : String(value);
      return unit === "%" ? text + "%" : (unit ? text + " " + unit : text);
    };
  }

  function option(spec) {
    var big = document.body.hasAttribute("data-screen");
    var font = big ? 18 : 12;
    var base = {
      backgroundColor: "transparent",
      textStyle: { fontSize: font },
      // Tooltips drawn on the canvas (richText): ECharts' HTML tooltips carry style="…" attributes,
      // which the Content-Security-Policy refuses (docs/security.md).
      tooltip: { trigger: spec.kind === "pie" ? "item" : "axis", confine: true, renderMode: "richText" },
      legend: { top: 0, type: "scroll", textStyle: { fontSize: font } },
      grid: { left: 8, right: spec.kind === "hbar" ? 56 : 24, top: 36, bottom: 8, containLabel: true },
      animation: !big
    };
    if (spec.kind === "pie") {
      var series = spec.series[0] || { data: [], unit: "" };
      base.series = [{
        name: series.name, type: "pie", radius: ["35%", "65%"], top: 24,
        label: { formatter: "{b}: {c}", fontSize: font },
        tooltip: { valueFormatter: unitFormatter(series.unit) },
        data: spec.categories.map(function (name, i) { return { name: name, value: series.data[i] }; })
      }];
      return base;
    }
    var horizontal = spec.kind === "hbar";
    // Long names (五美 categories, towns) wrap or tilt instead of running into each other.
    var crowded = !horizontal && spec.categories.length > 4;
    var category = { type: "category", data: spec.categories, inverse: horizontal, axisLabel: {
      fontSize: font, interval: 0, width: horizontal ? 120 : (crowded ? 90 : 110),
      overflow: horizontal ? "truncate" : "break", rotate: crowded ? 25 : 0 } };
    var units = spec.series.map(function (s) { return s.unit; });
    var value = { type: "value", axisLabel: { fontSize: font, formatter: units[0] === "%" ? "{value}%" : "{value}" } };
    if (units[0] === "%") value.max = function (v) { return Math.max(100, Math.ceil(v.max)); };
    base.xAxis = horizontal ? value : category;
    base.yAxis = horizontal ? category : value;
    base.series = spec.series.map(function (s) {
      var kind = s.kind || (spec.kind === "line" ? "line" : "bar");
      return {
        name: s.name, type: kind, data: s.data, smooth: false, connectNulls: true,
        tooltip: { valueFormatter: unitFormatter(s.unit) },
        label: horizontal ? { show: true, position: "right", fontSize: font,
          formatter: function (p) { return unitFormatter(s.unit)(p.value); } } : undefined,
        cursor: spec.links && spec.links.length ? "pointer" : "default"
      };
    });
    return base;
  }

  function draw(root) {
    if (!window.echarts) return;
    var scope = root && root.querySelectorAll ? root : document;
    scope.querySelectorAll(".tb-chart[data-chart]").forEach(function (el) {
      if (el.getAttribute("data-drawn")) return;
      var script = document.getElementById(el.getAttribute("data-chart"));
      if (!script) return;
      var spec = JSON.parse(script.textContent);
      // A ranking grows with its units on a page; on the big screen every chart fills its slide.
      if (spec.kind === "hbar" && !document.body.hasAttribute("data-screen")) {
        el.style.height = Math.max(260, spec.categories.length * 26 + 60) + "px";
      }
      var chart = window.echarts.init(el, dark() ? "dark" : null);
      chart.setOption(option(spec));
      if (spec.links && spec.links.length) {
        chart.on("click", function (params) {
          var url = spec.links[params.dataIndex];
          if (url) window.location.href = url;
        });
      }
      el.setAttribute("data-drawn", "1");
      drawn.push(chart);
    });
    // Charts of panels that a refresh replaced are let go.
    drawn = drawn.filter(function (chart) {
      if (document.body.contains(chart.getDom())) return true;
      chart.dispose();
      return false;
    });
  }

  function resizeAll() { drawn.forEach(function (chart) { chart.resize(); }); }

  // A click anywhere on a linked table row opens it (the first cell holds the real link).
  document.addEventListener("click", function (event) {
    var row = event.target.closest && event.target.closest("tr[data-href]");
    if (!row || event.target.closest("a")) return;
    window.location.href = row.getAttribute("data-href");
  });

  // The big screen: one slide at a time, rotating; the index survives a live refresh.
  var slide = 0;
  function showSlide() {
    var slides = document.querySelectorAll(".tb-slide");
    if (!slides.length) return;
    slide = slide % slides.length;
    slides.forEach(function (el, i) { el.classList.toggle("tb-slide-on", i === slide); });
    resizeAll();
  }
  function startRotation() {
    var seconds = parseInt(document.body.getAttribute("data-rotate") || "0", 10);
    if (!seconds) return;
    showSlide();
    window.setInterval(function () { slide += 1; showSlide(); }, seconds * 1000);
  }

  window.addEventListener("resize", resizeAll);
  document.addEventListener("DOMContentLoaded", function () { showSlide(); draw(document); startRotation(); });
  document.addEventListener("htmx:load", function (event) { showSlide(); draw(event.detail.elt); });
  window.TownBrainCockpit = { draw: draw, resize: resizeAll };
})();
