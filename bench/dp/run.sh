#!/usr/bin/env bash
# Data-parallel throughput, side by side: 1 process x 2 threads vs `mpirun -np 2` x 1 thread on
# the built-in model's phase-1 config (global batch 4 rows x 1024 tokens), 10 steps each, twice.
# Run by hand on a quiet machine (docs/training.md quotes the result):
#   bench/dp/run.sh [MBERT_BINARY] [CORPUS_DIR] [WORK_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
mbert="${1:-$here/build/tools/mbert/mbert}"
corpus="$(realpath "${2:-$here/runs/corpus}")"
work="${3:-/tmp/mbert-dp-bench}"
mkdir -p "$work"
python3 - "$here" "$corpus" "$work" <<'PY'
import json, sys
here, corpus, work = sys.argv[1:4]
c = json.load(open(f"{here}/configs/builtin/phase1-pretrain-1024.json"))
c["tokenizer"] = f"{here}/../shared/data/modernbert-base"
c["data"] = {"corpus": corpus, "mixture": f"{here}/configs/corpus-mixture.json", "max_seq_len": 1024}
c.pop("batch_size_warmup")
c.update(max_steps=10, eval_every=0, checkpoint_every=0, log_every=5)
c["schedule"] = {"unit": "steps", "warmup": 2, "decay": 0, "alpha_f": 0.0}
for name, threads in [("one_x2", 2), ("two_x1", 1)]:
    json.dump(dict(c, output_dir=f"{work}/{name}", threads=threads), open(f"{work}/{name}.json", "w"))
PY
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
lscpu | grep -E "Model name" || true
for rep in 1 2; do
  rm -rf "$work/one_x2" "$work/two_x1"
  "$mbert" train --config "$work/one_x2.json" 2>/dev/null
  mpirun -np 2 --oversubscribe --bind-to core --mca btl self,vader \
    --mca btl_vader_single_copy_mechanism none "$mbert" train --config "$work/two_x1.json" 2>/dev/null
  python3 - "$work" <<'PY'
import json, sys
for n in ["one_x2", "two_x1"]:
    steps = [json.loads(l) for l in open(f"{sys.argv[1]}/{n}/metrics.jsonl") if '"loss"' in l][2:]
    tok = sum(s["tokens"] for s in steps); sec = sum(s["seconds"] for s in steps)
    ar = sum(s.get("allreduce_seconds", 0) for s in steps)
    print(f"{n}: {tok / sec:.0f} tokens/s over steps 3-10, all-reduce {100 * ar / sec:.1f}% of step time")
PY
done
