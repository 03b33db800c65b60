#!/usr/bin/env bash
# Does domain pretraining pay downstream, GPU edition: a small ModernBERT (hidden 256, 8 layers, ~6M parameters with
# a 4,096-token BPE) is MLM-pretrained for EPOCHS epochs on the real docket entries (packed rows), then fine-tuned on
# entry_type and citations from its weights and, as the control, from random weights of the same shape (the four
# fine-tunes run side by side on the one GPU). Writes RESULTS/downstream.json (every metrics.json), the downstream
# table, and RESULTS/dapt_model.tar: the pretrained export in bf16 (small enough to bring back and fine-tune on a CPU).
# Its run time on a GPU: gpu_session/README.md (the session's reports). A CPU check of the script (minutes):
#   DEVICE=cpu DURATION=10ba FT_EPOCHS="1 1" EXTRA="model.config.num_hidden_layers=2" gpu_session/downstream_gpu.sh ...
#   Usage: gpu_session/downstream_gpu.sh WORKDIR SHARED_DATA RESULTS [TOKENIZER_DIR] [MDS_DIR]
# TOKENIZER_DIR / MDS_DIR: reuse a trained tokenizer and its MDS shards (else both are built here).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=$1; DATA=$2; RESULTS=$3; TOK=${4:-$WORK/tok}; MDS=${5:-$WORK/mds}
PY=${PY:-python3}
DURATION=${DURATION:-16ep}    # pretraining length (a Composer time)
FT_EPOCHS=${FT_EPOCHS:-"10 2"}  # fine-tuning epochs: entry_type (its training loss is ~0 by epoch 8), citations
DEVICE=${DEVICE:-gpu}
EXTRA=${EXTRA:-}              # more train.py overrides (a CPU check: a smaller shape, fewer steps)
mkdir -p "$WORK" "$RESULTS"
source gpu_session/corpus.sh
small_corpus "$PY" "$DATA/docket_entries.jsonl.gz" "$TOK" "$MDS"
$PY docketbert/train.py yamls/tiny.yaml run_name=dapt-gpu tokenizer="$TOK" data.path="$MDS" run_root="$WORK/runs" \
    model.config.hidden_size=256 model.config.intermediate_size=512 model.config.num_hidden_layers=8 \
    data.packing=true model.attn_implementation=sdpa global_train_batch_size=64 device_train_microbatch_size=64 \
    max_duration="$DURATION" optimizer.lr=1e-3 eval_interval=4ep save_interval="$DURATION" \
    data.eval_subset_num_batches=null loggers.progress_bar=false loggers.console_log_interval=200ba $EXTRA
# The export in bf16 (weights, config, tokenizer) as one tar: float32 would not fit the 16 MiB a file may bring back.
$PY - "$WORK/runs/dapt-gpu/hf" "$WORK/dapt_bf16" <<'EOF'
import sys, torch
from transformers import AutoTokenizer, ModernBertForMaskedLM
src, dst = sys.argv[1:]
ModernBertForMaskedLM.from_pretrained(src, dtype=torch.bfloat16).save_pretrained(dst)
AutoTokenizer.from_pretrained(src).save_pretrained(dst)
EOF
cp "$WORK/runs/dapt-gpu/run_info.json" "$WORK/dapt_bf16/" 2>/dev/null || true
tar -C "$WORK" -cf "$RESULTS/dapt_model.tar" dapt_bf16
pids=()
for task in entry_type citations; do
  read -r cls_epochs cit_epochs <<< "$FT_EPOCHS"
  file="$DATA/entry_type.jsonl"; epochs=$cls_epochs
  if [ "$task" = citations ]; then file="$DATA/entry_citations.jsonl"; epochs=$cit_epochs; fi
  common=(--task "$task" --train "$file" --init "$WORK/runs/dapt-gpu/hf" --epochs "$epochs" --lr 5e-4
          --max-length 256 --device "$DEVICE")
  $PY -m docketbert.finetune "${common[@]}" --output "$WORK/ft/${task}_dapt" --init-kind domain-pretrained \
      > "$WORK/ft_${task}_dapt.log" 2>&1 & pids+=($!)
  $PY -m docketbert.finetune "${common[@]}" --from-scratch --output "$WORK/ft/${task}_random" \
      --init-kind random-init > "$WORK/ft_${task}_random.log" 2>&1 & pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
tail -n 3 "$WORK"/ft_*.log
$PY - "$WORK/ft" "$RESULTS/downstream.json" <<'EOF'
import json, sys
from pathlib import Path
from docketbert.report.downstream_table import downstream_table
ft, out = Path(sys.argv[1]), Path(sys.argv[2])
dirs = sorted(d for d in ft.iterdir() if (d / "metrics.json").exists())
Path(out).write_text(json.dumps({d.name: json.loads((d / "metrics.json").read_text()) for d in dirs}, indent=1))
print(downstream_table(dirs))
EOF
exit $status
