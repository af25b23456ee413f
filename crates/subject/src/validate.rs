//! Subject and queue-name validation.
//!
//! A subject is a non-empty sequence of non-empty tokens separated by `.`,
//! containing no whitespace (space, tab, CR, LF). A filter may use the
//! wildcard tokens `*` (exactly one token) and `>` (one or more trailing
//! tokens, so it must be last). Wildcards only count as whole tokens:
//! `foo*.bar` is the literal token `foo*` followed by `bar`.

/// Token separator.
pub(crate) const SEP: u8 = b'.';
/// Single-token wildcard.
pub(crate) const PWC: &[u8] = b"*";
/// Full (trailing) wildcard.
pub(crate) const FWC: &[u8] = b">";

#[inline]
fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

#[inline]
pub(crate) fn is_wildcard_token(token: &[u8]) -> bool {
    token == PWC || token == FWC
}

/// Splits `s` at `.`; yields empty tokens for empty input or doubled dots,
/// so callers that need validity must check separately.
#[inline]
pub(crate) fn tokens(s: &[u8]) -> std::slice::Split<'_, u8, impl FnMut(&u8) -> bool> {
    s.split(|&b| b == SEP)
}

/// Returns the first token of `s` and, if there is one, the rest after the
/// separator.
#[inline]
pub(crate) fn split_first_token(s: &[u8]) -> (&[u8], Option<&[u8]>) {
    match s.iter().position(|&b| b == SEP) {
        Some(dot) => (&s[..dot], Some(&s[dot + 1..])),
        None => (s, None),
    }
}

/// One pass over `s`; `allow_wildcards` selects filter vs publish rules.
fn validate(s: &[u8], allow_wildcards: bool) -> bool {
    if s.is_empty() {
        return false;
    }
    let mut token_start = 0;
    for (i, &b) in s.iter().enumerate() {
        if b == SEP {
            let token = &s[token_start..i];
            // `>` is legal only as the final token.
            if token.is_empty() || token == FWC || (!allow_wildcards && token == PWC) {
                return false;
            }
            token_start = i + 1;
        } else if is_whitespace(b) {
            return false;
        }
    }
    let last = &s[token_start..];
    !last.is_empty() && (allow_wildcards || !is_wildcard_token(last))
}

/// Is `s` a valid subscription filter? Wildcards are allowed as whole
/// tokens; `>` only as the last token.
pub fn is_valid_subject(s: &[u8]) -> bool {
    validate(s, true)
}

/// Is `s` a valid publish subject: a valid subject with no wildcard tokens?
pub fn is_valid_literal_subject(s: &[u8]) -> bool {
    validate(s, false)
}

/// Does `s` contain no wildcard tokens? Does not check validity.
pub fn is_literal(s: &[u8]) -> bool {
    // Fast path: without `*` or `>` bytes there can be no wildcard token.
    if !s.iter().any(|&b| b == b'*' || b == b'>') {
        return true;
    }
    !tokens(s).any(is_wildcard_token)
}

/// Is `q` a valid queue group name: non-empty and without whitespace?
pub fn is_valid_queue_name(q: &[u8]) -> bool {
    !q.is_empty() && !q.iter().any(|&b| is_whitespace(b))
}

/// Number of tokens in `s` (an empty input has one empty token).
pub fn token_count(s: &[u8]) -> usize {
    s.iter().filter(|&&b| b == SEP).count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (input, valid filter, valid literal)
    const CASES: &[(&str, bool, bool)] = &[
        ("foo", true, true),
        ("foo.bar", true, true),
        ("foo.bar.baz", true, true),
        ("orders.eu.new", true, true),
        ("*", true, false),
        (">", true, false),
        ("foo.*", true, false),
        ("foo.>", true, false),
        ("*.bar", true, false),
        ("*.*.*", true, false),
        ("foo.*.>", true, false),
        ("foo*.bar", true, true),
        ("foo.bar*", true, true),
        ("foo.>bar", true, true),
        ("foo.**", true, true),
        ("foo.>>", true, true),
        ("$SYS.REQ.>", true, false),
        ("_INBOX.abc123", true, true),
        ("a-b_c:d/e", true, true),
        ("ünïcode.ok", true, true),
        ("", false, false),
        (".", false, false),
        ("..", false, false),
        ("foo.", false, false),
        (".foo", false, false),
        ("foo..bar", false, false),
        (">.foo", false, false),
        ("foo.>.bar", false, false),
        ("foo.>.>", false, false),
        ("foo bar", false, false),
        ("foo\tbar", false, false),
        ("foo\r", false, false),
        ("foo\nbar", false, false),
        (" ", false, false),
        ("foo. .bar", false, false),
        ("foo.*.", false, false),
    ];

    #[test]
    fn validation_table() {
        for &(s, filter, literal) in CASES {
            assert_eq!(is_valid_subject(s.as_bytes()), filter, "filter {s:?}");
            assert_eq!(
                is_valid_literal_subject(s.as_bytes()),
                literal,
                "literal {s:?}"
            );
        }
    }

    #[test]
    fn literal_detection() {
        assert!(is_literal(b"foo.bar"));
        assert!(is_literal(b"foo*.>bar"));
        assert!(is_literal(b""));
        assert!(!is_literal(b"*"));
        assert!(!is_literal(b"foo.>"));
        assert!(!is_literal(b"foo.*.bar"));
    }

    #[test]
    fn queue_names() {
        assert!(is_valid_queue_name(b"workers"));
        assert!(is_valid_queue_name(b"a.b"));
        assert!(!is_valid_queue_name(b""));
        assert!(!is_valid_queue_name(b"bad name"));
    }

    #[test]
    fn splitting() {
        assert_eq!(split_first_token(b"a.b.c"), (&b"a"[..], Some(&b"b.c"[..])));
        assert_eq!(split_first_token(b"a"), (&b"a"[..], None));
        assert_eq!(split_first_token(b"a."), (&b"a"[..], Some(&b""[..])));
        assert_eq!(token_count(b"a.b.c"), 3);
    }
}
