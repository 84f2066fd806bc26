//! Researchers' own models: PyTorch `.pt` files of batch-norm networks, saved as
//! robust_overfitting saves `model_best.pth` (`bench/make_model_fixtures.py`), read with
//! `--weights` by every analysis command and by `advland import`, on CIFAR-10 as torchvision
//! leaves it (`bench/make_cifar_fixtures.py`).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::{advland, ok, user_error};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The narrow PreAct-ResNet-18 of the fixtures.
const PREACT: [&str; 4] = ["--model", "preact-resnet18", "--base-width", "4"];
/// The WRN-16-2 of the fixtures, with CIFAR-10's normalisation inside.
const WRN: [&str; 10] = [
    "--model",
    "wide-resnet",
    "--depth",
    "16",
    "--widen",
    "2",
    "--base-width",
    "4",
    "--normalize",
    "cifar10",
];

/// `--weights FILE`, the architecture flags and the CIFAR-10 fixture as the data.
fn weights(file: &Path, model: &[&str]) -> Vec<String> {
    let mut args = vec!["--weights".to_owned(), file.display().to_string()];
    args.extend(model.iter().map(|a| (*a).to_owned()));
    args.extend(cifar());
    args
}

fn cifar() -> Vec<String> {
    let dir = fixtures().join("cifar").display().to_string();
    vec![
        "--dataset".into(),
        "cifar10".into(),
        "--data-dir".into(),
        dir,
    ]
}

/// `--weights` of the narrow PreAct-ResNet-18 file `file` of the fixtures.
fn preact(file: &str) -> Vec<String> {
    weights(&fixtures().join("torch").join(file), &PREACT)
}

/// `advland import` of the PreAct `.pt` fixture into `out`, with `extra` flags.
fn import_preact(d: &Path, out: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["import".to_owned()];
    args.push(fixtures().join("torch/preact_w4.pt").display().to_string());
    args.extend(PREACT.map(str::to_owned));
    args.extend(cifar());
    args.extend(["--out".to_owned(), out.to_owned()]);
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    advland(d, &args)
}

fn run(d: &Path, args: &[&str], source: &[String]) -> String {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(source.iter().map(String::as_str));
    ok(&advland(d, &all))
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&fs_err::read(path).unwrap()).unwrap()
}

/// The `.pt` file and its safetensors copy give the same model, and an imported checkpoint the
/// same numbers again; the report keeps the file's provenance and the APGD attacks' worst case.
#[test]
fn eval_reads_pytorch_checkpoints_with_their_provenance() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let attacks = [
        "eval",
        "-q",
        "--attack",
        "linf:8/255:5",
        "--attack",
        "apgd-ce:linf:8/255:10",
        "--attack",
        "apgd-t:linf:8/255:10",
    ];
    let eval = |name: &str, source: &[String]| {
        let mut args = attacks.to_vec();
        args.extend(["--out", name]);
        run(d, &args, source);
        json(&d.join(name))
    };
    let pt = eval("pt.json", &preact("preact_w4.pt"));
    let st = eval("st.json", &preact("preact_w4.safetensors"));
    assert_eq!(pt["data"]["result"], st["data"]["result"]);
    let weights = &pt["meta"]["weights"][0];
    assert_eq!(weights["format"], "pytorch-zip");
    assert_eq!(weights["extras"]["test_robust_acc"], 0.5);
    assert_eq!(weights["extras"]["epoch"], 3);
    let notes = weights["notes"].to_string();
    assert!(notes.contains("module."), "{notes}");
    assert!(notes.contains("num_batches_tracked"), "{notes}");
    let result = &pt["data"]["result"];
    assert_eq!(result["attacks"].as_array().unwrap().len(), 3);
    let worst = result["worst_case"]["metrics"]["accuracy"]
        .as_f64()
        .unwrap();
    for a in result["attacks"].as_array().unwrap() {
        assert!(worst <= a["metrics"]["accuracy"].as_f64().unwrap());
    }

    // `import` writes a checkpoint that every command reads like a trained one.
    let stdout = ok(&import_preact(d, "imported", &[]));
    assert!(stdout.contains("imported"), "{stdout}");
    assert_eq!(
        json(&d.join("imported/source.json"))["sha256"],
        weights["sha256"]
    );
    let mut args = attacks.to_vec();
    args.extend(["--checkpoint", "imported", "--out", "ckpt.json"]);
    ok(&advland(d, &args));
    assert_eq!(
        json(&d.join("ckpt.json"))["data"]["result"],
        pt["data"]["result"]
    );
}

/// Hessian top-k, flatness and a 1-D interpolation surface straight from the `.pt` file; the
/// surface's end points are the two models' clean losses.
#[test]
fn analyses_run_from_a_pytorch_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let source = preact("preact_w4.pt");
    run(
        d,
        &[
            "sharpness",
            "hessian",
            "-q",
            "--objective",
            "adversarial",
            "--norm",
            "linf",
            "--eps",
            "8/255",
            "--steps",
            "3",
            "--subset",
            "3",
            "--k",
            "2",
            "--out",
            "h.json",
        ],
        &source,
    );
    let h = json(&d.join("h.json"));
    assert_eq!(
        h["data"]["estimate"]["eigenvalues"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(h["meta"]["weights"][0]["extras"]["test_robust_acc"], 0.5);

    run(
        d,
        &[
            "flatness", "-q", "--norm", "l2", "--eps", "0.5", "--steps", "3", "--subset", "2",
            "--out", "f.json",
        ],
        &source,
    );
    assert_eq!(json(&d.join("f.json"))["data"]["examples"], 2);

    // A second model of the same architecture: one epoch of advland's own training, exported
    // with PyTorch's names.
    let f = fixtures();
    ok(&advland(
        d,
        &[
            "train",
            "-q",
            "--model",
            "preact-resnet18",
            "--base-width",
            "4",
            "--dataset",
            "cifar10",
            "--data-dir",
            &f.join("cifar").display().to_string(),
            "--epochs",
            "1",
            "--batch-size",
            "8",
            "--out",
            "run",
        ],
    ));
    ok(&advland(
        d,
        &[
            "export",
            "--checkpoint",
            "run",
            "--out",
            "other.safetensors",
        ],
    ));
    run(
        d,
        &[
            "surface",
            "-q",
            "--directions",
            "interpolation",
            "--to",
            "other.safetensors",
            "--x=0:1:2",
            "--subset",
            "3",
            "--objective",
            "clean",
            "--out",
            "s.json",
        ],
        &source,
    );
    let s = json(&d.join("s.json"));
    let loss = s["data"]["values"][0]["loss"].as_array().unwrap().clone();
    // x = 0 is the `.pt` model itself: eval's clean loss on the same three images.
    run(
        d,
        &["eval", "-q", "--test-subset", "3", "--out", "origin.json"],
        &source,
    );
    let clean = json(&d.join("origin.json"))["data"]["result"]["clean"]["loss"]
        .as_f64()
        .unwrap();
    let at = loss[0].as_f64().unwrap();
    assert!(
        (at - clean).abs() < 1e-5 * clean.max(1.0),
        "{at} vs {clean}"
    );
    // x = 1 has the other model's θ but the origin's running statistics (a direction moves θ
    // only), so it is not that model's own loss.
    run(
        d,
        &[
            "eval",
            "-q",
            "--test-subset",
            "3",
            "--checkpoint",
            "run",
            "--out",
            "end.json",
        ],
        &[],
    );
    let other = json(&d.join("end.json"))["data"]["result"]["clean"]["loss"]
        .as_f64()
        .unwrap();
    let end = loss[1].as_f64().unwrap();
    assert!(
        end.is_finite() && (end - other).abs() > 1e-6,
        "{end} vs {other}"
    );
}

/// The TRADES-layout WideResNet (WRN-16-2 at base width 4, CIFAR-10 normalisation inside the
/// model): eval, Hessian top-1, a 1-D adversarial surface and flatness straight from its `.pt`.
#[test]
fn wide_resnet_checkpoint_gets_every_analysis() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let f = fixtures();
    let source = weights(&f.join("torch/wrn16_2_b4.pt"), &WRN);
    run(
        d,
        &[
            "eval",
            "-q",
            "--attack",
            "autoattack-lite:l2:0.5:5",
            "--out",
            "e.json",
        ],
        &source,
    );
    let e = json(&d.join("e.json"));
    assert!(e["data"]["result"]["worst_case"]["metrics"]["accuracy"].is_number());
    run(
        d,
        &[
            "sharpness",
            "hessian",
            "-q",
            "--objective",
            "clean",
            "--subset",
            "3",
            "--k",
            "1",
            "--out",
            "h.json",
        ],
        &source,
    );
    let h = json(&d.join("h.json"));
    assert!(h["data"]["estimate"]["eigenvalues"][0]["value"].is_number());
    // One adversarial line, with the model's own running statistics and with statistics
    // re-estimated at every point on the 15 training images.
    let line = [
        "surface",
        "-q",
        "--objective",
        "adversarial",
        "--norm",
        "linf",
        "--eps",
        "8/255",
        "--steps",
        "2",
        "--x=-1:1:3",
        "--subset",
        "3",
    ];
    let with = |extra: &[&'static str]| [&line[..], extra].concat();
    run(d, &with(&["--out", "s.json"]), &source);
    let s = json(&d.join("s.json"));
    assert_eq!(s["data"]["values"][0]["loss"].as_array().unwrap().len(), 3);
    assert_eq!(s["meta"]["weights"][0]["format"], "pytorch-zip");
    run(
        d,
        &with(&[
            "--bn",
            "recompute",
            "--bn-examples",
            "15",
            "--out",
            "r.json",
        ]),
        &source,
    );
    let r = json(&d.join("r.json"));
    assert_eq!(r["data"]["bn_recompute"], 15);
    assert!(s["data"].get("bn_recompute").is_none());
    let own = s["data"]["values"][0]["loss"].as_array().unwrap();
    let re = r["data"]["values"][0]["loss"].as_array().unwrap();
    assert!(
        own.iter()
            .zip(re)
            .any(|(a, b)| (a.as_f64().unwrap() - b.as_f64().unwrap()).abs() > 1e-6),
        "{own:?} vs {re:?}"
    );
    run(
        d,
        &[
            "flatness", "-q", "--norm", "linf", "--eps", "8/255", "--steps", "2", "--subset", "2",
            "--out", "f.json",
        ],
        &source,
    );
    assert_eq!(json(&d.join("f.json"))["data"]["examples"], 2);
}

/// Some RobustBench WideResNet files carry an unused `sub_block1` (never called in
/// `forward`): `wide-resnet` drops it without flags and says so; the same tensors under another
/// architecture are still unexpected.
#[test]
fn robustbench_sub_block1_is_dropped_with_a_note() {
    use safetensors::tensor::TensorView;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let f = fixtures();
    let bytes = fs_err::read(f.join("torch/wrn16_2_b4.safetensors")).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut tensors: Vec<(String, TensorView<'_>)> = file
        .tensors()
        .into_iter()
        .map(|(name, view)| (name.clone(), view))
        .collect();
    let extra: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .filter(|(name, _)| name.starts_with("block1."))
        .map(|(name, view)| (name.replacen("block1.", "sub_block1.", 1), view.clone()))
        .collect();
    let added = extra.len();
    assert!(added > 0);
    tensors.extend(extra);
    safetensors::serialize_to_file(tensors, &None, &d.join("rb.safetensors")).unwrap();
    let eval = |model: &[&str]| {
        let mut args = vec!["eval".to_owned(), "-q".to_owned()];
        args.extend(weights(&d.join("rb.safetensors"), model));
        args.extend(["--out".to_owned(), "rb.json".to_owned()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        advland(d, &args)
    };
    ok(&eval(&WRN));
    let notes = json(&d.join("rb.json"))["meta"]["weights"][0]["notes"].to_string();
    assert!(notes.contains("sub_block1"), "{notes}");
    assert!(notes.contains("ignored"), "{notes}");
    user_error(&eval(&PREACT), &["unexpected tensor sub_block1."]);
}

/// Strict loading: a wrong architecture or a key map that renames the classifier away lists
/// every problem with the closest name, and a bad rule names its flag; exit code 1.
#[test]
fn mismatched_weights_are_refused_with_every_problem_listed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut source = preact("preact_w4.pt");
    source.extend(["--key-map".to_owned(), r"^linear\.=fc.".to_owned()]);
    let mut args = vec!["eval", "-q"];
    args.extend(source.iter().map(String::as_str));
    user_error(
        &advland(d, &args),
        &[
            "preact_w4.pt",
            "missing tensor linear.weight",
            "did you mean fc.weight",
            "unexpected tensor fc.bias",
        ],
    );

    let wrong = preact("wrn16_2_b4.pt");
    let mut args = vec!["eval", "-q"];
    args.extend(wrong.iter().map(String::as_str));
    let err = user_error(
        &advland(d, &args),
        &["wrn16_2_b4.pt", "missing tensor", "unexpected tensor"],
    );
    assert!(err.contains("block1.layer.0"), "{err}");

    let mut bad = preact("preact_w4.pt");
    bad.extend(["--key-map".to_owned(), "no-equals-sign".to_owned()]);
    let mut args = vec!["eval", "-q"];
    args.extend(bad.iter().map(String::as_str));
    user_error(&advland(d, &args), &["--key-map", "REGEX=REPLACEMENT"]);

    // `import` never replaces what is not a checkpoint.
    fs_err::create_dir(d.join("taken")).unwrap();
    fs_err::write(d.join("taken/notes.txt"), "mine").unwrap();
    user_error(
        &import_preact(d, "taken", &["--overwrite"]),
        &["--out", "not a checkpoint directory"],
    );
    assert_eq!(
        fs_err::read_to_string(d.join("taken/notes.txt")).unwrap(),
        "mine"
    );
}

/// `--normalize` is a first layer of any model: recorded in the checkpoint's spec, so eval of
/// the checkpoint sees the same function, and it changes the model (ε stays in pixel units).
#[test]
fn input_normalisation_is_recorded_with_any_model() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let train = |out: &str, extra: &[&str]| {
        let mut args = vec![
            "train",
            "-q",
            "--model",
            "cnn",
            "--epochs",
            "1",
            "--train-subset",
            "200",
            "--test-subset",
            "50",
            "--eval-subset",
            "50",
            "--out",
            out,
        ];
        args.extend(extra);
        ok(&advland(d, &args));
        json(&d.join(out).join("train.json"))
    };
    let normed = train("normed", &["--normalize", "0.286/0.353"]);
    let plain = train("plain", &[]);
    let ckpt = json(&d.join("normed/checkpoints/epoch-0001/checkpoint.json"));
    assert_eq!(ckpt["model"]["normalize"]["mean"][0], 0.286);
    assert_ne!(
        normed["data"]["epochs"][0]["train_objective"]["loss"],
        plain["data"]["epochs"][0]["train_objective"]["loss"]
    );
    ok(&advland(
        d,
        &[
            "eval",
            "-q",
            "--checkpoint",
            "normed",
            "--test-subset",
            "50",
            "--out",
            "e.json",
        ],
    ));
    let clean = json(&d.join("e.json"))["data"]["result"]["clean"]["loss"].clone();
    assert_eq!(clean, normed["data"]["epochs"][0]["test"]["clean"]["loss"]);
}

/// Worst-case sharpness of a PyTorch batch-norm network: the loss uses the running statistics,
/// which the report says; biases and batch norm stay fixed by default, and all of θ moves
/// with `--perturbed all`.
#[test]
fn worst_case_sharpness_runs_on_pytorch_weights_with_batch_norm() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let source = preact("preact_w4.pt");
    let mut scalars = Vec::new();
    for perturbed in ["weights", "all"] {
        let out = format!("{perturbed}.json");
        let args = [
            "sharpness",
            "worst-case",
            "-q",
            "--objective",
            "clean",
            "--subset",
            "2",
            "--m",
            "1",
            "--iterations",
            "2",
            "--perturbed",
            perturbed,
            "--out",
            &out,
        ];
        run(d, &args, &source);
        let (r, w) = crate::weight_sharpness::weight_result(&d.join(&out));
        assert!(w.batch_norm.starts_with("eval"), "{}", w.batch_norm);
        assert_eq!(w.batches.len(), 2);
        assert!(!r.meta.weights.is_empty());
        scalars.push((w.perturbed_scalars, r.data.objective.parameters));
    }
    assert!(scalars[0].0 < scalars[0].1, "{scalars:?}");
    assert_eq!(scalars[1].0, scalars[1].1);
}
