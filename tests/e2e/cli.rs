//! Train → eval → export → eval of the exported weights.

use std::path::Path;

use advland_schema::{EvalReport, Report, TrainLog, file_sha256, read_json};

use crate::{LINF_AT, advland, advland_on_threads, ok, train_mlp};

#[test]
fn train_eval_export_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train_mlp(
        d,
        "32",
        "1",
        ["500", "200"],
        &["--norm", "l2", "--eps", "1.0", "--steps", "2"],
    );
    let log: Report<TrainLog> = read_json(&d.join("run/train.json")).unwrap();
    assert_eq!(log.kind, "train");
    assert_eq!(log.data.parameters, 784 * 32 + 32 + 32 * 10 + 10);
    assert_eq!(log.meta.data.examples, 500);
    assert!(log.meta.cost.backward > 0 && log.meta.duration_s > 0.0);
    let robust = &log.data.epochs[0].test.robust[0];
    assert_eq!((robust.attack.steps, robust.attack.eps), (20, 1.0));
    assert!(d.join("run/config.resolved.json").exists());
    // The build and process behind the numbers: this binary's bytes, the source revision of a
    // git checkout (the tests run from one), the peak memory.
    let p = &log.meta.provenance;
    assert_eq!(
        p.binary_sha256.as_deref(),
        Some(
            file_sha256(Path::new(env!("CARGO_BIN_EXE_advland")))
                .unwrap()
                .as_str()
        )
    );
    let revision = p.source_revision.as_deref().expect("a source revision");
    let commit = revision.strip_suffix("-dirty").unwrap_or(revision);
    assert!(
        commit.len() == 40 && commit.bytes().all(|b| b.is_ascii_hexdigit()),
        "{revision}"
    );
    assert!(p.peak_rss_mib.is_some_and(|m| m > 1.0), "{p:?}");
    let host = p.host.as_ref().expect("the processor");
    assert!(host.threads >= 1, "{host:?}");
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    assert!(
        host.cpu.as_ref().is_some_and(|c| !c.is_empty()) && !host.cache_kib.is_empty(),
        "{host:?}"
    );

    // Evaluated on 1 thread here and on 3 below: the results must not differ.
    let ckpt = "run/checkpoints/epoch-0001";
    ok(&advland_on_threads(
        d,
        1,
        &[
            "eval",
            "-q",
            "--checkpoint",
            ckpt,
            "--norm",
            "linf",
            "--eps",
            "8/255",
            "--steps",
            "3",
            "--out",
            "eval-ckpt.json",
        ],
    ));
    ok(&advland(
        d,
        &["export", "--checkpoint", ckpt, "--out", "w.safetensors"],
    ));
    let bytes = fs_err::read(d.join("w.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(st.tensor("fc1.weight").unwrap().shape(), &[32, 784]);
    assert_eq!(st.tensor("fc2.bias").unwrap().shape(), &[10]);
    ok(&advland_on_threads(
        d,
        3,
        &[
            "eval",
            "-q",
            "--weights",
            "w.safetensors",
            "--model",
            "mlp",
            "--hidden",
            "32",
            "--test-subset",
            "200",
            "--norm",
            "linf",
            "--eps",
            "8/255",
            "--steps",
            "3",
            "--out",
            "eval-weights.json",
        ],
    ));
    let a: Report<EvalReport> = read_json(&d.join("eval-ckpt.json")).unwrap();
    let b: Report<EvalReport> = read_json(&d.join("eval-weights.json")).unwrap();
    assert_eq!(
        a.data.result, b.data.result,
        "exported weights evaluate differently (or 1 and 3 threads do)"
    );
    let threads = |r: &Report<EvalReport>| r.meta.provenance.host.as_ref().map(|h| h.threads);
    assert_eq!((threads(&a), threads(&b)), (Some(1), Some(3)));
    assert!((a.data.result.robust[0].attack.eps - 8.0 / 255.0).abs() < 1e-12);
    assert!(a.data.result.robust[0].metrics.accuracy <= a.data.result.clean.accuracy);
    assert_eq!(a.meta.provenance.binary_sha256, p.binary_sha256);
}

/// The README's promise: on one machine a run's weights do not depend on the thread count
/// (the CNN's batches are split into fixed chunks, not by the pool's size).
#[test]
fn training_gives_the_same_weights_on_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let weights = |threads: usize| {
        let out = format!("run-{threads}");
        let mut args: Vec<&str> =
            "train -q --model cnn --epochs 1 --batch-size 100 --train-subset 200 --test-subset 50"
                .split(' ')
                .collect();
        args.extend(["--out", &out]);
        args.extend(LINF_AT);
        ok(&advland_on_threads(d, threads, &args));
        fs_err::read(d.join(out).join("checkpoints/epoch-0001/model.safetensors")).unwrap()
    };
    let one = weights(1);
    assert_eq!(one, weights(3), "1 and 3 threads train different weights");
}

#[test]
fn eval_prints_json_to_stdout_without_out() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train_mlp(d, "8", "1", ["200", "100"], &[]);
    let stdout = ok(&advland(
        d,
        &["eval", "-q", "--checkpoint", "run/checkpoints/epoch-0001"],
    ));
    let report: Report<EvalReport> = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report.data.result.clean.examples, 100);
    assert!(report.data.result.robust.is_empty());
}

/// `--activation softplus` trains a smooth MLP, whose sharpness report freezes no gates; the
/// ReLU-only architectures refuse another activation by its field.
#[test]
fn smooth_activation_trains_and_is_refused_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    crate::train_mlp(
        dir.path(),
        "8",
        "1",
        ["200", "50"],
        &["--activation", "softplus"],
    );
    let settings: serde_json::Value =
        serde_json::from_slice(&fs_err::read(dir.path().join("run/config.resolved.json")).unwrap())
            .unwrap();
    assert_eq!(settings["model"]["activation"], "softplus");
    crate::ok(&crate::advland(
        dir.path(),
        &[
            "sharpness",
            "hessian",
            "-q",
            "--objective",
            "clean",
            "--checkpoint",
            "run",
            "--k",
            "1",
            "--subset",
            "32",
            "--out",
            "h.json",
        ],
    ));
    let report: serde_json::Value =
        serde_json::from_slice(&fs_err::read(dir.path().join("h.json")).unwrap()).unwrap();
    assert_eq!(report["data"]["objective"]["frozen_activations"], false);
    crate::user_error(
        &crate::advland(
            dir.path(),
            &[
                "train",
                "-q",
                "--model",
                "cnn",
                "--activation",
                "gelu",
                "--epochs",
                "1",
                "--out",
                "cnn",
            ],
        ),
        &["model.activation", "only the mlp"],
    );
    assert!(!dir.path().join("cnn").exists());
}
