#!/usr/bin/env bash
# Every GPU measurement of training throughput, inference and downstream in ONE call on a lent H100/H200, each
# stage time-boxed against a global deadline, most important first, results written as they come.
# The default stage, `session`, is gpu_session/gpu_session.py: one process, one JSON (session.json): the varlen kernel
# checked against its reference and transformers before anything is timed, then training (seed, dense, flex packed,
# varlen packed, each compiled and eager), train.py end to end with the loader on auto beside the isolated step,
# inference end to end for base-150M, scratch-7M and sliced-large-10l-175M (seed, padded, varlen unpadded eager and
# compiled), and profiles; its own docstring lists the stages. TINY=1: its CPU dry run (tiny shapes, few steps,
# the GPU-only branches recorded as skipped): `TINY=1 WHEELS=none bash gpu_session/gpu_session.sh /tmp/out 2400`.
# The other stages, by name in STAGES:
#   train_masks   gpu_session/flex_block_masks.py on the GPU: create_block_mask vs the block tables, per step
#                 (train_masks.json)
#   train_levers  packed base-150M toward 400k tokens/s: 128 rows of 512 (beside packed_boolean: the MLM head's
#                 positions by boolean indexing), 32 rows of 1024, compile mode max-autotune-no-cudagraphs, each with
#                 a 3-step profile: top ops, GPU busy fraction (levers_*.json)
#   train_e2e     composer docketbert/train.py, base-150M shape from random weights, schema defaults (packing,
#                 flex_attention and compile on auto), 120 steps (train_e2e_run_info.json, throughput in the log)
#   infer_others  python -m docketbert.bench --end-to-end --device cuda for scratch-7M and sliced-large-10l-175M
#                 (infer_others.json)
#   train_others  python -m docketbert.bench training for scratch-7M, sliced-large-10l-175M, large-395M (train_others.json)
#   infer_base    the same for base-150M, 100k entries end to end (reference protocol timed on 25k entries and scaled;
#                 bf16+padded, bf16+unpadded, bf16+unpadded+compile, bf16+packed_flex+compile) (infer_base.json)
#   train_base    train_throughput, base-150M: seed, HF dense, packed sdpa, packed flex+compile (train_base.json)
#   downstream    gpu_session/downstream_gpu.sh: domain pretraining on the real corpus + fine-tunes, dapt_model.tar
#   train_reference    the reference recipe alone, three shapes; sdpa_check: gpu_session/sdpa_padding_check.py
#   session.log   everything printed, with each stage's box, exit status and seconds
# STAGES="a b ..." picks and orders the stages; presets, each sized for one ~500 s call (a session has 15 minutes of
# device time, machine start included): STAGES=training (train_masks train_levers train_e2e train_others),
# STAGES=inference (infer_base infer_others), STAGES=downstream, STAGES=all (the stages before `session`: training
# then inference). Default: session (the deadline skips what does not fit).
# Inputs (GPU_INPUTS, default .gpu/): data/ (copies of the shared data files), tok/ (a tokenizer), mds/ (its shards).
# Packages the machine lacks travel as wheels in .whl/ and are installed to /tmp/site first. Build both here with
# gpu_session/prepare_inputs.sh, then call the device with carry [".whl", ".gpu"].
#   Usage, from the repo root: gpu_session/gpu_session.sh OUT_DIR [DEADLINE_S (default 500)]
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: gpu_session/gpu_session.sh OUT_DIR [DEADLINE_S]}; DEADLINE=${2:-500}
G=${GPU_INPUTS:-.gpu}
PY=${PY:-python3}
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=true
mkdir -p "$OUT"
LOG=$OUT/session.log
START=$SECONDS
WHEELS=${WHEELS:-.whl}  # WHEELS=none: use the packages already installed (a CPU check here)
if [ -d "$WHEELS" ] && ls "$WHEELS"/*.whl > /dev/null 2>&1; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$WHEELS"/*.whl \
      >> "$LOG" 2>&1 || echo "wheel install failed" | tee -a "$LOG"
  export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD
fi

stage() {  # stage NAME MAX_SECONDS COMMAND...: run with a box of min(MAX_SECONDS, seconds left before the deadline)
  local name=$1 max=$2; shift 2
  local left=$(( DEADLINE - (SECONDS - START) ))
  local box=$(( left < max ? left : max ))
  if (( box < 30 )); then echo "== $name: skipped (${left}s left)" | tee -a "$LOG"; return; fi
  echo "== $name: box ${box}s, at $(( SECONDS - START ))s" | tee -a "$LOG"
  local t0=$SECONDS
  timeout -k 5 "$box" "$@" >> "$LOG" 2>&1
  echo "== $name: exit $? after $(( SECONDS - t0 ))s" | tee -a "$LOG"
}

{ nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,temperature.gpu --format=csv
  $PY -c "import torch, transformers, composer, streaming; print('torch', torch.__version__, 'transformers',
transformers.__version__, 'composer', composer.__version__, 'streaming', streaming.__version__, torch.cuda.get_device_name())"
  nproc; ls ~/.cache/huggingface 2>/dev/null; } >> "$LOG" 2>&1

INPUT=$G/data/docket_entries.jsonl.gz
E2E_EXTRA=${E2E_EXTRA:-}  # more train.py overrides for train_e2e (a CPU check: a smaller shape, fewer steps)
run_stage() {
  case $1 in
    session) stage session "$DEADLINE" $PY gpu_session/gpu_session.py --out "$OUT/session.json" --inputs "$G" \
        --deadline $(( DEADLINE - (SECONDS - START) - 15 )) ${TINY:+--tiny} ;;
    sdpa_check) stage sdpa_check 60 $PY gpu_session/sdpa_padding_check.py --json "$OUT/sdpa_check.json" ;;
    train_base) stage train_base 170 $PY -m docketbert.bench training --shapes base-150M \
        --variants reference,dense,packed_sdpa,packed --json "$OUT/train_base.json" ;;
    train_reference) stage train_reference 90 $PY -m docketbert.bench training --variants reference \
        --shapes base-150M,scratch-7M,sliced-large-10l-175M --json "$OUT/train_reference.json" ;;
    train_masks) stage train_masks 60 $PY gpu_session/flex_block_masks.py --device cuda --json "$OUT/train_masks.json" ;;
    train_levers) stage train_levers 300 bash -c "
        $PY -m docketbert.bench training --shapes base-150M --variants packed,packed_boolean --rows 128 --profile 3 \
            --json $OUT/levers_rows128.json
        $PY -m docketbert.bench training --shapes base-150M --variants packed --rows 32 --width 1024 --profile 3 \
            --json $OUT/levers_width1024.json
        $PY -m docketbert.bench training --shapes base-150M --variants packed --compile-mode max-autotune-no-cudagraphs \
            --profile 3 --json $OUT/levers_autotune.json" ;;
    train_e2e) stage train_e2e 240 $PY docketbert/train.py yamls/base150m.yaml run_name=e2e tokenizer="$G/tok" \
        model.init=null data.path="$G/mds" run_root=/tmp/e2e max_duration=120ba eval_interval=1000ba \
        save_interval=1000ba loggers.progress_bar=false loggers.console_log_interval=20ba $E2E_EXTRA
      cp /tmp/e2e/e2e/run_info.json "$OUT/train_e2e_run_info.json" 2>/dev/null ;;
    infer_base) stage infer_base 300 $PY -m docketbert.bench --end-to-end base-150M --device cuda --tokenizer "$G/tok" \
        --data "$INPUT" --reference-entries 25000 \
        --variants bf16+padded bf16+unpadded bf16+unpadded+compile bf16+packed_flex+compile --profile-entries 10000 \
        --json "$OUT/infer_base.json" ;;
    downstream) stage downstream 150 env PY="$PY" DEVICE=gpu bash gpu_session/downstream_gpu.sh /tmp/downstream "$G/data" \
        "$OUT" "$G/tok" "$G/mds" ;;
    train_others) stage train_others 170 $PY -m docketbert.bench training --shapes scratch-7M,sliced-large-10l-175M,large-395M \
        --variants reference,dense,packed --json "$OUT/train_others.json" ;;
    infer_others) stage infer_others 120 $PY -m docketbert.bench --end-to-end scratch-7M sliced-large-10l-175M \
        --device cuda --tokenizer "$G/tok" --data "$INPUT" --reference-entries 25000 \
        --variants bf16+padded bf16+unpadded bf16+unpadded+compile \
        --profile-entries 10000 --json "$OUT/infer_others.json" ;;
    *) echo "unknown stage $1" | tee -a "$LOG" ;;
  esac
}
case ${STAGES:-} in
  training) STAGES="train_masks train_levers train_e2e train_others" ;;
  inference) STAGES="infer_base infer_others" ;;
  all) STAGES="train_masks train_levers train_e2e infer_base infer_others train_others" ;;
  "") STAGES="session" ;;
esac
for name in $STAGES; do run_stage "$name"; done
echo "== done at $(( SECONDS - START ))s" | tee -a "$LOG"
grep -E "tok/s|ratios| seed: |\+(un)?padded|\+packed|entry_type|citations|^\| |== |finite" "$LOG" | tail -n 60
