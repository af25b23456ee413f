//! Filter algebra: matching a literal subject, subset and overlap of filters.

use crate::validate::{is_valid_subject, split_first_token, tokens, FWC, PWC, SEP};

/// Does `filter` match the literal `subject`?
///
/// Hot path (cache maintenance), so neither argument is validated: for valid
/// inputs the answer is exact; for invalid ones it is a token-by-token
/// comparison that never panics. Tokens of `subject` are compared literally,
/// so a `*` token in `subject` is only matched by `*`/`>` or a literal `*`.
pub fn matches(filter: &[u8], subject: &[u8]) -> bool {
    // Byte-slice walk rather than two `Split` iterators: this runs once per
    // cached subject whenever a wildcard subscription comes or goes.
    let (mut f, mut s) = (filter, subject);
    loop {
        let (token, f_rest) = split_first_token(f);
        let s_rest = if token == FWC {
            // `>` swallows the (at least one) remaining subject tokens.
            return true;
        } else if token == PWC {
            split_first_token(s).1
        } else {
            // Compare in place: no separate scan for the subject's dot.
            match s.get(token.len()) {
                _ if !s.starts_with(token) => return false,
                None => None,
                Some(&SEP) => Some(&s[token.len() + 1..]),
                Some(_) => return false,
            }
        };
        match (f_rest, s_rest) {
            (None, None) => return true,
            (Some(fr), Some(sr)) => (f, s) = (fr, sr),
            _ => return false,
        }
    }
}

/// Is every literal subject matched by filter `sub` also matched by filter
/// `sup`? Returns false if either is not a valid filter.
pub fn subset_of(sub: &[u8], sup: &[u8]) -> bool {
    if !is_valid_subject(sub) || !is_valid_subject(sup) {
        return false;
    }
    let mut a = tokens(sub);
    let mut b = tokens(sup);
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            // `sub` still has >= 1 token; whatever it matches there, `>` does.
            (Some(_), Some(FWC)) => return true,
            // `sub` matches arbitrarily long tails; `sup` (no `>` here) does not.
            (Some(FWC), Some(_)) => return false,
            (Some(_), Some(PWC)) => {}
            // Literal in `sup`: `sub` must pin the same literal (a `*` in `sub`
            // differs from any literal, so it is correctly rejected).
            (Some(x), Some(y)) if x == y => {}
            _ => return false,
        }
    }
}

/// Is there a literal subject matched by both filters `a` and `b`? Returns
/// false if either is not a valid filter.
pub fn overlaps(a: &[u8], b: &[u8]) -> bool {
    if !is_valid_subject(a) || !is_valid_subject(b) {
        return false;
    }
    let mut x = tokens(a);
    let mut y = tokens(b);
    loop {
        match (x.next(), y.next()) {
            (None, None) => return true,
            // `>` accepts any non-empty tail, and the other side has one.
            (Some(FWC), Some(_)) | (Some(_), Some(FWC)) => return true,
            (Some(PWC), Some(_)) | (Some(_), Some(PWC)) => {}
            (Some(p), Some(q)) if p == q => {}
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_table() {
        let cases: &[(&str, &str, bool)] = &[
            ("foo", "foo", true),
            ("foo", "bar", false),
            ("foo.bar", "foo.bar", true),
            ("foo.bar", "foo", false),
            ("foo", "foo.bar", false),
            ("*", "foo", true),
            ("*", "foo.bar", false),
            ("foo.*", "foo.bar", true),
            ("foo.*", "foo", false),
            ("foo.*", "foo.bar.baz", false),
            ("*.bar", "foo.bar", true),
            ("*.*", "a.b", true),
            (">", "foo", true),
            (">", "foo.bar.baz", true),
            ("foo.>", "foo", false),
            ("foo.>", "foo.bar", true),
            ("foo.>", "foo.bar.baz", true),
            ("foo.*.>", "foo.bar", false),
            ("foo.*.>", "foo.bar.baz", true),
            ("foo*.bar", "foo*.bar", true),
            ("foo*.bar", "fooX.bar", false),
            ("foo.bar", "foo.baz", false),
            ("foo", "foobar", false),
            ("foobar", "foo", false),
            ("foo.bar", "foo.barx", false),
            ("foo.bar", "foo.bar.", false),
            ("*.>", "a.b", true),
            ("a.*", "a.", true),
        ];
        for &(f, s, want) in cases {
            assert_eq!(matches(f.as_bytes(), s.as_bytes()), want, "{f} ~ {s}");
        }
    }

    /// The straightforward token-iterator definition `matches` optimizes.
    fn reference_matches(filter: &[u8], subject: &[u8]) -> bool {
        let mut f = tokens(filter);
        let mut s = tokens(subject);
        loop {
            match (f.next(), s.next()) {
                (None, None) => return true,
                (Some(FWC), Some(_)) => return true,
                (Some(PWC), Some(_)) => {}
                (Some(ft), Some(st)) if ft == st => {}
                _ => return false,
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_reference_on_any_bytes(
            filter in proptest::collection::vec(proptest::sample::select(&b"ab.*>"[..]), 0..10),
            subject in proptest::collection::vec(proptest::sample::select(&b"ab.*"[..]), 0..10),
        ) {
            proptest::prop_assert_eq!(
                matches(&filter, &subject),
                reference_matches(&filter, &subject)
            );
        }
    }

    #[test]
    fn subset_table() {
        let cases: &[(&str, &str, bool)] = &[
            ("foo", "foo", true),
            ("foo", "*", true),
            ("foo", ">", true),
            ("foo.bar", ">", true),
            ("foo.bar", "foo.>", true),
            ("foo.*", "foo.>", true),
            ("foo.>", "foo.>", true),
            ("foo.>", ">", true),
            ("foo.*.baz", "foo.*.*", true),
            ("foo.*.baz", "*.*.baz", true),
            ("*", "foo", false),
            ("foo.>", "foo.*", false),
            ("foo.>", "foo.*.>", false),
            (">", "*.>", false),
            ("*.>", ">", true),
            ("foo.*", "foo.bar", false),
            ("foo.bar", "foo.bar.baz", false),
            ("foo", "foo.>", false),
            ("foo.", ">", false),
            (">", "foo..", false),
        ];
        for &(a, b, want) in cases {
            assert_eq!(subset_of(a.as_bytes(), b.as_bytes()), want, "{a} <= {b}");
        }
    }

    #[test]
    fn overlap_table() {
        let cases: &[(&str, &str, bool)] = &[
            ("foo", "foo", true),
            ("foo", "bar", false),
            ("foo.*", "*.bar", true),
            ("foo.*", "bar.*", false),
            ("foo.>", "*.bar", true),
            ("foo.>", "foo", false),
            (">", "a.b.c", true),
            ("*", "a.b", false),
            ("*.>", "a", false),
            ("a.*.c", "a.b.*", true),
            ("a.*.c", "a.b.d", false),
            ("a.>", "*.*.>", true),
            ("foo", "foo..", false),
        ];
        for &(a, b, want) in cases {
            assert_eq!(overlaps(a.as_bytes(), b.as_bytes()), want, "{a} & {b}");
            assert_eq!(overlaps(b.as_bytes(), a.as_bytes()), want, "{b} & {a}");
        }
    }
}
