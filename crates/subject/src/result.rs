//! Match results and the helpers that build and patch them.

use bytes::Bytes;
use hashbrown::HashMap;

/// Queue subscribers of one group that match a subject, gathered across all
/// matching filters. The server delivers to one member per group.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueGroup<T> {
    pub name: Bytes,
    pub members: Vec<T>,
}

/// Everything that matches one literal subject.
///
/// Order within `plain`, `queues` and `members` is unspecified.
#[derive(Debug, Clone, PartialEq)]
pub struct Matches<T> {
    pub plain: Vec<T>,
    pub queues: Vec<QueueGroup<T>>,
}

impl<T> Default for Matches<T> {
    fn default() -> Self {
        Self {
            plain: Vec::new(),
            queues: Vec::new(),
        }
    }
}

impl<T> Matches<T> {
    /// No subscriber of any kind matched.
    pub fn is_empty(&self) -> bool {
        self.plain.is_empty() && self.queues.is_empty()
    }

    /// Total number of matched subscriptions (plain plus all queue members).
    pub fn len(&self) -> usize {
        self.plain.len() + self.queues.iter().map(|q| q.members.len()).sum::<usize>()
    }

    /// The group called `name`, if any member of it matched.
    pub fn queue(&self, name: &[u8]) -> Option<&QueueGroup<T>> {
        self.queues.iter().find(|q| q.name == name)
    }
}

impl<T: Clone + PartialEq> Matches<T> {
    /// Adds one subscription; used to patch cached results in place.
    pub(crate) fn add(&mut self, queue: Option<&Bytes>, value: T) {
        match queue {
            None => self.plain.push(value),
            Some(name) => match self.queues.iter_mut().find(|q| q.name == name) {
                Some(group) => group.members.push(value),
                None => self.queues.push(QueueGroup {
                    name: name.clone(),
                    members: vec![value],
                }),
            },
        }
    }

    /// Removes one subscription equal to `value`; false if none was present.
    pub(crate) fn remove_one(&mut self, queue: Option<&[u8]>, value: &T) -> bool {
        match queue {
            None => remove_first(&mut self.plain, value),
            Some(name) => {
                let Some(at) = self.queues.iter().position(|q| q.name == name) else {
                    return false;
                };
                let removed = remove_first(&mut self.queues[at].members, value);
                if self.queues[at].members.is_empty() {
                    // An empty group would make `is_empty` lie.
                    self.queues.swap_remove(at);
                }
                removed
            }
        }
    }
}

fn remove_first<T: PartialEq>(values: &mut Vec<T>, value: &T) -> bool {
    match values.iter().position(|v| v == value) {
        Some(at) => {
            values.swap_remove(at);
            true
        }
        None => false,
    }
}

/// Above this many groups, name lookups go through a temporary hash map
/// instead of a linear scan.
const LINEAR_GROUP_LIMIT: usize = 16;

/// Accumulates subscriptions from trie nodes into a [`Matches`].
pub(crate) struct Collector<T> {
    out: Matches<T>,
    group_index: Option<HashMap<Bytes, usize>>,
}

impl<T: Clone> Collector<T> {
    pub(crate) fn new() -> Self {
        Self {
            out: Matches::default(),
            group_index: None,
        }
    }

    pub(crate) fn add_plain(&mut self, values: &[T]) {
        self.out.plain.extend_from_slice(values);
    }

    pub(crate) fn add_queue(&mut self, name: &Bytes, members: &[T]) {
        let at = match &mut self.group_index {
            Some(index) => index.get(name).copied(),
            None => self.out.queues.iter().position(|q| q.name == name),
        };
        match at {
            Some(at) => self.out.queues[at].members.extend_from_slice(members),
            None => {
                let at = self.out.queues.len();
                self.out.queues.push(QueueGroup {
                    name: name.clone(),
                    members: members.to_vec(),
                });
                if let Some(index) = &mut self.group_index {
                    index.insert(name.clone(), at);
                } else if self.out.queues.len() > LINEAR_GROUP_LIMIT {
                    self.group_index = Some(
                        self.out
                            .queues
                            .iter()
                            .enumerate()
                            .map(|(i, q)| (q.name.clone(), i))
                            .collect(),
                    );
                }
            }
        }
    }

    pub(crate) fn finish(self) -> Matches<T> {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collector_groups_by_name_past_linear_limit() {
        let mut c = Collector::new();
        for round in 0..2 {
            for g in 0..40u32 {
                let name = Bytes::from(format!("g{g}"));
                c.add_queue(&name, &[g * 10 + round]);
            }
        }
        let m = c.finish();
        assert_eq!(m.queues.len(), 40);
        assert!(m.queues.iter().all(|q| q.members.len() == 2));
        assert_eq!(m.len(), 80);
    }

    #[test]
    fn patching_adds_and_removes() {
        let mut m: Matches<u32> = Matches::default();
        let q = Bytes::from_static(b"q");
        m.add(None, 1);
        m.add(Some(&q), 2);
        m.add(Some(&q), 3);
        assert_eq!(m.len(), 3);
        assert!(m.remove_one(Some(b"q"), &2));
        assert!(!m.remove_one(Some(b"q"), &2));
        assert!(m.remove_one(Some(b"q"), &3));
        assert!(m.queues.is_empty());
        assert!(!m.remove_one(Some(b"nope"), &1));
        assert!(m.remove_one(None, &1));
        assert!(m.is_empty());
    }
}
