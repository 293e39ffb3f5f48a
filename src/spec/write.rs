//! Writes a model as target-file YAML: the format `dump` produces. Output
//! is deterministic (model order), leaves out whatever equals the implicit
//! default, and turns `serial`-shaped columns back into `serial`. Every
//! scalar that could be misread (as a number, a boolean, null, or YAML
//! syntax) is double-quoted. Each kind writes its own part (`kinds/`)
//! with the helpers here.

use super::kinds::{self, nextval_default};
use super::tree::{Resolved, resolve_plain};
use crate::model::*;

/// What to write besides what the database holds.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteOptions {
    /// Write transition hints (`renamed_from`, `backfill`). `dump` never does.
    pub hints: bool,
}

/// A YAML value being written.
pub(super) enum Y {
    /// Already rendered scalar text.
    S(String),
    /// `{ k: v, ... }` on one line.
    FlowMap(Vec<(String, Y)>),
    /// `[a, b]` on one line.
    FlowSeq(Vec<Y>),
    /// An indented block mapping.
    Block(Vec<(String, Y)>),
    /// Text of several lines as a literal block (`|-`), in a block
    /// mapping; inline, a quoted scalar.
    Literal(String),
}

/// Text of several lines as a literal block, when that reads back as
/// itself: no character YAML cannot hold there, no line that is only
/// blanks, the last line not ending with one, some line not empty;
/// leading blank lines and a blank at the start (an indentation
/// indicator) and newlines at the end (a chomping indicator) are kept.
/// Else (and for one line) a scalar as `text` writes it.
pub(super) fn literal(s: &str) -> Y {
    let content = s.trim_end_matches('\n');
    let fits = s.contains('\n')
        && !content.trim().is_empty()
        && !content.ends_with([' ', '\t'])
        && content
            .split('\n')
            .all(|l| l.is_empty() || !l.trim().is_empty())
        && !s.chars().any(|c| {
            (c.is_control() && c != '\n' && c != '\t')
                || matches!(c, '\u{feff}' | '\u{2028}' | '\u{2029}' | '\u{85}')
        });
    if fits {
        Y::Literal(s.to_string())
    } else {
        text(s)
    }
}

/// A text value: plain only when a YAML reader gives back this exact string.
pub(super) fn text(s: &str) -> Y {
    Y::S(key(s))
}

/// An SQL expression: like `text`, but `0` or `true` may stay plain, since
/// the reader takes the expression's text as written.
pub(super) fn sql(s: &str) -> Y {
    Y::S(if plain_ok(s) && resolve_plain(s) != Resolved::Null {
        s.to_string()
    } else {
        quoted(s)
    })
}

/// A scalar as text (also how mapping keys are written).
pub(super) fn key(s: &str) -> String {
    if plain_ok(s) && matches!(resolve_plain(s), Resolved::Str(_)) {
        s.to_string()
    } else {
        quoted(s)
    }
}

pub(super) fn bool_y(b: bool) -> Y {
    Y::S(b.to_string())
}

fn plain_ok(s: &str) -> bool {
    const INNER: &str = " _.()'+-*/<>=!~@$%^&|;?";
    let mut chars = s.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '(');
    // `-` and `?` after a space or at the end can be read as indicators
    // (notably before a flow `,` or `}`), so such text is quoted.
    let risky_indicator = s.contains(" -") || s.contains(" ?") || s.ends_with(['-', '?']);
    first_ok
        && !s.ends_with(' ')
        && !risky_indicator
        && s.chars().all(|c| c.is_alphanumeric() || INNER.contains(c))
}

fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control()
                || c == '\u{feff}'
                || c == '\u{2028}'
                || c == '\u{2029}'
                || c == '\u{85}' =>
            {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn render_inline(y: &Y, out: &mut String) {
    match y {
        Y::S(s) => out.push_str(s),
        Y::Literal(s) => out.push_str(&quoted(s)),
        Y::FlowSeq(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                render_inline(item, out);
            }
            out.push(']');
        }
        Y::FlowMap(entries) | Y::Block(entries) => {
            if entries.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push_str("{ ");
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push_str(": ");
                render_inline(v, out);
            }
            out.push_str(" }");
        }
    }
}

fn render_block(entries: &[(String, Y)], indent: usize, out: &mut String) {
    for (k, v) in entries {
        out.push_str(&" ".repeat(indent));
        out.push_str(k);
        out.push(':');
        match v {
            Y::Block(inner) if !inner.is_empty() => {
                out.push('\n');
                render_block(inner, indent + 2, out);
            }
            Y::Literal(text) => {
                let content = text.trim_end_matches('\n');
                let newlines = text.len() - content.len();
                // The first line with text sets the indentation, unless
                // said: said when that line starts with a blank.
                let first = content.split('\n').find(|l| !l.is_empty());
                let said = first.is_some_and(|l| l.starts_with([' ', '\t']));
                out.push_str(" |");
                if said {
                    out.push('2');
                }
                out.push_str(match newlines {
                    0 => "-",
                    1 => "",
                    _ => "+",
                });
                out.push('\n');
                for line in content.split('\n') {
                    if !line.is_empty() {
                        out.push_str(&" ".repeat(indent + 2));
                        out.push_str(line);
                    }
                    out.push('\n');
                }
                for _ in 1..newlines.max(1) {
                    out.push('\n');
                }
            }
            other => {
                out.push(' ');
                render_inline(other, out);
                out.push('\n');
            }
        }
    }
}

pub(super) fn idents(list: &[Ident]) -> Y {
    Y::FlowSeq(list.iter().map(|i| text(i.as_str())).collect())
}

/// What every kind's writer is given besides the schema.
pub(super) struct Writer {
    pub opts: WriteOptions,
    /// Columns written as `serial`: (table, column, sequence).
    pub serials: Vec<(QualifiedName, Ident, QualifiedName)>,
}

/// Writes `schema` as a target file.
pub fn to_yaml(schema: &Schema, opts: WriteOptions) -> String {
    let w = Writer {
        opts,
        serials: serial_columns(schema),
    };
    let mut out = String::new();
    render_block(&kinds::write_all(schema, &w), 0, &mut out);
    out
}

/// Columns written as `serial`: (table, column, sequence).
fn serial_columns(schema: &Schema) -> Vec<(QualifiedName, Ident, QualifiedName)> {
    let mut out = Vec::new();
    for (tname, t) in &schema.tables {
        for c in &t.columns {
            let Some(kind) = SerialKind::for_type(&c.ty) else {
                continue;
            };
            let Ok(seq_ident) = Ident::new(naming::serial_sequence_name(
                tname.name.as_str(),
                c.name.as_str(),
            )) else {
                continue;
            };
            let seq_name = QualifiedName::new(tname.schema.clone(), seq_ident);
            let Some(seq) = schema.sequences.get(&seq_name) else {
                continue;
            };
            let owned = seq.owned_by.as_ref() == Some(&(tname.name.clone(), c.name.clone()));
            if owned
                && seq.options.is_default()
                && seq.data_type == kind.column_type()
                && c.default.as_deref() == Some(nextval_default(&seq_name).as_str())
                && !c.nullable
                && c.identity.is_none()
                && c.generated.is_none()
            {
                out.push((tname.clone(), c.name.clone(), seq_name));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn risky_scalars_are_quoted() {
        for s in [
            "true",
            "null",
            "",
            "1",
            "1.5",
            "- x",
            "a: b",
            "#x",
            "x #y",
            "a,b",
            "[x]",
            " lead",
            "trail ",
            "'q'",
            "line\nbreak",
            "~",
        ] {
            let Y::S(out) = text(s) else { panic!() };
            assert!(out.starts_with('"'), "{s:?} -> {out}");
        }
        for s in ["users", "full name", "lower(email)", "Ünïcödé", "now()"] {
            let Y::S(out) = text(s) else { panic!() };
            assert_eq!(out, s);
        }
        let Y::S(zero) = sql("0") else { panic!() };
        assert_eq!(zero, "0");
    }

    /// A function body comes back exactly as written, blank lines around
    /// it, its indentation and its final newlines included.
    #[test]
    fn bodies_read_back_as_written() {
        for body in [
            "BEGIN\n  RETURN 1;\nEND",
            "\nBEGIN\n  RETURN 1;\nEND;\n",
            "\n\n    BEGIN\n      RETURN 1;\n    END;\n  ",
            "    SELECT 1\n    FROM t\n",
            "\tBEGIN\n\tRETURN 1;\n\tEND\n\n\n",
            "BEGIN\n\n  x := 1;\n\nEND\n\n",
            "SELECT 1\n  -- trailing blank after this line \nFROM t",
        ] {
            let mut yaml =
                "functions:\n  f():\n    returns: integer\n    language: plpgsql\n".to_string();
            render_block(&[("body".into(), literal(body))], 4, &mut yaml);
            let s = crate::spec::read_str(std::path::Path::new("t.yaml"), &yaml)
                .unwrap_or_else(|e| panic!("{body:?}: {e}\n{yaml}"));
            let got = &s.routines.values().next().expect("the function").body;
            assert_eq!(got, body, "{yaml}");
        }
    }
}
