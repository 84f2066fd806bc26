//! The ResNet end to end: training, checkpoint and export names, weights round trip, exact
//! curvature through its activation pattern, and the CIFAR-10 route.

use std::path::Path;

use advland_schema::{EvalReport, ObjectiveKind, Report, SurfaceReport, TrainLog, read_json};

use crate::{LINF_AT, advland, ok, user_error};

const CKPT: &str = "run/checkpoints/epoch-0001";

/// Parameters of `--blocks 1,1 --width 4` with 10 classes, by hand: the stem conv3x3 (c·9·4 + 4),
/// stage 1's block (2 × (9·4·4 + 4) = 296), stage 2's block (9·4·8 + 8 + 9·8·8 + 8 + the 1×1
/// projection 4·8 + 8 = 920) and the classifier (8·10 + 10 = 90).
const PARAMS_GREY: usize = 40 + 296 + 920 + 90;
const PARAMS_RGB: usize = 112 + 296 + 920 + 90;

fn train_resnet(d: &Path, extra: &[&str]) -> Report<TrainLog> {
    let mut args = vec![
        "train", "-q", "--model", "resnet", "--blocks", "1,1", "--width", "4", "--epochs", "1",
        "--lr", "0.02", "--out", "run",
    ];
    args.extend(extra);
    ok(&advland(d, &args));
    read_json(&d.join("run/train.json")).unwrap()
}

fn eval(d: &Path, source: &[&str], out: &str) -> EvalReport {
    let mut args = vec![
        "eval",
        "-q",
        "--test-subset",
        "100",
        "--norm",
        "linf",
        "--eps",
        "0.05",
        "--steps",
        "3",
        "--out",
        out,
    ];
    args.extend(source);
    ok(&advland(d, &args));
    read_json::<Report<EvalReport>>(&d.join(out)).unwrap().data
}

#[test]
fn resnet_trains_exports_and_has_exact_curvature() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut flags = vec!["--train-subset", "200", "--test-subset", "100"];
    flags.extend(LINF_AT);
    let log = train_resnet(d, &flags);
    assert_eq!(log.data.parameters, PARAMS_GREY);
    assert_eq!(log.meta.config["model"]["kind"], "resnet");

    ok(&advland(
        d,
        &["export", "--checkpoint", CKPT, "--out", "w.safetensors"],
    ));
    let bytes = fs_err::read(d.join("w.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(
        st.tensor("layer2.0.shortcut.weight").unwrap().shape(),
        &[8, 4, 1, 1]
    );
    assert_eq!(st.tensor("linear.weight").unwrap().shape(), &[10, 8]);
    let a = eval(d, &["--checkpoint", CKPT], "a.json");
    let b = eval(
        d,
        &[
            "--weights",
            "w.safetensors",
            "--model",
            "resnet",
            "--blocks",
            "1,1",
            "--width",
            "4",
        ],
        "b.json",
    );
    assert_eq!(a.result, b.result, "exported weights evaluate differently");

    // A Hessian eigenvector's second difference is its eigenvalue: the f64 finite-difference
    // HVPs through the recorded pattern see the same function the surface evaluates. The
    // surface runs the live network, so h must be small enough that no ReLU of the 100
    // examples switches within ±h (here at 1e-5 one does and the difference reads 1.97 against
    // λ = 2.95) and large enough for f64 rounding (~2e-16·loss/h²).
    let h = 1e-6;
    ok(&advland(
        d,
        &[
            "surface",
            "-q",
            "--checkpoint",
            CKPT,
            "--directions",
            "hessian",
            "--x",
            "-1e-6:1e-6:3",
            "--subset",
            "100",
            "--precision",
            "f64",
            "--out",
            "h.json",
        ],
    ));
    let r: Report<SurfaceReport> = read_json(&d.join("h.json")).unwrap();
    let lambda = r.data.directions.eigenvalues[0];
    let f = r.data.dense(ObjectiveKind::Clean, false).unwrap();
    let curvature = (f[0] + f[2] - 2.0 * f[1]) / (h * h);
    assert!(lambda > 0.0);
    assert!(
        (curvature - lambda).abs() <= 1e-3 * lambda,
        "second difference {curvature} vs eigenvalue {lambda}"
    );
}

#[test]
fn resnet_layout_flags_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (flags, needle) in [
        (["--blocks", "2,0"], "model.blocks"),
        (["--width", "0"], "model.width"),
    ] {
        let mut args = vec!["train", "--model", "resnet", "--out", "bad"];
        args.extend(flags);
        user_error(&advland(d, &args), &[needle]);
        assert!(!d.join("bad").exists());
    }
}

/// CIFAR-10's binary layout: a label byte, then 3·32·32 pixel bytes, channel-major.
fn fake_cifar10(dir: &Path, records_per_file: usize) {
    let mut state = 0x2545_f491_u32;
    let mut file = |name: &str| {
        let mut bytes = Vec::new();
        for i in 0..records_per_file {
            bytes.push((i % 10) as u8);
            bytes.extend((0..3072).map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state >> 24) as u8
            }));
        }
        fs_err::write(dir.join(name), bytes).unwrap();
    };
    for i in 1..=5 {
        file(&format!("data_batch_{i}.bin"));
    }
    file("test_batch.bin");
}

#[test]
fn resnet_scales_to_cifar10_by_flags() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = d.join("cifar-10-batches-bin");
    fs_err::create_dir(&data).unwrap();
    fake_cifar10(&data, 20);
    let log = train_resnet(
        d,
        &[
            "--dataset",
            "cifar10",
            "--data-dir",
            data.to_str().unwrap(),
            "--train-subset",
            "60",
            "--test-subset",
            "20",
            "--norm",
            "linf",
            "--eps",
            "8/255",
            "--steps",
            "2",
            "--eval-subset",
            "10",
        ],
    );
    assert_eq!(log.data.parameters, PARAMS_RGB);
    assert_eq!(log.meta.data.examples, 60);
    assert_eq!(log.meta.config["data"]["dataset"], "cifar10");
}
