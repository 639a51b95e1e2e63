#!/usr/bin/env bash
# Starts the local PostgreSQL cluster for the PostgresStore tests and prints the URL to use,
# e.g. `export TERN_TEST_POSTGRES_URL="$(scripts/start-postgres.sh)"`. Idempotent: installs the
# server only when missing (Debian), starts the cluster only when it is down, creates or
# updates the role only as needed. Runs as root. Progress goes to stderr; stdout is the URL.
#   TERN_PG_USER / TERN_PG_PASSWORD   the role the tests log in as (default tern / tern)
set -euo pipefail

user="${TERN_PG_USER:-tern}"
password="${TERN_PG_PASSWORD:-tern}"
say() { echo "start-postgres: $*" >&2; }

if [[ "$(id -u)" != 0 ]]; then
  say "must run as root (it starts the cluster and runs psql as the postgres user)"
  exit 1
fi
if [[ ! "$user" =~ ^[a-z_][a-z0-9_]*$ || "$password" == *"'"* ]]; then
  say "TERN_PG_USER must be a plain lower-case identifier and TERN_PG_PASSWORD must not contain a quote"
  exit 1
fi

if ! command -v pg_lsclusters >/dev/null; then
  say "installing postgresql"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >&2
fi

# The first cluster pg_lsclusters lists: version, name, port, status.
read -r version cluster port status < <(pg_lsclusters --no-header | awk 'NR == 1 { print $1, $2, $3, $4 }') || true
if [[ -z "${version:-}" ]]; then
  version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
  say "creating cluster $version/main"
  pg_createcluster "$version" main >&2
  read -r version cluster port status < <(pg_lsclusters --no-header | awk 'NR == 1 { print $1, $2, $3, $4 }')
fi
if [[ "$status" != online* ]]; then
  say "starting cluster $version/$cluster on port $port"
  pg_ctlcluster "$version" "$cluster" start >&2
fi
for _ in $(seq 1 60); do
  pg_isready -q -h 127.0.0.1 -p "$port" && break
  sleep 0.5
done
pg_isready -q -h 127.0.0.1 -p "$port" || { say "PostgreSQL did not become ready on port $port"; exit 1; }

# From / so psql, running as postgres, does not complain about a working directory it cannot read.
psql_admin() { (cd / && runuser -u postgres -- psql -p "$port" -v ON_ERROR_STOP=1 -qtAc "$1"); }
# CREATEDB is all the tests need: each creates, owns and drops its own throwaway databases.
if [[ "$(psql_admin "select 1 from pg_roles where rolname = '$user'")" != 1 ]]; then
  say "creating role $user"
  psql_admin "create role $user login createdb password '$password'" >&2
else
  psql_admin "alter role $user login createdb password '$password'" >&2
fi

echo "postgres://$user:$password@127.0.0.1:$port/postgres"
