//! Inclusive sequence ranges (range tombstones) as sorted, merged lists.

/// Sorts and merges overlapping or adjacent inclusive ranges.
pub(crate) fn merge(mut ranges: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    ranges.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
    for (a, b) in ranges {
        match out.last_mut() {
            Some((_, e)) if a <= e.saturating_add(1) => *e = (*e).max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// The end of the merged range containing `q`, if any.
pub(crate) fn covered(merged: &[(u64, u64)], q: u64) -> Option<u64> {
    let i = merged.partition_point(|&(a, _)| a <= q);
    let (_, b) = *merged.get(i.checked_sub(1)?)?;
    (q <= b).then_some(b)
}

/// The runs of `from..to` (exclusive end) not listed in sorted `holes`.
pub(crate) fn runs_without(from: u64, to: u64, holes: &[u64]) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut a = from;
    let start = holes.partition_point(|&h| h < from);
    for &h in holes[start..].iter().take_while(|&&h| h < to) {
        if h > a {
            out.push((a, h - 1));
        }
        a = a.max(h + 1);
    }
    if a < to {
        out.push((a, to - 1));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_and_lookup() {
        let m = merge(vec![(10, 12), (1, 3), (4, 5), (11, 20), (30, 30)]);
        assert_eq!(m, vec![(1, 5), (10, 20), (30, 30)]);
        assert_eq!(covered(&m, 0), None);
        assert_eq!(covered(&m, 4), Some(5));
        assert_eq!(covered(&m, 9), None);
        assert_eq!(covered(&m, 20), Some(20));
        assert_eq!(covered(&m, 30), Some(30));
        assert_eq!(covered(&m, 31), None);
    }

    #[test]
    fn runs_skip_holes() {
        assert_eq!(runs_without(1, 11, &[]), vec![(1, 10)]);
        assert_eq!(
            runs_without(1, 11, &[0, 1, 5, 6, 10, 12]),
            vec![(2, 4), (7, 9)]
        );
        assert_eq!(runs_without(5, 5, &[]), vec![]);
    }
}
