#!/usr/bin/env bash
# Build rivet + rivet-bench in release mode and run a benchmark.
#
#   bench/run.sh [foundation options]          the foundation benchmark (default), e.g.
#   bench/run.sh --duration 30 --out bench/foundation.md
#
#   bench/run.sh records --db sqlite|postgres [--size large|small] [--url URL] [records options]
#       the records scenario: seeds the demo data set into the database (once: skipped when
#       the "Demo Company" is already there), prints the query plan of the hot list query
#       (bench/explain.sh), starts rivet on it and loads it. Defaults: --size large, the
#       database /tmp/rivet-bench-<size>.db (SQLite) or rivet_bench_<size> on
#       postgres://postgres@127.0.0.1:5432 (PostgreSQL, created with createdb).
#
# RIVET_BENCH_PROFILE=debug uses debug builds (to check the script works, not to measure).
set -euo pipefail

cd "$(dirname "$0")/.."
target_dir="${CARGO_TARGET_DIR:-target}"
profile="${RIVET_BENCH_PROFILE:-release}"
if [ "$profile" = release ]; then
  cargo build --release -p rivet -p rivet-bench
else
  cargo build -p rivet -p rivet-bench
fi
bin="$target_dir/$profile"

if [ "${1:-}" != records ]; then
  [ "${1:-}" = foundation ] && shift
  # rivet-bench finds rivet in $CARGO_TARGET_DIR/release or target/release itself.
  exec "$bin/rivet-bench" foundation --rivet "$bin/rivet" "$@"
fi
shift

db=sqlite
size=large
url=""
scale=""
rest=()
while [ $# -gt 0 ]; do
  case "$1" in
    --db) db="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    --url) url="$2"; shift 2 ;;
    --scale) scale="$2"; shift 2 ;;
    *) rest+=("$1"); shift ;;
  esac
done

pg_base="${RIVET_BENCH_PG:-postgres://postgres@127.0.0.1:5432}"
if [ -z "$url" ]; then
  case "$db" in
    sqlite) url="sqlite:///tmp/rivet-bench-$size.db" ;;
    postgres)
      name="rivet_bench_$size"
      if ! psql "$pg_base/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
        psql "$pg_base/postgres" -c "CREATE DATABASE $name" >/dev/null
      fi
      url="$pg_base/$name"
      ;;
    *) echo "--db must be sqlite or postgres" >&2; exit 1 ;;
  esac
fi

# Seed once: a database that already has the demo company is reused.
seeded=0
case "$url" in
  sqlite:*)
    file="${url#sqlite://}"
    if [ -f "$file" ] && sqlite3 "$file" "SELECT 1 FROM companies WHERE name = 'Demo Company'" 2>/dev/null | grep -q 1; then
      seeded=1
    fi
    ;;
  *)
    if psql "$url" -tAc "SELECT 1 FROM companies WHERE name = 'Demo Company'" 2>/dev/null | grep -q 1; then
      seeded=1
    fi
    ;;
esac
if [ "$seeded" = 0 ]; then
  echo "seeding the $size demo data set into $url" >&2
  seed_args=(seed --demo --size "$size")
  [ -n "$scale" ] && seed_args+=(--scale "$scale")
  /usr/bin/time -f "seed: %e s wall, %M kB max RSS" \
    env -u RIVET_CONFIG DATABASE_URL="$url" RIVET_LOG=warn "$bin/rivet" "${seed_args[@]}"
else
  echo "$url already holds the Demo Company; not seeding again" >&2
fi

bench/explain.sh "$url"
exec "$bin/rivet-bench" records --rivet "$bin/rivet" --database-url "$url" "${rest[@]}"
