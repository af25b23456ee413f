//! `include` and `$VARIABLE`. Behaviour was checked against nats-server 2.9.10 (files in a
//! temporary directory, values read back from /varz) unless a comment says otherwise.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use weir_conf::{parse_file, ConfError, Map, ParseOptions, Value};

/// A scratch directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "weir-conf-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.0.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn no_env() -> ParseOptions {
    ParseOptions::new().without_env()
}

fn file(path: &Path) -> Map {
    no_env()
        .parse_file(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn str_of(map: &Map, key: &str) -> String {
    map.get(key).unwrap().as_str().unwrap().to_string()
}

#[test]
fn include_forms_resolve_relative_to_the_including_file() {
    let dir = TempDir::new();
    dir.write("sub/a.conf", "server_name: from_inc\n");
    for line in [
        "include sub/a.conf",
        "include \"sub/a.conf\"",
        "include 'sub/a.conf'",
        "include ./sub/a.conf",
        "INCLUDE sub/a.conf",
        "include sub/a.conf # comment",
        "include\tsub/a.conf;",
    ] {
        let main = dir.write("main.conf", line);
        assert_eq!(str_of(&file(&main), "server_name"), "from_inc", "{line}");
    }
    // A nested include is relative to the file it is written in.
    dir.write("sub/c.conf", "include deeper/b.conf\n");
    dir.write("sub/deeper/b.conf", "server_name: from_deeper\n");
    let main = dir.write("main.conf", "include sub/c.conf\n");
    assert_eq!(str_of(&file(&main), "server_name"), "from_deeper");
}

#[test]
fn included_keys_merge_where_the_include_is() {
    let dir = TempDir::new();
    let inc = dir.write("a.conf", "server_name: from_inc\nport: 1");
    let main = dir.write(
        "main.conf",
        "server_name: before\ninclude a.conf\nport: 2\ncluster {\n  include \"clu.conf\"\n}\nleaf { include clu.conf }",
    );
    dir.write("clu.conf", "name: inmap, port: -1");
    let map = file(&main);
    assert_eq!(str_of(&map, "server_name"), "from_inc");
    assert_eq!(map.get("port").unwrap().value, Value::Integer(2));
    for block in ["cluster", "leaf"] {
        let m = map.get(block).unwrap().as_map().unwrap();
        assert_eq!(str_of(m, "name"), "inmap");
        assert_eq!(m.get("port").unwrap().value, Value::Integer(-1));
    }
    // Values from an included file carry that file's positions.
    let name = map.get("server_name").unwrap();
    assert_eq!(name.pos.file.as_deref(), Some(&inc));
    assert_eq!((name.pos.line, name.pos.column), (1, 14));
}

#[test]
fn include_keyword_needs_whitespace() {
    let dir = TempDir::new();
    dir.write("a.conf", "x: 1");
    // `include: a.conf` is an ordinary key (nats-server then reports an unknown field).
    let main = dir.write("main.conf", "include: a.conf");
    assert_eq!(str_of(&file(&main), "include"), "a.conf");
    // `include = x` tries to include a file called `=`, as nats-server does.
    let main = dir.write("main.conf", "include = \"a.conf\"");
    let e = no_env().parse_file(&main).unwrap_err().to_string();
    assert!(
        e.contains("main.conf:1:1: cannot read included file '='"),
        "{e}"
    );
    let main = dir.write("main.conf", "include\n");
    let e = no_env().parse_file(&main).unwrap_err().to_string();
    assert!(
        e.contains("main.conf:1:8: expected a file name after include, found a new line"),
        "{e}"
    );
}

#[test]
fn included_files_do_not_see_the_includers_variables() {
    let dir = TempDir::new();
    dir.write("usevar.conf", "server_name: $PARENTVAR\n");
    dir.write("defvar.conf", "INCVAR: incval\n");
    let main = dir.write("main.conf", "PARENTVAR: pv\ninclude usevar.conf\n");
    let e = no_env().parse_file(&main).unwrap_err();
    assert!(matches!(&e, ConfError::UndefinedVariable { name, .. } if name == "PARENTVAR"));
    assert!(
        e.to_string()
            .contains("usevar.conf:1:14: variable '$PARENTVAR' is not defined"),
        "{e}"
    );
    // But the includer sees what the included file defined.
    let main = dir.write("main.conf", "include defvar.conf\nserver_name: $INCVAR\n");
    let map = file(&main);
    assert_eq!(str_of(&map, "server_name"), "incval");
    assert!(map.get_entry("INCVAR").unwrap().used_as_variable);
}

#[test]
fn include_errors_are_positioned() {
    let dir = TempDir::new();
    let main = dir.write("main.conf", "port: 1\n  include missing.conf\n");
    let e = no_env().parse_file(&main).unwrap_err();
    assert!(matches!(e, ConfError::Include { .. }));
    let msg = e.to_string();
    assert!(
        msg.starts_with(&format!(
            "{}:2:3: cannot read included file 'missing.conf'",
            main.display()
        )),
        "{msg}"
    );
    // A syntax error inside an included file names that file.
    let bad = dir.write("bad.conf", "a: 1\nb: [\n");
    let main = dir.write("main.conf", "include bad.conf\n");
    let msg = no_env().parse_file(&main).unwrap_err().to_string();
    assert_eq!(
        msg,
        format!("{}:2:4: array '[' is never closed with ']'", bad.display())
    );
    // An include cannot be an array element (nats-server rejects it too).
    let main = dir.write("main.conf", "t: [ include bad.conf ]\n");
    assert!(no_env().parse_file(&main).is_err());
}

#[test]
fn include_cycles_and_depth_are_detected() {
    let dir = TempDir::new();
    // nats-server 2.9.10 recurses until it crashes on these.
    let selfinc = dir.write("self.conf", "include self.conf\n");
    let msg = no_env().parse_file(&selfinc).unwrap_err().to_string();
    assert!(msg.contains("self.conf:1:1: include cycle:"), "{msg}");
    dir.write("x.conf", "a: 1\ninclude y.conf\n");
    dir.write("y.conf", "include ./x.conf\n");
    let main = dir.write("main.conf", "include x.conf\n");
    let msg = no_env().parse_file(&main).unwrap_err().to_string();
    assert!(
        msg.contains("y.conf:1:1: include cycle:") && msg.contains("x.conf"),
        "{msg}"
    );

    // A chain main -> f1 -> ... -> f11 is one level too deep.
    for i in 1..=11 {
        dir.write(&format!("f{i}.conf"), &format!("include f{}.conf\n", i + 1));
    }
    dir.write("f12.conf", "end: 1\n");
    let main = dir.write("main.conf", "include f1.conf\n");
    let msg = no_env().parse_file(&main).unwrap_err().to_string();
    assert!(
        msg.contains("f10.conf:1:1: includes are nested more than 10 levels deep"),
        "{msg}"
    );
    let main = dir.write("main.conf", "include f3.conf\n");
    assert_eq!(file(&main).get("end").unwrap().value, Value::Integer(1));
    let shallow = no_env().max_include_depth(1).parse_file(&main);
    assert!(shallow.is_err());
}

#[test]
fn absolute_include_paths_are_used_as_written() {
    // Deliberate: nats-server 2.9.10 joins them onto the includer's directory and fails.
    let dir = TempDir::new();
    let inc = dir.write("abs.conf", "server_name: abs\n");
    let main = dir.write("sub/main.conf", &format!("include \"{}\"\n", inc.display()));
    assert_eq!(str_of(&file(&main), "server_name"), "abs");
}

#[test]
fn parse_str_resolves_includes_against_its_origin() {
    let dir = TempDir::new();
    dir.write("a.conf", "x: 1\n");
    let origin = dir.0.join("virtual.conf");
    let map = no_env().parse_str("include a.conf", Some(&origin)).unwrap();
    assert_eq!(map.get("x").unwrap().value, Value::Integer(1));
}

#[test]
fn missing_top_level_file() {
    let e = parse_file(Path::new("/nonexistent/weir/nats.conf")).unwrap_err();
    assert!(matches!(e, ConfError::Io { .. }));
    assert!(e
        .to_string()
        .starts_with("/nonexistent/weir/nats.conf: cannot read configuration file:"));
}

#[test]
fn invalid_utf8_is_reported_with_position() {
    let dir = TempDir::new();
    let path = dir.0.join("bin.conf");
    std::fs::write(&path, b"a: 1\nb: x\xffy\n").unwrap();
    let msg = no_env().parse_file(&path).unwrap_err().to_string();
    assert_eq!(
        msg,
        format!("{}:2:5: the file is not valid UTF-8 text", path.display())
    );
}

fn vars(text: &str) -> Result<Map, ConfError> {
    no_env().parse_str(text, None)
}

#[test]
fn variables_from_earlier_keys() {
    let map = vars("NAME: bar\nserver_name: $NAME\nport: $P\n").unwrap_err();
    assert_eq!(
        map.to_string(),
        "<string>:3:7: variable '$P' is not defined (neither by an earlier key in this or an enclosing block, nor in the environment)"
    );
    let map = vars("NAME: bar\nserver_name: $NAME\nN: 5\nmax: $N, list: [$N, $NAME]").unwrap();
    assert_eq!(str_of(&map, "server_name"), "bar");
    assert_eq!(map.get("max").unwrap().value, Value::Integer(5));
    assert_eq!(
        map.get("list").unwrap().as_array().unwrap()[1]
            .as_str()
            .unwrap(),
        "bar"
    );
    assert!(map.get_entry("NAME").unwrap().used_as_variable);
    assert!(!map.get_entry("server_name").unwrap().used_as_variable);
    // The value's position is the reference's.
    assert_eq!(map.get("server_name").unwrap().pos.line, 2);
    assert_eq!(map.get("server_name").unwrap().pos.column, 14);
}

#[test]
fn variable_lookup_rules() {
    // Case-sensitive, only earlier keys, as nats-server.
    assert!(vars("NAME: bar\nserver_name: $name").is_err());
    assert!(vars("server_name: $NAME\nNAME: bar").is_err());
    // Quoted or embedded `$` is literal.
    let map = vars("NAME: bar\na: \"$NAME\"\nb: a$b\nc: '$NAME'").unwrap();
    assert_eq!(str_of(&map, "a"), "$NAME");
    assert_eq!(str_of(&map, "b"), "a$b");
    assert_eq!(str_of(&map, "c"), "$NAME");
    // The name runs to the end of the unquoted word (`}` ends it, as in nats-server).
    let e = vars("NAME: bar\na: ${NAME}").unwrap_err();
    assert!(matches!(e, ConfError::UndefinedVariable { name, .. } if name == "{NAME"));
    let e = vars("NAME: bar\na: $NAME-x").unwrap_err();
    assert!(matches!(e, ConfError::UndefinedVariable { name, .. } if name == "NAME-x"));
    assert_eq!(str_of(&vars("N-X: bar\na: $N-X").unwrap(), "a"), "bar");
    assert!(
        matches!(vars("a: $").unwrap_err(), ConfError::UndefinedVariable { name, .. } if name.is_empty())
    );
}

#[test]
fn variables_in_blocks_see_enclosing_blocks_only() {
    let map = vars("NAME: top\ncluster { name: $NAME, port: -1 }\nc2 { NAME: inner, name: $NAME }")
        .unwrap();
    let c = map.get("cluster").unwrap().as_map().unwrap();
    assert_eq!(str_of(c, "name"), "top");
    let c2 = map.get("c2").unwrap().as_map().unwrap();
    assert_eq!(str_of(c2, "name"), "inner");
    // A key inside a block is not visible after the block.
    assert!(vars("cluster { NAME: bar }\nserver_name: $NAME").is_err());
    // Through arrays to the enclosing block, and within a block inside an array.
    let map = vars("U: bob\nusers: [ { user: $U, P: pw, password: $P } ]").unwrap();
    let user = map.get("users").unwrap().as_array().unwrap()[0]
        .as_map()
        .unwrap();
    assert_eq!(str_of(user, "user"), "bob");
    assert_eq!(str_of(user, "password"), "pw");
    // Blocks and arrays can be variables too.
    let map = vars("PERMS: { publish: [a, b] }\nuser: { permissions: $PERMS }").unwrap();
    let perms = map
        .get("user")
        .unwrap()
        .as_map()
        .unwrap()
        .get("permissions")
        .unwrap();
    assert_eq!(
        perms
            .as_map()
            .unwrap()
            .get("publish")
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

fn with_env(pairs: &[(&str, &str)]) -> ParseOptions {
    let env: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    ParseOptions::new().env_lookup(move |name| env.get(name).cloned())
}

#[test]
fn environment_values_are_parsed_as_values() {
    // As nats-server: the variable's text is read as if written after `key=`.
    let opts = with_env(&[
        ("T1", "hello"),
        ("T2", "1MB"),
        ("T3", "\"quoted str\""),
        ("T5", "[x, y]"),
        ("T6", "$T1"),
        ("T7", "{a: 1}"),
        ("T8", ""),
        ("T10", "yes"),
        ("T11", "2m"),
        ("LOCAL", "from env"),
    ]);
    let map = opts
        .parse_str(
            "a: $T1\nb: $T2\nc: $T3\nd: $T5\ne: $T6\nf: $T7\ng: $T8\nh: $T10\ni: $T11\nLOCAL: local\nj: $LOCAL",
            None,
        )
        .unwrap();
    assert_eq!(str_of(&map, "a"), "hello");
    assert_eq!(map.get("b").unwrap().value, Value::Integer(1 << 20));
    assert_eq!(str_of(&map, "c"), "quoted str");
    assert_eq!(map.get("d").unwrap().as_array().unwrap().len(), 2);
    assert_eq!(str_of(&map, "e"), "hello");
    let f = map.get("f").unwrap();
    assert_eq!(
        f.as_map().unwrap().get("a").unwrap().value,
        Value::Integer(1)
    );
    // Positions inside an environment value point at the reference.
    assert_eq!(f.as_map().unwrap().get("a").unwrap().pos, f.pos);
    assert_eq!((f.pos.line, f.pos.column), (6, 4));
    assert_eq!(str_of(&map, "g"), "");
    assert_eq!(map.get("h").unwrap().value, Value::Bool(true));
    assert_eq!(map.get("i").unwrap().value, Value::Integer(2_000_000));
    // A key defined earlier wins over the environment.
    assert_eq!(str_of(&map, "j"), "local");
}

#[test]
fn bad_environment_values() {
    let opts = with_env(&[
        ("T4", "a b"),
        ("LOOP", "$LOOP"),
        ("INC", "{ include x.conf }"),
    ]);
    let e = opts.parse_str("\nx: $T4", None).unwrap_err().to_string();
    assert_eq!(
        e,
        "<string>:2:4: environment variable $T4 (\"a b\") is not a valid value: expected a new line, ';' or ',' after the value, found 'b'"
    );
    // nats-server 2.9.10 recurses until it crashes on this one.
    let e = opts.parse_str("x: $LOOP", None).unwrap_err().to_string();
    assert!(
        e.starts_with("<string>:1:4: environment variable $LOOP"),
        "{e}"
    );
    assert!(e.contains("more than 8 levels deep"), "{e}");
    let e = opts.parse_str("x: $INC", None).unwrap_err().to_string();
    assert!(e.contains("include is not allowed"), "{e}");
}

#[test]
fn process_environment_is_the_default() {
    // Set a name no other test uses; std serialises its own env accesses.
    std::env::set_var("WEIR_CONF_TEST_PORT", "4333");
    let map = weir_conf::parse_str("port: $WEIR_CONF_TEST_PORT", None).unwrap();
    assert_eq!(map.get("port").unwrap().value, Value::Integer(4333));
    if let Ok(home) = std::env::var("HOME") {
        if !home.is_empty() && !home.contains(char::is_whitespace) {
            let map = weir_conf::parse_str("h: $HOME", None).unwrap();
            assert_eq!(str_of(&map, "h"), home);
        }
    }
    let e = no_env()
        .parse_str("port: $WEIR_CONF_TEST_PORT", None)
        .unwrap_err();
    assert!(matches!(e, ConfError::UndefinedVariable { .. }));
}

#[test]
fn variable_expansion_is_bounded() {
    // "Billion laughs": each line doubles... here multiplies by ten. nats-server would try.
    let mut text = String::from("L0: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n");
    for i in 1..8 {
        let refs = vec![format!("$L{}", i - 1); 10].join(", ");
        text.push_str(&format!("L{i}: [{refs}]\n"));
    }
    let e = vars(&text).unwrap_err().to_string();
    assert!(
        e.contains("variables expand to more than 1000000 values"),
        "{e}"
    );
    assert!(e.starts_with("<string>:6:"), "{e}");
    // Ordinary reuse is far below the limit.
    let map = vars("P: { publish: [a, b, c] }\nu1 { p: $P }\nu2 { p: $P }").unwrap();
    assert_eq!(map.len(), 3);
}
