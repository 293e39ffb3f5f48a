//! Validation and conversion of a read `SchemaFile` into the model. Every
//! problem is collected (never only the first) with the position of the
//! text it is about, and an entry that is wrong does not cause follow-up
//! errors in entries that refer to it.

use std::collections::{BTreeMap, BTreeSet};

mod checks;
mod index;
mod table;

use checks::{check_foreign_key, check_table_renames, check_type_typos, duplicate};

use super::de::{Checked, Located};
use super::error::{Diagnostic, Pos, Span};
use super::format::*;
use crate::model::*;

pub(super) type Diags = Vec<Diagnostic>;

pub(super) fn err(diags: &mut Diags, span: Option<Span>, message: impl Into<String>) {
    diags.push(Diagnostic::new(span, message));
}

pub(super) fn ident(diags: &mut Diags, l: &Located<String>, what: &str) -> Option<Ident> {
    match Ident::new(l.value.clone()) {
        Ok(i) => Some(i),
        Err(e) => {
            diags.push(
                Diagnostic::new(l.span(), format!("invalid {what} name: {e}"))
                    .help("names are taken literally: 1 to 63 bytes, any characters but NUL"),
            );
            None
        }
    }
}

pub(super) fn qname(diags: &mut Diags, l: &Located<String>, what: &str) -> Option<QualifiedName> {
    match QualifiedName::parse(&l.value) {
        Ok(q) => Some(q),
        Err(e) => {
            diags.push(Diagnostic::new(
                l.span(),
                format!("invalid {what} name: {e}"),
            ));
            None
        }
    }
}

/// An SQL expression from the file: not empty, and one expression that
/// PostgreSQL's grammar reads (checked offline; the error points into the
/// expression where PostgreSQL stopped reading).
pub(super) fn sql_expression(diags: &mut Diags, l: &Located<String>, what: &str) -> Option<String> {
    let t = l.value.trim();
    if t.is_empty() {
        err(diags, l.span(), format!("{what} is empty"));
        return None;
    }
    match crate::sql::postgres::check_expression(t) {
        Ok(()) => Some(t.to_string()),
        Err(e) => {
            let lead = l.value.len() - l.value.trim_start().len();
            let at = e.offset.map(|o| lead + o);
            let (span, where_) = match at.and_then(|a| point_into(l, a)) {
                Some(sp) => (Some(sp), String::new()),
                None => (
                    l.span(),
                    at.map(|a| {
                        format!(
                            " (at character {} of it)",
                            l.value[..a.min(l.value.len())].chars().count() + 1
                        )
                    })
                    .unwrap_or_default(),
                ),
            };
            diags.push(
                Diagnostic::new(span, format!("{what} does not parse as SQL{where_}: {}", e.message))
                    .help("write it as PostgreSQL reads it; a string literal needs its SQL quotes, as in `default: \"'free'\"`"),
            );
            None
        }
    }
}

/// The position of byte `at` of a scalar's value in the file, when the
/// scalar sits on one line, plain or in quotes without escapes (so each
/// character of the value is one column).
fn point_into(l: &Located<String>, at: usize) -> Option<Span> {
    let sp = l.span()?;
    if sp.start.line != sp.end.line {
        return None;
    }
    let width = sp.end.column.saturating_sub(sp.start.column) as usize;
    let chars = l.value.chars().count();
    // The parser's span of a double-quoted scalar in a flow mapping can
    // take in the blank after the closing quote.
    let quote = if width == chars {
        0
    } else if width == chars + 2 || width == chars + 3 {
        1
    } else {
        return None;
    };
    let col = sp.start.column + quote + u32::try_from(l.value.get(..at)?.chars().count()).ok()?;
    let p = Pos {
        line: sp.start.line,
        column: col,
    };
    Some(Span {
        start: p,
        end: Pos {
            line: p.line,
            column: col + 1,
        },
    })
}

/// Where each definition was, to point at it in later errors.
#[derive(Default)]
pub(super) struct Places {
    tables: BTreeMap<QualifiedName, Span>,
    /// Tables with an entry that did not read: references into them are
    /// not checked, to avoid a cascade of errors from one mistake.
    /// `None`: the whole table entry is broken; `Some(cols)`: these
    /// columns' entries are.
    broken_tables: BTreeMap<QualifiedName, Option<BTreeSet<String>>>,
    /// Relation-namespace names (tables, sequences, indexes, key
    /// constraints' indexes) per schema, with where they were defined.
    relations: BTreeMap<(Ident, Ident), (String, Span)>,
}

impl Places {
    /// Whether errors about `column` (or, with `None`, about anything) in
    /// `table` would only repeat an error already reported.
    fn is_broken(&self, table: &QualifiedName, column: Option<&str>) -> bool {
        match (self.broken_tables.get(table), column) {
            (None, _) => false,
            (Some(None), _) => true,
            (Some(Some(_)), None) => false,
            (Some(Some(cols)), Some(c)) => cols.contains(c),
        }
    }

    fn claim_relation(
        &mut self,
        diags: &mut Diags,
        schema: &Ident,
        name: &Ident,
        what: String,
        span: Span,
    ) {
        let key = (schema.clone(), name.clone());
        if let Some((other, at)) = self.relations.get(&key) {
            diags.push(
                Diagnostic::new(
                    Some(span),
                    format!("{what} has the same name as {other}"),
                )
                .help(format!(
                    "tables, sequences and indexes share one namespace per schema; the other is at line {}, column {}",
                    at.start.line, at.start.column
                )),
            );
        } else {
            self.relations.insert(key, (what, span));
        }
    }
}

/// Converts a read file into a model, pushing every problem onto `diags`.
pub fn convert(file: SchemaFile, diags: &mut Diags) -> Schema {
    let mut schema = Schema::default();
    let mut places = Places::default();

    for l in file.schemas.iter().flatten() {
        if let Some(i) = ident(diags, l, "schema")
            && i.as_str() != DEFAULT_SCHEMA
            && !schema.schemas.insert(i.clone())
        {
            err(diags, l.span(), format!("schema `{i}` is listed twice"));
        }
    }

    match file.extensions {
        None => {}
        Some(ListOr::List(names)) => {
            for l in &names {
                if let Some(i) = ident(diags, l, "extension")
                    && schema
                        .extensions
                        .insert(i.clone(), Extension::default())
                        .is_some()
                {
                    err(diags, l.span(), format!("extension `{i}` is listed twice"));
                }
            }
        }
        Some(ListOr::Map(map)) => {
            for (k, v) in map.0 {
                let (Some(name), Checked::Valid(spec)) = (ident(diags, &k, "extension"), v) else {
                    continue;
                };
                let ext_schema = spec.schema.as_ref().and_then(|s| ident(diags, s, "schema"));
                schema.extensions.insert(
                    name,
                    Extension {
                        schema: ext_schema,
                        version: spec.version,
                    },
                );
            }
        }
    }

    let mut type_places: BTreeMap<QualifiedName, Span> = BTreeMap::new();
    for (k, v) in file.enums.0 {
        let Some(name) = qname(diags, &k, "enum") else {
            continue;
        };
        let Checked::Valid(values) = v else { continue };
        if let Some(first) = type_places.insert(name.clone(), k.span) {
            duplicate(diags, &k, &format!("enum `{name}`"), first);
            continue;
        }
        let mut seen = BTreeSet::new();
        let mut labels = Vec::new();
        for l in values {
            if l.value.len() > MAX_IDENT_BYTES {
                err(
                    diags,
                    l.span(),
                    format!("enum `{name}`: a label is at most 63 bytes long"),
                );
            } else if !seen.insert(l.value.clone()) {
                err(
                    diags,
                    l.span(),
                    format!("enum `{name}` lists the label `{}` twice", l.value),
                );
            } else {
                labels.push(l.value);
            }
        }
        schema.enums.insert(name, EnumType { values: labels });
    }

    let mut owned_by: Vec<(QualifiedName, Located<String>)> = Vec::new();
    let mut seq_places: BTreeMap<QualifiedName, Span> = BTreeMap::new();
    for (k, v) in file.sequences.0 {
        let Some(name) = qname(diags, &k, "sequence") else {
            continue;
        };
        let Checked::Valid(spec) = v else { continue };
        if let Some(&first) = seq_places.get(&name) {
            duplicate(diags, &k, &format!("sequence `{name}`"), first);
            continue;
        }
        seq_places.insert(name.clone(), k.span);
        places.claim_relation(
            diags,
            &name.schema,
            &name.name,
            format!("sequence `{name}`"),
            k.span,
        );
        let data_type = match &spec.data_type {
            None => ColumnType::new(BaseType::BigInt),
            Some(t) => match ColumnType::parse(&t.value) {
                Ok(ty) if ty.is_integer() => ty,
                _ => {
                    err(
                        diags,
                        t.span(),
                        format!(
                            "sequence `{name}`: type must be smallint, integer or bigint, not `{}`",
                            t.value
                        ),
                    );
                    continue;
                }
            },
        };
        if spec.increment == Some(0) {
            err(
                diags,
                k.span(),
                format!("sequence `{name}`: increment cannot be 0"),
            );
        }
        if let Some(o) = spec.owned_by {
            owned_by.push((name.clone(), o));
        }
        schema.sequences.insert(
            name,
            Sequence {
                data_type,
                start: spec.start,
                increment: spec.increment,
                min_value: spec.min_value,
                max_value: spec.max_value,
                cache: spec.cache,
                cycle: spec.cycle,
                owned_by: None,
            },
        );
    }

    let mut fks: Vec<(QualifiedName, Ident, Located<ReferencesSpec>)> = Vec::new();
    let mut renames: Vec<(QualifiedName, Span)> = Vec::new();
    let mut type_uses: Vec<(QualifiedName, String, Located<String>)> = Vec::new();
    for (k, v) in file.tables.0 {
        let Some(name) = qname(diags, &k, "table") else {
            continue;
        };
        if let Some(&first) = places.tables.get(&name) {
            duplicate(diags, &k, &format!("table `{name}`"), first);
            continue;
        }
        places.tables.insert(name.clone(), k.span);
        let Checked::Valid(spec) = v else {
            places.broken_tables.insert(name, None);
            continue;
        };
        if let Some(first) = type_places.get(&name) {
            diags.push(
                Diagnostic::new(k.span(), format!("table `{name}` has the same name as an enum"))
                    .help(format!(
                        "a table's row type shares the type namespace; the enum is at line {}, column {}",
                        first.start.line, first.start.column
                    )),
            );
        }
        places.claim_relation(
            diags,
            &name.schema,
            &name.name,
            format!("table `{name}`"),
            k.span,
        );
        if let Some(r) = &spec.renamed_from {
            renames.push((name.clone(), r.span));
        }
        let mut t = table::TableReader {
            diags,
            places: &mut places,
            name: &name,
            sequences: &mut schema.sequences,
            broken: BTreeSet::new(),
        };
        for (c, spec_c) in spec.columns.0.iter() {
            if let Checked::Valid(col) = spec_c {
                type_uses.push((name.clone(), c.value.clone(), col.ty.clone()));
            }
        }
        let (table, table_fks) = t.read(spec);
        if !t.broken.is_empty() {
            let broken = std::mem::take(&mut t.broken);
            places.broken_tables.insert(name.clone(), Some(broken));
        }
        for (fk_name, refs) in table_fks {
            fks.push((name.clone(), fk_name, refs));
        }
        schema.tables.insert(name, table);
    }

    check_table_renames(diags, &schema, &renames);
    check_type_typos(diags, &schema, &type_uses);
    for (table, fk_name, refs) in fks {
        check_foreign_key(diags, &mut schema, &places, &table, &fk_name, refs);
    }
    for (seq, o) in owned_by {
        let (t, c) = match parse_pair(&o.value) {
            Ok(pair) => pair,
            Err(e) => {
                err(
                    diags,
                    o.span(),
                    format!("sequence `{seq}`: owned_by must be `table.column`: {e}"),
                );
                continue;
            }
        };
        let table_name = QualifiedName::new(seq.schema.clone(), t.clone());
        if places.is_broken(&table_name, Some(c.as_str())) {
            continue;
        }
        match schema.tables.get(&table_name) {
            Some(table) if table.column(c.as_str()).is_some() => {
                if let Some(s) = schema.sequences.get_mut(&seq) {
                    s.owned_by = Some((t, c));
                }
            }
            Some(_) => err(
                diags,
                o.span(),
                format!(
                    "sequence `{seq}` is owned by `{t}.{c}`, but table `{table_name}` has no column `{c}`"
                ),
            ),
            None => err(
                diags,
                o.span(),
                format!("sequence `{seq}` is owned by table `{table_name}`, which is not defined"),
            ),
        }
    }

    let used = schema.used_schemas();
    schema.schemas.extend(used);
    schema
}

pub(super) fn column_list(t: &Table) -> String {
    let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    if names.is_empty() {
        "the table has no columns".to_string()
    } else {
        format!("its columns: {}", names.join(", "))
    }
}

/// The default `serial` gives a column, as PostgreSQL prints it.
pub fn nextval_default(seq: &QualifiedName) -> String {
    let text = if seq.schema.as_str() == DEFAULT_SCHEMA {
        crate::sql::quote_ident(seq.name.as_str())
    } else {
        format!(
            "{}.{}",
            crate::sql::quote_ident(seq.schema.as_str()),
            crate::sql::quote_ident(seq.name.as_str())
        )
    };
    format!("nextval({}::regclass)", crate::sql::quote_literal(&text))
}
