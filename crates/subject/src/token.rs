//! An owned subject token, stored inline when short.
//!
//! Every literal trie node owns its token. As `Box<[u8]>` that is a separate
//! heap block (32 bytes of malloc chunk for a 5-byte token) and a pointer
//! chase on every key comparison during a match. Tokens of up to
//! [`INLINE_MAX`] bytes — which covers words, numbers and 22-character NUIDs
//! in inbox subjects — live inside the 24-byte value instead.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};

/// Longest token stored without a heap allocation.
pub(crate) const INLINE_MAX: usize = 22;

#[derive(Clone)]
pub(crate) enum Token {
    Inline { len: u8, bytes: [u8; INLINE_MAX] },
    Heap(Box<[u8]>),
}

impl Token {
    #[inline]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Token::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Token::Heap(b) => b,
        }
    }
}

impl From<&[u8]> for Token {
    fn from(token: &[u8]) -> Self {
        match u8::try_from(token.len()) {
            Ok(len) if token.len() <= INLINE_MAX => {
                let mut bytes = [0; INLINE_MAX];
                bytes[..token.len()].copy_from_slice(token);
                Token::Inline { len, bytes }
            }
            _ => Token::Heap(token.into()),
        }
    }
}

// Eq and Hash go through the bytes so that `&[u8]` lookups (via `Borrow`)
// hash and compare identically, whichever representation is stored.
impl PartialEq for Token {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Token {}

impl Hash for Token {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl Borrow<[u8]> for Token {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_words() {
        assert_eq!(std::mem::size_of::<Token>(), 24);
    }

    #[test]
    fn round_trips_both_representations() {
        for len in [0, 1, INLINE_MAX - 1, INLINE_MAX, INLINE_MAX + 1, 300] {
            let raw: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let token = Token::from(&raw[..]);
            assert_eq!(token.as_bytes(), &raw[..]);
            assert_eq!(matches!(token, Token::Inline { .. }), len <= INLINE_MAX);
            assert!(token == Token::from(&raw[..]));
        }
    }

    #[test]
    fn hashes_like_a_slice() {
        let build = hashbrown::DefaultHashBuilder::default();
        use std::hash::BuildHasher;
        let raw = &b"orders"[..];
        assert_eq!(build.hash_one(Token::from(raw)), build.hash_one(raw));
    }
}
