//! The in-memory dataset type and the selections made on it.

use crate::error::{Error, Result};

/// An in-memory image classification dataset. Pixels scaled to `[0, 1]` (u8 / 255), no
/// normalisation.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Human-readable identity, e.g. `"fashion-mnist-bundled/train"`.
    pub name: String,
    /// Pixels, row-major `[n, c, h, w]`.
    pub images: Vec<f32>,
    /// One label per example, each `< num_classes`.
    pub labels: Vec<u8>,
    /// Shape of one image, `[c, h, w]`.
    pub shape: [usize; 3],
    /// Number of classes (may exceed the number of classes actually present).
    pub num_classes: usize,
    /// Display names of the classes; `class_names.len() == num_classes`.
    pub class_names: Vec<String>,
}

/// A train/test pair.
#[derive(Clone, Debug)]
pub struct Splits {
    /// The training split.
    pub train: Dataset,
    /// The held-out test split.
    pub test: Dataset,
    /// Examples held out of the training split to select checkpoints on
    /// (`data.validation_subset`), never trained on; `None` when none are.
    pub validation: Option<Dataset>,
}

impl Dataset {
    /// Builds a dataset after checking that all fields agree with each other.
    ///
    /// `num_classes` is taken from `class_names.len()`, which must be between 1 and 256.
    pub fn new(
        name: impl Into<String>,
        images: Vec<f32>,
        labels: Vec<u8>,
        shape: [usize; 3],
        class_names: Vec<String>,
    ) -> Result<Self> {
        let name = name.into();
        let num_classes = class_names.len();
        if num_classes == 0 || num_classes > 256 {
            return Err(Error::invalid(
                name,
                format!("{num_classes} class names given; u8 labels need 1..=256"),
            ));
        }
        let image_len = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
        let Some(image_len) = image_len.filter(|&len| len > 0) else {
            return Err(Error::invalid(
                name,
                format!("image shape {shape:?} must be non-empty"),
            ));
        };
        if labels.len().checked_mul(image_len) != Some(images.len()) {
            return Err(Error::invalid(
                name,
                format!(
                    "{} pixel values do not make {} images of shape {shape:?}",
                    images.len(),
                    labels.len()
                ),
            ));
        }
        if let Some((index, &label)) = labels
            .iter()
            .enumerate()
            .find(|&(_, &l)| usize::from(l) >= num_classes)
        {
            return Err(Error::invalid(
                name,
                format!("label {label} of example {index} is not < {num_classes} classes"),
            ));
        }
        Ok(Self {
            name,
            images,
            labels,
            shape,
            num_classes,
            class_names,
        })
    }

    /// Builds a dataset from 8-bit pixels, scaling each to `p / 255`.
    pub(crate) fn from_u8(
        name: &str,
        pixels: &[u8],
        labels: Vec<u8>,
        shape: [usize; 3],
        class_names: Vec<String>,
    ) -> Result<Self> {
        let images = pixels.iter().map(|&p| f32::from(p) / 255.0).collect();
        Self::new(name, images, labels, shape, class_names)
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no examples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Number of values in one image, `c * h * w`.
    pub fn image_len(&self) -> usize {
        self.shape.iter().product()
    }

    /// The pixels of example `i`, laid out `[c, h, w]`.
    ///
    /// # Panics
    /// If `i >= self.len()`.
    pub fn image(&self, i: usize) -> &[f32] {
        let len = self.image_len();
        &self.images[i * len..(i + 1) * len]
    }

    /// The examples at `indices` (in that order, repeats allowed), keeping name and classes.
    ///
    /// # Panics
    /// If any index is `>= self.len()`.
    pub fn select(&self, indices: &[usize]) -> Dataset {
        let len = self.image_len();
        let mut images = Vec::with_capacity(indices.len() * len);
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            images.extend_from_slice(self.image(i));
            labels.push(self.labels[i]);
        }
        Dataset {
            name: self.name.clone(),
            images,
            labels,
            shape: self.shape,
            num_classes: self.num_classes,
            class_names: self.class_names.clone(),
        }
    }

    /// `n` examples evenly spaced: indices `(i * len) / n` for `i in 0..n`.
    ///
    /// Errors if `n == 0` or `n > len`.
    pub fn subset_evenly(&self, n: usize) -> Result<Dataset> {
        if n == 0 || n > self.len() {
            return Err(Error::invalid(
                &self.name,
                format!(
                    "evenly spaced subset of {n} examples needs 1..={} examples",
                    self.len()
                ),
            ));
        }
        Ok(self.select(&evenly_spaced(self.len(), n)))
    }

    /// `n` examples evenly spaced as in [`Dataset::subset_evenly`], and the rest in their
    /// order: a held-out split and what remains to train on. The held-out part is named
    /// `NAME:validation`.
    ///
    /// Errors if `n == 0` or `n >= len` (nothing would be left).
    pub fn split_evenly(&self, n: usize) -> Result<(Dataset, Dataset)> {
        if n == 0 || n >= self.len() {
            return Err(Error::invalid(
                &self.name,
                format!(
                    "holding out {n} examples needs 1 to {} of its {} (some must remain)",
                    self.len().saturating_sub(1),
                    self.len()
                ),
            ));
        }
        let held = evenly_spaced(self.len(), n);
        let mut is_held = vec![false; self.len()];
        for &i in &held {
            is_held[i] = true;
        }
        let rest: Vec<usize> = (0..self.len()).filter(|&i| !is_held[i]).collect();
        let mut out = self.select(&held);
        out.name = format!("{}:validation", self.name);
        Ok((out, self.select(&rest)))
    }

    /// Keeps only the given classes, relabelled `0..k` in the given order (used for binary
    /// linear experiments); `class_names` follow the new order.
    ///
    /// Errors if `classes` is empty, repeats a class, or names a class `>= num_classes`.
    pub fn filter_classes(&self, classes: &[u8]) -> Result<Dataset> {
        if classes.is_empty() {
            return Err(Error::invalid(
                &self.name,
                "class filter must keep at least one class",
            ));
        }
        let mut new_label = [None::<u8>; 256];
        for (new, &old) in (0u8..).zip(classes) {
            if usize::from(old) >= self.num_classes {
                return Err(Error::invalid(
                    &self.name,
                    format!(
                        "class {old} in filter is not < {} classes",
                        self.num_classes
                    ),
                ));
            }
            let slot = &mut new_label[usize::from(old)];
            if slot.is_some() {
                return Err(Error::invalid(
                    &self.name,
                    format!("class {old} repeated in filter"),
                ));
            }
            *slot = Some(new);
        }
        let keep: Vec<usize> = (0..self.len())
            .filter(|&i| new_label[usize::from(self.labels[i])].is_some())
            .collect();
        let mut out = self.select(&keep);
        for label in &mut out.labels {
            // Every kept label has a mapping by construction of `keep`.
            *label = new_label[usize::from(*label)].unwrap_or(*label);
        }
        out.num_classes = classes.len();
        out.class_names = classes
            .iter()
            .map(|&c| self.class_names[usize::from(c)].clone())
            .collect();
        Ok(out)
    }

    /// Gathers a batch: pixels `[b * c * h * w]` and labels as `i64` `[b]`.
    ///
    /// # Panics
    /// If any index is `>= self.len()`.
    pub fn gather(&self, indices: &[usize]) -> (Vec<f32>, Vec<i64>) {
        let mut pixels = Vec::with_capacity(indices.len() * self.image_len());
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            pixels.extend_from_slice(self.image(i));
            labels.push(i64::from(self.labels[i]));
        }
        (pixels, labels)
    }

    /// Number of examples of each class, indexed by label.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.num_classes];
        for &label in &self.labels {
            counts[usize::from(label)] += 1;
        }
        counts
    }
}

/// Indices `(i * len) / n` for `i in 0..n`; computed in `u128` so huge `len` cannot overflow.
pub(crate) fn evenly_spaced(len: usize, n: usize) -> Vec<usize> {
    (0..n)
        .map(|i| ((i as u128 * len as u128) / n as u128) as usize)
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// `n` 1x2x2 images whose pixels encode the example index; label `i % classes`.
    pub(crate) fn toy(n: usize, classes: usize) -> Dataset {
        let images = (0..n * 4).map(|v| (v / 4) as f32).collect();
        let labels = (0..n).map(|i| (i % classes) as u8).collect();
        let names = (0..classes).map(|c| format!("c{c}")).collect();
        Dataset::new("toy", images, labels, [1, 2, 2], names).unwrap()
    }

    #[test]
    fn subset_evenly_uses_floor_spacing() {
        let ds = toy(10, 3);
        let sub = ds.subset_evenly(4).unwrap();
        let firsts: Vec<f32> = (0..4).map(|i| sub.image(i)[0]).collect();
        assert_eq!(firsts, vec![0.0, 2.0, 5.0, 7.0]);
        assert_eq!(sub.name, "toy");
        assert_eq!(ds.subset_evenly(10).unwrap().images, ds.images);
    }

    #[test]
    fn subset_evenly_rejects_zero_and_too_many() {
        let ds = toy(5, 2);
        assert!(ds.subset_evenly(0).unwrap_err().to_string().contains("toy"));
        assert!(ds.subset_evenly(6).is_err());
    }

    #[test]
    fn split_evenly_holds_out_the_evenly_spaced_examples_and_keeps_the_rest_in_order() {
        let ds = toy(10, 3);
        let (held, rest) = ds.split_evenly(4).unwrap();
        let firsts = |d: &Dataset| (0..d.len()).map(|i| d.image(i)[0]).collect::<Vec<f32>>();
        assert_eq!(firsts(&held), firsts(&ds.subset_evenly(4).unwrap()));
        assert_eq!(firsts(&rest), vec![1.0, 3.0, 4.0, 6.0, 8.0, 9.0]);
        assert_eq!(rest.labels, vec![1, 0, 1, 0, 2, 0]);
        assert_eq!(
            (held.name.as_str(), rest.name.as_str()),
            ("toy:validation", "toy")
        );
        assert!(ds.split_evenly(0).is_err());
        assert!(
            ds.split_evenly(10)
                .unwrap_err()
                .to_string()
                .contains("some must remain")
        );
    }

    #[test]
    fn evenly_spaced_is_strictly_increasing() {
        let idx = evenly_spaced(6000, 800);
        assert!(idx.windows(2).all(|w| w[0] < w[1]));
        assert_eq!((idx[0], *idx.last().unwrap()), (0, 5992));
    }

    #[test]
    fn filter_classes_relabels_in_given_order() {
        let ds = toy(9, 3);
        let f = ds.filter_classes(&[2, 0]).unwrap();
        assert_eq!(f.num_classes, 2);
        assert_eq!(f.class_names, vec!["c2", "c0"]);
        assert_eq!(f.labels, vec![1, 0, 1, 0, 1, 0]);
        let firsts: Vec<f32> = (0..f.len()).map(|i| f.image(i)[0]).collect();
        assert_eq!(firsts, vec![0.0, 2.0, 3.0, 5.0, 6.0, 8.0]);
    }

    #[test]
    fn filter_classes_rejects_bad_filters() {
        let ds = toy(9, 3);
        assert!(ds.filter_classes(&[]).is_err());
        assert!(ds.filter_classes(&[3]).is_err());
        assert!(ds.filter_classes(&[1, 1]).is_err());
    }

    #[test]
    fn gather_and_counts() {
        let ds = toy(5, 2);
        let (px, lb) = ds.gather(&[4, 1]);
        assert_eq!(px, vec![4.0, 4.0, 4.0, 4.0, 1.0, 1.0, 1.0, 1.0]);
        assert_eq!(lb, vec![0, 1]);
        assert_eq!(ds.class_counts(), vec![3, 2]);
        assert_eq!(ds.select(&[3, 3]).labels, vec![1, 1]);
    }

    #[test]
    fn new_rejects_inconsistent_fields() {
        let names = vec!["a".to_owned(), "b".to_owned()];
        assert!(Dataset::new("d", vec![0.0; 7], vec![0, 1], [1, 2, 2], names.clone()).is_err());
        assert!(Dataset::new("d", vec![0.0; 8], vec![0, 2], [1, 2, 2], names.clone()).is_err());
        assert!(Dataset::new("d", vec![], vec![], [1, 0, 2], names).is_err());
        assert!(Dataset::new("d", vec![], vec![], [1, 2, 2], vec![]).is_err());
    }

    #[test]
    #[should_panic]
    fn select_panics_out_of_range() {
        let _ = toy(3, 2).select(&[3]);
    }
}
