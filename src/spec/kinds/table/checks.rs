//! Checks across the tables, once every entry is read: type names that
//! look like typos, table renames, and foreign keys against the tables
//! and keys they reference.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::spec::error::Span;
use crate::spec::read::{About, Diags, Places, err, ident};

/// An unqualified type that is neither built in nor a type this file
/// defines may be an extension's; but when it is one letter away
/// from a built-in type and the file installs no extension, it is a typo.
/// Whether a column type written `text` names a type in `public` written
/// bare (which `check_type_typos` looks at), remembered by text.
pub(super) fn typo_candidate(memo: &mut BTreeMap<String, bool>, text: &str) -> bool {
    if let Some(&known) = memo.get(text) {
        return known;
    }
    let candidate = !text.contains('.')
        && matches!(
            TypeSpec::parse(text),
            Ok(TypeSpec::Plain(ColumnType { base: BaseType::Named { schema: Some(ref s), .. }, .. }))
                if s.as_str() == DEFAULT_SCHEMA
        );
    memo.insert(text.to_string(), candidate);
    candidate
}

pub(super) fn check_type_typos(
    diags: &mut Diags,
    schema: &Schema,
    uses: &[(QualifiedName, String, Located<String>)],
) {
    const BUILTIN: &[&str] = &[
        "smallint",
        "integer",
        "bigint",
        "real",
        "numeric",
        "decimal",
        "boolean",
        "text",
        "varchar",
        "char",
        "bytea",
        "date",
        "time",
        "timetz",
        "timestamp",
        "timestamptz",
        "interval",
        "uuid",
        "json",
        "jsonb",
        "inet",
        "cidr",
        "money",
        "serial",
        "bigserial",
        "int",
        "int4",
        "int8",
        "bool",
        "float4",
        "float8",
        "xml",
        "bit",
        "varbit",
    ];
    if !schema.extensions.is_empty() {
        return;
    }
    for (table, column, ty) in uses {
        let Ok(TypeSpec::Plain(parsed)) = TypeSpec::parse(&ty.value) else {
            continue;
        };
        let BaseType::Named {
            schema: Some(s),
            name,
            ..
        } = &parsed.base
        else {
            continue;
        };
        let written_bare = !ty.value.contains('.');
        if !written_bare || s.as_str() != DEFAULT_SCHEMA {
            continue;
        }
        if schema.defines_type(&QualifiedName::new(s.clone(), name.clone())) {
            continue;
        }
        if let Some(m) = crate::spec::error::did_you_mean(name.as_str(), BUILTIN) {
            diags.push(
                Diagnostic::new(ty.span(), format!("column `{column}` of `{table}`: unknown type `{}`", name))
                    .help(format!("did you mean `{m}`? (a type from an extension needs that extension under `extensions:`; write other user types schema-qualified, e.g. `public.{name}`)")),
            );
        }
    }
}

/// A table renamed from a name the target still uses, or two tables
/// renamed from one, would make the rename ambiguous.
pub(super) fn check_table_renames(
    diags: &mut Diags,
    schema: &Schema,
    renames: &[(QualifiedName, Span)],
) {
    let mut seen: BTreeMap<&QualifiedName, Span> = BTreeMap::new();
    for (name, span) in renames {
        let Some(from) = schema
            .tables
            .get(name)
            .and_then(|t| t.renamed_from.as_ref())
        else {
            continue;
        };
        if schema.tables.contains_key(from) {
            diags.push(
                Diagnostic::new(Some(*span), format!("table `{name}` is renamed from `{from}`, but `{from}` is also defined in the target"))
                    .help("a rename source must be gone from the target; remove `renamed_from` or the other table"),
            );
        } else if let Some(first) = seen.insert(from, *span) {
            diags.push(
                Diagnostic::new(Some(*span), format!("two tables are renamed from `{from}`")).help(
                    format!(
                        "the other is at line {}, column {}",
                        first.start.line, first.start.column
                    ),
                ),
            );
        }
    }
}

pub(super) fn check_foreign_key(
    diags: &mut Diags,
    schema: &mut Schema,
    places: &Places,
    table: &QualifiedName,
    fk_name: &Ident,
    refs: Located<ReferencesSpec>,
) {
    let Some(ref_table) = qname(diags, &refs.value.table, "table") else {
        return;
    };
    if places.is_broken(&ref_table, None) {
        return;
    }
    let what = About("foreign key", fk_name, "on", table);
    let Some(target) = schema.tables.get(&ref_table) else {
        let known: Vec<String> = schema.tables.keys().map(|k| k.to_yaml_key()).collect();
        let mut d = Diagnostic::new(
            refs.value.table.span(),
            format!("{what} references table `{ref_table}`, which is not defined"),
        );
        let known_refs: Vec<&str> = known.iter().map(String::as_str).collect();
        if let Some(m) = crate::spec::error::did_you_mean(&refs.value.table.value, &known_refs) {
            d = d.help(format!("did you mean `{m}`?"));
        }
        diags.push(d);
        return;
    };
    if target.unlogged && schema.tables.get(table).is_some_and(|t| !t.unlogged) {
        diags.push(
            Diagnostic::new(
                refs.value.table.span(),
                format!("{what} references `{ref_table}`, which is unlogged, from a logged table"),
            )
            .help("PostgreSQL refuses it (the rows it points to may vanish after a crash): make both tables unlogged, or neither"),
        );
        return;
    }
    let mut cols = Vec::new();
    let mut ok = true;
    for c in &refs.value.columns {
        let Some(i) = ident(diags, c, "column") else {
            ok = false;
            continue;
        };
        if !schema.table_columns(&ref_table).iter().any(|c| c.name == i) {
            ok = false;
            if places.is_broken(&ref_table, Some(i.as_str())) {
                continue;
            }
            diags.push(
                Diagnostic::new(
                    c.span(),
                    format!(
                        "{what} references column `{i}`, which table `{ref_table}` does not have"
                    ),
                )
                .help(column_list(target)),
            );
        }
        cols.push(i);
    }
    if !ok {
        return;
    }
    let fk = schema
        .tables
        .get(table)
        .and_then(|t| t.foreign_keys.get(fk_name))
        .map(|fk| fk.columns.len());
    if let Some(n) = fk
        && n != cols.len()
    {
        err(
            diags,
            refs.span(),
            format!(
                "{what} has {n} column(s) but references {} column(s)",
                cols.len()
            ),
        );
        return;
    }
    // A foreign key needs a unique constraint or primary key (or a plain
    // unique index) over exactly the referenced columns.
    let wanted: BTreeSet<&Ident> = cols.iter().collect();
    let is_key =
        |c: &Vec<Ident>| c.iter().collect::<BTreeSet<_>>() == wanted && c.len() == cols.len();
    // A deferrable key does not count: PostgreSQL refuses it.
    let deferrable_key = target
        .primary_key
        .as_ref()
        .is_some_and(|pk| pk.deferrable != Deferrable::No && is_key(&pk.columns))
        || target
            .uniques
            .values()
            .any(|u| u.deferrable != Deferrable::No && is_key(&u.columns));
    let unique_ok = target
        .primary_key
        .as_ref()
        .is_some_and(|pk| pk.deferrable == Deferrable::No && is_key(&pk.columns))
        || target
            .uniques
            .values()
            .any(|u| u.deferrable == Deferrable::No && is_key(&u.columns))
        || target.indexes.values().any(|ix| {
            ix.unique
                && ix.predicate.is_none()
                && ix
                    .keys
                    .iter()
                    .all(|k| matches!(k.target, KeyTarget::Column(_)))
                && is_key(
                    &ix.keys
                        .iter()
                        .filter_map(|k| match &k.target {
                            KeyTarget::Column(c) => Some(c.clone()),
                            KeyTarget::Expression(_) => None,
                        })
                        .collect(),
                )
        });
    if !unique_ok && places.broken_tables.contains_key(&ref_table) {
        // The key may be missing only because its entry did not read.
        return;
    }
    if !unique_ok && deferrable_key {
        diags.push(
            Diagnostic::new(
                refs.span(),
                format!("{what} references a deferrable key of `{ref_table}`"),
            )
            .help("PostgreSQL refuses a foreign key to a key checked at commit: make the key not deferrable, or add a unique index over the same columns"),
        );
        return;
    }
    if !unique_ok {
        let list = cols
            .iter()
            .map(Ident::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        diags.push(
            Diagnostic::new(
                refs.span(),
                format!("{what} references ({list}) of `{ref_table}`, which is not its primary key or a unique constraint"),
            )
            .help("PostgreSQL requires the referenced columns to be unique: add a primary key or unique constraint over exactly them"),
        );
        return;
    }
    // Each column must compare with the one it references.
    let own: Vec<Ident> = schema
        .tables
        .get(table)
        .and_then(|t| t.foreign_keys.get(fk_name))
        .map(|fk| fk.columns.clone())
        .unwrap_or_default();
    for (c, r) in own.iter().zip(&cols) {
        let ty = |t: &QualifiedName, c: &Ident| {
            schema
                .table_columns(t)
                .iter()
                .find(|x| &x.name == c)
                .map(|x| (x.ty.clone(), schema.base_type(&x.ty)))
        };
        let (Some((ct, cb)), Some((rt, rb))) = (ty(table, c), ty(&ref_table, r)) else {
            continue;
        };
        let (Some(cf), Some(rf)) = (cb.base.comparison_family(), rb.base.comparison_family())
        else {
            continue;
        };
        if cf != rf || cb.array != rb.array {
            diags.push(
                Diagnostic::new(
                    refs.span(),
                    format!("{what}: column `{c}` is {ct} but references `{r}` of `{ref_table}`, which is {rt}"),
                )
                .help("PostgreSQL compares a foreign key's columns with the key's and finds no equality between these: give them types of one kind (integer with bigint is fine); when the key changes type, change the columns that reference it too"),
            );
            return;
        }
    }
    if let Some(fk) = schema
        .tables
        .get_mut(table)
        .and_then(|t| t.foreign_keys.get_mut(fk_name))
    {
        fk.ref_table = ref_table;
        fk.ref_columns = cols;
    }
}
