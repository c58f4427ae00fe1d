#!/usr/bin/env bash
# The floor of an import's writes on SQLite: the rows a `rivet import` of leads wrote (each
# lead, its `lead.created` event and its audit row) written again by SQL alone, on a copy of the
# database `bench/import.sh` kept — the same schema, indexes and search triggers, no Rivet code:
#
#   bench/import_floor.sh <kept dir (RIVET_BENCH_KEEP)> [rows (all the last import's)]
#
# Copies <dir>/rivet.db aside, takes the last import's leads (and as many of the newest
# lead.created events and lead create audit rows) into temporary tables, then times with
# sqlite3's `.timer`, each in transactions of 500 rows as the import commits: the leads insert
# (new ids; the search trigger writes search_docs, and the batch its documents into the FTS
# indexes and the typo vocabulary, as the import does), the events insert and the audit
# insert. Prints rows/s of each and of the three together.
set -euo pipefail
dir="$1"
copy="$(mktemp -d)"
trap 'rm -rf "$copy"' EXIT
sqlite3 "$dir/rivet.db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
cp "$dir/rivet.db" "$copy/floor.db"
db="$copy/floor.db"
import=$(sqlite3 "$db" "SELECT quote(id) FROM imports ORDER BY created_at DESC LIMIT 1")
limit="${2:--1}"
cols=$(sqlite3 "$db" "SELECT group_concat(name, ', ') FROM pragma_table_info('leads') WHERE name <> 'id'")
n=$(sqlite3 "$db" "SELECT count(*) FROM (SELECT 1 FROM leads WHERE import_id = $import LIMIT $limit)")
batches=$(( (n + 499) / 500 ))
{
  echo "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536; PRAGMA foreign_keys=ON;"
  echo "CREATE TEMP TABLE src AS SELECT row_number() OVER () AS k, $cols FROM leads WHERE import_id = $import LIMIT $n;"
  echo "CREATE TEMP TABLE ev AS SELECT row_number() OVER () AS k, * FROM (SELECT * FROM outbox WHERE event = 'lead.created' ORDER BY rowid DESC LIMIT $n);"
  echo "CREATE TEMP TABLE au AS SELECT row_number() OVER () AS k, * FROM (SELECT * FROM audit_log WHERE resource = 'leads' AND action = 'create' ORDER BY rowid DESC LIMIT $n);"
  echo ".timer on"
  echo ".print leads"
  for ((b = 0; b < batches; b++)); do
    # As `rivet import` writes a batch: the search triggers stand aside (`search_batch`) and the
    # batch's documents go into both FTS indexes and the typo vocabulary at once.
    echo "BEGIN; INSERT INTO search_batch SELECT coalesce(max(doc_id), 0) FROM search_docs;"
    echo "INSERT INTO leads (id, $cols) SELECT randomblob(16), $cols FROM src WHERE k > $((b * 500)) AND k <= $(((b + 1) * 500));"
    for index in search_fts search_words; do
      echo "INSERT INTO $index (rowid, terms) SELECT doc_id, terms FROM search_docs WHERE doc_id > (SELECT after_doc_id FROM search_batch);"
    done
    echo "INSERT OR IGNORE INTO search_vocab (company_id, term) SELECT DISTINCT company_id, w FROM (SELECT d.company_id, substr(d.terms, p.i + 1, instr(substr(d.terms, p.i + 1), ' ') - 1) AS w FROM search_docs d JOIN search_positions p ON p.i < length(d.terms) AND substr(d.terms, p.i, 1) = ' ' WHERE d.doc_id > (SELECT after_doc_id FROM search_batch)) WHERE length(w) BETWEEN 3 AND 32 AND w NOT GLOB '*[0-9]*';"
    echo "DELETE FROM search_batch; COMMIT;"
  done
  echo ".print events"
  for ((b = 0; b < batches; b++)); do
    echo "BEGIN; INSERT INTO outbox (company_id, id, event, payload, created_at, record_type, record_id, actor_user_id) SELECT company_id, randomblob(16), event, payload, created_at, record_type, record_id, actor_user_id FROM ev WHERE k > $((b * 500)) AND k <= $(((b + 1) * 500)); COMMIT;"
  done
  echo ".print audit"
  for ((b = 0; b < batches; b++)); do
    echo "BEGIN; INSERT INTO audit_log (company_id, id, actor_user_id, resource, resource_id, action, changes, created_at) SELECT company_id, randomblob(16), actor_user_id, resource, resource_id, action, changes, created_at FROM au WHERE k > $((b * 500)) AND k <= $(((b + 1) * 500)); COMMIT;"
  done
} >"$copy/floor.sql"
sqlite3 "$db" <"$copy/floor.sql" | python3 -c '
import re, sys
n = int(sys.argv[1]); part = None; real = {}
for line in sys.stdin:
    line = line.strip()
    if line in ("leads", "events", "audit"):
        part = line; real[part] = 0.0; continue
    m = re.match(r"Run Time: real ([0-9.]+)", line)
    if m and part:
        real[part] += float(m.group(1))
total = sum(real.values())
for part, secs in real.items():
    print(f"{part}: {n} rows in {secs:.2f} s = {n / secs:,.0f} rows/s")
print(f"together: {total:.2f} s = {n / total:,.0f} rows/s")
' "$n"
