#!/usr/bin/env python3
"""Golden RoPE values from transformers' ModernBERT rotary embedding, for tests/ops/test_rope.

Writes tests/data/ops/rope_golden.safetensors with, for theta in {10000, 160000} and head_dim 64
(ModernBERT) plus head_dim 8 and 128 (other rounding cases of inv_freq):
  inv_freq_{theta}_{D}     (D/2,)   fp32, ModernBertRotaryEmbedding.compute_default_rope_parameters
  cos_{theta} / sin_{theta} (P, 32) fp32, ModernBertRotaryEmbedding.forward for D = 64 at the
                                    positions in `positions` (all of 0..255, then every 37th up to
                                    8191, and 8191), first D/2 lanes (the second half repeats them)
  qkv_in (N, 3*H*D), rope_positions (N,), q_out/k_out_{theta} (N, H*D): random q/k rotated by
                                    transformers' apply_rotary_pos_emb, with the cos/sin it used
                                    in rot_cos/rot_sin_{theta} (N, 32)
Run:  /work/venv/bin/python tools/golden/rope_table.py   (versions in tools/golden/requirements.txt)
"""
import os
import sys

import torch
import transformers
from safetensors.torch import save_file
from transformers import ModernBertConfig
from transformers.models.modernbert.modeling_modernbert import (
    ModernBertRotaryEmbedding,
    apply_rotary_pos_emb,
)

SEED = 1234
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "ops",
                   "rope_golden.safetensors")


def rotary(theta, head_dim):
    heads = 2
    cfg = ModernBertConfig(hidden_size=heads * head_dim, num_attention_heads=heads,
                           global_rope_theta=theta, local_rope_theta=theta)
    emb = ModernBertRotaryEmbedding(cfg)
    return emb, emb.layer_types[0] if hasattr(emb, "layer_types") else "full_attention"


def main():
    torch.manual_seed(SEED)
    out = {}
    positions = sorted(set(list(range(256)) + list(range(256, 8192, 37)) + [8191]))
    pos = torch.tensor(positions, dtype=torch.int64)
    out["positions"] = pos.to(torch.int32)
    H, D = 2, 64
    N = 48
    rope_pos = torch.cat([torch.arange(16), torch.randint(0, 8192, (32,))]).to(torch.int64)
    qkv = torch.randn(N, 3 * H * D, dtype=torch.float32) * 2.0
    out["qkv_in"] = qkv
    out["rope_positions"] = rope_pos.to(torch.int32)
    for theta in (10000.0, 160000.0):
        t = int(theta)
        for dim in (8, 64, 128):
            emb, layer_type = rotary(theta, dim)
            out[f"inv_freq_{t}_{dim}"] = getattr(emb, f"{layer_type}_inv_freq").clone()
        emb, layer_type = rotary(theta, D)
        x = torch.zeros(1, len(positions), H * D, dtype=torch.float32)
        cos, sin = emb(x, pos[None, :], layer_type)
        out[f"cos_{t}"] = cos[0, :, : D // 2].contiguous()
        out[f"sin_{t}"] = sin[0, :, : D // 2].contiguous()
        cos, sin = emb(qkv[None], rope_pos[None, :], layer_type)
        out[f"rot_cos_{t}"] = cos[0, :, : D // 2].contiguous()
        out[f"rot_sin_{t}"] = sin[0, :, : D // 2].contiguous()
        q = qkv[:, : H * D].view(1, N, H, D).transpose(1, 2)  # (1, H, N, D)
        k = qkv[:, H * D: 2 * H * D].view(1, N, H, D).transpose(1, 2)
        qr, kr = apply_rotary_pos_emb(q, k, cos, sin)
        out[f"q_out_{t}"] = qr.transpose(1, 2).reshape(N, H * D).contiguous()
        out[f"k_out_{t}"] = kr.transpose(1, 2).reshape(N, H * D).contiguous()
    meta = {"torch": torch.__version__, "transformers": transformers.__version__,
            "seed": str(SEED), "script": "tools/golden/rope_table.py"}
    save_file(out, OUT, metadata=meta)
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
