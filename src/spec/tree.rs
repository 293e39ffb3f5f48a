//! A located YAML tree. Built from saphyr-parser's events rather than a
//! generic value type, because the spec reader needs what those discard:
//! the position of every node, mapping entries in file order, and
//! duplicate keys (reported, never silently merged).

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span as YSpan};

use super::error::{Diagnostic, Pos, Span};

/// One YAML node with where it is.
#[derive(Debug, Clone)]
pub struct Node {
    pub kind: NodeKind,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum NodeKind {
    /// A scalar's text; `plain` is false for quoted and block scalars and
    /// for explicitly tagged ones, which are always strings.
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    /// Entries in file order, duplicates already removed.
    Map(Vec<(Node, Node)>),
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

impl Node {
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

fn span(s: &YSpan) -> Span {
    Span {
        start: Pos {
            line: s.start.line(),
            column: s.start.col() + 1,
        },
        end: Pos {
            line: s.end.line(),
            column: s.end.col() + 1,
        },
    }
}

enum Frame {
    Seq(Span, usize, Vec<Node>),
    Map(Span, usize, Vec<(Node, Node)>, Option<Node>),
}

/// Parses one YAML document. `Ok(None)` for an empty file. Syntax errors
/// stop the parse (the parser cannot go on after one); duplicate keys are
/// collected and the parse goes on without the later entry.
pub fn parse(text: &str) -> Result<(Option<Node>, Vec<Diagnostic>), Diagnostic> {
    let mut diags = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Node> = None;
    let mut documents = 0usize;
    for item in Parser::new_from_str(text) {
        let (event, ys) = item.map_err(|e| {
            let at = Pos {
                line: e.marker().line(),
                column: e.marker().col() + 1,
            };
            Diagnostic::new(
                Some(Span { start: at, end: at }),
                format!("invalid YAML: {}", e.info()),
            )
            .help("check the indentation, and that every `{`, `[` and quote is closed; the mistake may be on an earlier line")
        })?;
        let sp = span(&ys);
        let done: Option<(Node, usize)> = match event {
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
                        kind: NodeKind::Scalar {
                            text: value.into_owned(),
                            plain,
                        },
                        span: sp,
                    },
                    anchor,
                ))
            }
            Event::Alias(id) => match anchors.get(&id) {
                Some(n) => Some((
                    Node {
                        kind: n.kind.clone(),
                        span: sp,
                    },
                    0,
                )),
                None => {
                    return Err(Diagnostic::new(Some(sp), "alias to an unknown anchor"));
                }
            },
            Event::SequenceStart(anchor, _) => {
                stack.push(Frame::Seq(sp, anchor, Vec::new()));
                None
            }
            Event::MappingStart(anchor, _) => {
                stack.push(Frame::Map(sp, anchor, Vec::new(), None));
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq(start, anchor, items)) => Some((
                    Node {
                        kind: NodeKind::Seq(items),
                        span: Span {
                            start: start.start,
                            end: sp.end,
                        },
                    },
                    anchor,
                )),
                _ => {
                    return Err(Diagnostic::new(
                        Some(sp),
                        "invalid YAML: unbalanced sequence",
                    ));
                }
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map(start, anchor, entries, _)) => Some((
                    Node {
                        kind: NodeKind::Map(entries),
                        span: Span {
                            start: start.start,
                            end: sp.end,
                        },
                    },
                    anchor,
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
        let Some((node, anchor)) = done else { continue };
        if anchor != 0 {
            anchors.insert(anchor, node.clone());
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq(_, _, items)) => items.push(node),
            Some(Frame::Map(_, _, entries, pending)) => match pending.take() {
                None => *pending = Some(node),
                Some(key) => {
                    let dup = entries
                        .iter()
                        .find(|(k, _)| same_key(k, &key))
                        .map(|(k, _)| k.span.start);
                    match dup {
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
                        None => entries.push((key, node)),
                    }
                }
            },
        }
    }
    Ok((root, diags))
}

fn same_key(a: &Node, b: &Node) -> bool {
    match (&a.kind, &b.kind) {
        (NodeKind::Scalar { text: x, .. }, NodeKind::Scalar { text: y, .. }) => x == y,
        _ => false,
    }
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
