#!/usr/bin/env python3
"""BM25 on a BEIR directory in Python, to set beside `mbert eval --task beir --retriever bm25`.
Run by hand (never by CI) with the metrics venv (tools/golden/requirements-metrics.txt):

  /work/venv-metrics/bin/python scripts/eval/bm25_reference.py ../shared/data/beir-scifact test

Two retrievers on the same tokens as mbert's Bm25Tokens (maximal runs of ASCII letters/digits
and non-ASCII characters, ASCII lowercased), documents "title text", top 100 per query:
  lucene    Lucene's BM25Similarity (Pyserini's scorer) written out here: idf = ln(1 + (N - df +
            0.5) / (df + 0.5)), tf / (tf + k1 (1 - b + b dl / avgdl)), k1 0.9, b 0.4; exact
            document lengths. Same formula as src/eval/bm25.cpp: the numbers should agree.
  rank_bm25 rank_bm25.BM25Okapi(k1=0.9, b=0.4): the Robertson idf ln((N - df + 0.5) / (df +
            0.5)) with its epsilon floor for frequent terms, and the (k1 + 1) factor.
Metrics by pytrec_eval: ndcg_cut_10, recall_100, and MRR@10 as recip_rank on the top 10.
"""
import json
import math
import re
import sys
from collections import Counter, defaultdict

import pytrec_eval
from rank_bm25 import BM25Okapi

WORD = re.compile(r"[0-9A-Za-z\u0080-\U0010FFFF]+")
ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def tokens(text):
    return [w.translate(ASCII_LOWER) for w in WORD.findall(text)]


def top(scores, ids, k=100):
    order = sorted(range(len(ids)), key=lambda i: (-scores[i], i))[:k]
    return {ids[i]: float(scores[i]) for i in order}


def evaluate(qrels, run):
    ev = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "recall.100"})
    res = ev.evaluate(run)
    cut = {}
    for q, s in run.items():
        items = sorted(s.items(), key=lambda kv: kv[0], reverse=True)
        items.sort(key=lambda kv: -kv[1])
        cut[q] = dict(items[:10])
    rr = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(cut)
    n = len(res)
    return {"ndcg@10": sum(v["ndcg_cut_10"] for v in res.values()) / n,
            "mrr@10": sum(v["recip_rank"] for v in rr.values()) / n,
            "recall@100": sum(v["recall_100"] for v in res.values()) / n, "queries": n}


def main():
    root, split = sys.argv[1], sys.argv[2]
    docs = [json.loads(l) for l in open(f"{root}/corpus.jsonl", encoding="utf-8")]
    queries = {q["_id"]: q["text"] for q in map(json.loads, open(f"{root}/queries.jsonl", encoding="utf-8"))}
    qrels = defaultdict(dict)
    for i, line in enumerate(open(f"{root}/qrels/{split}.tsv", encoding="utf-8")):
        q, d, s = line.rstrip("\n").split("\t")
        if i == 0 and q == "query-id":
            continue
        qrels[q][d] = int(s)
    ids = [d["_id"] for d in docs]
    toks = [tokens((d.get("title") or "") + " " + d["text"]) if d.get("title") else tokens(d["text"]) for d in docs]
    n = len(toks)
    avgdl = sum(map(len, toks)) / n
    df = Counter(t for doc in toks for t in set(doc))
    tfs = [Counter(doc) for doc in toks]
    postings = defaultdict(list)
    for i, tf in enumerate(tfs):
        for t, c in tf.items():
            postings[t].append((i, c))
    k1, b = 0.9, 0.4
    lucene, okapi = {}, {}
    bm = BM25Okapi(toks, k1=k1, b=b)
    for q in qrels:
        qt = tokens(queries[q])
        score, touched = [0.0] * n, set()
        for t in qt:
            if t not in df:
                continue
            idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
            for i, c in postings[t]:
                score[i] += idf * c / (c + k1 * (1 - b + b * len(toks[i]) / avgdl))
                touched.add(i)
        lucene[q] = {ids[i]: score[i] for i in sorted(touched, key=lambda i: (-score[i], i))[:100]}
        okapi[q] = top(list(bm.get_scores(qt)), ids)
    print(json.dumps({"lucene_formula": evaluate(qrels, lucene), "rank_bm25_okapi": evaluate(qrels, okapi),
                      "documents": n, "avgdl": avgdl}, indent=2))


if __name__ == "__main__":
    main()
