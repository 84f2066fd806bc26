//! Report metadata the CLI knows: versions, command line, device, time.

use std::sync::OnceLock;
use std::time::Instant;

use advland_analysis::Measured;
use advland_schema::{DataSubset, Host, Meta, Payload, Provenance, Report, peak_rss_mib};
use serde::Serialize;

/// The command line reports record, the program named `advland` whatever path started it (an
/// experiment's steps run the binary by its full path).
pub fn command_line() -> Vec<String> {
    std::env::args()
        .enumerate()
        .map(|(i, a)| if i == 0 { "advland".to_owned() } else { a })
        .collect()
}

/// Metadata with zero duration and cost (filled in by whoever finishes the work), with this
/// process's command line and provenance.
pub fn meta<C: Serialize>(device: &str, seed: u64, config: &C, data: DataSubset) -> Meta {
    Meta {
        provenance: provenance(),
        ..advland_analysis::subject::meta(config, seed, command_line(), device, data)
    }
}

/// The report of a library result: `config` (the analysis configuration) recorded whole,
/// duration counted from `start`.
pub fn report<T: Payload, C: Serialize>(
    measured: Measured<T>,
    config: &C,
    seed: u64,
    device: &str,
    start: Instant,
) -> Report<T> {
    let mut report = measured.into_report(
        config,
        seed,
        command_line(),
        device,
        start.elapsed().as_secs_f64(),
    );
    report.meta.provenance = provenance();
    report
}

/// The revision this binary was built from (recorded by `build.rs`), its SHA-256 and the
/// processor with the thread pool's size (both read once per process), and the process's peak
/// memory now.
pub fn provenance() -> Provenance {
    static BINARY: OnceLock<Option<String>> = OnceLock::new();
    static HOST: OnceLock<Host> = OnceLock::new();
    let binary = BINARY.get_or_init(|| {
        let path = std::env::current_exe().ok()?;
        advland_schema::file_sha256(&path).ok()
    });
    Provenance {
        source_revision: option_env!("ADVLAND_SOURCE_REVISION").map(str::to_owned),
        binary_sha256: binary.clone(),
        peak_rss_mib: peak_rss_mib(),
        host: Some(
            HOST.get_or_init(|| Host::detect(rayon::current_num_threads()))
                .clone(),
        ),
    }
}
