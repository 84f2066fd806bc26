use super::*;

#[test]
fn checkpoints_follow_the_papers_recursion_at_100_steps() {
    // p₀ = 0, p₁ = 0.22, p_{j+1} = p_j + max(p_j − p_{j−1} − 0.03, 0.06), in hundredths so
    // that no rounding enters, then w_j = ⌈p_j·N⌉ while w_j ≤ N.
    let formula = |steps: usize| {
        let mut p = vec![0usize, 22];
        loop {
            let j = p.len() - 1;
            let next = p[j] + (p[j] - p[j - 1]).saturating_sub(3).max(6);
            if next * steps > 100 * steps {
                break;
            }
            p.push(next);
        }
        p.iter()
            .map(|pj| (pj * steps).div_ceil(100))
            .filter(|&w| w <= steps)
            .collect::<Vec<_>>()
    };
    assert_eq!(apgd_checkpoints(100), formula(100));
    assert_eq!(apgd_checkpoints(100), [0, 22, 41, 57, 70, 80, 87, 93, 99]);
    assert_eq!(apgd_checkpoints(200), formula(200));
    // Short runs still check: every interval is at least one iteration.
    assert_eq!(apgd_checkpoints(3), [0, 1, 2, 3]);
    assert_eq!(apgd_checkpoints(1), [0, 1]);
}
