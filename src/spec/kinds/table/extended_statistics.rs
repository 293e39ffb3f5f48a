//! A table's `extended_statistics:`: statistics objects (`CREATE
//! STATISTICS`), name to definition. The name is in the table's schema.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::Deserialize;

use super::column_names::named_columns;
use crate::model::*;
use crate::spec::de::{Checked, Located, OrderedMap};
use crate::spec::error::Diagnostic;
use crate::spec::read::{Reader, err, ident, sql_expression};
use crate::spec::write::{Y, idents, key, sql, text};

/// A statistics object: at least two columns or expressions, or one
/// expression alone.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendedStatisticsSpec {
    /// Columns of the table.
    #[serde(default)]
    pub columns: Vec<Located<String>>,
    /// Expressions over its columns, as SQL: `lower(email)`.
    #[serde(default)]
    pub expressions: Vec<Located<String>>,
    /// What it gathers: `ndistinct`, `dependencies`, `mcv`; all three
    /// when left out. An object on one expression takes none.
    pub kinds: Option<Located<Vec<StatisticsKindSpec>>>,
    /// How many values it keeps (`ALTER STATISTICS ... SET STATISTICS`),
    /// 0 to 10000; left out, the largest of its columns' targets.
    pub target: Option<Located<i64>>,
    pub renamed_from: Option<Located<String>>,
    pub comment: Option<String>,
}

/// `ndistinct`, `dependencies` or `mcv`.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StatisticsKindSpec {
    Ndistinct,
    Dependencies,
    Mcv,
}

/// The table's statistics objects into the schema.
pub(in crate::spec) fn read(
    r: &mut Reader,
    name: &QualifiedName,
    table: &Table,
    specs: OrderedMap<Checked<ExtendedStatisticsSpec>>,
) {
    for (k, v) in specs.0 {
        let Some(stx) = ident(r.diags, &k, "statistics object") else {
            continue;
        };
        let Checked::Valid(spec) = v else { continue };
        let key = QualifiedName::new(name.schema.clone(), stx);
        let what = format!("statistics object `{}` on `{name}`", key.name);
        if let Some(other) = r.schema.extended_statistics.get(&key) {
            err(
                r.diags,
                k.span(),
                format!(
                    "{what}: schema `{}` has a statistics object of that name already, on `{}`",
                    key.schema, other.table
                ),
            );
            continue;
        }
        let comment = spec.comment.clone();
        if let Some(s) = read_one(r, name, table, &what, &k, spec) {
            if let Some(c) = comment {
                r.schema
                    .comments
                    .insert(CommentOn::Statistics(key.clone()), c);
            }
            r.schema.extended_statistics.insert(key, s);
        }
    }
}

fn read_one(
    r: &mut Reader,
    name: &QualifiedName,
    table: &Table,
    what: &str,
    at: &Located<String>,
    spec: ExtendedStatisticsSpec,
) -> Option<ExtendedStatistics> {
    let mut ok = true;
    let columns: BTreeSet<Ident> = match named_columns(
        r.diags,
        table,
        &spec.columns,
        what,
        false,
        false,
        &BTreeSet::new(),
    ) {
        Some(c) => c.into_iter().collect(),
        None => {
            ok = false;
            BTreeSet::new()
        }
    };
    let mut expressions = Vec::new();
    for l in &spec.expressions {
        match sql_expression(r.diags, l, &format!("{what}: an expression")) {
            Some(e) => expressions.push(e),
            None => ok = false,
        }
    }
    let elements = spec.columns.len() + spec.expressions.len();
    let single = spec.columns.is_empty() && spec.expressions.len() == 1;
    if elements < 2 && !single {
        let mut d = Diagnostic::new(
            at.span(),
            format!("{what} needs at least two columns or expressions, or one expression alone"),
        );
        if elements == 1 {
            d = d.help("a single column has statistics of its own: give it `statistics:` on the column for more of them");
        }
        r.diags.push(d);
        ok = false;
    }
    let kinds: BTreeSet<StatisticsKind> = match &spec.kinds {
        None if single => BTreeSet::new(),
        None => StatisticsKind::ALL.into_iter().collect(),
        Some(l) if single => {
            err(
                r.diags,
                l.span(),
                format!(
                    "{what} is on one expression, which takes no `kinds`: its statistics are the expression's own"
                ),
            );
            ok = false;
            BTreeSet::new()
        }
        Some(l) if l.value.is_empty() => {
            r.diags.push(
                Diagnostic::new(l.span(), format!("{what} has an empty `kinds` list"))
                    .help("name some of `ndistinct`, `dependencies`, `mcv`, or leave `kinds` out for all three"),
            );
            ok = false;
            BTreeSet::new()
        }
        Some(l) => l
            .value
            .iter()
            .map(|k| match k {
                StatisticsKindSpec::Ndistinct => StatisticsKind::Ndistinct,
                StatisticsKindSpec::Dependencies => StatisticsKind::Dependencies,
                StatisticsKindSpec::Mcv => StatisticsKind::Mcv,
            })
            .collect(),
    };
    let target = super::storage::statistics_target(
        r.diags,
        spec.target,
        what,
        "the largest of its columns' targets",
    );
    let renamed_from = spec
        .renamed_from
        .as_ref()
        .and_then(|l| ident(r.diags, l, "statistics object"))
        .map(|i| QualifiedName::new(name.schema.clone(), i));
    ok.then_some(ExtendedStatistics {
        table: name.clone(),
        kinds,
        columns,
        expressions,
        target,
        renamed_from,
    })
}

/// The statistics objects of `table`, as its `extended_statistics:`.
pub(in crate::spec) fn write(schema: &Schema, table: &QualifiedName) -> Option<Y> {
    let entries: Vec<(String, Y)> = schema
        .extended_statistics
        .iter()
        .filter(|(_, s)| &s.table == table)
        .map(|(q, s)| {
            let comment = schema.comments.get(&CommentOn::Statistics(q.clone()));
            (key(q.name.as_str()), one(s, comment))
        })
        .collect();
    (!entries.is_empty()).then_some(Y::Block(entries))
}

fn one(s: &ExtendedStatistics, comment: Option<&String>) -> Y {
    let mut m = Vec::new();
    if !s.columns.is_empty() {
        let cols: Vec<Ident> = s.columns.iter().cloned().collect();
        m.push(("columns".to_string(), idents(&cols)));
    }
    if !s.expressions.is_empty() {
        m.push((
            "expressions".to_string(),
            Y::FlowSeq(s.expressions.iter().map(|e| sql(e)).collect()),
        ));
    }
    let all: BTreeSet<StatisticsKind> = StatisticsKind::ALL.into_iter().collect();
    if !s.single_expression() && s.kinds != all {
        m.push((
            "kinds".to_string(),
            Y::FlowSeq(s.kinds.iter().map(|k| Y::S(k.as_str().into())).collect()),
        ));
    }
    if let Some(n) = s.target.0 {
        m.push(("target".to_string(), Y::S(n.to_string())));
    }
    if let Some(c) = comment {
        m.push(("comment".to_string(), text(c)));
    }
    Y::Block(m)
}
