"""Helpers shared by the golden scripts in tools/golden.

Everything here is deterministic: fixed seeds, one generator per purpose, deterministic torch
algorithms, a fixed thread count, and JSON written with sorted keys and no timestamps, so a rerun
writes identical bytes.

Conventions of every goldens.safetensors written with these helpers:
  * the batch is packed: only real (non-padded) positions, sequences one after the other;
    `input_ids` I32 (N,), `cu_seqlens` I32 (B+1,);
  * `hidden_states.0` is the embedding output (after embeddings.norm), `hidden_states.{i+1}` the
    output of encoder layer i (before final_norm, also for the last layer: see manifest),
    `last_hidden_state` the output of final_norm; `layers.{i}.attn_out` is the output of
    `layers[i].attn` (after Wo, before the residual add), `layers.{i}.mlp_out` the output of
    `layers[i].mlp` (before the residual add). All F32 (N, C).
"""

import json
import math
import platform
import random
from pathlib import Path

import numpy as np
import torch

REPO_ROOT = Path(__file__).resolve().parents[2]
MANIFEST_PATH = REPO_ROOT / "tools" / "golden" / "manifest.json"

# ids of the real ModernBERT tokenizer (shared/data/modernbert-base/tokenizer.json)
REAL_SPECIALS = dict(pad_token_id=50283, bos_token_id=50281, eos_token_id=50282, cls_token_id=50281,
                     sep_token_id=50282)
REAL_MASK_ID = 50284
# small-vocabulary models (vocab 1024) cannot use the real ids (padding_idx must be < vocab):
# ids 0..4 are reserved for specials and random ids are drawn from [5, vocab)
SMALL_SPECIALS = dict(pad_token_id=3, bos_token_id=1, eos_token_id=2, cls_token_id=1, sep_token_id=2)

# The tiny architecture of design.md §5: both layer types appear (layers 0 and 3 global, 1 and 2
# local), an odd intermediate size, and a half window W = 8 that the test sequences exceed.
TINY_SHAPES = dict(
    hidden_size=64,
    num_attention_heads=4,
    num_hidden_layers=4,
    intermediate_size=37,
    local_attention=16,
    global_attn_every_n_layers=3,
    global_rope_theta=160000.0,
    local_rope_theta=10000.0,
    attention_dropout=0.0,
    embedding_dropout=0.0,
    mlp_dropout=0.0,
    classifier_dropout=0.0,
)

# B = 5 sequences: longer than the window, window + 1 (2W + 1 = 17), exactly local_attention, a
# single token, and a short one.
TINY_LENGTHS = [40, 17, 16, 1, 9]


def set_determinism(threads=1):
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)


def versions(extra=()):
    import safetensors
    import transformers

    v = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "safetensors": safetensors.__version__,
        "numpy": np.__version__,
    }
    for name in extra:
        mod = __import__(name)
        v[name] = getattr(mod, "__version__", "unknown")
    return v


def randomize_parameters(model, seed, embedding_std=0.25):
    """Overwrites every parameter from a seeded generator, in sorted-name order.

    HF's own init (std 0.02, LayerNorm weights 1, biases 0) makes attention nearly uniform and
    every sublayer a tiny perturbation of the residual stream: a wrong window or RoPE would then
    move the outputs by less than the 1e-4 parity tolerance. Instead: linear weights ~
    N(0, 1/fan_in) so q.k scores are O(1) and every sublayer contributes O(1); LayerNorm weights
    1 + 0.1 N(0, 1) and biases 0.1 N(0, 1) so none is trivially 1 or 0; the token embedding (also
    the tied MLM decoder) N(0, embedding_std^2) so MLM logits are O(1).
    """
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters(), key=lambda kv: kv[0]):
            r = torch.randn(p.shape, generator=g, dtype=torch.float32)
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.1 * r)
            elif name.endswith(".bias"):
                p.copy_(0.1 * r)
            elif name.endswith("tok_embeddings.weight"):
                p.copy_(embedding_std * r)
            elif p.ndim == 2:
                p.copy_(r / math.sqrt(p.shape[1]))
            else:
                raise ValueError(f"no randomisation rule for parameter {name} {tuple(p.shape)}")


def random_documents(lengths, vocab_size, seed, reserved, cls_id=None, sep_id=None, mask_id=None,
                     n_mask=0):
    """Random token ids in [5, vocab_size) avoiding `reserved`; optional [CLS] first, [SEP] last
    (a length-1 sequence is just [CLS]) and `n_mask` [MASK] ids at random inner positions."""
    g = torch.Generator().manual_seed(seed)
    reserved = set(reserved)
    docs = []
    for n in lengths:
        ids = []
        while len(ids) < n:
            t = int(torch.randint(5, vocab_size, (1,), generator=g))
            if t not in reserved:
                ids.append(t)
        if cls_id is not None:
            ids[0] = cls_id
        if sep_id is not None and n > 1:
            ids[-1] = sep_id
        docs.append(ids)
    if n_mask:
        inner = [(b, i) for b, d in enumerate(docs) for i in range(1, len(d) - 1)]
        pick = torch.randperm(len(inner), generator=g)[:n_mask].tolist()
        for k in sorted(pick):
            b, i = inner[k]
            docs[b][i] = mask_id
    return docs


def pad_batch(docs, pad_id):
    """Right-padded (B, S) input_ids and attention_mask, S = longest document."""
    S = max(len(d) for d in docs)
    ids = torch.full((len(docs), S), pad_id, dtype=torch.long)
    mask = torch.zeros((len(docs), S), dtype=torch.long)
    for b, d in enumerate(docs):
        ids[b, : len(d)] = torch.tensor(d, dtype=torch.long)
        mask[b, : len(d)] = 1
    return ids, mask


def cu_seqlens(docs):
    cu = [0]
    for d in docs:
        cu.append(cu[-1] + len(d))
    return np.asarray(cu, dtype=np.int32)


def pack(t, docs):
    """(B, S, ...) padded tensor -> (N, ...) real positions, row-major over sequences."""
    return torch.cat([t[b, : len(d)] for b, d in enumerate(docs)], dim=0)


def to_np32(t):
    return np.ascontiguousarray(t.detach().to(torch.float32).cpu().numpy())


class Taps:
    """Forward hooks on a ModernBertModel recording the per-layer stages named in the module
    docstring (padded (B, S, C) tensors; pack them with `pack`)."""

    def __init__(self, base):
        self.values = {}
        self._hooks = []

        def keep(name, index=None):
            def hook(_module, _inputs, output):
                self.values[name] = (output[index] if index is not None else output).detach().clone()

            return hook

        self._hooks.append(base.embeddings.register_forward_hook(keep("hidden_states.0")))
        for i, layer in enumerate(base.layers):
            # ModernBertAttention returns (attn_output, attn_weights)
            self._hooks.append(layer.attn.register_forward_hook(keep(f"layers.{i}.attn_out", 0)))
            self._hooks.append(layer.mlp.register_forward_hook(keep(f"layers.{i}.mlp_out")))
            self._hooks.append(layer.register_forward_hook(keep(f"hidden_states.{i + 1}")))
        self._hooks.append(base.final_norm.register_forward_hook(keep("last_hidden_state")))

    def remove(self):
        for h in self._hooks:
            h.remove()
        self._hooks = []


def check_hf_hidden_states(taps, hf_hidden_states, num_layers):
    """Asserts how HF's `output_hidden_states` relates to the hooks, and returns the finding for
    the manifest. transformers 5.23 (`capture_outputs(tie_last_hidden_states=True)`) replaces the
    last entry by the final_norm output."""
    assert len(hf_hidden_states) == num_layers + 1
    for i in range(num_layers):
        assert torch.equal(hf_hidden_states[i], taps[f"hidden_states.{i}"]), i
    last = hf_hidden_states[num_layers]
    if torch.equal(last, taps["last_hidden_state"]):
        return "after final_norm (equals last_hidden_state)"
    if torch.equal(last, taps[f"hidden_states.{num_layers}"]):
        return "before final_norm (output of the last layer)"
    raise AssertionError("HF hidden_states[-1] is neither the last layer output nor final_norm")


def max_abs_diff(a, b):
    return float((a.detach().double() - b.detach().double()).abs().max())


def write_json(path, obj):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")


def update_manifest(section, entry, manifest_path=MANIFEST_PATH):
    """Replaces this script's section of the shared manifest, leaving the others untouched."""
    manifest = {}
    if Path(manifest_path).exists():
        with open(manifest_path, encoding="utf-8") as f:
            manifest = json.load(f)
    manifest[section] = entry
    write_json(manifest_path, manifest)


def save_goldens(arrays, path, source):
    """safetensors stores __metadata__ in a hash map whose order varies between runs, so only a
    single metadata key is written to keep the bytes reproducible."""
    from safetensors.numpy import save_file

    save_file(arrays, str(path), metadata={"source": source})


def tensor_summary(arrays):
    """{name: "dtype (shape)"} of a goldens dict, for the manifest."""
    return {k: f"{v.dtype} {tuple(v.shape)}" for k, v in sorted(arrays.items())}
