//! End-to-end tests: the real `advland` binary in temporary directories.

// A test helper that unwraps fails the test, which is what it is for.
#![allow(clippy::unwrap_used)]

mod bound;
mod calibrate;
mod cli;
mod compare;
mod connect;
mod demo;
mod entropy_sgd;
mod errors;
mod examples;
mod experiments;
mod export_grid;
mod faults;
mod flatness;
mod linear;
mod perturbation;
mod resnet;
mod run_dir;
mod schedules;
mod sharpness;
mod surface;
mod trades;
mod weight_sharpness;
mod weights;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `advland` with `args`, to run in `dir`.
fn command(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_advland"));
    c.args(args).current_dir(dir);
    c
}

/// Runs `advland` with `args` in `dir`.
pub fn advland(dir: &Path, args: &[&str]) -> Output {
    command(dir, args)
        .output()
        .expect("the advland binary runs")
}

/// Runs `advland` with `args` in `dir` on a pool of `threads` threads.
pub fn advland_on_threads(dir: &Path, threads: usize, args: &[&str]) -> Output {
    command(dir, args)
        .env("RAYON_NUM_THREADS", threads.to_string())
        .output()
        .expect("the advland binary runs")
}

/// Every file below `d` with its bytes (directories as empty entries, other kinds by name), to
/// show that nothing moved.
pub fn snapshot(d: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![d.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in fs_err::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = fs_err::symlink_metadata(&path).unwrap();
            let rel = path.strip_prefix(d).unwrap().to_owned();
            if meta.is_dir() {
                stack.push(path);
                out.insert(rel, None);
            } else if meta.is_file() {
                out.insert(rel, Some(fs_err::read(&path).unwrap()));
            } else {
                out.insert(rel, Some(format!("{:?}", meta.file_type()).into_bytes()));
            }
        }
    }
    out
}

/// stdout and stderr as text, for assertion messages.
pub fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Asserts success and returns stdout.
pub fn ok(out: &Output) -> String {
    let (stdout, stderr) = text(out);
    assert!(out.status.success(), "advland failed: {stderr}\n{stdout}");
    stdout
}

/// Asserts a user error (exit code 1) whose message contains every needle; returns stderr.
pub fn user_error(out: &Output, needles: &[&str]) -> String {
    let (stdout, stderr) = text(out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "expected exit code 1: {stderr}\n{stdout}"
    );
    for n in needles {
        assert!(stderr.contains(n), "stderr lacks '{n}': {stderr}");
    }
    stderr
}

/// Trains a small MLP into `dir/run`: `hidden` units, `epochs` epochs on `train` training and
/// `test` test examples, plus `extra` flags. Returns stdout.
pub fn train_mlp(
    dir: &Path,
    hidden: &str,
    epochs: &str,
    sizes: [&str; 2],
    extra: &[&str],
) -> String {
    let mut args = vec![
        "train", "-q", "--model", "mlp", "--hidden", hidden, "--epochs", epochs,
    ];
    args.extend([
        "--train-subset",
        sizes[0],
        "--test-subset",
        sizes[1],
        "--out",
        "run",
    ]);
    args.extend(extra);
    ok(&advland(dir, &args))
}

/// Trains an MLP with `hidden` units for 2 epochs of L∞ PGD-AT (ε = 0.1, PGD-2) on 300
/// training and 100 test examples into `dir/run`: the small adversarial model the analysis
/// tests measure.
pub fn train_linf_mlp(dir: &Path, hidden: &str) -> String {
    train_mlp(dir, hidden, "2", ["300", "100"], &LINF_AT)
}

/// The training flags of the small adversarial models: L∞ PGD-2 at ε = 0.1, evaluated on 50
/// test examples.
pub const LINF_AT: [&str; 8] = [
    "--norm",
    "linf",
    "--eps",
    "0.1",
    "--steps",
    "2",
    "--eval-subset",
    "50",
];
