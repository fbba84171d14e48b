"""What the benchmark workloads and model shapes are, shared by make_inputs.py and peers.py.

Workloads (reference §6.2, the paper's Table 10 datasets scaled down for a small CPU; the counts
match `mbert bench` at --scale 1): fixed short (512 tokens), variable short (normal mean 256,
sd 64, clipped to 32..476), fixed long (8192), variable long (normal mean 4102, sd 1024, clipped
to 171..7624), and single-sequence latency (one 128-token text on one thread).
"""

from collections import namedtuple

Spec = namedtuple("Spec", "count mean sd lo hi")

WORKLOADS = {
    "fixed512": Spec(32, 512, 0, 512, 512),
    "varshort": Spec(64, 256, 64, 32, 476),
    "fixed8192": Spec(2, 8192, 0, 8192, 8192),
    "varlong": Spec(4, 4102, 1024, 171, 7624),
    "latency128": Spec(1, 128, 0, 128, 128),
}

# workloads measured on one thread whatever --threads says (single-sequence latency)
SINGLE_THREAD = {"latency128"}

# ids uniform in [ID_LO, ID_HI), as the paper's efficiency notebooks draw them
ID_LO, ID_HI = 100, 16000

# reference §1.2 (hub config.json of ModernBERT-base / -large); tiny is for fast pipeline checks
SHAPES = {
    "tiny": dict(hidden_size=64, intermediate_size=96, num_hidden_layers=4, num_attention_heads=4),
    "base": dict(hidden_size=768, intermediate_size=1152, num_hidden_layers=22,
                 num_attention_heads=12),
    "large": dict(hidden_size=1024, intermediate_size=2624, num_hidden_layers=28,
                  num_attention_heads=16),
}
COMMON = dict(vocab_size=50368, pad_token_id=50283, bos_token_id=50281, eos_token_id=50282,
              cls_token_id=50281, sep_token_id=50282, local_attention=128,
              global_attn_every_n_layers=3, global_rope_theta=160000.0, local_rope_theta=10000.0,
              max_position_embeddings=8192, attention_dropout=0.0, embedding_dropout=0.0,
              mlp_dropout=0.0)


def model_config(shape):
    return dict(COMMON, **SHAPES[shape])


def batch_size(max_len):
    """Sequences per padded batch, as a user would choose: 8 for short texts, 1 for long ones."""
    return 8 if max_len <= 512 else 1
