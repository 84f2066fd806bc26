//! Directions of loss surfaces: filter-normalised Gaussian directions (Li et al. 2018),
//! checkpoint differences, and their file format.
//!
//! Two deliberate differences from the loss-landscape reference code (anchors.md):
//! - entries are N(0, 1) (zero mean); a known bug of one Python tool draws uniform [0, 1)
//!   directions, which all point into one orthant and make the surface lopsided;
//! - with `--ignore none`, a 1-D tensor is normalised like one filter (scaled to ‖w‖) instead
//!   of being replaced by a copy of w, so biases move in a random direction too.

use std::collections::BTreeMap;
use std::path::Path;

use advland_data::derive_seed;
use advland_schema::{
    DirectionKind, DirectionsInfo, IgnoreParams, Normalization, sha256_f32, write_atomic,
};
use advland_train::params::{ParamEntry, ParamLayout};
use safetensors::tensor::{Dtype, TensorView};

use crate::error::{Error, Result};
use crate::vector::{dot, gaussian, norm};

/// One or two directions in parameter space with their identity.
#[derive(Clone, Debug, PartialEq)]
pub struct Directions {
    /// d₁ (and d₂), each of length m, exactly representable in f32 (the file stores f32).
    pub vectors: Vec<Vec<f64>>,
    /// Identity recorded in every surface report.
    pub info: DirectionsInfo,
}

/// How random directions are made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RandomSpec {
    /// Per filter, per layer or none.
    pub normalization: Normalization,
    /// Which parameters stay at zero.
    pub ignore: IgnoreParams,
    /// Seed; direction i uses `derive_seed(seed, "surface-direction", i)`.
    pub seed: u64,
}

/// The index sets of a parameter's output filters in burn's flat layout: rows of the PyTorch
/// layout, i.e. contiguous blocks for convolutions and columns of burn's `[in, out]` `Linear`
/// weights.
fn filters(entry: &ParamEntry) -> Vec<Vec<usize>> {
    let base = entry.offset;
    if entry.shape.len() <= 1 {
        return vec![(base..base + entry.len).collect()];
    }
    if entry.transposed {
        let (rows, cols) = (entry.shape[0], entry.len / entry.shape[0]);
        (0..cols)
            .map(|j| (0..rows).map(|i| base + i * cols + j).collect())
            .collect()
    } else {
        let per = entry.len / entry.shape[0];
        (0..entry.shape[0])
            .map(|f| (base + f * per..base + (f + 1) * per).collect())
            .collect()
    }
}

/// Scales `d` on `indices` to the norm of `theta` there (zero stays zero).
fn match_norm(d: &mut [f64], theta: &[f64], indices: &[usize]) {
    let dn = indices.iter().map(|&i| d[i] * d[i]).sum::<f64>().sqrt();
    let wn = indices
        .iter()
        .map(|&i| theta[i] * theta[i])
        .sum::<f64>()
        .sqrt();
    let s = if dn > 0.0 { wn / dn } else { 0.0 };
    for &i in indices {
        d[i] *= s;
    }
}

/// Rounds to f32 so the vector in memory is exactly the one a directions file holds.
fn round_f32(v: &mut [f64]) {
    for x in v {
        *x = f64::from(*x as f32);
    }
}

/// One random direction for parameters `theta` laid out as `layout`.
///
/// # Errors
/// `theta` does not match the layout.
pub fn random_direction(
    layout: &ParamLayout,
    theta: &[f64],
    spec: &RandomSpec,
    index: usize,
) -> Result<Vec<f64>> {
    if theta.len() != layout.len() {
        return Err(Error::Dimension {
            expected: layout.len(),
            got: theta.len(),
        });
    }
    let mut d = gaussian(
        theta.len(),
        derive_seed(spec.seed, "surface-direction", index as u64),
    );
    for entry in &layout.entries {
        let range = entry.offset..entry.offset + entry.len;
        if entry.is_vector() && spec.ignore == IgnoreParams::Biasbn {
            d[range].fill(0.0);
            continue;
        }
        match spec.normalization {
            Normalization::Filter => {
                for f in filters(entry) {
                    match_norm(&mut d, theta, &f);
                }
            }
            Normalization::Layer => {
                match_norm(&mut d, theta, &range.collect::<Vec<_>>());
            }
            Normalization::None => {}
        }
    }
    round_f32(&mut d);
    Ok(d)
}

impl Directions {
    /// `count` (1 or 2) random directions.
    ///
    /// # Errors
    /// A bad count or a `theta` that does not match the layout.
    pub fn random(
        layout: &ParamLayout,
        theta: &[f64],
        spec: &RandomSpec,
        count: usize,
    ) -> Result<Self> {
        check_count(count)?;
        let vectors = (0..count)
            .map(|i| random_direction(layout, theta, spec, i))
            .collect::<Result<Vec<_>>>()?;
        let mut info = identity(DirectionKind::Random, &vectors);
        info.normalization = Some(spec.normalization);
        info.ignore = Some(spec.ignore);
        info.seed = Some(spec.seed);
        Ok(Self { vectors, info })
    }

    /// Differences of checkpoints from the origin: the line A→B (`others = [B]`) or the plane
    /// through A, B, C (`others = [B, C]`). `names` are the checkpoints A, B(, C) as given.
    ///
    /// # Errors
    /// Parameter vectors of different lengths, or not one/two others.
    pub fn between(origin: &[f64], others: &[Vec<f64>], names: Vec<String>) -> Result<Self> {
        check_count(others.len())?;
        let vectors = others
            .iter()
            .map(|t| {
                if t.len() != origin.len() {
                    return Err(Error::Dimension {
                        expected: origin.len(),
                        got: t.len(),
                    });
                }
                let mut d: Vec<f64> = t.iter().zip(origin).map(|(b, a)| b - a).collect();
                round_f32(&mut d);
                Ok(d)
            })
            .collect::<Result<Vec<_>>>()?;
        let kind = if vectors.len() == 1 {
            DirectionKind::Interpolation
        } else {
            DirectionKind::Plane
        };
        let mut info = identity(kind, &vectors);
        info.checkpoints = names;
        Ok(Self { vectors, info })
    }

    /// Unit eigenvectors (of a Hessian) as directions, with their eigenvalues.
    ///
    /// # Errors
    /// Not one/two vectors.
    pub fn eigenvectors(vectors: Vec<Vec<f64>>, eigenvalues: Vec<f64>) -> Result<Self> {
        check_count(vectors.len())?;
        let mut vectors = vectors;
        for v in &mut vectors {
            round_f32(v);
        }
        let mut info = identity(DirectionKind::Hessian, &vectors);
        info.eigenvalues = eigenvalues;
        Ok(Self { vectors, info })
    }

    /// Writes the directions as safetensors (`d1`, `d2` as f32 `[m]`) with the identity and
    /// the parameter layout in the metadata, atomically.
    ///
    /// # Errors
    /// IO errors naming the file.
    pub fn save(&self, layout: &ParamLayout, path: &Path) -> Result<()> {
        let bytes: Vec<Vec<u8>> = self
            .vectors
            .iter()
            .map(|v| v.iter().flat_map(|&x| (x as f32).to_le_bytes()).collect())
            .collect();
        let names: Vec<String> = (1..=bytes.len()).map(|i| format!("d{i}")).collect();
        let mut views = Vec::new();
        for (name, b) in names.iter().zip(&bytes) {
            let view = TensorView::new(Dtype::F32, vec![b.len() / 4], b)
                .map_err(|e| file_error(path, e.to_string()))?;
            views.push((name.as_str(), view));
        }
        let mut metadata = BTreeMap::new();
        metadata.insert(
            "advland-directions".to_owned(),
            serde_json::to_string(&self.info).map_err(|e| file_error(path, e.to_string()))?,
        );
        metadata.insert("parameters".to_owned(), layout_signature(layout));
        let data = safetensors::serialize(views, &Some(metadata.into_iter().collect()))
            .map_err(|e| file_error(path, e.to_string()))?;
        write_atomic(path, &data).map_err(|e| file_error(path, e.to_string()))
    }

    /// Reads directions written by [`Directions::save`] and checks them against `layout`
    /// (same parameter names and sizes) and against their recorded hash.
    ///
    /// # Errors
    /// A missing or malformed file, another model's directions, or a hash mismatch.
    pub fn load(layout: &ParamLayout, path: &Path) -> Result<Self> {
        let data = std::fs::read(path).map_err(|e| file_error(path, e.to_string()))?;
        let (_, header) = safetensors::SafeTensors::read_metadata(&data)
            .map_err(|e| file_error(path, format!("not a safetensors file: {e}")))?;
        let meta = header.metadata().clone().unwrap_or_default();
        let info: DirectionsInfo = meta
            .get("advland-directions")
            .ok_or_else(|| file_error(path, "not an advland directions file".to_owned()))
            .and_then(|s| serde_json::from_str(s).map_err(|e| file_error(path, e.to_string())))?;
        if meta.get("parameters") != Some(&layout_signature(layout)) {
            return Err(file_error(
                path,
                "the directions were made for a model with other parameters (names or sizes \
                 differ from this checkpoint's)"
                    .to_owned(),
            ));
        }
        let tensors = safetensors::SafeTensors::deserialize(&data)
            .map_err(|e| file_error(path, e.to_string()))?;
        let mut vectors = Vec::new();
        for i in 1..=info.count {
            let t = tensors
                .tensor(&format!("d{i}"))
                .map_err(|e| file_error(path, format!("d{i}: {e}")))?;
            if t.dtype() != Dtype::F32 || t.shape() != [layout.len()] {
                return Err(file_error(
                    path,
                    format!("d{i} must be f32 of shape [{}]", layout.len()),
                ));
            }
            vectors.push(
                t.data()
                    .chunks_exact(4)
                    .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                    .collect::<Vec<f64>>(),
            );
        }
        let hash = hash_of(&vectors);
        if hash != info.hash {
            return Err(file_error(
                path,
                format!(
                    "content hash {hash} differs from the recorded {}: the file is damaged",
                    info.hash
                ),
            ));
        }
        Ok(Self { vectors, info })
    }
}

fn check_count(count: usize) -> Result<()> {
    if count == 0 || count > 2 {
        return Err(Error::InvalidConfig {
            field: "directions",
            reason: format!("a surface has 1 or 2 directions, got {count}"),
        });
    }
    Ok(())
}

/// SHA-256 of the directions' f32 bytes, d₁ then d₂.
pub fn hash_of(vectors: &[Vec<f64>]) -> String {
    sha256_f32(vectors.iter().flatten().map(|&x| x as f32))
}

fn identity(kind: DirectionKind, vectors: &[Vec<f64>]) -> DirectionsInfo {
    let cosine = (vectors.len() == 2).then(|| {
        let n = norm(&vectors[0]) * norm(&vectors[1]);
        if n > 0.0 {
            dot(&vectors[0], &vectors[1]) / n
        } else {
            0.0
        }
    });
    DirectionsInfo {
        kind,
        count: vectors.len(),
        hash: hash_of(vectors),
        norms: vectors.iter().map(|v| norm(v)).collect(),
        normalization: None,
        ignore: None,
        seed: None,
        checkpoints: Vec::new(),
        eigenvalues: Vec::new(),
        cosine,
    }
}

fn layout_signature(layout: &ParamLayout) -> String {
    layout
        .entries
        .iter()
        .map(|e| format!("{}:{}", e.name, e.len))
        .collect::<Vec<_>>()
        .join(",")
}

fn file_error(path: &Path, reason: String) -> Error {
    Error::File {
        path: path.to_owned(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use advland_schema::{ModelKind, ModelSpec};
    use advland_train::model::{Model, ModelShape};
    use advland_train::params::{flatten, init_seeded};
    use burn::tensor::Device;

    fn cnn() -> (ParamLayout, Vec<f64>) {
        let spec = ModelSpec {
            kind: ModelKind::Cnn,
            hidden: vec![],
            ..ModelSpec::default()
        };
        let shape = ModelShape {
            input: [1, 12, 12],
            classes: 3,
        };
        let model = init_seeded(Model::build(&spec, shape, &Device::flex()).unwrap(), 4).unwrap();
        let theta = crate::model_objective::to_host_f64(&flatten(&model));
        (ParamLayout::of(&model), theta)
    }

    fn spec(normalization: Normalization, ignore: IgnoreParams) -> RandomSpec {
        RandomSpec {
            normalization,
            ignore,
            seed: 11,
        }
    }

    #[test]
    fn filter_normalised_directions_match_every_filter_norm() {
        let (layout, theta) = cnn();
        let d = random_direction(
            &layout,
            &theta,
            &spec(Normalization::Filter, IgnoreParams::Biasbn),
            0,
        )
        .unwrap();
        let mut checked = 0;
        for entry in &layout.entries {
            for f in filters(entry) {
                let dn = f.iter().map(|&i| d[i] * d[i]).sum::<f64>().sqrt();
                if entry.is_vector() {
                    assert_eq!(dn, 0.0, "{} must be zero", entry.name);
                    continue;
                }
                let wn = f.iter().map(|&i| theta[i] * theta[i]).sum::<f64>().sqrt();
                assert!((dn - wn).abs() <= 1e-6 * wn, "{}: {dn} vs {wn}", entry.name);
                checked += 1;
            }
        }
        assert!(checked > 10);
    }

    #[test]
    fn linear_filters_are_columns_of_burns_layout() {
        let entry = ParamEntry {
            name: "fc1.weight".into(),
            shape: vec![3, 2],
            torch_shape: vec![2, 3],
            transposed: true,
            offset: 10,
            len: 6,
            fan_in: 3,
            batch_norm: false,
        };
        assert_eq!(filters(&entry), vec![vec![10, 12, 14], vec![11, 13, 15]]);
    }

    #[test]
    fn directions_are_zero_mean_gaussian_not_uniform() {
        let (layout, theta) = cnn();
        let d = random_direction(
            &layout,
            &theta,
            &spec(Normalization::None, IgnoreParams::None),
            0,
        )
        .unwrap();
        let n = d.len() as f64;
        let mean = d.iter().sum::<f64>() / n;
        let var = d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        let negative = d.iter().filter(|&&x| x < 0.0).count() as f64 / n;
        assert!(mean.abs() < 4.0 / n.sqrt(), "mean {mean}");
        assert!((var - 1.0).abs() < 0.1, "variance {var}");
        assert!(
            (negative - 0.5).abs() < 0.05,
            "negative fraction {negative}"
        );
    }

    #[test]
    fn layer_normalisation_and_biases() {
        let (layout, theta) = cnn();
        let d = random_direction(
            &layout,
            &theta,
            &spec(Normalization::Layer, IgnoreParams::None),
            1,
        )
        .unwrap();
        for entry in &layout.entries {
            let r = entry.offset..entry.offset + entry.len;
            let (dn, wn) = (norm(&d[r.clone()]), norm(&theta[r]));
            assert!((dn - wn).abs() <= 1e-6 * wn.max(1e-12), "{}", entry.name);
        }
    }

    #[test]
    fn seeds_and_indices_give_distinct_reproducible_directions() {
        let (layout, theta) = cnn();
        let s = spec(Normalization::Filter, IgnoreParams::Biasbn);
        let a = Directions::random(&layout, &theta, &s, 2).unwrap();
        let b = Directions::random(&layout, &theta, &s, 2).unwrap();
        assert_eq!(a, b);
        assert_ne!(a.vectors[0], a.vectors[1]);
        assert!(a.info.cosine.unwrap().abs() < 0.1);
        let c = Directions::random(&layout, &theta, &RandomSpec { seed: 12, ..s }, 2).unwrap();
        assert_ne!(a.info.hash, c.info.hash);
    }

    #[test]
    fn file_round_trip_checks_layout_and_hash() {
        let (layout, theta) = cnn();
        let s = spec(Normalization::Filter, IgnoreParams::Biasbn);
        let dirs = Directions::random(&layout, &theta, &s, 2).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("dirs.safetensors");
        dirs.save(&layout, &path).unwrap();
        assert_eq!(Directions::load(&layout, &path).unwrap(), dirs);

        let mut other = layout.clone();
        other.entries[0].name = "conv9.weight".into();
        let err = Directions::load(&other, &path).unwrap_err().to_string();
        assert!(
            err.contains("dirs.safetensors") && err.contains("other parameters"),
            "{err}"
        );

        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x55;
        std::fs::write(&path, &bytes).unwrap();
        let err = Directions::load(&layout, &path).unwrap_err().to_string();
        assert!(err.contains("damaged"), "{err}");
    }

    #[test]
    fn checkpoint_differences_reach_the_checkpoints() {
        let a = vec![1.0, 2.0, 3.0];
        let b = vec![2.0, 0.0, 3.0];
        let c = vec![1.0, 2.0, 5.0];
        let dirs =
            Directions::between(&a, &[b, c], vec!["A".into(), "B".into(), "C".into()]).unwrap();
        assert_eq!(dirs.info.kind, DirectionKind::Plane);
        assert_eq!(
            dirs.vectors,
            vec![vec![1.0, -2.0, 0.0], vec![0.0, 0.0, 2.0]]
        );
        assert!(Directions::between(&a, &[], vec![]).is_err());
    }
}
