//! CONNECT under three authorization setups: see `weir_server::auth_fuzzing`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| weir_server::auth_fuzzing::authenticate_connect(data));
