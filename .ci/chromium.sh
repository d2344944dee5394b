#!/usr/bin/env bash
# Debian's chromium for the browser tests (internal/browsertest), installed
# when missing. The tests skip with a clear message where no Chromium can
# start, so a failure here only warns.
set -uo pipefail
if command -v chromium >/dev/null 2>&1; then
	echo "== chromium present: $(chromium --version 2>/dev/null | tail -1)"
	exit 0
fi
echo "== installing Debian's chromium for the browser tests"
if [ "$(id -u)" -ne 0 ]; then
	echo "not root: cannot install chromium; the browser tests will skip"
	exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null; }; then
	echo "installing chromium failed; the browser tests will skip"
fi
exit 0
