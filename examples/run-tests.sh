#!/usr/bin/env bash
# Runs the tests of every example module (each has its own go.mod, so the
# root's `go test ./...` does not reach them). GOWORK=off: the repository's
# go.work lists trialwatch and leakguard only, and an example is built as
# another project would build it, against leakguard alone.
set -euo pipefail
cd "$(dirname "$0")"
export GOWORK=off

status=0
for dir in gin gozero; do
	echo "== examples/$dir"
	# -mod=mod: each example replaces leakguard with ../../leakguard, so
	# when leakguard's go.mod gains a dependency the example's go.sum may
	# lack its checksum; let the go command add it rather than fail on
	# churn that has nothing to do with the example.
	if ! (cd "$dir" && go vet -mod=mod ./... && go test -mod=mod -race ./...); then
		status=1
	fi
done
exit "$status"
