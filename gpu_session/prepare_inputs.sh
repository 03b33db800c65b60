#!/usr/bin/env bash
# Build what gpu_session/gpu_session.sh carries to a lent GPU machine (run here, before the GPU call):
#   .gpu/data  copies of the shared data files   .gpu/tok  a 4,096-token BPE   .gpu/mds  its MDS shards
#   .gpu/synth_mds  MDS shards (rows up to 512 tokens) of a synthetic corpus (docketbert.data.synthetic, 8,000
#              dockets, ~160k entries, ~7M tokens: 200 steps of 64 x 512 packed rows, about one epoch) through the
#              same tokenizer, for gpu_session/gpu_session.py's train.py run and loader benchmark
#   .whl/      wheels of the packages that machine lacks (Python 3.12, x86-64), at the versions of uv.lock
# Both folders are added to .git/info/exclude: they travel with `carry: [".whl", ".gpu"]`, never into a commit.
#   Usage: gpu_session/prepare_inputs.sh [SHARED_DATA (default ../shared/data)]
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data}
PY="uv run python"
for d in /.gpu/ /.whl/; do grep -qxF "$d" .git/info/exclude 2>/dev/null || echo "$d" >> .git/info/exclude; done
mkdir -p .gpu/data .whl
cp "$DATA"/{docket_entries.jsonl.gz,entry_type.jsonl,entry_citations.jsonl,entry_category_flp.jsonl} .gpu/data/
source gpu_session/corpus.sh
small_corpus "$PY" .gpu/data/docket_entries.jsonl.gz .gpu/tok .gpu/mds
if [ ! -f .gpu/synth_mds/stats.json ]; then
  synth=$(mktemp -d)
  $PY -m docketbert.data.synthetic "$synth/entries.jsonl.gz" --dockets "${SYNTH_DOCKETS:-8000}" --seed 18
  $PY data_prep/to_mds.py --input "$synth/entries.jsonl.gz" --output .gpu/synth_mds --tokenizer .gpu/tok \
      --docket-key case --eval-fraction 0.02 --max-seq-len 512 --no-progress
  rm -rf "$synth"
fi
# The GPU image has torch, transformers, numpy, tokenizers, pyyaml, rich, psutil ...; these are what it lacks.
# zstd has no Python 3.12 wheel at uv.lock's version; its next patch release is taken instead.
PACKAGES=(mosaicml mosaicml-cli mosaicml-streaming omegaconf coolname catalogue cramjam python-snappy brotli gql
          graphql-core backoff questionary prompt-toolkit wcwidth ruamel-yaml validators websockets paramiko bcrypt
          pynacl cryptography cffi pycparser importlib-metadata argcomplete arrow)
pins=()
for name in "${PACKAGES[@]}"; do
  version=$(uv pip show --python .venv/bin/python "$name" 2>/dev/null | awk '/^Version:/ {print $2}')
  pins+=("$name==${version:?$name is not installed in .venv}")
done
pins+=("zstd==1.5.7.3")
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform manylinux_2_34_x86_64 \
    --platform manylinux_2_31_x86_64 --platform manylinux_2_24_x86_64 -d .whl "${pins[@]}"
du -sh .gpu .whl
echo 'then: run(command="bash gpu_session/gpu_session.sh $OUT 500", carry=[".whl", ".gpu"], timeout_s=540)'
