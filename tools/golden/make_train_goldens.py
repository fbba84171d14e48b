#!/usr/bin/env python3
"""Writes the training parity goldens: one MLM step's loss and gradients, then 10 StableAdamW
steps, from transformers' ModernBertForMaskedLM and torch-optimi on a tiny model.

Usage: /work/venv/bin/python tools/golden/make_train_goldens.py [--out DIR]

DIR defaults to tests/data; it receives tiny-train/ with config.json + model.safetensors (fp32,
the initial weights) and goldens.safetensors. The manifest section "make_train_goldens" of
tools/golden/manifest.json describes it.

The batch is packed: documents of several lengths, masked once at 30% by the rule of reference
§5.1 (80% [MASK], 10% random id in [0, max id of the batch after [MASK] substitution], 10% kept;
[CLS]/[SEP] may be selected; only padding is protected and there is none in a packed batch).
transformers 5.23 has no packed path, so HF sees one document per row, right-padded, with an
attention_mask: positions restart at 0 per row and no row attends to another, which is the packed
computation. The script checks that claim against one unpadded forward per document.

goldens.safetensors (F32 unless noted):
  input_ids I32 (N,)       the masked input, packed
  original_ids I32 (N,)    the documents before masking
  labels I32 (N,)          original id where selected, -100 elsewhere
  cu_seqlens I32 (B+1,)
  loss (1,)                mean cross-entropy over the selected tokens, initial weights
  grad.<name>              gradient of loss w.r.t. every parameter (HF state-dict names; the tied
                           embedding/decoder weight appears once, as
                           model.embeddings.tok_embeddings.weight, holding both contributions)
  lrs (10,)                learning rate of optimizer steps 1..10 (float32-representable values)
  losses (10,)             loss before each of the 10 steps (losses[0] == loss)
  param_after.<name>       parameters after the 10 steps
  lr_max, beta1, beta2, eps, weight_decay (1,)   StableAdamW settings (decouple_lr=True)
"""

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import golden_common as gc  # noqa: E402

from transformers import ModernBertConfig, ModernBertForMaskedLM  # noqa: E402

SCRIPT = "tools/golden/make_train_goldens.py"
VOCAB = 1024
MASK_ID = 4  # the small-vocabulary [MASK] (ids 0..4 are specials, see golden_common)
SEED_MODEL = 3001
SEED_DOCS = 3002
SEED_MASK = 3003  # first seed tried; see mask_documents
LENGTHS = [40, 23, 17, 16, 9, 1]
MLM_PROBABILITY = 0.3
STEPS = 10
WARMUP_STEPS = 3
LR_MAX = float(np.float32(1e-3))
# linear warmup over 3 steps, then constant; rounded to float32 so C++ sees the same values
LRS = [float(np.float32(LR_MAX * min(1.0, (k + 1) / WARMUP_STEPS))) for k in range(STEPS)]
BETAS = (0.9, 0.98)
EPS = 1e-6
# Fully decoupled decay multiplies by (1 - lr/lr_max * wd) each step: 1e-2 is large for a real
# run (optimi warns) but makes the decay visible within 10 steps.
WEIGHT_DECAY = 1e-2


def mask_documents(ids, seed):
    """Reference §5.1 on the packed ids. Returns (masked ids, labels, seed used, case counts).
    Seeds are tried from `seed` upwards until all three replacement cases occur at least once, so
    the golden exercises each of them."""
    p = MLM_PROBABILITY
    while True:
        rng = np.random.default_rng(seed)
        r = rng.random(ids.shape[0])
        masked = ids.copy()
        to_mask = r < 0.8 * p
        masked[to_mask] = MASK_ID
        to_random = (r >= 0.8 * p) & (r < 0.9 * p)
        high = int(masked.max())  # max over the batch after the [MASK] substitution
        masked[to_random] = rng.integers(0, high + 1, size=int(to_random.sum()))
        kept = (r >= 0.9 * p) & (r < p)
        labels = np.where(r < p, ids, -100)
        counts = {"mask": int(to_mask.sum()), "random": int(to_random.sum()),
                  "kept": int(kept.sum())}
        if min(counts.values()) > 0:
            return masked.astype(np.int32), labels.astype(np.int32), seed, counts
        seed += 1


def unpack(flat, cu):
    return [flat[cu[b]:cu[b + 1]].tolist() for b in range(len(cu) - 1)]


def padded_inputs(masked_docs, label_docs, pad_id):
    ids, attn = gc.pad_batch(masked_docs, pad_id)
    labels = torch.full_like(ids, -100)
    for b, d in enumerate(label_docs):
        labels[b, : len(d)] = torch.tensor(d, dtype=torch.long)
    return ids, attn, labels


def load(model_dir, impl, sparse):
    m = ModernBertForMaskedLM.from_pretrained(model_dir, dtype=torch.float32,
                                              attn_implementation=impl)
    m.train()  # all dropouts are 0: train mode changes nothing but is what a trainer runs
    m.sparse_prediction = sparse
    return m


def loss_and_grads(model, ids, attn, labels):
    model.zero_grad(set_to_none=True)
    out = model(input_ids=ids, attention_mask=attn, labels=labels)
    out.loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
    return out.loss.detach().clone(), grads


def per_document_loss_and_grads(model, masked_docs, label_docs):
    """The packed computation without padding: one forward per document, each document's summed
    cross-entropy divided by the total number of selected tokens."""
    model.zero_grad(set_to_none=True)
    total = sum(sum(1 for t in d if t != -100) for d in label_docs)
    loss_sum = torch.zeros(())
    for d, lab in zip(masked_docs, label_docs):
        n = sum(1 for t in lab if t != -100)
        if n == 0:
            continue
        ids = torch.tensor([d], dtype=torch.long)
        out = model(input_ids=ids, attention_mask=torch.ones_like(ids),
                    labels=torch.tensor([lab], dtype=torch.long))
        part = out.loss * n / total
        part.backward()
        loss_sum = loss_sum + part.detach()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
    return loss_sum, grads


def max_rel(a, b):
    """max |a - b| / max |b| over all tensors of two gradient dicts."""
    return max(gc.max_abs_diff(a[k], b[k]) / max(float(b[k].abs().max()), 1e-30) for k in b)


def param_groups(model):
    """ModernBERT main.py: no decay for parameters with ndim <= 1 or names ending in '.bias'."""
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        (no_decay if p.ndim <= 1 or n.endswith(".bias") else decay).append((n, p))
    return decay, no_decay


class ReferenceStableAdamW:
    """Reference §5.2 in float64, fed with the gradients torch computed at each step: checks that
    the optimi trajectory in the goldens is the documented algorithm (and reports whether update
    clipping engaged)."""

    def __init__(self, named_params, wd_of):
        self.theta = {n: p.detach().double().clone() for n, p in named_params}
        self.m = {n: torch.zeros_like(t) for n, t in self.theta.items()}
        self.v = {n: torch.zeros_like(t) for n, t in self.theta.items()}
        self.wd_of = wd_of
        self.t = 0
        self.max_rms = 0.0

    def step(self, grads, lr):
        self.t += 1
        b1, b2 = BETAS
        b1_hat = (b1 ** self.t - b1) / (b1 ** self.t - 1)
        b2_hat = (b2 ** self.t - b2) / (b2 ** self.t - 1)
        for n, theta in self.theta.items():
            g = grads[n].double()
            self.m[n] = b1_hat * self.m[n] + (1 - b1_hat) * g
            self.v[n] = b2_hat * self.v[n] + (1 - b2_hat) * g * g
            rms = float(torch.sqrt(torch.mean(g * g / torch.clamp(self.v[n], min=EPS * EPS))))
            self.max_rms = max(self.max_rms, rms)
            eta = lr / max(1.0, rms)
            wd = self.wd_of[n]
            if wd != 0.0:
                theta.mul_(1 - (eta / LR_MAX) * wd)
            theta.sub_(eta * self.m[n] / (torch.sqrt(self.v[n]) + EPS))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(gc.REPO_ROOT / "tests" / "data"))
    ap.add_argument("--manifest", default=str(gc.MANIFEST_PATH))
    args = ap.parse_args()
    gc.set_determinism(threads=1)
    from optimi import StableAdamW

    model_dir = Path(args.out) / "tiny-train"
    if model_dir.exists():
        shutil.rmtree(model_dir)
    model_dir.mkdir(parents=True)

    kw = dict(gc.TINY_SHAPES)
    kw.update(gc.SMALL_SPECIALS)
    config = ModernBertConfig(vocab_size=VOCAB, classifier_pooling="mean", **kw)
    torch.manual_seed(SEED_MODEL)
    model = ModernBertForMaskedLM(config)
    gc.randomize_parameters(model, SEED_MODEL)
    model.save_pretrained(model_dir, safe_serialization=True)
    del model

    specials = gc.SMALL_SPECIALS
    docs = gc.random_documents(LENGTHS, VOCAB, SEED_DOCS, set(specials.values()) | {MASK_ID},
                               cls_id=specials["cls_token_id"], sep_id=specials["sep_token_id"])
    cu = gc.cu_seqlens(docs)
    original = np.asarray([t for d in docs for t in d], dtype=np.int32)
    masked, labels, mask_seed, counts = mask_documents(original, SEED_MASK)
    masked_docs, label_docs = unpack(masked, cu), unpack(labels, cu)
    ids, attn, lab = padded_inputs(masked_docs, label_docs, specials["pad_token_id"])

    # the golden: sdpa, sparse prediction (head and decoder only on the selected rows)
    model = load(model_dir, "sdpa", sparse=True)
    loss, grads = loss_and_grads(model, ids, attn, lab)
    for n, g in grads.items():
        assert torch.isfinite(g).all(), n
    checks = {}
    # same numbers from the dense path, the eager attention, and unpadded per-document forwards
    dense_loss, dense_grads = loss_and_grads(load(model_dir, "sdpa", sparse=False), ids, attn, lab)
    eager_loss, eager_grads = loss_and_grads(load(model_dir, "eager", sparse=True), ids, attn, lab)
    doc_loss, doc_grads = per_document_loss_and_grads(load(model_dir, "sdpa", sparse=True),
                                                      masked_docs, label_docs)
    checks["sparse_vs_dense_prediction"] = {"loss_abs": gc.max_abs_diff(loss, dense_loss),
                                            "grad_max_rel": max_rel(dense_grads, grads)}
    checks["eager_vs_sdpa"] = {"loss_abs": gc.max_abs_diff(loss, eager_loss),
                               "grad_max_rel": max_rel(eager_grads, grads)}
    checks["per_document_unpadded_vs_padded"] = {"loss_abs": gc.max_abs_diff(loss, doc_loss),
                                                 "grad_max_rel": max_rel(doc_grads, grads)}
    for name, c in list(checks.items()):
        assert c["loss_abs"] < 1e-5 and c["grad_max_rel"] < 1e-5, (name, c)
    pad_row = grads["model.embeddings.tok_embeddings.weight"][specials["pad_token_id"]]

    # 10 StableAdamW steps on the same batch, from the initial weights
    decay, no_decay = param_groups(model)
    model.zero_grad(set_to_none=True)
    opt = StableAdamW([{"params": [p for _, p in decay], "weight_decay": WEIGHT_DECAY},
                       {"params": [p for _, p in no_decay], "weight_decay": 0.0}],
                      lr=LR_MAX, betas=BETAS, eps=EPS, decouple_lr=True, foreach=False)
    assert all(g["max_lr"] == LR_MAX for g in opt.param_groups)
    wd_of = {n: WEIGHT_DECAY for n, _ in decay} | {n: 0.0 for n, _ in no_decay}
    reference = ReferenceStableAdamW(model.named_parameters(), wd_of)
    losses = []
    for k in range(STEPS):
        for group in opt.param_groups:
            group["lr"] = LRS[k]
        opt.zero_grad(set_to_none=True)
        out = model(input_ids=ids, attention_mask=attn, labels=lab)
        out.loss.backward()
        if k == 0:
            assert torch.equal(out.loss, loss)
            for n, p in model.named_parameters():
                assert torch.equal(p.grad, grads[n]), n
        losses.append(float(out.loss.detach()))
        reference.step({n: p.grad for n, p in model.named_parameters()}, LRS[k])
        opt.step()
    assert losses[-1] < losses[0], losses
    ref_err = max(gc.max_abs_diff(p, reference.theta[n]) / float(reference.theta[n].abs().max())
                  for n, p in model.named_parameters())
    assert ref_err < 1e-5, ref_err
    checks["optimi_vs_reference_5_2_float64_param_max_rel"] = ref_err
    checks["update_clipping_max_rms"] = reference.max_rms

    arrays = {
        "input_ids": masked,
        "original_ids": original,
        "labels": labels,
        "cu_seqlens": cu,
        "loss": gc.to_np32(loss.reshape(1)),
        "lrs": np.asarray(LRS, dtype=np.float32),
        "losses": np.asarray(losses, dtype=np.float32),
        "lr_max": np.asarray([LR_MAX], dtype=np.float32),
        "beta1": np.asarray([BETAS[0]], dtype=np.float32),
        "beta2": np.asarray([BETAS[1]], dtype=np.float32),
        "eps": np.asarray([EPS], dtype=np.float32),
        "weight_decay": np.asarray([WEIGHT_DECAY], dtype=np.float32),
    }
    for n, g in grads.items():
        arrays[f"grad.{n}"] = gc.to_np32(g)
    for n, p in model.named_parameters():
        arrays[f"param_after.{n}"] = gc.to_np32(p)
    gc.save_goldens(arrays, model_dir / "goldens.safetensors", SCRIPT)

    gc.update_manifest("make_train_goldens", {
        "script": SCRIPT,
        "command": "/work/venv/bin/python tools/golden/make_train_goldens.py",
        "dir": "tests/data/tiny-train",
        "versions": gc.versions(extra=("optimi",)),
        "threads": 1,
        "model": ("ModernBertForMaskedLM, tiny shapes of make_parity_models, vocab 1024, fp32 "
                  "model.safetensors = initial weights, config.json as written by 5.23"),
        "special_token_ids": dict(specials, mask_token_id=MASK_ID),
        "seeds": {"model": SEED_MODEL, "documents": SEED_DOCS, "mask": mask_seed},
        "lengths": LENGTHS,
        "masking": {"rule": "reference §5.1, numpy default_rng(seed), one uniform per token",
                    "probability": MLM_PROBABILITY, "counts": counts,
                    "selected": int((labels != -100).sum())},
        "hf_setup": ("attn_implementation sdpa, model.train() (dropouts 0), "
                     "sparse_prediction=True, padded batch with one document per row"),
        "optimizer": {"class": "optimi.StableAdamW", "lr_max": LR_MAX, "lrs": LRS,
                      "schedule": "linear warmup over 3 steps, then constant",
                      "betas": list(BETAS), "eps": EPS, "decouple_lr": True, "foreach": False,
                      "weight_decay": {"ndim >= 2 and not .bias": WEIGHT_DECAY,
                                       "ndim <= 1 or .bias": 0.0},
                      "no_decay_params": [n for n, _ in no_decay]},
        "checks": checks,
        "losses": losses,
        "pad_row_of_tied_embedding_grad_abs_max": float(pad_row.abs().max()),
        "hf_vs_paper": [
            "HF 5.23 has no packed path: the golden runs a right-padded batch (one document per "
            "row); the script checks it equals unpadded per-document forwards "
            "(checks.per_document_unpadded_vs_padded)",
            "sparse prediction (paper/original repo) vs HF's dense logits give the same loss and "
            "gradients up to rounding (checks.sparse_vs_dense_prediction)",
            "the tied embedding/decoder weight receives one gradient: the lookup part (zero for "
            "row pad_token_id, nn.Embedding padding_idx) plus the decoder part (non-zero for every "
            "row, pad included)",
            "HF applies attention_dropout to probabilities and output alike; the original repo "
            "used attn_out_dropout 0.1 in pre-training: all dropouts are 0 here",
            "initialisation is not compared (weights are given); HF and Megatron init differ in "
            "head.dense std (reference §7.3 item 10)",
        ],
        "goldens": gc.tensor_summary(arrays),
    }, args.manifest)
    print(f"loss {float(loss):.6f}, losses {losses[0]:.6f} -> {losses[-1]:.6f}, checks {checks}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
