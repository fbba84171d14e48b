#!/usr/bin/env python3
"""Writes a random ModernBERT-base- or -large-shaped model and its parity goldens at real lengths.

Usage: /work/venv/bin/python tools/golden/make_slow_parity.py --shape base|large \
           --seqlens 512,8192 --out DIR [--threads 2] [--update-manifest]

DIR receives config.json + model.safetensors (fp32, save_pretrained), goldens.safetensors and
info.json. DIR belongs in the build tree: a base model is ~600 MB, its goldens ~650 MB at
512 + 8192 tokens; nothing here is committed. Called on demand by the `slow` C++ parity test.

Goldens (packed, same names as make_parity_models.py): `input_ids` I32 (N,), `cu_seqlens` I32
(B+1,), `hidden_states.0` (embedding output), `hidden_states.{i+1}` (output of layer i, before
final_norm), `last_hidden_state` (after final_norm), all F32 (N, C); `logits_rows` I32 (R,) and MLM
`logits` F32 (R, V) for R = 4 rows per sequence. No per-sublayer taps, to keep the file small.

Each sequence runs alone (B = 1, no padding): identical to a padded batch on real positions, and
without the padded sequence's wasted O(S^2) attention. Local layers use the real window of 128
(|i - j| <= 64). The logits come from HF's own sparse-prediction path (head and decoder only on the
labelled rows), so the full (N, V) logits are never built.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import golden_common as gc  # noqa: E402

from transformers import ModernBertConfig, ModernBertForMaskedLM  # noqa: E402
from transformers.initialization import no_init_weights  # noqa: E402

SCRIPT = "tools/golden/make_slow_parity.py"

# reference §1.2 (hub config.json of ModernBERT-base / -large)
SHAPES = {
    "base": dict(hidden_size=768, num_attention_heads=12, num_hidden_layers=22,
                 intermediate_size=1152),
    "large": dict(hidden_size=1024, num_attention_heads=16, num_hidden_layers=28,
                  intermediate_size=2624),
}
COMMON = dict(vocab_size=50368, local_attention=128, global_attn_every_n_layers=3,
              global_rope_theta=160000.0, local_rope_theta=10000.0, attention_dropout=0.0,
              embedding_dropout=0.0, mlp_dropout=0.0, classifier_dropout=0.0,
              classifier_pooling="mean", **gc.REAL_SPECIALS)
SEEDS = {"base": 2001, "large": 2002}


def logits_rows(lengths, half_window):
    """Per sequence: first token, first token past the half window, middle, last."""
    rows, start = [], 0
    for n in lengths:
        rows += sorted({start, start + min(half_window + 1, n - 1), start + n // 2, start + n - 1})
        start += n
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", choices=sorted(SHAPES), required=True)
    ap.add_argument("--seqlens", default="512,8192", help="comma-separated sequence lengths")
    ap.add_argument("--out", required=True, help="output directory (in the build tree)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--update-manifest", action="store_true",
                    help="also rewrite this script's section of tools/golden/manifest.json")
    args = ap.parse_args()
    lengths = [int(x) for x in args.seqlens.split(",") if x]
    if not lengths or min(lengths) < 2 or max(lengths) > 8192:
        ap.error("--seqlens: lengths must lie in [2, 8192]")
    gc.set_determinism(threads=args.threads)
    seed = SEEDS[args.shape]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()

    config = ModernBertConfig(**SHAPES[args.shape], **COMMON)
    torch.manual_seed(seed)
    # HF's own init (truncated normal over ~150M values) takes minutes on a busy 2-core machine
    # and is overwritten anyway; the rotary inv_freq buffers are computed in __init__ and checked.
    with no_init_weights():
        model = ModernBertForMaskedLM(config)
    model.tie_weights()  # skipped together with the init
    assert model.decoder.weight is model.model.embeddings.tok_embeddings.weight
    rotary = model.model.rotary_emb
    head_dim = config.hidden_size // config.num_attention_heads
    for layer_type, theta in (("full_attention", 160000.0), ("sliding_attention", 10000.0)):
        expected = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float) / head_dim))
        assert torch.equal(getattr(rotary, f"{layer_type}_inv_freq"), expected), layer_type
    gc.randomize_parameters(model, seed)
    model.save_pretrained(out, safe_serialization=True, max_shard_size="100GB")
    del model
    # the goldens use the model as re-loaded from the files written
    model = ModernBertForMaskedLM.from_pretrained(out, dtype=torch.float32,
                                                  attn_implementation="sdpa")
    model.eval()
    model.sparse_prediction = True  # logits only on labelled rows (HF's own sparse path)
    t_model = time.time() - t0

    specials = gc.REAL_SPECIALS
    docs = gc.random_documents(lengths, 50280, seed + 7, set(specials.values()),
                               cls_id=specials["cls_token_id"], sep_id=specials["sep_token_id"])
    rows = logits_rows(lengths, config.sliding_window)
    L = config.num_hidden_layers
    packed = {f"hidden_states.{i}": [] for i in range(L + 1)}
    packed["last_hidden_state"] = []
    packed["logits"] = []
    start = 0
    for d in docs:
        ids = torch.tensor([d], dtype=torch.long)
        labels = torch.full_like(ids, -100)
        mine = [r - start for r in rows if start <= r < start + len(d)]
        labels[0, mine] = ids[0, mine]
        taps = gc.Taps(model.model)
        with torch.no_grad():
            o = model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=labels)
        taps.remove()
        for name in packed:
            if name != "logits":
                packed[name].append(gc.to_np32(taps.values[name][0]))
        packed["logits"].append(gc.to_np32(o.logits))  # (rows of this sequence, V)
        del taps, o
        start += len(d)
    t_fwd = time.time() - t0 - t_model

    arrays = {"input_ids": np.asarray([t for d in docs for t in d], dtype=np.int32),
              "cu_seqlens": gc.cu_seqlens(docs),
              "logits_rows": np.asarray(rows, dtype=np.int32)}
    magnitude = {}
    for name, parts in packed.items():
        arrays[name] = np.ascontiguousarray(np.concatenate(parts, axis=0))
        assert np.isfinite(arrays[name]).all(), name
        magnitude[name] = float(np.abs(arrays[name]).max())
    del packed
    gc.save_goldens(arrays, out / "goldens.safetensors", f"{SCRIPT} {args.shape}")

    info = {
        "script": SCRIPT,
        "shape": args.shape,
        "seqlens": lengths,
        "seed": seed,
        "threads": args.threads,
        "versions": gc.versions(),
        "goldens": gc.tensor_summary(arrays),
        "max_abs_value": magnitude,
        "seconds": {"model": round(t_model, 1), "forward": round(t_fwd, 1)},
    }
    gc.write_json(out / "info.json", info)
    if args.update_manifest:
        gc.update_manifest("make_slow_parity", {
            "script": SCRIPT,
            "command": ("/work/venv/bin/python tools/golden/make_slow_parity.py --shape base|large "
                        "--seqlens 512,8192 --out DIR"),
            "output": "DIR in the build tree, never committed (model ~0.6 GB base / 1.6 GB large)",
            "shapes": SHAPES,
            "common_config": {k: v for k, v in COMMON.items()},
            "seeds": SEEDS,
            "randomisation": "as make_parity_models (golden_common.randomize_parameters)",
            "input": ("one unpadded sequence per forward; random ids in [5, 50280) avoiding "
                      "specials, [CLS] first, [SEP] last"),
            "goldens_layout": ("input_ids, cu_seqlens, hidden_states.0..L (layer outputs before "
                               "final_norm), last_hidden_state, logits_rows (4 per sequence), "
                               "logits (R, V) via HF sparse prediction"),
            "versions": gc.versions(),
        })
    print(json.dumps({"shape": args.shape, "seqlens": lengths, "seconds": info["seconds"],
                      "out": str(out)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
