//! Which network to build: the architecture and its sizes.

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The architecture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// flatten → (Linear → ReLU)* → Linear.
    Mlp,
    /// conv3x3(16) → ReLU → maxpool2 → conv3x3(32) → ReLU → maxpool2 → Linear(classes).
    Cnn,
    /// Pre-activation ResNet without batch norm; `blocks` per stage, `width` channels first.
    Resnet,
}

/// Which model to build.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelSpec {
    /// The architecture.
    pub kind: ModelKind,
    /// Hidden layer widths of the MLP (ignored by the others).
    pub hidden: Vec<usize>,
    /// Residual blocks per stage of the ResNet (ignored by the others); `[2, 2, 2, 2]` is
    /// ResNet-18's layout.
    pub blocks: Vec<usize>,
    /// Channels of the ResNet's first stage, doubled at every later stage (ignored by the
    /// others).
    pub width: usize,
}

impl Default for ModelSpec {
    fn default() -> Self {
        Self {
            kind: ModelKind::Cnn,
            hidden: vec![128],
            blocks: vec![2, 2, 2, 2],
            width: 64,
        }
    }
}

impl ModelSpec {
    /// Every rule the spec breaks, each naming `prefix.field`.
    pub fn problems(&self, prefix: &str) -> Vec<Error> {
        let mut problems = Vec::new();
        if self.kind == ModelKind::Mlp && self.hidden.contains(&0) {
            problems.push(Error::invalid(
                format!("{prefix}.hidden"),
                "widths must be >= 1",
            ));
        }
        if self.kind == ModelKind::Resnet {
            if self.blocks.is_empty() || self.blocks.contains(&0) {
                problems.push(Error::invalid(
                    format!("{prefix}.blocks"),
                    "needs one or more stages, each of >= 1 block",
                ));
            }
            if self.width == 0 {
                problems.push(Error::invalid(format!("{prefix}.width"), "must be >= 1"));
            }
        }
        problems
    }
}
