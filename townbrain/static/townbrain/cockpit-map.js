/* The cockpit map (cockpit/_map.html, cockpit/map.py): child units coloured by a figure, with a
 * legend; towns with a centre point as points; a click on an area or a point drills down.
 *
 * No inline script (a Content-Security-Policy forbids it): every element [data-tb-map] names its
 * data in data-url (/cockpit/<code>/map.json?...). This file fetches that, then the boundary file it
 * names (a static GeoJSON, cached per page), registers it with ECharts and draws. It draws on load
 * and again when htmx swaps in fresh panels (the cockpit's live refresh). A select
 * [data-tb-map-figure] beside the map switches the figure. An ancestor with data-theme="dark"
 * (the big screen) draws it for a dark background.
 *
 * Points arrive already in the polygons' coordinate system (the server converts the stored WGS-84
 * to GCJ-02), so nothing here converts coordinates; so do the facilities of the sensing app's layer
 * (/facilities/map.json), drawn as diamonds coloured by status.
 */
(function () {
  "use strict";
  if (window.tbCockpitMap) return;  // the fragment may be swapped in again with its script tag
  window.tbCockpitMap = true;

  var geojsonCache = {};  // boundary URL -> Promise of the parsed GeoJSON
  var figure = null;      // the figure chosen on this page, kept across live refreshes
  var charts = [];

  function isDark(el) {
    var themed = el.closest("[data-theme]");
    return !!themed && themed.getAttribute("data-theme") === "dark";
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) throw new Error(r.status + " " + url);
        return r.json();
      });
  }

  function boundaries(url) {
    if (!geojsonCache[url]) geojsonCache[url] = getJSON(url);
    return geojsonCache[url];
  }

  function withFigure(url, key) {
    if (!key) return url;
    var u = new URL(url, window.location.href);
    u.searchParams.set("figure", key);
    return u.pathname + u.search;
  }

  // The layer of facilities coloured by status, when the map's JSON names one (layers.facilities: the
  // sensing app's /facilities/map.json for the area drawn, in the polygons' system). Drawn over the
  // areas, outside the figure's colour scale; none when there is no layer or the fetch fails.
  function facilitiesOf(data) {
    var url = data.layers && data.layers.facilities;
    if (!url) return Promise.resolve([]);
    return getJSON(url).then(function (layer) { return layer.facilities; }, function () { return []; });
  }

  function option(data, names, dark, big, narrow, facilities) {
    var font = big ? 18 : 12;
    var text = dark ? "#e6e7e9" : "#1d273b";
    var edge = dark ? "#9aa0ac" : "#ffffff";
    var empty = dark ? "#3a4352" : "#e9ecef";
    var legend = data.legend;
    var worseHigh = legend.figure === "laggards";
    var colours = worseHigh ? ["#2fb344", "#f7c948", "#d63939"] : ["#d63939", "#f7c948", "#2fb344"];
    // Rates on their whole scale (0–100%: 97% reads as good, not as the worst of a close field);
    // counts from none to the most.
    var percent = legend.unit === "%";
    var lo = 0, hi = percent ? Math.max(100, Math.ceil(legend.max)) : Math.max(1, Math.ceil(legend.max));
    // Above a county the areas are the children and carry the colour; a county's (or a town's) map
    // is its county's outline alone, drawn plain, and the towns' points carry the colour.
    var colourAreas = data.level === "province" || data.level === "city";

    var regions = data.regions.map(function (r) {
      return { name: r.feature, value: r.value === null || !colourAreas ? "-" : r.value, tb: r };
    });
    // Areas no unit claims (a district merged away since the boundaries were drawn) still get an
    // empty item, or the map series would paint them in its own colour.
    var claimed = {};
    regions.forEach(function (r) { claimed[r.name] = true; });
    Object.keys(names).forEach(function (key) {
      if (!claimed[key]) regions.push({ name: key, value: "-" });
    });
    var valued = [], unvalued = [], marked = [];
    data.points.forEach(function (p) {
      var item = { name: p.name, value: [p.lng, p.lat, p.value === null ? "-" : p.value], tb: p };
      if (p.highlight) marked.push(item);
      else if (p.value === null) unvalued.push(item);
      else valued.push(item);
    });

    var sites = (facilities || []).map(function (f) {
      return { name: f.name, value: [f.lng, f.lat], itemStyle: { color: f.colour },
        tb: { name: f.name, url: f.url, facility: [f.town, f.kind_name, f.status_label].filter(Boolean).join(" · ") } };
    });

    function tip(params) {
      var d = params.data && params.data.tb;
      if (!d) return names[params.name] || params.name;
      if (d.facility) return d.name + "\n" + d.facility;
      return d.name + "\n" + legend.name + ": " + d.label;
    }

    var pointStyle = { borderColor: dark ? "#1d273b" : "#ffffff", borderWidth: 1.5 };
    // Town names beside their points; where they would overlap, ECharts drops the later ones.
    var pointLabel = { show: true, position: "right", fontSize: big ? 14 : 11, color: text,
      formatter: function (p) { return p.data.tb.name; } };
    return {
      backgroundColor: "transparent",
      textStyle: { fontSize: font, color: text },
      tooltip: { trigger: "item", confine: true, formatter: tip, renderMode: "richText" },
      visualMap: {
        type: "continuous", min: lo, max: hi, calculable: false, realtime: false,
        seriesIndex: [0, 1, 3], left: 8, bottom: 8, itemHeight: big ? 160 : (narrow ? 70 : 110), itemWidth: narrow ? 12 : 20,
        text: [String(hi) + (percent ? "%" : ""), String(lo) + (percent ? "%" : "")],
        textStyle: { color: text, fontSize: font },
        inRange: { color: colours },
        formatter: function (v) { return Math.round(v * 10) / 10; }
      },
      title: { text: legend.name + (legend.unit ? " (" + legend.unit + ")" : ""), left: 8, top: 4,
        textStyle: { fontSize: font + 1, color: text, fontWeight: "normal" } },
      geo: {
        // layoutCenter/layoutSize keep the map's proportions (left/right/top/bottom would stretch it);
        // aspectScale is cos(latitude), the east-west squeeze of a degree of longitude there.
        map: data.mapName, nameProperty: "key", roam: true, aspectScale: data.aspectScale,
        layoutCenter: ["50%", "53%"], layoutSize: "92%",
        label: { show: data.level !== "county" && data.level !== "town" && data.level !== "village",
          fontSize: big ? 14 : 10, color: text, formatter: function (p) { return names[p.name] || ""; } },
        itemStyle: { areaColor: empty, borderColor: edge, borderWidth: 1 },
        emphasis: { label: { show: true, color: text, formatter: function (p) { return names[p.name] || ""; } },
          itemStyle: { areaColor: dark ? "#5a6b85" : "#cfe2ff" } },
        select: { disabled: true }
      },
      series: [
        { type: "map", geoIndex: 0, data: regions, cursor: "pointer" },
        { type: "scatter", coordinateSystem: "geo", data: valued, symbolSize: big ? 16 : 11,
          itemStyle: pointStyle, label: pointLabel, labelLayout: { hideOverlap: true }, cursor: "pointer", zlevel: 1 },
        { type: "scatter", coordinateSystem: "geo", data: unvalued, symbolSize: big ? 14 : 9,
          itemStyle: Object.assign({ color: "#868e96" }, pointStyle), label: pointLabel,
          labelLayout: { hideOverlap: true }, cursor: "pointer", zlevel: 1 },
        { type: "effectScatter", coordinateSystem: "geo", data: marked, symbolSize: big ? 20 : 14,
          rippleEffect: { scale: 3, brushType: "stroke" }, itemStyle: pointStyle, cursor: "pointer",
          label: { show: true, position: "right", fontSize: font, color: text,
            formatter: function (p) { return p.data.tb.name; } }, zlevel: 2 },
        { type: "scatter", coordinateSystem: "geo", data: sites, symbol: "diamond", symbolSize: big ? 14 : 9,
          itemStyle: { borderColor: dark ? "#1d273b" : "#ffffff", borderWidth: 1 }, cursor: "pointer", zlevel: 1 }
      ]
    };
  }

  function draw(el) {
    var url = el.getAttribute("data-url");
    if (!url || !window.echarts) return;
    el.setAttribute("data-drawn", "1");
    var big = !!el.closest("[data-screen]");
    if (!el.style.height) el.style.height = (big ? 720 : 440) + "px";
    getJSON(withFigure(url, figure)).then(function (data) {
      if (!data.geojson) { el.setAttribute("data-state", "no-boundaries"); return null; }
      return Promise.all([boundaries(data.geojson), facilitiesOf(data)]).then(function (loaded) {
        var geojson = loaded[0];
        var features = geojson.features;
        if (data.focus.length) {  // a county or a town: its county's outline alone
          features = features.filter(function (f) { return data.focus.indexOf(f.properties.key) >= 0; });
        }
        var south = 90, north = -90;  // the vendored files hold MultiPolygons only
        features.forEach(function (f) {
          f.geometry.coordinates.forEach(function (poly) {
            poly[0].forEach(function (pt) { south = Math.min(south, pt[1]); north = Math.max(north, pt[1]); });
          });
        });
        data.aspectScale = south <= north ? Math.cos((south + north) / 2 * Math.PI / 180) : 0.75;
        var names = {};
        features.forEach(function (f) { names[f.properties.key] = f.properties.name; });
        data.regions.forEach(function (r) { names[r.feature] = r.name; });  // NBS names win
        data.mapName = "tb:" + data.geojson + ":" + data.focus.join(",");
        window.echarts.registerMap(data.mapName, { type: "FeatureCollection", features: features });
        var chart = window.echarts.getInstanceByDom(el);
        if (chart) chart.dispose();
        chart = window.echarts.init(el, isDark(el) ? "dark" : null);
        chart.setOption(option(data, names, isDark(el), big, el.clientWidth < 500, loaded[1]));
        chart.on("click", function (params) {
          var d = params.data && params.data.tb;
          if (d && d.url) window.location.href = d.url;
        });
        charts.push(chart);
        el.setAttribute("data-state", "drawn");
        el.setAttribute("data-regions", String(data.regions.length));
        el.setAttribute("data-points", String(data.points.length));
        el.setAttribute("data-facilities", String(loaded[1].length));
        return chart;
      });
    }).catch(function (err) {
      el.setAttribute("data-state", "error");
      if (window.console) window.console.error("cockpit map:", err);
    });
  }

  function drawAll(root) {
    var scope = root && root.querySelectorAll ? root : document;
    // Charts whose element a swap removed are let go.
    charts = charts.filter(function (c) {
      if (c.isDisposed() || document.body.contains(c.getDom())) return !c.isDisposed();
      c.dispose();
      return false;
    });
    scope.querySelectorAll("[data-tb-map]").forEach(function (el) {
      if (!el.getAttribute("data-drawn")) draw(el);
    });
    scope.querySelectorAll("[data-tb-map-figure]").forEach(function (select) {
      if (figure) select.value = figure;
    });
  }

  document.addEventListener("change", function (event) {
    var select = event.target.closest && event.target.closest("[data-tb-map-figure]");
    if (!select) return;
    figure = select.value;
    var box = select.closest("[data-tb-map-box]") || document;
    box.querySelectorAll("[data-tb-map]").forEach(draw);
  });

  window.addEventListener("resize", function () {
    charts.forEach(function (c) { if (!c.isDisposed()) c.resize(); });
  });

  // This file may run before echarts.min.js (both deferred, the fragment comes first in the page):
  // draw once the document is parsed, and again on load in case ECharts was still missing then.
  // drawAll skips maps already drawn.
  function start() { if (window.echarts) drawAll(document); }
  document.addEventListener("DOMContentLoaded", start);
  window.addEventListener("load", start);
  if (document.readyState === "complete") start();
  document.addEventListener("htmx:afterSwap", function (event) { drawAll(event.target); });
})();
