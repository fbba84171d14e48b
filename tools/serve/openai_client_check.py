#!/usr/bin/env python3
"""Real clients against `mbert serve` (development only, never CI): the OpenAI Python client's
`embeddings.create` on /v1/embeddings (a string, a list, token ids, `dimensions`, base64), checked
against each other and against TEI's /embed fetched with the standard library.

Usage: /work/venv/bin/python tools/serve/openai_client_check.py --base-url http://127.0.0.1:PORT
           [--model NAME] [--api-key KEY]
Run by tools/serve/check_clients.sh, which starts the server and also drives it with curl.
"""

import argparse
import base64
import json
import math
import struct
import urllib.request

import openai


def cos(a, b):
    return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--model", default=None)
    ap.add_argument("--api-key", default="unused")
    args = ap.parse_args()
    client = openai.OpenAI(base_url=args.base_url + "/v1", api_key=args.api_key)
    print(f"openai {openai.__version__}")
    models = client.models.list()
    names = [m.id for m in models.data]
    print("models.list:", names)
    model = args.model or names[0]

    texts = ["The capital of France is Paris.", "A sentence to embed."]
    one = client.embeddings.create(model=model, input=texts[0])
    print(f"embeddings.create(str): {len(one.data)} vector of {len(one.data[0].embedding)} dims, "
          f"usage {one.usage.prompt_tokens} prompt / {one.usage.total_tokens} total tokens, "
          f"model {one.model!r}")
    batch = client.embeddings.create(model=model, input=texts)
    print(f"embeddings.create([str, str]): {len(batch.data)} vectors, indices "
          f"{[d.index for d in batch.data]}, usage {batch.usage.prompt_tokens} tokens")
    assert batch.data[0].embedding == one.data[0].embedding or \
        max(abs(x - y) for x, y in zip(batch.data[0].embedding, one.data[0].embedding)) < 1e-5

    # Token ids: what /tokenize gives for the first text (the OpenAI client sends int lists).
    req = urllib.request.Request(args.base_url + "/tokenize", method="POST",
                                 data=json.dumps({"inputs": texts[0]}).encode(),
                                 headers={"Content-Type": "application/json",
                                          "Authorization": f"Bearer {args.api_key}"})
    ids = [t["id"] for t in json.load(urllib.request.urlopen(req))[0]]
    by_ids = client.embeddings.create(model=model, input=ids)
    d_ids = max(abs(x - y) for x, y in zip(by_ids.data[0].embedding, one.data[0].embedding))
    print(f"embeddings.create(token ids, {len(ids)} ids): max |diff| to the text's vector {d_ids:.2e}")

    dims = len(one.data[0].embedding) // 2
    short = client.embeddings.create(model=model, input=texts[0], dimensions=dims)
    print(f"embeddings.create(dimensions={dims}): {len(short.data[0].embedding)} dims")

    # encoding_format base64: the raw client response (the SDK would decode it itself).
    raw = client.embeddings.with_raw_response.create(model=model, input=texts[0],
                                                     encoding_format="base64")
    b64 = json.loads(raw.text)["data"][0]["embedding"]
    floats = struct.unpack(f"<{len(base64.b64decode(b64)) // 4}f", base64.b64decode(b64))
    d_b64 = max(abs(x - y) for x, y in zip(floats, one.data[0].embedding))
    print(f"encoding_format=base64: {len(floats)} little-endian float32, max |diff| to float {d_b64:.2e}")

    try:
        client.embeddings.create(model="no-such-model", input="x")
        raise SystemExit("an unknown model was accepted")
    except openai.UnprocessableEntityError as e:
        print(f"unknown model -> {e.status_code} {e.body}")
    print(f"cosine(text 0, text 1) = {cos(batch.data[0].embedding, batch.data[1].embedding):.4f}")
    print("OpenAI client check PASSED")


if __name__ == "__main__":
    main()
