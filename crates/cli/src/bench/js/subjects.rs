//! Which subject the i-th benchmark message is published to.
//!
//! `bench js pub` spreads messages over `base.<i % spread>`; the consumer benchmarks also
//! interleave a "hot" subject evenly through the sequence range (`bench js filtered`).

use std::io::Write;

/// `count` messages on `subject`, spread evenly over `total` messages.
#[derive(Debug, Clone)]
pub struct HotSubject {
    pub subject: String,
    pub count: u64,
    pub total: u64,
}

impl HotSubject {
    /// How many hot messages come before message `index`: floor(index * count / total), so
    /// message i is hot exactly when this count grows from i to i + 1, and the last message
    /// of the range is always hot.
    pub fn before(&self, index: u64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        (u128::from(index) * u128::from(self.count) / u128::from(self.total)) as u64
    }
}

/// Publish subjects: `base`, or `base.<i % spread>` when `spread` > 0; with `hot`, the hot
/// messages go to the hot subject and the others are numbered among themselves.
#[derive(Debug, Clone)]
pub struct SubjectPattern {
    pub base: String,
    pub spread: u64,
    pub hot: Option<HotSubject>,
}

impl SubjectPattern {
    pub fn new(base: impl Into<String>, spread: u64) -> SubjectPattern {
        SubjectPattern {
            base: base.into(),
            spread,
            hot: None,
        }
    }

    pub fn with_hot(mut self, hot: HotSubject) -> SubjectPattern {
        self.hot = Some(hot);
        self
    }

    /// Appends the subject of message `index` (no allocation).
    pub fn write_subject(&self, index: u64, out: &mut Vec<u8>) {
        let mut index = index;
        if let Some(hot) = &self.hot {
            let before = hot.before(index);
            if hot.before(index + 1) > before {
                out.extend_from_slice(hot.subject.as_bytes());
                return;
            }
            index -= before;
        }
        out.extend_from_slice(self.base.as_bytes());
        if self.spread > 0 {
            // Writing into a Vec cannot fail.
            let _ = write!(out, ".{}", index % self.spread);
        }
    }

    /// The subject filter the stream is created with (without the hot subject).
    pub fn stream_subject(&self) -> String {
        if self.spread > 0 {
            format!("{}.*", self.base)
        } else {
            self.base.clone()
        }
    }

    /// Every subject filter the stream needs.
    pub fn stream_subjects(&self) -> Vec<String> {
        let mut subjects = vec![self.stream_subject()];
        if let Some(hot) = &self.hot {
            subjects.push(hot.subject.clone());
        }
        subjects
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(pattern: &SubjectPattern, index: u64) -> String {
        let mut out = Vec::new();
        pattern.write_subject(index, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn subjects_spread_over_a_wildcard_stream() {
        let spread = SubjectPattern::new("s", 3);
        assert_eq!(subject(&spread, 7), "s.1");
        assert_eq!(spread.stream_subject(), "s.*");
        let single = SubjectPattern::new("s", 0);
        assert_eq!(subject(&single, 7), "s");
        assert_eq!(single.stream_subject(), "s");
        assert_eq!(single.stream_subjects(), vec!["s".to_string()]);
    }

    #[test]
    fn hot_messages_are_spread_evenly_and_cold_ones_stay_distinct() {
        let (cold, hot_count) = (1000u64, 37u64);
        let total = cold + hot_count;
        let pattern = SubjectPattern::new("b.s", cold).with_hot(HotSubject {
            subject: "b.hot".to_string(),
            count: hot_count,
            total,
        });
        assert_eq!(
            pattern.stream_subjects(),
            vec!["b.s.*".to_string(), "b.hot".to_string()]
        );
        let subjects: Vec<String> = (0..total).map(|i| subject(&pattern, i)).collect();
        let hot: Vec<usize> = (0..subjects.len())
            .filter(|&i| subjects[i] == "b.hot")
            .collect();
        assert_eq!(hot.len() as u64, hot_count);
        assert_eq!(
            *hot.last().unwrap() as u64,
            total - 1,
            "last message is hot"
        );
        // Evenly spread: gaps between hot messages differ by at most one.
        let gaps: Vec<usize> = hot.windows(2).map(|w| w[1] - w[0]).collect();
        let (min, max) = (gaps.iter().min().unwrap(), gaps.iter().max().unwrap());
        assert!(max - min <= 1, "{gaps:?}");
        // Every cold subject appears exactly once.
        let mut cold_subjects: Vec<&String> =
            subjects.iter().filter(|s| s.as_str() != "b.hot").collect();
        assert_eq!(cold_subjects.len() as u64, cold);
        cold_subjects.sort();
        cold_subjects.dedup();
        assert_eq!(cold_subjects.len() as u64, cold);
        assert_eq!(pattern.hot.as_ref().unwrap().before(total), hot_count);
    }

    #[test]
    fn round_robin_cold_subjects_repeat() {
        // 3 subjects, 2 messages each, 2 hot: 8 messages.
        let pattern = SubjectPattern::new("c", 3).with_hot(HotSubject {
            subject: "h".to_string(),
            count: 2,
            total: 8,
        });
        let subjects: Vec<String> = (0..8).map(|i| subject(&pattern, i)).collect();
        assert_eq!(
            subjects,
            ["c.0", "c.1", "c.2", "h", "c.0", "c.1", "c.2", "h"]
        );
    }
}
