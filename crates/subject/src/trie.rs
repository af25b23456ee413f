//! The token trie behind [`SubjectIndex`](crate::SubjectIndex).
//!
//! Memory layout is chosen for 100k+ mostly-literal subscriptions: a
//! [`Node`] is two nullable boxes (16 bytes), so the common leaf costs one
//! hash-map slot plus its token and subscriber boxes; interior nodes carry no
//! subscriber storage and leaves carry no child level.
//!
//! Invariants (checked by `debug_assert`s and `check_invariants` in tests):
//! a `Subs` box exists only if non-empty, a `Level` box exists only if it has
//! a child, `fwc` never has a child level, and `Node::is_empty` children
//! exist only as the inline `pwc`/`fwc` placeholders.
//!
//! All walks are iterative: a hostile subject with thousands of tokens must
//! not overflow the stack (that includes `Drop`).

use bytes::Bytes;

use crate::result::Collector;
use crate::token_map::TokenMap;
use crate::validate::{split_first_token, FWC, PWC, SEP};

/// Subscribers registered on exactly one filter.
pub(crate) struct Subs<T> {
    plain: Vec<T>,
    queues: Vec<QueueSubs<T>>,
}

struct QueueSubs<T> {
    name: Bytes,
    members: Vec<T>,
}

impl<T> Subs<T> {
    fn is_empty(&self) -> bool {
        self.plain.is_empty() && self.queues.is_empty()
    }

    /// Adds `value`; returns the stored queue name and value so the cache
    /// can share them instead of allocating or cloning up front.
    fn insert(&mut self, queue: Option<&[u8]>, value: T) -> (Option<&Bytes>, &T) {
        let Some(name) = queue else {
            return (None, push_compact(&mut self.plain, value));
        };
        let at = match self.queues.iter().position(|g| g.name == name) {
            Some(at) => at,
            None => {
                let group = QueueSubs {
                    name: Bytes::copy_from_slice(name),
                    members: Vec::new(),
                };
                push_compact(&mut self.queues, group);
                self.queues.len() - 1
            }
        };
        let group = &mut self.queues[at];
        let stored = push_compact(&mut group.members, value);
        (Some(&group.name), stored)
    }

    fn remove(&mut self, queue: Option<&[u8]>, value: &T) -> bool
    where
        T: PartialEq,
    {
        let Some(name) = queue else {
            return remove_compact(&mut self.plain, value);
        };
        let Some(at) = self.queues.iter().position(|g| g.name == name) else {
            return false;
        };
        let removed = remove_compact(&mut self.queues[at].members, value);
        if self.queues[at].members.is_empty() {
            self.queues.swap_remove(at);
        }
        removed
    }
}

/// Push that starts at capacity 1 (std starts at 4): most filters have a
/// single subscriber, and this is the bulk of per-subscription memory.
fn push_compact<T>(v: &mut Vec<T>, value: T) -> &mut T {
    if v.capacity() == 0 {
        v.reserve_exact(1);
    }
    v.push(value);
    let last = v.len() - 1;
    &mut v[last]
}

/// Removes one element equal to `value`, giving memory back after churn.
fn remove_compact<T: PartialEq>(v: &mut Vec<T>, value: &T) -> bool {
    let Some(at) = v.iter().position(|x| x == value) else {
        return false;
    };
    v.swap_remove(at);
    if v.capacity() > 4 && v.len() * 4 <= v.capacity() {
        v.shrink_to(v.len() * 2);
    }
    true
}

/// One trie position: the subscribers whose filter ends here and the level
/// holding the next token.
pub(crate) struct Node<T> {
    subs: Option<Box<Subs<T>>>,
    next: Option<Box<Level<T>>>,
}

impl<T> Default for Node<T> {
    fn default() -> Self {
        Self {
            subs: None,
            next: None,
        }
    }
}

impl<T> Node<T> {
    fn is_empty(&self) -> bool {
        self.subs.is_none() && self.next.is_none()
    }
}

impl<T> Drop for Node<T> {
    // Default drop would recurse once per token; unlink levels onto a heap
    // stack instead so the children's own drops are shallow.
    fn drop(&mut self) {
        let Some(first) = self.next.take() else {
            return;
        };
        let mut pending = vec![first];
        while let Some(mut level) = pending.pop() {
            let mut unlink = |child: &mut Node<T>| pending.extend(child.next.take());
            level.literals.for_each_mut(&mut unlink);
            unlink(&mut level.pwc);
            unlink(&mut level.fwc);
        }
    }
}

/// The children of one node, keyed by the next token.
pub(crate) struct Level<T> {
    literals: TokenMap<Node<T>>,
    /// `*` child; empty when absent (saves a box and a branch on match).
    pwc: Node<T>,
    /// `>` child; never has a `next` level.
    fwc: Node<T>,
}

impl<T> Default for Level<T> {
    fn default() -> Self {
        Self {
            literals: TokenMap::default(),
            pwc: Node::default(),
            fwc: Node::default(),
        }
    }
}

impl<T> Level<T> {
    fn child_count(&self) -> usize {
        self.literals.len() + usize::from(!self.pwc.is_empty()) + usize::from(!self.fwc.is_empty())
    }

    /// Any child other than the one `token` leads to (which may be empty).
    fn has_children_besides(&self, token: &[u8]) -> bool {
        let literals_besides = match token {
            PWC | FWC => self.literals.len(),
            _ => self.literals.len() - usize::from(self.literals.contains_key(token)),
        };
        literals_besides > 0
            || (token != PWC && !self.pwc.is_empty())
            || (token != FWC && !self.fwc.is_empty())
    }

    fn child(&self, token: &[u8]) -> Option<&Node<T>> {
        match token {
            PWC => Some(&self.pwc),
            FWC => Some(&self.fwc),
            _ => self.literals.get(token),
        }
    }

    fn child_mut(&mut self, token: &[u8]) -> Option<&mut Node<T>> {
        match token {
            PWC => Some(&mut self.pwc),
            FWC => Some(&mut self.fwc),
            _ => self.literals.get_mut(token),
        }
    }

    fn child_or_insert(&mut self, token: &[u8]) -> &mut Node<T> {
        match token {
            PWC => &mut self.pwc,
            FWC => &mut self.fwc,
            _ => self.literals.get_or_insert_default(token),
        }
    }

    fn remove_child(&mut self, token: &[u8]) {
        match token {
            PWC => self.pwc = Node::default(),
            FWC => self.fwc = Node::default(),
            _ => self.literals.remove(token),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.child_count() == 0
    }

    /// Adds `value` under the (valid) `filter`; returns the stored queue
    /// name and value.
    pub(crate) fn insert(
        &mut self,
        filter: &[u8],
        queue: Option<&[u8]>,
        value: T,
    ) -> (Option<&Bytes>, &T) {
        let mut level = self;
        let mut rest = filter;
        let node = loop {
            let (token, tail) = split_first_token(rest);
            let node = level.child_or_insert(token);
            match tail {
                None => break node,
                Some(tail) => {
                    debug_assert!(token != FWC, "'>' must be the last token");
                    rest = tail;
                    level = node.next.get_or_insert_with(Box::default);
                }
            }
        };
        let subs = node.subs.get_or_insert_with(|| {
            Box::new(Subs {
                plain: Vec::new(),
                queues: Vec::new(),
            })
        });
        subs.insert(queue, value)
    }

    fn find_mut(&mut self, filter: &[u8]) -> Option<&mut Node<T>> {
        let mut level = self;
        let mut rest = filter;
        loop {
            let (token, tail) = split_first_token(rest);
            let node = level.child_mut(token)?;
            match tail {
                None => return Some(node),
                Some(tail) => {
                    rest = tail;
                    level = node.next.as_deref_mut()?;
                }
            }
        }
    }

    /// Removes one `value` under `filter` and prunes nodes left empty.
    pub(crate) fn remove(&mut self, filter: &[u8], queue: Option<&[u8]>, value: &T) -> bool
    where
        T: PartialEq,
    {
        let Some(node) = self.find_mut(filter) else {
            return false;
        };
        let Some(subs) = node.subs.as_deref_mut() else {
            return false;
        };
        if !subs.remove(queue, value) {
            return false;
        }
        if subs.is_empty() {
            node.subs = None;
            if node.next.is_none() {
                self.prune(filter);
            }
        }
        true
    }

    /// Drops the longest chain of now-useless nodes ending at `filter`'s
    /// (empty, childless) node. Two walks keep this iterative: the first
    /// finds where the chain starts, the second unlinks it.
    fn prune(&mut self, filter: &[u8]) {
        // Depth of the shallowest node in the removable chain.
        let mut cut_depth = 0;
        let mut level: &Level<T> = self;
        let mut rest = filter;
        let mut depth = 0;
        loop {
            let (token, tail) = split_first_token(rest);
            let Some(node) = level.child(token) else {
                debug_assert!(false, "prune path vanished");
                return;
            };
            let Some(tail) = tail else {
                debug_assert!(node.is_empty());
                break;
            };
            let Some(next) = node.next.as_deref() else {
                debug_assert!(false, "prune path vanished");
                return;
            };
            // This node survives if it has subscribers or children off the path.
            let (next_token, _) = split_first_token(tail);
            if node.subs.is_some() || next.has_children_besides(next_token) {
                cut_depth = depth + 1;
            }
            level = next;
            rest = tail;
            depth += 1;
        }

        let (first, _) = split_first_token(filter);
        if cut_depth == 0 {
            self.remove_child(first);
            return;
        }
        // Walk to the surviving node just above the chain and unlink it.
        let mut level: &mut Level<T> = self;
        let mut rest = filter;
        let mut depth = 0;
        let parent = loop {
            let (token, tail) = split_first_token(rest);
            let (Some(node), Some(tail)) = (level.child_mut(token), tail) else {
                return;
            };
            rest = tail;
            depth += 1;
            if depth == cut_depth {
                break node;
            }
            let Some(next) = node.next.as_deref_mut() else {
                return;
            };
            level = next;
        };
        let Some(next) = parent.next.as_deref_mut() else {
            return;
        };
        let (token, _) = split_first_token(rest);
        next.remove_child(token);
        // Only possible when `parent` survives because of its subscribers.
        if next.is_empty() {
            debug_assert!(parent.subs.is_some());
            parent.next = None;
        }
    }

    /// Collects every subscription whose filter matches the literal `subject`.
    pub(crate) fn collect(&self, subject: &[u8], out: &mut Collector<T>)
    where
        T: Clone,
    {
        // DFS over (level, byte offset of the token to look up in it). The
        // stack lives inline for ordinary depths: this runs on every miss.
        let mut stack = DfsStack::new((self, 0));
        while let Some((level, start)) = stack.pop() {
            let rest = subject.get(start..).unwrap_or_default();
            let token_len = rest.iter().position(|&b| b == SEP).unwrap_or(rest.len());
            let token = &rest[..token_len];
            let is_last = token_len == rest.len();
            let next_start = start + token_len + 1;

            // `>` here covers this token and everything after it.
            if let Some(subs) = &level.fwc.subs {
                add_subs(subs, out);
            }
            for node in [Some(&level.pwc), level.literals.get(token)]
                .into_iter()
                .flatten()
            {
                if is_last {
                    if let Some(subs) = &node.subs {
                        add_subs(subs, out);
                    }
                } else if let Some(next) = &node.next {
                    stack.push((next, next_start));
                }
            }
        }
    }

    /// Verifies the structural invariants; for tests.
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) -> usize {
        let mut subscriptions = 0;
        let mut pending = vec![self];
        while let Some(level) = pending.pop() {
            assert!(level.fwc.next.is_none(), "'>' node with children");
            let mut nodes = vec![&level.pwc, &level.fwc];
            level.literals.for_each(|token, node| {
                assert!(!token.is_empty() && token != PWC && token != FWC);
                assert!(!node.is_empty(), "empty literal node kept");
                nodes.push(node);
            });
            for node in nodes {
                if let Some(subs) = &node.subs {
                    assert!(!subs.is_empty(), "empty subs kept");
                    assert!(subs.queues.iter().all(|g| !g.members.is_empty()));
                    subscriptions += subs.plain.len();
                    subscriptions += subs.queues.iter().map(|g| g.members.len()).sum::<usize>();
                }
                if let Some(next) = &node.next {
                    assert!(!next.is_empty(), "empty level kept");
                    pending.push(next);
                }
            }
        }
        subscriptions
    }
}

/// LIFO stack that spills to the heap only past `INLINE` entries.
struct DfsStack<E: Copy> {
    inline: [E; DfsStack::<()>::INLINE],
    inline_len: usize,
    spill: Vec<E>,
}

impl DfsStack<()> {
    const INLINE: usize = 32;
}

impl<E: Copy> DfsStack<E> {
    fn new(first: E) -> Self {
        Self {
            inline: [first; DfsStack::<()>::INLINE],
            inline_len: 1,
            spill: Vec::new(),
        }
    }

    fn push(&mut self, e: E) {
        // Once spilled, keep pushing to the heap so pops stay LIFO.
        if self.inline_len < self.inline.len() && self.spill.is_empty() {
            self.inline[self.inline_len] = e;
            self.inline_len += 1;
        } else {
            self.spill.push(e);
        }
    }

    fn pop(&mut self) -> Option<E> {
        if let Some(e) = self.spill.pop() {
            return Some(e);
        }
        self.inline_len = self.inline_len.checked_sub(1)?;
        Some(self.inline[self.inline_len])
    }
}

fn add_subs<T: Clone>(subs: &Subs<T>, out: &mut Collector<T>) {
    out.add_plain(&subs.plain);
    for group in &subs.queues {
        out.add_queue(&group.name, &group.members);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_is_two_pointers() {
        assert_eq!(std::mem::size_of::<Node<std::sync::Arc<u8>>>(), 16);
    }

    #[test]
    fn prune_keeps_shared_prefix() {
        let mut root: Level<u32> = Level::default();
        root.insert(b"a.b.c", None, 1);
        root.insert(b"a.b", None, 2);
        root.insert(b"a.x.y.z", None, 3);
        assert!(root.remove(b"a.b.c", None, &1));
        assert_eq!(root.check_invariants(), 2);
        assert!(root.remove(b"a.x.y.z", None, &3));
        assert_eq!(root.check_invariants(), 1);
        assert!(root.remove(b"a.b", None, &2));
        assert!(root.is_empty());
    }

    #[test]
    fn dfs_stack_spills_past_inline_depth() {
        // One `*` at each position: every level on the literal path has two
        // live children, so the DFS stack grows by one per token.
        let depth = DfsStack::<()>::INLINE + 20;
        let mut root: Level<u32> = Level::default();
        let literal = vec!["a"; depth];
        root.insert(literal.join(".").as_bytes(), None, u32::MAX);
        for k in 0..depth {
            let mut filter = literal.clone();
            filter[k] = "*";
            root.insert(filter.join(".").as_bytes(), None, k as u32);
        }
        let mut out = Collector::new();
        root.collect(literal.join(".").as_bytes(), &mut out);
        assert_eq!(out.finish().plain.len(), depth + 1);
    }

    #[test]
    fn deep_filters_do_not_overflow_the_stack() {
        let deep = vec!["a"; 200_000].join(".");
        let mut root: Level<u32> = Level::default();
        root.insert(deep.as_bytes(), None, 1);
        let mut out = Collector::new();
        root.collect(deep.as_bytes(), &mut out);
        assert_eq!(out.finish().plain, vec![1]);
        assert!(root.remove(deep.as_bytes(), None, &1));
        assert!(root.is_empty());
        root.insert(deep.as_bytes(), None, 1);
        drop(root);
    }
}
