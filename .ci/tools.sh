#!/usr/bin/env bash
# The command-line tools the README's examples use (the docs test,
# internal/readmetest, runs them): curl, jq and openssl, installed from
# Debian's packages when missing.
set -euo pipefail
missing=()
for tool in curl jq openssl; do
	command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "== curl, jq and openssl present"
	exit 0
fi
echo "== installing ${missing[*]} for the README's examples"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" ca-certificates >/dev/null
