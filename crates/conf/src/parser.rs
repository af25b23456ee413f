//! Structure of a configuration: keys and values, blocks, arrays, `include` and `$VARIABLE`.
//!
//! Behaviour follows nats-server 2.9.10 (checked by running it), notably:
//! - separators: `key: v`, `key = v`, `key v`; entries end at a new line, `;` or `,`;
//! - at the top level `{` is ignored, so a whole file may be wrapped in braces;
//! - `include path` (keyword in any case, then whitespace) parses the file, relative to the
//!   including file's directory, on its own: it cannot see the includer's variables, and its
//!   keys are merged into the block the include is in;
//! - `$NAME` looks for a key already set in the current block or an enclosing one
//!   (case-sensitive), then for an environment variable, whose text is parsed as a value.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{ConfError, Pos};
use crate::lexer::{self, is_nl, show, Cursor, LexError, Mark, Scalar};
use crate::value::{Map, Spanned, Value};
use crate::ParseOptions;

/// Where an entry is: at the top of a file or inside `{ }`, whose rules differ slightly.
#[derive(Clone, Copy, PartialEq)]
enum Level {
    Top,
    Block,
}

pub(crate) struct Parser<'a> {
    cur: Cursor<'a>,
    file: Option<Arc<PathBuf>>,
    /// Directory that relative includes are resolved against.
    dir: PathBuf,
    opts: &'a ParseOptions,
    /// Blocks being built, innermost last; variables are looked up here.
    scopes: Vec<Map>,
    /// Open arrays and blocks, counted across includes and environment values.
    depth: usize,
    /// Files being parsed, outermost first, to detect include cycles.
    chain: Vec<PathBuf>,
    /// How many includes deep this file is.
    include_level: usize,
    env_depth: usize,
    /// Values copied by `$VARIABLE` so far, shared with sub-parsers: without a cap, a few
    /// lines of `B: [$A, $A]`, `C: [$B, $B]`, ... would expand to billions of values.
    expanded: usize,
    /// False while parsing an environment variable's value.
    allow_include: bool,
}

/// Limit on environment variables whose values refer to further variables.
const MAX_ENV_DEPTH: usize = 8;

/// Limit on the number of values that `$VARIABLE` references may copy in one parse.
const MAX_EXPANDED: usize = 1_000_000;

impl<'a> Parser<'a> {
    pub fn new(text: &'a str, origin: Option<&Path>, opts: &'a ParseOptions) -> Self {
        let dir = origin
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let chain = origin
            .map(|p| vec![fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())])
            .unwrap_or_default();
        Parser {
            // A byte order mark is not whitespace to nats-server; it would become part of the
            // first key. Editors add it silently, so it is skipped.
            cur: Cursor::new(text.strip_prefix('\u{feff}').unwrap_or(text)),
            file: origin.map(|p| Arc::new(p.to_path_buf())),
            dir,
            opts,
            scopes: Vec::new(),
            depth: 0,
            chain,
            include_level: 0,
            env_depth: 0,
            expanded: 0,
            allow_include: true,
        }
    }

    fn pos(&self, mark: Mark) -> Pos {
        Pos::new(self.file.clone(), mark.line, mark.col)
    }

    fn here(&self) -> Pos {
        self.pos(self.cur.mark())
    }

    fn lex_error(&self, e: LexError) -> ConfError {
        ConfError::syntax(Pos::new(self.file.clone(), e.line, e.col), e.msg)
    }

    fn error_here(&self, msg: impl Into<String>) -> ConfError {
        ConfError::syntax(self.here(), msg)
    }

    /// Parses the whole text into its top-level map.
    pub fn parse_document(self) -> Result<Map, ConfError> {
        let mut expanded = 0;
        self.parse_document_counting(&mut expanded)
    }

    /// Like `parse_document`, handing the expansion count back to a parent parser.
    fn parse_document_counting(mut self, expanded: &mut usize) -> Result<Map, ConfError> {
        self.scopes.push(Map::new());
        let result = self.parse_body();
        *expanded = self.expanded;
        result?;
        Ok(self.scopes.pop().unwrap_or_default())
    }

    fn parse_body(&mut self) -> Result<(), ConfError> {
        loop {
            self.cur.skip_space();
            match self.cur.peek() {
                None => return Ok(()),
                // nats-server skips `{` here; a stray `}` would become a key there, we skip it
                // too so that files wrapped in braces (JSON style) work.
                Some('{' | '}') => {
                    self.cur.bump();
                }
                _ if self.cur.at_comment() => self.cur.skip_comment(),
                Some('/') => {
                    return Err(self.error_here("unexpected '/': comments start with '#' or '//'"))
                }
                _ => {
                    self.parse_entry(Level::Top)?;
                    self.top_value_end()?;
                }
            }
        }
    }

    /// After a top-level value: blanks and a comment, then a new line, `;`, `,`, `}` or the end.
    fn top_value_end(&mut self) -> Result<(), ConfError> {
        loop {
            self.cur.skip_blank();
            match self.cur.peek() {
                None => return Ok(()),
                _ if self.cur.at_comment() => self.cur.skip_comment(),
                Some(c) if is_nl(c) || matches!(c, ';' | ',' | '}') => {
                    self.cur.bump();
                    return Ok(());
                }
                // nats-server ignores a lone '/' here.
                Some('/') => {
                    self.cur.bump();
                }
                c => {
                    return Err(self.error_here(format!(
                        "expected a new line, ';' or ',' after the value, found {}",
                        show(c)
                    )))
                }
            }
        }
    }

    /// One `key value` (or `include path`) into the innermost scope.
    fn parse_entry(&mut self, level: Level) -> Result<(), ConfError> {
        let key_mark = self.cur.mark();
        let key = lexer::lex_key(&mut self.cur).map_err(|e| self.lex_error(e))?;
        if !key.quoted
            && key.text.eq_ignore_ascii_case("include")
            && self.cur.peek().is_some_and(char::is_whitespace)
        {
            let path = lexer::lex_include_path(&mut self.cur).map_err(|e| self.lex_error(e))?;
            return self.include(&path, key_mark);
        }
        // A value may follow on a later line when no separator is written.
        self.cur.skip_space();
        let key_pos = self.pos(key_mark);
        let no_value =
            || ConfError::syntax(key_pos.clone(), format!("key '{}' has no value", key.text));
        match self.cur.peek() {
            // nats-server ignores a key without a value at the end of a file.
            None if level == Level::Top => return Ok(()),
            Some(':' | '=') => {
                self.cur.bump();
                // Inside a block the value may be on the next line even after a separator.
                if level == Level::Block {
                    self.cur.skip_space();
                }
            }
            _ => {}
        }
        if level == Level::Block && matches!(self.cur.peek(), None | Some('}' | ',')) {
            return Err(no_value());
        }
        let value = self.parse_value()?;
        self.scope().insert_entry(key.text, key_pos, value, false);
        Ok(())
    }

    fn scope(&mut self) -> &mut Map {
        if self.scopes.is_empty() {
            self.scopes.push(Map::new());
        }
        let last = self.scopes.len() - 1;
        &mut self.scopes[last]
    }

    fn parse_value(&mut self) -> Result<Spanned<Value>, ConfError> {
        self.cur.skip_blank();
        let mark = self.cur.mark();
        let value = match self.cur.peek() {
            Some('[') => self.parse_array(mark)?,
            Some('{') => Value::Map(self.parse_block(mark)?),
            _ => match lexer::lex_scalar(&mut self.cur).map_err(|e| self.lex_error(e))? {
                Scalar::Str(s) => Value::String(s),
                Scalar::Int(n) => Value::Integer(n),
                Scalar::Float(f) => Value::Float(f),
                Scalar::Bool(b) => Value::Bool(b),
                Scalar::DateTime(s) => Value::DateTime(s),
                Scalar::Var(name) => return self.resolve(&name, self.pos(mark)),
            },
        };
        Ok(Spanned::new(value, self.pos(mark)))
    }

    fn enter(&mut self, mark: Mark) -> Result<(), ConfError> {
        if self.depth >= self.opts.max_nesting {
            return Err(ConfError::syntax(
                self.pos(mark),
                format!(
                    "arrays and blocks are nested more than {} levels deep",
                    self.opts.max_nesting
                ),
            ));
        }
        self.depth += 1;
        Ok(())
    }

    /// `[a, b]`: elements separated by `,` and/or new lines, with an optional trailing `,`.
    fn parse_array(&mut self, open: Mark) -> Result<Value, ConfError> {
        self.enter(open)?;
        self.cur.bump();
        let unterminated =
            |p: &Self| ConfError::syntax(p.pos(open), "array '[' is never closed with ']'");
        let mut items = Vec::new();
        'elements: loop {
            self.cur.skip_space();
            match self.cur.peek() {
                None => return Err(unterminated(self)),
                _ if self.cur.at_comment() => {
                    self.cur.skip_comment();
                    continue;
                }
                Some(']') => {
                    self.cur.bump();
                    break;
                }
                Some(c @ (',' | '/')) => {
                    return Err(self.error_here(format!(
                        "unexpected '{c}' in array where a value was expected"
                    )))
                }
                _ => {}
            }
            items.push(self.parse_value()?);
            loop {
                self.cur.skip_blank();
                match self.cur.peek() {
                    None => return Err(unterminated(self)),
                    _ if self.cur.at_comment() => self.cur.skip_comment(),
                    // A lone '/' separates like ',' in nats-server.
                    Some(c) if c == ',' || c == '/' || is_nl(c) => {
                        self.cur.bump();
                        continue 'elements;
                    }
                    Some(']') => {
                        self.cur.bump();
                        break 'elements;
                    }
                    c => {
                        return Err(self.error_here(format!(
                            "expected ',' or ']' after an array element, found {}",
                            show(c)
                        )))
                    }
                }
            }
        }
        self.depth -= 1;
        Ok(Value::Array(items))
    }

    /// `{ key: value ... }`: entries separated by new lines, `;` or `,`.
    fn parse_block(&mut self, open: Mark) -> Result<Map, ConfError> {
        self.enter(open)?;
        self.cur.bump();
        self.scopes.push(Map::new());
        let unterminated =
            |p: &Self| ConfError::syntax(p.pos(open), "block '{' is never closed with '}'");
        'entries: loop {
            self.cur.skip_space();
            match self.cur.peek() {
                None => return Err(unterminated(self)),
                _ if self.cur.at_comment() => {
                    self.cur.skip_comment();
                    continue;
                }
                Some('}') => {
                    self.cur.bump();
                    break;
                }
                Some(c @ (':' | '=' | ']' | '/' | ',' | ';')) => {
                    return Err(
                        self.error_here(format!("unexpected '{c}' where a key was expected"))
                    )
                }
                _ => {}
            }
            self.parse_entry(Level::Block)?;
            loop {
                self.cur.skip_blank();
                match self.cur.peek() {
                    None => return Err(unterminated(self)),
                    _ if self.cur.at_comment() => self.cur.skip_comment(),
                    // A lone '/' separates like ',' in nats-server.
                    Some(c) if matches!(c, ',' | ';' | '/') || is_nl(c) => {
                        self.cur.bump();
                        continue 'entries;
                    }
                    Some('}') => {
                        self.cur.bump();
                        break 'entries;
                    }
                    c => {
                        return Err(self.error_here(format!(
                            "expected a new line, ',', ';' or '}}' after the value, found {}",
                            show(c)
                        )))
                    }
                }
            }
        }
        self.depth -= 1;
        Ok(self.scopes.pop().unwrap_or_default())
    }

    /// Resolves `$name` found at `pos`.
    fn resolve(&mut self, name: &str, pos: Pos) -> Result<Spanned<Value>, ConfError> {
        // Unquoted bcrypt hashes (`$2a$11$...`) are strings, not variables. nats-server 2.9.10
        // special-cases only the 2a variant (`$2b$...` is an undefined variable there too).
        if name.starts_with("2a$") {
            return Ok(Spanned::new(Value::String(format!("${name}")), pos));
        }
        let found = self.scopes.iter_mut().rev().find_map(|scope| {
            let entry = scope.get_entry_mut(name)?;
            entry.used_as_variable = true;
            Some(entry.value.value.clone())
        });
        if let Some(value) = found {
            self.expanded += count_values(&value, MAX_EXPANDED);
            if self.expanded > MAX_EXPANDED {
                return Err(ConfError::syntax(
                    pos,
                    format!("variables expand to more than {MAX_EXPANDED} values"),
                ));
            }
            return Ok(Spanned::new(value, pos));
        }
        let Some(raw) = self.opts.lookup_env(name) else {
            return Err(ConfError::UndefinedVariable {
                pos,
                name: name.to_string(),
            });
        };
        if self.env_depth >= MAX_ENV_DEPTH {
            return Err(ConfError::syntax(
                pos,
                format!("environment variable ${name} refers to further variables more than {MAX_ENV_DEPTH} levels deep (a cycle?)"),
            ));
        }
        // As nats-server does, read the text as if it were written `pk=<text>`, so that
        // `1MB` becomes an integer and `"x"` loses its quotes.
        let text = format!("pk={raw}");
        let mut sub = Parser::new(&text, None, self.opts);
        sub.dir = self.dir.clone();
        sub.depth = self.depth;
        sub.chain = self.chain.clone();
        sub.include_level = self.include_level;
        sub.env_depth = self.env_depth + 1;
        sub.expanded = self.expanded;
        sub.allow_include = false;
        let parsed = sub
            .parse_document_counting(&mut self.expanded)
            .map_err(|e| {
                ConfError::syntax(
                    pos.clone(),
                    format!(
                        "environment variable ${name} ({raw:?}) is not a valid value: {}",
                        e.detail()
                    ),
                )
            })?;
        let mut value = match parsed.get("pk") {
            Some(v) => v.value.clone(),
            None => {
                return Err(ConfError::syntax(
                    pos,
                    format!("environment variable ${name} ({raw:?}) is not a valid value"),
                ))
            }
        };
        // Positions inside the value would point into the made-up `pk=` text.
        restamp(&mut value, &pos);
        Ok(Spanned::new(value, pos))
    }

    /// Parses an included file and merges its keys into the current scope.
    fn include(&mut self, path: &str, at: Mark) -> Result<(), ConfError> {
        let pos = self.pos(at);
        let fail = |msg: String| ConfError::Include {
            pos: pos.clone(),
            msg,
        };
        if !self.allow_include {
            return Err(fail(
                "include is not allowed in an environment variable's value".into(),
            ));
        }
        // nats-server joins even absolute paths onto the includer's directory, which makes
        // them fail there; we use absolute paths as written.
        let full = if Path::new(path).is_absolute() {
            PathBuf::from(path)
        } else {
            self.dir.join(path)
        };
        if self.include_level >= self.opts.max_include_depth {
            return Err(fail(format!(
                "includes are nested more than {} levels deep",
                self.opts.max_include_depth
            )));
        }
        let canonical = fs::canonicalize(&full).unwrap_or_else(|_| full.clone());
        if self.chain.contains(&canonical) {
            let cycle: Vec<String> = self
                .chain
                .iter()
                .chain(std::iter::once(&canonical))
                .map(|p| p.display().to_string())
                .collect();
            return Err(fail(format!("include cycle: {}", cycle.join(" -> "))));
        }
        let bytes = fs::read(&full).map_err(|e| {
            fail(format!(
                "cannot read included file '{path}' ({}): {e}",
                full.display()
            ))
        })?;
        let text = crate::decode(bytes, &full)?;
        let mut sub = Parser::new(&text, Some(&full), self.opts);
        sub.depth = self.depth;
        sub.chain = self.chain.clone();
        sub.chain.push(canonical);
        sub.include_level = self.include_level + 1;
        sub.env_depth = self.env_depth;
        sub.expanded = self.expanded;
        let map = sub.parse_document_counting(&mut self.expanded)?;
        let scope = self.scope();
        for entry in map.into_entries() {
            scope.insert_entry(
                entry.key,
                entry.key_pos,
                entry.value,
                entry.used_as_variable,
            );
        }
        Ok(())
    }
}

/// Number of values in `value`, counting stops a little past `limit`.
fn count_values(value: &Value, limit: usize) -> usize {
    let mut n = 1;
    match value {
        Value::Array(items) => {
            for item in items {
                if n > limit {
                    break;
                }
                n += count_values(&item.value, limit);
            }
        }
        Value::Map(map) => {
            for (_, v) in map.iter() {
                if n > limit {
                    break;
                }
                n += count_values(&v.value, limit);
            }
        }
        _ => {}
    }
    n
}

/// Sets every position in `value` to `pos`.
fn restamp(value: &mut Value, pos: &Pos) {
    match value {
        Value::Array(items) => {
            for item in items {
                item.pos = pos.clone();
                restamp(&mut item.value, pos);
            }
        }
        Value::Map(map) => {
            let mut fixed = Map::new();
            for entry in std::mem::take(map).into_entries() {
                let mut v = entry.value;
                v.pos = pos.clone();
                restamp(&mut v.value, pos);
                fixed.insert_entry(entry.key, pos.clone(), v, entry.used_as_variable);
            }
            *map = fixed;
        }
        _ => {}
    }
}
