//! Scanning of keys and scalar values.
//!
//! nats-server's lexer is context-sensitive (the same `1k` is an integer before a newline and
//! part of a string before a letter), so rather than a token stream this offers a cursor and
//! functions that read one key or one scalar at the cursor; `parser.rs` drives them. The rules
//! follow nats-server 2.9.10 as observed by running it; deviations are commented.

use crate::units;

/// Position-tracking reader over the source text.
pub(crate) struct Cursor<'a> {
    src: &'a str,
    off: usize,
    line: u32,
    col: u32,
}

impl<'a> Cursor<'a> {
    pub fn new(src: &'a str) -> Self {
        Cursor {
            src,
            off: 0,
            line: 1,
            col: 1,
        }
    }

    pub fn peek(&self) -> Option<char> {
        self.src[self.off..].chars().next()
    }

    pub fn peek2(&self) -> Option<char> {
        self.src[self.off..].chars().nth(1)
    }

    pub fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.off += c.len_utf8();
        if c == '\n' {
            self.line = self.line.saturating_add(1);
            self.col = 1;
        } else {
            self.col = self.col.saturating_add(1);
        }
        Some(c)
    }

    /// Skips spaces and tabs, which separate tokens on one line.
    pub fn skip_blank(&mut self) {
        while self.peek().is_some_and(is_blank) {
            self.bump();
        }
    }

    /// Skips all whitespace including line breaks.
    pub fn skip_space(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    /// True at `#` or `//`.
    pub fn at_comment(&self) -> bool {
        match self.peek() {
            Some('#') => true,
            Some('/') => self.peek2() == Some('/'),
            _ => false,
        }
    }

    /// Skips a comment up to, not including, the end of its line.
    pub fn skip_comment(&mut self) {
        while self.peek().is_some_and(|c| !is_nl(c)) {
            self.bump();
        }
    }

    /// The current position, to report an error at later.
    pub fn mark(&self) -> Mark {
        Mark {
            line: self.line,
            col: self.col,
        }
    }

    fn error(&self, msg: impl Into<String>) -> LexError {
        self.mark().error(msg)
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Mark {
    pub line: u32,
    pub col: u32,
}

impl Mark {
    pub fn error(self, msg: impl Into<String>) -> LexError {
        LexError {
            line: self.line,
            col: self.col,
            msg: msg.into(),
        }
    }
}

pub(crate) fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

pub(crate) fn is_nl(c: char) -> bool {
    c == '\n' || c == '\r'
}

/// Quotes a character for an error message, making invisible ones visible.
pub(crate) fn show(c: Option<char>) -> String {
    match c {
        None => "end of file".to_string(),
        Some('\n') | Some('\r') => "a new line".to_string(),
        Some(c) => format!("'{}'", c.escape_debug()),
    }
}

#[derive(Debug)]
pub(crate) struct LexError {
    pub line: u32,
    pub col: u32,
    pub msg: String,
}

pub(crate) type LexResult<T> = Result<T, LexError>;

#[derive(Debug)]
pub(crate) enum Scalar {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    DateTime(String),
    /// `$NAME`, to be resolved by the parser.
    Var(String),
}

pub(crate) struct Key {
    pub text: String,
    pub quoted: bool,
}

/// Reads a key: quoted with `"` or `'` (no escapes), or bare up to whitespace, `:` or `=`.
/// Bare keys may contain anything else, e.g. `a.b` or `$x`, as in nats-server.
pub(crate) fn lex_key(cur: &mut Cursor) -> LexResult<Key> {
    match cur.peek() {
        Some(c @ (':' | '=')) => Err(cur.error(format!(
            "unexpected key separator '{c}' where a key was expected"
        ))),
        Some(q @ ('"' | '\'')) => {
            let start = cur.mark();
            cur.bump();
            let text =
                read_until_quote(cur, q).ok_or_else(|| start.error("unterminated quoted key"))?;
            Ok(Key { text, quoted: true })
        }
        _ => {
            let mut text = String::new();
            while let Some(c) = cur.peek() {
                if c.is_whitespace() || c == ':' || c == '=' {
                    break;
                }
                text.push(c);
                cur.bump();
            }
            Ok(Key {
                text,
                quoted: false,
            })
        }
    }
}

/// Reads up to the closing `quote` and consumes it; `None` at end of input.
fn read_until_quote(cur: &mut Cursor, quote: char) -> Option<String> {
    let mut text = String::new();
    loop {
        match cur.bump()? {
            c if c == quote => return Some(text),
            c => text.push(c),
        }
    }
}

/// Reads the path after `include`: quoted (no escapes) or bare up to a blank, new line, `;`
/// or `}`. nats-server refuses paths starting with a digit or `-`; we accept them.
pub(crate) fn lex_include_path(cur: &mut Cursor) -> LexResult<String> {
    cur.skip_blank();
    let path = match cur.peek() {
        Some(q @ ('"' | '\'')) => {
            let start = cur.mark();
            cur.bump();
            read_until_quote(cur, q)
                .ok_or_else(|| start.error("unterminated quoted include path"))?
        }
        c @ (None | Some('\n' | '\r' | '[' | '{' | '(' | '\\' | ';' | '}')) => {
            return Err(cur.error(format!(
                "expected a file name after include, found {}",
                show(c)
            )));
        }
        Some(_) => {
            let mut text = String::new();
            while let Some(c) = cur.peek() {
                if is_nl(c) || is_blank(c) || c == ';' || c == '}' {
                    break;
                }
                cur.bump();
                if c == '\'' {
                    break;
                }
                text.push(c);
            }
            text
        }
    };
    Ok(path)
}

/// Ends an unquoted number: what may follow `1k` or `42` for it to stay a number. nats-server
/// 2.9.10 lacks `]` here, so `[1, 12]` fails there (`12]` becomes a string); we accept it.
fn ends_number(c: Option<char>) -> bool {
    match c {
        None => true,
        Some(c) => is_nl(c) || is_blank(c) || matches!(c, '}' | ']' | ';' | ','),
    }
}

/// Ends an unquoted string (the `'` case is handled by the caller).
fn ends_bare(c: char) -> bool {
    is_nl(c) || is_blank(c) || matches!(c, ';' | ',' | ']' | '}')
}

fn is_size_suffix(c: char) -> bool {
    matches!(c.to_ascii_lowercase(), 'k' | 'm' | 'g' | 't' | 'p' | 'e')
}

/// Reads a scalar value at the cursor (arrays and blocks are the parser's).
pub(crate) fn lex_scalar(cur: &mut Cursor) -> LexResult<Scalar> {
    match cur.peek() {
        Some('\'') => {
            let start = cur.mark();
            cur.bump();
            let text = read_until_quote(cur, '\'')
                .ok_or_else(|| start.error("unterminated single-quoted string"))?;
            Ok(Scalar::Str(text))
        }
        Some('"') => lex_double_quoted(cur),
        Some('(') => lex_block(cur),
        Some('-') => lex_negative(cur),
        Some(c) if c.is_ascii_digit() => lex_number(cur),
        Some('.') => Err(cur.error("a number must start with a digit, not '.'")),
        Some(c) if is_nl(c) => Err(cur.error("expected a value but found a new line")),
        // Includes end of input, which nats-server reads as an empty string.
        _ => lex_bare(cur, Vec::new()),
    }
}

/// Collects a string as bytes, since `\xHH` escapes may form multi-byte UTF-8 sequences.
fn push_char(buf: &mut Vec<u8>, c: char) {
    let mut tmp = [0u8; 4];
    buf.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
}

fn finish_string(buf: Vec<u8>, start: Mark) -> LexResult<String> {
    String::from_utf8(buf)
        .map_err(|_| start.error("string escapes (\\xHH) do not form valid UTF-8"))
}

/// Handles the character after a backslash, which the caller consumed.
fn lex_escape(cur: &mut Cursor, buf: &mut Vec<u8>) -> LexResult<()> {
    let at = cur.mark();
    let c = cur.bump();
    let byte = match c {
        Some('t') => b'\t',
        Some('n') => b'\n',
        Some('r') => b'\r',
        Some('"') => b'"',
        Some('\\') => b'\\',
        Some('x') => {
            let mut hex = String::new();
            while hex.len() < 2 {
                match cur.peek() {
                    Some(c) if !is_nl(c) => {
                        cur.bump();
                        hex.push(c);
                    }
                    _ => break,
                }
            }
            if hex.len() != 2 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(at.error(format!(
                    "expected two hexadecimal digits after '\\x', found '{hex}'"
                )));
            }
            u8::from_str_radix(&hex, 16).map_err(|_| at.error("invalid hexadecimal escape"))?
        }
        other => {
            return Err(at.error(format!(
            "invalid escape {} after '\\'; only \\xHH, \\t, \\n, \\r, \\\" and \\\\ are allowed",
            show(other)
        )))
        }
    };
    buf.push(byte);
    Ok(())
}

fn lex_double_quoted(cur: &mut Cursor) -> LexResult<Scalar> {
    let start = cur.mark();
    cur.bump();
    let mut buf = Vec::new();
    loop {
        match cur.bump() {
            None => return Err(start.error("unterminated double-quoted string")),
            Some('"') => return Ok(Scalar::Str(finish_string(buf, start)?)),
            Some('\\') => lex_escape(cur, &mut buf)?,
            Some(c) => push_char(&mut buf, c),
        }
    }
}

/// An unquoted string, continuing after `prefix` (the digits of something that looked like a
/// number at first, e.g. `12abc`). Escapes apply; a `'` ends it and is dropped.
fn lex_bare(cur: &mut Cursor, prefix: Vec<u8>) -> LexResult<Scalar> {
    let start = cur.mark();
    let mut buf = prefix;
    let mut escaped = false;
    while let Some(c) = cur.peek() {
        if ends_bare(c) {
            break;
        }
        cur.bump();
        match c {
            '\'' => break,
            '\\' => {
                escaped = true;
                lex_escape(cur, &mut buf)?;
            }
            c => push_char(&mut buf, c),
        }
    }
    let text = finish_string(buf, start)?;
    if escaped {
        return Ok(Scalar::Str(text));
    }
    // Booleans are recognised case-insensitively (`TRUE`, `Yes`, `oN` verified).
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" => return Ok(Scalar::Bool(true)),
        "false" | "no" | "off" => return Ok(Scalar::Bool(false)),
        _ => {}
    }
    match text.strip_prefix('$') {
        Some(name) => Ok(Scalar::Var(name.to_string())),
        None => Ok(Scalar::Str(text)),
    }
}

/// A `( ... )` block: everything up to a `)` alone at the start of a line, which must be
/// followed by a new line or the end of input. The text keeps its first and last new line.
/// We also accept `)` followed by CRLF, which nats-server does not.
fn lex_block(cur: &mut Cursor) -> LexResult<Scalar> {
    let start = cur.mark();
    cur.bump();
    let mut text = String::new();
    let mut prev = '(';
    while let Some(c) = cur.bump() {
        if c == ')' && prev == '\n' {
            match (cur.peek(), cur.peek2()) {
                (None | Some('\n'), _) | (Some('\r'), Some('\n')) => {
                    return Ok(Scalar::Str(text));
                }
                _ => {}
            }
        }
        text.push(c);
        prev = c;
    }
    Err(start.error(
        "unterminated block string: the closing ')' must stand alone at the start of a line",
    ))
}

/// The source text from `from` (a byte offset) to the cursor.
fn taken(cur: &Cursor, from: usize) -> String {
    cur.src[from..cur.off].to_string()
}

fn int_token(cur: &Cursor, from: usize, start: Mark) -> LexResult<Scalar> {
    units::int_literal(&cur.src[from..cur.off])
        .map(Scalar::Int)
        .map_err(|msg| start.error(msg))
}

fn skip_digits(cur: &mut Cursor) -> usize {
    let mut n = 0;
    while cur.peek().is_some_and(|c| c.is_ascii_digit()) {
        cur.bump();
        n += 1;
    }
    n
}

/// Something starting with a digit: an integer (maybe with a size suffix), a float, an IP
/// address such as `127.0.0.1:4222`, a datetime, or, if a letter follows, a plain string
/// (`12abc`, `1kx`).
fn lex_number(cur: &mut Cursor) -> LexResult<Scalar> {
    let from = cur.off;
    let start = cur.mark();
    let digits = skip_digits(cur);
    match cur.peek() {
        Some('-') if digits == 4 => lex_datetime(cur, from, start),
        Some('-') => {
            Err(cur
                .error("a datetime must be in full ISO8601 Zulu form, e.g. 2016-05-04T18:53:41Z"))
        }
        Some('.') => lex_float(cur, from, start),
        Some(c) if is_size_suffix(c) => lex_suffixed(cur, from, start),
        c if ends_number(c) => int_token(cur, from, start),
        _ => lex_bare(cur, cur.src.as_bytes()[from..cur.off].to_vec()),
    }
}

/// After `-`: a negative integer or float. Unlike positive numbers it never turns into a
/// string, so `-5x` is an error, as in nats-server.
fn lex_negative(cur: &mut Cursor) -> LexResult<Scalar> {
    let from = cur.off;
    let start = cur.mark();
    cur.bump();
    match cur.peek() {
        Some(c) if c.is_ascii_digit() => {}
        other => {
            return Err(cur.error(format!("expected a digit after '-', found {}", show(other))));
        }
    }
    skip_digits(cur);
    match cur.peek() {
        Some('.') => lex_float(cur, from, start),
        Some(c) if is_size_suffix(c) => lex_suffixed(cur, from, start),
        _ => int_token(cur, from, start),
    }
}

/// A size suffix (`k`, `MB`, `GiB`, ...): an integer if the number ends there or a digit
/// follows, otherwise the whole word is a string.
fn lex_suffixed(cur: &mut Cursor, from: usize, start: Mark) -> LexResult<Scalar> {
    cur.bump();
    while matches!(cur.peek(), Some('b' | 'B' | 'i' | 'I')) {
        cur.bump();
    }
    let next = cur.peek();
    if ends_number(next) || next.is_some_and(|c| c.is_ascii_digit()) {
        int_token(cur, from, start)
    } else {
        lex_bare(cur, cur.src.as_bytes()[from..cur.off].to_vec())
    }
}

/// After the digits and at the `.`: a float, or an IP address if a second `.` follows.
fn lex_float(cur: &mut Cursor, from: usize, start: Mark) -> LexResult<Scalar> {
    cur.bump();
    if skip_digits(cur) == 0 {
        return Err(cur.error(format!(
            "expected a digit after the '.' of a number, found {}",
            show(cur.peek())
        )));
    }
    if cur.peek() == Some('.') {
        while cur
            .peek()
            .is_some_and(|c| c.is_ascii_digit() || matches!(c, '.' | ':' | '-'))
        {
            cur.bump();
        }
        return Ok(Scalar::Str(taken(cur, from)));
    }
    let text = &cur.src[from..cur.off];
    match text.parse::<f64>() {
        Ok(f) if f.is_finite() => Ok(Scalar::Float(f)),
        _ => Err(start.error(format!("float '{text}' is out of range"))),
    }
}

/// At the `-` after four digits: the rest of `YYYY-MM-DDTHH:MM:SSZ`, which is the only form
/// nats-server accepts; the date must exist, as Go's time.Parse checks.
fn lex_datetime(cur: &mut Cursor, from: usize, start: Mark) -> LexResult<Scalar> {
    for want in "-00-00T00:00:00Z".chars() {
        let got = cur.peek();
        let ok = match want {
            '0' => got.is_some_and(|c| c.is_ascii_digit()),
            _ => got == Some(want),
        };
        if !ok {
            let expected = if want == '0' {
                "a digit".to_string()
            } else {
                format!("'{want}'")
            };
            return Err(cur.error(format!(
                "expected {expected} in ISO8601 datetime (YYYY-MM-DDTHH:MM:SSZ), found {}",
                show(got)
            )));
        }
        cur.bump();
    }
    let text = taken(cur, from);
    if !valid_datetime(&text) {
        return Err(start.error(format!("'{text}' is not a valid date and time")));
    }
    Ok(Scalar::DateTime(text))
}

/// Range checks for `YYYY-MM-DDTHH:MM:SSZ`, whose shape is already checked.
fn valid_datetime(text: &str) -> bool {
    let num = |r: std::ops::Range<usize>| text.get(r).and_then(|s| s.parse::<u32>().ok());
    let (Some(year), Some(month), Some(day), Some(hour), Some(min), Some(sec)) = (
        num(0..4),
        num(5..7),
        num(8..10),
        num(11..13),
        num(14..16),
        num(17..19),
    ) else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day) && hour < 24 && min < 60 && sec < 60
}
