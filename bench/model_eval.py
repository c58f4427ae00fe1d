#!/usr/bin/env python3
"""Check Rivet's lead conversion model against scikit-learn on the same synthetic leads.

    bench/model_eval.py [--seed N] [--leads N] [--csv PATH] [--rivet-bench PATH]

Runs `rivet-bench model --seed N --leads N --out CSV` (which generates the leads, trains
rivet-model on the rows marked `train` and prints its test ROC AUC as JSON), then fits
scikit-learn's LogisticRegression (C=1.0, as Rivet; run to convergence) with the equivalent
pipeline on the same train rows and scores the same test rows. Prints both AUCs and the difference; exits 1 when
they differ by more than --tolerance (0.01).

Needs numpy and scikit-learn (`pip install scikit-learn`). rivet-bench is looked for at
--rivet-bench, then $CARGO_TARGET_DIR/release/rivet-bench, then target/release/rivet-bench.
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

# The columns `rivet-bench model` writes and feeds to rivet-model, by kind.
CATEGORICAL = ["industry", "country", "source", "title"]
NUMERIC = ["employee_count", "annual_revenue"]
COUNTS = ["meetings_held", "calls_connected", "emails_replied", "forms_submitted"]
# rivet-model's TrainOptions::default().min_category_count: rarer categories share a column.
MIN_CATEGORY_COUNT = 5
MISSING = "__missing__"


def log1p_clipped(x):
    """ln(1 + max(x, 0)), NaN (missing) kept."""
    return np.log1p(np.clip(np.asarray(x, dtype=float), 0.0, None))


def pipeline() -> Pipeline:
    """The textbook scikit-learn equivalent of rivet-model's encoding."""
    categorical = OneHotEncoder(handle_unknown="infrequent_if_exist",
                                min_frequency=MIN_CATEGORY_COUNT)
    # StandardScaler ignores NaN when fitting and keeps it; the imputer then puts missing
    # values at the mean (0) and adds a missing indicator.
    numeric = make_pipeline(FunctionTransformer(log1p_clipped), StandardScaler(),
                            SimpleImputer(strategy="constant", fill_value=0.0, add_indicator=True))
    counts = make_pipeline(FunctionTransformer(log1p_clipped), StandardScaler())
    n_cat, n_num = len(CATEGORICAL), len(NUMERIC)
    columns = ColumnTransformer([
        ("categorical", categorical, list(range(n_cat))),
        ("numeric", numeric, list(range(n_cat, n_cat + n_num))),
        ("counts", counts, list(range(n_cat + n_num, n_cat + n_num + len(COUNTS)))),
    ])
    # scikit-learn's default tol=1e-4 stops lbfgs after a few dozen iterations, short of the
    # optimum (its AUC then differs from the converged one in the fourth decimal); a tight
    # tolerance compares the two at the same optimum of the same objective.
    model = LogisticRegression(C=1.0, tol=1e-8, max_iter=1000)
    return Pipeline([("features", columns), ("model", model)])


def category(text: str) -> str:
    """As rivet-model matches categories: trimmed, case-insensitive; blank is missing."""
    text = text.strip().lower()
    return text if text else MISSING


def number(text: str) -> float:
    return float(text) if text.strip() else np.nan


def read(path: Path):
    """Feature matrix (object array), labels and split of every row of the CSV."""
    rows, labels, test = [], [], []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            rows.append([category(r[c]) for c in CATEGORICAL]
                        + [number(r[c]) for c in NUMERIC]
                        + [float(r[c]) for c in COUNTS])
            labels.append(r["converted"] == "1")
            test.append(r["split"] == "test")
    return np.array(rows, dtype=object), np.array(labels), np.array(test)


def rivet_bench_binary(given: str | None) -> str:
    if given:
        return given
    candidates = []
    if os.environ.get("CARGO_TARGET_DIR"):
        candidates.append(Path(os.environ["CARGO_TARGET_DIR"]) / "release" / "rivet-bench")
    candidates.append(Path(__file__).resolve().parent.parent / "target" / "release" / "rivet-bench")
    for c in candidates:
        if c.exists():
            return str(c)
    sys.exit("rivet-bench not found: build it with `cargo build --release -p rivet-bench` "
             "or pass --rivet-bench")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--leads", type=int, default=100_000)
    p.add_argument("--csv", help="keep the generated leads here [default: a temporary file]")
    p.add_argument("--rivet-bench", help="path to the rivet-bench release binary")
    p.add_argument("--tolerance", type=float, default=0.01,
                   help="largest accepted |Rivet AUC - scikit-learn AUC|")
    args = p.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.csv) if args.csv else Path(tmp) / "model_leads.csv"
        cmd = [rivet_bench_binary(args.rivet_bench), "model", "--seed", str(args.seed),
               "--leads", str(args.leads), "--out", str(path)]
        print("$", " ".join(cmd), file=sys.stderr)
        out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
        rivet = json.loads([line for line in out.splitlines() if line.startswith("{")][-1])
        x, y, test = read(path)

    model = pipeline()
    started = time.perf_counter()
    model.fit(x[~test], y[~test])
    sklearn_seconds = time.perf_counter() - started
    sklearn_auc = roc_auc_score(y[test], model.predict_proba(x[test])[:, 1])
    diff = rivet["roc_auc"] - sklearn_auc

    print(json.dumps({
        "leads": len(y), "train_size": int((~test).sum()), "test_size": int(test.sum()),
        "rivet_roc_auc": rivet["roc_auc"], "sklearn_roc_auc": sklearn_auc, "difference": diff,
        "rivet_train_seconds": rivet["train_seconds"], "sklearn_train_seconds": sklearn_seconds,
        "generating_process_roc_auc": rivet["generating_process_roc_auc"],
    }))
    print(f"test ROC AUC: rivet {rivet['roc_auc']:.4f}, scikit-learn {sklearn_auc:.4f}, "
          f"difference {diff:+.4f} (tolerance {args.tolerance}); "
          f"train: rivet {rivet['train_seconds']:.2f} s, scikit-learn {sklearn_seconds:.2f} s",
          file=sys.stderr)
    if abs(diff) > args.tolerance:
        print("FAIL: the AUCs differ by more than the tolerance", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
