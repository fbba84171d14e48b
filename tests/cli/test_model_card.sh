#!/usr/bin/env bash
# scripts/builtin/make_model_card.sh end to end on three tiny phase runs (configs modelled on
# configs/builtin/*, hidden 32, a few steps, a corpus of two text prefixes): the card's numbers must
# be those of the files it read, every source must have a fill-mask example, the weights must be
# bf16 at half the checkpoint's size, and a second run into the same directory must be refused.
# Usage: test_model_card.sh MBERT_BINARY SOURCE_DIR SHARED_DIR. Exits 77 (skipped) without jq.
set -euo pipefail

mbert=$1 src=$2 shared=$3
command -v jq > /dev/null || {
  echo "jq not installed: skipped"
  exit 77
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

tok=$shared/data/modernbert-base
mkdir -p "$work/text" "$work/configs"
head -c 60000 "$shared/data/corpora/moby-dick.txt" > "$work/text/moby.txt"
head -c 40000 "$shared/data/corpora/tinyshakespeare.txt" > "$work/text/shakes.txt"
for len in 128 256; do
  "$mbert" data prepare -q --tokenizer "$tok" --source moby-dick="$work/text/moby.txt" \
    --source shakespeare="$work/text/shakes.txt" --out "$work/corpus-$len" --max-seq-len "$len" \
    --val-fraction 0.05 > /dev/null 2>&1
done
echo '{"sources": [{"name": "moby-dick", "weight": 2.0}, {"name": "shakespeare", "weight": 1.0}]}' \
  > "$work/configs/mixture-decay.json"
cat > "$work/configs/phase1-pretrain-128.json" << EOF
{"output_dir": "../runs/phase1",
 "model": {"hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 3,
           "num_attention_heads": 2, "local_attention": 32, "global_attn_every_n_layers": 3,
           "global_rope_theta": 10000.0, "max_position_embeddings": 8192, "vocab_size": 50368},
 "tokenizer": "$tok", "data": {"corpus": "../corpus-128", "max_seq_len": 128},
 "seed": 17, "row_tokens": 128, "rows": 4, "batch_size_warmup": {"min_rows": 2, "tokens": 1000},
 "optimizer": {"lr": 3e-3}, "schedule": {"unit": "steps", "warmup": 3, "decay": 0},
 "max_steps": 16, "log_every": 4, "eval_every": 8, "eval_batches": 1, "checkpoint_every": 8}
EOF
cat > "$work/configs/phase2-context-extension-256.json" << EOF
{"output_dir": "../runs/phase2", "init_from": "../runs/phase1",
 "model_overrides": {"global_rope_theta": 160000.0},
 "tokenizer": "$tok", "data": {"corpus": "../corpus-256", "max_seq_len": 256},
 "seed": 17, "row_tokens": 256, "rows": 1, "optimizer": {"lr": 1e-3},
 "schedule": {"unit": "steps", "warmup": 2, "decay": 0},
 "max_steps": 6, "log_every": 2, "eval_every": 3, "eval_batches": 1, "checkpoint_every": 3}
EOF
cat > "$work/configs/phase3-decay-256.json" << EOF
{"output_dir": "../runs/phase3", "init_from": "../runs/phase2",
 "tokenizer": "$tok",
 "data": {"corpus": "../corpus-256", "mixture": "mixture-decay.json", "max_seq_len": 256},
 "seed": 17, "row_tokens": 256, "rows": 1, "optimizer": {"lr": 1e-3},
 "schedule": {"unit": "steps", "warmup": 1, "decay": 5, "decay_shape": "1-sqrt", "alpha_f": 0.001},
 "max_steps": 6, "log_every": 2, "eval_every": 3, "eval_batches": 1, "checkpoint_every": 3}
EOF
for c in "$work"/configs/phase{1,2,3}-*.json; do
  "$mbert" --threads 1 train --config "$c" 2> /dev/null
done

out=$work/card
MBERT=$mbert EVAL_BATCHES=1 bash "$src/scripts/builtin/make_model_card.sh" "$work/runs" "$out" \
  "$work/configs" 2> /dev/null
card=$out/README.md

[[ $(jq -r .torch_dtype "$out/config.json") == bfloat16 ]] || fail "config.json torch_dtype"
f32=$(stat -c %s "$work/runs/phase3/checkpoint-6/model.safetensors")
bf16=$(stat -c %s "$out/model.safetensors")
((bf16 * 100 > f32 * 49 && bf16 * 100 < f32 * 51)) || fail "bf16 weights $bf16 bytes vs $f32"
cmp -s "$out/tokenizer.json" "$tok/tokenizer.json" || fail "tokenizer.json not copied"

for section in Architecture Data Training "Held-out evaluation" "Fill-mask examples" \
  "Training curves" Limitations; do
  grep -q "^## $section\$" "$card" || fail "no section $section"
done
# The training table holds each phase's last step and tokens seen from its metrics.jsonl.
for n in 1 2 3; do
  last=$(jq -c 'select(has("loss"))' "$work/runs/phase$n/metrics.jsonl" | tail -1)
  step=$(jq .step <<< "$last")
  seen=$(jq .tokens_seen <<< "$last")
  grep -q "^| $n | \`phase$n-.* | $step | $seen |" "$card" || fail "phase $n row: $step $seen"
done
# The evaluations are of phase 1's and phase 3's final checkpoints.
[[ $(jq .step "$out/eval-phase1.json") == 16 && $(jq .step "$out/eval-phase3.json") == 6 ]] ||
  fail "evaluated the wrong checkpoints"
all=$(jq -r '"\(.loss * 1000 | round / 1000) / \(.accuracy * 1000 | round / 10)%"' \
  "$out/eval-phase3.json")
grep -F "| **all** |" "$card" | grep -qF "| $all |" || fail "overall eval row lacks $all"
grep -q "^| 2 | .* | 160000 |" "$card" || fail "phase 2's global RoPE theta"
grep -q "^| moby-dick | public domain" "$card" || fail "licence from docs/data.md"
# A fill-mask example per source, its true word hidden in the text.
for s in moby-dick shakespeare; do
  ex=$(jq -c --arg s "$s" 'select(.source == $s)' "$out/fill-mask.jsonl")
  [[ $(jq '.top5 | length' <<< "$ex") == 5 ]] || fail "$s: no top 5"
  [[ $(jq -r .text <<< "$ex") == *"[MASK]"* ]] || fail "$s: nothing masked"
  grep -q "^| $s (val [0-9]*) | .* | \*\*$(jq -r .word <<< "$ex")\*\* |" "$card" ||
    fail "$s: no example row"
done
for n in 1 2 3; do
  [[ $(head -c 8 "$out/loss-phase$n.png" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] ||
    fail "loss-phase$n.png is not a PNG"
  grep -qF "![phase $n](loss-phase$n.png)" "$card" || fail "plot $n not in the card"
done
if MBERT=$mbert bash "$src/scripts/builtin/make_model_card.sh" "$work/runs" "$out" \
  "$work/configs" 2> /dev/null; then
  fail "a second run overwrote $out"
fi
echo "model card: all checks passed"
