//! The INFO a client sees on connect.

use weir_protocol::ServerInfo;

use crate::client::ClientShared;
use crate::state::{ServerState, NATS_COMPAT_VERSION, WEIR_VERSION};

pub fn for_client(state: &ServerState, client: &ClientShared, auth_required: bool) -> ServerInfo {
    let opts = &state.opts();
    let (tls_required, tls_verify) = crate::tls::info_flags(opts.tls.as_ref());
    ServerInfo {
        tls_required,
        tls_verify,
        server_id: state.server_id.clone(),
        server_name: state.server_name.clone(),
        version: NATS_COMPAT_VERSION.to_string(),
        proto: 1,
        go: format!("weir {WEIR_VERSION}"),
        host: opts.host.clone(),
        port: state.client_port(),
        headers: true,
        max_payload: opts.max_payload_bytes,
        client_id: client.id,
        client_ip: client.addr.ip().to_string(),
        auth_required,
        nonce: client.nonce.clone(),
        jetstream: state.jetstream_enabled(),
        ldm: state.lame_duck.load(std::sync::atomic::Ordering::Relaxed),
        weir_version: WEIR_VERSION.to_string(),
        ..ServerInfo::default()
    }
}
