//! A located YAML tree. Built from saphyr-parser's events rather than a
//! generic value type, because the spec reader needs what those discard:
//! the position of every node, mapping entries in file order, and
//! duplicate keys (reported, never silently merged).

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span as YSpan};

use super::error::{Diagnostic, Pos, Span};

/// One YAML node with where it is; its text is borrowed from the file
/// where it can be.
#[derive(Debug, Clone)]
pub struct Node<'s> {
    pub kind: NodeKind<'s>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum NodeKind<'s> {
    /// A scalar's text; `plain` is false for quoted and block scalars and
    /// for explicitly tagged ones, which are always strings.
    Scalar {
        text: Cow<'s, str>,
        plain: bool,
    },
    Seq(Box<[Node<'s>]>),
    /// Entries in file order, duplicates already removed.
    Map(Box<[(Node<'s>, Node<'s>)]>),
}

/// What a plain scalar means under the YAML 1.2 core schema.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
}

impl Node<'_> {
    /// The scalar's meaning: quoted text is always a string.
    pub fn resolve(&self) -> Option<Resolved<'_>> {
        let NodeKind::Scalar { text, plain } = &self.kind else {
            return None;
        };
        if !plain {
            return Some(Resolved::Str(text));
        }
        Some(resolve_plain(text))
    }

    /// A short description for error messages.
    pub fn describe(&self) -> String {
        match &self.kind {
            NodeKind::Scalar { text, plain } => match (plain, resolve_plain(text)) {
                (true, Resolved::Null) => "null".to_string(),
                _ => format!("`{text}`"),
            },
            NodeKind::Seq(_) => "a list".to_string(),
            NodeKind::Map(_) => "a mapping".to_string(),
        }
    }
}

/// YAML 1.2 core schema resolution of a plain scalar.
pub fn resolve_plain(text: &str) -> Resolved<'_> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        "true" | "True" | "TRUE" => return Resolved::Bool(true),
        "false" | "False" | "FALSE" => return Resolved::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Resolved::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        _ => {}
    }
    let digits = |s: &str, radix: u32| !s.is_empty() && s.chars().all(|c| c.is_digit(radix));
    if let Some(hex) = text.strip_prefix("0x")
        && digits(hex, 16)
        && let Ok(v) = i64::from_str_radix(hex, 16)
    {
        return Resolved::Int(v);
    }
    if let Some(oct) = text.strip_prefix("0o")
        && digits(oct, 8)
        && let Ok(v) = i64::from_str_radix(oct, 8)
    {
        return Resolved::Int(v);
    }
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits(unsigned, 10)
        && let Ok(v) = text.parse::<i64>()
    {
        return Resolved::Int(v);
    }
    let is_float_syntax = {
        let (mantissa, exp) = match unsigned.find(['e', 'E']) {
            Some(i) => (&unsigned[..i], Some(&unsigned[i + 1..])),
            None => (unsigned, None),
        };
        let mantissa_ok = match mantissa.split_once('.') {
            Some((a, b)) => {
                (digits(a, 10) || a.is_empty())
                    && (digits(b, 10) || b.is_empty())
                    && !(a.is_empty() && b.is_empty())
            }
            None => digits(mantissa, 10),
        };
        let exp_ok = exp.is_none_or(|e| digits(e.strip_prefix(['-', '+']).unwrap_or(e), 10));
        mantissa_ok && exp_ok
    };
    if is_float_syntax && let Ok(v) = text.parse::<f64>() {
        return Resolved::Float(v);
    }
    Resolved::Str(text)
}

/// A position as 32-bit numbers (the tree keeps two per node); files are
/// far smaller than 4 G lines or columns.
fn pos(line: usize, col: usize) -> Pos {
    Pos {
        line: u32::try_from(line).unwrap_or(u32::MAX),
        column: u32::try_from(col + 1).unwrap_or(u32::MAX),
    }
}

fn span(s: &YSpan) -> Span {
    Span {
        start: pos(s.start.line(), s.start.col()),
        end: pos(s.end.line(), s.end.col()),
    }
}

/// A mapping under construction: its entries, the key waiting for its
/// value, and the keys seen so far (to find duplicates in constant time).
struct MapFrame<'s> {
    start: Span,
    anchor: usize,
    entries: Vec<(Node<'s>, Node<'s>)>,
    pending: Option<(Node<'s>, usize)>,
    seen: HashMap<String, Pos>,
    size: usize,
}

enum Frame<'s> {
    Seq(Span, usize, Vec<Node<'s>>, usize),
    Map(MapFrame<'s>),
}

/// The most nodes aliases may add to a document. Anchors and aliases let
/// a file share a small part (a column definition used by many tables);
/// a few hundred bytes of nested aliases can otherwise stand for billions
/// of nodes (the "billion laughs").
pub const MAX_ALIAS_NODES: usize = 100_000;

/// The largest target file read, in bytes.
pub const MAX_FILE_BYTES: usize = 32 * 1024 * 1024;

/// Parses one YAML document. `Ok(None)` for an empty file. Syntax errors
/// stop the parse (the parser cannot go on after one); duplicate keys are
/// collected and the parse goes on without the later entry. Time and
/// memory grow linearly with the file; aliases may add at most
/// `MAX_ALIAS_NODES` nodes.
pub fn parse(text: &str) -> Result<(Option<Node<'_>>, Vec<Diagnostic>), Diagnostic> {
    if text.len() > MAX_FILE_BYTES {
        return Err(Diagnostic::new(
            None,
            format!(
                "the file is {} MB; target files may be at most {} MB",
                text.len() / (1024 * 1024),
                MAX_FILE_BYTES / (1024 * 1024)
            ),
        )
        .help("split the schema into several files, or dump only some schemas with `bellows dump --schema NAME`"));
    }
    let mut diags = Vec::new();
    let mut anchors: HashMap<usize, (Node<'_>, usize)> = HashMap::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Node<'_>> = None;
    let mut documents = 0usize;
    let mut alias_nodes = 0usize;
    for item in Parser::new_from_str(text) {
        let (event, ys) = item.map_err(|e| {
            let at = pos(e.marker().line(), e.marker().col());
            Diagnostic::new(
                Some(Span { start: at, end: at }),
                format!("invalid YAML: {}", e.info()),
            )
            .help("check the indentation, and that every `{`, `[` and quote is closed; the mistake may be on an earlier line")
        })?;
        let sp = span(&ys);
        // A finished node, its anchor (0: none) and how many nodes it holds.
        let done: Option<(Node<'_>, usize, usize)> = match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(Diagnostic::new(
                        Some(sp),
                        "a target file holds one YAML document; found a second one",
                    )
                    .help("remove the `---` separator, or split the schema into separate files"));
                }
                None
            }
            Event::Scalar(value, style, anchor, tag) => {
                let plain = style == ScalarStyle::Plain && tag.is_none();
                Some((
                    Node {
                        kind: NodeKind::Scalar { text: value, plain },
                        span: sp,
                    },
                    anchor,
                    1,
                ))
            }
            Event::Alias(id) => match anchors.get(&id) {
                Some((n, size)) => {
                    alias_nodes += size;
                    if alias_nodes > MAX_ALIAS_NODES {
                        return Err(Diagnostic::new(
                            Some(sp),
                            format!(
                                "the aliases in this file expand it by more than {MAX_ALIAS_NODES} nodes"
                            ),
                        )
                        .help("anchors and aliases may share small parts of a target file (a column definition, say), not multiply large ones; write the parts out"));
                    }
                    Some((
                        Node {
                            kind: n.kind.clone(),
                            span: sp,
                        },
                        0,
                        *size,
                    ))
                }
                None => {
                    return Err(Diagnostic::new(Some(sp), "alias to an unknown anchor"));
                }
            },
            Event::SequenceStart(anchor, _) => {
                stack.push(Frame::Seq(sp, anchor, Vec::new(), 1));
                None
            }
            Event::MappingStart(anchor, _) => {
                stack.push(Frame::Map(MapFrame {
                    start: sp,
                    anchor,
                    entries: Vec::new(),
                    pending: None,
                    seen: HashMap::new(),
                    size: 1,
                }));
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq(start, anchor, items, size)) => Some((
                    Node {
                        kind: NodeKind::Seq(items.into_boxed_slice()),
                        span: Span {
                            start: start.start,
                            end: sp.end,
                        },
                    },
                    anchor,
                    size,
                )),
                _ => {
                    return Err(Diagnostic::new(
                        Some(sp),
                        "invalid YAML: unbalanced sequence",
                    ));
                }
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map(m)) => Some((
                    Node {
                        kind: NodeKind::Map(m.entries.into_boxed_slice()),
                        span: Span {
                            start: m.start.start,
                            end: sp.end,
                        },
                    },
                    m.anchor,
                    m.size,
                )),
                _ => {
                    return Err(Diagnostic::new(
                        Some(sp),
                        "invalid YAML: unbalanced mapping",
                    ));
                }
            },
            _ => None,
        };
        let Some((node, anchor, size)) = done else {
            continue;
        };
        if anchor != 0 {
            anchors.insert(anchor, (node.clone(), size));
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq(_, _, items, total)) => {
                items.push(node);
                *total += size;
            }
            Some(Frame::Map(m)) => match m.pending.take() {
                None => m.pending = Some((node, size)),
                Some((key, key_size)) => {
                    let text = match &key.kind {
                        NodeKind::Scalar { text, .. } => Some(text.to_string()),
                        _ => None,
                    };
                    match text.as_ref().and_then(|t| m.seen.get(t)) {
                        Some(first) => diags.push(
                            Diagnostic::new(
                                Some(key.span),
                                format!("duplicate key {}", key.describe()),
                            )
                            .help(format!(
                                "it is first defined at line {}, column {}; each name may appear once",
                                first.line, first.column
                            )),
                        ),
                        None => {
                            if let Some(t) = text {
                                m.seen.insert(t, key.span.start);
                            }
                            m.size += key_size + size;
                            m.entries.push((key, node));
                        }
                    }
                }
            },
        }
    }
    Ok((root, diags))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_schema_resolution() {
        assert_eq!(resolve_plain("~"), Resolved::Null);
        assert_eq!(resolve_plain("True"), Resolved::Bool(true));
        assert_eq!(resolve_plain("yes"), Resolved::Str("yes"));
        assert_eq!(resolve_plain("-12"), Resolved::Int(-12));
        assert_eq!(resolve_plain("0x1F"), Resolved::Int(31));
        assert_eq!(resolve_plain("1.5e3"), Resolved::Float(1500.0));
        assert_eq!(resolve_plain("1.2.3"), Resolved::Str("1.2.3"));
        assert_eq!(resolve_plain("now()"), Resolved::Str("now()"));
    }

    #[test]
    fn duplicate_keys_are_reported_with_both_places() {
        let (root, diags) = parse("a: 1\nb: 2\na: 3\n").unwrap();
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].span.unwrap().start, Pos { line: 3, column: 1 });
        assert!(
            diags[0]
                .help
                .as_deref()
                .unwrap()
                .contains("line 1, column 1")
        );
        match root.unwrap().kind {
            NodeKind::Map(e) => assert_eq!(e.len(), 2),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_alias_bomb_is_stopped_with_a_located_error() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
        let mut prev = 'a';
        for n in "bcdefghi".chars() {
            let refs = vec![format!("*{prev}"); 9].join(", ");
            text.push_str(&format!("{n}: &{n} [{refs}]\n"));
            prev = n;
        }
        assert!(text.len() < 400);
        let err = parse(&text).expect_err("too many nodes");
        assert!(err.message.contains("aliases"), "{}", err.message);
        assert!(err.span.is_some());
        // Sharing a small definition many times is fine.
        let mut ok = String::from("defs: &id { type: bigint }\ntables:\n");
        for i in 0..2000 {
            ok.push_str(&format!("  t{i}: {{ columns: {{ id: *id }} }}\n"));
        }
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn positions_are_one_based() {
        let (root, _) = parse("x:\n  - foo\n").unwrap();
        let NodeKind::Map(e) = root.unwrap().kind else {
            panic!()
        };
        let NodeKind::Seq(items) = &e[0].1.kind else {
            panic!()
        };
        assert_eq!(items[0].span.start, Pos { line: 2, column: 5 });
    }
}
