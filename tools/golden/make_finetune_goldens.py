#!/usr/bin/env python3
"""Writes the fine-tuning parity goldens: a few optimizer steps of sequence classification (cls
and mean pooling), regression and token classification as transformers' Trainer runs them, one
DPR batch through sentence-transformers' MultipleNegativesRankingLoss, and one ColBERT batch
through PyLate's Contrastive loss, all on one tiny random ModernBERT.

Usage: /work/venv/bin/python tools/golden/make_finetune_goldens.py [--out DIR]
       (the ColBERT part imports PyLate from /work/venv-pylate, see PYLATE below)

DIR defaults to tests/data; it receives tiny-finetune/:
  base/config.json, base/model.safetensors   ModernBertModel (fp32), the encoder every task
                                             starts from
  <task>/config.json                         the task model's config as transformers 5.23 saves it
  <task>/goldens.safetensors                 see below
Tasks: seqcls-cls, seqcls-mean (3 labels), regression (num_labels 1, mean pooling), tokcls
(5 labels), dpr, colbert. The manifest section "make_finetune_goldens" of
tools/golden/manifest.json records versions, seeds and every check.

The Trainer's step is reproduced from its own parts, called rather than copied, on a fixed data
order (no sampler): `Trainer.get_decay_parameter_names` for the two parameter groups, its default
optimizer `torch.optim.AdamW(fused=True)` (default optim "adamw_torch_fused" for torch >= 2.8,
betas (0.9, 0.999), eps 1e-8), `get_linear_schedule_with_warmup`, and
`torch.nn.utils.clip_grad_norm_(max_norm=1.0)` before each step (Trainer's max_grad_norm). The
loss is the model's own (`outputs.loss`), one batch per step, no gradient accumulation.

Classification goldens (F32 unless noted; k = 0..STEPS-1):
  init.<name>                 head parameters at step 0 (the encoder comes from base/)
  step<k>.input_ids I32 (N,)  the step's sequences, packed; step<k>.cu_seqlens I32 (B+1,)
  step<k>.labels              I32 (B,) classes | F32 (B,) regression targets | I32 (N,) token
                              labels (-100 = ignored)
  losses (STEPS,)             loss of each step, before its update
  grad_norms (STEPS,)         global gradient L2 norm before clipping (clip_grad_norm_'s return)
  lrs (STEPS,)                learning rate each step used (LambdaLR, float32-rounded for the file)
  final.<name>                every parameter after the last step
  decays.<name> I32 (1,)      1 when the Trainer's optimizer decays the parameter, else 0
  lr_max, weight_decay, warmup_steps, total_steps, beta1, beta2, eps, max_grad_norm (1,)
DPR goldens: input_ids/cu_seqlens of the 3·B sequences (queries, positives, hard negatives, in
  that order, packed), loss (1,), embeddings (3B, C) mean-pooled, grad_embeddings (3B, C), and
  grad.<name> of every encoder parameter; scale (1,).
ColBERT goldens: input_ids/cu_seqlens of the B queries (expanded with [MASK] to QUERY_LENGTH)
  followed by the B positive and B negative documents, init.projection.weight (128, C), scores
  (B, 2B) in PyLate's column order (document group d, slot k at column 2d + k), loss (1,),
  grad.<name> of every encoder parameter and grad.projection.weight.
"""

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import golden_common as gc  # noqa: E402

from transformers import (  # noqa: E402
    ModernBertConfig,
    ModernBertForSequenceClassification,
    ModernBertForTokenClassification,
    ModernBertModel,
    Trainer,
    get_linear_schedule_with_warmup,
)

SCRIPT = "tools/golden/make_finetune_goldens.py"
PYLATE = "/work/venv-pylate/lib/python3.11/site-packages"
TOKENIZER_DIR = gc.REPO_ROOT.parent / "shared" / "data" / "modernbert-base"
TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]

# Smaller than the parity models (hidden 32, 3 layers: 0 global, 1 and 2 local, window W = 4) so
# that six tasks' initial and final weights stay a few hundred KB; sequences exceed the window.
FT_SHAPES = dict(gc.TINY_SHAPES, hidden_size=32, num_attention_heads=2, num_hidden_layers=3,
                 intermediate_size=19, local_attention=8)
VOCAB = 64
MASK_ID = 4
Q_PREFIX_ID = 5   # PyLate's "[Q] " / "[D] " prefix tokens (added tokens in a real tokenizer)
D_PREFIX_ID = 6
RESERVED = {0, 1, 2, 3, MASK_ID, Q_PREFIX_ID, D_PREFIX_ID}
SEED_BASE = 4001
STEPS = 4
BATCH = 4
LR_MAX = 2e-3
WEIGHT_DECAY = 0.01
WARMUP_STEPS = 1
TOTAL_STEPS = 6  # the schedule's length; only STEPS of it run, so the lr never reaches 0
BETAS = (0.9, 0.999)
EPS = 1e-8
MAX_GRAD_NORM = 1.0
DPR_SCALE = 20.0
COLBERT_DIM = 128
QUERY_LENGTH = 12


def lengths_for(seed, count, lo=2, hi=15):
    g = torch.Generator().manual_seed(seed)
    return [int(x) for x in torch.randint(lo, hi + 1, (count,), generator=g)]


def documents(seed, count, lo=2, hi=15):
    sp = gc.SMALL_SPECIALS
    return gc.random_documents(lengths_for(seed, count, lo, hi), VOCAB, seed + 1, RESERVED,
                               cls_id=sp["cls_token_id"], sep_id=sp["sep_token_id"])


def config_for(num_labels, pooling):
    kw = dict(FT_SHAPES)
    kw.update(gc.SMALL_SPECIALS)
    return ModernBertConfig(vocab_size=VOCAB, num_labels=num_labels, classifier_pooling=pooling,
                            **kw)


def task_model(cls, config, base_state, seed):
    """The task model: encoder weights from base/, head and classifier drawn from `seed`."""
    torch.manual_seed(seed)
    model = cls(config)
    gc.randomize_parameters(model, seed)
    missing = model.model.load_state_dict(base_state, strict=True)
    assert not missing.missing_keys and not missing.unexpected_keys
    model.train()  # every dropout is 0: train mode changes nothing, but it is what Trainer runs
    return model


def trainer_optimizer(model):
    """The Trainer's optimizer and schedule: decay for get_decay_parameter_names, none else."""
    decay_names = set(Trainer.get_decay_parameter_names(None, model))
    named = list(model.named_parameters())
    groups = [{"params": [p for n, p in named if n in decay_names], "weight_decay": WEIGHT_DECAY},
              {"params": [p for n, p in named if n not in decay_names], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=LR_MAX, betas=BETAS, eps=EPS, fused=True)
    sched = get_linear_schedule_with_warmup(opt, WARMUP_STEPS, TOTAL_STEPS)
    no_decay = sorted(n for n, _ in named if n not in decay_names)
    return opt, sched, no_decay


def run_classification(kind, model, batches, make_labels):
    """STEPS Trainer steps; returns arrays for the goldens file and a manifest entry."""
    # cloned: to_np32 may share memory with the tensor, which the optimizer updates in place
    arrays = {f"init.{n}": gc.to_np32(p.detach().clone()) for n, p in model.named_parameters()
              if not n.startswith("model.")}
    opt, sched, no_decay = trainer_optimizer(model)
    losses, norms, lrs = [], [], []
    pad = gc.SMALL_SPECIALS["pad_token_id"]
    for k, (docs, labels) in enumerate(batches):
        ids, attn = gc.pad_batch(docs, pad)
        lrs.append(opt.param_groups[0]["lr"])
        opt.zero_grad(set_to_none=True)
        out = model(input_ids=ids, attention_mask=attn, labels=make_labels(labels, docs))
        out.loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM)
        opt.step()
        sched.step()
        losses.append(float(out.loss.detach()))
        norms.append(float(norm))
        arrays[f"step{k}.input_ids"] = np.asarray([t for d in docs for t in d], dtype=np.int32)
        arrays[f"step{k}.cu_seqlens"] = gc.cu_seqlens(docs)
        arrays[f"step{k}.labels"] = np.asarray(
            [t for lab in labels for t in lab] if kind == "tokcls" else labels,
            dtype=np.float32 if kind == "regression" else np.int32)
    for n, p in model.named_parameters():
        arrays[f"final.{n}"] = gc.to_np32(p)
        arrays[f"decays.{n}"] = np.asarray([0 if n in no_decay else 1], dtype=np.int32)
    arrays.update({
        "losses": np.asarray(losses, dtype=np.float32),
        "grad_norms": np.asarray(norms, dtype=np.float32),
        "lrs": np.asarray(lrs, dtype=np.float32),
        "lr_max": np.asarray([LR_MAX], dtype=np.float32),
        "weight_decay": np.asarray([WEIGHT_DECAY], dtype=np.float32),
        "warmup_steps": np.asarray([WARMUP_STEPS], dtype=np.float32),
        "total_steps": np.asarray([TOTAL_STEPS], dtype=np.float32),
        "beta1": np.asarray([BETAS[0]], dtype=np.float32),
        "beta2": np.asarray([BETAS[1]], dtype=np.float32),
        "eps": np.asarray([EPS], dtype=np.float32),
        "max_grad_norm": np.asarray([MAX_GRAD_NORM], dtype=np.float32),
    })
    assert any(n > MAX_GRAD_NORM for n in norms), ("clipping never engages", norms)
    entry = {"losses": losses, "grad_norms": norms, "lrs": lrs, "no_decay_params": no_decay,
             "clipped_steps": [k for k, n in enumerate(norms) if n > MAX_GRAD_NORM]}
    return arrays, entry


def classification_tasks(base_state, out_dir):
    g = torch.Generator().manual_seed(SEED_BASE + 50)
    tasks = {}
    specs = [("seqcls-cls", ModernBertForSequenceClassification, 3, "cls"),
             ("seqcls-mean", ModernBertForSequenceClassification, 3, "mean"),
             ("regression", ModernBertForSequenceClassification, 1, "mean"),
             ("tokcls", ModernBertForTokenClassification, 5, "cls")]
    for t, (name, cls, K, pooling) in enumerate(specs):
        seed = SEED_BASE + 100 * (t + 1)
        config = config_for(K, pooling)
        model = task_model(cls, config, base_state, seed)
        kind = "tokcls" if cls is ModernBertForTokenClassification else (
            "regression" if K == 1 else "seqcls")
        batches = []
        for k in range(STEPS):
            docs = documents(seed + 10 + k, BATCH)
            if kind == "seqcls":
                labels = [int(x) for x in torch.randint(0, K, (BATCH,), generator=g)]
            elif kind == "regression":
                labels = [float(np.float32(x)) for x in torch.randn(BATCH, generator=g)]
            else:
                # -100 on [CLS]/[SEP] (as a word-piece aligner does) and on ~1 in 5 inner tokens
                labels = []
                for d in docs:
                    lab = [int(x) for x in torch.randint(0, K, (len(d),), generator=g)]
                    drop = torch.rand(len(d), generator=g) < 0.2
                    lab = [-100 if (i == 0 or i == len(d) - 1 or bool(drop[i])) else v
                           for i, v in enumerate(lab)]
                    labels.append(lab)
            batches.append((docs, labels))

        def make_labels(labels, docs, kind=kind):
            if kind == "seqcls":
                return torch.tensor(labels, dtype=torch.long)
            if kind == "regression":
                return torch.tensor(labels, dtype=torch.float32)
            S = max(len(d) for d in docs)
            out = torch.full((len(docs), S), -100, dtype=torch.long)  # padding ignored too
            for b, lab in enumerate(labels):
                out[b, : len(lab)] = torch.tensor(lab, dtype=torch.long)
            return out

        if kind == "regression":
            assert config.problem_type is None  # the model picks "regression" from num_labels 1
        arrays, entry = run_classification(kind, model, batches, make_labels)
        if kind == "regression":
            assert model.config.problem_type == "regression", model.config.problem_type
        if kind == "seqcls":
            assert model.config.problem_type == "single_label_classification"
        d = out_dir / name
        d.mkdir(parents=True)
        model.config.problem_type = None  # as a fresh config: the C++ side applies the same rule
        model.config.architectures = [cls.__name__]  # what model.save_pretrained would record
        model.config.save_pretrained(d)
        gc.save_goldens(arrays, d / "goldens.safetensors", SCRIPT)
        entry.update({"class": cls.__name__, "num_labels": K, "pooling": pooling,
                      "seed": seed, "kind": kind})
        tasks[name] = entry
    return tasks


def dpr_task(base_dir, base_state, out_dir):
    """One MNRL batch: B queries, B positives, B hard negatives (an extra column)."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules import Transformer
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from sentence_transformers.sentence_transformer.modules import Pooling

    seed = SEED_BASE + 700
    with tempfile.TemporaryDirectory() as tmp:
        st_dir = Path(tmp) / "st"
        shutil.copytree(base_dir, st_dir)
        # The Transformer module insists on a tokenizer; the real one is copied in (its ids exceed
        # this vocabulary; the batch below feeds ids directly).
        for f in TOKENIZER_FILES:
            shutil.copyfile(TOKENIZER_DIR / f, st_dir / f)
        tr = Transformer(str(st_dir), model_kwargs={"attn_implementation": "sdpa",
                                                    "dtype": torch.float32})
        pool = Pooling(tr.get_embedding_dimension(), pooling_mode="mean")
        st = SentenceTransformer(modules=[tr, pool], device="cpu")
    st.train()
    loss_fn = MultipleNegativesRankingLoss(st, scale=DPR_SCALE)
    columns = [documents(seed + c, BATCH) for c in range(3)]
    pad = gc.SMALL_SPECIALS["pad_token_id"]
    feats = []
    for docs in columns:
        ids, attn = gc.pad_batch(docs, pad)
        feats.append({"input_ids": ids, "attention_mask": attn})
    st.zero_grad(set_to_none=True)
    loss = loss_fn([dict(f) for f in feats], None)
    loss.backward()
    hf = st[0].auto_model
    grads = {n: p.grad.detach().clone() for n, p in hf.named_parameters()}
    # the same loss from embeddings we hold, for dLoss/dembedding
    st.zero_grad(set_to_none=True)
    embs = [st(dict(f))["sentence_embedding"] for f in feats]
    for e in embs:
        e.retain_grad()
    loss2 = loss_fn.compute_loss_from_embeddings(embs, None)
    loss2.backward()
    assert gc.max_abs_diff(loss, loss2) < 1e-6, (float(loss), float(loss2))
    grad_check = max(gc.max_abs_diff(p.grad, grads[n]) for n, p in hf.named_parameters())
    all_docs = [d for docs in columns for d in docs]
    arrays = {
        "input_ids": np.asarray([t for d in all_docs for t in d], dtype=np.int32),
        "cu_seqlens": gc.cu_seqlens(all_docs),
        "loss": gc.to_np32(loss.detach().reshape(1)),
        "embeddings": gc.to_np32(torch.cat([e.detach() for e in embs])),
        "grad_embeddings": gc.to_np32(torch.cat([e.grad for e in embs])),
        "scale": np.asarray([DPR_SCALE], dtype=np.float32),
    }
    for n, g in grads.items():
        arrays[f"grad.model.{n}"] = gc.to_np32(g)
    d = out_dir / "dpr"
    d.mkdir(parents=True)
    hf.config.architectures = ["ModernBertModel"]
    hf.config.save_pretrained(d)
    gc.save_goldens(arrays, d / "goldens.safetensors", SCRIPT)
    return {"loss": float(loss.detach()), "seed": seed, "columns": ["query", "positive", "hard negative"],
            "loss_class": "sentence_transformers MultipleNegativesRankingLoss(scale=20, cos_sim, "
                          "directions=('query_to_doc',), partition_mode='joint')",
            "embedding_path_vs_forward_grad_max_abs": grad_check}


def colbert_task(base_state, out_dir):
    """One PyLate Contrastive batch with a Linear(C -> 128, no bias) projection."""
    sys.path.insert(0, PYLATE)
    import pylate
    from pylate.losses import Contrastive

    seed = SEED_BASE + 800
    C = FT_SHAPES["hidden_size"]
    sp = gc.SMALL_SPECIALS
    torch.manual_seed(seed)
    hf = ModernBertModel(config_for(2, "mean"))
    hf.load_state_dict(base_state, strict=True)
    hf.train()
    proj = torch.nn.Linear(C, COLBERT_DIM, bias=False)
    with torch.no_grad():
        g = torch.Generator().manual_seed(seed)
        proj.weight.copy_(torch.randn(proj.weight.shape, generator=g) / C ** 0.5)

    # PyLate's tokenize(): [CLS] prefix tokens... [SEP]; queries padded with [MASK] to
    # QUERY_LENGTH (query expansion); documents padded (in the batch) with [MASK] as well
    # (PyLate sets pad_token_id = mask_token_id). attend_to_expansion_tokens=True: the query's
    # attention mask is all ones (see the manifest: the default False is not reproduced).
    def with_prefix(doc, prefix):
        return [doc[0], prefix] + doc[1:]

    q_raw = documents(seed + 1, BATCH, lo=3, hi=8)
    queries = []
    for q in q_raw:
        q = with_prefix(q, Q_PREFIX_ID)
        queries.append(q + [MASK_ID] * (QUERY_LENGTH - len(q)))
    pos = [with_prefix(d, D_PREFIX_ID) for d in documents(seed + 3, BATCH, lo=4, hi=14)]
    neg = [with_prefix(d, D_PREFIX_ID) for d in documents(seed + 5, BATCH, lo=4, hi=14)]
    Ld = max(len(d) for d in pos + neg)  # PyLate stacks the document columns: one common length

    def feature(docs, attend_all):
        ids = torch.full((len(docs), Ld if not attend_all else QUERY_LENGTH), MASK_ID,
                         dtype=torch.long)
        attn = torch.zeros_like(ids)
        for b, d in enumerate(docs):
            ids[b, : len(d)] = torch.tensor(d)
            attn[b, : len(d)] = 1
        if attend_all:
            attn.fill_(1)
        return {"input_ids": ids, "attention_mask": attn}

    feats = [feature(queries, True), feature(pos, False), feature(neg, False)]

    class Wrapped(torch.nn.Module):
        """What Contrastive asks of a ColBERT model: token_embeddings, skiplist, expansion."""

        skiplist = []  # no punctuation ids in this vocabulary
        do_query_expansion = True

        def forward(self, f):
            h = hf(input_ids=f["input_ids"], attention_mask=f["attention_mask"]).last_hidden_state
            return {"token_embeddings": proj(h)}

    wrapped = Wrapped()
    loss_fn = Contrastive(wrapped)
    hf.zero_grad(set_to_none=True)
    proj.zero_grad(set_to_none=True)
    loss = loss_fn([dict(f) for f in feats])
    loss.backward()
    # the scores, recomputed by PyLate's own scoring on the same embeddings
    with torch.no_grad():
        embs = [torch.nn.functional.normalize(wrapped(f)["token_embeddings"], p=2, dim=-1)
                for f in feats]
        masks = [f["attention_mask"].bool() for f in feats]
        scores = pylate.scores.ColBERTScores()(embs[0], torch.stack(embs[1:], dim=1),
                                              None, torch.stack(masks[1:], dim=1))
        ref = torch.nn.functional.cross_entropy(scores, torch.arange(BATCH) * 2)
    assert gc.max_abs_diff(ref, loss) < 1e-6
    # ColBERT formula by hand (MaxSim over real document tokens, a padded slot scoring 0)
    hand = torch.zeros(BATCH, 2 * BATCH)
    for i in range(BATCH):
        for dgroup in range(BATCH):
            for k in range(2):
                e, m = embs[1 + k][dgroup], masks[1 + k][dgroup]
                sim = embs[0][i] @ e.T * m
                hand[i, 2 * dgroup + k] = sim.max(dim=1).values.sum()
    hand_err = gc.max_abs_diff(hand, scores)
    assert hand_err < 1e-5, hand_err
    floor_hits = 0
    for k in range(2):
        for dgroup in range(BATCH):
            m = masks[1 + k][dgroup]
            if not bool(m.all()):
                sims = embs[0] @ embs[1 + k][dgroup][m].T
                floor_hits += int((sims.max(dim=-1).values < 0).sum())
    all_docs = queries + pos + neg
    arrays = {
        "input_ids": np.asarray([t for d in all_docs for t in d], dtype=np.int32),
        "cu_seqlens": gc.cu_seqlens(all_docs),
        "init.projection.weight": gc.to_np32(proj.weight),
        "scores": gc.to_np32(scores),
        "loss": gc.to_np32(loss.detach().reshape(1)),
        "grad.projection.weight": gc.to_np32(proj.weight.grad),
        "document_length": np.asarray([Ld], dtype=np.int32),
    }
    for n, p in hf.named_parameters():
        arrays[f"grad.model.{n}"] = gc.to_np32(p.grad)
    d = out_dir / "colbert"
    d.mkdir(parents=True)
    hf.config.architectures = ["ModernBertModel"]
    hf.config.save_pretrained(d)
    gc.save_goldens(arrays, d / "goldens.safetensors", SCRIPT)
    return {"loss": float(loss.detach()), "seed": seed, "pylate": pylate.__version__,
            "pylate_install": ("/work/venv-pylate: a venv whose .pth adds /work/venv's packages; "
                               "pylate==1.6.0 ujson==5.12.0 datasets fastkmeans==0.5.0 installed "
                               "--no-deps, then multiprocess pandas pyarrow xxhash. pylate pins "
                               "transformers<=5.3 and sentence-transformers 5.3; only its "
                               "scores and Contrastive loss are used, which import fine"),
            "query_length": QUERY_LENGTH, "document_length": Ld,
            "prefix_ids": {"query": Q_PREFIX_ID, "document": D_PREFIX_ID}, "mask_id": MASK_ID,
            "attend_to_expansion_tokens": True, "skiplist": [],
            "hand_formula_vs_pylate_scores_max_abs": hand_err,
            "query_tokens_hitting_the_padded_zero_floor": floor_hits,
            "notes": ["PyLate's default attend_to_expansion_tokens=False masks the [MASK] "
                      "expansion tokens as keys while still using their outputs; the packed engine "
                      "runs block-diagonal attention, so the goldens use True (all ones)",
                      "document padding: PyLate multiplies similarities by the mask, so a padded "
                      "slot scores 0 in the max (a floor for documents shorter than the batch's "
                      "document length)"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(gc.REPO_ROOT / "tests" / "data"))
    ap.add_argument("--manifest", default=str(gc.MANIFEST_PATH))
    args = ap.parse_args()
    gc.set_determinism(threads=1)
    out_dir = Path(args.out) / "tiny-finetune"
    if out_dir.exists():
        shutil.rmtree(out_dir)
    base_dir = out_dir / "base"
    base_dir.mkdir(parents=True)
    torch.manual_seed(SEED_BASE)
    base = ModernBertModel(config_for(2, "mean"))
    gc.randomize_parameters(base, SEED_BASE)
    base.save_pretrained(base_dir, safe_serialization=True)
    base_state = {k: v.detach().clone() for k, v in base.state_dict().items()}

    tasks = classification_tasks(base_state, out_dir)
    tasks["dpr"] = dpr_task(base_dir, base_state, out_dir)
    tasks["colbert"] = colbert_task(base_state, out_dir)
    sizes = {str(p.relative_to(out_dir)): p.stat().st_size for p in sorted(out_dir.rglob("*"))
             if p.is_file()}
    gc.update_manifest("make_finetune_goldens", {
        "script": SCRIPT,
        "command": "/work/venv/bin/python tools/golden/make_finetune_goldens.py",
        "dir": "tests/data/tiny-finetune",
        "versions": gc.versions(extra=("sentence_transformers",)),
        "threads": 1,
        "shapes": dict(FT_SHAPES, vocab_size=VOCAB),
        "special_token_ids": dict(gc.SMALL_SPECIALS, mask_token_id=MASK_ID),
        "trainer_step": {"optimizer": "torch.optim.AdamW(fused=True) (Trainer default optim "
                                      "adamw_torch_fused)", "betas": list(BETAS), "eps": EPS,
                         "lr_max": LR_MAX, "weight_decay": WEIGHT_DECAY,
                         "decay_groups": "Trainer.get_decay_parameter_names",
                         "schedule": "get_linear_schedule_with_warmup",
                         "warmup_steps": WARMUP_STEPS, "total_steps": TOTAL_STEPS,
                         "steps_run": STEPS, "batch": BATCH,
                         "max_grad_norm": MAX_GRAD_NORM, "attn_implementation": "sdpa",
                         "dropouts": "all 0 (ModernBERT's defaults); model.train()"},
        "tasks": tasks,
        "file_bytes": sizes,
    }, args.manifest)
    print({k: v.get("losses", v.get("loss")) for k, v in tasks.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
