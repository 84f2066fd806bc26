#!/usr/bin/env bash
# The GPU smoke pipeline: train, eval, Hessian, surface and flatness of a small model on the
# bundled data, on the CPU and on each GPU backend, with every device's reports compared number
# by number against the CPU's (bench/gpu_check.py states the tolerances).
#
#     bash bench/gpu.sh [BINARY]
#
# BINARY defaults to bench/bin/advland (a stripped `--features cuda,wgpu` release build, made on a
# machine with a Rust toolchain by `just gpu-binary`), else target/release/advland. Needs no Rust
# toolchain and no network: the data is bundled in the binary, the comparison is standard-library
# Python. For `cuda`, burn loads libcuda and NVRTC at run time and compiles its kernels against
# the CUDA headers under $CUDA_PATH (default /usr/local/cuda).
#
# Settings (environment): DEVICES (default "cpu cuda wgpu"; cpu always runs first, as the
# reference), MODEL (model flags of `advland train`), OUT (default runs/gpu), TRAIN (training
# examples), TEST (test examples).
#
# Every analysis runs on the CPU-trained checkpoint, so devices are compared on the same weights;
# each device's own one-epoch training is compared loosely (same data order and seeds, rounding
# differs). Exits 1 if a device fails a step or a number is out of tolerance; the summary of
# every device is in $OUT/summary.md either way.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${1:-}"
if [[ -z "$bin" ]]; then
    for candidate in "$root/bench/bin/advland" "$root/target/release/advland"; do
        if [[ -x "$candidate" ]]; then bin="$candidate"; break; fi
    done
fi
if [[ -z "$bin" || ! -x "$bin" ]]; then
    echo "bench/gpu.sh: no advland binary: give its path, or put a cuda+wgpu build at bench/bin/advland" >&2
    exit 1
fi
devices="${DEVICES:-cpu cuda wgpu}"
model="${MODEL:---model preact-resnet18 --width 8}"
out="${OUT:-$root/runs/gpu}"
train_n="${TRAIN:-1024}"
test_n="${TEST:-256}"
mkdir -p "$out"
summary="$out/summary.md"
log() { echo "bench/gpu.sh: $*" >&2; }

{
    echo "# GPU smoke run, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo
    echo "- binary: \`$bin\` ($("$bin" --version 2>/dev/null || echo 'no --version'), sha256 $(sha256sum "$bin" | cut -c1-16))"
    echo "- model: \`$model\`, $train_n training / $test_n test examples of the bundled Fashion-MNIST subset"
    if command -v nvidia-smi >/dev/null; then
        echo "- GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -1)"
    else
        echo "- GPU: nvidia-smi not found"
    fi
    nvcc_version="$( (command -v nvcc >/dev/null && nvcc --version | tail -1) || ( [[ -x "${CUDA_PATH:-/usr/local/cuda}/bin/nvcc" ]] && "${CUDA_PATH:-/usr/local/cuda}/bin/nvcc" --version | tail -1) || echo 'nvcc not found')"
    echo "- CUDA: $nvcc_version; CUDA_PATH=${CUDA_PATH:-unset}"
    echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) threads"
    echo
} > "$summary"

status=0
# One device's pipeline; $1 = device, $2 = checkpoint the analyses use (empty: its own training).
pipeline() {
    local dev="$1" ckpt="$2" dir="$out/$1" t0 t1
    rm -rf "$dir"
    mkdir -p "$dir"
    local common=(-q --device "$dev")
    # wgpu computes no f64 (Vulkan without shaderFloat64 on most adapters): f32 analyses there.
    local precision=()
    [[ "$dev" == wgpu ]] && precision=(--precision f32)
    step() {
        local name="$1"; shift
        t0=$(date +%s.%N)
        if "$bin" "${common[@]}" "$@" > "$dir/$name.log" 2>&1; then
            t1=$(date +%s.%N)
            printf '| %s | %s | ok | %.1f s |\n' "$dev" "$name" "$(awk "BEGIN{print $t1 - $t0}")" >> "$summary"
        else
            printf '| %s | %s | FAILED (exit %s): %s |  |\n' "$dev" "$name" "$?" "$(grep -m1 -i error "$dir/$name.log" | cut -c1-200)" >> "$summary"
            status=1
        fi
    }
    step train train $model --train-subset "$train_n" --test-subset "$test_n" --epochs 1 \
        --batch-size 128 --norm linf --eps 0.1 --steps 3 --eval-attack linf:0.1 --out "$dir/train"
    [[ -z "$ckpt" ]] && ckpt="$dir/train"
    step eval eval --checkpoint "$ckpt" --attack linf:0.1 --attack l2:1.0 --steps 10 \
        --test-subset "$test_n" --out "$dir/eval.json"
    step hessian sharpness hessian --checkpoint "$ckpt" --k 1 --subset 128 "${precision[@]}" \
        --out "$dir/hessian.json"
    step surface surface --checkpoint "$ckpt" --objective adversarial --norm linf --eps 0.1 \
        --steps 5 --x=-1:1:5 --y=-1:1:5 --subset 128 "${precision[@]}" --out "$dir/surface.json"
    step flatness flatness --checkpoint "$ckpt" --norm linf --eps 0.1 --steps 10 --subset 32 \
        "${precision[@]}" --out "$dir/flatness.json"
}

echo "| device | step | result | wall |" >> "$summary"
echo "|---|---|---|---|" >> "$summary"
log "cpu (reference)"
pipeline cpu ""
for dev in $devices; do
    [[ "$dev" == cpu ]] && continue
    log "$dev"
    pipeline "$dev" "$out/cpu/train"
done

echo >> "$summary"
echo "## Against the CPU" >> "$summary"
for dev in $devices; do
    [[ "$dev" == cpu ]] && continue
    echo >> "$summary"
    echo "### $dev" >> "$summary"
    # The training logs compare each device's own run; the other reports share the CPU's weights.
    if ! python3 "$root/bench/gpu_check.py" "$out/cpu" "$out/$dev" --json "$out/$dev-check.json" >> "$summary"; then
        status=1
    fi
done

cat "$summary"
exit "$status"
