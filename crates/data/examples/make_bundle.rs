//! Regenerates the bundled Fashion-MNIST subset from the full dataset.
//!
//! Usage: `make_bundle FULL_DIR OUT_DIR [TRAIN_PER_CLASS TEST_PER_CLASS]` (defaults 800, 200).

use std::path::PathBuf;
use std::process::ExitCode;

use advland_data::{BUNDLE_TEST_PER_CLASS, BUNDLE_TRAIN_PER_CLASS};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("make_bundle: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: make_bundle FULL_DIR OUT_DIR [TRAIN_PER_CLASS TEST_PER_CLASS]";
    let (full_dir, out_dir, train, test) = match args.as_slice() {
        [full, out] => (full, out, BUNDLE_TRAIN_PER_CLASS, BUNDLE_TEST_PER_CLASS),
        [full, out, train, test] => {
            let parse = |s: &String| s.parse::<usize>().map_err(|e| format!("{s}: {e}; {usage}"));
            (full, out, parse(train)?, parse(test)?)
        }
        _ => return Err(usage.to_owned()),
    };
    let full =
        advland_data::fashion_mnist_full(&PathBuf::from(full_dir)).map_err(|e| e.to_string())?;
    let out = PathBuf::from(out_dir);
    advland_data::make_fashion_mnist_bundle(&full, &out, train, test).map_err(|e| e.to_string())?;
    println!(
        "wrote {} train + {} test examples to {}",
        train * full.train.num_classes,
        test * full.test.num_classes,
        out.display()
    );
    Ok(())
}
