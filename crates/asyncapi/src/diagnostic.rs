//! Findings of `validate` and `check`: what is wrong, where (JSON pointer, line, column), and
//! how to fix it.

use serde::Serialize;

use crate::document::Document;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        })
    }
}

/// One finding. `path` is a JSON pointer into the document (`/channels/x/address`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// A stable short name for scripts and tests (`unresolved-ref`, `uncaptured-channel`, …).
    pub code: &'static str,
    pub path: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
    pub fix: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.severity)?;
        if let (Some(line), Some(column)) = (self.line, self.column) {
            write!(f, " at {line}:{column}")?;
        }
        write!(f, " {}: {} — {}", self.path, self.message, self.fix)
    }
}

/// Collects diagnostics for one document, placing each at its line and column.
pub struct Sink<'d> {
    doc: &'d Document,
    pub items: Vec<Diagnostic>,
}

impl<'d> Sink<'d> {
    pub fn new(doc: &'d Document) -> Sink<'d> {
        Sink {
            doc,
            items: Vec::new(),
        }
    }

    pub fn push(
        &mut self,
        severity: Severity,
        code: &'static str,
        path: &str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        let pos = self.doc.position(path);
        let diagnostic = Diagnostic {
            severity,
            code,
            path: if path.is_empty() {
                "/".into()
            } else {
                path.into()
            },
            line: pos.map(|p| p.line),
            column: pos.map(|p| p.column),
            message: message.into(),
            fix: fix.into(),
        };
        // The same finding can be reached twice (a message shared by two channels).
        if !self.items.contains(&diagnostic) {
            self.items.push(diagnostic);
        }
    }

    pub fn error(
        &mut self,
        code: &'static str,
        path: &str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.push(Severity::Error, code, path, message, fix);
    }

    pub fn warning(
        &mut self,
        code: &'static str,
        path: &str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.push(Severity::Warning, code, path, message, fix);
    }

    pub fn info(
        &mut self,
        code: &'static str,
        path: &str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.push(Severity::Info, code, path, message, fix);
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }

    /// The diagnostics, most severe first, then in file order.
    pub fn finish(mut self) -> Vec<Diagnostic> {
        sort(&mut self.items);
        self.items
    }
}

pub fn sort(items: &mut [Diagnostic]) {
    items.sort_by(|a, b| {
        (a.severity, a.line.unwrap_or(usize::MAX), &a.path).cmp(&(
            b.severity,
            b.line.unwrap_or(usize::MAX),
            &b.path,
        ))
    });
}

/// True when any diagnostic is an error.
pub fn has_errors(items: &[Diagnostic]) -> bool {
    items.iter().any(|d| d.severity == Severity::Error)
}
