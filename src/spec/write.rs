//! Writes a model as target-file YAML: the format `dump` produces. Output
//! is deterministic (model order), leaves out whatever equals the implicit
//! default, and turns `serial`-shaped columns back into `serial`. Every
//! scalar that could be misread (as a number, a boolean, null, or YAML
//! syntax) is double-quoted.

use super::convert::nextval_default;
use super::tree::{Resolved, resolve_plain};
use crate::model::*;

/// What to write besides what the database holds.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteOptions {
    /// Write transition hints (`renamed_from`, `backfill`). `dump` never does.
    pub hints: bool,
}

/// A YAML value being written.
enum Y {
    /// Already rendered scalar text.
    S(String),
    /// `{ k: v, ... }` on one line.
    FlowMap(Vec<(String, Y)>),
    /// `[a, b]` on one line.
    FlowSeq(Vec<Y>),
    /// An indented block mapping.
    Block(Vec<(String, Y)>),
}

/// A text value: plain only when a YAML reader gives back this exact string.
fn text(s: &str) -> Y {
    Y::S(key(s))
}

/// An SQL expression: like `text`, but `0` or `true` may stay plain, since
/// the reader takes the expression's text as written.
fn sql(s: &str) -> Y {
    Y::S(if plain_ok(s) && resolve_plain(s) != Resolved::Null {
        s.to_string()
    } else {
        quoted(s)
    })
}

/// A scalar as text (also how mapping keys are written).
fn key(s: &str) -> String {
    if plain_ok(s) && matches!(resolve_plain(s), Resolved::Str(_)) {
        s.to_string()
    } else {
        quoted(s)
    }
}

fn bool_y(b: bool) -> Y {
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
            other => {
                out.push(' ');
                render_inline(other, out);
                out.push('\n');
            }
        }
    }
}

fn idents(list: &[Ident]) -> Y {
    Y::FlowSeq(list.iter().map(|i| text(i.as_str())).collect())
}

/// Writes `schema` as a target file.
pub fn to_yaml(schema: &Schema, opts: WriteOptions) -> String {
    let mut doc: Vec<(String, Y)> = Vec::new();
    let serials = serial_columns(schema);

    let implied = schema.used_schemas();
    let explicit: Vec<Y> = schema
        .schemas
        .iter()
        .filter(|s| !implied.contains(*s))
        .map(|s| text(s.as_str()))
        .collect();
    if !explicit.is_empty() {
        doc.push(("schemas".into(), Y::FlowSeq(explicit)));
    }

    if !schema.extensions.is_empty() {
        let plain = schema
            .extensions
            .values()
            .all(|e| e.schema.is_none() && e.version.is_none());
        let ext = if plain {
            Y::FlowSeq(schema.extensions.keys().map(|k| text(k.as_str())).collect())
        } else {
            Y::Block(
                schema
                    .extensions
                    .iter()
                    .map(|(name, e)| {
                        let mut m = Vec::new();
                        if let Some(s) = &e.schema {
                            m.push(("schema".into(), text(s.as_str())));
                        }
                        if let Some(v) = &e.version {
                            m.push(("version".into(), text(v)));
                        }
                        (key(name.as_str()), Y::FlowMap(m))
                    })
                    .collect(),
            )
        };
        doc.push(("extensions".into(), ext));
    }

    if !schema.enums.is_empty() {
        let enums = schema
            .enums
            .iter()
            .map(|(name, e)| {
                (
                    key(&name.to_yaml_key()),
                    Y::FlowSeq(e.values.iter().map(|v| text(v)).collect()),
                )
            })
            .collect();
        doc.push(("enums".into(), Y::Block(enums)));
    }

    let sequences: Vec<(String, Y)> = schema
        .sequences
        .iter()
        .filter(|(name, _)| !serials.iter().any(|(_, _, s)| s == *name))
        .map(|(name, s)| (key(&name.to_yaml_key()), sequence(s)))
        .collect();
    if !sequences.is_empty() {
        doc.push(("sequences".into(), Y::Block(sequences)));
    }

    if !schema.tables.is_empty() {
        let tables = schema
            .tables
            .iter()
            .map(|(name, t)| (key(&name.to_yaml_key()), table(name, t, &serials, opts)))
            .collect();
        doc.push(("tables".into(), Y::Block(tables)));
    }

    let mut out = String::new();
    render_block(&doc, 0, &mut out);
    out
}

fn sequence(s: &Sequence) -> Y {
    let mut m = Vec::new();
    if s.data_type.base != BaseType::BigInt {
        m.push(("type".into(), text(&s.data_type.to_string())));
    }
    for (k, v) in [
        ("start", s.start),
        ("increment", s.increment),
        ("min_value", s.min_value),
        ("max_value", s.max_value),
        ("cache", s.cache),
    ] {
        if let Some(v) = v {
            m.push((k.into(), Y::S(v.to_string())));
        }
    }
    if s.cycle {
        m.push(("cycle".into(), bool_y(true)));
    }
    if let Some((t, c)) = &s.owned_by {
        m.push(("owned_by".into(), text(&pair_to_yaml(t, c))));
    }
    Y::FlowMap(m)
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
                && seq.has_default_options()
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

fn table(
    name: &QualifiedName,
    t: &Table,
    serials: &[(QualifiedName, Ident, QualifiedName)],
    opts: WriteOptions,
) -> Y {
    let mut m: Vec<(String, Y)> = Vec::new();
    let pk_cols: Vec<&Ident> = t.primary_key.iter().flat_map(|p| &p.columns).collect();
    let columns = t
        .columns
        .iter()
        .map(|c| {
            let serial = serials
                .iter()
                .any(|(tn, cn, _)| tn == name && cn == &c.name);
            let mut f: Vec<(String, Y)> = Vec::new();
            let ty = if serial {
                SerialKind::for_type(&c.ty)
                    .map_or_else(|| c.ty.to_string(), |k| k.keyword().to_string())
            } else {
                c.ty.to_string()
            };
            f.push(("type".into(), text(&ty)));
            let implied_not_null = serial || c.identity.is_some() || pk_cols.contains(&&c.name);
            if !c.nullable && !implied_not_null {
                f.push(("nullable".into(), bool_y(false)));
            }
            if let (Some(d), false) = (&c.default, serial) {
                f.push(("default".into(), sql(d)));
            }
            if let Some(i) = c.identity {
                f.push(("identity".into(), Y::S(i.keyword().into())));
            }
            if let Some(g) = &c.generated {
                f.push(("generated".into(), sql(g)));
            }
            if let Some(coll) = &c.collation {
                f.push(("collation".into(), text(coll.as_str())));
            }
            if let Some(comment) = &c.comment {
                f.push(("comment".into(), text(comment)));
            }
            if opts.hints {
                if let Some(r) = &c.renamed_from {
                    f.push(("renamed_from".into(), text(r.as_str())));
                }
                if let Some(b) = &c.backfill {
                    f.push(("backfill".into(), sql(b)));
                }
            }
            (key(c.name.as_str()), Y::FlowMap(f))
        })
        .collect();
    m.push(("columns".into(), Y::Block(columns)));

    if let Some(pk) = &t.primary_key {
        let default_name = naming::primary_key_name(name.name.as_str());
        let renamed = pk.renamed_from.as_ref().filter(|_| opts.hints);
        if pk.name.as_str() == default_name && renamed.is_none() {
            m.push(("primary_key".into(), idents(&pk.columns)));
        } else {
            let mut f = vec![
                ("name".into(), text(pk.name.as_str())),
                ("columns".into(), idents(&pk.columns)),
            ];
            if let Some(r) = renamed {
                f.push(("renamed_from".into(), text(r.as_str())));
            }
            m.push(("primary_key".into(), Y::FlowMap(f)));
        }
    }

    if !t.uniques.is_empty() {
        let u = t
            .uniques
            .iter()
            .map(|(n, u)| {
                let renamed = u.renamed_from.as_ref().filter(|_| opts.hints);
                let v =
                    if !u.nulls_not_distinct && u.deferrable == Deferrable::No && renamed.is_none()
                    {
                        idents(&u.columns)
                    } else {
                        let mut f = vec![("columns".into(), idents(&u.columns))];
                        if u.nulls_not_distinct {
                            f.push(("nulls_not_distinct".into(), bool_y(true)));
                        }
                        deferrable(&mut f, u.deferrable);
                        if let Some(r) = renamed {
                            f.push(("renamed_from".into(), text(r.as_str())));
                        }
                        Y::FlowMap(f)
                    };
                (key(n.as_str()), v)
            })
            .collect();
        m.push(("unique".into(), Y::Block(u)));
    }

    if !t.indexes.is_empty() {
        let ix = t
            .indexes
            .iter()
            .map(|(n, i)| (key(n.as_str()), index(i, opts)))
            .collect();
        m.push(("indexes".into(), Y::Block(ix)));
    }

    if !t.checks.is_empty() {
        let ch = t
            .checks
            .iter()
            .map(|(n, c)| {
                let renamed = c.renamed_from.as_ref().filter(|_| opts.hints);
                let v = if !c.no_inherit && renamed.is_none() {
                    // Short form; `text` quotes what would read as a number.
                    text(&c.expression)
                } else {
                    let mut f = vec![("expression".into(), sql(&c.expression))];
                    if c.no_inherit {
                        f.push(("no_inherit".into(), bool_y(true)));
                    }
                    if let Some(r) = renamed {
                        f.push(("renamed_from".into(), text(r.as_str())));
                    }
                    Y::FlowMap(f)
                };
                (key(n.as_str()), v)
            })
            .collect();
        m.push(("checks".into(), Y::Block(ch)));
    }

    if !t.foreign_keys.is_empty() {
        let fks = t
            .foreign_keys
            .iter()
            .map(|(n, fk)| {
                let mut f = vec![
                    ("columns".into(), idents(&fk.columns)),
                    (
                        "references".into(),
                        Y::FlowMap(vec![
                            ("table".into(), text(&fk.ref_table.to_yaml_key())),
                            ("columns".into(), idents(&fk.ref_columns)),
                        ]),
                    ),
                ];
                if fk.on_delete != FkAction::NoAction {
                    f.push(("on_delete".into(), Y::S(fk.on_delete.keyword().into())));
                }
                if fk.on_update != FkAction::NoAction {
                    f.push(("on_update".into(), Y::S(fk.on_update.keyword().into())));
                }
                if fk.match_type == FkMatch::Full {
                    f.push(("match".into(), Y::S("full".into())));
                }
                deferrable(&mut f, fk.deferrable);
                if let (Some(r), true) = (&fk.renamed_from, opts.hints) {
                    f.push(("renamed_from".into(), text(r.as_str())));
                }
                (key(n.as_str()), Y::FlowMap(f))
            })
            .collect();
        m.push(("foreign_keys".into(), Y::Block(fks)));
    }

    if let Some(c) = &t.comment {
        m.push(("comment".into(), text(c)));
    }
    if let (Some(r), true) = (&t.renamed_from, opts.hints) {
        m.push(("renamed_from".into(), text(&r.to_yaml_key())));
    }
    Y::Block(m)
}

fn deferrable(f: &mut Vec<(String, Y)>, d: Deferrable) {
    match d {
        Deferrable::No => {}
        Deferrable::InitiallyImmediate => f.push(("deferrable".into(), bool_y(true))),
        Deferrable::InitiallyDeferred => f.push(("initially_deferred".into(), bool_y(true))),
    }
}

fn index(i: &Index, opts: WriteOptions) -> Y {
    let mut f: Vec<(String, Y)> = Vec::new();
    if i.keys.iter().all(IndexKey::is_plain_column) {
        let cols = i
            .keys
            .iter()
            .filter_map(|k| match &k.target {
                KeyTarget::Column(c) => Some(text(c.as_str())),
                KeyTarget::Expression(_) => None,
            })
            .collect();
        f.push(("columns".into(), Y::FlowSeq(cols)));
    } else if let [k] = i.keys.as_slice() {
        match (&k.target, k.order, k.nulls, &k.opclass, &k.collation) {
            (KeyTarget::Expression(e), SortOrder::Asc, None, None, None) => {
                f.push(("expression".into(), sql(e)));
            }
            _ => f.push(("keys".into(), Y::FlowSeq(vec![index_key(k)]))),
        }
    } else {
        f.push((
            "keys".into(),
            Y::FlowSeq(i.keys.iter().map(index_key).collect()),
        ));
    }
    if i.unique {
        f.push(("unique".into(), bool_y(true)));
    }
    if i.method != DEFAULT_INDEX_METHOD {
        f.push(("method".into(), text(&i.method)));
    }
    if !i.include.is_empty() {
        f.push(("include".into(), idents(&i.include)));
    }
    if let Some(p) = &i.predicate {
        f.push(("where".into(), sql(p)));
    }
    if i.nulls_not_distinct {
        f.push(("nulls_not_distinct".into(), bool_y(true)));
    }
    if let (Some(r), true) = (&i.renamed_from, opts.hints) {
        f.push(("renamed_from".into(), text(r.as_str())));
    }
    Y::FlowMap(f)
}

fn index_key(k: &IndexKey) -> Y {
    let mut f: Vec<(String, Y)> = Vec::new();
    match &k.target {
        KeyTarget::Column(c) => f.push(("column".into(), text(c.as_str()))),
        KeyTarget::Expression(e) => f.push(("expression".into(), sql(e))),
    }
    if k.order == SortOrder::Desc {
        f.push(("order".into(), Y::S("desc".into())));
    }
    match k.nulls {
        Some(NullsOrder::First) => f.push(("nulls".into(), Y::S("first".into()))),
        Some(NullsOrder::Last) => f.push(("nulls".into(), Y::S("last".into()))),
        None => {}
    }
    if let Some(o) = &k.opclass {
        f.push(("opclass".into(), text(o)));
    }
    if let Some(c) = &k.collation {
        f.push(("collation".into(), text(c.as_str())));
    }
    Y::FlowMap(f)
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
}
