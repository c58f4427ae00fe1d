#!/usr/bin/env bash
# Print how the database runs the records benchmark's hot queries, to show each uses an index:
# - the list: a sales rep's new leads, newest first, one page
#   (`GET /api/v1/leads?owner_id=<rep>&status=new&sort=-created_at&limit=50` as
#   store::leads::list builds it) walks leads_owner_status_idx;
# - the search: the exact step's candidates for a last name (`GET /api/v1/search?q=Smith` as
#   store::search builds it) come from the word index (search_words on SQLite, the word
#   postings search_terms read backwards by an index-only scan on PostgreSQL, without parallel
#   workers since m0015); a typo is corrected through search_variants (both engines), and a
#   corrected word with several spellings is read spelling by spelling, each newest first with
#   its own limit (PostgreSQL);
# - the deal timeline (`GET /api/v1/deals/{id}/timeline` as store::timeline::page reads it for an
#   administrator): the deal's activities through activity_links (with all their links), its tasks, its stage history
#   (with its stages' names) and its audit rows, each newest first, one page (51 rows; the audit read takes 200 at a time).
#
#   bench/explain.sh sqlite:///tmp/rivet-bench-large.db ["Demo Company"]
#   bench/explain.sh postgres://postgres@127.0.0.1:5432/rivet_bench_large
set -euo pipefail

url="${1:?usage: bench/explain.sh DATABASE_URL [COMPANY NAME]}"
company="${2:-Demo Company}"
company_sql="${company//\'/\'\'}"

# A sales rep of the company (the benchmark lists the first rep's leads).
rep_sql="SELECT m.user_id FROM memberships m
  JOIN roles r ON r.company_id = m.company_id AND r.id = m.role_id
  JOIN companies c ON c.id = m.company_id
  WHERE c.name = '$company_sql' AND r.name = 'sales' LIMIT 1"

# The four reads of one deal's timeline, each as "title\nquery" ending in a NUL: company and deal
# are SQL expressions of the engine's id type, deal_text the deal's id as the audit log keeps it.
timeline_plans() {
  local company="$1" deal="$2" deal_text="$3"
  printf '%s\n%s\0' "activities with their links" "SELECT activities.*, activity_links.record_type,
      activity_links.record_id
    FROM activities JOIN activity_links ON activity_links.company_id = activities.company_id
      AND activity_links.activity_id = activities.id
    WHERE activities.company_id = $company
      AND activities.id IN (SELECT activities.id FROM activities
        WHERE activities.company_id = $company
          AND activities.id IN (SELECT activity_id FROM activity_links
            WHERE company_id = $company AND record_type = 'deal' AND record_id = $deal)
        ORDER BY activities.occurred_at DESC, activities.id DESC LIMIT 51)
    ORDER BY activities.occurred_at DESC, activities.id DESC, activity_links.record_type,
      activity_links.record_id"
  printf '%s\n%s\0' "tasks" "SELECT tasks.* FROM tasks
    WHERE tasks.company_id = $company AND tasks.related_type = 'deal' AND tasks.related_id = $deal
    ORDER BY tasks.created_at DESC, tasks.id DESC LIMIT 51"
  printf '%s\n%s\0' "stage history" "SELECT h.*, from_stage.name, to_stage.name
    FROM deal_stage_history h
    LEFT JOIN pipeline_stages from_stage
      ON from_stage.id = h.from_stage_id AND from_stage.company_id = h.company_id
    LEFT JOIN pipeline_stages to_stage
      ON to_stage.id = h.to_stage_id AND to_stage.company_id = h.company_id
    WHERE h.company_id = $company AND h.deal_id IN ($deal)
    ORDER BY h.changed_at DESC, h.id DESC LIMIT 51"
  printf '%s\n%s\0' "audit events" "SELECT id, resource, resource_id, action, created_at
    FROM audit_log WHERE company_id = $company
      AND resource = 'deals' AND resource_id IN ('$deal_text')
    ORDER BY created_at DESC, id DESC LIMIT 200"
}

case "$url" in
  sqlite:*)
    file="${url#sqlite://}"
    file="${file%%\?*}"
    # SQLite stores ids as blobs; select them by subquery instead of printing them.
    query="SELECT leads.* FROM leads
      WHERE leads.company_id = (SELECT id FROM companies WHERE name = '$company_sql' LIMIT 1)
        AND leads.owner_id = ($rep_sql)
        AND leads.status = 'new'
      ORDER BY leads.created_at DESC, leads.id DESC LIMIT 51"
    echo "-- SQLite: EXPLAIN QUERY PLAN of the hot list query ($file)"
    sqlite3 "$file" "EXPLAIN QUERY PLAN $query"
    echo "-- rows on the page:"
    sqlite3 "$file" "SELECT count(*) FROM ($query)"
    search="SELECT search_docs.record_type, search_docs.record_id, search_docs.title
      FROM search_words JOIN search_docs ON search_docs.doc_id = search_words.rowid
      WHERE search_words MATCH '\"smith\"*'
        AND search_docs.company_id = (SELECT id FROM companies WHERE name = '$company_sql' LIMIT 1)
      ORDER BY search_words.rowid DESC LIMIT 200"
    echo "-- SQLite: EXPLAIN QUERY PLAN of the search candidates for \"smith\""
    sqlite3 "$file" "EXPLAIN QUERY PLAN $search"
    echo "-- SQLite: EXPLAIN QUERY PLAN of the typo correction for \"simth\" (vocabulary variants, m0014)"
    sqlite3 "$file" "EXPLAIN QUERY PLAN SELECT variant, term FROM search_variants
      WHERE company_id = (SELECT id FROM companies WHERE name = '$company_sql' LIMIT 1)
        AND variant IN ('simth', 'imth', 'smth', 'sith', 'simh', 'simt')"
    company_blob="(SELECT id FROM companies WHERE name = '$company_sql' LIMIT 1)"
    deal_hex=$(sqlite3 "$file" "SELECT hex(record_id) FROM activity_links
      WHERE company_id = $company_blob AND record_type = 'deal' LIMIT 1")
    deal_text=$(echo "$deal_hex" | tr 'A-F' 'a-f' | sed -E 's/(.{8})(.{4})(.{4})(.{4})(.{12})/\1-\2-\3-\4-\5/')
    timeline_plans "$company_blob" "X'$deal_hex'" "$deal_text" \
      | while IFS= read -r -d '' part; do
          echo "-- SQLite: EXPLAIN QUERY PLAN of the deal timeline: ${part%%$'\n'*}"
          sqlite3 "$file" "EXPLAIN QUERY PLAN ${part#*$'\n'}"
        done
    ;;
  postgres:*|postgresql:*)
    company_id=$(psql "$url" -tAc "SELECT id FROM companies WHERE name = '$company_sql' LIMIT 1")
    rep=$(psql "$url" -tAc "$rep_sql")
    if [ -z "$company_id" ] || [ -z "$rep" ]; then
      echo "no company \"$company\" with a sales rep in $url" >&2
      exit 1
    fi
    echo "-- PostgreSQL: EXPLAIN ANALYZE of the hot list query"
    psql "$url" -c "EXPLAIN (ANALYZE, BUFFERS) SELECT leads.* FROM leads
      WHERE leads.company_id = '$company_id' AND leads.owner_id = '$rep'
        AND leads.status = 'new'
      ORDER BY leads.created_at DESC, leads.id DESC LIMIT 51"
    echo "-- PostgreSQL: EXPLAIN ANALYZE of the search candidates for \"smith\" (word postings, m0014)"
    psql "$url" -c "EXPLAIN (ANALYZE, BUFFERS) SELECT d.record_type, d.record_id, d.title
      FROM search_terms t JOIN search_docs d ON d.company_id = t.company_id
        AND d.record_type = t.record_type AND d.record_id = t.record_id
      WHERE t.company_id = '$company_id' AND t.term = 'smith'
        AND t.record_type IN ('lead', 'contact', 'account', 'deal')
      ORDER BY t.record_id DESC LIMIT 200"
    echo "-- PostgreSQL: EXPLAIN ANALYZE of the candidates for a corrected word with two spellings"
    echo "-- (smith | johnson: each spelling's newest 200, then the newest 200 of them; m0015: no parallel workers)"
    spelling() {
      echo "SELECT * FROM (SELECT d.record_type, d.record_id, d.title, d.subtitle, d.terms
        FROM search_terms t JOIN search_docs d ON d.company_id = t.company_id
          AND d.record_type = t.record_type AND d.record_id = t.record_id
        WHERE t.company_id = '$company_id' AND t.term = '$1'
          AND t.record_type IN ('lead', 'contact', 'account', 'deal')
        ORDER BY t.record_id DESC LIMIT 200) AS $2"
    }
    psql "$url" -c "EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM ($(spelling smith s0)
      UNION ($(spelling johnson s1))) AS spelled ORDER BY record_id DESC LIMIT 200"
    echo "-- PostgreSQL: EXPLAIN ANALYZE of the typo correction for \"simth\" (vocabulary variants)"
    psql "$url" -c "EXPLAIN (ANALYZE, BUFFERS) SELECT variant, term FROM search_variants
      WHERE company_id = '$company_id'
        AND variant IN ('simth', 'imth', 'smth', 'sith', 'simh', 'simt')"
    echo "-- PostgreSQL: EXPLAIN ANALYZE of the GIN word index (words with digits; before m0014 every word)"
    psql "$url" -c "EXPLAIN (ANALYZE, BUFFERS) SELECT record_type, record_id, title
      FROM search_docs WHERE company_id = '$company_id'
        AND to_tsvector('simple', terms) @@ to_tsquery('simple', 'smith:*')
      ORDER BY record_id DESC LIMIT 200"
    deal=$(psql "$url" -tAc "SELECT record_id FROM activity_links
      WHERE company_id = '$company_id' AND record_type = 'deal' LIMIT 1")
    timeline_plans "'$company_id'" "'$deal'" "$deal" \
      | while IFS= read -r -d '' part; do
          echo "-- PostgreSQL: EXPLAIN ANALYZE of the deal timeline: ${part%%$'\n'*}"
          psql "$url" -c "EXPLAIN (ANALYZE, BUFFERS) ${part#*$'\n'}"
        done
    ;;
  *)
    echo "unsupported database URL: $url" >&2
    exit 1
    ;;
esac
