//! Bad input: a clear message naming the file or field and the rule, exit code 1, and no
//! half-written output.

use std::io::Write;

use crate::{advland, user_error};

#[test]
fn unknown_config_key_is_rejected_naming_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    fs_err::write(
        dir.path().join("exp.toml"),
        "[training]\nepochs = 1\nlearning_rate = 0.1\n",
    )
    .unwrap();
    let out = advland(
        dir.path(),
        &["train", "--config", "exp.toml", "--out", "run"],
    );
    user_error(&out, &["exp.toml", "learning_rate"]);
    assert!(
        !dir.path().join("run").exists(),
        "a run directory was created"
    );
}

#[test]
fn invalid_settings_are_all_listed() {
    let dir = tempfile::tempdir().unwrap();
    let out = advland(
        dir.path(),
        &["train", "--epochs", "0", "--lr=-1", "--out", "run"],
    );
    user_error(&out, &["training.epochs", "training.lr"]);
    assert!(!dir.path().join("run").exists());
}

#[test]
fn bad_eps_and_missing_norm_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    user_error(
        &advland(dir.path(), &["train", "--norm", "linf", "--eps", "8/0"]),
        &["denominator"],
    );
    user_error(
        &advland(dir.path(), &["train", "--eps", "0.1"]),
        &["--norm"],
    );
    user_error(&advland(dir.path(), &["train", "--norm", "l3"]), &["l3"]);
}

#[test]
fn corrupt_dataset_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("mnist");
    fs_err::create_dir(&data).unwrap();
    // Valid labels, images with a wrong magic number.
    let mut images = fs_err::File::create(data.join("train-images-idx3-ubyte")).unwrap();
    images
        .write_all(&[0, 0, 8, 1, 0, 0, 0, 1, 0, 0, 0, 28, 0, 0, 0, 28])
        .unwrap();
    images.write_all(&[0u8; 784]).unwrap();
    let mut labels = fs_err::File::create(data.join("train-labels-idx1-ubyte")).unwrap();
    labels.write_all(&[0, 0, 8, 1, 0, 0, 0, 1, 3]).unwrap();
    for name in ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"] {
        fs_err::copy(data.join(name.replace("t10k", "train")), data.join(name)).unwrap();
    }
    let out = advland(
        dir.path(),
        &[
            "train",
            "--dataset",
            "mnist",
            "--data-dir",
            "mnist",
            "--out",
            "run",
        ],
    );
    user_error(&out, &["train-images-idx3-ubyte", "magic"]);
    let out = advland(
        dir.path(),
        &["train", "--dataset", "cifar10", "--data-dir", "nowhere"],
    );
    user_error(&out, &["nowhere"]);
}

#[test]
fn mismatched_weights_are_rejected_naming_the_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let w = vec![0u8; 4 * 10];
    let views = vec![(
        "fc1.bias".to_owned(),
        safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![10], &w).unwrap(),
    )];
    fs_err::write(
        dir.path().join("w.safetensors"),
        safetensors::serialize(views, &None).unwrap(),
    )
    .unwrap();
    let out = advland(
        dir.path(),
        &[
            "eval",
            "--weights",
            "w.safetensors",
            "--model",
            "mlp",
            "--hidden",
            "16",
        ],
    );
    user_error(
        &out,
        &[
            "w.safetensors",
            "tensor fc1.bias has shape [10] in the file, the model expects [16]",
            "missing tensor fc1.weight",
        ],
    );
    fs_err::write(dir.path().join("junk.safetensors"), b"junk").unwrap();
    let out = advland(
        dir.path(),
        &["eval", "--weights", "junk.safetensors", "--model", "cnn"],
    );
    user_error(&out, &["junk.safetensors"]);
    let out = advland(dir.path(), &["eval", "--checkpoint", "missing-dir"]);
    user_error(&out, &["missing-dir"]);
}

#[test]
fn surface_directions_that_do_not_fit_their_models_are_refused_before_loading() {
    let dir = tempfile::tempdir().unwrap();
    let surface = |extra: &[&str]| {
        let mut args = vec!["surface", "--checkpoint", "absent", "--out", "s.json"];
        args.extend(extra);
        advland(dir.path(), &args)
    };
    user_error(
        &surface(&["--directions", "plane", "--to", "b"]),
        &["--to", "plane directions take 2 other model(s), got 1"],
    );
    user_error(
        &surface(&[
            "--directions",
            "interpolation",
            "--to",
            "b",
            "--y",
            "-1:1:3",
        ]),
        &["--y", "1-D"],
    );
    user_error(
        &surface(&["--load-directions", "d.safetensors", "--to", "b"]),
        &["--to", "loaded directions take no other models"],
    );
    assert!(!dir.path().join("s.json").exists());
}

/// A standard model has no training attack to stand in for --norm/--eps: each command whose
/// loss needs one says which flag asked for it.
#[test]
fn an_adversarial_loss_of_a_standard_model_needs_its_attack() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    crate::train_mlp(d, "8", "1", ["100", "50"], &[]);
    let needs = "needs --norm and --eps (the checkpoint was trained without an attack)";
    let cases: [(&[&str], &str); 3] = [
        (
            &[
                "sharpness",
                "hessian",
                "--checkpoint",
                "run",
                "--subset",
                "50",
            ],
            "--objective adversarial",
        ),
        (
            &[
                "surface",
                "--checkpoint",
                "run",
                "--objective",
                "clean,adversarial",
                "--subset",
                "50",
                "--out",
                "s.json",
            ],
            "an adversarial --objective",
        ),
        (
            &[
                "connect",
                "--checkpoint",
                "run",
                "--to",
                "run",
                "--scan-adversarial",
                "--out",
                "c.json",
            ],
            "--objective adversarial or --scan-adversarial",
        ),
    ];
    for (args, needed_by) in cases {
        user_error(&advland(d, args), &[needed_by, needs]);
    }
    assert!(!d.join("s.json").exists() && !d.join("c.json").exists());
}
