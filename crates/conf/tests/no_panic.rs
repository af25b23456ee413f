//! Arbitrary input must produce a value or an error, never a panic or a stack overflow.

use proptest::prelude::*;
use weir_conf::{
    parse_go_duration, parse_size, parse_storage_size, Map, ParseOptions, Spanned, Value,
};

fn options() -> ParseOptions {
    ParseOptions::new().env_lookup(|name| match name {
        "A" => Some("1MB".into()),
        "B" => Some("$B".into()),
        "C" => Some("{ x: [1, $A] }".into()),
        "D" => Some("a b".into()),
        _ => None,
    })
}

/// Calls every accessor on every value, which must not panic either.
fn touch(value: &Spanned<Value>) {
    let _ = value.as_str();
    let _ = value.as_i64();
    let _ = value.as_f64();
    let _ = value.as_bool();
    let _ = value.as_size_bytes();
    let _ = value.as_duration();
    let _ = value.as_datetime();
    let _ = value.pos.to_string();
    if let Ok(items) = value.as_array() {
        items.iter().for_each(touch);
    }
    if let Ok(map) = value.as_map() {
        touch_map(map);
    }
}

fn touch_map(map: &Map) {
    for (key, value) in map.iter() {
        let _ = map.get_ci(key);
        touch(value);
    }
}

fn check(text: &str) {
    // The origin is a directory that does not exist, so random `include`s find nothing.
    let origin = std::path::Path::new("/nonexistent-weir-conf-fuzz/x.conf");
    match options().parse_str(text, Some(origin)) {
        Ok(map) => touch_map(&map),
        Err(e) => {
            let _ = (e.to_string(), e.detail(), e.pos());
        }
    }
}

/// Pieces of the syntax, so random sequences get deep into the grammar.
fn token() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "a",
        "key",
        "include",
        " ",
        "\t",
        "\n",
        "\r\n",
        ":",
        "=",
        ",",
        ";",
        "{",
        "}",
        "[",
        "]",
        "(",
        ")",
        "\n)\n",
        "#",
        "//",
        "/",
        "'",
        "\"",
        "\\",
        "\\x4",
        "\\xc3",
        "$A",
        "$B",
        "$C",
        "$D",
        "$X",
        "$2a$1",
        "1",
        "42",
        "-",
        "-7",
        "1.5",
        ".",
        "1.2.3",
        "2016-05-04T18:53:41Z",
        "2016-",
        "1k",
        "1KB",
        "1mib",
        "1kbb",
        "10e",
        "99999999999999999999",
        "2m",
        "true",
        "Off",
        "é",
        "\u{feff}",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        check(&text);
    }

    #[test]
    fn syntax_soup_never_panics(text in "[a-z0-9 \t\n\r{}\\[\\]():=,;#/'\"\\\\$.\\-kKmMgGbBiIT Zé]{0,300}") {
        check(&text);
    }

    #[test]
    fn token_sequences_never_panic(tokens in prop::collection::vec(token(), 0..120)) {
        check(&tokens.concat());
    }

    #[test]
    fn unit_parsers_never_panic(text in any::<String>(), soup in "[0-9.+\\-µμnsmhKMGTkgtbBiIeEpP]{0,40}") {
        for s in [&text, &soup] {
            let _ = parse_go_duration(s);
            let _ = parse_size(s);
            let _ = parse_storage_size(s);
        }
    }
}
