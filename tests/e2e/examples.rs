//! The library crates' example programs, run as another program would run them, give the
//! numbers the CLI gives for the same work.
//!
//! The examples are built by `cargo test --workspace` (the README's test command, which CI
//! runs); a narrower `cargo test --test e2e` does not build them, and then these tests fail
//! with the command that builds them rather than pass without checking anything.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::{advland, ok, train_linf_mlp};

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&fs_err::read(path).unwrap()).unwrap()
}

/// The built example `name` next to the `advland` binary of this test build.
fn example(name: &str) -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_advland"));
    let path = bin
        .parent()
        .expect("the binary lives in a target directory")
        .join("examples")
        .join(name);
    assert!(
        path.is_file(),
        "example `{name}` is not built at {}: run `cargo test --workspace` (or `cargo build \
         --examples --workspace`) first",
        path.display()
    );
    path
}

/// Runs example `name` in `dir` (so checkpoints are named as the CLI, run there, names them).
fn run_example(name: &str, dir: &Path, args: &[&str]) -> String {
    let out = Command::new(example(name))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the example runs");
    let (stdout, stderr) = crate::text(&out);
    assert!(
        out.status.success(),
        "example {name} failed: {stderr}\n{stdout}"
    );
    stdout
}

#[test]
fn train_eval_example_equals_train_then_eval() {
    let dir = tempfile::tempdir().unwrap();
    ok(&advland(
        dir.path(),
        &[
            "train",
            "-q",
            "--model",
            "mlp",
            "--hidden",
            "32",
            "--epochs",
            "2",
            "--norm",
            "linf",
            "--eps",
            "0.1",
            "--steps",
            "2",
            "--train-subset",
            "300",
            "--test-subset",
            "100",
            "--out",
            "run",
        ],
    ));
    ok(&advland(
        dir.path(),
        &[
            "eval",
            "-q",
            "--checkpoint",
            "run",
            "--attack",
            "pgd:linf:0.1:10",
            "--attack",
            "apgd-ce:linf:0.1:10",
            "--out",
            "eval.json",
        ],
    ));
    run_example("train_eval", dir.path(), &["example.json"]);
    let cli: Value = read_json(&dir.path().join("eval.json"));
    let library: Value = read_json(&dir.path().join("example.json"));
    assert_eq!(cli["data"]["result"], library);
    // Something was attacked: the worst case sits at or below every attack.
    let worst = library["worst_case"]["metrics"]["accuracy"]
        .as_f64()
        .unwrap();
    assert!(worst <= library["clean"]["accuracy"].as_f64().unwrap());
}

#[test]
fn landscape_example_equals_sharpness_and_surface() {
    let dir = tempfile::tempdir().unwrap();
    train_linf_mlp(dir.path(), "16");
    ok(&advland(
        dir.path(),
        &[
            "sharpness",
            "hessian",
            "-q",
            "--objective",
            "clean",
            "--checkpoint",
            "run",
            "--out",
            "hessian.json",
        ],
    ));
    ok(&advland(
        dir.path(),
        &[
            "surface",
            "-q",
            "--checkpoint",
            "run",
            "--out",
            "surface.json",
        ],
    ));
    let out = dir.path().join("example");
    fs_err::create_dir(&out).unwrap();
    run_example("landscape", dir.path(), &["run", "example"]);
    for (cli, library) in [
        ("hessian.json", "sharpness-hessian-clean.json"),
        ("surface.json", "surface-random-1d.json"),
    ] {
        let cli: Value = read_json(&dir.path().join(cli));
        let library: Value = read_json(&out.join(library));
        assert!(
            cli["data"] == library["data"],
            "{library} differs from the CLI's"
        );
        // The CLI's surface configuration adds what only a command has (the resume file's
        // fingerprint and resumed points); everything the library's holds is the same.
        let library_config = library["meta"]["config"].as_object().unwrap();
        for (key, value) in library_config {
            assert_eq!(&cli["meta"]["config"][key], value, "config `{key}`");
        }
    }
}

#[test]
fn compare_example_equals_compare() {
    let dir = tempfile::tempdir().unwrap();
    train_linf_mlp(dir.path(), "8");
    ok(&advland(
        dir.path(),
        &["compare", "run", "--out", "cmp", "--no-figures"],
    ));
    run_example("compare", dir.path(), &["example.json", "run"]);
    let cli: Value = read_json(&dir.path().join("cmp/compare.json"));
    let library: Value = read_json(&dir.path().join("example.json"));
    assert!(!library["rows"].as_array().unwrap().is_empty());
    assert!(cli["data"] == library, "{library} differs from the CLI's");
}
