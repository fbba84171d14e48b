#!/usr/bin/env python3
"""Writes tests/data/optim/stableadamw.safetensors: torch-optimi's StableAdamW on a few small
fp32 tensors for 10 steps, the oracle for tests/train/test_stable_adamw.cpp.

Run:  /work/venv/bin/python tools/golden/make_optim_goldens.py  (versions pinned in requirements.txt)

Layout (all F32):
  init/<name>                 initial parameters
  grad/<k>/<name>             gradient at step k = 1..10 (absent: no gradient that step, skipped)
  lr                          (10,) learning rate of each step (float32-representable values)
  max_lr                      (1,) the LR given at construction (lr_max of fully decoupled decay)
  <cfg>/param/<k>/<name>      parameters after step k, for each optimizer config <cfg>
  <cfg>/exp_avg/<name>, <cfg>/exp_avg_sq/<name>   moments after step 10
Configs: "fully" = decouple_lr=True, weight_decay 0.1 (the recipe's mode, large wd so decay is
visible); "torchwd" = decouple_lr=False, weight_decay 0.01. Both betas (0.9, 0.98), eps 1e-6.
Parameter groups as ModernBERT's main.py: no decay for ndim <= 1 or names ending in ".bias".
"""
import importlib.metadata
import math
import os

import numpy as np
import optimi
import safetensors
import torch
from safetensors.torch import save_file

SEED = 1234
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "data", "optim",
                   "stableadamw.safetensors")

SHAPES = {
    "layer.weight": (24, 40),    # 2-D: decayed
    "emb.weight": (50, 16),      # 2-D: decayed
    "norm.weight": (40,),        # 1-D: not decayed
    "dense.bias": (24,),         # .bias: not decayed
}
STEPS = 10
PEAK = float(np.float32(1e-2))
LRS = [float(np.float32(PEAK * f)) for f in (0.1, 0.3, 0.6, 1.0, 1.0, 0.9, 0.7, 0.5, 0.3, 0.2)]
CONFIGS = {"fully": dict(decouple_lr=True, weight_decay=0.1),
           "torchwd": dict(decouple_lr=False, weight_decay=0.01)}


def make_grads(gen):
    grads = []
    for k in range(1, STEPS + 1):
        g = {}
        for name, shape in SHAPES.items():
            if k == 4 and name == "norm.weight":
                continue  # no gradient this step: optimi skips the parameter
            scale = 1.0 + 0.5 * math.sin(k)
            t = torch.randn(shape, generator=gen) * scale
            if k == 6 and name == "layer.weight":
                t = t * 50.0  # a gradient spike: g²/v >> 1, so update clipping engages (rms > 1)
            if k == 8 and name == "emb.weight":
                t[:, :4] = 0.0  # exact zeros: v decays below eps² in those columns
            g[name] = t.float()
        grads.append(g)
    return grads


def run(init, grads, cfg):
    params = {n: torch.nn.Parameter(t.clone()) for n, t in init.items()}
    decay = [p for n, p in params.items() if p.ndim > 1 and not n.endswith(".bias")]
    no_decay = [p for n, p in params.items() if not (p.ndim > 1 and not n.endswith(".bias"))]
    opt = optimi.StableAdamW(
        [{"params": decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=PEAK, betas=(0.9, 0.98), eps=1e-6, foreach=False, triton=False, **cfg)
    out = {}
    for k in range(1, STEPS + 1):
        for n, p in params.items():
            p.grad = grads[k - 1][n].clone() if n in grads[k - 1] else None
        for group in opt.param_groups:
            group["lr"] = LRS[k - 1]
        opt.step()
        for n, p in params.items():
            out[f"param/{k}/{n}"] = p.detach().clone()
    for n, p in params.items():
        out[f"exp_avg/{n}"] = opt.state[p]["exp_avg"].clone()
        out[f"exp_avg_sq/{n}"] = opt.state[p]["exp_avg_sq"].clone()
    return out


def main():
    gen = torch.Generator().manual_seed(SEED)
    init = {n: (torch.randn(s, generator=gen) * 0.5).float() for n, s in SHAPES.items()}
    grads = make_grads(gen)
    tensors = {f"init/{n}": t for n, t in init.items()}
    for k, g in enumerate(grads, start=1):
        for n, t in g.items():
            tensors[f"grad/{k}/{n}"] = t
    tensors["lr"] = torch.tensor(LRS, dtype=torch.float32)
    tensors["max_lr"] = torch.tensor([PEAK], dtype=torch.float32)
    for cname, cfg in CONFIGS.items():
        for key, t in run(init, grads, cfg).items():
            tensors[f"{cname}/{key}"] = t.contiguous()
    meta = {"torch": torch.__version__, "torch-optimi": importlib.metadata.version("torch-optimi"),
            "numpy": np.__version__, "safetensors": safetensors.__version__, "seed": str(SEED),
            "script": "tools/golden/make_optim_goldens.py"}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    save_file(tensors, OUT, metadata=meta)
    os.chmod(OUT, 0o644)
    print(f"wrote {len(tensors)} tensors to {os.path.normpath(OUT)}; metadata {meta}")


if __name__ == "__main__":
    main()
