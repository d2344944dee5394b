#!/usr/bin/env bash
# Checks and unit-tests the alerting rules (leakguard's and trialwatch's) with promtool.
# Installs Debian's prometheus package (which ships promtool) if missing.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v promtool >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
	else
		echo "promtool not found; install the prometheus package" >&2
		exit 1
	fi
fi

promtool check rules leakguard-rules.yml trialwatch-rules.yml
# The Compose deployment's configuration (its rule files are the two above,
# at the paths the container mounts them: checked by deploy's Go tests).
promtool check config --syntax-only ../compose/prometheus.yml
promtool test rules leakguard-rules.test.yml trialwatch-rules.test.yml
