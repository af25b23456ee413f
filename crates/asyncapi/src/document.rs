//! An AsyncAPI document as a JSON value plus the line and column of every node, so each
//! diagnostic can point at the file.
//!
//! Parser choice: `yaml-rust2` is a maintained, pure-Rust YAML 1.2 parser whose event API
//! reports a line/column mark for every node (serde_yaml is deprecated and its successors give
//! no positions), and since YAML 1.2 is a superset of JSON it reads `.json` contracts too.

use std::collections::HashMap;

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A 1-based line and column in the source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

/// Why a file could not be read as a document at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("line {line}, column {column}: {message} — fix the YAML/JSON syntax there")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("the file is empty — an AsyncAPI document starts with `asyncapi: '3.1.0'`")]
    Empty,
    #[error("the file holds more than one YAML document — keep one AsyncAPI document per file")]
    MultipleDocuments,
    #[error("line {line}, column {column}: the top level is not a mapping — an AsyncAPI document is an object with `asyncapi`, `info`, `channels`, …")]
    NotAnObject { line: usize, column: usize },
    #[error("line {line}, column {column}: a mapping key must be a string — quote the key")]
    NonStringKey { line: usize, column: usize },
    #[error("line {line}, column {column}: duplicate key {key:?} — remove or rename one of them")]
    DuplicateKey {
        key: String,
        line: usize,
        column: usize,
    },
    #[error("line {line}, column {column}: unknown YAML alias — define the anchor (&name) before using it")]
    UnknownAlias { line: usize, column: usize },
}

impl ParseError {
    /// The error as a diagnostic (code `syntax`, at the document root), for reports that list
    /// every finding the same way.
    pub fn to_diagnostic(&self) -> crate::Diagnostic {
        let (pos, message, fix) = match self {
            ParseError::Syntax {
                line,
                column,
                message,
            } => (
                Some((*line, *column)),
                message.clone(),
                "fix the YAML/JSON syntax there",
            ),
            ParseError::Empty => (
                None,
                "the file is empty".into(),
                "start with `asyncapi: '3.1.0'`",
            ),
            ParseError::MultipleDocuments => (
                None,
                "the file holds more than one YAML document".into(),
                "keep one AsyncAPI document per file",
            ),
            ParseError::NotAnObject { line, column } => (
                Some((*line, *column)),
                "the top level is not a mapping".into(),
                "an AsyncAPI document is a mapping with asyncapi, info, channels, …",
            ),
            ParseError::NonStringKey { line, column } => (
                Some((*line, *column)),
                "a mapping key is not a string".into(),
                "quote the key",
            ),
            ParseError::DuplicateKey { key, line, column } => (
                Some((*line, *column)),
                format!("duplicate key {key:?}"),
                "remove or rename one of them",
            ),
            ParseError::UnknownAlias { line, column } => (
                Some((*line, *column)),
                "unknown YAML alias".into(),
                "define the anchor (&name) before using it",
            ),
        };
        crate::Diagnostic {
            severity: crate::Severity::Error,
            code: "syntax",
            path: "/".into(),
            line: pos.map(|p| p.0),
            column: pos.map(|p| p.1),
            message,
            fix: fix.into(),
        }
    }
}

/// A parsed document: the JSON value and the position of each node by JSON pointer.
#[derive(Debug, Clone)]
pub struct Document {
    pub root: Value,
    positions: HashMap<String, Pos>,
}

impl Document {
    /// Parses YAML or JSON text.
    pub fn parse(text: &str) -> Result<Document, ParseError> {
        let mut builder = Builder::default();
        let mut parser = Parser::new_from_str(text);
        let yaml_result = parser.load(&mut builder, true);
        let yaml_error = match (yaml_result, builder.error.take()) {
            (_, Some(err)) => err,
            (Err(scan), None) => ParseError::Syntax {
                line: scan.marker().line(),
                column: scan.marker().col() + 1,
                message: scan.info().to_string(),
            },
            (Ok(()), None) => return builder.finish(),
        };
        // A few JSON texts (tabs used for indentation) are not YAML; read them as JSON
        // without positions rather than refuse them.
        if text.trim_start().starts_with('{') {
            if let Ok(root) = serde_json::from_str::<Value>(text) {
                return Document::from_value(root);
            }
        }
        Err(yaml_error)
    }

    /// A document without source positions (built in code, or read from JSON the YAML
    /// parser refused).
    pub fn from_value(root: Value) -> Result<Document, ParseError> {
        if !root.is_object() {
            return Err(ParseError::NotAnObject { line: 1, column: 1 });
        }
        Ok(Document {
            root,
            positions: HashMap::new(),
        })
    }

    /// The position of the node at `pointer`, or of its nearest ancestor that has one.
    /// Mapping values are placed at their key, which is the line people look for.
    pub fn position(&self, pointer: &str) -> Option<Pos> {
        let mut current = pointer;
        loop {
            if let Some(pos) = self.positions.get(current) {
                return Some(*pos);
            }
            match current.rfind('/') {
                Some(cut) => current = &current[..cut],
                None => return None,
            }
        }
    }
}

/// Escapes one JSON pointer segment (RFC 6901).
pub fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// `base` + `/segment`, escaped.
pub fn join(base: &str, segment: &str) -> String {
    format!("{base}/{}", escape(segment))
}

enum Frame {
    Seq {
        items: Vec<Value>,
        anchor: usize,
        pointer: String,
    },
    Map {
        map: Map<String, Value>,
        key: Option<String>,
        anchor: usize,
        pointer: String,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    root: Option<(Value, Pos)>,
    anchors: HashMap<usize, Value>,
    positions: HashMap<String, Pos>,
    documents: usize,
    error: Option<ParseError>,
}

fn pos(mark: Marker) -> Pos {
    Pos {
        line: mark.line(),
        // yaml-rust2's columns count from 0 (whatever its docs say); editors count from 1.
        column: mark.col() + 1,
    }
}

impl Builder {
    fn finish(mut self) -> Result<Document, ParseError> {
        let (root, _) = self.root.take().ok_or(ParseError::Empty)?;
        if !root.is_object() {
            let at = self
                .positions
                .get("")
                .copied()
                .unwrap_or(Pos { line: 1, column: 1 });
            return Err(ParseError::NotAnObject {
                line: at.line,
                column: at.column,
            });
        }
        Ok(Document {
            root,
            positions: self.positions,
        })
    }

    /// True when the next scalar is a mapping key.
    fn expecting_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { key: None, .. }))
    }

    /// The pointer of the node about to be added.
    fn child_pointer(&self) -> String {
        match self.stack.last() {
            None => String::new(),
            Some(Frame::Seq { items, pointer, .. }) => format!("{pointer}/{}", items.len()),
            Some(Frame::Map { key, pointer, .. }) => join(pointer, key.as_deref().unwrap_or("")),
        }
    }

    fn add(&mut self, value: Value, anchor: usize, at: Pos) {
        if anchor > 0 {
            self.anchors.insert(anchor, value.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some((value, at)),
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Map { map, key, .. }) => {
                if let Some(key) = key.take() {
                    map.insert(key, value);
                }
            }
        }
    }

    fn set_key(&mut self, name: String, at: Pos) {
        let Some(Frame::Map {
            map, key, pointer, ..
        }) = self.stack.last_mut()
        else {
            return;
        };
        if map.contains_key(&name) {
            self.error = Some(ParseError::DuplicateKey {
                key: name,
                line: at.line,
                column: at.column,
            });
            return;
        }
        self.positions.insert(join(pointer, &name), at);
        *key = Some(name);
    }

    fn start(&mut self, at: Pos) -> Option<String> {
        if self.expecting_key() {
            self.error = Some(ParseError::NonStringKey {
                line: at.line,
                column: at.column,
            });
            return None;
        }
        let pointer = self.child_pointer();
        self.positions.entry(pointer.clone()).or_insert(at);
        Some(pointer)
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        let at = pos(mark);
        match event {
            Event::DocumentStart => {
                self.documents += 1;
                if self.documents > 1 {
                    self.error = Some(ParseError::MultipleDocuments);
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                let plain =
                    style == TScalarStyle::Plain && tag.as_ref().is_none_or(|t| t.suffix != "str");
                if self.expecting_key() {
                    self.set_key(text, at);
                    return;
                }
                let pointer = self.child_pointer();
                self.positions.entry(pointer).or_insert(at);
                let value = if plain {
                    plain_scalar(&text)
                } else {
                    Value::String(text)
                };
                self.add(value, anchor, at);
            }
            Event::SequenceStart(anchor, _) => {
                if let Some(pointer) = self.start(at) {
                    self.stack.push(Frame::Seq {
                        items: Vec::new(),
                        anchor,
                        pointer,
                    });
                }
            }
            Event::MappingStart(anchor, _) => {
                if let Some(pointer) = self.start(at) {
                    self.stack.push(Frame::Map {
                        map: Map::new(),
                        key: None,
                        anchor,
                        pointer,
                    });
                }
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (value, anchor) = match self.stack.pop() {
                    Some(Frame::Seq { items, anchor, .. }) => (Value::Array(items), anchor),
                    Some(Frame::Map { map, anchor, .. }) => (Value::Object(map), anchor),
                    None => return,
                };
                self.add(value, anchor, at);
            }
            Event::Alias(id) => {
                let Some(value) = self.anchors.get(&id).cloned() else {
                    self.error = Some(ParseError::UnknownAlias {
                        line: at.line,
                        column: at.column,
                    });
                    return;
                };
                if self.expecting_key() {
                    match value {
                        Value::String(name) => self.set_key(name, at),
                        _ => {
                            self.error = Some(ParseError::NonStringKey {
                                line: at.line,
                                column: at.column,
                            })
                        }
                    }
                    return;
                }
                let pointer = self.child_pointer();
                self.positions.entry(pointer).or_insert(at);
                self.add(value, 0, at);
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
    }
}

/// YAML 1.2 core schema resolution of an unquoted scalar.
fn plain_scalar(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let unsigned = text.strip_prefix('+').unwrap_or(text);
    if let Ok(i) = unsigned.parse::<i64>() {
        return Value::Number(i.into());
    }
    if let Ok(u) = unsigned.parse::<u64>() {
        return Value::Number(u.into());
    }
    if let Some(hex) = text.strip_prefix("0x") {
        if let Ok(i) = i64::from_str_radix(hex, 16) {
            return Value::Number(i.into());
        }
    }
    if let Some(oct) = text.strip_prefix("0o") {
        if let Ok(i) = i64::from_str_radix(oct, 8) {
            return Value::Number(i.into());
        }
    }
    // Floats need a digit (so `inf` stays a string); .inf/.nan have no JSON form.
    if text.bytes().any(|b| b.is_ascii_digit()) {
        if let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64) {
            return Value::Number(n);
        }
    }
    Value::String(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_and_positions() {
        let doc = Document::parse(
            "asyncapi: '3.1.0'\nn: 3\nf: 1.5\nb: true\nz: ~\nlist:\n  - a\n  - {x: 1}\n",
        )
        .unwrap();
        assert_eq!(
            doc.root,
            json!({"asyncapi": "3.1.0", "n": 3, "f": 1.5, "b": true, "z": null,
                   "list": ["a", {"x": 1}]})
        );
        assert_eq!(doc.position("/n"), Some(Pos { line: 2, column: 1 }));
        assert_eq!(doc.position("/list/1/x"), Some(Pos { line: 8, column: 6 }));
        // Missing nodes fall back to their nearest ancestor.
        assert_eq!(doc.position("/list/1/y/z").map(|p| p.line), Some(8));
    }

    #[test]
    fn json_is_read_too() {
        let doc = Document::parse("{\"asyncapi\":\"3.0.0\",\n \"a\": [1, 2]}").unwrap();
        assert_eq!(doc.root, json!({"asyncapi": "3.0.0", "a": [1, 2]}));
        assert_eq!(doc.position("/a").map(|p| p.line), Some(2));
    }

    #[test]
    fn errors_carry_positions() {
        assert!(matches!(
            Document::parse("a: 1\na: 2\n"),
            Err(ParseError::DuplicateKey { line: 2, .. })
        ));
        assert!(matches!(
            Document::parse("a: [1\n"),
            Err(ParseError::Syntax { .. })
        ));
        assert!(matches!(
            Document::parse("- 1\n"),
            Err(ParseError::NotAnObject { line: 1, .. })
        ));
        assert_eq!(Document::parse("").unwrap_err(), ParseError::Empty);
    }

    #[test]
    fn anchors_are_copied() {
        let doc = Document::parse("a: &x {k: v}\nb: *x\n").unwrap();
        assert_eq!(doc.root["b"], json!({"k": "v"}));
    }
}
