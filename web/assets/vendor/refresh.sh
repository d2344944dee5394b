#!/usr/bin/env bash
# Refreshes the vendored plotting library from npm. Only this script needs
# npm; building and running trialwatch never does (the files are committed
# and embedded with go:embed).
#
#   bash web/assets/vendor/refresh.sh 4.6.2
set -euo pipefail
version="${1:?usage: refresh.sh CHART_JS_VERSION}"
dir="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "chart.js@$version" >/dev/null && tar xzf "chart.js-$version.tgz")
cp "$tmp/package/dist/chart.umd.min.js" "$dir/chart.umd.min.js"
cp "$tmp/package/LICENSE.md" "$dir/chart.js-LICENSE.md"
echo "chart.js $version vendored in $dir; update the version in web/README.md"
