//! The subset reader against the general one: whatever the subset reads,
//! the general reader must read without complaint into the same tree.

use std::path::Path;

use proptest::prelude::*;

use super::parse;
use crate::spec::tree::{self, Node, NodeKind};

/// Why `a` (the subset's) and `b` (the general reader's) differ, if they
/// do: structure, scalar text and style, and where each scalar on one
/// line starts. (Messages quote the general reader's positions: a file
/// with anything to say is read again by it.)
fn differ(a: &Node, b: &Node, at: &str) -> Option<String> {
    match (&a.kind, &b.kind) {
        (
            NodeKind::Scalar { text, plain },
            NodeKind::Scalar {
                text: t2,
                plain: p2,
            },
        ) => {
            if text != t2 || plain != p2 {
                return Some(format!(
                    "{at}: {text:?} (plain {plain}) vs {t2:?} (plain {p2})"
                ));
            }
            let one_line = !text.is_empty() && !text.contains('\n');
            (one_line && a.span.start != b.span.start)
                .then(|| format!("{at}: {text:?} at {:?} vs {:?}", a.span.start, b.span.start))
        }
        (NodeKind::Seq(x), NodeKind::Seq(y)) => {
            if x.len() != y.len() {
                return Some(format!("{at}: {} items vs {}", x.len(), y.len()));
            }
            x.iter()
                .zip(y.iter())
                .enumerate()
                .find_map(|(i, (x, y))| differ(x, y, &format!("{at}[{i}]")))
        }
        (NodeKind::Map(x), NodeKind::Map(y)) => {
            if x.len() != y.len() {
                return Some(format!("{at}: {} entries vs {}", x.len(), y.len()));
            }
            x.iter().zip(y.iter()).enumerate().find_map(|(i, (x, y))| {
                differ(&x.0, &y.0, &format!("{at} key {i}"))
                    .or_else(|| differ(&x.1, &y.1, &format!("{at} value {i}")))
            })
        }
        _ => Some(format!("{at}: {:?} vs {:?}", a.kind, b.kind)),
    }
}

/// Whether the subset read `text` (and, if it did, that the general
/// reader agrees); the disagreement otherwise.
fn agree(text: &str) -> Result<bool, String> {
    let Some(quick) = parse(text) else {
        return Ok(false);
    };
    match tree::parse(text) {
        Ok((Some(general), diags)) if diags.is_empty() => match differ(&quick, &general, "root") {
            None => Ok(true),
            Some(why) => Err(format!("{why}\nin:\n{text}")),
        },
        other => Err(format!(
            "the subset read a text the general reader does not: {other:?}\nin:\n{text}"
        )),
    }
}

fn yaml_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(p);
        }
    }
}

#[test]
fn every_yaml_file_in_the_repository_reads_the_same() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["schemas", "tests"] {
        yaml_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 300, "found only {} files", files.len());
    let mut read = 0;
    let mut valid = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        match agree(&text) {
            Ok(true) => read += 1,
            Ok(false) => {}
            Err(why) => panic!("{}: {why}", f.display()),
        }
        if matches!(tree::parse(&text), Ok((Some(_), d)) if d.is_empty()) {
            valid += 1;
        }
    }
    // The subset is what target files are written in: nearly every file
    // the general reader takes, it takes too.
    assert!(
        read * 100 >= valid * 95,
        "the subset read {read} of {valid} valid files"
    );
}

#[test]
fn what_dump_writes_is_in_the_subset() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    yaml_files(&root.join("schemas"), &mut files);
    let mut written = 0;
    for f in &files {
        let Ok(schema) = crate::spec::read_file(f) else {
            continue;
        };
        let text = crate::spec::to_yaml(&schema, crate::spec::WriteOptions::default());
        if text.is_empty() {
            // An empty schema: nothing to read.
            continue;
        }
        assert_eq!(
            agree(&text),
            Ok(true),
            "{}: its dump is not in the subset",
            f.display()
        );
        written += 1;
    }
    assert!(written > 200, "only {written} files read");
}

#[test]
fn edges_agree() {
    let cases = [
        "a: 1\n",
        "a:\n",
        "a:\nb: 2\n",
        "a:\n- x\n- y\nb: 1\n",
        "a:\n  - x\n  -\n  - y: 1\n    z: 2\n",
        "- a\n- - b\n",
        "- a: 1\n  b: [x, {c: d}]\n- e\n",
        "a: 'it''s' # c\nb: \"q\\\"\\u00e9\\n\"\n",
        "a: x # comment\n# whole line\n  # indented comment\nb: y#z\n",
        "a: |\n  one\n\n  two\n\nb: |-\n    x\n   y\n",
        "a: |\n  one\n # trailing\nb: 1\n",
        "a: |\n   lead\n  less\n",
        "a: |\n\n  after empty\n",
        "k: v\n  w\n",
        "a:\n  b: 1\n c: 2\n",
        "a: b: c\n",
        "a: [1, 2,]\n",
        "a: {x: 1, x: 2}\n",
        "a: 1\na: 2\n",
        "a: &x 1\nb: *x\n",
        "a: -1\nb: [-2, -x]\nc: - d\n",
        "\"a b\": 1\n'c': 2\n",
        "a: http://x:80/y\nb: [a:b, c]\n",
        "a: {b: [1, [2, 3]], c: {}}\nd: []\n",
        "a: é\nb: [ü, \"ä\"]\n",
        "a:\tb\n",
        "a: 1\n---\nb: 2\n",
        "a: \"\\x41\\q\"\n",
        "a: x\n  - y\n",
        "a: [x\n  , y]\n",
        "? a\n: b\n",
        "a: !!str 1\n",
        "a: >\n  folded\n",
        "  a: 1\n  b: 2\n",
        "a:\n    - x\n  b: 1\n",
        "- x\ny: 1\n",
        "a: |\n  x\n  \n  y\n",
        "a: {b: c d, e: 'f g'}\n",
        "a: [b c, 'd']\n",
        "a: 1 #\nb: 2\n",
        "k2: |\n  k: x\n",
        "a   : 1\n\"b\" : 2\n",
        "a: x\u{2028}y\n",
        "a: \"tab\there\"\nb: |\n  \tindented by a tab\n",
        "-\n  a: 1\n-\n- b\n",
        "a: # c\n  b: 1\n",
        "- a: b\n    c\n",
        "a: --x\nb: -#\n",
        "a: |\n  x",
        "a: |-\n  x",
        "a: |\n  x\n\n",
        "a: x",
        "a: 'x'",
        "- [a, b]",
    ];
    let mut read = 0;
    for c in cases {
        if agree(c).unwrap_or_else(|e| panic!("{e}")) {
            read += 1;
        } else {
            eprintln!("declined: {c:?}");
        }
    }
    assert!(read >= 18, "the subset read only {read} of the cases");
}

/// A value to write as YAML.
#[derive(Debug, Clone)]
enum V {
    S(String),
    Seq(Vec<V>),
    Map(Vec<(String, V)>),
}

fn value() -> impl Strategy<Value = V> {
    let text = prop::sample::select(vec![
        "x",
        "a b",
        "1",
        "-1",
        "~",
        "",
        "it's",
        "say \"hi\"",
        "a: b",
        "a #c",
        "a#c",
        "http://h:1/p",
        "é ü",
        "-x",
        "- x",
        "[a]",
        "{b}",
        "a,b",
        "true",
        "null",
        "0x1F",
        "1.5",
        " lead",
        "trail ",
        "two\nlines",
        "two\nlines\n",
        "tab\there",
        "back\\slash",
        "?q",
        ":c",
        "%p",
        "@a",
        "`b",
        "&a",
        "*a",
        "!t",
        "|",
        ">",
        "#",
        "'",
        "\"",
    ])
    .prop_map(|s| V::S(s.to_string()));
    text.prop_recursive(4, 40, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(V::Seq),
            prop::collection::vec(
                (
                    prop::sample::select(vec!["k", "a b", "x", "é", "k:v", "1", "\"q\"", "k"]),
                    inner
                ),
                0..4
            )
            .prop_map(|es| V::Map(es.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        ]
    })
}

/// How a value is written: the choices are drawn from `style`.
fn scalar(s: &str, style: u8) -> String {
    match style % 3 {
        0 => s.to_string(),
        1 => format!("'{}'", s.replace('\'', "''")),
        _ => format!(
            "\"{}\"",
            s.replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n")
        ),
    }
}

fn flow(v: &V, style: &mut impl Iterator<Item = u8>) -> String {
    match v {
        V::S(s) => scalar(s, style.next().unwrap_or(0)),
        V::Seq(items) => {
            let items: Vec<String> = items.iter().map(|i| flow(i, style)).collect();
            format!("[{}]", items.join(", "))
        }
        V::Map(es) => {
            let es: Vec<String> = es
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}: {}",
                        scalar(k, style.next().unwrap_or(0)),
                        flow(v, style)
                    )
                })
                .collect();
            if es.is_empty() {
                "{}".to_string()
            } else {
                format!("{{ {} }}", es.join(", "))
            }
        }
    }
}

fn block(v: &V, indent: usize, style: &mut impl Iterator<Item = u8>, out: &mut String) {
    let pad = " ".repeat(indent);
    let step = 2 + 2 * usize::from(style.next().unwrap_or(0).is_multiple_of(4));
    let child = |v: &V, style: &mut dyn Iterator<Item = u8>, out: &mut String, compact: bool| {
        let mut style = style;
        match v {
            V::Seq(i) if !i.is_empty() && style.next().unwrap_or(0).is_multiple_of(2) => {
                out.push('\n');
                block(
                    v,
                    if compact { indent } else { indent + step },
                    &mut style,
                    out,
                );
            }
            V::Map(e) if !e.is_empty() && style.next().unwrap_or(0).is_multiple_of(2) => {
                out.push('\n');
                block(v, indent + step, &mut style, out);
            }
            V::S(s) if s.contains('\n') && style.next().unwrap_or(0).is_multiple_of(2) => {
                out.push_str(if s.ends_with('\n') { " |\n" } else { " |-\n" });
                for l in s.trim_end_matches('\n').split('\n') {
                    out.push_str(&" ".repeat(indent + step));
                    out.push_str(l);
                    out.push('\n');
                }
            }
            _ => {
                out.push(' ');
                out.push_str(&flow(v, &mut style));
                if style.next().unwrap_or(0).is_multiple_of(5) {
                    out.push_str(" # note");
                }
                out.push('\n');
            }
        }
    };
    match v {
        V::Seq(items) => {
            for i in items {
                out.push_str(&pad);
                out.push('-');
                child(i, style, out, false);
            }
        }
        V::Map(es) => {
            for (k, v) in es {
                out.push_str(&pad);
                out.push_str(&scalar(k, style.next().unwrap_or(0)));
                out.push(':');
                child(v, style, out, true);
            }
        }
        V::S(_) => out.push_str(&flow(v, style)),
    }
}

/// An edit that may break the text: where (a fraction), and what.
fn edit() -> impl Strategy<Value = Option<(f64, &'static str, bool)>> {
    prop::option::weighted(
        0.5,
        (
            0.0..1.0f64,
            prop::sample::select(vec![
                ":", "- ", "#", "'", "\"", "[", "]", "{", "}", "\t", " ", "\n", "  ", "|", ",",
                "\\", "&",
            ]),
            any::<bool>(),
        ),
    )
}

proptest! {
    // A failure prints its case; none is kept in a file beside the sources.
    #![proptest_config(ProptestConfig {
        cases: 3000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn generated_texts_agree(
        v in value(),
        styles in prop::collection::vec(any::<u8>(), 64),
        change in edit(),
    ) {
        let mut text = String::new();
        let root = match v {
            V::S(s) => V::Map(vec![("k".into(), V::S(s))]),
            other => other,
        };
        block(&root, 0, &mut styles.into_iter().cycle(), &mut text);
        if let Some((at, what, delete)) = change {
            let mut i = ((text.len() as f64) * at) as usize;
            while !text.is_char_boundary(i) {
                i -= 1;
            }
            if delete && i < text.len() {
                let c = text[i..].chars().next().map_or(1, char::len_utf8);
                text.replace_range(i..i + c, "");
            } else {
                text.insert_str(i, what);
            }
        }
        if let Err(e) = agree(&text) {
            prop_assert!(false, "{}", e);
        }
    }
}
