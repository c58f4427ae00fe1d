#!/usr/bin/env bash
# Print how the database runs the records benchmark's hot queries, to show each uses an index:
# - the list: a sales rep's new leads, newest first, one page
#   (`GET /api/v1/leads?owner_id=<rep>&status=new&sort=-created_at&limit=50` as
#   store::leads::list builds it) walks leads_owner_status_idx;
# - the search: the exact step's candidates for a last name (`GET /api/v1/search?q=Smith` as
#   store::search builds it) come from the word index (search_words on SQLite,
#   search_docs_words_idx on PostgreSQL).
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
    echo "-- PostgreSQL: EXPLAIN ANALYZE of the search candidates for \"smith\""
    psql "$url" -c "EXPLAIN (ANALYZE, BUFFERS) SELECT record_type, record_id, title
      FROM search_docs WHERE company_id = '$company_id'
        AND to_tsvector('simple', terms) @@ to_tsquery('simple', 'smith:*')
      ORDER BY record_id DESC LIMIT 200"
    ;;
  *)
    echo "unsupported database URL: $url" >&2
    exit 1
    ;;
esac
