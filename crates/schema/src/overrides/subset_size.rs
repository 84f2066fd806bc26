//! A subset size as `--train-subset`/`--test-subset` take it: a number, or `all` to undo the
//! subset a training file or a run set.

use serde::{Deserialize, Serialize};

/// A subset size given as a flag: a number of examples, or `all`, which undoes a subset the
/// training file (or the run) set. In JSON a number or the string `"all"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubsetSize {
    /// The whole split.
    All,
    /// This many examples, at least 1.
    Count(usize),
}

impl SubsetSize {
    /// The setting given `base`, the file's or the run's: `None` means the whole split.
    pub fn over(size: Option<Self>, base: Option<usize>) -> Option<usize> {
        match size {
            None => base,
            Some(Self::All) => None,
            Some(Self::Count(n)) => Some(n),
        }
    }
}

impl std::str::FromStr for SubsetSize {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        if text.trim() == "all" {
            return Ok(Self::All);
        }
        crate::flag_values::at_least_one(text)
            .map(Self::Count)
            .map_err(|e| format!("{e} (or `all`)"))
    }
}

impl Serialize for SubsetSize {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Self::All => s.serialize_str("all"),
            Self::Count(n) => s.serialize_u64(*n as u64),
        }
    }
}

impl<'de> Deserialize<'de> for SubsetSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Given {
            Count(usize),
            Word(String),
        }
        // Through the flag's parser, so a number in JSON obeys the same rule as on the command line.
        let text = match Given::deserialize(d)? {
            Given::Count(n) => n.to_string(),
            Given::Word(w) => w,
        };
        text.parse().map_err(serde::de::Error::custom)
    }
}
