//! Subject transforms ("subject mapping"): a source filter plus a
//! destination template, as used by server `mappings`, stream
//! `subject_transform`, `republish` and source/mirror transforms.
//!
//! Semantics follow ADR-30 (Subject Transform) and ADR-36 (Subject Mapping
//! Transforms in Streams), checked against nats-server 2.9.10 where that
//! version implements them (see `tests/transform.rs` for the verified table):
//!
//! * A subject is transformed only when it matches the source filter. The
//!   literal tokens of the source are dropped; its `*` tokens are numbered
//!   from 1 and feed the destination's mapping functions; the tokens matched
//!   by a trailing `>` are carried over to the `>` of the destination (which
//!   must then end in `>`, and only then).
//! * Destination tokens are literal, or a legacy `$n` (same as
//!   `{{wildcard(n)}}`; a `$` token that is not `$` + integer, such as
//!   `$KV`, is literal), or a `{{function(args)}}` token: `wildcard`,
//!   `partition`, `split`, `splitFromLeft`, `splitFromRight`,
//!   `sliceFromLeft`, `sliceFromRight`, and the 2.10 additions `left` and
//!   `right`. Function names accept nats-server's spelling rule: the first
//!   letter of each camel-case word in either case, the rest lower case
//!   (`Wildcard`, `wildcard`, `splitfromleft`, `SplitFromLeft`); 2.9.10
//!   rejects `WILDCARD` and `wIldcard` as unknown functions, and so do we.
//!   Whitespace is allowed around the name, the parentheses and after commas.
//! * Since 2.10, destinations may drop source wildcards (except for
//!   inter-account imports: see [`SubjectTransform::new_strict`]).
//! * An empty destination, or one equal to the source, is the identity:
//!   matching subjects pass unchanged (ADR-36: "an empty destination means no
//!   transformation"). An empty source means `>`.
//!
//! Construction compiles the destination into a plan of steps (merged
//! literal runs, wildcard references, functions, `>` tail), so
//! [`SubjectTransform::apply`] is one pass over the subject to locate the
//! wildcard tokens plus one pass over the plan, allocating only the output.

use std::ops::Range;

use crate::validate::is_valid_literal_subject;

/// Why a transform was rejected. Display texts follow nats-server's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransformError {
    /// The source is not a valid filter, or the destination is not a valid
    /// subject template (empty token, `*`, misplaced `>`, whitespace in a
    /// literal token, `>` in only one of source and destination).
    #[error("invalid subject")]
    InvalidSubject,
    /// `{{name(...)}}` with a name that is not a mapping function.
    #[error("invalid mapping destination: unknown function in {0}")]
    UnknownFunction(String),
    /// A wildcard index below 1 or above the number of `*` in the source, or
    /// any function when the source has no `*`.
    #[error("invalid mapping destination: wildcard index out of range in {0}")]
    IndexOutOfRange(String),
    #[error("invalid mapping destination: not enough arguments passed to the function in {0}")]
    NotEnoughArgs(String),
    #[error("invalid mapping destination: too many arguments passed to the function in {0}")]
    TooManyArgs(String),
    #[error(
        "invalid mapping destination: function argument is invalid or in the wrong format in {0}"
    )]
    InvalidArg(String),
    /// Strict (import) transforms must use every source wildcard.
    #[error("invalid mapping destination: not using all of the token wildcard(s) in {0}")]
    NotUsingAllWildcards(String),
    /// Strict (import) transforms allow only `{{wildcard(n)}}` / `$n`.
    #[error("invalid mapping destination: the only mapping function allowed for import transforms is {{{{Wildcard()}}}} in {0}")]
    NotSupportedForImport(String),
}

/// A compiled subject transform. Cheap to share; `apply` takes `&self`.
#[derive(Debug, Clone)]
pub struct SubjectTransform {
    src: String,
    dest: String,
    /// Source tokens before any trailing `>`.
    src_tokens: Box<[SrcToken]>,
    /// Source ends in `>`.
    src_fwc: bool,
    /// Number of `*` tokens in the source.
    npwc: usize,
    /// Matching subjects pass unchanged.
    identity: bool,
    /// Destination plan; outputs are joined with `.`.
    steps: Box<[Step]>,
    /// Bytes of literal destination text, for sizing the output.
    literal_len: usize,
    /// The plan cuts tokens (split/slice/left/right), which can expose a
    /// `*` or `>` token (`{{split(1,-)}}` on `a-*`): re-check the output.
    cuts: bool,
}

#[derive(Debug, Clone)]
enum SrcToken {
    Literal(Range<usize>),
    Pwc,
}

/// One `.`-separated piece of the output. Wildcard references are 0-based
/// indexes into the captured `*` tokens.
#[derive(Debug, Clone)]
enum Step {
    /// A run of literal destination tokens (with their inner dots): a range
    /// of `dest`.
    Literal(Range<usize>),
    Wildcard(usize),
    Partition {
        buckets: u32,
        wildcards: Box<[usize]>,
    },
    SplitFromLeft(usize, i64),
    SplitFromRight(usize, i64),
    SliceFromLeft(usize, i64),
    SliceFromRight(usize, i64),
    Left(usize, i64),
    Right(usize, i64),
    Split(usize, Box<[u8]>),
    /// The tokens matched by the source's `>`.
    Tail,
}

/// Which function a `{{...}}` token names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    Wildcard,
    Partition,
    SplitFromLeft,
    SplitFromRight,
    SliceFromLeft,
    SliceFromRight,
    Left,
    Right,
    Split,
}

/// Canonical spellings; an upper-case letter here may be either case.
const FUNCS: &[(&str, Func)] = &[
    ("Wildcard", Func::Wildcard),
    ("Partition", Func::Partition),
    ("SplitFromLeft", Func::SplitFromLeft),
    ("SplitFromRight", Func::SplitFromRight),
    ("SliceFromLeft", Func::SliceFromLeft),
    ("SliceFromRight", Func::SliceFromRight),
    ("Left", Func::Left),
    ("Right", Func::Right),
    ("Split", Func::Split),
];

/// A parsed destination token, wildcard indexes still 1-based as written.
enum Parsed {
    Literal,
    Wildcard(i64),
    Partition(u32, Vec<i64>),
    IndexInt(Func, i64, i64),
    Split(i64, Vec<u8>),
}

impl Parsed {
    fn indexes(&self) -> &[i64] {
        match self {
            Parsed::Literal => &[],
            Parsed::Wildcard(i) | Parsed::IndexInt(_, i, _) | Parsed::Split(i, _) => {
                std::slice::from_ref(i)
            }
            Parsed::Partition(_, v) => v,
        }
    }
}

/// Go regexp `\s`.
#[inline]
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0c' | '\r')
}

fn name_matches(got: &str, canonical: &str) -> bool {
    got.len() == canonical.len()
        && got.bytes().zip(canonical.bytes()).all(|(g, c)| {
            if c.is_ascii_uppercase() {
                g.eq_ignore_ascii_case(&c)
            } else {
                g == c
            }
        })
}

/// Go `strconv.Atoi(strings.Trim(s, " "))`.
fn atoi(s: &str) -> Option<i64> {
    s.trim_matches(' ').parse().ok()
}

/// Parses one destination token the way nats-server's `indexPlaceHolders`
/// does.
fn parse_token(token: &str) -> Result<Parsed, TransformError> {
    let b = token.as_bytes();
    if b.len() > 1 && b[0] == b'$' {
        // Legacy `$n`; other `$` tokens (`$KV`, `$JS`) are literal.
        return Ok(match token[1..].parse::<i64>() {
            Ok(n) => Parsed::Wildcard(n),
            Err(_) => Parsed::Literal,
        });
    }
    if !(b.len() > 4 && token.starts_with("{{") && token.ends_with("}}")) {
        return Ok(Parsed::Literal);
    }
    let unknown = || TransformError::UnknownFunction(token.to_owned());
    let inner = token[2..token.len() - 2].trim_start_matches(is_space);
    let name_end = inner
        .find(|c: char| c == '(' || is_space(c))
        .ok_or_else(unknown)?;
    let name = &inner[..name_end];
    let after_name = inner[name_end..].trim_start_matches(is_space);
    let open = after_name.strip_prefix('(').ok_or_else(unknown)?;
    let close = open.rfind(')').ok_or_else(unknown)?;
    if !open[close + 1..].chars().all(is_space) {
        return Err(unknown());
    }
    let func = FUNCS
        .iter()
        .find(|(canonical, _)| name_matches(name, canonical))
        .map(|&(_, f)| f)
        .ok_or_else(unknown)?;

    // Arguments split on `,\s*`.
    let raw = &open[..close];
    let args: Vec<&str> = raw
        .split(',')
        .enumerate()
        .map(|(i, a)| {
            if i == 0 {
                a
            } else {
                a.trim_start_matches(is_space)
            }
        })
        .collect();
    let not_enough = || TransformError::NotEnoughArgs(token.to_owned());
    let too_many = || TransformError::TooManyArgs(token.to_owned());
    let invalid = || TransformError::InvalidArg(token.to_owned());

    match func {
        Func::Wildcard => {
            if args.len() > 1 {
                return Err(too_many());
            }
            if args[0].is_empty() {
                return Err(not_enough());
            }
            Ok(Parsed::Wildcard(atoi(args[0]).ok_or_else(invalid)?))
        }
        Func::Partition => {
            if args.len() < 2 {
                return Err(not_enough());
            }
            // nats-server 2.9.10 accepts 0 (and then divides by zero per
            // message); a bucket count must be 1..=u32::MAX here.
            let buckets = atoi(args[0])
                .and_then(|n| u32::try_from(n).ok())
                .filter(|&n| n > 0)
                .ok_or_else(invalid)?;
            let indexes = args[1..]
                .iter()
                .map(|a| atoi(a).ok_or_else(invalid))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Parsed::Partition(buckets, indexes))
        }
        Func::Split => {
            if args.len() < 2 {
                return Err(not_enough());
            }
            if args.len() > 2 {
                return Err(too_many());
            }
            let index = atoi(args[0]).ok_or_else(invalid)?;
            let delim = args[1];
            // nats-server rejects a space or `.`; any whitespace could never
            // occur in a valid subject token either.
            if delim.contains('.') || delim.contains(is_space) {
                return Err(invalid());
            }
            Ok(Parsed::Split(index, delim.as_bytes().to_vec()))
        }
        _ => {
            if args.len() < 2 {
                return Err(not_enough());
            }
            if args.len() > 2 {
                return Err(too_many());
            }
            let index = atoi(args[0]).ok_or_else(invalid)?;
            let n = atoi(args[1]).ok_or_else(invalid)?;
            Ok(Parsed::IndexInt(func, index, n))
        }
    }
}

impl SubjectTransform {
    /// Compiles a transform for Core NATS mappings, stream transforms,
    /// republish and sources/mirrors: any mapping function, and source
    /// wildcards may be left unused (nats-server 2.10 rules; 2.9 required
    /// every wildcard to be used).
    ///
    /// `src` is a subject filter (`""` means `>`); `dest` a template (`""`
    /// or `dest == src` means identity).
    pub fn new(src: &str, dest: &str) -> Result<Self, TransformError> {
        Self::build(src, dest, false)
    }

    /// Compiles a transform for inter-account imports: only
    /// `{{wildcard(n)}}`/`$n` are allowed and every source `*` must be
    /// referenced.
    pub fn new_strict(src: &str, dest: &str) -> Result<Self, TransformError> {
        Self::build(src, dest, true)
    }

    fn build(src: &str, dest: &str, strict: bool) -> Result<Self, TransformError> {
        let src = if src.is_empty() { ">" } else { src };
        if !crate::is_valid_subject(src.as_bytes()) {
            return Err(TransformError::InvalidSubject);
        }
        let mut src_tokens = Vec::new();
        let mut src_fwc = false;
        let mut npwc = 0;
        let mut start = 0;
        for token in src.split('.') {
            match token {
                "*" => {
                    npwc += 1;
                    src_tokens.push(SrcToken::Pwc);
                }
                ">" => src_fwc = true,
                _ => src_tokens.push(SrcToken::Literal(start..start + token.len())),
            }
            start += token.len() + 1;
        }

        let mut me = SubjectTransform {
            src: src.to_owned(),
            dest: dest.to_owned(),
            src_tokens: src_tokens.into(),
            src_fwc,
            npwc,
            identity: false,
            steps: Box::new([]),
            literal_len: 0,
            cuts: false,
        };
        if dest.is_empty() || dest == src {
            me.identity = true;
            return Ok(me);
        }

        // Structure first (nats-server's subjectInfo on the destination).
        let dtokens: Vec<&str> = dest.split('.').collect();
        let last = dtokens.len() - 1;
        for (i, t) in dtokens.iter().enumerate() {
            let bad = t.is_empty() || *t == "*" || (*t == ">" && i != last);
            if bad {
                return Err(TransformError::InvalidSubject);
            }
        }
        if (dtokens[last] == ">") != src_fwc {
            return Err(TransformError::InvalidSubject);
        }

        let mut steps: Vec<Step> = Vec::with_capacity(dtokens.len());
        let mut used = vec![false; npwc];
        let mut literal_len = 0;
        let mut start = 0;
        for token in dtokens {
            let range = start..start + token.len();
            start += token.len() + 1;
            if token == ">" {
                steps.push(Step::Tail);
                continue;
            }
            let parsed = parse_token(token)?;
            if let Parsed::Literal = parsed {
                if token.contains(is_space) {
                    return Err(TransformError::InvalidSubject);
                }
                literal_len += token.len() + 1;
                // Merge with a preceding literal run (the dot between is
                // part of `dest`).
                if let Some(Step::Literal(prev)) = steps.last_mut() {
                    prev.end = range.end;
                } else {
                    steps.push(Step::Literal(range));
                }
                continue;
            }
            if strict && !matches!(parsed, Parsed::Wildcard(_)) {
                return Err(TransformError::NotSupportedForImport(token.to_owned()));
            }
            if npwc == 0 {
                return Err(TransformError::IndexOutOfRange(token.to_owned()));
            }
            // 1-based as written -> 0-based capture index. nats-server
            // 2.9.10 accepts `$0` and negative indexes (mapping them to the
            // first source token, literal or not); we reject them.
            let mut resolved = Vec::with_capacity(parsed.indexes().len());
            for &n in parsed.indexes() {
                if n < 1 || n as u64 > npwc as u64 {
                    return Err(TransformError::IndexOutOfRange(format!("{token}: [{n}]")));
                }
                let idx = (n - 1) as usize;
                used[idx] = true;
                resolved.push(idx);
            }
            let w = resolved.first().copied().unwrap_or(0);
            steps.push(match parsed {
                Parsed::Literal => unreachable!("handled above"),
                Parsed::Wildcard(_) => Step::Wildcard(w),
                Parsed::Partition(buckets, _) => Step::Partition {
                    buckets,
                    wildcards: resolved.into(),
                },
                Parsed::Split(_, delim) => Step::Split(w, delim.into()),
                Parsed::IndexInt(f, _, n) => match f {
                    Func::SplitFromLeft => Step::SplitFromLeft(w, n),
                    Func::SplitFromRight => Step::SplitFromRight(w, n),
                    Func::SliceFromLeft => Step::SliceFromLeft(w, n),
                    Func::SliceFromRight => Step::SliceFromRight(w, n),
                    Func::Left => Step::Left(w, n),
                    Func::Right => Step::Right(w, n),
                    Func::Wildcard | Func::Partition | Func::Split => {
                        unreachable!("parsed separately")
                    }
                },
            });
        }
        if strict && used.iter().any(|u| !u) {
            return Err(TransformError::NotUsingAllWildcards(dest.to_owned()));
        }
        // `>` -> `>` carries everything over unchanged.
        me.identity = me.src_tokens.is_empty() && matches!(steps[..], [Step::Tail]);
        me.cuts = steps.iter().any(|s| {
            !matches!(
                s,
                Step::Literal(_) | Step::Wildcard(_) | Step::Partition { .. } | Step::Tail
            )
        });
        me.steps = steps.into();
        me.literal_len = literal_len;
        Ok(me)
    }

    /// The source filter (`>` when constructed with `""`).
    pub fn src(&self) -> &str {
        &self.src
    }

    /// The destination template as given.
    pub fn dest(&self) -> &str {
        &self.dest
    }

    /// The transformed subject, or `None` when `subject` is not a valid
    /// literal subject matching `src`, or when the result would not be a
    /// valid literal subject: `split` of a token made solely of delimiters,
    /// or a cutting function exposing a `*`/`>` token (`a-*` split on `-`),
    /// which nats-server would emit as a wildcard subject.
    ///
    /// Functions cut at byte positions like nats-server; a cut inside a
    /// multi-byte character yields U+FFFD in the returned `String` (use
    /// [`apply_to`](Self::apply_to) for the raw bytes).
    pub fn apply(&self, subject: &str) -> Option<String> {
        let mut out = Vec::new();
        if !self.apply_to(subject.as_bytes(), &mut out) {
            return None;
        }
        Some(match String::from_utf8(out) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }

    /// Appends the transformed `subject` to `out` and returns `true`, or
    /// returns `false` (leaving `out` as it was) like [`apply`](Self::apply)
    /// returns `None`. Reusing `out` makes the hot path allocation-free.
    pub fn apply_to(&self, subject: &[u8], out: &mut Vec<u8>) -> bool {
        if !is_valid_literal_subject(subject) {
            return false;
        }
        const INLINE: usize = 16;
        let mut inline = [(0usize, 0usize); INLINE];
        let mut heap;
        let caps: &mut [(usize, usize)] = if self.npwc <= INLINE {
            &mut inline[..self.npwc]
        } else {
            heap = vec![(0, 0); self.npwc];
            &mut heap
        };
        let Some(tail) = self.match_subject(subject, caps) else {
            return false;
        };
        let mark = out.len();
        if self.identity {
            out.extend_from_slice(subject);
            return true;
        }
        out.reserve(self.literal_len + subject.len() + self.steps.len() * 4);
        let dest = self.dest.as_bytes();
        let token = |w: usize| {
            let (s, e) = caps[w];
            &subject[s..e]
        };
        for (i, step) in self.steps.iter().enumerate() {
            if i > 0 {
                out.push(b'.');
            }
            match step {
                Step::Literal(r) => out.extend_from_slice(&dest[r.clone()]),
                Step::Wildcard(w) => out.extend_from_slice(token(*w)),
                Step::Partition { buckets, wildcards } => {
                    let mut h = Fnv1a32::new();
                    for &w in wildcards.iter() {
                        h.write(token(w));
                    }
                    push_decimal(out, h.finish() % buckets);
                }
                Step::SplitFromLeft(w, n) => {
                    let t = token(*w);
                    match cut(*n, t.len()) {
                        Some(p) => push_split(out, t, p),
                        None => out.extend_from_slice(t),
                    }
                }
                Step::SplitFromRight(w, n) => {
                    let t = token(*w);
                    match cut(*n, t.len()) {
                        Some(p) => push_split(out, t, t.len() - p),
                        None => out.extend_from_slice(t),
                    }
                }
                Step::SliceFromLeft(w, n) => {
                    let t = token(*w);
                    match cut(*n, t.len()) {
                        Some(size) => push_chunks(out, t.chunks(size)),
                        None => out.extend_from_slice(t),
                    }
                }
                Step::SliceFromRight(w, n) => {
                    let t = token(*w);
                    match cut(*n, t.len()) {
                        Some(size) => {
                            let rem = t.len() % size;
                            if rem > 0 {
                                out.extend_from_slice(&t[..rem]);
                                out.push(b'.');
                            }
                            push_chunks(out, t[rem..].chunks(size));
                        }
                        None => out.extend_from_slice(t),
                    }
                }
                Step::Left(w, n) => {
                    let t = token(*w);
                    let keep = cut(*n, t.len()).unwrap_or(t.len());
                    out.extend_from_slice(&t[..keep]);
                }
                Step::Right(w, n) => {
                    let t = token(*w);
                    let keep = cut(*n, t.len()).unwrap_or(t.len());
                    out.extend_from_slice(&t[t.len() - keep..]);
                }
                Step::Split(w, delim) => {
                    if !push_split_on(out, token(*w), delim) {
                        out.truncate(mark);
                        return false;
                    }
                }
                Step::Tail => out.extend_from_slice(&subject[tail..]),
            }
        }
        if self.cuts && !is_valid_literal_subject(&out[mark..]) {
            out.truncate(mark);
            return false;
        }
        true
    }

    /// Matches a valid literal subject against the source, recording the
    /// byte ranges of the `*` tokens in `caps`. Returns the offset where the
    /// `>` tail starts (the subject length when there is no `>`).
    #[inline]
    fn match_subject(&self, subject: &[u8], caps: &mut [(usize, usize)]) -> Option<usize> {
        let src = self.src.as_bytes();
        let mut pos = 0;
        let mut done = false;
        let mut w = 0;
        for st in self.src_tokens.iter() {
            if done {
                return None;
            }
            let end = subject[pos..]
                .iter()
                .position(|&b| b == b'.')
                .map_or(subject.len(), |i| pos + i);
            match st {
                SrcToken::Literal(r) => {
                    if subject[pos..end] != src[r.clone()] {
                        return None;
                    }
                }
                SrcToken::Pwc => {
                    caps[w] = (pos, end);
                    w += 1;
                }
            }
            if end == subject.len() {
                done = true;
            }
            pos = end + 1;
        }
        match (self.src_fwc, done) {
            // `>` needs at least one more token.
            (true, false) => Some(pos),
            (false, true) => Some(subject.len()),
            _ => None,
        }
    }
}

/// nats-server's rule for the integer argument of the split/slice/left/right
/// functions: it applies only when `0 < n < len`; otherwise the token is
/// output whole.
#[inline]
fn cut(n: i64, len: usize) -> Option<usize> {
    (n > 0 && (n as u64) < len as u64).then_some(n as usize)
}

#[inline]
fn push_split(out: &mut Vec<u8>, t: &[u8], at: usize) {
    out.extend_from_slice(&t[..at]);
    out.push(b'.');
    out.extend_from_slice(&t[at..]);
}

#[inline]
fn push_chunks<'a>(out: &mut Vec<u8>, chunks: impl Iterator<Item = &'a [u8]>) {
    for (i, c) in chunks.enumerate() {
        if i > 0 {
            out.push(b'.');
        }
        out.extend_from_slice(c);
    }
}

/// `split(w, delim)`: the non-empty pieces of `t` between occurrences of
/// `delim`, joined with `.`. An empty delimiter splits into characters (Go's
/// `strings.Split` with `""`). Returns `false` when there is no non-empty
/// piece (the output token would be empty).
///
/// nats-server joins the pieces with a quirk: a token starting with two
/// delimiters (`--a`) gets a leading `.` (an invalid subject, which 2.9.10
/// then drops); here it maps to `a`.
fn push_split_on(out: &mut Vec<u8>, t: &[u8], delim: &[u8]) -> bool {
    let mut any = false;
    let mut piece = |out: &mut Vec<u8>, p: &[u8]| {
        if !p.is_empty() {
            if any {
                out.push(b'.');
            }
            out.extend_from_slice(p);
            any = true;
        }
    };
    if delim.is_empty() {
        let mut i = 0;
        while i < t.len() {
            let n = utf8_width(t[i]).min(t.len() - i);
            piece(out, &t[i..i + n]);
            i += n;
        }
    } else if let [d] = delim {
        for p in t.split(|b| b == d) {
            piece(out, p);
        }
    } else {
        let mut rest = t;
        while let Some(at) = rest.windows(delim.len()).position(|win| win == delim) {
            piece(out, &rest[..at]);
            rest = &rest[at + delim.len()..];
        }
        piece(out, rest);
    }
    any
}

/// Length of the UTF-8 sequence a leading byte announces (1 for ASCII,
/// continuation or invalid bytes).
#[inline]
fn utf8_width(b: u8) -> usize {
    match b {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => 1,
    }
}

/// FNV-1a, 32 bit (Go's `hash/fnv.New32a`), which nats-server's
/// `partition` hashes the concatenated wildcard tokens with.
struct Fnv1a32(u32);

impl Fnv1a32 {
    const OFFSET: u32 = 0x811c_9dc5;
    const PRIME: u32 = 0x0100_0193;

    fn new() -> Self {
        Fnv1a32(Self::OFFSET)
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u32::from(b)).wrapping_mul(Self::PRIME);
        }
    }

    fn finish(&self) -> u32 {
        self.0
    }
}

fn push_decimal(out: &mut Vec<u8>, mut n: u32) {
    let mut buf = [0u8; 10];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fnv(s: &str) -> u32 {
        let mut h = Fnv1a32::new();
        h.write(s.as_bytes());
        h.finish()
    }

    #[test]
    fn fnv1a32_reference_vectors() {
        assert_eq!(fnv(""), 0x811c_9dc5);
        assert_eq!(fnv("a"), 0xe40c_292c);
        assert_eq!(fnv("foobar"), 0xbf9c_f968);
    }

    #[test]
    fn fnv_streaming_equals_concatenation() {
        let mut h = Fnv1a32::new();
        h.write(b"hello");
        h.write(b"world");
        assert_eq!(h.finish(), fnv("helloworld"));
    }

    #[test]
    fn decimal() {
        for n in [0u32, 7, 10, 99, 12345, u32::MAX] {
            let mut v = Vec::new();
            push_decimal(&mut v, n);
            assert_eq!(v, n.to_string().as_bytes());
        }
    }

    #[test]
    fn function_name_spelling() {
        assert!(name_matches("wildcard", "Wildcard"));
        assert!(name_matches("Wildcard", "Wildcard"));
        assert!(name_matches("splitfromleft", "SplitFromLeft"));
        assert!(name_matches("Splitfromleft", "SplitFromLeft"));
        assert!(!name_matches("sPLIT", "Split"));
        assert!(!name_matches("WILDCARD", "Wildcard"));
        assert!(!name_matches("wIldcard", "Wildcard"));
        assert!(!name_matches("wildcar", "Wildcard"));
    }

    #[test]
    fn token_parsing() {
        assert!(matches!(parse_token("$1"), Ok(Parsed::Wildcard(1))));
        assert!(matches!(parse_token("$KV"), Ok(Parsed::Literal)));
        assert!(matches!(parse_token("$"), Ok(Parsed::Literal)));
        assert!(matches!(parse_token("{{}}"), Ok(Parsed::Literal)));
        assert!(matches!(parse_token("{{wildcard(1)}"), Ok(Parsed::Literal)));
        assert!(matches!(
            parse_token("{{ Wildcard ( 1 ) }}"),
            Ok(Parsed::Wildcard(1))
        ));
        assert!(matches!(
            parse_token("{{partition(3, 1,2)}}"),
            Ok(Parsed::Partition(3, ref v)) if v == &[1, 2]
        ));
        assert!(matches!(
            parse_token("{{split(1, -)}}"),
            Ok(Parsed::Split(1, ref d)) if d == b"-"
        ));
        assert!(matches!(
            parse_token("{{split(1, )}}"),
            Ok(Parsed::Split(1, ref d)) if d.is_empty()
        ));
        assert!(matches!(
            parse_token("{{wildcard(1)x}}"),
            Err(TransformError::UnknownFunction(_))
        ));
        assert!(matches!(
            parse_token("{{wildcard 1}}"),
            Err(TransformError::UnknownFunction(_))
        ));
        assert!(matches!(
            parse_token("{{wildcard( )}}"),
            Err(TransformError::InvalidArg(_))
        ));
    }

    #[test]
    fn plan_merges_literal_runs() {
        let t = SubjectTransform::new("a.*.>", "x.y.$1.z.>").unwrap();
        assert_eq!(t.steps.len(), 4);
        assert!(matches!(&t.steps[0], Step::Literal(r) if &t.dest[r.clone()] == "x.y"));
        assert!(matches!(&t.steps[3], Step::Tail));
    }

    #[test]
    fn apply_to_appends_and_restores_on_failure() {
        let t = SubjectTransform::new("*", "{{split(1,-)}}").unwrap();
        let mut out = b"keep|".to_vec();
        assert!(t.apply_to(b"a-b", &mut out));
        assert_eq!(out, b"keep|a.b");
        assert!(!t.apply_to(b"---", &mut out));
        assert_eq!(out, b"keep|a.b");
    }

    #[test]
    fn many_wildcards_use_heap_captures() {
        let src = vec!["*"; 20].join(".");
        let t = SubjectTransform::new(&src, "$20.$1").unwrap();
        let subject: Vec<String> = (1..=20).map(|i| i.to_string()).collect();
        assert_eq!(t.apply(&subject.join(".")).as_deref(), Some("20.1"));
    }
}
