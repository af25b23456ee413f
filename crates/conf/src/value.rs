//! The parsed configuration: values with the position they were written at, and ordered maps.

use std::collections::HashMap;
use std::time::Duration;

use crate::error::{ConfError, Pos};
use crate::units;

/// A configuration value, typed the way nats-server types it.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    String(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
    /// An ISO8601 Zulu datetime as written, e.g. `2016-05-04T18:53:41Z`; validated.
    DateTime(String),
    Array(Vec<Spanned<Value>>),
    Map(Map),
}

impl Value {
    /// How the type reads in an error message: "a string", "an integer", ...
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::String(_) => "a string",
            Value::Integer(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Bool(_) => "a boolean",
            Value::DateTime(_) => "a datetime",
            Value::Array(_) => "an array",
            Value::Map(_) => "a block",
        }
    }
}

/// A value and where it began. For a value taken from a `$VARIABLE`, the position is that of
/// the reference.
#[derive(Clone, Debug, PartialEq)]
pub struct Spanned<T> {
    pub value: T,
    pub pos: Pos,
}

impl<T> Spanned<T> {
    pub fn new(value: T, pos: Pos) -> Self {
        Spanned { value, pos }
    }
}

impl Spanned<Value> {
    fn type_error(&self, expected: &'static str) -> ConfError {
        ConfError::Type {
            pos: self.pos.clone(),
            key: None,
            expected,
            found: self.value.type_name(),
        }
    }

    fn invalid(&self, msg: String) -> ConfError {
        ConfError::Invalid {
            pos: self.pos.clone(),
            key: None,
            msg,
        }
    }

    /// A string: quoted, unquoted or a `( ... )` block.
    pub fn as_str(&self) -> Result<&str, ConfError> {
        match &self.value {
            Value::String(s) => Ok(s),
            _ => Err(self.type_error("a string")),
        }
    }

    pub fn as_i64(&self) -> Result<i64, ConfError> {
        match self.value {
            Value::Integer(n) => Ok(n),
            _ => Err(self.type_error("an integer")),
        }
    }

    /// A float, or an integer widened to one (nats-server's `auth_timeout: 2` and `: 0.5`).
    pub fn as_f64(&self) -> Result<f64, ConfError> {
        match self.value {
            Value::Float(f) => Ok(f),
            Value::Integer(n) => Ok(n as f64),
            _ => Err(self.type_error("a number")),
        }
    }

    /// Only a real boolean (`true/false/yes/no/on/off`, any case, unquoted): nats-server does
    /// not accept the string `"true"` either.
    pub fn as_bool(&self) -> Result<bool, ConfError> {
        match self.value {
            Value::Bool(b) => Ok(b),
            _ => Err(self.type_error("a boolean (true/false, yes/no, on/off)")),
        }
    }

    /// A size in bytes: an integer (the unquoted literal `1MB` is already one), or a string.
    /// Strings shaped like nats-server's quoted JetStream limits (`"1G"`: digits and one
    /// upper-case K/M/G/T) use powers of 1024 as nats-server does there; any other string is
    /// read like the unquoted literal would be ([`crate::parse_size`]). Negative numbers are
    /// refused: where nats-server gives `-1` a meaning, match on [`Value::Integer`] first.
    pub fn as_size_bytes(&self) -> Result<u64, ConfError> {
        match &self.value {
            Value::Integer(n) => u64::try_from(*n)
                .map_err(|_| self.invalid(format!("size must not be negative, found {n}"))),
            Value::String(s) => {
                let parsed = if units::is_storage_size(s) {
                    units::parse_storage_size(s)
                } else {
                    units::parse_size(s)
                };
                parsed.map_err(|e| self.invalid(e.to_string()))
            }
            _ => Err(self.type_error("a size such as 1MB")),
        }
    }

    /// A duration: a Go duration string (`"2m"`, `"1h30m"`, `"500ms"`), or an integer number of
    /// seconds, as nats-server reads `ping_interval` and friends. Beware that an unquoted `2m`
    /// is the integer 2,000,000 (a size literal), i.e. 2,000,000 seconds, exactly as in
    /// nats-server.
    pub fn as_duration(&self) -> Result<Duration, ConfError> {
        match &self.value {
            Value::Integer(n) => u64::try_from(*n)
                .map(Duration::from_secs)
                .map_err(|_| self.invalid(format!("duration must not be negative, found {n}"))),
            Value::String(s) => crate::units::parse_go_duration(s).map_err(|e| {
                self.invalid(format!(
                    "{e} (write durations like \"2m\", \"1h30m\" or \"500ms\")"
                ))
            }),
            _ => Err(self.type_error(
                "a duration such as \"2m\" or \"500ms\", or an integer number of seconds",
            )),
        }
    }

    pub fn as_map(&self) -> Result<&Map, ConfError> {
        match &self.value {
            Value::Map(m) => Ok(m),
            _ => Err(self.type_error("a block { ... }")),
        }
    }

    pub fn as_array(&self) -> Result<&[Spanned<Value>], ConfError> {
        match &self.value {
            Value::Array(a) => Ok(a),
            _ => Err(self.type_error("an array [ ... ]")),
        }
    }

    /// The ISO8601 text of a datetime value (`2016-05-04T18:53:41Z`).
    pub fn as_datetime(&self) -> Result<&str, ConfError> {
        match &self.value {
            Value::DateTime(s) => Ok(s),
            _ => Err(self.type_error("an ISO8601 datetime such as 2016-05-04T18:53:41Z")),
        }
    }
}

/// One `key: value` of a [`Map`].
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_pos: Pos,
    pub value: Spanned<Value>,
    /// The key was referenced as `$key` by a later value. nats-server does not report such
    /// keys as unknown options, since they only exist to be variables.
    pub used_as_variable: bool,
    /// Order of the last assignment, so a case-insensitive lookup can let the last one win.
    seq: u64,
}

/// An ordered map: entries iterate in the order keys first appeared; assigning a key again
/// replaces its value (the later assignment wins, as in nats-server). Keys are case-sensitive.
#[derive(Clone, Debug, Default)]
pub struct Map {
    entries: Vec<Entry>,
    index: HashMap<String, usize>,
    next_seq: u64,
}

impl PartialEq for Map {
    fn eq(&self, other: &Self) -> bool {
        self.entries.len() == other.entries.len()
            && self.entries.iter().zip(&other.entries).all(|(a, b)| {
                a.key == b.key
                    && a.key_pos == b.key_pos
                    && a.value == b.value
                    && a.used_as_variable == b.used_as_variable
            })
    }
}

impl Map {
    pub fn new() -> Self {
        Map::default()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Exact, case-sensitive lookup (variables are resolved this way).
    pub fn get(&self, key: &str) -> Option<&Spanned<Value>> {
        self.get_entry(key).map(|e| &e.value)
    }

    /// Case-insensitive lookup, as nats-server matches option names (`SERVER_NAME` works;
    /// verified). If several keys differ only in case, the one assigned last wins.
    pub fn get_ci(&self, key: &str) -> Option<&Spanned<Value>> {
        self.entries
            .iter()
            .filter(|e| e.key.eq_ignore_ascii_case(key))
            .max_by_key(|e| e.seq)
            .map(|e| &e.value)
    }

    pub fn get_entry(&self, key: &str) -> Option<&Entry> {
        self.index.get(key).and_then(|&i| self.entries.get(i))
    }

    pub(crate) fn get_entry_mut(&mut self, key: &str) -> Option<&mut Entry> {
        let i = *self.index.get(key)?;
        self.entries.get_mut(i)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.index.contains_key(key)
    }

    /// `(key, value)` pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Spanned<Value>)> {
        self.entries.iter().map(|e| (e.key.as_str(), &e.value))
    }

    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter()
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.key.as_str())
    }

    /// Sets `key`, returning the value it replaces.
    pub fn insert(
        &mut self,
        key: impl Into<String>,
        key_pos: Pos,
        value: Spanned<Value>,
    ) -> Option<Spanned<Value>> {
        self.insert_entry(key.into(), key_pos, value, false)
    }

    pub(crate) fn insert_entry(
        &mut self,
        key: String,
        key_pos: Pos,
        value: Spanned<Value>,
        used_as_variable: bool,
    ) -> Option<Spanned<Value>> {
        let seq = self.next_seq;
        self.next_seq += 1;
        if let Some(entry) = self.get_entry_mut(&key) {
            entry.key_pos = key_pos;
            entry.used_as_variable = used_as_variable;
            entry.seq = seq;
            return Some(std::mem::replace(&mut entry.value, value));
        }
        self.index.insert(key.clone(), self.entries.len());
        self.entries.push(Entry {
            key,
            key_pos,
            value,
            used_as_variable,
            seq,
        });
        None
    }

    pub(crate) fn into_entries(self) -> impl Iterator<Item = Entry> {
        self.entries.into_iter()
    }
}
