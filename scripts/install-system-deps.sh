#!/usr/bin/env bash
# Debian packages the test suite and the PDF briefings need. Idempotent: installs only what is missing.
# With --demo: only what the running site needs (the PDF briefings' Pango and CJK font).
set -euo pipefail
need=()
demo=false
[ "${1:-}" = "--demo" ] && demo=true
if ! $demo; then
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  command -v msgfmt >/dev/null 2>&1 || need+=(gettext)
  command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
  # MQTT ingest tests: the broker binary only; each test starts its own on a free port.
  [ -x /usr/sbin/mosquitto ] || command -v mosquitto >/dev/null 2>&1 || need+=(mosquitto)
  # Stateless app servers (core/tests/test_replicas.py): the Redis binary only; the test starts its own on a
  # free port. The replica tests need the PostgreSQL server programs (initdb, pg_basebackup), there already.
  [ -x /usr/bin/redis-server ] || command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
fi
# grep without -q: -q exits at the first match, fc-list dies of SIGPIPE and pipefail reports a miss.
fc-list 2>/dev/null | grep -i "Noto Sans CJK" >/dev/null || need+=(fonts-noto-cjk)
# PDF briefings: WeasyPrint lays text out with Pango; the tests read PDFs back with pdftotext/pdffonts.
for lib in libpango-1.0-0 libpangoft2-1.0-0; do
  dpkg-query -W -f='${Status}' "$lib" 2>/dev/null | grep -q "ok installed" || need+=("$lib")
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "install-system-deps: missing ${need[*]}; run as root or: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "install-system-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
