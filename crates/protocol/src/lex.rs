//! Lexing shared by the client-op and server-op parsers: operation names, control-line
//! framing, argument splitting, sizes and payload framing.

use crate::ParseError;

/// Argument separator inside PUB/HPUB/MSG control lines (nats-server splits on these only).
#[inline(always)]
pub(crate) fn is_space(b: u8) -> bool {
    // Subject bytes are almost always above b' ', so most bytes cost one comparison.
    b <= b' ' && (b == b' ' || b == b'\t')
}

/// Separator for SUB/UNSUB: nats-server's `splitArg` also treats stray CR/LF as spaces.
#[inline(always)]
pub(crate) fn is_space_or_crlf(b: u8) -> bool {
    b <= b' ' && matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

pub(crate) enum NameMatch {
    /// The whole name is present.
    Full,
    /// The buffer ends inside the name.
    Partial,
    /// The buffer cannot start this name.
    Mismatch,
}

/// Compares the front of `buf` with an upper-case operation `name`, ignoring ASCII case.
#[inline]
pub(crate) fn match_name(buf: &[u8], name: &[u8]) -> NameMatch {
    for (i, &n) in name.iter().enumerate() {
        match buf.get(i) {
            None => return NameMatch::Partial,
            Some(&b) if b.to_ascii_uppercase() != n => return NameMatch::Mismatch,
            Some(_) => {}
        }
    }
    NameMatch::Full
}

/// What may follow an operation name before its arguments.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArgStyle {
    /// At least one space or tab, then arguments (PUB, SUB, -ERR, ...).
    Required,
    /// Optional whitespace, then arguments, possibly none (CONNECT, INFO).
    Optional,
    /// Everything up to the newline is ignored (PING, PONG, +OK).
    Ignored,
}

/// A framed control line: `buf[args_start..args_end]` holds the arguments (leading
/// whitespace and the line terminator stripped); `next` is the index after the `\n`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Line {
    pub args_start: usize,
    pub args_end: usize,
    pub next: usize,
}

/// Frames the control line whose (already matched) name is `buf[..name_len]`.
///
/// Returns `Ok(None)` when the line end has not arrived yet. The control-line limit is
/// checked on the argument text exactly like nats-server (`len(args) > max`), plus a bound
/// on leading whitespace so that a stream of blanks cannot grow the buffer forever. Both
/// checks give the same verdict whether the line is complete or still partial, so the
/// outcome never depends on how TCP split the stream.
#[inline]
pub(crate) fn frame_line(
    buf: &[u8],
    name_len: usize,
    style: ArgStyle,
    max: usize,
) -> Result<Option<Line>, ParseError> {
    let rest = buf.get(name_len..).unwrap_or_default();
    if style == ArgStyle::Required {
        match rest.first() {
            None => return Ok(None),
            Some(&b) if !is_space(b) => return Err(ParseError::UnknownOp),
            Some(_) => {}
        }
    }
    // A line end further out than this means whitespace or arguments exceed `max`, so
    // there is no need to scan a large buffer to its end.
    let window = rest.len().min(max.saturating_mul(2).saturating_add(2));
    let searched = rest.get(..window).unwrap_or(rest);
    let (content, next) = match memchr::memchr(b'\n', searched) {
        Some(pos) => {
            let line = searched.get(..pos).unwrap_or_default();
            (
                line.strip_suffix(b"\r").unwrap_or(line),
                Some(name_len + pos + 1),
            )
        }
        None => (searched.strip_suffix(b"\r").unwrap_or(searched), None),
    };
    let ws = content.iter().take_while(|&&b| is_space(b)).count();
    let arg_len = content.len() - ws;
    if ws > max || arg_len > max {
        return Err(ParseError::MaxControlLine { max });
    }
    Ok(next.map(|next| Line {
        args_start: name_len + ws,
        args_end: name_len + content.len(),
        next,
    }))
}

/// Splits `args` on runs of separators into at most `N` tokens, returning the tokens and
/// their count, or `None` if there are more than `N`.
#[inline(always)]
pub(crate) fn split_args<const N: usize>(
    args: &[u8],
    sep: impl Fn(u8) -> bool,
) -> Option<([&[u8]; N], usize)> {
    let mut out: [&[u8]; N] = [&[]; N];
    let mut n = 0;
    let mut i = 0;
    let len = args.len();
    while i < len {
        while i < len && sep(args[i]) {
            i += 1;
        }
        if i == len {
            break;
        }
        let start = i;
        while i < len && !sep(args[i]) {
            i += 1;
        }
        let slot = out.get_mut(n)?;
        *slot = &args[start..i];
        n += 1;
    }
    Some((out, n))
}

/// Parses a size like nats-server's `parseSize`: 1 to 9 ASCII digits, nothing else.
#[inline]
pub(crate) fn parse_size(d: &[u8]) -> Option<usize> {
    if d.is_empty() || d.len() > 9 {
        return None;
    }
    let mut n = 0usize;
    for &b in d {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + usize::from(b - b'0');
    }
    Some(n)
}

pub(crate) enum PayloadFrame {
    /// The payload ends at `end` and its CRLF was checked; the next op starts at `next`.
    Complete { end: usize, next: usize },
    /// The buffer must hold this many bytes before the op can complete.
    NeedMore(usize),
}

/// Frames `size` payload bytes starting at `start`, which must be followed by `\r\n`.
/// Like nats-server, a wrong byte after the payload is reported as soon as it arrives.
#[inline]
pub(crate) fn frame_payload(
    buf: &[u8],
    start: usize,
    size: usize,
) -> Result<PayloadFrame, ParseError> {
    let end = start.saturating_add(size);
    let next = end.saturating_add(2);
    match buf.get(end..next) {
        Some(b"\r\n") => Ok(PayloadFrame::Complete { end, next }),
        Some(_) => Err(ParseError::PayloadNotTerminated),
        None => match buf.get(end) {
            Some(b'\r') | None => Ok(PayloadFrame::NeedMore(next)),
            Some(_) => Err(ParseError::PayloadNotTerminated),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_nats_parse_size() {
        assert_eq!(parse_size(b"0"), Some(0));
        assert_eq!(parse_size(b"000000005"), Some(5));
        assert_eq!(parse_size(b"999999999"), Some(999_999_999));
        assert_eq!(parse_size(b"0000000005"), None, "10 digits");
        assert_eq!(parse_size(b""), None);
        assert_eq!(parse_size(b"-1"), None);
        assert_eq!(parse_size(b"+5"), None);
        assert_eq!(parse_size(b"5a"), None);
    }

    #[test]
    fn split_counts_tokens_and_rejects_extra() {
        let (t, n) = split_args::<3>(b"  a\t\tbb  c ", is_space).expect("3 tokens fit");
        assert_eq!(n, 3);
        assert_eq!(t, [&b"a"[..], b"bb", b"c"]);
        assert!(split_args::<3>(b"a b c d", is_space).is_none());
        let (_, n) = split_args::<3>(b"   ", is_space).expect("no tokens");
        assert_eq!(n, 0);
        let (t, n) = split_args::<3>(b"foo\r 1", is_space_or_crlf).expect("2 tokens");
        assert_eq!((t[0], t[1], n), (&b"foo"[..], &b"1"[..], 2));
    }

    #[test]
    fn name_matching_ignores_case_only() {
        assert!(matches!(match_name(b"pUb ", b"PUB"), NameMatch::Full));
        assert!(matches!(match_name(b"pu", b"PUB"), NameMatch::Partial));
        assert!(matches!(match_name(b"PUX", b"PUB"), NameMatch::Mismatch));
        assert!(matches!(match_name(b"+ok", b"+OK"), NameMatch::Full));
    }

    #[test]
    fn line_framing_strips_terminator_and_leading_blanks() {
        let buf = b"PUB \t foo 5 \r\nrest";
        let line = frame_line(buf, 3, ArgStyle::Required, 4096)
            .expect("valid")
            .expect("complete");
        assert_eq!(&buf[line.args_start..line.args_end], b"foo 5 ");
        assert_eq!(&buf[line.next..], b"rest");
        let line = frame_line(b"PING\n", 4, ArgStyle::Ignored, 4096)
            .expect("valid")
            .expect("complete");
        assert_eq!((line.args_start, line.args_end, line.next), (4, 4, 5));
        assert!(frame_line(b"PUB foo", 3, ArgStyle::Required, 4096)
            .expect("valid")
            .is_none());
        assert_eq!(
            frame_line(b"PUB\r\n", 3, ArgStyle::Required, 4096).err(),
            Some(ParseError::UnknownOp)
        );
    }

    #[test]
    fn line_limit_is_on_argument_text() {
        let ok = [b"PUB ".as_slice(), &[b'a'; 10], b"\r\n"].concat();
        assert!(frame_line(&ok, 3, ArgStyle::Required, 10).is_ok());
        let long = [b"PUB ".as_slice(), &[b'a'; 11], b"\r\n"].concat();
        assert_eq!(
            frame_line(&long, 3, ArgStyle::Required, 10).err(),
            Some(ParseError::MaxControlLine { max: 10 })
        );
        // Still partial, already too long.
        assert!(frame_line(&long[..15], 3, ArgStyle::Required, 10).is_err());
        // Leading blanks are bounded too.
        let blanks = [b"PUB".as_slice(), &[b' '; 30]].concat();
        assert!(frame_line(&blanks, 3, ArgStyle::Required, 10).is_err());
    }

    #[test]
    fn payload_framing() {
        let buf = b"hello\r\nX";
        assert!(matches!(
            frame_payload(buf, 0, 5),
            Ok(PayloadFrame::Complete { end: 5, next: 7 })
        ));
        assert!(matches!(
            frame_payload(b"hel", 0, 5),
            Ok(PayloadFrame::NeedMore(7))
        ));
        assert!(matches!(
            frame_payload(b"hello\r", 0, 5),
            Ok(PayloadFrame::NeedMore(7))
        ));
        assert_eq!(
            frame_payload(b"helloX", 0, 5).err(),
            Some(ParseError::PayloadNotTerminated)
        );
        assert_eq!(
            frame_payload(b"hello\rX", 0, 5).err(),
            Some(ParseError::PayloadNotTerminated)
        );
    }
}
