//! Deterministic shuffling and seed derivation.
//!
//! Every random choice in the project derives from one recorded seed through [`derive_seed`],
//! so these functions are frozen: changing them changes every recorded result.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::random::mix;

/// A seeded permutation of `0..n`: Fisher–Yates driven by `ChaCha8Rng::seed_from_u64(seed)`.
///
/// Same `(n, seed)` gives the same permutation on every platform: draws are taken as `u64`
/// (never `usize`), so pointer width cannot change the stream.
pub fn permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut perm: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = rng.random_range(0..=i as u64) as usize;
        perm.swap(i, j);
    }
    perm
}

/// Mini-batches for one epoch: `permutation(n, derive_seed(seed, "epoch", epoch))` cut into
/// chunks of `batch_size`; the last, smaller chunk is kept unless `drop_last`.
///
/// # Panics
/// If `batch_size == 0`.
pub fn epoch_batches(
    n: usize,
    batch_size: usize,
    seed: u64,
    epoch: u64,
    drop_last: bool,
) -> Vec<Vec<usize>> {
    assert!(batch_size > 0, "epoch_batches: batch_size must be > 0");
    permutation(n, derive_seed(seed, "epoch", epoch))
        .chunks(batch_size)
        .filter(|chunk| !drop_last || chunk.len() == batch_size)
        .map(<[usize]>::to_vec)
        .collect()
}

/// Derives an independent stream seed from a base seed, a stream label and an index, by
/// splitmix64 mixing of each input in turn.
///
/// The label's length is mixed in after its bytes so that no two `(stream, index)` pairs feed
/// the same sequence of words.
pub fn derive_seed(seed: u64, stream: &str, index: u64) -> u64 {
    let mut h = mix(seed);
    for byte in stream.bytes() {
        h = mix(h ^ u64::from(byte));
    }
    h = mix(h ^ stream.len() as u64);
    mix(h ^ index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_is_a_permutation() {
        for n in [0, 1, 2, 17, 1000] {
            let mut p = permutation(n, 42);
            p.sort_unstable();
            assert_eq!(p, (0..n).collect::<Vec<_>>());
        }
    }

    #[test]
    fn permutation_is_deterministic() {
        assert_eq!(permutation(500, 7), permutation(500, 7));
        assert_ne!(permutation(500, 7), permutation(500, 8));
        // Pinned so that a dependency upgrade changing the stream is noticed.
        assert_eq!(permutation(10, 0), PINNED_PERMUTATION);
    }

    const PINNED_PERMUTATION: [usize; 10] = [6, 1, 8, 3, 2, 9, 0, 5, 4, 7];

    #[test]
    fn derive_seed_is_pinned_and_separates_streams() {
        assert_eq!(derive_seed(0, "epoch", 0), PINNED_SEED);
        let seeds = [
            derive_seed(1, "epoch", 0),
            derive_seed(1, "epoch", 1),
            derive_seed(2, "epoch", 0),
            derive_seed(1, "init", 0),
            derive_seed(1, "", 0),
            derive_seed(1, "e", 0),
        ];
        for (i, a) in seeds.iter().enumerate() {
            for b in &seeds[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    const PINNED_SEED: u64 = 11_228_483_062_978_527_431;

    #[test]
    fn epoch_batches_cover_all_indices_once() {
        let batches = epoch_batches(103, 10, 5, 3, false);
        assert_eq!(batches.len(), 11);
        assert_eq!(batches.last().unwrap().len(), 3);
        let mut all: Vec<usize> = batches.concat();
        all.sort_unstable();
        assert_eq!(all, (0..103).collect::<Vec<_>>());
    }

    #[test]
    fn epoch_batches_drop_last_and_vary_by_epoch() {
        let batches = epoch_batches(103, 10, 5, 3, true);
        assert_eq!(batches.len(), 10);
        assert!(batches.iter().all(|b| b.len() == 10));
        assert_eq!(
            epoch_batches(50, 8, 1, 0, false),
            epoch_batches(50, 8, 1, 0, false)
        );
        assert_ne!(
            epoch_batches(50, 8, 1, 0, false),
            epoch_batches(50, 8, 1, 1, false)
        );
        assert!(epoch_batches(0, 8, 1, 0, false).is_empty());
    }
}
