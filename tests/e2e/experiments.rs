//! The committed experiment files (`analysis/*/experiment.toml`): every step parses as a
//! command line, at the committed scale and at CIFAR-10's (the "At scale" commands of their
//! READMEs), checked through `advland experiment --dry-run`, which loads and parses every step
//! and prints each expanded command line.

use std::path::{Path, PathBuf};

use crate::{advland, ok, user_error};

fn analysis() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("analysis")
}

/// `advland experiment FILE --dry-run --set NAME=VALUE…` from the repository root; its stderr.
fn dry_run(file: &Path, set: &[(&str, &str)]) -> std::process::Output {
    let mut args = vec![
        "experiment".to_owned(),
        file.display().to_string(),
        "--dry-run".to_owned(),
    ];
    for (name, value) in set {
        args.push("--set".to_owned());
        args.push(format!("{name}={value}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    advland(Path::new(env!("CARGO_MANIFEST_DIR")), &args)
}

fn stderr_of(out: &std::process::Output) -> String {
    ok(out);
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every committed experiment parses, each of its steps is a valid command, and it is named
/// after its directory.
#[test]
fn committed_experiments_are_valid() {
    let mut seen = 0;
    for entry in fs_err::read_dir(analysis()).unwrap() {
        let dir = entry.unwrap().path();
        let path = dir.join("experiment.toml");
        if path.exists() {
            let stderr = stderr_of(&dry_run(&path, &[]));
            let name = dir.file_name().unwrap().to_str().unwrap();
            assert!(
                stderr.starts_with(&format!("experiment {name}: ")),
                "{stderr}"
            );
            seen += 1;
        }
    }
    assert!(seen > 0, "no experiments under {}", analysis().display());
}

/// The "At scale" commands of the READMEs: every step still parses with CIFAR-10, the ResNet
/// and CIFAR's radii in place of the defaults; an unknown variable or a flag a step already
/// sets is refused, naming it.
#[test]
fn committed_experiments_scale_to_cifar10_by_variables() {
    let train = "--dataset cifar10 --data-dir /data/cifar-10-batches-bin --train-subset 50000 \
                 --test-subset 10000 --model resnet --blocks 2,2,2,2 --width 64 --epochs 30 \
                 --eval-attack linf:8/255:10 --eval-attack l2:0.5:10";
    let entropy = analysis().join("entropy-sgd/experiment.toml");
    let stderr = stderr_of(&dry_run(
        &entropy,
        &[
            ("eps_linf", "8/255"),
            ("eps_l2", "0.5"),
            ("train", train),
            ("runs", "runs-cifar10"),
        ],
    ));
    let first = stderr
        .lines()
        .find(|l| l.starts_with("[1/"))
        .unwrap_or_else(|| panic!("no first step: {stderr}"));
    for needle in ["--model resnet", "--eps 8/255", "runs-cifar10/sgd-linf-s0"] {
        assert!(first.contains(needle), "{first}");
    }

    let levels = [
        ("linf_small", "0.0078"),
        ("linf_mid", "0.0157"),
        ("linf_large", "0.0314"),
        ("l2_small", "0.125"),
        ("l2_mid", "0.25"),
        ("l2_large", "0.5"),
    ];
    let mut cs = levels.to_vec();
    cs.push(("train", train));
    stderr_of(&dry_run(
        &analysis().join("constraint-smoothness/experiment.toml"),
        &cs,
    ));
    let mut flat = levels.to_vec();
    flat.push(("mid_epoch", "0015"));
    let stderr = stderr_of(&dry_run(
        &analysis().join("input-flatness/experiment.toml"),
        &flat,
    ));
    let first = stderr.lines().find(|l| l.starts_with("[1/")).unwrap();
    assert!(
        first.contains("../constraint-smoothness/runs/linf-0.0314/checkpoints/epoch-0015"),
        "{first}"
    );

    user_error(&dry_run(&entropy, &[("epz", "1")]), &["epz", "eps_linf"]);
    user_error(&dry_run(&entropy, &[("train", "--seed 3")]), &["step 1"]);
}
