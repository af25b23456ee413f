//! `weir asyncapi validate|check|plan|apply`: AsyncAPI 3 contracts mapped onto JetStream. The
//! document work is `weir-asyncapi` (no I/O); this module reads files, prints, and talks to
//! the server through the JetStream JSON API.

mod enforce;
mod provision;
mod report;

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use weir_asyncapi::diagnostic::has_errors;
use weir_asyncapi::Document;

use crate::connect::Global;
use crate::error::{describe_io, CliError, Result};

#[derive(Debug, Subcommand)]
pub enum AsyncapiCommand {
    /// Validate an AsyncAPI 3.0/3.1 document: structure, $refs, payload schemas, examples
    Validate(FileArgs),
    /// Lint the contract's JetStream intent (x-jetstream) against its channel addresses
    Check(FileArgs),
    /// Show the streams and consumers the contract implies, as a diff against the server
    Plan(PlanArgs),
    /// Create or update the streams and consumers the contract implies (idempotent)
    Apply(ApplyArgs),
}

#[derive(Debug, Args)]
pub struct FileArgs {
    /// The AsyncAPI document (YAML or JSON)
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The AsyncAPI document (YAML or JSON)
    pub file: PathBuf,
    /// Also delete consumers on the contract's streams that the contract does not name
    #[arg(long)]
    pub prune: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Have the server reject publishes whose payload does not match the message schema
    #[arg(long)]
    pub enforce: bool,
}

pub async fn run(global: &Global, command: &AsyncapiCommand) -> Result<()> {
    match command {
        AsyncapiCommand::Validate(args) => {
            let (doc, diagnostics) = match read(&args.file)? {
                Ok(doc) => {
                    let found = weir_asyncapi::validate::validate(&doc);
                    (Some(doc), found)
                }
                Err(err) => (None, vec![err.to_diagnostic()]),
            };
            report::diagnostics(global, &args.file, doc.as_ref(), &diagnostics, "valid")?;
            verdict(&args.file, &diagnostics)
        }
        AsyncapiCommand::Check(args) => {
            let (doc, diagnostics) = match read(&args.file)? {
                Ok(doc) => {
                    let (found, _) = weir_asyncapi::check::check(&doc);
                    (Some(doc), found)
                }
                Err(err) => (None, vec![err.to_diagnostic()]),
            };
            report::diagnostics(
                global,
                &args.file,
                doc.as_ref(),
                &diagnostics,
                "aligned with JetStream",
            )?;
            verdict(&args.file, &diagnostics)
        }
        AsyncapiCommand::Plan(args) => provision::run(global, args, false, false).await,
        AsyncapiCommand::Apply(args) => {
            provision::run(global, &args.plan, true, args.enforce).await
        }
    }
}

/// Reads the file (failing when it cannot be read) and parses it.
fn read(path: &Path) -> Result<std::result::Result<Document, weir_asyncapi::ParseError>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::Usage(format!(
            "cannot read {}: {}",
            path.display(),
            describe_io(&e)
        ))
    })?;
    Ok(Document::parse(&text))
}

/// Reads and parses the document; syntax errors name the line and column.
fn load(path: &Path) -> Result<Document> {
    read(path)?.map_err(|e| {
        CliError::Usage(format!(
            "{} is not a readable AsyncAPI document: {e}",
            path.display()
        ))
    })
}

/// Fails (non-zero exit) when there are errors; the diagnostics are already printed.
fn verdict(path: &Path, diagnostics: &[weir_asyncapi::Diagnostic]) -> Result<()> {
    if !has_errors(diagnostics) {
        return Ok(());
    }
    let count = diagnostics
        .iter()
        .filter(|d| d.severity == weir_asyncapi::Severity::Error)
        .count();
    // `Unsupported` prints its text as is, which is what a summary line needs.
    Err(CliError::Unsupported(format!(
        "{}: {count} error{} (listed above with their fixes)",
        path.display(),
        if count == 1 { "" } else { "s" }
    )))
}
