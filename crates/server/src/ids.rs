//! Identifiers: server ids shaped like nats-server's (an 'N' followed by 55 base32
//! characters, as its nkey-derived ids are), so tools that display or parse them are at home.

use rand::Rng;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

pub fn server_id() -> String {
    let mut rng = rand::thread_rng();
    let mut id = String::with_capacity(56);
    id.push('N');
    for _ in 0..55 {
        id.push(BASE32[rng.gen_range(0..32)] as char);
    }
    id
}

#[cfg(test)]
mod tests {
    #[test]
    fn server_ids_are_56_base32_chars_starting_with_n() {
        let id = super::server_id();
        assert_eq!(id.len(), 56);
        assert!(id.starts_with('N'));
        assert!(id.bytes().all(|b| super::BASE32.contains(&b)));
        assert_ne!(id, super::server_id());
    }
}
