//! From [`DataSettings`] to the examples actually used.

use std::path::{Path, PathBuf};

use advland_data::{
    Dataset, FASHION_MNIST_SYSTEM_DIR, Splits, cifar10_splits, cifar100_splits,
    fashion_mnist_bundled, fashion_mnist_full, mnist_full,
};
use advland_schema::{DataSettings, DataSubset, DatasetName};

use crate::checkpoint::CheckpointInfo;
use crate::error::{Error, Result};
use crate::model::ModelShape;

/// Loads the data set named in `settings` and applies its subsets.
///
/// # Errors
/// Missing or malformed files (named), a subset larger than the split.
pub fn load_splits(settings: &DataSettings) -> Result<Splits> {
    Ok(load_described(settings)?.0)
}

/// What reports record of the data a run or an evaluation used: each split's examples out of
/// the whole split's, and how they were chosen.
#[derive(Clone, Debug)]
pub struct SplitsUsed {
    /// The training examples (after the validation split, if any, was held out).
    pub train: DataSubset,
    /// The test examples.
    pub test: DataSubset,
}

/// [`load_splits`], with the description of the subsets taken.
///
/// # Errors
/// As [`load_splits`].
pub fn load_described(settings: &DataSettings) -> Result<(Splits, SplitsUsed)> {
    let dir = |default: Option<&str>| -> Result<PathBuf> {
        match (&settings.data_dir, default) {
            (Some(d), _) => Ok(d.clone()),
            (None, Some(d)) => Ok(PathBuf::from(d)),
            (None, None) => Err(Error::invalid(
                "data.data_dir",
                format!("data set {} needs --data-dir", settings.dataset.as_str()),
            )),
        }
    };
    let splits = match settings.dataset {
        DatasetName::FashionMnist => fashion_mnist_bundled()?,
        DatasetName::FashionMnistFull => fashion_mnist_full(&dir(Some(FASHION_MNIST_SYSTEM_DIR))?)?,
        DatasetName::Mnist => mnist_full(&dir(None)?)?,
        DatasetName::Cifar10 => cifar10_splits(&dir(None)?)?,
        DatasetName::Cifar100 => cifar100_splits(&dir(None)?, false)?,
    };
    let (train, test) = (&splits.train, &splits.test);
    if (train.shape, train.num_classes) != (test.shape, test.num_classes) {
        // A model fits one input shape; the first test batch would fail inside a layer.
        return Err(Error::invalid(
            "data",
            format!(
                "{} has {} but {} has {}; both splits must agree",
                train.name,
                shape_words(train.shape, train.num_classes),
                test.name,
                shape_words(test.shape, test.num_classes)
            ),
        ));
    }
    let totals = (splits.train.len(), splits.test.len());
    let (validation, train) = match settings.validation_subset {
        None => (None, splits.train),
        Some(n) => {
            // The data set's own refusal, under the setting's name.
            let (held, rest) = splits
                .train
                .split_evenly(n)
                .map_err(|e| Error::invalid("data.validation_subset", e.to_string()))?;
            if let Some(wanted) = settings.train_subset.filter(|&w| w > rest.len()) {
                return Err(Error::invalid(
                    "data.train_subset",
                    format!(
                        "asks for {wanted} examples but {} of {}'s {} remain after the \
                         {n} held out by data.validation_subset",
                        rest.len(),
                        rest.name,
                        totals.0
                    ),
                ));
            }
            (Some(held), rest)
        }
    };
    let splits = Splits {
        train: subset(train, settings.train_subset, "data.train_subset")?,
        test: subset(splits.test, settings.test_subset, "data.test_subset")?,
        validation,
    };
    let mut used = SplitsUsed {
        train: describe(&splits.train, totals.0),
        test: describe(&splits.test, totals.1),
    };
    if let Some(held) = &splits.validation {
        used.train.selection = match settings.train_subset {
            None => format!("all but the {} held out for validation", held.len()),
            Some(_) => format!(
                "evenly-spaced among those the {} held out for validation leave",
                held.len()
            ),
        };
    }
    Ok((splits, used))
}

fn shape_words(shape: [usize; 3], classes: usize) -> String {
    let [c, h, w] = shape;
    format!("{c}×{h}×{w} images and {classes} classes")
}

/// Checks that `data` fits a model built for `shape` (`model` names it in the message), so
/// a checkpoint met with data of another shape is refused before a tensor op panics on it.
///
/// # Errors
/// [`Error::InvalidConfig`] naming the model, the data and both shapes.
pub fn check_fits(data: &Dataset, shape: ModelShape, model: &str) -> Result<()> {
    if (data.shape, data.num_classes) == (shape.input, shape.classes) {
        return Ok(());
    }
    Err(Error::invalid(
        model,
        format!(
            "the model takes {}, but {} has {}",
            shape_words(shape.input, shape.classes),
            data.name,
            shape_words(data.shape, data.num_classes)
        ),
    ))
}

/// The whole test split of the run that produced a checkpoint (`info`, from the directory
/// `checkpoint`), checked to fit its model: what the analysis commands measure on.
///
/// # Errors
/// Missing or malformed data files, or data of another shape than the model's.
pub fn checkpoint_test_set(info: &CheckpointInfo, checkpoint: &Path) -> Result<Dataset> {
    let mut data = info.settings.data.clone();
    data.test_subset = None;
    let test = load_splits(&data)?.test;
    check_fits(&test, info.shape, &checkpoint.display().to_string())?;
    Ok(test)
}

/// Evenly spaced subset when `n` is given.
///
/// # Errors
/// `n` larger than the data set.
pub fn subset(data: Dataset, n: Option<usize>, field: &str) -> Result<Dataset> {
    match n {
        None => Ok(data),
        Some(n) if n > data.len() => Err(Error::invalid(
            field,
            format!("asks for {n} examples but {} has {}", data.name, data.len()),
        )),
        Some(n) => Ok(data.subset_evenly(n)?),
    }
}

/// Description of a data set for report metadata.
pub fn describe(data: &Dataset, total: usize) -> DataSubset {
    DataSubset {
        name: data.name.clone(),
        examples: data.len(),
        total,
        selection: if data.len() == total {
            "all".to_owned()
        } else {
            "evenly-spaced".to_owned()
        },
    }
}

/// Whether a path looks like a directory that exists (for friendlier CLI errors).
pub fn exists(path: &Path) -> bool {
    path.exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_fits_names_the_model_the_data_and_both_shapes() {
        let test = fashion_mnist_bundled().unwrap().test;
        let fits = ModelShape {
            input: [1, 28, 28],
            classes: 10,
        };
        check_fits(&test, fits, "run/ckpt").unwrap();
        let other = ModelShape {
            input: [3, 32, 32],
            classes: 10,
        };
        let err = check_fits(&test, other, "run/ckpt")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("run/ckpt:")
                && err.contains("3×32×32 images")
                && err.contains("1×28×28 images"),
            "{err}"
        );
    }

    #[test]
    fn the_validation_split_is_held_out_before_the_training_subset_is_taken_and_reports_say_so() {
        let full = fashion_mnist_bundled().unwrap().train;
        let settings = |validation, train| DataSettings {
            validation_subset: validation,
            train_subset: train,
            ..DataSettings::default()
        };
        let (splits, used) = load_described(&settings(Some(800), Some(500))).unwrap();
        assert_eq!(
            (
                used.train.examples,
                used.train.total,
                used.train.selection.as_str()
            ),
            (
                500,
                8000,
                "evenly-spaced among those the 800 held out for validation leave"
            )
        );
        assert_eq!(
            (
                used.test.examples,
                used.test.total,
                used.test.selection.as_str()
            ),
            (2000, 2000, "all")
        );
        let (train, validation) = (splits.train, splits.validation.unwrap());
        assert_eq!((train.len(), validation.len()), (500, 800));
        let held: Vec<usize> = (0..800).map(|i| i * full.len() / 800).collect();
        for (k, &i) in held.iter().enumerate() {
            assert_eq!(validation.image(k), full.image(i));
        }
        let rest: Vec<usize> = (0..full.len()).filter(|i| !held.contains(i)).collect();
        for k in 0..train.len() {
            assert_eq!(train.image(k), full.image(rest[k * rest.len() / 500]));
        }
        let (splits, used) = load_described(&DataSettings {
            test_subset: Some(300),
            ..settings(None, None)
        })
        .unwrap();
        assert!(splits.validation.is_none());
        assert_eq!(
            (used.train.total, used.train.selection.as_str()),
            (8000, "all")
        );
        assert_eq!(
            (
                used.test.examples,
                used.test.total,
                used.test.selection.as_str()
            ),
            (300, 2000, "evenly-spaced")
        );
        let used = load_described(&settings(Some(800), None)).unwrap().1;
        assert_eq!(
            (used.train.examples, used.train.selection.as_str()),
            (7200, "all but the 800 held out for validation")
        );

        let err = load_splits(&settings(Some(full.len()), None))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("data.validation_subset") && err.contains("some must remain"),
            "{err}"
        );
        let err = load_splits(&settings(Some(1000), Some(full.len() - 500)))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("data.train_subset") && err.contains("remain after the 1000 held out"),
            "{err}"
        );
    }
}
