#!/usr/bin/env python3
"""Writes the tiny random ModernBERT test models and their parity goldens.

Usage: /work/venv/bin/python tools/golden/make_parity_models.py [--out DIR]

DIR defaults to tests/data (one sub-directory per model); the manifest section
"make_parity_models" of tools/golden/manifest.json describes every file. Goldens are computed with
transformers (fp32, CPU, sdpa) from the model as re-loaded from the files written (so bf16/f16
storage rounding is already in the weights the goldens see), on a right-padded batch, and stored
packed (real positions only). See golden_common.py for the tensor naming.

Models:
  tiny-mlm          ModernBertForMaskedLM, vocab 50368 (real tokenizer ids), BF16 weights,
                    legacy v4-style config.json (global_rope_theta, ...); doubles as the CLI default.
  tiny-seqcls-mean  ModernBertForSequenceClassification, mean pooling, fp32, sharded (index.json).
  tiny-seqcls-cls   ModernBertForSequenceClassification, cls pooling, F16, classifier_bias.
  tiny-tokcls       ModernBertForTokenClassification, 5 labels, fp32.
  tiny-st           sentence-transformers layout (Transformer, mean Pooling, Dense 64->32, Normalize)
                    around a ModernBertModel, fp32; embeddings from sentence-transformers itself.
"""

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open

sys.path.insert(0, str(Path(__file__).resolve().parent))
import golden_common as gc  # noqa: E402

from transformers import (  # noqa: E402
    ModernBertConfig,
    ModernBertForMaskedLM,
    ModernBertForSequenceClassification,
    ModernBertForTokenClassification,
    ModernBertModel,
)

SCRIPT = "tools/golden/make_parity_models.py"
TOKENIZER_DIR = gc.REPO_ROOT.parent / "shared" / "data" / "modernbert-base"
TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]
SMALL_VOCAB = 1024
EAGER_SDPA_BOUND = 1e-5  # the two attention paths must agree far inside the 1e-4 parity bar

DTYPES = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16}

MODELS = [
    dict(name="tiny-mlm", cls=ModernBertForMaskedLM, vocab=50368, specials=gc.REAL_SPECIALS,
         storage="BF16", legacy_config=True, shard=None, seed=1001,
         extra=dict(classifier_pooling="mean")),
    dict(name="tiny-seqcls-mean", cls=ModernBertForSequenceClassification, vocab=SMALL_VOCAB,
         specials=gc.SMALL_SPECIALS, storage="F32", legacy_config=False, shard="300KB", seed=1002,
         extra=dict(classifier_pooling="mean",
                    id2label={0: "negative", 1: "neutral", 2: "positive"})),
    dict(name="tiny-seqcls-cls", cls=ModernBertForSequenceClassification, vocab=SMALL_VOCAB,
         specials=gc.SMALL_SPECIALS, storage="F16", legacy_config=False, shard=None, seed=1003,
         extra=dict(classifier_pooling="cls", classifier_bias=True,
                    id2label={0: "negative", 1: "neutral", 2: "positive"})),
    dict(name="tiny-tokcls", cls=ModernBertForTokenClassification, vocab=SMALL_VOCAB,
         specials=gc.SMALL_SPECIALS, storage="F32", legacy_config=False, shard=None, seed=1004,
         extra=dict(classifier_pooling="mean",
                    id2label={0: "O", 1: "B-PER", 2: "I-PER", 3: "B-LOC", 4: "I-LOC"})),
    dict(name="tiny-st", cls=ModernBertModel, vocab=SMALL_VOCAB, specials=gc.SMALL_SPECIALS,
         storage="F32", legacy_config=False, shard=None, seed=1005,
         extra=dict(classifier_pooling="mean")),
]

ST_DENSE_OUT = 32


def make_config(spec):
    kw = dict(gc.TINY_SHAPES)
    kw.update(spec["specials"])
    kw.update(spec["extra"])
    return ModernBertConfig(vocab_size=spec["vocab"], **kw)


def rewrite_config_legacy(model_dir):
    """Turns the config.json written by transformers 5.23 (layer_types / rope_parameters) into the
    v4.48 style of the hub checkpoints: global/local_rope_theta, global_attn_every_n_layers,
    norm_eps beside layer_norm_eps, torch_dtype."""
    path = model_dir / "config.json"
    cfg = gc.json.loads(path.read_text(encoding="utf-8"))
    rope = cfg.pop("rope_parameters")
    layer_types = cfg.pop("layer_types")
    n = gc.TINY_SHAPES["global_attn_every_n_layers"]
    assert layer_types == ["sliding_attention" if i % n else "full_attention"
                           for i in range(len(layer_types))]
    cfg["global_rope_theta"] = rope["full_attention"]["rope_theta"]
    cfg["local_rope_theta"] = rope["sliding_attention"]["rope_theta"]
    cfg["global_attn_every_n_layers"] = n
    cfg["layer_norm_eps"] = cfg["norm_eps"]
    cfg["torch_dtype"] = cfg.pop("dtype")
    cfg["position_embedding_type"] = "absolute"
    cfg["gradient_checkpointing"] = False
    cfg["transformers_version"] = "4.48.0"
    gc.write_json(path, cfg)


def weight_files(model_dir):
    return sorted(p.name for p in model_dir.iterdir() if p.suffix == ".safetensors"
                  and p.name != "goldens.safetensors")


def save_model(spec, model_dir):
    """Builds, randomises and saves one model; returns the in-memory fp32 reference state dict
    rounded through the storage dtype."""
    if model_dir.exists():
        shutil.rmtree(model_dir)
    model_dir.mkdir(parents=True)
    torch.manual_seed(spec["seed"])
    model = spec["cls"](make_config(spec))
    gc.randomize_parameters(model, spec["seed"])
    if spec["cls"] is ModernBertForMaskedLM:
        assert model.decoder.weight is model.model.embeddings.tok_embeddings.weight
    dtype = DTYPES[spec["storage"]]
    model = model.to(dtype)
    kwargs = dict(safe_serialization=True)
    if spec["shard"]:
        kwargs["max_shard_size"] = spec["shard"]
    model.save_pretrained(model_dir, **kwargs)
    if spec["legacy_config"]:
        rewrite_config_legacy(model_dir)
    return {k: v.detach().to(torch.float32).clone() for k, v in model.state_dict().items()}


def check_weight_files(spec, model_dir):
    files = weight_files(model_dir)
    if spec["shard"]:
        assert len(files) >= 2, files
        assert (model_dir / "model.safetensors.index.json").exists()
    else:
        assert files == ["model.safetensors"], files
    for name in files:
        with safe_open(model_dir / name, "pt") as f:
            for k in f.keys():
                assert f.get_tensor(k).dtype == DTYPES[spec["storage"]], (name, k)
    return files


def load_model(spec, model_dir, impl):
    m = spec["cls"].from_pretrained(model_dir, dtype=torch.float32, attn_implementation=impl)
    m.eval()
    return m


def check_loaded(spec, model, reference_state):
    state = model.state_dict()
    assert set(state) == set(reference_state), set(state) ^ set(reference_state)
    for k, v in reference_state.items():
        assert state[k].dtype == torch.float32 and torch.equal(state[k], v), k
    cfg = model.config
    n = gc.TINY_SHAPES["global_attn_every_n_layers"]
    assert cfg.layer_types == ["sliding_attention" if i % n else "full_attention"
                               for i in range(cfg.num_hidden_layers)]
    assert cfg.rope_parameters["full_attention"]["rope_theta"] == gc.TINY_SHAPES["global_rope_theta"]
    assert cfg.rope_parameters["sliding_attention"]["rope_theta"] == gc.TINY_SHAPES["local_rope_theta"]
    assert cfg.sliding_window == gc.TINY_SHAPES["local_attention"] // 2


def documents(spec):
    s = spec["specials"]
    reserved = set(s.values())
    if spec["vocab"] > SMALL_VOCAB:
        reserved |= {gc.REAL_MASK_ID}
        return gc.random_documents(gc.TINY_LENGTHS, spec["vocab"], spec["seed"] + 7, reserved,
                                   cls_id=s["cls_token_id"], sep_id=s["sep_token_id"],
                                   mask_id=gc.REAL_MASK_ID, n_mask=4)
    return gc.random_documents(gc.TINY_LENGTHS, spec["vocab"], spec["seed"] + 7, reserved)


def run_hf(spec, model, docs):
    """One padded forward; returns the packed goldens (name -> tensor) and the HF hidden_states
    finding."""
    ids, mask = gc.pad_batch(docs, spec["specials"]["pad_token_id"])
    base = model if spec["cls"] is ModernBertModel else model.model
    taps = gc.Taps(base)
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
    taps.remove()
    finding = gc.check_hf_hidden_states(taps.values, out.hidden_states,
                                        model.config.num_hidden_layers)
    g = {name: gc.pack(t, docs) for name, t in taps.values.items()}
    if spec["cls"] is ModernBertModel:
        assert torch.equal(out.last_hidden_state, taps.values["last_hidden_state"])
    if spec["cls"] is ModernBertForMaskedLM:
        logits = gc.pack(out.logits, docs)  # (N, V)
        g["logits_rows"] = torch.tensor(mlm_rows(docs), dtype=torch.int32)
        g["logits"] = logits[g["logits_rows"].long()]  # (R, V)
    elif spec["cls"] is ModernBertForSequenceClassification:
        g["logits"] = out.logits  # (B, num_labels)
    elif spec["cls"] is ModernBertForTokenClassification:
        g["logits"] = gc.pack(out.logits, docs)  # (N, num_labels)
    return g, finding


def mlm_rows(docs):
    """Packed row indices: first and last token of every sequence and every [MASK] position."""
    rows, start = set(), 0
    for d in docs:
        rows |= {start, start + len(d) - 1}
        rows |= {start + i for i, t in enumerate(d) if t == gc.REAL_MASK_ID}
        start += len(d)
    return sorted(rows)


def to_arrays(g, docs):
    arrays = {"input_ids": np.asarray([t for d in docs for t in d], dtype=np.int32),
              "cu_seqlens": gc.cu_seqlens(docs)}
    for k, v in g.items():
        if v.dtype == torch.int32:
            arrays[k] = np.ascontiguousarray(v.numpy())
        else:
            arrays[k] = gc.to_np32(v)
            assert np.isfinite(arrays[k]).all(), k
    return arrays


def rewrite_st_classic(model_dir, hidden):
    """sentence-transformers 6 writes its own module paths and `pooling_mode: "mean"`; the
    ModernBERT embedders on the hub were written by sentence-transformers 2.x-5.x, so the directory
    is rewritten to that classic layout (which 6.2 still loads): `sentence_transformers.models.*`
    types, `pooling_mode_*_tokens` flags, and no 3_Normalize folder (it holds no weights and the hub
    keeps no empty folders)."""
    types = {"": "Transformer", "1_Pooling": "Pooling", "2_Dense": "Dense",
             "3_Normalize": "Normalize"}
    gc.write_json(model_dir / "modules.json", [
        {"idx": i, "name": str(i), "path": path, "type": "sentence_transformers.models." + t}
        for i, (path, t) in enumerate(types.items())])
    gc.write_json(model_dir / "1_Pooling" / "config.json", {
        "word_embedding_dimension": hidden,
        "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": False,
        "include_prompt": True,
    })
    gc.write_json(model_dir / "2_Dense" / "config.json", {
        "in_features": hidden, "out_features": ST_DENSE_OUT, "bias": True,
        "activation_function": "torch.nn.modules.linear.Identity"})
    gc.write_json(model_dir / "sentence_bert_config.json",
                  {"max_seq_length": 8192, "do_lower_case": False})
    shutil.rmtree(model_dir / "3_Normalize")


def build_sentence_transformer(spec, model_dir, docs):
    """Wraps the saved ModernBertModel in a sentence-transformers pipeline, saves it in place and
    returns (embeddings (B, 32), token_embeddings (N, 64)) computed by sentence-transformers from
    the saved directory, checked against the same pipeline computed by hand."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules import Dense, Normalize, Transformer
    from sentence_transformers.sentence_transformer.modules import Pooling

    # The Transformer module insists on a tokenizer; the real one is copied in for the build and
    # removed afterwards (its ids exceed this model's vocabulary of 1024; tests feed ids).
    for f in TOKENIZER_FILES:
        shutil.copyfile(TOKENIZER_DIR / f, model_dir / f)
    tr = Transformer(str(model_dir), model_kwargs={"attn_implementation": "sdpa",
                                                   "dtype": torch.float32})
    hidden = tr.get_embedding_dimension()
    pool = Pooling(hidden, pooling_mode="mean")
    dense = Dense(hidden, ST_DENSE_OUT, bias=True, activation_function=torch.nn.Identity())
    gen = torch.Generator().manual_seed(spec["seed"] + 11)
    with torch.no_grad():
        dense.linear.weight.copy_(torch.randn(dense.linear.weight.shape, generator=gen) /
                                  hidden ** 0.5)
        dense.linear.bias.copy_(0.1 * torch.randn(dense.linear.bias.shape, generator=gen))
    st = SentenceTransformer(modules=[tr, pool, dense, Normalize()], device="cpu")
    st.save(str(model_dir), create_model_card=False)
    with safe_open(model_dir / "2_Dense" / "model.safetensors", "pt") as f:
        assert sorted(f.keys()) == ["linear.bias", "linear.weight"], list(f.keys())
    rewrite_st_classic(model_dir, hidden)

    # the goldens come from sentence-transformers reading the rewritten directory back
    st = SentenceTransformer(str(model_dir), device="cpu")
    st.eval()
    ids, mask = gc.pad_batch(docs, spec["specials"]["pad_token_id"])
    with torch.no_grad():
        feats = st({"input_ids": ids, "attention_mask": mask})
    emb = feats["sentence_embedding"]  # (B, 32)
    tok = gc.pack(feats["token_embeddings"], docs)  # (N, 64)

    # the same pipeline by hand: masked mean -> Linear -> L2 normalise
    cu = gc.cu_seqlens(docs)
    pooled = torch.stack([tok[cu[b]:cu[b + 1]].mean(0) for b in range(len(docs))])
    w = dense.linear.weight.detach()
    b = dense.linear.bias.detach()
    by_hand = torch.nn.functional.normalize(pooled @ w.T + b, dim=-1)
    hand_err = gc.max_abs_diff(by_hand, emb)
    assert hand_err < 1e-6, hand_err

    for f in TOKENIZER_FILES + ["vocab.txt", "merges.txt", "vocab.json", "README.md"]:
        (model_dir / f).unlink(missing_ok=True)
    return emb, tok, hand_err


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(gc.REPO_ROOT / "tests" / "data"),
                    help="directory receiving one sub-directory per model (default tests/data)")
    ap.add_argument("--manifest", default=str(gc.MANIFEST_PATH),
                    help="manifest to update (default tools/golden/manifest.json)")
    args = ap.parse_args()
    gc.set_determinism(threads=1)
    out = Path(args.out)

    entries = {}
    for spec in MODELS:
        model_dir = out / spec["name"]
        reference_state = save_model(spec, model_dir)
        files = check_weight_files(spec, model_dir)
        docs = documents(spec)

        sdpa = load_model(spec, model_dir, "sdpa")
        check_loaded(spec, sdpa, reference_state)
        g, finding = run_hf(spec, sdpa, docs)
        eager = load_model(spec, model_dir, "eager")
        g_eager, _ = run_hf(spec, eager, docs)
        floats = [k for k in g if g[k].is_floating_point()]
        eager_err = max(gc.max_abs_diff(g[k], g_eager[k]) for k in floats)
        eager_rel = max(gc.max_abs_diff(g[k], g_eager[k]) / float(g[k].abs().max()) for k in floats)
        assert eager_err < EAGER_SDPA_BOUND, (spec["name"], eager_err)

        notes = {}
        if spec["name"] == "tiny-st":
            emb, tok, hand_err = build_sentence_transformer(spec, model_dir, docs)
            st_err = gc.max_abs_diff(tok, g["last_hidden_state"])
            assert st_err < 1e-6, st_err
            g["embeddings"] = emb
            g["token_embeddings"] = tok
            notes["sentence_transformers_vs_hand_max_abs"] = hand_err
            notes["token_embeddings_vs_last_hidden_state_max_abs"] = st_err
        if spec["name"] == "tiny-mlm":
            # the goldens must see the window: W = 9 instead of 8 has to move the outputs far
            # beyond the parity tolerance
            wider = spec["cls"].from_pretrained(model_dir, dtype=torch.float32,
                                                attn_implementation="sdpa", local_attention=18)
            g_wide, _ = run_hf(spec, wider.eval(), docs)
            window_effect = gc.max_abs_diff(g_wide["last_hidden_state"], g["last_hidden_state"])
            assert window_effect > 1e-2, window_effect
            notes["window_9_instead_of_8_max_abs_change"] = window_effect
            for f in TOKENIZER_FILES:
                shutil.copyfile(TOKENIZER_DIR / f, model_dir / f)

        arrays = to_arrays(g, docs)
        gc.save_goldens(arrays, model_dir / "goldens.safetensors", f"{SCRIPT} {spec['name']}")

        entries[spec["name"]] = {
            "dir": f"tests/data/{spec['name']}",
            "class": spec["cls"].__name__,
            "vocab_size": spec["vocab"],
            "special_token_ids": spec["specials"],
            "weights_dtype": spec["storage"],
            "weight_files": files,
            "config_style": ("legacy v4 (global_rope_theta, local_rope_theta, "
                             "global_attn_every_n_layers, norm_eps + layer_norm_eps, torch_dtype)"
                             if spec["legacy_config"] else
                             "transformers 5.23 save_pretrained (layer_types, rope_parameters, "
                             "global_attn_every_n_layers, norm_eps, dtype)"),
            "seed_model": spec["seed"],
            "seed_input_ids": spec["seed"] + 7,
            "lengths": gc.TINY_LENGTHS,
            "hf_hidden_states_last_entry": finding,
            "eager_vs_sdpa_max_abs": eager_err,
            "eager_vs_sdpa_max_abs_over_max_value": eager_rel,
            "goldens": gc.tensor_summary(arrays),
            **notes,
        }
        print(f"{spec['name']}: {len(arrays)} tensors, eager-vs-sdpa max |diff| {eager_err:.3g}")

    versions = gc.versions(extra=("sentence_transformers",))
    gc.update_manifest("make_parity_models", {
        "script": SCRIPT,
        "command": "/work/venv/bin/python tools/golden/make_parity_models.py",
        "versions": versions,
        "threads": 1,
        "attn_implementation": "sdpa (eager checked to agree within %g)" % EAGER_SDPA_BOUND,
        "architecture": {k: v for k, v in gc.TINY_SHAPES.items()},
        "input": ("right-padded batch, attention_mask, default position_ids (0..len-1 per row); "
                  "random ids in [5, vocab) avoiding special ids; tiny-mlm rows start with [CLS] "
                  "50281, end with [SEP] 50282 and hold 4 [MASK] 50284"),
        "randomisation": ("linear weights N(0, 1/fan_in), LayerNorm weights 1 + 0.1 N(0,1), "
                          "biases 0.1 N(0,1), token embedding N(0, 0.25^2); see "
                          "golden_common.randomize_parameters"),
        "goldens_layout": ("packed real positions; hidden_states.0 = embeddings (after norm), "
                           "hidden_states.{i+1} = output of layer i before final_norm (also i = L-1; "
                           "HF's own output_hidden_states[-1] is final_norm-ed in 5.23, see "
                           "hf_hidden_states_last_entry), last_hidden_state = final_norm output, "
                           "layers.{i}.attn_out / mlp_out = sublayer outputs before the residual "
                           "add; MLM logits only for rows logits_rows; seq cls logits (B, labels); "
                           "tok cls logits (N, labels); ST embeddings (B, 32) normalised and "
                           "token_embeddings (N, 64)"),
        "models": entries,
    }, args.manifest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
