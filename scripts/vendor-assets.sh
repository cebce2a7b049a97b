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

declare -A INTEGRITY=(
  ["@tabler/core@${TABLER_VERSION}"]="sha512-lgmR9gcxRp5JlLxcmRi9Rz85JrEvH6Bz71KnlcPVSa97wtwQNjgSs3g3fxwbAlulHyRMghhIV04QUuW3pqDsIg=="
  ["@tabler/icons-webfont@${TABLER_ICONS_VERSION}"]="sha512-kWgnmEzo17dzQyMqRmlfj+TiGV0clLMYfUtKp2WG7M+TH5418o6fsoaSlrOTK3lwESg0xS7jVfOozYrR02Ryxw=="
  ["htmx.org@${HTMX_VERSION}"]="sha512-Thx/WtpeOQqSrqBCw/A1cwGJGg4UrVa3+sW0GmrM3p4gJgO89ecH4qtbnyzDDWFvBTqjnIMCgELTNt636dtamA=="
  ["echarts@${ECHARTS_VERSION}"]="sha512-q0yaFPggC9FUdsWH4blavRWFmxdrIodbkoKNAjJudAI6CA9gNPxHtV2RcZNEepZVlk4yvBYkOkbk6HIVpIyHZA=="
  ["leaflet@${LEAFLET_VERSION}"]="sha512-nxS1ynzJOmOlHp+iL3FyWqK89GtNL8U8rvlMOsQdTTssxZwCXh8N2NB3GDQOL+YR3XnWyZAxwQixURb+FA74PA=="
  ["bootstrap@${BOOTSTRAP_VERSION}"]="sha512-HP1SZDqaLDPwsNiqRqi5NcP0SSXciX2s9E+RyqJIIqGo+vJeN5AJVM98CXmW/Wux0nQ5L7jeWUdplCEf0Ee+tg=="
  ["@popperjs/core@${POPPER_VERSION}"]="sha512-P1st0aksCrn9sGZhp8GMYwBnQsbvAWsZAX44oXNNvLHGqAOcoVxmjZiohstwQ7SqKnbR47akdNi+uleWD8+g6A=="
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

The script fails if a vendored stylesheet would fetch anything from another host, if a source-map
reference is left, or if a relative \`url(...)\` points at a file that is not vendored.

## Sizes

| file | bytes |
| --- | ---: |
EOF
  (cd "$vendor" && find . -type f ! -name VENDORED.md | LC_ALL=C sort | while read -r f; do
     printf '| `%s` | %s |\n' "${f#./}" "$(wc -c < "$f" | tr -d ' ')"
   done)
} > "$vendor/VENDORED.md"

echo "vendored into ${vendor#"$root"/}:"
(cd "$vendor" && find . -type f ! -name VENDORED.md | LC_ALL=C sort | xargs ls -l | awk '{printf "  %9d  %s\n", $5, substr($9, 3)}')
