#!/usr/bin/env bash
# The GPU figures of the benchmarks, as one prepared run for a lent GPU machine.
#
#   bash bench/gpu_check.sh [layers] [speed] [mei] [equivalence] [quality]
#                                                           (default: layers speed mei)
#
# Each part prints its figures and writes them under $OUT (default bench/results):
#   layers       the depthwise convolution and the readout's sampling, each implementation
#                (bench/layers.py)                                                  ~1 min
#   speed        the SOTA training epoch: fens, fens on neuralpredictors' blocks, the original
#                pipeline (bench/model_quality.py --speed-only)                     ~1 min
#   mei          MEIs for every neuron, 1000 iterations, batched, against the seed's loop on
#                a few neurons (bench/mei_speed.py)            ~6 min at the 66 us per
#                                                              neuron-iteration, 3 at its target
#   equivalence  SOTA CNN trained with fens' fast blocks and with neuralpredictors' own,
#                same seed: the same test correlation? Beside, fast blocks with another seed
#                (fens train --reference-blocks, bench/training_equivalence.py)   3 trainings
#   quality      $MODELS x $SEEDS, each training capped at $MAX_MINUTES      minutes each
#
# Settings (environment): DEVICE (cuda), DATA (a data set folder; default: simulate the full
# preset into /tmp/fens-full), OUT, PYTHON (python3), MODELS ("ln cnn sota_ln sota_cnn"),
# SEEDS ("1 2 3"), MAX_MINUTES (3),
# MAX_ITER (200 epochs), SPEED_STEPS (50), SPEED_WARMUP (10), MEI_MODEL (sota_cnn: the shipped
# checkpoint, or a .pt of `fens train` on DATA), MEI_NEURONS (all), MEI_BATCH (1024),
# MEI_ITERATIONS (1000), MEI_GPU_KERNEL (torch; triton: fens.models.blocks.triton_depthwise).
#
# The GPU machine has PyTorch but not neuralpredictors: carry its wheel in .whl/ (ignored by
# git), made here once with
#   pip download --no-deps neuralpredictors==0.3.0 -d .whl
# and name .whl in the device tool's `carry`. The script installs it into /tmp/site.
set -euo pipefail
export PYTHONUNBUFFERED=1

DEVICE=${DEVICE:-cuda}
MODELS=${MODELS:-ln cnn sota_ln sota_cnn}
SEEDS=${SEEDS:-1 2 3}
MAX_MINUTES=${MAX_MINUTES:-3}
MEI_MODEL=${MEI_MODEL:-sota_cnn}
MEI_BATCH=${MEI_BATCH:-1024}
MEI_ITERATIONS=${MEI_ITERATIONS:-1000}
MEI_GPU_KERNEL=${MEI_GPU_KERNEL:-torch}
SPEED_STEPS=${SPEED_STEPS:-50}
SPEED_WARMUP=${SPEED_WARMUP:-10}
MAX_ITER=${MAX_ITER:-200}
OUT=${OUT:-bench/results}
PARTS=("$@")
[ ${#PARTS[@]} -gt 0 ] || PARTS=(layers speed mei)
PYTHON=${PYTHON:-python3}
for part in "${PARTS[@]}"; do  # a typo fails now, not after minutes of GPU time
    case $part in
        layers | speed | mei | equivalence | quality) ;;
        *) echo "unknown part '$part': layers, speed, mei, equivalence or quality" >&2; exit 2 ;;
    esac
done

mkdir -p "$OUT"
if ! "$PYTHON" -c "import neuralpredictors" 2>/dev/null; then
    if ! ls .whl/neuralpredictors-*.whl >/dev/null 2>&1; then
        echo "neuralpredictors is missing and .whl/ holds no wheel of it (see the header)" >&2
        exit 1
    fi
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}  # fens from this working tree
fens() { "$PYTHON" -c "import sys; from fens.cli import main; sys.exit(main())" "$@"; }

"$PYTHON" -c "import torch; print('torch', torch.__version__, '|',
    torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU')"
if [ -z "${DATA:-}" ]; then
    DATA=/tmp/fens-full
    [ -d "$DATA" ] || fens simulate --preset full --seed 0 --out "$DATA"
fi
ALL_NEURONS=$("$PYTHON" -c "import numpy; print(len(numpy.load('$DATA/meta/neurons/unit_ids.npy')))")
MEI_NEURONS=${MEI_NEURONS:-$ALL_NEURONS}

for part in "${PARTS[@]}"; do
    echo "=== $part ($(date -u +%H:%M:%S))"
    case $part in
        layers)
            "$PYTHON" bench/layers.py --device "$DEVICE" --repeats 50 ;;
        speed)
            "$PYTHON" bench/model_quality.py --data "$DATA" --device "$DEVICE" --speed-only \
                --speed-steps "$SPEED_STEPS" --speed-warmup "$SPEED_WARMUP" --no-progress \
                --json "$OUT/speed.json" ;;
        mei)
            "$PYTHON" bench/mei_speed.py --data "$DATA" --device "$DEVICE" --model "$MEI_MODEL" \
                --neurons "$MEI_NEURONS" --iterations "$MEI_ITERATIONS" --loop-neurons 5 \
                --batch-size "$MEI_BATCH" --gpu-kernel "$MEI_GPU_KERNEL" ;;
        equivalence)
            train_sota_cnn() {
                fens train --model sota_cnn --data "$DATA" --device "$DEVICE" \
                    --max-iter "$MAX_ITER" "$@"
            }
            train_sota_cnn --seed 1 --out "$OUT/equivalence-fast.pt"
            train_sota_cnn --seed 1 --out "$OUT/equivalence-reference.pt" --reference-blocks
            train_sota_cnn --seed 2 --out "$OUT/equivalence-seed-2.pt"
            "$PYTHON" bench/training_equivalence.py --data "$DATA" --device "$DEVICE" \
                --fast "$OUT/equivalence-fast.pt" --reference "$OUT/equivalence-reference.pt" \
                --other-seed "$OUT/equivalence-seed-2.pt" --plot "$OUT/equivalence.png" \
                --json "$OUT/equivalence.json" ;;
        quality)
            # shellcheck disable=SC2086  # MODELS and SEEDS are lists
            "$PYTHON" bench/model_quality.py --data "$DATA" --device "$DEVICE" --models $MODELS \
                --seeds $SEEDS --max-iter "$MAX_ITER" --max-minutes "$MAX_MINUTES" --no-progress \
                --json "$OUT/quality.json" ;;
    esac
done
echo "=== done ($(date -u +%H:%M:%S))"
