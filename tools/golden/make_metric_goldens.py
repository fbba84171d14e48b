#!/usr/bin/env python3
"""Writes tests/data/metrics/metric_goldens.json: the reference values of every evaluation metric
of src/eval, computed by the libraries the field reports with, on fixed random predictions.
The oracle of tests/eval/test_metric_goldens.cpp.

Run:  /work/venv-metrics/bin/python tools/golden/make_metric_goldens.py
      (venv: python3 -m venv /work/venv-metrics && pip install -r tools/golden/requirements-metrics.txt)

Oracles: scikit-learn (accuracy_score, f1_score binary pos_label=1, matthews_corrcoef), scipy.stats
(pearsonr, spearmanr), seqeval (get_entities, f1/precision/recall micro in default mode,
accuracy_score), pytrec_eval (trec_eval 9: ndcg_cut_10, recall_100, recip_rank).

MRR@10 is trec_eval's recip_rank on each run cut to its 10 best documents in trec_eval's order
(score descending, ties by document id descending); the script checks that order against
pytrec_eval's own recip_rank on the uncut runs first.

Edge cases on purpose: ties in scores and in regression values, all-one-class labels and
predictions (F1 and MCC zero divisions), constant regression input (pearsonr nan -> null here),
"I-" after "O" and type switches in tag sequences, sentences without entities, empty query runs,
queries without relevant documents, queries in the run without qrels and in the qrels without a
run, graded relevance 0..3, doc ids whose string order differs from their numeric order.
"""
import importlib.metadata
import json
import math
import platform
import warnings
from pathlib import Path

import numpy as np
import pytrec_eval
import scipy.stats
import seqeval.metrics
from seqeval.metrics.sequence_labeling import get_entities
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

SEED = 1109
REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "tests" / "data" / "metrics" / "metric_goldens.json"
MANIFEST = REPO / "tools" / "golden" / "manifest.json"

warnings.simplefilter("ignore")  # zero-division and constant-input warnings are the point


def num(x):
    x = float(x)
    return None if math.isnan(x) else x


def classification_cases(rng):
    cases = []

    def add(name, pred, gold, binary=True):
        pred, gold = [int(v) for v in pred], [int(v) for v in gold]
        c = {"name": name, "pred": pred, "gold": gold,
             "accuracy": num(accuracy_score(gold, pred)),
             "matthews": num(matthews_corrcoef(gold, pred))}
        if binary:
            c["f1"] = num(f1_score(gold, pred, average="binary", pos_label=1))
        cases.append(c)

    for i, n in enumerate((7, 50, 333)):
        gold = rng.integers(0, 2, n)
        flip = rng.random(n) < 0.3
        add(f"binary_{i}", np.where(flip, 1 - gold, gold), gold)
    add("all_gold_one_class", rng.integers(0, 2, 20), np.ones(20, dtype=int))
    add("all_pred_zero", np.zeros(20, dtype=int), rng.integers(0, 2, 20))
    add("both_all_zero", np.zeros(9, dtype=int), np.zeros(9, dtype=int))
    add("perfect", [0, 1, 1, 0, 1], [0, 1, 1, 0, 1])
    add("inverted", [1, 0, 0, 1, 0], [0, 1, 1, 0, 1])
    gold = rng.integers(0, 3, 120)
    pred = np.where(rng.random(120) < 0.4, rng.integers(0, 3, 120), gold)
    add("three_classes", pred, gold, binary=False)
    return cases


def regression_cases(rng):
    cases = []

    def add(name, x, y):
        x, y = [float(v) for v in x], [float(v) for v in y]
        cases.append({"name": name, "x": x, "y": y,
                      "pearson": num(scipy.stats.pearsonr(x, y)[0]) if len(set(x)) > 1 and len(set(y)) > 1 else None,
                      "spearman": num(scipy.stats.spearmanr(x, y)[0]),
                      "ranks_x": [float(r) for r in scipy.stats.rankdata(x, method="average")]})

    y = rng.uniform(0, 5, 200)
    add("continuous", y + rng.normal(0, 1, 200), y)
    y = np.round(rng.uniform(0, 5, 150) * 5) / 5  # STS-B style grades with many ties
    add("ties", np.round(y + rng.normal(0, 1.2, 150), 1), y)
    add("integer_ties", rng.integers(0, 6, 60), rng.integers(0, 6, 60))
    add("anti", [1, 2, 3, 4, 5], [10, 8, 6, 4, 2])
    add("constant_x", [2.5] * 8, rng.uniform(0, 5, 8))
    return cases


TAGS = ["O", "O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]


def tagging_cases(rng):
    cases = []

    def add(name, pred, gold):
        cases.append({"name": name, "pred": pred, "gold": gold,
                      "f1": num(seqeval.metrics.f1_score(gold, pred)),
                      "precision": num(seqeval.metrics.precision_score(gold, pred)),
                      "recall": num(seqeval.metrics.recall_score(gold, pred)),
                      "accuracy": num(seqeval.metrics.accuracy_score(gold, pred)),
                      "pred_entities": [[list(e) for e in get_entities(s)] for s in pred]})

    gold = [[TAGS[int(t)] for t in rng.integers(0, len(TAGS), int(n))] for n in rng.integers(1, 25, 40)]
    pred = [[TAGS[int(rng.integers(0, len(TAGS)))] if rng.random() < 0.25 else t for t in s] for s in gold]
    add("random", pred, gold)
    add("hand", [["B-PER", "I-PER", "O", "I-LOC", "I-LOC", "B-LOC", "I-PER", "O"],
                 ["I-MISC", "B-MISC", "O", "B-PER"]],
        [["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "B-LOC", "I-LOC", "O"],
         ["B-MISC", "B-MISC", "O", "B-PER"]])
    add("no_pred_entities", [["O", "O", "O"], ["O"]], [["B-PER", "I-PER", "O"], ["B-LOC"]])
    add("no_entities_at_all", [["O", "O"]], [["O", "O"]])
    return cases


def trec_order(scores):
    items = sorted(scores.items(), key=lambda kv: kv[0], reverse=True)  # doc id descending
    items.sort(key=lambda kv: -kv[1])  # stable: score descending, ties keep doc id descending
    return items


def ranking_case(rng):
    docs = [f"d{i}" for i in range(1, 400)]  # "d10" < "d9" as strings
    qrels, run = {}, {}
    for q in range(40):
        qid = f"q{q}"
        rel_docs = rng.choice(docs, int(rng.integers(1, 6)), replace=False)
        qrels[qid] = {str(d): int(rng.integers(0, 4)) for d in rel_docs}
        if q % 13 == 5:
            qrels[qid] = {str(d): 0 for d in rel_docs}  # judged, nothing relevant
        n = int(rng.integers(0, 160))
        if q % 11 == 3:
            n = 0  # an empty run
        cand = list(rng.choice(docs, n, replace=False))
        cand += [d for d in rel_docs if rng.random() < 0.6 and d not in cand]
        run[qid] = {str(d): float(np.round(rng.normal(), 1)) for d in cand}  # rounding: ties
    run["q_no_qrels"] = {"d1": 1.0}
    qrels["q_no_run"] = {"d2": 1}
    del run["q7"]
    ev = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "recall.100", "recip_rank"})
    full = ev.evaluate(run)
    cut = {q: dict(trec_order(s)[:10]) for q, s in run.items()}
    rr10 = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(cut)
    # The documented tie order must be trec_eval's: recip_rank without a cut, by hand.
    for q, s in run.items():
        if q not in full:
            continue
        rr = next((1.0 / (i + 1) for i, (d, _) in enumerate(trec_order(s)) if qrels[q].get(d, 0) >= 1), 0.0)
        assert abs(rr - full[q]["recip_rank"]) < 1e-12, (q, rr, full[q]["recip_rank"])
    per_query = {q: {"ndcg10": v["ndcg_cut_10"], "recall100": v["recall_100"],
                     "mrr10": rr10[q]["recip_rank"]} for q, v in full.items()}
    mean = {m: float(np.mean([v[m] for v in per_query.values()])) for m in ("ndcg10", "recall100", "mrr10")}
    return {"qrels": qrels, "run": run, "per_query": per_query, "mean": mean}


def main():
    rng = np.random.default_rng(SEED)
    goldens = {"classification": classification_cases(rng), "regression": regression_cases(rng),
               "tagging": tagging_cases(rng), "ranking": ranking_case(rng)}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(goldens, f, indent=1, sort_keys=True)
        f.write("\n")
    versions = {p: importlib.metadata.version(p) for p in
                ("numpy", "scikit-learn", "scipy", "seqeval", "pytrec_eval-terrier")}
    versions["python"] = platform.python_version()
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8")) if MANIFEST.exists() else {}
    manifest["make_metric_goldens"] = {
        "script": "tools/golden/make_metric_goldens.py",
        "command": "/work/venv-metrics/bin/python tools/golden/make_metric_goldens.py",
        "requirements": "tools/golden/requirements-metrics.txt",
        "file": "tests/data/metrics/metric_goldens.json",
        "seed": SEED,
        "versions": versions,
        "cases": {"classification": [c["name"] for c in goldens["classification"]],
                  "regression": [c["name"] for c in goldens["regression"]],
                  "tagging": [c["name"] for c in goldens["tagging"]],
                  "ranking_queries_evaluated": len(goldens["ranking"]["per_query"])},
        "conventions": {
            "f1": "sklearn f1_score average=binary pos_label=1, zero_division default (0)",
            "pearson_constant_input": "scipy returns nan; stored as null",
            "seqeval": "default (non-strict) mode, micro average",
            "mrr10": "recip_rank on runs cut to their top 10 in trec_eval order",
            "trec_order": "score descending, ties by doc id descending (checked against recip_rank)",
        },
    }
    with open(MANIFEST, "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"wrote {OUT.relative_to(REPO)}: {len(goldens['ranking']['per_query'])} ranked queries")


if __name__ == "__main__":
    main()
