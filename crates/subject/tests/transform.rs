//! Subject transforms (subject mapping): each mapping function, legacy `$n`,
//! `>` carry-over, non-matching subjects, validation, and a table of
//! behaviours observed on nats-server 2.9.10.

use proptest::prelude::*;
use weir_subject::{is_valid_literal_subject, SubjectTransform, TransformError};

fn map(src: &str, dest: &str, subject: &str) -> Option<String> {
    SubjectTransform::new(src, dest)
        .unwrap_or_else(|e| panic!("{src:?} -> {dest:?}: {e}"))
        .apply(subject)
}

fn err(src: &str, dest: &str) -> TransformError {
    match SubjectTransform::new(src, dest) {
        Ok(_) => panic!("{src:?} -> {dest:?} should be rejected"),
        Err(e) => e,
    }
}

/// Cases verified against nats-server 2.9.10 (/usr/sbin/nats-server): a
/// config with `mappings { src: dest }`, a raw-socket client subscribed to
/// `>`, publishing `subject` and recording the subject delivered (which is
/// `subject` itself when the mapping does not match). `None` here means the
/// server delivered nothing.
const VERIFIED_2_9_10: &[(&str, &str, &str, Option<&str>)] = &[
    ("foo", "bar", "foo", Some("bar")),
    ("foo", "bar", "foo.x", Some("foo.x")),
    (">", "uno.>", "one.two.three", Some("uno.one.two.three")),
    (">", ">", "one.two.three", Some("one.two.three")),
    (
        ">",
        "eins.zwei.drei.vier.>",
        "four.five.six",
        Some("eins.zwei.drei.vier.four.five.six"),
    ),
    ("one.>", "uno.>", "one.two.three", Some("uno.two.three")),
    ("one.>", "uno.>", "one", Some("one")),
    ("one.>", "uno.>", "two.one", Some("two.one")),
    (
        "one.two.>",
        "uno.dos.>",
        "one.two.three",
        Some("uno.dos.three"),
    ),
    (
        "one.two.>",
        "uno.dos.>",
        "one.two.three.four",
        Some("uno.dos.three.four"),
    ),
    (
        "one.*.three.*.five",
        "uno.$2.$1",
        "one.two.three.four.five",
        Some("uno.four.two"),
    ),
    (
        "one.*.three.*.five",
        "uno.$2.$1",
        "one.two.x.four.five",
        Some("one.two.x.four.five"),
    ),
    (
        "one.*.three.*.five",
        "uno.{{wildcard(2)}}.{{wildcard(1)}}",
        "one.two.three.four.five",
        Some("uno.four.two"),
    ),
    (
        "*.two.three.>",
        "uno.$1.>",
        "one.two.three.four.five",
        Some("uno.one.four.five"),
    ),
    (
        "*",
        "{{split(1,-)}}",
        "-abc-def--ghij-",
        Some("abc.def.ghij"),
    ),
    ("*", "{{split(1,-)}}", "abc", Some("abc")),
    ("*", "{{split(1,-)}}", "a--b", Some("a.b")),
    ("*", "{{split(1,-)}}", "a-", Some("a")),
    ("*", "{{split(1,-)}}", "-", None),
    ("foo.*", "{{split(1,)}}", "foo.abc", Some("a.b.c")),
    ("foo.*", "{{split(1,ab)}}", "foo.xabyabz", Some("x.y.z")),
    ("*", "{{splitfromleft(1,3)}}", "12345", Some("123.45")),
    ("*", "{{splitfromleft(1,3)}}", "1234", Some("123.4")),
    ("*", "{{splitfromleft(1,3)}}", "123", Some("123")),
    ("*", "{{splitfromleft(1,3)}}", "12", Some("12")),
    ("*", "{{SplitFromRight(1,3)}}", "12345", Some("12.345")),
    ("*", "{{SplitFromRight(1,3)}}", "123", Some("123")),
    ("*", "{{SplitFromRight(1,3)}}", "12", Some("12")),
    (
        "*",
        "{{SliceFromLeft(1,3)}}",
        "1234567890",
        Some("123.456.789.0"),
    ),
    ("*", "{{SliceFromLeft(1,3)}}", "123456", Some("123.456")),
    ("*", "{{SliceFromLeft(1,3)}}", "123", Some("123")),
    ("*", "{{SliceFromLeft(1,3)}}", "12", Some("12")),
    (
        "*",
        "{{SliceFromRight(1,3)}}",
        "1234567890",
        Some("1.234.567.890"),
    ),
    ("*", "{{SliceFromRight(1,3)}}", "123456", Some("123.456")),
    ("*", "{{SliceFromRight(1,3)}}", "1234", Some("1.234")),
    ("*", "{{SliceFromRight(1,3)}}", "12", Some("12")),
    ("*", "{{splitFromLeft(1,0)}}", "12345", Some("12345")),
    ("*", "{{sliceFromLeft(1,-2)}}", "12345", Some("12345")),
    ("*", "{{ Wildcard ( 1 ) }}.x", "abc", Some("abc.x")),
    ("*", "{{wildcard( 1 )}}.x", "abc", Some("abc.x")),
    ("foo.*", "{{Splitfromleft(1,2)}}", "foo.abc", Some("ab.c")),
    ("foo.*.*", "bar.$1.$1", "foo.a.b", Some("bar.a.a")),
    ("foo.*", "$KV.bar.$1", "foo.a", Some("$KV.bar.a")),
    ("foo.*", "bar.$x.$1", "foo.a", Some("bar.$x.a")),
    // partition: FNV-1a 32 of the concatenated tokens, modulo n.
    (
        "neworders.*",
        "neworders.{{wildcard(1)}}.{{partition(3,1)}}",
        "neworders.c0",
        Some("neworders.c0.0"),
    ),
    (
        "neworders.*",
        "n.{{partition(3,1)}}",
        "neworders.c1",
        Some("n.2"),
    ),
    (
        "neworders.*",
        "n.{{partition(3,1)}}",
        "neworders.c2",
        Some("n.2"),
    ),
    (
        "neworders.*",
        "n.{{partition(3,1)}}",
        "neworders.c3",
        Some("n.1"),
    ),
    (
        "neworders.*",
        "n.{{partition(3,1)}}",
        "neworders.c4",
        Some("n.2"),
    ),
    (
        "neworders.*",
        "n.{{partition(3,1)}}",
        "neworders.c5",
        Some("n.1"),
    ),
    (
        "neworders.*",
        "n.{{partition(3,1)}}",
        "neworders.c6",
        Some("n.1"),
    ),
    (
        "neworders.*",
        "n.{{partition(3,1)}}",
        "neworders.c7",
        Some("n.0"),
    ),
    (
        "neworders.*",
        "n.{{partition(3,1)}}",
        "neworders.c8",
        Some("n.1"),
    ),
    (
        "neworders.*",
        "n.{{partition(3,1)}}",
        "neworders.c9",
        Some("n.0"),
    ),
    (
        "neworders.*",
        "n.{{partition(3,1)}}",
        "neworders.c10",
        Some("n.0"),
    ),
    (
        "neworders.*",
        "n.{{partition(3,1)}}",
        "neworders.c11",
        Some("n.1"),
    ),
    (
        "neworders.*",
        "n.{{partition(3,1)}}",
        "neworders.alice",
        Some("n.2"),
    ),
    (
        "foo.*.*",
        "bar.{{partition(10,1,2)}}.{{partition(7,2,1)}}.{{partition(1000, 1)}}",
        "foo.a.b",
        Some("bar.6.6.220"),
    ),
    (
        "foo.*.*",
        "bar.{{partition(10,1,2)}}.{{partition(7,2,1)}}.{{partition(1000, 1)}}",
        "foo.ab.c",
        Some("bar.1.2.946"),
    ),
    (
        "foo.*.*",
        "bar.{{partition(10,1,2)}}.{{partition(7,2,1)}}.{{partition(1000, 1)}}",
        "foo.hello.world",
        Some("bar.7.6.723"),
    ),
    (
        "foo.*.*",
        "bar.{{partition(10,1,2)}}.{{partition(7,2,1)}}.{{partition(1000, 1)}}",
        "foo.x.y",
        Some("bar.2.1.695"),
    ),
    (
        "foo.*",
        "p.{{partition(4294967295,1)}}",
        "foo.a",
        Some("p.3826002220"),
    ),
    (
        "foo.*",
        "p.{{partition(4294967295,1)}}",
        "foo.xyz",
        Some("p.3298945248"),
    ),
];

#[test]
fn verified_against_nats_server_2_9_10() {
    for &(src, dest, subject, want) in VERIFIED_2_9_10 {
        let t = SubjectTransform::new(src, dest).unwrap();
        // nats-server delivers non-matching subjects unchanged; `apply`
        // reports them as `None`.
        let got = t.apply(subject).or_else(|| {
            let matched = weir_subject::matches(src.as_bytes(), subject.as_bytes());
            (!matched).then(|| subject.to_owned())
        });
        assert_eq!(got.as_deref(), want, "{src:?} -> {dest:?} on {subject:?}");
    }
}

/// Destination validation verified with `nats-server -t` on 2.9.10 (error
/// text "Error adding mapping ... : <text>").
#[test]
fn validation_verified_against_nats_server_2_9_10() {
    use TransformError::*;
    let cases: &[(&str, &str, TransformError)] = &[
        (
            "foo.*",
            "{{WILDCARD(1)}}",
            UnknownFunction("{{WILDCARD(1)}}".into()),
        ),
        (
            "foo.*",
            "{{wIldcard(1)}}",
            UnknownFunction("{{wIldcard(1)}}".into()),
        ),
        (
            "foo.*",
            "{{SPLIT(1,-)}}",
            UnknownFunction("{{SPLIT(1,-)}}".into()),
        ),
        (
            "foo.*",
            "bar.{{unknown(1)}}",
            UnknownFunction("{{unknown(1)}}".into()),
        ),
        // 2.9 has no left/right; they are 2.10 functions we do support.
        ("foo.*", "bar.$2", IndexOutOfRange("$2: [2]".into())),
        (
            "foo.*",
            "bar.{{wildcard(2)}}",
            IndexOutOfRange("{{wildcard(2)}}: [2]".into()),
        ),
        (
            "foo.*",
            "bar.{{partition(3,2)}}",
            IndexOutOfRange("{{partition(3,2)}}: [2]".into()),
        ),
        ("foo.>", "bar.$1.>", IndexOutOfRange("$1".into())),
        ("foo.>", "bar", InvalidSubject),
        ("foo", "bar.>", InvalidSubject),
        ("foo.*", "bar.*", InvalidSubject),
        ("foo..bar", "baz", InvalidSubject),
        ("foo.>.bar", "baz.>", InvalidSubject),
        ("foo bar", "baz", InvalidSubject),
        ("foo", "baz..x", InvalidSubject),
        ("foo.*", "bar baz", InvalidSubject),
        (
            "foo.*",
            "bar.{{wildcard()}}",
            NotEnoughArgs("{{wildcard()}}".into()),
        ),
        (
            "foo.*",
            "bar.{{wildcard(1,2)}}",
            TooManyArgs("{{wildcard(1,2)}}".into()),
        ),
        (
            "foo.*",
            "bar.{{wildcard(a)}}",
            InvalidArg("{{wildcard(a)}}".into()),
        ),
        (
            "foo.*",
            "bar.{{partition(3)}}",
            NotEnoughArgs("{{partition(3)}}".into()),
        ),
        (
            "foo.*",
            "bar.{{partition(x,1)}}",
            InvalidArg("{{partition(x,1)}}".into()),
        ),
        (
            "foo.*",
            "bar.{{splitFromLeft(1)}}",
            NotEnoughArgs("{{splitFromLeft(1)}}".into()),
        ),
        (
            "foo.*",
            "bar.{{splitFromLeft(1,2,3)}}",
            TooManyArgs("{{splitFromLeft(1,2,3)}}".into()),
        ),
        (
            "foo.*",
            "bar.{{split(1,-,x)}}",
            TooManyArgs("{{split(1,-,x)}}".into()),
        ),
    ];
    for (src, dest, want) in cases {
        assert_eq!(&err(src, dest), want, "{src:?} -> {dest:?}");
    }
    // Accepted by 2.9.10 and by us.
    for (src, dest) in [
        ("foo.*", "{{Splitfromleft(1,2)}}"),
        ("foo.*", "bar.{{ wildcard(1) }}"),
        ("foo.*", "bar.{{split(1, )}}"),
    ] {
        SubjectTransform::new(src, dest).unwrap();
    }
    // Unbalanced braces make a literal token: 2.9.10 then complains that
    // `*` is unused, which 2.10 rules (ours) allow.
    assert_eq!(
        map("foo.*", "bar.{{wildcard(1)}", "foo.a").as_deref(),
        Some("bar.{{wildcard(1)}")
    );
}

#[test]
fn error_display_matches_nats_server() {
    assert_eq!(err("foo.*", "bar.*").to_string(), "invalid subject");
    assert_eq!(
        err("foo.*", "bar.$2").to_string(),
        "invalid mapping destination: wildcard index out of range in $2: [2]"
    );
    assert_eq!(
        err("foo.*", "bar.{{unknown(1)}}").to_string(),
        "invalid mapping destination: unknown function in {{unknown(1)}}"
    );
    assert_eq!(
        err("foo.*", "bar.{{wildcard()}}").to_string(),
        "invalid mapping destination: not enough arguments passed to the function in {{wildcard()}}"
    );
    assert_eq!(
        err("foo.*", "bar.{{wildcard(1,2)}}").to_string(),
        "invalid mapping destination: too many arguments passed to the function in {{wildcard(1,2)}}"
    );
    assert_eq!(
        err("foo.*", "bar.{{wildcard(a)}}").to_string(),
        "invalid mapping destination: function argument is invalid or in the wrong format in {{wildcard(a)}}"
    );
    assert_eq!(
        SubjectTransform::new_strict("foo.*.*", "bar.$1")
            .unwrap_err()
            .to_string(),
        "invalid mapping destination: not using all of the token wildcard(s) in bar.$1"
    );
    assert_eq!(
        SubjectTransform::new_strict("foo.*", "bar.{{partition(2,1)}}")
            .unwrap_err()
            .to_string(),
        "invalid mapping destination: the only mapping function allowed for import transforms is {{Wildcard()}} in {{partition(2,1)}}"
    );
}

#[test]
fn legacy_dollar_references() {
    assert_eq!(map("a.*.*", "b.$2.$1", "a.x.y").as_deref(), Some("b.y.x"));
    assert_eq!(map("a.*", "$1", "a.x").as_deref(), Some("x"));
    assert_eq!(map("a.*", "$01.$+1", "a.x").as_deref(), Some("x.x"));
    // `$` tokens that are not `$<int>` stay literal.
    assert_eq!(map("a.*", "$JS.$.$1", "a.x").as_deref(), Some("$JS.$.x"));
}

#[test]
fn wildcard_function() {
    assert_eq!(
        map("a.*.*", "{{wildcard(2)}}.{{Wildcard(1)}}", "a.x.y").as_deref(),
        Some("y.x")
    );
    assert_eq!(
        map("a.*", "{{  wildcard  (  1  )  }}", "a.x").as_deref(),
        Some("x")
    );
    // Since 2.10 wildcards may be dropped (2.9.10 rejected this).
    assert_eq!(map("a.*.*", "b.$2", "a.x.y").as_deref(), Some("b.y"));
    assert_eq!(map("a.*.*", "b", "a.x.y").as_deref(), Some("b"));
}

#[test]
fn partition_function() {
    // Deterministic, in range, and hashing the concatenation of tokens.
    let t = SubjectTransform::new("p.*.*", "{{partition(5,1,2)}}").unwrap();
    for s in ["p.a.bc", "p.ab.c", "p.abc.x"] {
        let n: u32 = t.apply(s).unwrap().parse().unwrap();
        assert!(n < 5);
        assert_eq!(t.apply(s), t.apply(s));
    }
    assert_eq!(t.apply("p.a.bc"), t.apply("p.ab.c"));
    assert_eq!(
        map("p.*", "{{partition(1,1)}}", "p.zzz").as_deref(),
        Some("0")
    );
    assert!(matches!(
        err("p.*", "{{partition(0,1)}}"),
        TransformError::InvalidArg(_)
    ));
    assert!(matches!(
        err("p.*", "{{partition(-3,1)}}"),
        TransformError::InvalidArg(_)
    ));
    assert!(matches!(
        err("p.*", "{{partition(4294967296,1)}}"),
        TransformError::InvalidArg(_)
    ));
}

#[test]
fn split_functions() {
    assert_eq!(
        map("*", "{{split(1,-)}}", "a-b-c").as_deref(),
        Some("a.b.c")
    );
    assert_eq!(
        map("*", "{{Split(1, -)}}", "-a--b-").as_deref(),
        Some("a.b")
    );
    // nats-server builds `.a` (invalid, dropped); we keep the non-empty part.
    assert_eq!(map("*", "{{split(1,-)}}", "--a").as_deref(), Some("a"));
    // Nothing but delimiters: no valid result.
    assert_eq!(map("*", "{{split(1,-)}}", "---"), None);
    // A cut exposing a wildcard token would make an invalid subject.
    assert_eq!(map("*", "{{split(1,-)}}", "a-*"), None);
    assert_eq!(map("*", "{{sliceFromLeft(1,1)}}", "a>"), None);
    assert_eq!(map("*", "{{left(1,1)}}", "*a"), None);
    assert_eq!(map("*", "x.{{left(1,2)}}", "*a").as_deref(), Some("x.*a"));
    assert_eq!(map("*", "{{split(1,)}}", "héé").as_deref(), Some("h.é.é"));
    assert_eq!(
        map("*", "{{split(1,::)}}", "a::b:c").as_deref(),
        Some("a.b:c")
    );
    assert!(matches!(
        err("*", "{{split(1,- )}}"),
        TransformError::InvalidArg(_)
    ));
    assert!(matches!(
        err("*", "{{split(1)}}"),
        TransformError::NotEnoughArgs(_)
    ));
}

#[test]
fn split_and_slice_from_sides() {
    assert_eq!(
        map("*", "{{SplitFromLeft(1,1)}}", "ab").as_deref(),
        Some("a.b")
    );
    assert_eq!(
        map("*", "{{SplitFromRight(1,1)}}", "abc").as_deref(),
        Some("ab.c")
    );
    assert_eq!(
        map("*", "{{splitFromRight(1,5)}}", "abc").as_deref(),
        Some("abc")
    );
    assert_eq!(
        map("*", "{{SliceFromLeft(1,2)}}", "abcde").as_deref(),
        Some("ab.cd.e")
    );
    assert_eq!(
        map("*", "{{SliceFromRight(1,2)}}", "abcde").as_deref(),
        Some("a.bc.de")
    );
    assert_eq!(
        map("*", "{{sliceFromLeft(1,1)}}", "abc").as_deref(),
        Some("a.b.c")
    );
    assert_eq!(
        map("*", "{{sliceFromRight(1,0)}}", "abc").as_deref(),
        Some("abc")
    );
}

// left/right are nats-server 2.10 functions: 2.9.10 rejects them as unknown,
// so these cases come from the ADR/2.10 semantics and are not verified
// against the binary.
#[test]
fn left_and_right_2_10() {
    assert_eq!(map("*", "{{left(1,2)}}", "abcd").as_deref(), Some("ab"));
    assert_eq!(map("*", "{{Right(1,2)}}", "abcd").as_deref(), Some("cd"));
    assert_eq!(map("*", "{{left(1,9)}}", "abcd").as_deref(), Some("abcd"));
    assert_eq!(map("*", "{{right(1,0)}}", "abcd").as_deref(), Some("abcd"));
    assert_eq!(
        map("a.*.*", "x.{{left(2,1)}}.{{right(1,1)}}", "a.pq.rs").as_deref(),
        Some("x.r.q")
    );
}

#[test]
fn full_wildcard_carry_over() {
    assert_eq!(map("a.>", "b.>", "a.x.y.z").as_deref(), Some("b.x.y.z"));
    assert_eq!(
        map("a.*.>", "$1.b.>", "a.x.y.z").as_deref(),
        Some("x.b.y.z")
    );
    assert_eq!(map("", "pre.>", "x.y").as_deref(), Some("pre.x.y"));
    assert_eq!(
        map("$KV.A.>", "$KV.B.>", "$KV.A.k1").as_deref(),
        Some("$KV.B.k1")
    );
    // `>` needs at least one token.
    assert_eq!(map("a.>", "b.>", "a"), None);
}

#[test]
fn non_matching_and_invalid_subjects() {
    let t = SubjectTransform::new("a.*.c", "x.$1").unwrap();
    for s in [
        "a.b", "a.b.c.d", "b.b.c", "a.b.d", "", "a..c", "a.*.c", "a.>.c", "a.b c.c", ".a.b.c",
        "a.b.c.",
    ] {
        assert_eq!(t.apply(s), None, "{s:?}");
    }
    assert_eq!(t.apply("a.b.c").as_deref(), Some("x.b"));
}

#[test]
fn identity_transforms() {
    let t = SubjectTransform::new("a.*", "").unwrap();
    assert_eq!(t.apply("a.b").as_deref(), Some("a.b"));
    assert_eq!(t.apply("b.b"), None);
    let t = SubjectTransform::new("a.*", "a.*").unwrap();
    assert_eq!(t.apply("a.b").as_deref(), Some("a.b"));
    let t = SubjectTransform::new("", ">").unwrap();
    assert_eq!(t.src(), ">");
    assert_eq!(t.dest(), ">");
    assert_eq!(t.apply("x.y.z").as_deref(), Some("x.y.z"));
}

#[test]
fn literal_only_transforms() {
    assert_eq!(map("a.b", "c", "a.b").as_deref(), Some("c"));
    assert!(matches!(
        err("a.b", "c.$1"),
        TransformError::IndexOutOfRange(_)
    ));
    assert!(matches!(
        err("a.b", "c.{{wildcard(1)}}"),
        TransformError::IndexOutOfRange(_)
    ));
}

#[test]
fn index_validation() {
    // nats-server 2.9.10 accepts `$0` (delivering `bar.foo` for `foo.a`)
    // and negative indexes; both are rejected here.
    for dest in ["bar.$0", "bar.{{wildcard(-1)}}", "bar.{{wildcard(0)}}"] {
        assert!(
            matches!(err("foo.*", dest), TransformError::IndexOutOfRange(_)),
            "{dest}"
        );
    }
    assert!(matches!(
        err("foo.*", "{{partition(2,1,3)}}"),
        TransformError::IndexOutOfRange(_)
    ));
}

#[test]
fn strict_import_rules() {
    assert!(SubjectTransform::new_strict("a.*.*", "b.$2.$1").is_ok());
    assert!(matches!(
        SubjectTransform::new_strict("a.*.*", "b.$1.$1"),
        Err(TransformError::NotUsingAllWildcards(_))
    ));
    assert!(matches!(
        SubjectTransform::new_strict("a.*", "b.{{split(1,-)}}"),
        Err(TransformError::NotSupportedForImport(_))
    ));
}

#[test]
fn apply_to_reuses_buffer() {
    let t = SubjectTransform::new("a.*.>", "b.$1.>").unwrap();
    let mut out = Vec::with_capacity(64);
    for (s, want) in [("a.x.y", "b.x.y"), ("a.long.tail.here", "b.long.tail.here")] {
        out.clear();
        assert!(t.apply_to(s.as_bytes(), &mut out));
        assert_eq!(out, want.as_bytes());
    }
    out.clear();
    assert!(!t.apply_to(b"z.x.y", &mut out));
    assert!(out.is_empty());
}

fn transforms() -> Vec<SubjectTransform> {
    [
        ("", ">"),
        ("a.>", "b.>"),
        ("*.>", "$1.x.>"),
        ("*", "{{split(1,-)}}"),
        ("*", "{{split(1,)}}"),
        ("*.*", "{{partition(7,1,2)}}.{{SplitFromLeft(2,2)}}"),
        ("*", "{{SplitFromRight(1,3)}}"),
        ("*.*", "{{SliceFromLeft(1,2)}}.{{SliceFromRight(2,3)}}"),
        ("*", "{{left(1,2)}}.{{right(1,2)}}"),
        ("a.*.*", "$2.$1"),
        ("*.*.*", "{{split(3,é)}}"),
    ]
    .iter()
    .map(|(s, d)| SubjectTransform::new(s, d).unwrap())
    .collect()
}

proptest! {
    #[test]
    fn apply_never_panics_and_outputs_valid_subjects(subject in "\\PC{0,24}|[a-c\\.\\*>é -]{0,16}") {
        for t in transforms() {
            if let Some(out) = t.apply(&subject) {
                prop_assert!(is_valid_literal_subject(out.as_bytes()), "{:?} -> {:?}", subject, out);
            }
        }
    }

    #[test]
    fn new_never_panics(src in "[a-c\\*>\\.]{0,8}", dest in "[a-c1-3\\*>\\.\\$\\{\\}\\(\\), ]{0,20}|[a\\.]{0,4}\\{\\{(wildcard|partition|split|left|SliceFromLeft)\\([0-9, -]{0,6}\\)\\}\\}", subject in "[a-c\\.]{1,8}") {
        if let Ok(t) = SubjectTransform::new(&src, &dest) {
            if let Some(out) = t.apply(&subject) {
                prop_assert!(is_valid_literal_subject(out.as_bytes()), "{:?} {:?} {:?} -> {:?}", src, dest, subject, out);
            }
        }
    }
}
