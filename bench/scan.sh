#!/usr/bin/env bash
# Time a full duplicate scan (issue 13 §2) of a seeded company's leads through the API:
#
#   bench/scan.sh <rivet binary> <database url> [entity] [company slug]
#
# Starts `rivet serve` (workers in-process) on the database, signs in as the demo company's
# administrator (`rivet seed --demo` prints it; default company "Demo Company"), queues
# `POST /api/v1/duplicates/scan {entity}` and polls `GET /api/v1/jobs/{id}` every 100 ms until
# the job ends. Prints the wall time from the request to the job's end, the job's result and
# the server's peak RSS. The password is `rivet-demo-2024` unless RIVET_BENCH_PASSWORD says
# otherwise (`bench/import.sh`'s database: company slug `bench`, `rivet-bench-2024`). Take
# `flock /tmp/rivet-bench.lock` around it.
set -euo pipefail
rivet="$1"
url="$2"
entity="${3:-leads}"
company="${4:-demo-company}"
password="${RIVET_BENCH_PASSWORD:-rivet-demo-2024}"
port=$((20000 + RANDOM % 10000))
log=$(mktemp)
DATABASE_URL="$url" RIVET_ADDR="127.0.0.1:$port" RIVET_WORKERS=true "$rivet" serve >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
base="http://127.0.0.1:$port/api/v1"
for _ in $(seq 1 300); do
  curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break
  sleep 0.2
done
token=$(curl -fs -X POST "$base/auth/login" -H 'content-type: application/json' \
  -d "{\"email\":\"admin@$company.test\",\"password\":\"$password\"}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
start=$(date +%s.%N)
job=$(curl -fs -X POST "$base/duplicates/scan" -H "authorization: Bearer $token" \
  -H 'content-type: application/json' -d "{\"entity\":\"$entity\"}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
while :; do
  body=$(curl -fs "$base/jobs/$job" -H "authorization: Bearer $token")
  state=$(printf '%s' "$body" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
  case "$state" in
    succeeded|dead|cancelled) break ;;
  esac
  sleep 0.1
done
end=$(date +%s.%N)
rss=$(grep VmHWM "/proc/$pid/status" | awk '{print $2 / 1024 " MB"}')
echo "entity=$entity state=$state wall=$(python3 -c "print(round($end - $start, 2))") s server_peak_rss=$rss"
printf '%s' "$body" | python3 -c 'import json,sys; j=json.load(sys.stdin); print("result:", json.dumps(j.get("result")), "error:", j.get("last_error"))'
curl -fs "$base/duplicates/groups?entity=$entity&limit=1" -H "authorization: Bearer $token" |
  python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; print("first group:", d[0]["rule"], d[0]["score"], len(d[0]["members"]), "members") if d else print("no groups")'
