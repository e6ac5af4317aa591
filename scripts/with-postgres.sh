#!/usr/bin/env bash
# Run a command against a throw-away PostgreSQL cluster on loopback: TEST_DATABASE_URL points at it.
set -euo pipefail
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
dir=$(mktemp -d /tmp/webir-pg.XXXXXX)
port=${PGPORT_TEST:-55432}
as=()
if [[ $(id -u) -eq 0 ]]; then
  chown postgres "$dir"
  as=(runuser -u postgres --)   # PostgreSQL refuses to run as root
fi
stop() { "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap stop EXIT
"${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
"${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
  -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=50" start >/dev/null
export TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
"$@"
