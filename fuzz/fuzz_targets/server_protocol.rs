//! Server-to-client byte streams (INFO, MSG, HMSG, -ERR, ...): see
//! `weir_protocol::fuzzing::server_stream`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| weir_protocol::fuzzing::server_stream(data));
