//! Parses the `tls { ... }` block of a nats-server configuration file.

use weir_conf::{Spanned, Value};

use super::TlsOptions;
use crate::config::ConfigError;

pub fn parse(value: &Spanned<Value>) -> Result<TlsOptions, ConfigError> {
    let _ = value.as_map()?;
    Ok(TlsOptions::default())
}
