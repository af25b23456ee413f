//! CONNECT JSON as a client sends it: see `weir_protocol::fuzzing::connect_json`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| weir_protocol::fuzzing::connect_json(data));
