#!/usr/bin/env bash
# The import benchmark of issue 13: a generated leads CSV imported by `rivet import` with
# normalization, duplicate checking against existing leads and round-robin assignment, next to
# the same file loaded into a bare table by the database's own loader (the floor):
#
#   bench/import.sh <rivet binary> sqlite|postgres [rows (1000000)] [existing rows (100000)]
#
# On a new database (SQLite: a temporary directory; PostgreSQL: `rivet_import_bench`, dropped
# and created through psql) it creates a company with three sales reps and a round-robin
# assignment rule over them (through the API of a `rivet serve` started for it), imports
# `existing` leads (not measured), then times `rivet import` of `rows` leads of which every
# 100th repeats an existing lead's e-mail (found by the default rules and skipped: the default
# duplicate policy). Prints rows/s and the importer's peak RSS (`/usr/bin/time`), then the
# same file through `sqlite3 .import` or psql's `\copy` into a table of text columns.
# Files go to /tmp/rivet-import-bench (kept between runs). With RIVET_BENCH_KEEP=<dir> the
# SQLite database stays in <dir> (PostgreSQL's always stays) for the duplicate benchmarks that
# follow. Take `flock /tmp/rivet-bench.lock`.
set -euo pipefail
rivet="$(realpath "$1")"
engine="$2"
rows="${3:-1000000}"
existing="${4:-100000}"
here="$(cd "$(dirname "$0")" && pwd)"
files=/tmp/rivet-import-bench
mkdir -p "$files"
old="$files/existing-$existing.csv"
new="$files/leads-$rows-$existing.csv"
[ -s "$old" ] || python3 "$here/gen_leads.py" "$existing" --seed 2 >"$old"
[ -s "$new" ] || python3 "$here/gen_leads.py" "$rows" --seed 1 --repeat-of "$old" --repeat-every 100 >"$new"
work="${RIVET_BENCH_KEEP:-$(mktemp -d)}"
mkdir -p "$work"
[ -n "${RIVET_BENCH_KEEP:-}" ] && rm -f "$work"/rivet.db* "$work"/bare.db
case "$engine" in
  sqlite) url="sqlite://$work/rivet.db?mode=rwc" ;;
  postgres)
    base_url="${RIVET_BENCH_PG:-postgres://postgres@127.0.0.1:5432}"
    psql -q "$base_url/postgres" -c "DROP DATABASE IF EXISTS rivet_import_bench" -c "CREATE DATABASE rivet_import_bench"
    url="$base_url/rivet_import_bench" ;;
  *) echo "engine: sqlite or postgres" >&2; exit 2 ;;
esac
export DATABASE_URL="$url" RIVET_DATA_DIR="$work" RIVET_LOG="${RIVET_LOG:-warn}" RIVET_IMPORT_MAX_BYTES=$((1024 * 1024 * 1024))
password=rivet-bench-2024
"$rivet" migrate >/dev/null
RIVET_NEW_ADMIN_PASSWORD=$password "$rivet" company create --name Bench --admin-email admin@bench.test >/dev/null
for n in 1 2 3; do
  RIVET_NEW_USER_PASSWORD=$password "$rivet" user create --company Bench --email "rep$n@bench.test" --name "Rep $n" --role sales >/dev/null
done
port=$((20000 + RANDOM % 10000))
RIVET_ADDR="127.0.0.1:$port" RIVET_WORKERS=false "$rivet" serve >"$work/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; [ -n "${RIVET_BENCH_KEEP:-}" ] || rm -rf "$work"' EXIT
api="http://127.0.0.1:$port/api/v1"
for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
token=$(curl -fs -X POST "$api/auth/login" -H 'content-type: application/json' \
  -d "{\"email\":\"admin@bench.test\",\"password\":\"$password\"}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
reps=$(curl -fs "$api/users?limit=100" -H "authorization: Bearer $token" |
  python3 -c 'import json,sys; print(json.dumps([u["id"] for u in json.load(sys.stdin)["data"] if u["email"].startswith("rep")]))')
curl -fs -X POST "$api/assignment-rules" -H "authorization: Bearer $token" -H 'content-type: application/json' \
  -d "{\"name\":\"Round robin\",\"action\":{\"kind\":\"round_robin\",\"user_ids\":$reps}}" >/dev/null
kill $pid; wait $pid 2>/dev/null || true
"$rivet" import "$old" --entity leads --company Bench --as admin@bench.test --quiet >/dev/null
echo "engine=$engine rows=$rows existing=$existing file=$(du -h "$new" | cut -f1)"
/usr/bin/time -f '%e %M' -o "$work/time" "$rivet" import "$new" --entity leads --company Bench --as admin@bench.test --quiet
read -r wall rss <"$work/time"
echo "rivet import: wall=${wall}s rows/s=$(python3 -c "print(round($rows / $wall))") peak_rss=$((rss / 1024)) MB"
case "$engine" in
  sqlite)
    /usr/bin/time -f '%e %M' -o "$work/time" sqlite3 "$work/bare.db" \
      "CREATE TABLE bare(first_name TEXT, last_name TEXT, email TEXT, phone TEXT, company TEXT, website TEXT, title TEXT, city TEXT, country TEXT, source TEXT, employees TEXT)" \
      ".import --csv --skip 1 $new bare"
    loader="sqlite3 .import" ;;
  postgres)
    psql -q "$url" -c "CREATE TABLE bare(first_name TEXT, last_name TEXT, email TEXT, phone TEXT, company TEXT, website TEXT, title TEXT, city TEXT, country TEXT, source TEXT, employees TEXT)"
    /usr/bin/time -f '%e %M' -o "$work/time" psql -q "$url" -c "\\copy bare FROM '$new' WITH (FORMAT csv, HEADER true)"
    loader="psql \\copy" ;;
esac
read -r wall rss <"$work/time"
echo "$loader (bare table): wall=${wall}s rows/s=$(python3 -c "print(round($rows / $wall))") peak_rss=$((rss / 1024)) MB"
