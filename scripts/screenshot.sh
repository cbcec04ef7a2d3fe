#!/usr/bin/env bash
# Screenshot a static HTML report with headless Chromium, to check by eye how it renders.
#
#   scripts/screenshot.sh REPORT.html OUT.png
#
# Needs Debian's chromium. If /usr/bin/chromium is missing, install it (as root; registries only):
#   apt-get update && apt-get install -y chromium
#
# Environment: CHROMIUM (browser binary, default /usr/bin/chromium), SCREENSHOT_SIZE (default 1200,3000:
# the window, and so the picture, in CSS pixels; the page is cut off below that height).
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 REPORT.html OUT.png" >&2
    exit 2
fi
report=$1
out=$2
if [[ ! -f $report ]]; then
    echo "error: no such file: $report" >&2
    exit 2
fi

browser=${CHROMIUM:-/usr/bin/chromium}
if [[ ! -x $browser ]]; then
    for candidate in chromium chromium-browser google-chrome; do
        if command -v "$candidate" >/dev/null 2>&1; then browser=$(command -v "$candidate"); break; fi
    done
fi
if [[ ! -x $browser ]]; then
    echo "error: chromium not found; install it with: apt-get update && apt-get install -y chromium" >&2
    exit 1
fi

abs_report=$(realpath "$report")
url=file://$(printf '%s' "$abs_report" | sed -e 's/%/%25/g' -e 's/ /%20/g' -e 's/#/%23/g' -e 's/?/%3F/g')
mkdir -p "$(dirname "$out")"
abs_out=$(realpath -m "$out")
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
rm -f "$abs_out"

# Chromium can linger after writing the picture on some builds; the timeout bounds that.
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --hide-scrollbars --user-data-dir="$profile" --window-size="${SCREENSHOT_SIZE:-1200,3000}" \
    --screenshot="$abs_out" "$url" >/dev/null 2>"$profile/stderr.log" || true

if [[ ! -s $abs_out ]]; then
    echo "error: chromium wrote no screenshot; its log follows" >&2
    cat "$profile/stderr.log" >&2
    exit 1
fi
echo "$abs_out"
