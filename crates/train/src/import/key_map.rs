//! Renaming and ignoring a file's tensors by regular expressions the user gives.

use regex::Regex;

use crate::error::{Error, Result};

/// The flag whose values [`KeyMap::parse`] reads (named in its errors).
pub const KEY_MAP_FLAG: &str = "--key-map";
/// The flag whose values [`IgnoreList::parse`] reads (named in its errors).
pub const IGNORE_FLAG: &str = "--ignore-key";

/// Ordered `REGEX=REPLACEMENT` rules renaming a file's tensors to the model's names.
///
/// Each rule replaces every match of its regex (Rust `regex` syntax) in the name, the
/// replacement may use `$1` / `${name}` groups, and the rules run in the order given, each on
/// the previous one's result: `^fc\.=fc1.` renames `fc.weight` to `fc1.weight`.
#[derive(Clone, Debug, Default)]
pub struct KeyMap {
    rules: Vec<(Regex, String)>,
}

impl KeyMap {
    /// Parses one rule per string, split at the first `=`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for [`KEY_MAP_FLAG`] naming the rule (1-based) and what is
    /// wrong with it: no `=`, an empty regex or one that does not compile.
    pub fn parse<S: AsRef<str>>(rules: &[S]) -> Result<Self> {
        let rules = rules
            .iter()
            .enumerate()
            .map(|(i, rule)| {
                let rule = rule.as_ref();
                let broken = |why: String| {
                    Error::invalid(KEY_MAP_FLAG, format!("rule {} `{rule}`: {why}", i + 1))
                };
                let (pattern, replacement) = rule
                    .split_once('=')
                    .ok_or_else(|| broken("expected REGEX=REPLACEMENT".into()))?;
                if pattern.is_empty() {
                    return Err(broken("the regex before `=` is empty".into()));
                }
                let regex = Regex::new(pattern).map_err(|e| broken(format!("bad regex: {e}")))?;
                Ok((regex, replacement.to_owned()))
            })
            .collect::<Result<_>>()?;
        Ok(Self { rules })
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// `name` after every rule.
    pub fn rename(&self, name: &str) -> String {
        self.rules
            .iter()
            .fold(name.to_owned(), |name, (regex, replacement)| {
                regex.replace_all(&name, replacement.as_str()).into_owned()
            })
    }
}

/// Regexes naming tensors a file may hold that the model does not use (RobustBench's
/// WideResNet checkpoints carry an unused `sub_block1.*`): matching names are dropped with a
/// note instead of being reported as unexpected.
#[derive(Clone, Debug, Default)]
pub struct IgnoreList {
    patterns: Vec<Regex>,
}

impl IgnoreList {
    /// Parses one regex per string.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for [`IGNORE_FLAG`] naming the pattern that is empty or does
    /// not compile.
    pub fn parse<S: AsRef<str>>(patterns: &[S]) -> Result<Self> {
        let patterns = patterns
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let p = p.as_ref();
                if p.is_empty() {
                    return Err(Error::invalid(
                        IGNORE_FLAG,
                        format!("pattern {} is empty", i + 1),
                    ));
                }
                Regex::new(p).map_err(|e| {
                    Error::invalid(
                        IGNORE_FLAG,
                        format!("pattern {} `{p}`: bad regex: {e}", i + 1),
                    )
                })
            })
            .collect::<Result<_>>()?;
        Ok(Self { patterns })
    }

    /// Whether `name` is to be ignored.
    pub fn matches(&self, name: &str) -> bool {
        self.patterns.iter().any(|p| p.is_match(name))
    }
}
