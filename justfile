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

# Benchmarks (backends flex vs ndarray; analysis primitives); never run in CI.
bench:
    cargo bench -p advland-train --bench backends --features ndarray
    cargo bench -p advland-analysis --bench analysis

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
