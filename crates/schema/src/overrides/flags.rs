//! The training settings as command-line flags (the `clap` feature): a training file and
//! [`TrainOverrides`] of it, and `--model` with its size flags ([`ModelOverrides`] with the
//! published names of wide ResNets, `wrn-34-10`, that fix a depth and a widening factor).

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{ModelOverrides, TrainOverrides};
use crate::error::Result;
use crate::settings::{ModelKind, ModelSpec, TrainSettings};

/// A training file and the flags that override it (`advland train`'s settings).
#[derive(Clone, Debug, Default, PartialEq, Args)]
pub struct TrainFlags {
    /// Training file (TOML, e.g. `analysis/<name>/train.toml`); flags override its values.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The training settings' flags.
    #[command(flatten)]
    pub overrides: TrainOverrides,
    /// Architecture.
    #[command(flatten, next_help_heading = "Model")]
    pub model: ModelArgs,
}

impl TrainFlags {
    /// The flags as overrides, the architecture's included.
    pub fn overrides(&self) -> TrainOverrides {
        TrainOverrides {
            model: self.model.overrides(),
            ..self.overrides.clone()
        }
    }

    /// The settings of `--config` (or the defaults) with the flags applied and checked.
    ///
    /// # Errors
    /// As [`TrainOverrides::resolve`].
    pub fn resolve(&self) -> Result<TrainSettings> {
        self.overrides().resolve(self.config.as_deref())
    }

    /// Whether `--config` or any flag that sets a training setting was given.
    pub fn settings_given(&self) -> bool {
        self.config.is_some() || !self.overrides().is_empty()
    }
}

/// Which architecture, overriding the training file (or describing `--weights`).
#[derive(Debug, Args, Clone, Default, PartialEq)]
pub struct ModelArgs {
    /// Architecture: mlp, cnn, resnet (BN-free), preact-resnet18, wide-resnet, or by name
    /// wrn-34-10 / wrn-28-10 (wide-resnet with that depth and widening factor).
    #[arg(id = "model", long = "model", value_parser = parse_model, value_name = "ARCH")]
    pub kind: Option<ModelName>,
    /// Its sizes and the other architecture flags.
    #[command(flatten)]
    pub sizes: ModelOverrides,
}

/// `--model`: an architecture, possibly with the sizes its published name fixes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelName {
    /// The architecture.
    pub kind: ModelKind,
    /// `wide-resnet`'s depth, when the name gives it.
    pub depth: Option<usize>,
    /// `wide-resnet`'s widening factor, when the name gives it.
    pub widen: Option<usize>,
}

/// `--model`: an architecture's name (`cnn`, `preact-resnet18`, …) or a wide ResNet's
/// published one (`wrn-34-10`, `wrn-28-10`); --depth/--widen, if given, win.
///
/// # Errors
/// An unknown name, listing the known ones.
pub fn parse_model(text: &str) -> std::result::Result<ModelName, String> {
    let named = |depth, widen| ModelName {
        kind: ModelKind::WideResnet,
        depth: Some(depth),
        widen: Some(widen),
    };
    match text {
        "wrn-34-10" => return Ok(named(34, 10)),
        "wrn-28-10" => return Ok(named(28, 10)),
        _ => {}
    }
    let kinds: Vec<String> = ModelKind::value_variants()
        .iter()
        .filter_map(|k| k.to_possible_value().map(|v| v.get_name().to_owned()))
        .collect();
    ModelKind::from_str(text, false)
        .map(|kind| ModelName {
            kind,
            depth: None,
            widen: None,
        })
        .map_err(|_| {
            format!(
                "'{text}': unknown architecture; expected one of {}, wrn-34-10, wrn-28-10",
                kinds.join(", ")
            )
        })
}

impl ModelArgs {
    /// The flags as the library's overrides: `--model`'s published names (wrn-34-10) carry a
    /// depth and width that `--depth`/`--widen` replace.
    pub fn overrides(&self) -> ModelOverrides {
        let name = self.kind;
        ModelOverrides {
            kind: name.map(|n| n.kind),
            depth: self.sizes.depth.or(name.and_then(|n| n.depth)),
            widen: self.sizes.widen.or(name.and_then(|n| n.widen)),
            ..self.sizes.clone()
        }
    }

    /// `spec` with the given flags in place of its values.
    pub fn apply(&self, spec: ModelSpec) -> ModelSpec {
        self.overrides().apply(spec)
    }
}

#[cfg(test)]
#[path = "flags_tests.rs"]
mod tests;
