#!/usr/bin/env python3
"""A Python peer for `mbert serve`'s load test: transformers behind a minimal dynamic-batching
HTTP server, speaking TEI's `POST /embed` (`{"inputs": str | [str]}` -> `[[float, ...], ...]`)
and `GET /health`. Development only (bench/run_serve_bench.sh --peer transformers), never CI.

Usage: /work/venv/bin/python bench/peers/serve_peer.py --model DIR --port P --threads T
           [--max-batch-tokens 16384] [--max-batch-size 256] [--pooling mean|cls]

What a user would write to serve a ModernBERT encoder from Python with dynamic batching, done
well: HTTP handler threads (stdlib ThreadingHTTPServer, HTTP/1.1 keep-alive) tokenize with the
fast tokenizer and queue the request; one model thread takes every queued request (FIFO) while
the padded batch (longest x sequences) stays within --max-batch-tokens, sorts the batch by length
and runs it in length-sorted chunks of --max-batch-size under `torch.inference_mode()`
(`AutoModel`, `attn_implementation="sdpa"`, fp32, `torch.set_num_threads(T)`), pools (masked
mean by default, as mbert's embed route on a model without a sentence-transformers config), and
answers each request. The response carries x-compute-tokens (real tokens, no padding) like mbert.
"""

import argparse
import json
import queue
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import torch
from transformers import AutoModel, AutoTokenizer, PreTrainedTokenizerFast


class Job:
    def __init__(self, ids):
        self.ids = ids  # list of token-id lists, one per input
        self.done = threading.Event()
        self.result = None
        self.error = None


def model_loop(args, model, pad_id, jobs):
    carry = None  # a job that did not fit the last batch: first in line for the next
    while True:
        batch = [carry if carry is not None else jobs.get()]
        carry = None
        longest = max(len(s) for s in batch[0].ids)
        count = len(batch[0].ids)
        while True:  # take what is queued while the padded batch fits
            try:
                job = jobs.get_nowait()
            except queue.Empty:
                break
            longest2 = max(longest, max(len(s) for s in job.ids))
            if (count + len(job.ids)) * longest2 > args.max_batch_tokens:
                carry = job
                break
            batch.append(job)
            longest, count = longest2, count + len(job.ids)
        seqs = [(j, i, s) for j in batch for i, s in enumerate(j.ids)]
        order = sorted(range(len(seqs)), key=lambda k: len(seqs[k][2]))
        out = [None] * len(seqs)
        try:
            with torch.inference_mode():
                for c in range(0, len(order), args.max_batch_size):
                    chunk = order[c : c + args.max_batch_size]
                    width = max(len(seqs[k][2]) for k in chunk)
                    ids = torch.full((len(chunk), width), pad_id, dtype=torch.long)
                    mask = torch.zeros((len(chunk), width), dtype=torch.long)
                    for r, k in enumerate(chunk):
                        s = seqs[k][2]
                        ids[r, : len(s)] = torch.tensor(s)
                        mask[r, : len(s)] = 1
                    hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
                    if args.pooling == "cls":
                        pooled = hidden[:, 0]
                    else:
                        m = mask.unsqueeze(-1).to(hidden.dtype)
                        pooled = (hidden * m).sum(1) / m.sum(1)
                    for r, k in enumerate(chunk):
                        out[k] = pooled[r].tolist()
            for k, (job, i, _) in enumerate(seqs):
                if job.result is None:
                    job.result = [None] * len(job.ids)
                job.result[i] = out[k]
        except Exception as e:  # noqa: BLE001 - answer the batch's requests, keep serving
            for job in batch:
                job.error = str(e)
        for job in batch:
            job.done.set()


def make_handler(tokenizer, jobs):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the load generator's clients expect

        def log_message(self, *a):
            pass

        def reply(self, status, body, tokens=0):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if tokens:
                self.send_header("x-compute-tokens", str(tokens))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/health":
                self.reply(200, {})
            else:
                self.reply(404, {"error": "no route", "error_type": "not_found"})

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path != "/embed":
                self.reply(404, {"error": "no route", "error_type": "not_found"})
                return
            try:
                inputs = json.loads(body)["inputs"]
                texts = [inputs] if isinstance(inputs, str) else list(inputs)
                ids = tokenizer(texts, truncation=True)["input_ids"]
            except Exception as e:  # noqa: BLE001
                self.reply(422, {"error": str(e), "error_type": "validation"})
                return
            job = Job(ids)
            jobs.put(job)
            job.done.wait()
            if job.error:
                self.reply(500, {"error": job.error, "error_type": "backend"})
            else:
                self.reply(200, job.result, tokens=sum(len(s) for s in ids))

    return Handler


def model_pad_id(model_dir):
    with open(f"{model_dir}/config.json") as f:
        return json.load(f).get("pad_token_id", 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-batch-tokens", type=int, default=16384)
    ap.add_argument("--max-batch-size", type=int, default=256)
    ap.add_argument("--pooling", choices=("mean", "cls"), default="mean")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    try:
        tokenizer = AutoTokenizer.from_pretrained(args.model)
    except (OSError, ValueError):  # a bare tokenizer.json without tokenizer_config.json
        tokenizer = PreTrainedTokenizerFast(tokenizer_file=f"{args.model}/tokenizer.json")
        tokenizer.pad_token_id = model_pad_id(args.model)
    with open(f"{args.model}/config.json") as f:
        tokenizer.model_max_length = json.load(f)["max_position_embeddings"]
    model = AutoModel.from_pretrained(args.model, attn_implementation="sdpa", dtype=torch.float32)
    model.eval()
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    jobs = queue.Queue()
    threading.Thread(target=model_loop, args=(args, model, pad_id, jobs), daemon=True).start()
    # The stdlib's listen backlog is 5: 64 clients connecting at once would be refused.
    ThreadingHTTPServer.request_queue_size = 1024
    server = ThreadingHTTPServer((args.host, args.port), make_handler(tokenizer, jobs))
    server.daemon_threads = True
    print(f"serve_peer on {args.host}:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
