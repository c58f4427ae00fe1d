#!/usr/bin/env bash
# Fuzz the API from its own OpenAPI document: start `rivet serve` on a fresh SQLite data
# directory, sign in as the first-run admin, create an admin API key, and run schemathesis with
# every check against /api/v1/openapi.json. Any failure fails the run: the document must say
# what the server enforces (lengths, ranges, enums, required fields, statuses) and no request
# may end in a server error.
#
# Usage: .ci/schemathesis.sh [extra schemathesis options]
# Environment: CARGO_TARGET_DIR (where `rivet` is built) or RIVET_BIN (a `rivet` to use),
# RIVET_FUZZ_EXAMPLES (examples per operation and phase, default 25).
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"

SCHEMATHESIS_VERSION="4.32.5"
venv="${HOME}/.cache/rivet-schemathesis-${SCHEMATHESIS_VERSION}"
target="${CARGO_TARGET_DIR:-$HOME/.cache/rivet-target}"
examples="${RIVET_FUZZ_EXAMPLES:-25}"

if [ ! -x "$venv/bin/schemathesis" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==${SCHEMATHESIS_VERSION}"
fi

rivet="${RIVET_BIN:-}"
if [ -z "$rivet" ]; then
    cargo build --quiet --bin rivet
    rivet="$target/debug/rivet"
fi

data="$(mktemp -d)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:${port}"
admin_email="fuzz-admin@example.com"
admin_password="fuzz-admin-password-1"
log="$data/serve.log"

RIVET_ADDR="127.0.0.1:${port}" RIVET_DATA_DIR="$data" \
    RIVET_ADMIN_EMAIL="$admin_email" RIVET_ADMIN_PASSWORD="$admin_password" \
    RIVET_RATE_LIMIT_DISABLED=true RIVET_LOG=error RIVET_SMTP_ALLOW_HOSTS=127.0.0.1 \
    "$rivet" serve >"$log" 2>&1 &
server=$!
cleanup() {
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    rm -rf "$data"
}
trap cleanup EXIT

for _ in $(seq 1 100); do
    curl -fsS "$base/readyz" >/dev/null 2>&1 && break
    sleep 0.2
done
curl -fsS "$base/readyz" >/dev/null || { cat "$log" >&2; echo "rivet serve did not start" >&2; exit 1; }

json() { "$venv/bin/python" -c "import json, sys; print(json.load(sys.stdin)$1)"; }
token="$(curl -fsS -H 'content-type: application/json' \
    -d "{\"email\": \"$admin_email\", \"password\": \"$admin_password\"}" \
    "$base/api/v1/auth/login" | json '["access_token"]')"
role_id="$(curl -fsS -H "authorization: Bearer $token" "$base/api/v1/roles" |
    "$venv/bin/python" -c 'import json, sys; print(next(r["id"] for r in json.load(sys.stdin)["data"] if r["name"].lower() == "admin"))')"
api_key="$(curl -fsS -H "authorization: Bearer $token" -H 'content-type: application/json' \
    -d "{\"name\": \"schemathesis\", \"role_id\": \"$role_id\"}" \
    "$base/api/v1/api-keys" | json '["secret"]')"

# Rows the generated bodies refer to (see .ci/schemathesis_hooks.py): the admin, a team, an account
# with a contact, a second account to be a parent, and the default pipeline's first stage.
auth=(-H "authorization: Bearer $token" -H 'content-type: application/json')
create() { curl -fsS "${auth[@]}" -d "$2" "$base/api/v1/$1" | json '["id"]'; }
export RIVET_FUZZ_USER_ID RIVET_FUZZ_ROLE_ID RIVET_FUZZ_TEAM_ID RIVET_FUZZ_ACCOUNT_ID \
    RIVET_FUZZ_PARENT_ID RIVET_FUZZ_CONTACT_ID RIVET_FUZZ_PIPELINE_ID RIVET_FUZZ_STAGE_ID
RIVET_FUZZ_USER_ID="$(curl -fsS "${auth[@]}" "$base/api/v1/me" | json '["user"]["id"]')"
RIVET_FUZZ_ROLE_ID="$role_id"
RIVET_FUZZ_TEAM_ID="$(create teams '{"name": "Fuzz team"}')"
RIVET_FUZZ_ACCOUNT_ID="$(create accounts '{"name": "Fuzz account"}')"
RIVET_FUZZ_PARENT_ID="$(create accounts '{"name": "Fuzz parent account"}')"
RIVET_FUZZ_CONTACT_ID="$(create contacts "{\"last_name\": \"Fuzz\", \"account_id\": \"$RIVET_FUZZ_ACCOUNT_ID\"}")"
pipeline="$(curl -fsS "${auth[@]}" "$base/api/v1/pipelines" |
    "$venv/bin/python" -c 'import json, sys; p = next(p for p in json.load(sys.stdin)["data"] if p["is_default"]); print(p["id"], p["stages"][0]["id"])')"
RIVET_FUZZ_PIPELINE_ID="${pipeline% *}"
RIVET_FUZZ_STAGE_ID="${pipeline#* }"

# Excluded: DELETE /api-keys/{id} finds the run's own key among the listed ones and revokes
# it, after which every request is a 401 (its 204/404/401 answers are covered by tests/api).
status=0
# Run from the temporary directory, where hypothesis and schemathesis keep their own state.
(cd "$data" && SCHEMATHESIS_HOOKS="$repo/.ci/schemathesis_hooks.py" \
    "$venv/bin/schemathesis" --config-file "$repo/.ci/schemathesis.toml" \
    run "$base/api/v1/openapi.json" \
    --url "$base" \
    --checks all \
    --header "Authorization: Bearer $api_key" \
    --generation-with-security-parameters false \
    --max-examples "$examples" \
    --workers 1 \
    --generation-deterministic \
    --no-color \
    --exclude-operation-id 'delete_api_keys__id_' \
    "$@") || status=$?
if [ "$status" -ne 0 ]; then
    echo "--- rivet serve log (errors) ---" >&2
    tail -n 50 "$log" >&2
fi
exit "$status"
