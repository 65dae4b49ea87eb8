#!/usr/bin/env bash
# GPU check (issue 12): proves the CUDA path on a machine with an NVIDIA GPU, in a few minutes.
#
#   scripts/gpu_check.sh [--steps N] [--size PX] [--batch-size B] [--out DIR] [--dry-run]
#
# 1. trains a texture network and a stylizer for N steps on CUDA with bf16-mixed precision
#    (and, with two or more GPUs, the texture network on 2 GPUs with DDP), printing step times;
# 2. generates from both checkpoints on the GPU, untiled and tiled, and on the CPU;
# 3. compares the GPU images with the CPU images of the same weights, and tiled with untiled.
# Exit status 0 and "gpu_check: PASS" at the end mean the GPU path works. PYTHON selects the
# interpreter (default .venv/bin/python). --dry-run prints the commands without running them.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-.venv/bin/python}
STEPS=40
SIZE=256
BATCH=4
OUT=runs/gpu_check
TEXTURE=builtin:brick
STYLE=builtin:immunohistochemistry
PHOTO=builtin:chelsea
DRY=0

usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
    echo "options: --steps N (default $STEPS), --size PX ($SIZE), --batch-size B ($BATCH),"
    echo "         --out DIR ($OUT), --texture IMG ($TEXTURE), --style IMG ($STYLE), --dry-run"
}
die() { echo "gpu_check.sh: $*" >&2; exit 2; }
positive() { [[ "$2" =~ ^[1-9][0-9]*$ ]] || die "$1 needs a positive integer, got '$2'"; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --steps) [[ $# -ge 2 ]] || die "--steps needs a value"; positive --steps "$2"; STEPS=$2; shift 2 ;;
        --size) [[ $# -ge 2 ]] || die "--size needs a value"; positive --size "$2"; SIZE=$2; shift 2 ;;
        --batch-size) [[ $# -ge 2 ]] || die "--batch-size needs a value"; positive --batch-size "$2"; BATCH=$2; shift 2 ;;
        --out) [[ $# -ge 2 ]] || die "--out needs a value"; OUT=$2; shift 2 ;;
        --texture) [[ $# -ge 2 ]] || die "--texture needs a value"; TEXTURE=$2; shift 2 ;;
        --style) [[ $# -ge 2 ]] || die "--style needs a value"; STYLE=$2; shift 2 ;;
        --dry-run) DRY=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) echo "gpu_check.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
done

run() {
    echo "+ $*"
    if [[ $DRY -eq 0 ]]; then "$@"; fi
}

[[ -x "$PYTHON" ]] || command -v "$PYTHON" >/dev/null || die "no Python at $PYTHON (set PYTHON=...)"
GPUS=0
if [[ $DRY -eq 0 ]]; then
    if ! "$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
        echo "gpu_check.sh: no CUDA GPU is visible to PyTorch (torch.cuda.is_available() is" \
            "False). Run this on a machine with an NVIDIA GPU, its driver (nvidia-smi lists" \
            "the GPU) and a CUDA build of torch." >&2
        exit 1
    fi
    "$PYTHON" -c 'import torch; print("GPU:", torch.cuda.get_device_name(0), "| torch",
        torch.__version__, "| CUDA", torch.version.cuda, "| bf16:", torch.cuda.is_bf16_supported())'
    GPUS=$("$PYTHON" -c 'import torch; print(torch.cuda.device_count())')
fi
export WANDB_MODE=${WANDB_MODE:-offline}

TRAIN=(--max-steps "$STEPS" --image-size "$SIZE" --batch-size "$BATCH" --log-every 10
    --sample-every "$STEPS" --checkpoint-every "$STEPS" --logger csv --precision bf16-mixed)

echo "== 1/4 texture training on CUDA: $STEPS steps, bf16-mixed, batch $BATCH, $SIZE px"
run "$PYTHON" scripts/timed_train.py --texture "$TEXTURE" --out "$OUT/texture" \
    --accelerator gpu --devices 1 "${TRAIN[@]}"

echo "== 2/4 stylize training on CUDA (built-in photos): $STEPS steps, bf16-mixed"
run "$PYTHON" scripts/timed_train.py --style "$STYLE" --out "$OUT/stylize" \
    --accelerator gpu --devices 1 "${TRAIN[@]}" --val-batches 1

if [[ $GPUS -ge 2 ]]; then
    echo "== 2b texture training on 2 GPUs (DDP): global batch $((2 * BATCH))"
    run "$PYTHON" scripts/timed_train.py --texture "$TEXTURE" --out "$OUT/texture_ddp" \
        --accelerator gpu --devices 2 --strategy ddp "${TRAIN[@]}"
fi

echo "== 3/4 generation: GPU untiled and tiled, CPU untiled, same weights and seeds"
for device in cuda cpu; do
    run "$PYTHON" generate.py --model "$OUT/texture" --device "$device" --size 768 --count 2 \
        --tile off --out "$OUT/generated/texture-$device"
    run "$PYTHON" generate.py --model "$OUT/stylize" --content "$PHOTO" --device "$device" \
        --size 512 --tile off --out "$OUT/generated/stylized-$device"
done
# --max-memory 0.01: every intermediate map of the banded generator goes through a temporary file
run "$PYTHON" generate.py --model "$OUT/texture" --device cuda --size 768 --count 2 \
    --tile 256 --max-memory 0.01 --out "$OUT/generated/texture-cuda-tiled"
run "$PYTHON" generate.py --model "$OUT/stylize" --content "$PHOTO" --device cuda \
    --size 512 --tile 256 --out "$OUT/generated/stylized-cuda-tiled"

echo "== 4/4 comparisons (8-bit levels; the GPU may use TF32 convolutions)"
status=0
for kind in texture stylized; do
    run "$PYTHON" scripts/compare_outputs.py --label "$kind GPU vs CPU: " \
        "$OUT/generated/$kind-cuda" "$OUT/generated/$kind-cpu" || status=1
    run "$PYTHON" scripts/compare_outputs.py --label "$kind GPU tiled vs untiled: " \
        "$OUT/generated/$kind-cuda-tiled" "$OUT/generated/$kind-cuda" || status=1
done
if [[ $DRY -eq 1 ]]; then
    echo "gpu_check: dry run (nothing was run)"
elif [[ $status -eq 0 ]]; then
    echo "gpu_check: PASS (step times: the STEP TIME lines above; outputs in $OUT)"
else
    echo "gpu_check: FAIL (see the FAIL lines above; outputs in $OUT)" >&2
    exit 1
fi
