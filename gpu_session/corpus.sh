# Sourced by the bench scripts: the small downstream corpus they share, built only where it is missing.
#   small_corpus PY DOCKET_ENTRIES_JSONL_GZ TOKENIZER_DIR MDS_DIR
# A 4,096-token BPE trained on the entries, and their MDS shards (split by case, 5% eval, rows of 256 tokens).
small_corpus() {
  local py=$1 entries=$2 tok=$3 mds=$4
  [ -f "$tok/tokenizer.json" ] || $py data_prep/train_tokenizer.py --input "$entries" --output "$tok" --vocab-size 4096
  [ -f "$mds/stats.json" ] || $py data_prep/to_mds.py --input "$entries" --output "$mds" --tokenizer "$tok" \
      --docket-key case --eval-fraction 0.05 --max-seq-len 256 --no-progress
}
