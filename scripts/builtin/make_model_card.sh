#!/usr/bin/env bash
# Packs the built-in model for shipping: the final checkpoint of the three pre-training phases in
# bf16 with its config and tokenizer, held-out evaluations, fill-mask examples from every corpus
# source, the loss curves, and a model card (README.md) written only from what this script reads.
#
#   scripts/builtin/make_model_card.sh RUNS_DIR OUT_DIR [CONFIG_DIR]
#
# RUNS_DIR holds phase1/, phase2/, phase3/ (the output_dirs of the phase configs: checkpoints,
# `latest`, metrics.jsonl); CONFIG_DIR (default configs/builtin) holds the phase configs, one
# phase<N>-*.json each, whose output_dir must be RUNS_DIR/phase<N>. OUT_DIR must be absent or empty.
# Environment: MBERT (the binary, default build/tools/mbert/mbert), EVAL_BATCHES (held-out rows per
# source, default 4), FILL_INDEX (first held-out passage tried per source, default 0), DATA_DOC
# (the corpus table, default docs/data.md). Needs bash, jq and the mbert binary.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [[ $# -lt 2 || $# -gt 3 ]]; then
  sed -n '7p' "${BASH_SOURCE[0]}" | sed 's/^# *//' >&2
  exit 2
fi
runs=$(realpath -m "$1")
out=$(realpath -m "$2")
config_dir=$(realpath -m "${3:-$root/configs/builtin}")
mbert=${MBERT:-$root/build/tools/mbert/mbert}
eval_batches=${EVAL_BATCHES:-4}
fill_index=${FILL_INDEX:-0}
data_doc=${DATA_DOC:-$root/docs/data.md}
# The fill-mask rule: the masked word is the first of at least min_letters letters (alphabetic,
# one vocabulary token) after the first skip_words words, shown with up to `before` words before
# it and `after` after.
skip_words=8 min_letters=5 before=24 after=12

die() {
  echo "make_model_card: $*" >&2
  exit 1
}
command -v jq > /dev/null || die "jq is needed (apt-get install jq)"
[[ -x $mbert ]] || die "$mbert: no mbert binary (build it, or set MBERT)"

# A path from a config, resolved against the config's folder as mbert train does.
resolve() {
  local config=$1 path=$2
  [[ $path = /* ]] || path="$(dirname "$config")/$path"
  realpath -m "$path"
}

declare -a cfg run final
for n in 1 2 3; do
  matches=("$config_dir"/phase"$n"-*.json)
  [[ ${#matches[@]} -eq 1 && -f ${matches[0]} ]] ||
    die "$config_dir: expected exactly one phase$n-*.json"
  cfg[n]=${matches[0]}
  run[n]=$runs/phase$n
  [[ $(resolve "${cfg[n]}" "$(jq -r .output_dir "${cfg[n]}")") == "${run[n]}" ]] ||
    die "${cfg[n]}: output_dir is not ${run[n]}"
  [[ -f ${run[n]}/latest && -f ${run[n]}/metrics.jsonl ]] ||
    die "${run[n]}: no latest checkpoint or metrics.jsonl (has the phase run?)"
  final[n]=${run[n]}/$(cat "${run[n]}/latest")
  [[ -f ${final[n]}/model.safetensors ]] || die "${final[n]}: no model.safetensors"
done

# (a) The final checkpoint in bf16.
"$mbert" convert --model "${final[3]}" --out "$out" --dtype bf16 > /dev/null
echo "converted ${final[3]} into $out" >&2

# (b) Held-out MLM loss and accuracy of phase 3's and phase 1's final checkpoints, with the
# unigram baseline on the same masked positions.
for n in 1 3; do
  "$mbert" train --config "${cfg[n]}" --eval-only --eval-batches "$eval_batches" \
    > "$out/eval-phase$n.json"
done
echo "evaluated phases 1 and 3" >&2

# (c) Fill-mask examples: per source of phase 3's corpus, the first held-out passage (from
# FILL_INDEX on, five tried) with a word that the fill-mask rule above accepts.
corpus=$(resolve "${cfg[3]}" "$(jq -r .data.corpus "${cfg[3]}")")
mapfile -t sources < <(jq -r '.sources[].name' "$corpus/manifest.json")
: > "$out/fill-mask.jsonl"
for s in "${sources[@]}"; do
  found=0
  while IFS= read -r passage; do
    mapfile -t cands < <(jq -r --argjson k "$skip_words" --arg re "^[A-Za-z]{$min_letters,}\$" \
      '[.text | splits("\\s+") | select(length > 0)] as $w
      | limit(64; range($k; $w | length) | select($w[.] | test($re))) | "\(.) \($w[.])"' \
      <<< "$passage")
    [[ ${#cands[@]} -gt 0 ]] || continue
    words=()
    for c in "${cands[@]}"; do words+=(" ${c#* }"); done
    mapfile -t lengths < <("$mbert" tokenize --model "$out" "${words[@]}" | jq '.ids | length')
    for i in "${!cands[@]}"; do
      [[ ${lengths[i]} -eq 3 ]] || continue
      pos=${cands[i]%% *}
      example=$(jq -c --argjson i "$pos" --argjson b "$before" --argjson a "$after" \
        '[.text | splits("\\s+") | select(length > 0)] as $w
        | {source, index, word: $w[$i],
           text: ($w[([$i - $b, 0] | max):$i] + ["[MASK]"] + $w[$i + 1:$i + 1 + $a] | join(" "))}' \
        <<< "$passage")
      prediction=$("$mbert" fill-mask --model "$out" -k 5 "$(jq -r .text <<< "$example")")
      jq -c --argjson p "$prediction" '. + {top5: [$p.masks[0].predictions[] | {token_str, score}]}' \
        <<< "$example" >> "$out/fill-mask.jsonl"
      found=1
      break
    done
    [[ $found -eq 1 ]] && break
  done < <("$mbert" data show "$corpus" --source "$s" --tokenizer "$out" --index "$fill_index" -n 5)
  [[ $found -eq 1 ]] || jq -nc --arg s "$s" '{source: $s, word: null}' >> "$out/fill-mask.jsonl"
done
echo "fill-mask examples for ${#sources[@]} sources" >&2

# (d) One loss plot per phase (each phase counts its steps from 1 and packs rows of its own size,
# so they are drawn apart rather than on one axis).
for n in 1 2 3; do
  "$mbert" plot "${run[n]}/metrics.jsonl" -o "$out/loss-phase$n.png" \
    --title "phase $n: $(basename "${cfg[n]}" .json)" > /dev/null
done

# (e) The model card.
params=$("$mbert" info --model "$out" | awk '/^parameters:/ {print $2}')
weights_bytes=$(stat -c %s "$out/model.safetensors")
f32_bytes=$(stat -c %s "${final[3]}/model.safetensors")
licence() {
  [[ -f $data_doc ]] || return 0
  awk -F' *[|] *' -v s="$1" '$2 == s {print $4; exit}' "$data_doc"
}
mixture() {
  local m
  m=$(jq -r '.data.mixture // empty' "$1")
  [[ -n $m ]] && resolve "$1" "$m"
  return 0
}
esc='def cell: gsub("\\\\"; "\\\\") | gsub("&"; "&amp;") | gsub("<"; "&lt;") | gsub(">"; "&gt;")
  | gsub("[|]"; "&#124;") | gsub("[*]"; "\\*") | gsub("_"; "\\_") | gsub("`"; "&#96;")
  | gsub("\n"; " ");
  def f3: . * 1000 | round / 1000; def pct: . * 1000 | round / 10 | tostring + "%";
  def word: if test("^\\s*$") then tojson else sub("^ "; "") end;'

{
  echo "# mbert built-in ModernBERT"
  echo
  jq -r --arg p "$params" '"A \(.num_hidden_layers)-layer ModernBERT masked-language model (hidden size \(.hidden_size), \($p) parameters with the tied decoder counted once) pre-trained from scratch with mbert, in three phases after the ModernBERT recipe, on CPU."' "$out/config.json"
  echo
  echo "| file | what |"
  echo "|---|---|"
  echo "| \`model.safetensors\` | weights in $(jq -r .torch_dtype "$out/config.json"), $weights_bytes bytes (the fp32 checkpoint: $f32_bytes bytes), HF names |"
  echo "| \`config.json\`, \`tokenizer*.json\`, \`special_tokens_map.json\` | transformers \`ModernBertForMaskedLM\` config; ModernBERT's tokenizer |"
  echo "| \`eval-phase1.json\`, \`eval-phase3.json\` | held-out evaluation (\`mbert train --eval-only\`) |"
  echo "| \`fill-mask.jsonl\` | the fill-mask examples below |"
  echo "| \`loss-phase{1,2,3}.png\` | training curves (\`mbert plot\`) |"
  echo
  echo "Made by \`scripts/builtin/make_model_card.sh\` from \`$(basename "$runs")/phase{1,2,3}\` and \`$(basename "$config_dir")/phase*.json\`; final checkpoint \`phase3/$(basename "${final[3]}")\`."
  echo
  echo "## Use"
  echo
  echo '```'
  echo "mbert fill-mask --model DIR \"The capital of France is [MASK].\""
  echo "python -c 'from transformers import pipeline; print(pipeline(\"fill-mask\", model=\"DIR\")(\"The capital of France is [MASK].\"))'"
  echo '```'
  echo
  echo "## Architecture"
  echo
  jq -r '"| field | value |\n|---|---|",
    (["architectures", "num_hidden_layers", "hidden_size", "intermediate_size", "num_attention_heads",
      "vocab_size", "max_position_embeddings", "local_attention", "global_attn_every_n_layers",
      "global_rope_theta", "local_rope_theta", "norm_eps", "tie_word_embeddings"][] as $k
     | select(has($k)) | "| `\($k)` | \(.[$k] | if type == "array" then join(", ") else tostring end) |")' \
    "$out/config.json"
  echo
  echo "Layer types: $(jq -r '.layer_types // [] | join(", ")' "$out/config.json")."
  echo
  echo "## Data"
  echo
  echo "Prepared corpora (\`mbert data prepare\`); sources, inputs and licences are listed in the mbert repository's docs/data.md. Tokens per split as the corpus manifests record them; mixture weights are relative draw rates per sequence."
  echo
  echo "| source | licence (docs/data.md) | phase 1 corpus: train / val tokens | phase 2-3 corpus: train / val tokens | mixture weight phase 1 / 2 / 3 |"
  echo "|---|---|---:|---:|---:|"
  corpus1=$(resolve "${cfg[1]}" "$(jq -r .data.corpus "${cfg[1]}")")
  for s in "${sources[@]}"; do
    w=""
    for n in 1 2 3; do
      m=$(mixture "${cfg[n]}")
      if [[ -n $m ]]; then
        w+=$(jq -r --arg s "$s" '[.sources[] | select(.name == $s) | .weight] | first // "-" | tostring' "$m")
      else
        w+="1"
      fi
      [[ $n -lt 3 ]] && w+=" / "
    done
    l=$(licence "$s")
    t1=$(jq -r --arg s "$s" '.sources[] | select(.name == $s) | "\(.train.tokens) / \(.val.tokens)"' "$corpus1/manifest.json")
    t3=$(jq -r --arg s "$s" '.sources[] | select(.name == $s) | "\(.train.tokens) / \(.val.tokens)"' "$corpus/manifest.json")
    echo "| $s | ${l:-not in docs/data.md} | ${t1:--} | $t3 | $w |"
  done
  echo
  echo "## Training"
  echo
  echo "| phase | config | starts from | sequence / row tokens × rows | steps | tokens seen | passes over its corpus's train tokens | global RoPE θ | wall time (sum of step seconds) |"
  echo "|---|---|---|---|---:|---:|---:|---:|---:|"
  for n in 1 2 3; do
    c=${cfg[n]}
    cn=$(resolve "$c" "$(jq -r .data.corpus "$c")")
    train_tokens=$(jq '[.sources[].train.tokens] | add' "$cn/manifest.json")
    start=$(jq -r 'if .init_from then "`\(.init_from)`" + (if .model_overrides then " with \(.model_overrides | tojson)" else "" end) else "fresh (Megatron init)" end' "$c")
    jq -rs --arg n "$n" --arg cfg "$(basename "$c")" --arg start "$start" \
      --argjson conf "$(cat "$c")" --argjson tt "$train_tokens" \
      --argjson theta "$(jq .global_rope_theta "${final[n]}/config.json")" '
      [.[] | select(has("loss"))] as $s | ($s | last) as $l
      | "| \($n) | `\($cfg)` | \($start) | \($conf.data.max_seq_len) / \($conf.row_tokens) × \($conf.rows) | \($l.step) | \($l.tokens_seen) | \($l.tokens_seen / $tt * 1000 | round / 1000) | \($theta) | \([$s[].seconds] | add | round) s |"' \
      "${run[n]}/metrics.jsonl"
  done
  echo
  echo "Hyper-parameters as the configs set them:"
  echo
  echo "| phase | MLM probability | optimizer | schedule | batch-size warmup | seed | mixture |"
  echo "|---|---|---|---|---|---|---|"
  for n in 1 2 3; do
    jq -r --arg n "$n" '"| \($n) | \(.mlm_probability // "-") | \(.optimizer | tojson) | \(.schedule | tojson) | \(.batch_size_warmup | if . then tojson else "none" end) | \(.seed // "-") | `\(.data.mixture // "all sources, weight 1")` |"' "${cfg[n]}"
  done
  echo
  echo "## Held-out evaluation"
  echo
  jq -r '"Masked-token loss (nats) and accuracy on each source'"'"'s held-out (val) sequences, \(.predicted) predicted tokens over all sources for the final model (step \(.step), \(.tokens_seen) tokens seen in phase 3). Held-out rows are masked as in evaluation during training (docs/training.md); the unigram baseline predicts every masked token from the training tokens'"'"' unigram frequencies, on the same positions."' "$out/eval-phase3.json"
  echo
  echo "Phase 1 is evaluated on its own corpus and sequence length ($(jq -r .data.max_seq_len "${cfg[1]}") tokens), phase 3 on phase 3's ($(jq -r .data.max_seq_len "${cfg[3]}") tokens); both with \`--eval-batches $eval_batches\`."
  echo
  echo "| source | phase 1 final: loss / accuracy | phase 3 final: loss / accuracy | unigram baseline (phase 3 positions): loss / accuracy |"
  echo "|---|---:|---:|---:|"
  jq -rn --slurpfile a "$out/eval-phase1.json" --slurpfile b "$out/eval-phase3.json" "$esc"'
    ($a[0]) as $p1 | ($b[0]) as $p3
    | (($p3.per_source | keys[]) as $s
       | "| \($s) | \($p1.per_source[$s] | if . then "\(.loss | f3) / \(.accuracy | pct)" else "-" end) | \($p3.per_source[$s].loss | f3) / \($p3.per_source[$s].accuracy | pct) | \($p3.per_source[$s].unigram_loss | f3) / \($p3.per_source[$s].unigram_accuracy | pct) |"),
      "| **all** | \($p1.loss | f3) / \($p1.accuracy | pct) | \($p3.loss | f3) / \($p3.accuracy | pct) | \($p3.unigram_loss | f3) / \($p3.unigram_accuracy | pct) |"'
  echo
  echo "## Fill-mask examples"
  echo
  echo "One held-out passage per source (\`mbert data show\`, from index $fill_index): the first alphabetic word of at least $min_letters letters after the first $skip_words words that is a single token is masked, in a window of up to $before words before and $after after (whitespace collapsed); top 5 of \`mbert fill-mask\` on this model."
  echo
  echo "| source | text | true word | top 5 (probability) | true word's rank |"
  echo "|---|---|---|---|---:|"
  jq -r "$esc"'
    if .word == null then "| \(.source) | no maskable word in the first passages | | | |"
    else "| \(.source) (val \(.index)) | \(.text | cell) | **\(.word | cell)** | \([.top5[] | "\(.token_str | word | cell) (\(.score * 10000 | round / 10000))"] | join(", ")) | \(.word as $w | [.top5[].token_str | word] | index($w) | if . == null then "not in top 5" else . + 1 | tostring end) |" end' \
    "$out/fill-mask.jsonl"
  echo
  echo "## Training curves"
  echo
  echo "One plot per phase (steps restart at 1 in each phase and rows differ in size): training loss and its moving average, held-out loss (overall and per source), accuracy and learning rate."
  echo
  for n in 1 2 3; do
    echo "![phase $n](loss-phase$n.png)"
    echo
  done
  echo "## Limitations"
  echo
  jq -r --arg p "$params" '"- A tiny model: \($p) parameters, \(.num_hidden_layers) layers of width \(.hidden_size). The ModernBERT paper'"'"'s base and large models are far larger and were trained on trillions of tokens with GPUs (reference §5); this one was trained on CPU cores only, on the small corpus above, and is far below the paper'"'"'s models on every measure. Use it to try mbert end to end, not for its predictions."' "$out/config.json"
  echo "- Held-out numbers are on a few rows per source (\`--eval-batches $eval_batches\`), not a benchmark; no GLUE or retrieval evaluation has been run on this model."
  echo "- Training differs from the paper where docs/training.md says: a fresh optimizer per phase with a short warmup, no dropout, each phase's sizes scaled to the machine."
  echo "- The weights are shipped in bf16, rounded to nearest even from the fp32 training weights (\`mbert convert\`)."
  echo "- The corpus sources carry their own licences (table above); check them before redistributing anything derived from this model."
} > "$out/README.md"
echo "wrote $out/README.md" >&2
