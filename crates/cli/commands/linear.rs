//! `advland linear` (being written).

/// Arguments of `advland linear`.
#[derive(Debug, clap::Args)]
pub struct LinearArgs {}

/// Runs `advland linear`.
pub fn run(_args: &LinearArgs, _device_name: &str) -> anyhow::Result<()> {
    anyhow::bail!("advland linear is not built yet")
}
