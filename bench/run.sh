#!/usr/bin/env bash
# Build rivet + rivet-bench in release mode and run the foundation benchmark.
# Extra arguments are passed to `rivet-bench foundation`, e.g.
#   bench/run.sh --duration 30 --out bench/foundation.md
set -euo pipefail

cd "$(dirname "$0")/.."
target_dir="${CARGO_TARGET_DIR:-target}"

cargo build --release -p rivet -p rivet-bench
# rivet-bench finds rivet in $CARGO_TARGET_DIR/release or target/release itself.
exec "$target_dir/release/rivet-bench" foundation "$@"
