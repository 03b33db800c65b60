#!/usr/bin/env bash
# Does domain pretraining pay downstream? A small ModernBERT (hidden 128, 4 layers, ~1.2M parameters) is
# MLM-pretrained for 2 epochs on the real docket entries, then fine-tuned on entry_type and citations from its
# weights and, as the control, from random weights of the same shape; the report gives the downstream table.
# Results and run time: the README.md beside this script.  Usage: experiments/2026-12-01_downstream_cpu/downstream_cpu.sh [WORKDIR] [SHARED_DATA]
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-/tmp/docketbert-downstream}
DATA=${2:-../shared/data}
PY="uv run python"
mkdir -p "$WORK"
source gpu_session/corpus.sh
small_corpus "$PY" "$DATA/docket_entries.jsonl.gz" "$WORK/tok" "$WORK/mds"
$PY docketbert/train.py yamls/tiny.yaml run_name=dapt-small tokenizer="$WORK/tok" data.path="$WORK/mds" \
    run_root="$WORK/runs" model.config.hidden_size=128 model.config.intermediate_size=256 max_duration=2ep \
    optimizer.lr=2e-3 eval_interval=1ep save_interval=1ep data.eval_subset_num_batches=null loggers.progress_bar=false
for task in entry_type citations; do
  file="$DATA/entry_type.jsonl"; epochs=8
  if [ "$task" = citations ]; then file="$DATA/entry_citations.jsonl"; epochs=2; fi
  common=(--task "$task" --train "$file" --init "$WORK/runs/dapt-small/hf" --epochs "$epochs" --lr 1e-3
          --max-length 256 --device cpu)
  $PY -m docketbert.finetune "${common[@]}" --output "$WORK/ft/${task}_dapt" --init-kind domain-pretrained
  $PY -m docketbert.finetune "${common[@]}" --from-scratch --output "$WORK/ft/${task}_random" --init-kind random-init
done
$PY -m docketbert.report "$WORK/runs" --out "$WORK/report" --finetune "$WORK/ft"
