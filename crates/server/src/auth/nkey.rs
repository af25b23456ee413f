//! Nkey authentication: the server sends a random nonce in INFO; the client signs it with its
//! ed25519 seed and sends its public key and the signature in CONNECT.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rand::RngCore;

/// Random bytes in a nonce: as many as nats-server uses (its nonces are 22 characters).
const NONCE_BYTES: usize = 16;

/// A fresh nonce for one connection's INFO.
pub fn new_nonce() -> String {
    let mut bytes = [0u8; NONCE_BYTES];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether `sig` (base64, URL-safe without padding as the clients send it, or standard)
/// is `public_key`'s signature of `nonce`. A user key is required: other kinds are refused.
pub fn verify(public_key: &str, nonce: &[u8], sig: &str) -> bool {
    if !public_key.starts_with('U') {
        return false;
    }
    let Ok(key) = nkeys::KeyPair::from_public_key(public_key) else {
        return false;
    };
    let Ok(sig) = URL_SAFE_NO_PAD
        .decode(sig)
        .or_else(|_| STANDARD.decode(sig))
    else {
        return false;
    };
    key.verify(nonce, &sig).is_ok()
}

/// Whether `text` is a well-formed user public nkey (for config checks).
pub fn is_user_public_key(text: &str) -> bool {
    text.starts_with('U') && nkeys::KeyPair::from_public_key(text).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_of_the_nonce_verifies() {
        let user = nkeys::KeyPair::new_user();
        let nonce = new_nonce();
        assert_eq!(nonce.len(), 22);
        let sig = URL_SAFE_NO_PAD.encode(user.sign(nonce.as_bytes()).unwrap());
        assert!(verify(&user.public_key(), nonce.as_bytes(), &sig));
        assert!(!verify(&user.public_key(), b"another nonce", &sig));
        let other = nkeys::KeyPair::new_user();
        assert!(!verify(&other.public_key(), nonce.as_bytes(), &sig));
        assert!(!verify(&user.public_key(), nonce.as_bytes(), "not base64!"));
        assert!(!verify("UNOTAKEY", nonce.as_bytes(), &sig));
        assert!(is_user_public_key(&user.public_key()));
        assert!(!is_user_public_key(
            &nkeys::KeyPair::new_account().public_key()
        ));
    }
}
