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
#
# Second half, timing: when `nvidia-smi` works and python3's torch sees a CUDA GPU, advland is
# timed against PyTorch on the same GPU, side by side (bench/compare.py --only resnet-full): on the
# full-width PreAct-ResNet-18 (eval-mode batch norm, seeded PyTorch init) and random CIFAR-size
# images written there (bench/torch_workloads.py resnet-data), PGD-10 L∞ 8/255 on RESNET_IMAGES
# images against torchattacks, one PGD-AT epoch on TRAIN_IMAGES (batch 128, PGD-10) against
# robust_overfitting's training loop, Hessian λ1 (tol 1e-3) against PyHessian's power iteration, and
# GRID×GRID clean and adversarial surfaces against loss-landscape's filter-normalised plane. advland
# runs on each of TIMING_DEVICES, PyTorch once on cuda, both in f32 (advland's --precision f32).
# Each row has both sides' seconds, GPU memory in use and peak RSS. Writes $OUT/timing.md (the
# table), $OUT/timing.json (every number) and $OUT/timing.log (progress). Needs python3 with a CUDA
# build of torch, numpy and safetensors; torchattacks, if python3 cannot import it, is installed
# from bench/wheels/ (`just gpu-wheels`, on a machine with PyPI) into a temporary directory, else
# the PGD peer is torch_workloads.py's re-implementation of torchattacks.PGD (the table says which).
# To carry: bench/bin/advland and bench/wheels/ (both gitignored; about 30 MB together).
# Timing settings (environment): TIMING (0 skips the half), TIMING_DEVICES (default: DEVICES
# less cpu), RESNET_IMAGES (1000), TRAIN_IMAGES (5120), EVAL_IMAGES (test images of the epoch's
# evaluation, 128), GRID (21), REPEAT (runs per side, fastest counts; 1), TIMING_ARGS (more
# compare.py flags, e.g. "--hessian-max-iter 5"). Without a GPU it says why it skips and exits
# with the smoke half's status.
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
    # The frozen attack's Hessian on every device: f32 cannot difference the re-solved
    # attack's gradients (advland refuses it), and under L∞ the two local Hessians are the
    # same (tests/e2e/sharpness.rs).
    step hessian sharpness hessian --checkpoint "$ckpt" --objective adversarial-frozen --k 1 \
        --subset 128 "${precision[@]}" --out "$dir/hessian.json"
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

# --- Second half: advland against PyTorch on the same GPU ---------------------------------------
timing_devices="${TIMING_DEVICES-$(for d in $devices; do [[ "$d" != cpu ]] && printf '%s ' "$d"; done)}"
skip=""
if [[ "${TIMING:-1}" == 0 ]]; then
    skip="TIMING=0"
elif [[ -z "${timing_devices// /}" ]]; then
    skip="no GPU backend in DEVICES/TIMING_DEVICES"
elif ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L >/dev/null 2>&1; then
    skip="nvidia-smi is missing or sees no GPU"
elif ! python3 -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    skip="python3 has no torch, or its torch sees no CUDA GPU"
fi
if [[ -n "$skip" ]]; then
    log "timing half skipped: $skip (it times advland against PyTorch on a CUDA GPU)"
    exit "$status"
fi

if ! python3 -c 'import torchattacks' 2>/dev/null; then
    if compgen -G "$root/bench/wheels/torchattacks-*.whl" >/dev/null; then
        site="$(mktemp -d)"
        trap 'rm -rf "$site"' EXIT
        log "torchattacks not importable: installing it from bench/wheels/ into $site"
        if ! python3 -m pip install -q --no-index --no-deps --no-compile --require-hashes \
                --find-links "$root/bench/wheels" --target "$site" -r "$root/bench/gpu-requirements.txt"; then
            log "installing bench/wheels/ failed (see above)"
            exit 1
        fi
        export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
    else
        log "torchattacks not importable and no wheel in bench/wheels/ (\`just gpu-wheels\`): the PGD peer is" \
            "torch_workloads.py's re-implementation of torchattacks.PGD"
    fi
fi

log "timing half: advland on ${timing_devices% } against PyTorch on cuda (progress in $out/timing.log)"
# shellcheck disable=SC2086  # TIMING_ARGS is a list of flags
python3 "$root/bench/compare.py" --advland "$bin" --python "$(command -v python3)" --only resnet-full \
    --device "$(echo $timing_devices | tr ' ' ',')" --torch-device cuda --threads "$(nproc)" \
    --resnet-images "${RESNET_IMAGES:-1000}" --train-images "${TRAIN_IMAGES:-5120}" \
    --eval-images "${EVAL_IMAGES:-128}" --grid "${GRID:-21}" --repeat "${REPEAT:-1}" \
    --work "$out/timing-work" --json "$out/timing.json" ${TIMING_ARGS:-} \
    > "$out/timing.md" 2> "$out/timing.log"
timing_rc=$?
if [[ "$timing_rc" != 0 ]]; then
    log "the timing half failed (exit $timing_rc); the end of $out/timing.log:"
    tail -n 20 "$out/timing.log" >&2
    status=1
fi
cat "$out/timing.md"
log "timing table: $out/timing.md; every number: $out/timing.json; progress: $out/timing.log"
exit "$status"
