//! Shared by the reader fuzz suites (`crates/{data,train,schema}/tests/fuzz_*.rs`, each of which
//! includes this file with `#[path]`): a reproducible proptest configuration and byte-level
//! mutations of a valid file.
//!
//! Mutating a valid file finds far more than random bytes do: random bytes rarely get past a
//! magic number or a JSON brace, while one flipped bit of a valid file reaches the checks deep
//! inside the reader.

// Each suite uses the part of this file it needs.
#![allow(dead_code)]

use std::cell::Cell;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, RngSeed};

/// `cases` cases from a fixed seed (CI runs the same inputs every time; a failure reproduces
/// with plain `cargo test`), no persistence files, and shrinking bounded so that a failure is
/// reported in seconds rather than after an open-ended search.
pub fn config(cases: u32, seed: u64) -> Config {
    Config {
        cases,
        rng_algorithm: RngAlgorithm::ChaCha,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        max_shrink_iters: 512,
        max_shrink_time: 20_000,
        ..Config::default()
    }
}

/// How many inputs a reader accepted and refused. A suite whose edits all break the file (or
/// none do) no longer tests what it says, so each checks that it saw both.
#[derive(Debug, Default)]
pub struct Outcomes {
    accepted: Cell<u32>,
    refused: Cell<u32>,
}

impl Outcomes {
    pub fn accept(&self) {
        self.accepted.set(self.accepted.get() + 1);
    }

    pub fn refuse(&self) {
        self.refused.set(self.refused.get() + 1);
    }

    /// Counts a refusal, which is only right for an `edited` file and must name `path`.
    pub fn refused(
        &self,
        edited: bool,
        error: &dyn std::fmt::Display,
        path: &std::path::Path,
    ) -> Result<(), TestCaseError> {
        self.refuse();
        let message = error.to_string();
        prop_assert!(edited, "valid file refused: {message}");
        prop_assert!(message.contains(&path.display().to_string()), "{message}");
        Ok(())
    }

    /// Panics unless at least `min` inputs went each way.
    pub fn assert_both(&self, min: u32) {
        let (a, r) = (self.accepted.get(), self.refused.get());
        assert!(
            a >= min && r >= min,
            "{a} inputs accepted and {r} refused; the edits no longer exercise both paths"
        );
    }
}

/// One edit of a file. Positions are taken modulo the current length, so every edit applies
/// to a file of any size.
#[derive(Clone, Debug)]
pub enum Mutation {
    /// Flip one bit.
    Flip { at: usize, bit: u8 },
    /// Overwrite one byte.
    Set { at: usize, value: u8 },
    /// Keep only the first `keep` bytes (modulo `len + 1`).
    Truncate { keep: usize },
    /// Append bytes.
    Extend(Vec<u8>),
    /// Remove up to `len` bytes starting at `at`.
    Remove { at: usize, len: usize },
    /// Insert bytes at `at`.
    Insert { at: usize, bytes: Vec<u8> },
    /// Overwrite the 4 bytes at `4 * word` with `value` in big- or little-endian order: the
    /// size fields of binary headers (IDX dimensions, the safetensors header length).
    Word {
        word: usize,
        value: u32,
        big_endian: bool,
    },
}

/// Sizes that break readers which trust them: zero, one, around 2^31 and 2^32, and any.
pub fn interesting_u32() -> impl Strategy<Value = u32> {
    prop_oneof![
        Just(0u32),
        Just(1),
        Just(2),
        Just(255),
        Just(0x7fff_ffff),
        Just(0x8000_0000),
        Just(0xffff_fffe),
        Just(u32::MAX),
        any::<u32>(),
    ]
}

/// One mutation; `header_words` bounds where [`Mutation::Word`] writes (the first words of a
/// file are where binary formats keep their sizes).
pub fn mutation(header_words: usize) -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(at, value)| Mutation::Set { at, value }),
        2 => any::<usize>().prop_map(|keep| Mutation::Truncate { keep }),
        1 => proptest::collection::vec(any::<u8>(), 1..16).prop_map(Mutation::Extend),
        1 => (any::<usize>(), 1usize..64).prop_map(|(at, len)| Mutation::Remove { at, len }),
        1 => (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        3 => (0..header_words.max(1), interesting_u32(), any::<bool>())
            .prop_map(|(word, value, big_endian)| Mutation::Word { word, value, big_endian }),
    ]
}

/// Up to `max` mutations.
pub fn mutations(max: usize, header_words: usize) -> impl Strategy<Value = Vec<Mutation>> {
    proptest::collection::vec(mutation(header_words), 0..=max)
}

/// Applies `edits` in order.
pub fn mutate(bytes: &[u8], edits: &[Mutation]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for edit in edits {
        apply(&mut out, edit);
    }
    out
}

fn apply(bytes: &mut Vec<u8>, edit: &Mutation) {
    let len = bytes.len();
    match edit {
        Mutation::Flip { at, bit } if len > 0 => bytes[at % len] ^= 1 << bit,
        Mutation::Set { at, value } if len > 0 => bytes[at % len] = *value,
        Mutation::Truncate { keep } => bytes.truncate(keep % (len + 1)),
        Mutation::Extend(extra) => bytes.extend_from_slice(extra),
        Mutation::Remove { at, len: n } if len > 0 => {
            let start = at % len;
            bytes.drain(start..(start + n).min(len));
        }
        Mutation::Insert { at, bytes: extra } => {
            let at = at % (len + 1);
            bytes.splice(at..at, extra.iter().copied());
        }
        Mutation::Word {
            word,
            value,
            big_endian,
        } => {
            let at = 4 * word;
            if at + 4 <= len {
                let b = if *big_endian {
                    value.to_be_bytes()
                } else {
                    value.to_le_bytes()
                };
                bytes[at..at + 4].copy_from_slice(&b);
            }
        }
        Mutation::Flip { .. } | Mutation::Set { .. } | Mutation::Remove { .. } => {}
    }
}
