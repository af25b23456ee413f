//! Printing diagnostics: a table for people, a JSON object for scripts.

use std::path::Path;

use serde_json::json;
use weir_asyncapi::{Diagnostic, Document, Severity};

use crate::connect::Global;
use crate::error::Result;
use crate::output::{emit, print_json};

pub fn diagnostics(
    global: &Global,
    file: &Path,
    doc: Option<&Document>,
    items: &[Diagnostic],
    ok_word: &str,
) -> Result<()> {
    let count = |s: Severity| items.iter().filter(|d| d.severity == s).count();
    let (errors, warnings, infos) = (
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info),
    );
    if global.json {
        return print_json(&json!({
            "file": file.display().to_string(),
            "asyncapi": doc.and_then(|d| d.root.get("asyncapi")),
            "valid": errors == 0,
            "errors": errors,
            "warnings": warnings,
            "infos": infos,
            "diagnostics": items,
        }));
    }
    // A list, as compilers print: paths and sentences are too long for table cells.
    let mut out = String::new();
    for d in items {
        let place = match (d.line, d.column) {
            (Some(l), Some(c)) => format!("{}:{l}:{c}", file.display()),
            _ => file.display().to_string(),
        };
        out.push_str(&format!(
            "{}[{}] {place} {}\n  {}\n  fix: {}\n",
            d.severity, d.code, d.path, d.message, d.fix
        ));
    }
    if errors == 0 {
        out.push_str(&format!(
            "{}: {ok_word} ({warnings} warning{}, {infos} note{})\n",
            file.display(),
            plural(warnings),
            plural(infos)
        ));
    } else {
        out.push_str(&format!(
            "{}: {errors} error{}, {warnings} warning{}\n",
            file.display(),
            plural(errors),
            plural(warnings)
        ));
    }
    emit(&out)
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
