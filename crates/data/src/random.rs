//! The project's one host-side generator: splitmix64 (Steele, Lea & Flood 2014) with the
//! uniform, symmetric, Rademacher and normal draws the analyses take from it.
//!
//! Host-side draws give the same numbers for a seed on every backend. Each caller seeds its
//! own stream (from [`derive_seed`](crate::derive_seed) or an offset of a recorded seed);
//! the draws are frozen, since changing one changes every recorded result that used it.

/// 2⁵³: uniform draws keep the top 53 bits of a word, an f64's whole mantissa.
const TWO_53: f64 = (1u64 << 53) as f64;

/// The golden-ratio increment of splitmix64.
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// A splitmix64 stream: the state advances by a constant and each word is its finalised
/// state, so streams of different states never share a word.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A stream whose first word finalises `state + GOLDEN`.
    pub const fn new(state: u64) -> Self {
        Self { state }
    }

    /// The next 64-bit word.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / TWO_53
    }

    /// Uniform in (0, 1): the midpoints of the 2⁵³ cells, so a logarithm never sees 0.
    pub fn uniform_open(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / TWO_53
    }

    /// Uniform in [−1, 1).
    pub fn symmetric(&mut self) -> f64 {
        self.uniform() * 2.0 - 1.0
    }

    /// ±1 with equal probability (the sign of [`Self::symmetric`]).
    pub fn rademacher(&mut self) -> f64 {
        if self.symmetric() < 0.0 { -1.0 } else { 1.0 }
    }
}

/// One finalised splitmix64 word of `x`: a bijection of u64 with strong avalanche, the mixing
/// step of [`derive_seed`](crate::derive_seed).
pub fn mix(x: u64) -> u64 {
    SplitMix64::new(x).next_u64()
}

/// One N(0, 1) draw from two uniforms by Box–Muller, √(−2 ln u₁)·cos(2π u₂), with u₁ in
/// (0, 1] (so the logarithm is finite) and u₂ in [0, 1).
pub fn box_muller(u1: f64, u2: f64) -> f64 {
    debug_assert!(
        u1 > 0.0 && u1 <= 1.0,
        "Box–Muller needs u1 in (0, 1], got {u1}"
    );
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_the_reference_sequence() {
        // The first outputs of the reference C implementation seeded with 1234567
        // (Vigna's splitmix64.c: x += GOLDEN, then the finaliser).
        let mut r = SplitMix64::new(1_234_567);
        let words: Vec<u64> = (0..3).map(|_| r.next_u64()).collect();
        assert_eq!(
            words,
            [
                6_457_827_717_110_365_317,
                3_203_168_211_198_807_973,
                9_817_491_932_198_370_423
            ]
        );
    }

    #[test]
    fn draws_stay_in_their_ranges_and_have_the_right_moments() {
        let mut r = SplitMix64::new(7);
        let n = 200_000;
        let (mut sum, mut sum_sq, mut signs) = (0.0, 0.0, 0.0);
        for _ in 0..n {
            let u = r.uniform();
            let o = r.uniform_open();
            let s = r.symmetric();
            assert!((0.0..1.0).contains(&u) && o > 0.0 && o < 1.0 && (-1.0..1.0).contains(&s));
            signs += r.rademacher();
            let z = box_muller(1.0 - r.uniform(), r.uniform());
            sum += z;
            sum_sq += z * z;
        }
        let n = f64::from(n);
        // 5 standard errors: a wrong formula misses by far more.
        assert!((sum / n).abs() < 5.0 / n.sqrt(), "mean {}", sum / n);
        assert!((sum_sq / n - 1.0).abs() < 5.0 * 2f64.sqrt() / n.sqrt());
        assert!((signs / n).abs() < 5.0 / n.sqrt());
    }
}
