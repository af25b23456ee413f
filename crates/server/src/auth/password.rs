//! Password and token comparison: bcrypt hashes (`$2a$...`, as nats-server's `nats server
//! passwd` makes) or plain text compared in constant time.

/// Whether `given` is the secret `expected` names (a bcrypt hash or the plain secret).
pub fn matches(given: &str, expected: &str) -> bool {
    if is_bcrypt(expected) {
        return bcrypt::verify(given, expected).unwrap_or(false);
    }
    constant_time_eq(given.as_bytes(), expected.as_bytes())
}

fn is_bcrypt(text: &str) -> bool {
    ["$2a$", "$2b$", "$2x$", "$2y$"]
        .iter()
        .any(|prefix| text.starts_with(prefix))
}

/// Equal-length inputs take the same time whatever their contents.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_bcrypt() {
        assert!(matches("s3cr3t", "s3cr3t"));
        assert!(!matches("s3cr3", "s3cr3t"));
        // Low cost keeps the test fast; the server accepts any cost.
        let hash = bcrypt::hash("pw", 4).unwrap();
        assert!(hash.starts_with("$2"));
        assert!(matches("pw", &hash));
        assert!(!matches("px", &hash));
        assert!(!matches("pw", "$2a$broken"));
    }
}
