//! Client-to-server byte streams (PUB, HPUB, SUB, UNSUB, CONNECT, PING, ...): see
//! `weir_protocol::fuzzing::client_stream` for the invariants checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| weir_protocol::fuzzing::client_stream(data));
