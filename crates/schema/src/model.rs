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
    /// robust_overfitting's / AWP's `PreActResNet18` with batch norm (PyTorch names);
    /// `base_width` channels in the first stage (64 as published).
    PreactResnet18,
    /// The TRADES / RobustBench `WideResNet` (WRN-`depth`-`widen`) with batch norm (PyTorch
    /// names); `base_width` channels in the stem (16 as published).
    WideResnet,
}

/// The MLP's hidden nonlinearity.
///
/// ReLU makes the network piecewise linear, so its input Hessian through a frozen activation
/// pattern is JᵀHJ (positive semi-definite by construction). The smooth ones have curvature of
/// their own, so the input Hessian at an attack's optimum can show the concavity the paper's
/// Proposition A is about.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Activation {
    /// max(0, z): piecewise linear, gates recorded and replayed for exact local curvature.
    #[default]
    Relu,
    /// ln(1 + eᶻ) (PyTorch's `Softplus` with β = 1).
    Softplus,
    /// z·Φ(z) with the exact normal CDF (PyTorch's `GELU()`).
    Gelu,
}

impl Activation {
    /// Whether this is [`Activation::Relu`] (serde's test for leaving the default out).
    pub fn is_relu(&self) -> bool {
        *self == Activation::Relu
    }
}

/// Which statistics batch normalisation uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BnMode {
    /// The running statistics (PyTorch's `model.eval()`): the loss is a function of θ alone.
    Eval,
    /// The batch's statistics, updating the running ones (PyTorch's `model.train()`).
    #[default]
    Train,
}

impl BnMode {
    /// Whether this is [`BnMode::Train`] (serde's test for leaving the default out).
    pub fn is_train(&self) -> bool {
        *self == BnMode::Train
    }
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
    /// Depth of the wide ResNet, 6n + 4 for n blocks per stage (34 when absent; ignored by the
    /// others).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depth: Option<usize>,
    /// Widening factor k of the wide ResNet (10 when absent; ignored by the others).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub widen: Option<usize>,
    /// Base channel count of the batch-norm models: the first stage of `preact-resnet18` (64
    /// when absent), the stem of `wide-resnet` (16 when absent, its stages then having
    /// base·k, 2·base·k, 4·base·k channels). Smaller values give narrow copies of the same
    /// structure for tests and demos. Ignored by the others (the BN-free ResNet has `width`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_width: Option<usize>,
    /// Per-channel input normalisation (x − mean)/std as the model's first layer, so that
    /// inputs, and attack radii, stay in pixel units; constants, not parameters. Any kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub normalize: Option<Normalize>,
    /// The MLP's hidden nonlinearity (ReLU unless given; the other kinds are ReLU networks and
    /// refuse another).
    #[serde(skip_serializing_if = "Activation::is_relu")]
    pub activation: Activation,
}

/// Per-channel normalisation of the inputs, applied inside the model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Normalize {
    /// Subtracted from each channel (CIFAR-10: 0.4914, 0.4822, 0.4465).
    pub mean: Vec<f64>,
    /// Each channel is divided by this after the mean is subtracted (CIFAR-10: 0.2471,
    /// 0.2435, 0.2616).
    pub std: Vec<f64>,
}

/// Depth of the wide ResNet when [`ModelSpec::depth`] is absent (WRN-34-10, TRADES).
pub const WRN_DEFAULT_DEPTH: usize = 34;
/// Widening factor when [`ModelSpec::widen`] is absent.
pub const WRN_DEFAULT_WIDEN: usize = 10;

impl Default for ModelSpec {
    fn default() -> Self {
        Self {
            kind: ModelKind::Cnn,
            hidden: vec![128],
            blocks: vec![2, 2, 2, 2],
            width: 64,
            depth: None,
            widen: None,
            base_width: None,
            normalize: None,
            activation: Activation::Relu,
        }
    }
}

impl ModelSpec {
    /// The wide ResNet's depth ([`WRN_DEFAULT_DEPTH`] when absent).
    pub fn wrn_depth(&self) -> usize {
        self.depth.unwrap_or(WRN_DEFAULT_DEPTH)
    }

    /// The wide ResNet's widening factor ([`WRN_DEFAULT_WIDEN`] when absent).
    pub fn wrn_widen(&self) -> usize {
        self.widen.unwrap_or(WRN_DEFAULT_WIDEN)
    }

    /// The batch-norm models' base width: as given, else the published one (64 for
    /// `preact-resnet18`, 16 for `wide-resnet`, 0 for the kinds without one).
    pub fn base_channels(&self) -> usize {
        self.base_width.unwrap_or(match self.kind {
            ModelKind::PreactResnet18 => 64,
            ModelKind::WideResnet => 16,
            ModelKind::Mlp | ModelKind::Cnn | ModelKind::Resnet => 0,
        })
    }

    /// Every rule the spec breaks, each naming `prefix.field`.
    pub fn problems(&self, prefix: &str) -> Vec<Error> {
        let mut problems = Vec::new();
        if self.kind == ModelKind::Mlp && self.hidden.contains(&0) {
            problems.push(Error::invalid(
                format!("{prefix}.hidden"),
                "widths must be >= 1",
            ));
        }
        if self.kind != ModelKind::Mlp && !self.activation.is_relu() {
            problems.push(Error::invalid(
                format!("{prefix}.activation"),
                "only the mlp takes another activation than relu",
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
        if matches!(self.kind, ModelKind::PreactResnet18 | ModelKind::WideResnet)
            && self.base_width == Some(0)
        {
            problems.push(Error::invalid(
                format!("{prefix}.base_width"),
                "must be >= 1",
            ));
        }
        if self.kind == ModelKind::WideResnet {
            let depth = self.wrn_depth();
            if depth < 10 || !(depth - 4).is_multiple_of(6) {
                problems.push(Error::invalid(
                    format!("{prefix}.depth"),
                    format!("must be 6n + 4 with n >= 1 blocks per stage (10, 16, 28, 34, ...), got {depth}"),
                ));
            }
            if self.wrn_widen() == 0 {
                problems.push(Error::invalid(format!("{prefix}.widen"), "must be >= 1"));
            }
        }
        if let Some(n) = &self.normalize {
            let field = format!("{prefix}.normalize");
            if n.mean.is_empty() || n.mean.len() != n.std.len() {
                problems.push(Error::invalid(
                    field.clone(),
                    format!(
                        "needs one mean and one std per input channel, got {} and {}",
                        n.mean.len(),
                        n.std.len()
                    ),
                ));
            }
            if n.mean.iter().any(|m| !m.is_finite()) {
                problems.push(Error::invalid(format!("{field}.mean"), "must be finite"));
            }
            if n.std.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
                problems.push(Error::invalid(
                    format!("{field}.std"),
                    "must be finite and > 0",
                ));
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toml(text: &str) -> Result<ModelSpec, toml::de::Error> {
        toml::from_str(text)
    }

    #[test]
    fn bn_models_parse_with_kebab_case_names_and_defaults() {
        let spec = toml("kind = \"preact-resnet18\"\nbase_width = 8").unwrap();
        assert_eq!(spec.kind, ModelKind::PreactResnet18);
        assert_eq!(spec.base_channels(), 8);
        let spec = toml("kind = \"wide-resnet\"").unwrap();
        assert_eq!((spec.wrn_depth(), spec.wrn_widen()), (34, 10));
        assert_eq!(spec.base_channels(), 16);
        let spec = toml(
            "kind = \"wide-resnet\"\ndepth = 28\nwiden = 10\n\
             [normalize]\nmean = [0.4914, 0.4822, 0.4465]\nstd = [0.2471, 0.2435, 0.2616]",
        )
        .unwrap();
        assert_eq!(spec.wrn_depth(), 28);
        assert_eq!(spec.normalize.as_ref().unwrap().std[2], 0.2616);
        assert!(spec.problems("model").is_empty());
        assert!(
            toml("kind = \"wide-resnet\"\n[normalize]\nmean = [0.5]\nstd = [1.0]\nextra = 1")
                .is_err()
        );
    }

    #[test]
    fn attack_bn_mode_defaults_to_train_and_is_written_only_when_eval() {
        let t: crate::TrainingSettings = toml::from_str("attack_bn_mode = \"eval\"").unwrap();
        assert_eq!(t.attack_bn_mode, BnMode::Eval);
        assert!(
            serde_json::to_string(&t)
                .unwrap()
                .contains("\"attack_bn_mode\":\"eval\"")
        );
        let t = crate::TrainingSettings::default();
        assert_eq!(t.attack_bn_mode, BnMode::Train);
        assert!(
            !serde_json::to_string(&t)
                .unwrap()
                .contains("attack_bn_mode")
        );
        assert!(toml::from_str::<crate::TrainingSettings>("attack_bn_mode = \"frozen\"").is_err());
    }

    #[test]
    fn smooth_activations_are_an_mlp_option() {
        let spec = toml("kind = \"mlp\"\nactivation = \"softplus\"").unwrap();
        assert_eq!(spec.activation, Activation::Softplus);
        assert!(spec.problems("model").is_empty());
        assert!(
            serde_json::to_string(&spec)
                .unwrap()
                .contains(r#""activation":"softplus""#)
        );
        let spec = toml("kind = \"cnn\"\nactivation = \"gelu\"").unwrap();
        let problems: Vec<String> = spec
            .problems("model")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("model.activation"), "{problems:?}");
        assert!(toml("kind = \"mlp\"\nactivation = \"tanh\"").is_err());
    }

    #[test]
    fn older_specs_serialize_without_the_new_fields() {
        let json = serde_json::to_string(&ModelSpec::default()).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"cnn","hidden":[128],"blocks":[2,2,2,2],"width":64}"#
        );
        let back: ModelSpec = serde_json::from_str(&json).unwrap();
        assert_eq!(back, ModelSpec::default());
    }

    #[test]
    fn problems_name_the_field_and_the_rule() {
        let cases = [
            (
                "kind = \"wide-resnet\"\ndepth = 30",
                "model.depth",
                "6n + 4",
            ),
            ("kind = \"wide-resnet\"\ndepth = 4", "model.depth", "6n + 4"),
            ("kind = \"wide-resnet\"\nwiden = 0", "model.widen", ">= 1"),
            (
                "kind = \"preact-resnet18\"\nbase_width = 0",
                "model.base_width",
                ">= 1",
            ),
            (
                "[normalize]\nmean = [0.5, 0.5]\nstd = [1.0]",
                "model.normalize",
                "one mean",
            ),
            (
                "[normalize]\nmean = []\nstd = []",
                "model.normalize",
                "one mean",
            ),
            (
                "[normalize]\nmean = [0.5]\nstd = [0.0]",
                "model.normalize.std",
                "> 0",
            ),
        ];
        for (text, field, rule) in cases {
            let problems = toml(text).unwrap().problems("model");
            assert_eq!(problems.len(), 1, "{text}: {problems:?}");
            let msg = problems[0].to_string();
            assert!(
                msg.starts_with(&format!("{field}:")) && msg.contains(rule),
                "{msg}"
            );
        }
    }
}
