//! The `advland` command-line program.

mod args;
mod commands;
mod meta;
mod model_source;
mod progress;
mod render;
mod training;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

/// mimalloc: burn's CPU backend allocates a fresh buffer per op, and the system allocator
/// made PGD-10 on 1,000 images 2.2× slower (4.9 s vs 2.2 s, see the README's benchmark line).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Usage errors exit with 1 like every other bad input (clap's default is 2); help and
    // version requests are not errors.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", message(&err));
            ExitCode::from(1)
        }
    }
}

/// The error and its causes joined by ": ", skipping a cause whose text the message already
/// ends with: error types that print their source (`path: reason`) and also return it from
/// `source()` would otherwise show every reason twice.
fn message(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let part = cause.to_string();
        if text.ends_with(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

pub(crate) fn run(cli: &Cli) -> anyhow::Result<()> {
    let advland_analysis::device::OpenDevice {
        device,
        name: device_name,
    } = cli.global.device.open().map_err(args::flag_error)?;
    let quiet = cli.global.quiet;
    match &cli.command {
        Command::Train(a) => commands::train::run(a, &device, &device_name, quiet),
        Command::Eval(a) => commands::eval::run(a, &device, &device_name, quiet),
        Command::Export(a) => commands::export::run(a, &device),
        Command::Import(a) => commands::import::run(a, &device),
        Command::Sharpness(a) => commands::sharpness::run(a, &device, &device_name, quiet),
        Command::Flatness(a) => a.run(&device, &device_name),
        Command::Calibrate(a) => commands::calibrate::run(a, &device, &device_name),
        Command::Perturbation(a) => a.run(&device, &device_name),
        Command::Bound(a) => a.run(&device, &device_name),
        Command::Relate(a) => commands::relate::run(a, &device, &device_name, quiet),
        Command::Surface(a) => commands::surface::run(a, &device, &device_name, quiet),
        Command::Connect(a) => commands::connect::run(a, &device, &device_name),
        Command::Merge(a) => commands::merge::run(a),
        Command::ExportGrid(a) => commands::export_grid::run(a),
        Command::Report(a) => commands::report::run(a),
        Command::Compare(a) => commands::compare::run(a, &device_name),
        Command::Experiment(a) => commands::experiment::run(a, &cli.global),
        Command::Linear(a) => commands::linear::run(a, &device_name),
        Command::Demo(a) => commands::demo::run(a, &device, &device_name, quiet),
    }
}
