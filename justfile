# advland's entry points for people; .ci/run calls the same cargo commands without `just`.

# List the recipes.
default:
    @just --list

# The main job: train standard, L∞- and L2-adversarial CNNs on the bundled data and report.
demo *ARGS:
    cargo run -- demo {{ARGS}}

# The quick demo (under 2 minutes on 2 cores).
demo-quick:
    cargo run -- demo --quick

# Every test.
test:
    cargo test --workspace

# Only the end-to-end tests (the real binary in temporary directories).
e2e:
    cargo test --test e2e

# Format the code.
fmt:
    cargo fmt --all

# Lints as CI runs them.
lint:
    cargo clippy --workspace --all-targets -- -D warnings

# Exactly what CI runs.
ci:
    bash .ci/run

# API docs.
doc:
    cargo doc --workspace --no-deps

# Benchmarks, never run in CI (both bench crates in one cargo call: built apart, their features
# differ and burn is rebuilt each time): the divan micro-benchmarks (training step, PGD-10 L∞/L2, GEMM peak,
# adversarial gradient, HVP, surface row), then advland vs PyTorch on the same weights, data and
# threads, printed as one table (bench/compare.py; bench/setup_venv.sh installs torch and
# torchattacks into bench/.venv first, several GB). Results: bench/RESULTS.md.
bench:
    cargo build --release
    bash bench/setup_venv.sh
    cargo bench -p advland-train --bench backends -p advland-analysis --bench analysis
    python3 bench/compare.py

# Only the advland vs PyTorch table (needs the release build and bench/.venv).
bench-compare *ARGS:
    cargo build --release
    bash bench/setup_venv.sh
    python3 bench/compare.py {{ARGS}}

# The binary bench/gpu.sh carries to a GPU machine (no Rust toolchain there): release build with
# both GPU backends, no debug info, symbols stripped, copied to bench/bin/advland (gitignored).
# `cuda` downloads an LLVM bundle from github.com at build time (README, GPUs); where that cannot
# be reached, `just gpu-binary wgpu` builds the wgpu backend alone.
gpu-binary features="cuda,wgpu":
    CARGO_PROFILE_RELEASE_DEBUG=false CARGO_PROFILE_RELEASE_STRIP=symbols cargo build --release --features {{features}} --target-dir target/gpu
    mkdir -p bench/bin
    cp target/gpu/release/advland bench/bin/advland
    ls -l bench/bin/advland

# The wheels bench/gpu.sh's timing half installs on a GPU machine that lacks them (no network
# there): torchattacks, hash-pinned in bench/gpu-requirements.txt, into bench/wheels/ (gitignored;
# carry it with bench/bin/advland).
gpu-wheels:
    python3 -m pip download --no-deps --only-binary=:all: --require-hashes -r bench/gpu-requirements.txt -d bench/wheels

# The GPU smoke pipeline against the CPU, then advland against PyTorch on the same GPU (bench/gpu.sh;
# on a machine with a GPU).
gpu *ARGS:
    bash bench/gpu.sh {{ARGS}}

# CPU backends flex vs ndarray (builds burn's NdArray backend too; see bench/BACKENDS.md).
bench-backends:
    cargo bench -p advland-train --bench backends --features ndarray

# Redraw every figure and index.html from report JSON, e.g. `just report runs/demo`.
report +INPUTS:
    cargo run -- report {{INPUTS}} --out report

# Train from an experiment file, e.g. `just train analysis/foundation/train.toml`.
train CONFIG *ARGS:
    cargo run -- train --config {{CONFIG}} {{ARGS}}

# Re-run every committed analysis (analysis/*/experiment.toml) in release mode; finished steps
# are skipped, so an interrupted run continues.
reproduce:
    cargo build --release
    for f in analysis/*/experiment.toml; do ./target/release/advland experiment "$f" || exit 1; done

# Remove the gitignored run directories.
clean-runs:
    rm -rf runs
