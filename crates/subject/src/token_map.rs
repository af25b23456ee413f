//! Literal-token children of a trie level: a small vector while few, a
//! hash map once many.
//!
//! Most levels have one or a handful of children (`orders.<id>.created`
//! gives every `<id>` node a single child). A hashbrown map with one entry
//! allocates 4 buckets plus control bytes (~150 bytes here); an exact-size
//! vector costs 40 bytes and a linear scan over a few short (inline) tokens
//! is as fast as hashing one.

use hashbrown::HashMap;

use crate::token::Token;

/// More children than this switches to a hash map.
const SMALL_MAX: usize = 8;
/// A map shrinking to this many children goes back to a vector; the gap to
/// `SMALL_MAX` stops churn at the boundary from converting every time.
const SMALL_RETURN: usize = 4;

pub(crate) enum TokenMap<V> {
    Small(Vec<(Token, V)>),
    /// Boxed so the enum stays at three words.
    Large(Box<HashMap<Token, V>>),
}

impl<V> Default for TokenMap<V> {
    fn default() -> Self {
        TokenMap::Small(Vec::new())
    }
}

impl<V> TokenMap<V> {
    pub(crate) fn len(&self) -> usize {
        match self {
            TokenMap::Small(v) => v.len(),
            TokenMap::Large(m) => m.len(),
        }
    }

    #[inline]
    pub(crate) fn get(&self, token: &[u8]) -> Option<&V> {
        match self {
            TokenMap::Small(v) => v
                .iter()
                .find(|(k, _)| k.as_bytes() == token)
                .map(|(_, n)| n),
            TokenMap::Large(m) => m.get(token),
        }
    }

    pub(crate) fn get_mut(&mut self, token: &[u8]) -> Option<&mut V> {
        match self {
            TokenMap::Small(v) => v
                .iter_mut()
                .find(|(k, _)| k.as_bytes() == token)
                .map(|(_, n)| n),
            TokenMap::Large(m) => m.get_mut(token),
        }
    }

    pub(crate) fn contains_key(&self, token: &[u8]) -> bool {
        self.get(token).is_some()
    }

    pub(crate) fn get_or_insert_default(&mut self, token: &[u8]) -> &mut V
    where
        V: Default,
    {
        if let TokenMap::Small(v) = self {
            if v.len() >= SMALL_MAX && !v.iter().any(|(k, _)| k.as_bytes() == token) {
                let map: HashMap<_, _> = v.drain(..).collect();
                *self = TokenMap::Large(Box::new(map));
            }
        }
        match self {
            TokenMap::Small(v) => {
                let at = match v.iter().position(|(k, _)| k.as_bytes() == token) {
                    Some(at) => at,
                    None => {
                        // Exact growth: these vectors are many and small.
                        v.reserve_exact(1);
                        v.push((token.into(), V::default()));
                        v.len() - 1
                    }
                };
                &mut v[at].1
            }
            // One probe; the key is allocated only when vacant.
            TokenMap::Large(m) => {
                m.raw_entry_mut()
                    .from_key(token)
                    .or_insert_with(|| (token.into(), V::default()))
                    .1
            }
        }
    }

    pub(crate) fn remove(&mut self, token: &[u8]) {
        match self {
            TokenMap::Small(v) => {
                if let Some(at) = v.iter().position(|(k, _)| k.as_bytes() == token) {
                    v.swap_remove(at);
                    if v.is_empty() {
                        *v = Vec::new();
                    } else if v.len() * 2 <= v.capacity() {
                        v.shrink_to_fit();
                    }
                }
            }
            TokenMap::Large(m) => {
                m.remove(token);
                if m.len() <= SMALL_RETURN {
                    let mut small = Vec::with_capacity(m.len());
                    small.extend(m.drain());
                    *self = TokenMap::Small(small);
                } else if m.len() * 4 < m.capacity() {
                    // hashbrown never shrinks on its own; after churn a level
                    // would otherwise pin its peak bucket array.
                    m.shrink_to(m.len() * 2);
                }
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn for_each<'a>(&'a self, mut f: impl FnMut(&'a [u8], &'a V)) {
        match self {
            TokenMap::Small(v) => v.iter().for_each(|(k, n)| f(k.as_bytes(), n)),
            TokenMap::Large(m) => m.iter().for_each(|(k, n)| f(k.as_bytes(), n)),
        }
    }

    pub(crate) fn for_each_mut(&mut self, mut f: impl FnMut(&mut V)) {
        match self {
            TokenMap::Small(v) => v.iter_mut().for_each(|(_, n)| f(n)),
            TokenMap::Large(m) => m.values_mut().for_each(f),
        }
    }

    #[cfg(test)]
    pub(crate) fn is_large(&self) -> bool {
        matches!(self, TokenMap::Large(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_words() {
        assert_eq!(std::mem::size_of::<TokenMap<[u64; 2]>>(), 24);
    }

    #[test]
    fn promotes_and_demotes() {
        // Short keys stay inline; 30-byte keys go to the heap.
        for width in [1, 30] {
            let key = |i: u32| format!("{i:0width$}").into_bytes();
            let mut map: TokenMap<u32> = TokenMap::default();
            for i in 0..20u32 {
                *map.get_or_insert_default(&key(i)) = i;
                assert_eq!(map.is_large(), i as usize >= SMALL_MAX);
            }
            for i in 0..20u32 {
                assert_eq!(map.get(&key(i)), Some(&i));
            }
            for i in 0..16u32 {
                map.remove(&key(i));
            }
            assert!(!map.is_large());
            assert_eq!(map.len(), 4);
            assert_eq!(map.get(&key(19)), Some(&19));
            assert_eq!(map.get(&key(3)), None);
            *map.get_or_insert_default(&key(19)) += 1;
            assert_eq!(map.get(&key(19)), Some(&20));
            let mut seen = 0;
            map.for_each(|_, _| seen += 1);
            assert_eq!(seen, 4);
        }
    }
}
