#!/usr/bin/env bash
# Runs the tests of every example module (each has its own go.mod, so the
# root module's `go test ./...` does not reach them).
set -euo pipefail
cd "$(dirname "$0")"

status=0
for dir in gin gozero; do
	echo "== examples/$dir"
	# -mod=mod: each example replaces the root module with ../.., so when
	# the root go.mod gains a dependency the example's go.sum may lack its
	# checksum; let the go command add it rather than fail on churn that
	# has nothing to do with the example.
	if ! (cd "$dir" && go vet -mod=mod ./... && go test -mod=mod -race ./...); then
		status=1
	fi
done
exit "$status"
