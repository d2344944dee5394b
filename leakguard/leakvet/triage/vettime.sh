#!/usr/bin/env bash
# Compares the run time of `go vet` with `go vet -vettool=leakvet` over this
# repository (trialwatch and leakguard), fairly: both start from copies of
# one build cache that holds every compiled package but no vet results, so
# each run analyses everything and compiles nothing. Runs each twice,
# alternating, and prints the times and the ratio of the sums.
set -euo pipefail
cd "$(dirname "$0")/../../.."
work=$(mktemp -d)
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
go build -o "$work/leakvet" ./leakguard/cmd/leakvet
export GOCACHE="$work/seed"
go build ./... ./leakguard/...
go test -vet=off -count=1 -run '^$' ./... ./leakguard/... >/dev/null
seconds() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s.%N); echo "$e - $s" | bc; }
vet_total=0 leakvet_total=0
for round in 1 2; do
	rm -rf "$work/a" "$work/b"
	cp -r "$work/seed" "$work/a"
	cp -r "$work/seed" "$work/b"
	v=$(GOCACHE="$work/a" seconds go vet ./... ./leakguard/...)
	l=$(GOCACHE="$work/b" seconds go vet -vettool="$work/leakvet" ./... ./leakguard/...)
	echo "round $round: go vet ${v}s, go vet -vettool=leakvet ${l}s"
	vet_total=$(echo "$vet_total + $v" | bc)
	leakvet_total=$(echo "$leakvet_total + $l" | bc)
done
echo "ratio leakvet/vet: $(echo "scale=2; $leakvet_total / $vet_total" | bc)"
