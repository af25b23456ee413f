//! NATS header blocks: `NATS/1.0[ <status>[ <description>]]\r\n(<Name>: <value>\r\n)*\r\n`.
//!
//! Used by the server for no-responders status messages now and by JetStream later.

use bytes::{BufMut, BytesMut};

const VERSION: &[u8] = b"NATS/1.0";

/// Appends a header block with only a status line, e.g. `NATS/1.0 503\r\n\r\n` or
/// `NATS/1.0 408 Request Timeout\r\n\r\n`.
pub fn status_headers(out: &mut BytesMut, code: u16, description: Option<&str>) {
    let mut fmt = itoa::Buffer::new();
    let code = fmt.format(code);
    let description = description.filter(|d| !d.is_empty());
    out.reserve(VERSION.len() + 1 + code.len() + description.map_or(0, |d| d.len() + 1) + 4);
    out.put_slice(VERSION);
    out.put_u8(b' ');
    out.put_slice(code.as_bytes());
    if let Some(d) = description {
        out.put_u8(b' ');
        out.put_slice(d.as_bytes());
    }
    out.put_slice(b"\r\n\r\n");
}

/// Why a header block is malformed.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum HeaderError {
    #[error("header block does not start with NATS/1.0")]
    MissingVersion,
    #[error("header block is not terminated by an empty line")]
    Unterminated,
    #[error("status in header block is not a number")]
    BadStatus,
    #[error("status description is not UTF-8")]
    InvalidUtf8,
    #[error("header line without a name and ':'")]
    MalformedField,
    #[error("bytes after the end of the header block")]
    TrailingBytes,
}

/// A parsed header block borrowing from the message.
///
/// Lookups are case-sensitive exact matches on the name, like nats-server's own header
/// lookups (`Nats-Msg-Id` and `nats-msg-id` are different headers). Values have leading
/// and trailing blanks removed and are bytes, since NATS does not require UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderBlock<'a> {
    pub status: Option<u16>,
    pub description: Option<&'a str>,
    /// The `Name: value\r\n` lines, already validated.
    fields: &'a [u8],
}

/// Parses and validates a complete header block (as carried in HPUB/HMSG).
pub fn parse_headers(block: &[u8]) -> Result<HeaderBlock<'_>, HeaderError> {
    let rest = block
        .strip_prefix(VERSION)
        .ok_or(HeaderError::MissingVersion)?;
    let (status_line, fields) = split_line(rest).ok_or(HeaderError::Unterminated)?;
    let (status, description) = parse_status(status_line)?;

    let mut remaining = fields;
    loop {
        let (line, after) = split_line(remaining).ok_or(HeaderError::Unterminated)?;
        if line.is_empty() {
            if !after.is_empty() {
                return Err(HeaderError::TrailingBytes);
            }
            break;
        }
        match memchr::memchr(b':', line) {
            Some(colon) if colon > 0 => {}
            _ => return Err(HeaderError::MalformedField),
        }
        remaining = after;
    }
    let fields_len = fields.len().saturating_sub(2);
    Ok(HeaderBlock {
        status,
        description,
        fields: fields.get(..fields_len).unwrap_or_default(),
    })
}

/// Splits off one CRLF-terminated line.
fn split_line(buf: &[u8]) -> Option<(&[u8], &[u8])> {
    let nl = memchr::memchr(b'\n', buf)?;
    let line = buf.get(..nl)?.strip_suffix(b"\r")?;
    Some((line, buf.get(nl + 1..)?))
}

fn parse_status(line: &[u8]) -> Result<(Option<u16>, Option<&str>), HeaderError> {
    // "NATS/1.0503" is not a status line: the version must be followed by a blank.
    if line.first().is_some_and(|&b| b != b' ' && b != b'\t') {
        return Err(HeaderError::MissingVersion);
    }
    let line = trim(line);
    if line.is_empty() {
        return Ok((None, None));
    }
    let digits = line.iter().take_while(|b| b.is_ascii_digit()).count();
    let (code, description) = line.split_at(digits);
    if code.is_empty() || code.len() > 4 {
        return Err(HeaderError::BadStatus);
    }
    if !description.is_empty()
        && !description
            .first()
            .is_some_and(|&b| b == b' ' || b == b'\t')
    {
        return Err(HeaderError::BadStatus);
    }
    let code = code.iter().fold(0u16, |n, &d| n * 10 + u16::from(d - b'0'));
    let description = trim(description);
    let description = if description.is_empty() {
        None
    } else {
        Some(std::str::from_utf8(description).map_err(|_| HeaderError::InvalidUtf8)?)
    };
    Ok((Some(code), description))
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

impl<'a> HeaderBlock<'a> {
    /// The first value of header `name` (case-sensitive).
    pub fn get(&self, name: &str) -> Option<&'a [u8]> {
        self.get_all(name).next()
    }

    /// The first value of header `name` as text, if it is UTF-8.
    pub fn get_str(&self, name: &str) -> Option<&'a str> {
        self.get(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// Every value of header `name`, in order (case-sensitive).
    pub fn get_all<'n>(&self, name: &'n str) -> impl Iterator<Item = &'a [u8]> + 'n
    where
        'a: 'n,
    {
        self.iter()
            .filter(move |(n, _)| *n == name.as_bytes())
            .map(|(_, v)| v)
    }

    /// All `(name, value)` pairs in order.
    pub fn iter(&self) -> HeaderIter<'a> {
        HeaderIter { rest: self.fields }
    }

    /// Whether the block has no name/value lines (it may still carry a status).
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

impl<'a> IntoIterator for &HeaderBlock<'a> {
    type Item = (&'a [u8], &'a [u8]);
    type IntoIter = HeaderIter<'a>;
    fn into_iter(self) -> HeaderIter<'a> {
        self.iter()
    }
}

/// Iterator over the `(name, value)` pairs of a [`HeaderBlock`].
#[derive(Debug, Clone)]
pub struct HeaderIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for HeaderIter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        // Lines were validated by parse_headers; a malformed one just ends the iteration.
        let (line, after) = split_line(self.rest)?;
        self.rest = after;
        let colon = memchr::memchr(b':', line)?;
        let (name, value) = line.split_at(colon);
        Some((name, trim(value.get(1..).unwrap_or_default())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16, description: Option<&str>) -> Vec<u8> {
        let mut out = BytesMut::new();
        status_headers(&mut out, code, description);
        out.to_vec()
    }

    #[test]
    fn status_blocks() {
        assert_eq!(status(503, None), b"NATS/1.0 503\r\n\r\n");
        assert_eq!(
            status(408, Some("Request Timeout")),
            b"NATS/1.0 408 Request Timeout\r\n\r\n"
        );
        assert_eq!(status(100, Some("")), b"NATS/1.0 100\r\n\r\n");
    }

    #[test]
    fn status_round_trips() {
        let block = status(408, Some("Request Timeout"));
        let h = parse_headers(&block).expect("valid");
        assert_eq!(h.status, Some(408));
        assert_eq!(h.description, Some("Request Timeout"));
        assert!(h.is_empty());
        let block = status(503, None);
        let h = parse_headers(&block).expect("valid");
        assert_eq!((h.status, h.description), (Some(503), None));
    }

    #[test]
    fn fields_lookup_is_case_sensitive_and_ordered() {
        let block = b"NATS/1.0\r\nNats-Msg-Id: abc\r\nX: 1\r\nX:2 \r\nEmpty:\r\n\r\n";
        let h = parse_headers(block).expect("valid");
        assert_eq!(h.status, None);
        assert_eq!(h.get("Nats-Msg-Id"), Some(&b"abc"[..]));
        assert_eq!(h.get_str("Nats-Msg-Id"), Some("abc"));
        assert_eq!(h.get("nats-msg-id"), None);
        assert_eq!(h.get_all("X").collect::<Vec<_>>(), vec![&b"1"[..], b"2"]);
        assert_eq!(h.get("Empty"), Some(&b""[..]));
        let names: Vec<_> = h.iter().map(|(n, _)| n).collect();
        assert_eq!(names, vec![&b"Nats-Msg-Id"[..], b"X", b"X", b"Empty"]);
        assert_eq!((&h).into_iter().count(), 4);
    }

    #[test]
    fn values_may_contain_colons() {
        let h = parse_headers(b"NATS/1.0\r\nUrl: http://x:1/\r\n\r\n").expect("valid");
        assert_eq!(h.get("Url"), Some(&b"http://x:1/"[..]));
    }

    #[test]
    fn status_with_fields() {
        let block = b"NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 5\r\n\r\n";
        let h = parse_headers(block).expect("valid");
        assert_eq!(h.status, Some(100));
        assert_eq!(h.description, Some("Idle Heartbeat"));
        assert_eq!(h.get("Nats-Last-Consumer"), Some(&b"5"[..]));
    }

    #[test]
    fn malformed_blocks() {
        assert_eq!(
            parse_headers(b"HTTP/1.1\r\n\r\n"),
            Err(HeaderError::MissingVersion)
        );
        assert_eq!(parse_headers(b""), Err(HeaderError::MissingVersion));
        assert_eq!(
            parse_headers(b"NATS/1.0503\r\n\r\n"),
            Err(HeaderError::MissingVersion)
        );
        assert_eq!(
            parse_headers(b"NATS/1.1\r\n\r\n"),
            Err(HeaderError::MissingVersion)
        );
        assert_eq!(
            parse_headers(b"NATS/1.0\r\n"),
            Err(HeaderError::Unterminated)
        );
        assert_eq!(
            parse_headers(b"NATS/1.0\r\nA: b\r\n"),
            Err(HeaderError::Unterminated)
        );
        assert_eq!(
            parse_headers(b"NATS/1.0\n\n"),
            Err(HeaderError::Unterminated)
        );
        assert_eq!(
            parse_headers(b"NATS/1.0 abc\r\n\r\n"),
            Err(HeaderError::BadStatus)
        );
        assert_eq!(
            parse_headers(b"NATS/1.0 503x\r\n\r\n"),
            Err(HeaderError::BadStatus)
        );
        assert_eq!(
            parse_headers(b"NATS/1.0 99999\r\n\r\n"),
            Err(HeaderError::BadStatus)
        );
        assert_eq!(
            parse_headers(b"NATS/1.0 503 \xff\r\n\r\n"),
            Err(HeaderError::InvalidUtf8)
        );
        assert_eq!(
            parse_headers(b"NATS/1.0\r\nno colon\r\n\r\n"),
            Err(HeaderError::MalformedField)
        );
        assert_eq!(
            parse_headers(b"NATS/1.0\r\n: v\r\n\r\n"),
            Err(HeaderError::MalformedField)
        );
        assert_eq!(
            parse_headers(b"NATS/1.0\r\n\r\nextra"),
            Err(HeaderError::TrailingBytes)
        );
    }
}
