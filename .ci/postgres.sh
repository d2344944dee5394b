#!/usr/bin/env bash
# Gives this machine the PostgreSQL the tests use (TRIALWATCH_TEST_PG):
# installs Debian's server when missing, lets local TCP connections of the
# postgres role to the test database in without a password (this machine
# only: loopback, one role, one database), starts the cluster and creates
# the database. Idempotent; .ci/run sources it, and a developer runs it
# once per machine:
#
#   bash .ci/postgres.sh   # as root
#   export TRIALWATCH_TEST_PG='postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
set -euo pipefail

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
	echo "== installing PostgreSQL (Debian packages)"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi

version="$(ls /etc/postgresql | sort -V | tail -1)"
conf="/etc/postgresql/$version/main"
hba="$conf/pg_hba.conf"
marker="# trialwatch tests: loopback, role postgres, database test"
if ! grep -qF "$marker" "$hba"; then
	echo "== allowing the tests' local connections ($hba)"
	# First match wins in pg_hba.conf: these lines go on top.
	{
		echo "$marker"
		echo "host test postgres 127.0.0.1/32 trust"
		echo "host test postgres ::1/128 trust"
		cat "$hba"
	} >"$hba.new"
	chown --reference="$hba" "$hba.new"
	chmod --reference="$hba" "$hba.new"
	mv "$hba.new" "$hba"
	if pg_isready -q -h 127.0.0.1 -p 5432; then
		pg_ctlcluster --skip-systemctl-redirect "$version" main reload
	fi
fi

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
	echo "== starting PostgreSQL $version"
	pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
	for _ in $(seq 1 60); do
		pg_isready -q -h 127.0.0.1 -p 5432 && break
		sleep 1
	done
	pg_isready -h 127.0.0.1 -p 5432
fi

if ! su postgres -c "psql -qAtc \"SELECT 1 FROM pg_database WHERE datname = 'test'\"" | grep -q 1; then
	echo "== creating database test"
	su postgres -c "psql -qc 'CREATE DATABASE test'"
fi
psql 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable' -qAtc 'SELECT 1' >/dev/null
echo "== PostgreSQL $version ready: postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
