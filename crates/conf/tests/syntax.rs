//! Syntax forms and values. Unless a test says otherwise, each expectation was checked
//! against nats-server 2.9.10 by putting the text in a config and reading the option back
//! from /varz (`server_name` for strings, `max_pending`/`max_connections` for integers,
//! `server_tags` for arrays, `cluster { ... }` for blocks) or from its type error.

use std::time::Duration;

use weir_conf::{parse_str, ConfError, Map, ParseOptions, Spanned, Value};

fn parse(text: &str) -> Map {
    ParseOptions::new()
        .without_env()
        .parse_str(text, None)
        .unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

fn val(text: &str, key: &str) -> Value {
    parse(text)
        .get(key)
        .unwrap_or_else(|| panic!("{text:?}: no key {key}"))
        .value
        .clone()
}

fn err(text: &str) -> String {
    match ParseOptions::new().without_env().parse_str(text, None) {
        Ok(map) => panic!("{text:?} parsed: {map:?}"),
        Err(e) => e.to_string(),
    }
}

fn s(text: &str) -> Value {
    Value::String(text.to_string())
}

fn strings(values: &[Spanned<Value>]) -> Vec<String> {
    values
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn key_value_separators() {
    for text in [
        "server_name: foo",
        "server_name = foo",
        "server_name foo",
        "server_name:foo",
        "server_name=foo",
        "server_name\tfoo",
        "\"server_name\": foo",
        "'server_name' = foo",
        // Without a separator the value may even be on a later line.
        "server_name\n\n foo",
    ] {
        assert_eq!(val(text, "server_name"), s("foo"), "{text:?}");
    }
}

#[test]
fn keys_are_case_sensitive_but_get_ci_is_not() {
    // nats-server accepts SERVER_NAME and Server_Name as server_name.
    let map = parse("SERVER_NAME: a\nport: 1\nPort: 2");
    assert!(map.get("server_name").is_none());
    assert_eq!(map.get_ci("server_name").unwrap().value, s("a"));
    assert_eq!(map.get("port").unwrap().value, Value::Integer(1));
    assert_eq!(map.get("Port").unwrap().value, Value::Integer(2));
    // The later assignment wins among keys that differ only in case.
    assert_eq!(map.get_ci("PORT").unwrap().value, Value::Integer(2));
    assert_eq!(map.len(), 3);
}

#[test]
fn quoted_keys_may_hold_anything() {
    let map = parse("\"a b\": 1\n'c:d' = 2\n\"include\" x");
    assert_eq!(map.get("a b").unwrap().value, Value::Integer(1));
    assert_eq!(map.get("c:d").unwrap().value, Value::Integer(2));
    assert_eq!(map.get("include").unwrap().value, s("x"));
}

#[test]
fn bare_keys_end_only_at_whitespace_and_separators() {
    let map = parse("a.b: 1\nc-d: 2\n$e: 3");
    assert_eq!(map.keys().collect::<Vec<_>>(), ["a.b", "c-d", "$e"]);
}

#[test]
fn entry_terminators() {
    let map = parse("server_name: foo;max_connections: 5\na: 1, b: 2; c: 3,\nd: 4;");
    assert_eq!(map.get("server_name").unwrap().value, s("foo"));
    assert_eq!(map.get("max_connections").unwrap().value, Value::Integer(5));
    for (k, n) in [("a", 1), ("b", 2), ("c", 3), ("d", 4)] {
        assert_eq!(map.get(k).unwrap().value, Value::Integer(n));
    }
    // Two values on one line need a separator.
    assert!(err("a: 1 b: 2").contains("1:6: expected a new line"));
}

#[test]
fn comments() {
    let map = parse(
        "# hash comment\n// slash comment\na: foo # trailing\nb: bar // trailing\nc: x#y\nd: x//y\ne: 1 #c\n",
    );
    assert_eq!(map.get("a").unwrap().value, s("foo"));
    assert_eq!(map.get("b").unwrap().value, s("bar"));
    // Inside an unquoted string, # and // are ordinary characters.
    assert_eq!(map.get("c").unwrap().value, s("x#y"));
    assert_eq!(map.get("d").unwrap().value, s("x//y"));
    assert_eq!(map.get("e").unwrap().value, Value::Integer(1));
    assert_eq!(map.len(), 5);
}

#[test]
fn blocks() {
    for text in [
        "cluster { name: c1, port: -1 }",
        "cluster: { name: c1, port: -1 }",
        "cluster = { name: c1; port: -1; }",
        "cluster {\n  name = c1 # comment\n  // another\n  port: -1,\n}",
        "cluster {\n  name c1\n  port -1\n}",
        "cluster\n{ name: c1, port: -1 }",
        // Inside a block a value may follow its separator on the next line.
        "cluster { name:\n  c1, port: -1 }",
        "cluster { \"name\": c1, 'port': -1 }",
    ] {
        let map = parse(text);
        let block = map.get("cluster").unwrap().as_map().unwrap();
        assert_eq!(block.get("name").unwrap().value, s("c1"), "{text:?}");
        assert_eq!(
            block.get("port").unwrap().value,
            Value::Integer(-1),
            "{text:?}"
        );
        assert_eq!(block.len(), 2);
    }
    assert!(parse("cluster {}")
        .get("cluster")
        .unwrap()
        .as_map()
        .unwrap()
        .is_empty());
    let nested = parse("a { b { c { d: 1 } } }");
    let d = nested
        .get("a")
        .unwrap()
        .as_map()
        .unwrap()
        .get("b")
        .unwrap()
        .as_map()
        .unwrap()
        .get("c")
        .unwrap()
        .as_map()
        .unwrap()
        .get("d")
        .unwrap();
    assert_eq!(d.value, Value::Integer(1));
    // Entries in a block need separators too.
    assert!(err("cluster {name:c1 port:-1}").contains("1:18: expected a new line, ',', ';' or '}'"));
}

#[test]
fn arrays() {
    let tags = |text: &str| strings(parse(text).get("t").unwrap().as_array().unwrap());
    assert_eq!(tags("t: [a, b]"), ["a", "b"]);
    assert_eq!(tags("t: [a\nb\n c,]"), ["a", "b", "c"]);
    assert_eq!(tags("t = [ \"x y\", 'q r' ]"), ["x y", "q r"]);
    assert_eq!(tags("t [a, # c\n b // d\n ]"), ["a", "b"]);
    assert_eq!(tags("t: [\n # c\n a\n]"), ["a"]);
    assert!(tags("t: []").is_empty());
    assert!(tags("t: [\n]").is_empty());

    let mixed = val("t: [1, 2.5, true, x, [y], {k: v}, 2kb]", "t");
    let Value::Array(items) = mixed else { panic!() };
    let values: Vec<Value> = items.into_iter().map(|v| v.value).collect();
    assert_eq!(values[0], Value::Integer(1));
    assert_eq!(values[1], Value::Float(2.5));
    assert_eq!(values[2], Value::Bool(true));
    assert_eq!(values[3], s("x"));
    assert!(matches!(&values[4], Value::Array(a) if a.len() == 1));
    assert!(matches!(&values[5], Value::Map(m) if m.get("k").is_some()));
    // Deliberate difference: nats-server 2.9.10 lexes an integer directly followed by `]` as
    // a string (`12]`), so `[a, 12]` fails there and `[a, 1k]` yields "1k"; we read integers.
    assert_eq!(values[6], Value::Integer(2048));

    assert!(err("t: [a,,b]").contains("1:7: unexpected ','"));
    assert!(err("t: [,a]").contains("1:5: unexpected ','"));
    assert!(err("t: [a;b]").contains("1:6: expected ',' or ']' after an array element, found ';'"));
    assert!(err("t: [a b]").contains("1:7: expected ',' or ']'"));
    assert!(err("t: [a,\n b").contains("1:4: array '[' is never closed"));
}

#[test]
fn double_quoted_strings_and_escapes() {
    assert_eq!(val(r#"a: "a\tb\n\"\\\x41\r""#, "a"), s("a\tb\n\"\\A\r"));
    // \x escapes are bytes; together they may form UTF-8 (verified: "é\xc3\xa9" is "éé").
    assert_eq!(val(r#"a: "é\xc3\xa9""#, "a"), s("éé"));
    assert_eq!(val("a: \"multi\nline\"", "a"), s("multi\nline"));
    assert_eq!(val(r#"a: "true""#, "a"), s("true"));
    assert_eq!(val(r#"a: "$NAME""#, "a"), s("$NAME"));
    assert_eq!(
        val(r#"a: "  spaced # not a comment ""#, "a"),
        s("  spaced # not a comment ")
    );
    assert_eq!(val(r#"a: """#, "a"), s(""));
    // nats-server: "Invalid escape character 'u'..." / "Expected two hexadecimal digits".
    assert!(err(r#"a: "a\u0041""#).contains("1:7: invalid escape 'u'"));
    assert!(err(r#"a: "a\q""#).contains("1:7: invalid escape 'q'"));
    assert!(err(r#"a: "\xzz""#)
        .contains("1:6: expected two hexadecimal digits after '\\x', found 'zz'"));
    assert!(err(r#"a: "\x4""#).contains("expected two hexadecimal digits"));
    assert!(err(r#"a: "\xff""#).contains("1:4: string escapes (\\xHH) do not form valid UTF-8"));
    assert!(err("a: \"open\nb: 1").contains("1:4: unterminated double-quoted string"));
}

#[test]
fn single_quoted_strings_are_raw() {
    assert_eq!(val(r#"a: 'a\tb"'"#, "a"), s("a\\tb\""));
    assert_eq!(val("a: 'x # y'", "a"), s("x # y"));
    assert!(err("a: 'open").contains("1:4: unterminated single-quoted string"));
    // nats-server: "Expected a top-level value to end ... but got '''".
    assert!(err("a: 'it''s'").contains("1:8: expected a new line"));
}

#[test]
fn unquoted_strings() {
    for (text, want) in [
        ("a: foo", "foo"),
        ("a: nats://host:4222", "nats://host:4222"),
        ("a: 127.0.0.1", "127.0.0.1"),
        ("a: 127.0.0.1:4222", "127.0.0.1:4222"),
        ("a: 1.2.3", "1.2.3"),
        ("a: 0.0.0.0", "0.0.0.0"),
        ("a: a=b", "a=b"),
        ("a: a:b", "a:b"),
        ("a: a{b", "a{b"),
        ("a: 12abc", "12abc"),
        ("a: 0x10", "0x10"),
        ("a: 1kx", "1kx"),
        ("a: 1kbbx", "1kbbx"),
        ("a: 1_000", "1_000"),
        ("a: /var/lib/nats", "/var/lib/nats"),
        // A backslash escape works unquoted too, and makes a string of anything.
        ("a: a\\tb", "a\tb"),
        ("a: tru\\x65", "true"),
        // A quote ends an unquoted string and is dropped.
        ("a: ab'", "ab"),
        // `}` ends it (and, at the top level, the entry).
        ("a: a}b", "a"),
    ] {
        assert_eq!(val(text, "a"), s(want), "{text:?}");
    }
    assert!(
        err("a: a b").contains("1:6: expected a new line, ';' or ',' after the value, found 'b'")
    );
    assert!(err("a: ab'cd").contains("1:7: expected a new line"));
    // A bcrypt hash need not be quoted (only the $2a$ form, as in nats-server).
    assert_eq!(val("a: $2a$11$abc/def.", "a"), s("$2a$11$abc/def."));
}

#[test]
fn empty_values() {
    // nats-server reads these as empty strings.
    assert_eq!(val("a: ;", "a"), s(""));
    assert_eq!(val("a:", "a"), s(""));
    // A key alone at the very end of a file is ignored by nats-server.
    let map = parse("a: 1\nb");
    assert_eq!(map.len(), 1);
    // But not before a new line after a separator.
    assert!(err("a:\nfoo").contains("1:3: expected a value but found a new line"));
    assert!(err("a {\n b\n}").contains("2:2: key 'b' has no value"));
}

#[test]
fn block_strings() {
    assert_eq!(val("a: (\nmulti\nline\n)", "a"), s("\nmulti\nline\n"));
    assert_eq!(val("a: (\nx (y) z\n )\n)\nb: 1", "a"), s("\nx (y) z\n )\n"));
    assert_eq!(
        parse("a: (\nx\n)\nb: 1").get("b").unwrap().value,
        Value::Integer(1)
    );
    // CRLF line ends: accepted here, not by nats-server (deliberate).
    assert_eq!(val("a: (\r\nx\r\n)\r\n", "a"), s("\r\nx\r\n"));
    // nats-server: "Unexpected EOF processing block."
    assert!(err("a: (one line)").contains("1:4: unterminated block string"));
}

#[test]
fn booleans_in_any_case() {
    for (text, want) in [
        ("true", true),
        ("TRUE", true),
        ("True", true),
        ("yes", true),
        ("Yes", true),
        ("on", true),
        ("oN", true),
        ("false", false),
        ("FALSE", false),
        ("no", false),
        ("NO", false),
        ("off", false),
        ("Off", false),
    ] {
        assert_eq!(val(&format!("a: {text}"), "a"), Value::Bool(want), "{text}");
    }
    assert_eq!(val("a: truex", "a"), s("truex"));
}

#[test]
fn numbers() {
    for (text, want) in [
        ("a: 42", Value::Integer(42)),
        ("a: -5", Value::Integer(-5)),
        ("a: 007", Value::Integer(7)),
        ("a: 9223372036854775807", Value::Integer(i64::MAX)),
        ("a: 1MB", Value::Integer(1 << 20)),
        ("a: 64KB", Value::Integer(64 << 10)),
        ("a: 1k", Value::Integer(1000)),
        ("a: 1G", Value::Integer(1_000_000_000)),
        ("a: 1GiB", Value::Integer(1 << 30)),
        ("a: -1k", Value::Integer(-1000)),
        ("a: 5k,", Value::Integer(5000)),
        ("a: 1.5", Value::Float(1.5)),
        ("a: -0.25", Value::Float(-0.25)),
        ("a: 10.0", Value::Float(10.0)),
    ] {
        assert_eq!(val(text, "a"), want, "{text}");
    }
    // nats-server: "integer ... is out of the range".
    assert!(err("a: 9223372036854775808")
        .contains("1:4: integer '9223372036854775808' is out of range"));
    // Deliberate: nats-server wraps these around or silently drops the key.
    assert!(err("a: 10e").contains("1:4: integer '10e' is out of range"));
    assert!(err("a: 1kbb").contains("1:4: unknown size suffix 'kbb'"));
    // Errors nats-server reports too.
    assert!(err("a: 1e5").contains("1:6: expected a new line"));
    assert!(err("a: 1kb5").contains("1:7: expected a new line"));
    assert!(err("a: -5x").contains("1:6: expected a new line"));
    assert!(err("a: 1.5x").contains("1:7: expected a new line"));
    assert!(err("a: 1.2.3.4abc").contains("1:11: expected a new line"));
    assert!(err("a: 1.").contains("1:6: expected a digit after the '.'"));
    assert!(err("a: .5").contains("1:4: a number must start with a digit"));
    assert!(err("a: -x").contains("1:5: expected a digit after '-'"));
    assert!(err("a: 123-45").contains("1:7: a datetime must be in full ISO8601 Zulu form"));
}

#[test]
fn datetimes() {
    assert_eq!(
        val("a: 2016-05-04T18:53:41Z", "a"),
        Value::DateTime("2016-05-04T18:53:41Z".into())
    );
    assert_eq!(
        val("a: 2016-02-29T23:59:59Z", "a"),
        Value::DateTime("2016-02-29T23:59:59Z".into())
    );
    // nats-server: "Expected 'Z' in ISO8601 datetime, but found '+' instead." etc.
    assert!(err("a: 2016-05-04T18:53:41+01:00").contains("1:23: expected 'Z' in ISO8601 datetime"));
    assert!(err("a: 2016-05-04").contains("1:14: expected 'T' in ISO8601 datetime"));
    // nats-server: "expected Zulu formatted DateTime, but got ...".
    for bad in [
        "2016-13-04T18:53:41Z",
        "2016-02-30T18:53:41Z",
        "2015-02-29T00:00:00Z",
        "2016-02-29T23:59:60Z",
    ] {
        assert!(
            err(&format!("a: {bad}")).contains("is not a valid date and time"),
            "{bad}"
        );
    }
}

#[test]
fn bare_durations_are_size_literals() {
    // `ping_interval: 2m` is the integer 2,000,000 (m = 10^6), which nats-server takes as
    // seconds: /varz shows ping_interval 2000000000000000 ns. Quoted "2m" is two minutes.
    let map = parse("a: 2m\nb: \"2m\"\nc: 30\nd: \"1h30m\"\ne: \"1.5s\"");
    assert_eq!(map.get("a").unwrap().value, Value::Integer(2_000_000));
    assert_eq!(
        map.get("a").unwrap().as_duration().unwrap(),
        Duration::from_secs(2_000_000)
    );
    assert_eq!(
        map.get("b").unwrap().as_duration().unwrap(),
        Duration::from_secs(120)
    );
    assert_eq!(
        map.get("c").unwrap().as_duration().unwrap(),
        Duration::from_secs(30)
    );
    assert_eq!(
        map.get("d").unwrap().as_duration().unwrap(),
        Duration::from_secs(5400)
    );
    assert_eq!(
        map.get("e").unwrap().as_duration().unwrap(),
        Duration::from_millis(1500)
    );
    // `2s` is not a size, so it is a plain string, which is a Go duration.
    assert_eq!(val("a: 2s", "a"), s("2s"));
}

#[test]
fn later_assignments_win_and_order_is_kept() {
    let map = parse("b: 1\na: 2\nb: 3\nc { x: 1 }\nc { y: 2 }");
    assert_eq!(map.keys().collect::<Vec<_>>(), ["b", "a", "c"]);
    assert_eq!(map.get("b").unwrap().value, Value::Integer(3));
    assert_eq!(map.get("b").unwrap().pos.line, 3);
    // Blocks are replaced, not merged (verified: cluster name reverts to its default).
    let c = map.get("c").unwrap().as_map().unwrap();
    assert!(c.get("x").is_none() && c.get("y").is_some());
}

#[test]
fn top_level_braces_are_ignored() {
    for text in [
        "{\nserver_name: x\n}\n",
        "{ server_name: x }",
        "{{ server_name: x",
        "{\"server_name\": \"x\", \"port\": 4222}",
    ] {
        assert_eq!(val(text, "server_name"), s("x"), "{text:?}");
    }
    let map = parse("a: 5 } b: x");
    assert_eq!(map.get("b").unwrap().value, s("x"));
}

#[test]
fn positions_are_one_based_lines_and_char_columns() {
    let map = parse("a: 1\n  b = \"x\"\nc {\n\té: [1,\n  2]\n}");
    let a = map.get_entry("a").unwrap();
    assert_eq!((a.key_pos.line, a.key_pos.column), (1, 1));
    assert_eq!((a.value.pos.line, a.value.pos.column), (1, 4));
    let b = map.get("b").unwrap();
    assert_eq!((b.pos.line, b.pos.column), (2, 7));
    let c = map.get("c").unwrap();
    assert_eq!((c.pos.line, c.pos.column), (3, 3));
    let arr = c.as_map().unwrap().get("é").unwrap();
    assert_eq!((arr.pos.line, arr.pos.column), (4, 5));
    let two = &arr.as_array().unwrap()[1];
    assert_eq!((two.pos.line, two.pos.column), (5, 3));
    assert_eq!(two.pos.to_string(), "<string>:5:3");
}

#[test]
fn syntax_errors_name_line_and_column() {
    for (text, want) in [
        ("a: [", "<string>:1:4: array '[' is never closed with ']'"),
        (
            "a {\n b: 1\n",
            "<string>:1:3: block '{' is never closed with '}'",
        ),
        (
            ": 1",
            "<string>:1:1: unexpected key separator ':' where a key was expected",
        ),
        (
            "a { : 1 }",
            "<string>:1:5: unexpected ':' where a key was expected",
        ),
        (
            "a { ] }",
            "<string>:1:5: unexpected ']' where a key was expected",
        ),
        (
            "a {\n b: 1 c: 2\n}",
            "<string>:2:7: expected a new line, ',', ';' or '}' after the value, found 'c'",
        ),
        (
            "x: 1\n/ y",
            "<string>:2:1: unexpected '/': comments start with '#' or '//'",
        ),
        ("\"open: 1", "<string>:1:1: unterminated quoted key"),
        ("a {\n b\n", "<string>:2:2: key 'b' has no value"),
    ] {
        assert_eq!(err(text), want, "{text:?}");
    }
    let e = ParseOptions::new()
        .parse_str("a: [", Some(std::path::Path::new("dir/nats.conf")))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "dir/nats.conf:1:4: array '[' is never closed with ']'"
    );
    assert_eq!(e.pos().unwrap().line, 1);
    assert_eq!(e.detail(), "array '[' is never closed with ']'");
}

#[test]
fn nesting_is_limited_without_overflowing_the_stack() {
    let deep = format!("a: {}", "[".repeat(100_000));
    assert!(err(&deep).contains("nested more than 64 levels"));
    let deep = format!("a: {}", "{b: ".repeat(100_000));
    assert!(err(&deep).contains("nested more than 64 levels"));
    let ok = format!("a: {}1{}", "[".repeat(64), "]".repeat(64));
    parse(&ok);
    let limited = ParseOptions::new()
        .max_nesting(2)
        .parse_str("a: [[[1]]]", None);
    assert!(limited
        .unwrap_err()
        .to_string()
        .contains("1:6: arrays and blocks are nested more than 2"));
}

#[test]
fn crlf_line_ends() {
    // Verified: a CRLF file with a block parses the same in nats-server.
    let map = parse(
        "server_name: crlf\r\nmax_connections: 7\r\ncluster {\r\n name: c\r\n port: -1\r\n}\r\n",
    );
    assert_eq!(map.get("server_name").unwrap().value, s("crlf"));
    assert_eq!(map.get("max_connections").unwrap().value, Value::Integer(7));
    let c = map.get("cluster").unwrap().as_map().unwrap();
    assert_eq!(c.get("name").unwrap().value, s("c"));
}

#[test]
fn byte_order_mark_is_skipped() {
    assert_eq!(val("\u{feff}port: 1", "port"), Value::Integer(1));
}

fn one(text: &str) -> Spanned<Value> {
    parse(text).get("k").unwrap().clone()
}

#[test]
fn typed_accessors() {
    assert_eq!(one("k: x").as_str().unwrap(), "x");
    assert_eq!(one("k: 3").as_i64().unwrap(), 3);
    assert_eq!(one("k: 3").as_f64().unwrap(), 3.0);
    assert_eq!(one("k: 0.5").as_f64().unwrap(), 0.5);
    assert!(one("k: yes").as_bool().unwrap());
    assert_eq!(one("k: 1MB").as_size_bytes().unwrap(), 1 << 20);
    assert_eq!(one("k: \"1MB\"").as_size_bytes().unwrap(), 1 << 20);
    assert_eq!(one("k: \"1k\"").as_size_bytes().unwrap(), 1000);
    // Quoted K/M/G/T sizes are powers of 1024, as nats-server reads jetstream max_mem: "1G".
    assert_eq!(one("k: \"1G\"").as_size_bytes().unwrap(), 1 << 30);
    assert_eq!(one("k: 1G").as_size_bytes().unwrap(), 1_000_000_000);
    assert_eq!(
        one("k: \"500ms\"").as_duration().unwrap(),
        Duration::from_millis(500)
    );
    assert_eq!(
        one("k: 2016-05-04T18:53:41Z").as_datetime().unwrap(),
        "2016-05-04T18:53:41Z"
    );
    assert_eq!(one("k: [1]").as_array().unwrap().len(), 1);
    assert_eq!(one("k { a: 1 }").as_map().unwrap().len(), 1);
}

#[test]
fn accessor_errors_are_positioned_and_readable() {
    let text = "port: 4222\nmax_payload: true\nping: \"2x\"\nsize: -1\nname: 5";
    let map = parse(text);
    let e = map.get("max_payload").unwrap().as_size_bytes().unwrap_err();
    assert_eq!(
        e.to_string(),
        "<string>:2:14: expected a size such as 1MB, found a boolean"
    );
    let e = e.with_key("max_payload");
    assert_eq!(
        e.to_string(),
        "<string>:2:14: max_payload: expected a size such as 1MB, found a boolean"
    );
    assert!(matches!(e, ConfError::Type { .. }));
    let e = map
        .get("ping")
        .unwrap()
        .as_duration()
        .unwrap_err()
        .with_key("ping_interval");
    assert_eq!(
        e.to_string(),
        "<string>:3:7: ping_interval: unknown unit \"x\" in duration \"2x\" (units are ns, us, ms, s, m, h) (write durations like \"2m\", \"1h30m\" or \"500ms\")"
    );
    let e = map.get("size").unwrap().as_size_bytes().unwrap_err();
    assert_eq!(
        e.to_string(),
        "<string>:4:7: size must not be negative, found -1"
    );
    assert!(map.get("size").unwrap().as_duration().is_err());
    let e = map.get("name").unwrap().as_str().unwrap_err();
    assert_eq!(
        e.to_string(),
        "<string>:5:7: expected a string, found an integer"
    );
    assert!(map
        .get("port")
        .unwrap()
        .as_bool()
        .unwrap_err()
        .to_string()
        .contains("expected a boolean"));
    assert!(map
        .get("port")
        .unwrap()
        .as_map()
        .unwrap_err()
        .to_string()
        .contains("expected a block"));
    assert!(map
        .get("port")
        .unwrap()
        .as_array()
        .unwrap_err()
        .to_string()
        .contains("expected an array"));
}

#[test]
fn parse_str_default_api() {
    let map = parse_str("a: 1", None).unwrap();
    assert_eq!(
        map.iter()
            .map(|(k, v)| (k, v.as_i64().unwrap()))
            .collect::<Vec<_>>(),
        [("a", 1)]
    );
}
