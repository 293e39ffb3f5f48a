//! Validation and conversion of a read `SchemaFile` into the model. Every
//! problem is collected (never only the first) with the position of the
//! text it is about, and an entry that is wrong does not cause follow-up
//! errors in entries that refer to it.

use std::collections::{BTreeMap, BTreeSet};

use super::de::{Checked, Located, OrderedMap};
use super::error::{Diagnostic, Span};
use super::format::*;
use crate::model::*;

type Diags = Vec<Diagnostic>;

fn err(diags: &mut Diags, span: Option<Span>, message: impl Into<String>) {
    diags.push(Diagnostic::new(span, message));
}

fn ident(diags: &mut Diags, l: &Located<String>, what: &str) -> Option<Ident> {
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

fn qname(diags: &mut Diags, l: &Located<String>, what: &str) -> Option<QualifiedName> {
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

fn non_empty(diags: &mut Diags, l: &Located<String>, what: &str) -> Option<String> {
    let t = l.value.trim();
    if t.is_empty() {
        err(diags, l.span(), format!("{what} is empty"));
        None
    } else {
        Some(t.to_string())
    }
}

/// Where each definition was, to point at it in later errors.
#[derive(Default)]
struct Places {
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
        let mut t = TableReader {
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

/// An unqualified type that is neither built in nor an enum of this file
/// may be an extension's or a domain's; but when it is one letter away
/// from a built-in type and the file installs no extension, it is a typo.
fn check_type_typos(
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
        if schema
            .enums
            .contains_key(&QualifiedName::new(s.clone(), name.clone()))
        {
            continue;
        }
        if let Some(m) = super::error::did_you_mean(name.as_str(), BUILTIN) {
            diags.push(
                Diagnostic::new(ty.span(), format!("column `{column}` of `{table}`: unknown type `{}`", name))
                    .help(format!("did you mean `{m}`? (a type from an extension needs that extension under `extensions:`; write other user types schema-qualified, e.g. `public.{name}`)")),
            );
        }
    }
}

fn duplicate(diags: &mut Diags, l: &Located<String>, what: &str, first: Span) {
    diags.push(
        Diagnostic::new(l.span(), format!("{what} is defined twice")).help(format!(
            "it is first defined at line {}, column {} (an unqualified name means `public.<name>`)",
            first.start.line, first.start.column
        )),
    );
}

/// A table renamed from a name the target still uses, or two tables
/// renamed from one, would make the rename ambiguous.
fn check_table_renames(diags: &mut Diags, schema: &Schema, renames: &[(QualifiedName, Span)]) {
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

fn check_foreign_key(
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
    let what = format!("foreign key `{fk_name}` on `{table}`");
    let Some(target) = schema.tables.get(&ref_table) else {
        let known: Vec<String> = schema.tables.keys().map(|k| k.to_yaml_key()).collect();
        let mut d = Diagnostic::new(
            refs.value.table.span(),
            format!("{what} references table `{ref_table}`, which is not defined"),
        );
        let known_refs: Vec<&str> = known.iter().map(String::as_str).collect();
        if let Some(m) = super::error::did_you_mean(&refs.value.table.value, &known_refs) {
            d = d.help(format!("did you mean `{m}`?"));
        }
        diags.push(d);
        return;
    };
    let mut cols = Vec::new();
    let mut ok = true;
    for c in &refs.value.columns {
        let Some(i) = ident(diags, c, "column") else {
            ok = false;
            continue;
        };
        if target.column(i.as_str()).is_none() {
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
    // PostgreSQL requires a unique constraint or primary key (or a plain
    // unique index) over exactly the referenced columns (SQLSTATE 42830).
    let wanted: BTreeSet<&Ident> = cols.iter().collect();
    let is_key =
        |c: &Vec<Ident>| c.iter().collect::<BTreeSet<_>>() == wanted && c.len() == cols.len();
    let unique_ok = target
        .primary_key
        .as_ref()
        .is_some_and(|pk| is_key(&pk.columns))
        || target.uniques.values().any(|u| is_key(&u.columns))
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
    if let Some(fk) = schema
        .tables
        .get_mut(table)
        .and_then(|t| t.foreign_keys.get_mut(fk_name))
    {
        fk.ref_table = ref_table;
        fk.ref_columns = cols;
    }
}

fn column_list(t: &Table) -> String {
    let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    if names.is_empty() {
        "the table has no columns".to_string()
    } else {
        format!("its columns: {}", names.join(", "))
    }
}

struct TableReader<'a> {
    diags: &'a mut Diags,
    places: &'a mut Places,
    name: &'a QualifiedName,
    sequences: &'a mut BTreeMap<QualifiedName, Sequence>,
    /// Names of column entries that did not read; references to them are
    /// not reported again.
    broken: BTreeSet<String>,
}

impl TableReader<'_> {
    fn err(&mut self, span: Option<Span>, message: impl Into<String>) {
        self.diags.push(Diagnostic::new(span, message));
    }

    /// Column names that must exist in the table.
    fn columns(
        &mut self,
        table: &Table,
        list: &[Located<String>],
        what: &str,
    ) -> Option<Vec<Ident>> {
        self.columns_of(table, list, what, false)
    }

    /// Index keys may repeat a column (PostgreSQL allows it); constraints may not.
    fn columns_of(
        &mut self,
        table: &Table,
        list: &[Located<String>],
        what: &str,
        repeats: bool,
    ) -> Option<Vec<Ident>> {
        let mut out = Vec::new();
        let mut ok = true;
        let mut seen = BTreeSet::new();
        for l in list {
            let Some(i) = ident(self.diags, l, "column") else {
                ok = false;
                continue;
            };
            if table.column(i.as_str()).is_none() {
                ok = false;
                if !self.broken.contains(i.as_str()) {
                    self.diags.push(
                        Diagnostic::new(
                            l.span(),
                            format!(
                                "{what} on `{}` names column `{i}`, which the table does not have",
                                self.name
                            ),
                        )
                        .help(column_list(table)),
                    );
                }
            } else if !seen.insert(i.clone()) && !repeats {
                ok = false;
                self.err(
                    l.span(),
                    format!("{what} on `{}` names column `{i}` twice", self.name),
                );
            }
            out.push(i);
        }
        ok.then_some(out)
    }

    fn read(&mut self, spec: TableSpec) -> (Table, Vec<(Ident, Located<ReferencesSpec>)>) {
        let mut table = Table {
            comment: spec.comment,
            ..Table::default()
        };
        if let Some(r) = &spec.renamed_from {
            table.renamed_from = qname(self.diags, r, "table");
            if table.renamed_from.as_ref() == Some(self.name) {
                self.err(
                    r.span(),
                    format!("table `{}` is renamed from itself", self.name),
                );
                table.renamed_from = None;
            }
        }
        self.read_columns(&mut table, spec.columns);
        self.read_primary_key(&mut table, spec.primary_key);
        self.read_uniques(&mut table, spec.unique);
        self.read_indexes(&mut table, spec.indexes);
        self.read_checks(&mut table, spec.checks);
        let fks = self.read_foreign_keys(&mut table, spec.foreign_keys);
        self.check_constraint_renames(&table);
        (table, fks)
    }

    fn read_columns(&mut self, table: &mut Table, columns: OrderedMap<Checked<ColumnSpec>>) {
        let mut renamed: BTreeMap<Ident, Span> = BTreeMap::new();
        for (k, v) in columns.0 {
            let Some(name) = ident(self.diags, &k, "column") else {
                self.broken.insert(k.value.clone());
                continue;
            };
            let Checked::Valid(spec) = v else {
                self.broken.insert(k.value.clone());
                continue;
            };
            if let Some(col) = self.read_column(name, spec, &mut renamed) {
                table.columns.push(col);
            } else {
                self.broken.insert(k.value.clone());
            }
        }
        for (from, span) in &renamed {
            if table.column(from.as_str()).is_some() {
                self.diags.push(
                    Diagnostic::new(
                        Some(*span),
                        format!("a column of `{}` is renamed from `{from}`, but `{from}` is also a column of the target table", self.name),
                    )
                    .help("a rename source must be gone from the target; remove `renamed_from` or the other column"),
                );
            }
        }
    }

    fn read_column(
        &mut self,
        name: Ident,
        spec: ColumnSpec,
        renamed: &mut BTreeMap<Ident, Span>,
    ) -> Option<Column> {
        let what = format!("column `{name}` of `{}`", self.name);
        let ty_spec = match TypeSpec::parse(&spec.ty.value) {
            Ok(t) => t,
            Err(e) => {
                self.diags.push(
                    Diagnostic::new(spec.ty.span(), format!("{what}: {e}"))
                        .help("write a PostgreSQL type: `bigint`, `varchar(20)`, `timestamptz`, `numeric(10,2)`, `text[]`, `serial`, or a user type such as `billing.status`"),
                );
                return None;
            }
        };
        let explicit_null = spec.nullable.as_ref().map(|n| (n.value, n.span));
        let mut col = Column::new(name.clone(), ColumnType::new(BaseType::Integer));
        col.nullable = explicit_null.is_none_or(|(n, _)| n);
        col.comment = spec.comment;
        col.default = spec
            .default
            .as_ref()
            .and_then(|d| non_empty(self.diags, d, &format!("{what}: the default")));
        col.generated = spec
            .generated
            .as_ref()
            .and_then(|g| non_empty(self.diags, g, &format!("{what}: the generated expression")));
        col.backfill = spec
            .backfill
            .as_ref()
            .and_then(|b| non_empty(self.diags, b, &format!("{what}: the backfill expression")));
        col.collation = spec
            .collation
            .as_ref()
            .and_then(|c| ident(self.diags, c, "collation"));
        col.identity = spec.identity.as_ref().map(|i| match i.value {
            IdentitySpec::Always => Identity::Always,
            IdentitySpec::ByDefault => Identity::ByDefault,
        });
        if let Some(r) = &spec.renamed_from
            && let Some(from) = ident(self.diags, r, "column")
        {
            if from == name {
                self.err(r.span(), format!("{what} is renamed from itself"));
            } else if let Some(first) = renamed.insert(from.clone(), r.span) {
                self.diags.push(
                    Diagnostic::new(
                        r.span(),
                        format!("two columns of `{}` are renamed from `{from}`", self.name),
                    )
                    .help(format!(
                        "the other is at line {}, column {}",
                        first.start.line, first.start.column
                    )),
                );
            } else {
                col.renamed_from = Some(from);
            }
        }
        let mut ok = true;
        match ty_spec {
            TypeSpec::Plain(ty) => col.ty = ty,
            TypeSpec::Serial(kind) => {
                col.ty = kind.column_type();
                for (present, clash) in [
                    (spec.default.is_some(), "default"),
                    (spec.identity.is_some(), "identity"),
                    (spec.generated.is_some(), "generated"),
                ] {
                    if present {
                        ok = false;
                        self.diags.push(
                            Diagnostic::new(spec.ty.span(), format!("{what}: `{}` already gives the column a default; it cannot also have `{clash}`", kind.keyword()))
                                .help("use an integer type with `identity: always` or a `default:` instead of serial"),
                        );
                    }
                }
                let seq_name = QualifiedName::new(
                    self.name.schema.clone(),
                    Ident::new(naming::serial_sequence_name(
                        self.name.name.as_str(),
                        name.as_str(),
                    ))
                    .ok()?,
                );
                let mut seq = Sequence::new(kind.column_type());
                seq.owned_by = Some((self.name.name.clone(), name.clone()));
                self.places.claim_relation(
                    self.diags,
                    &seq_name.schema,
                    &seq_name.name,
                    format!("the sequence of serial {what}"),
                    spec.ty.span,
                );
                col.default = Some(nextval_default(&seq_name));
                self.sequences.insert(seq_name, seq);
                if let Some((true, span)) = explicit_null {
                    ok = false;
                    self.err(
                        Some(span),
                        format!("{what}: a `{}` column is never nullable", kind.keyword()),
                    );
                }
                col.nullable = false;
            }
        }
        if let Some(i) = &spec.identity {
            if !col.ty.is_integer() {
                ok = false;
                self.diags.push(
                    Diagnostic::new(i.span(), format!("{what}: identity needs smallint, integer or bigint, not `{}`", col.ty))
                        .help("use `type: bigint` with `identity`, or a `default:` for other types (e.g. `default: gen_random_uuid()` for uuid)"),
                );
            }
            if spec.default.is_some() || spec.generated.is_some() {
                ok = false;
                self.err(i.span(), format!("{what}: an identity column cannot also have a default or a generated expression"));
            }
            if let Some((true, span)) = explicit_null {
                ok = false;
                self.err(
                    Some(span),
                    format!("{what}: an identity column is never nullable"),
                );
            }
            col.nullable = false;
        }
        if spec.generated.is_some() && spec.default.is_some() {
            ok = false;
            self.err(
                spec.generated.as_ref().and_then(Located::span),
                format!("{what}: a generated column cannot also have a default"),
            );
        }
        ok.then_some(col)
    }

    fn read_primary_key(
        &mut self,
        table: &mut Table,
        pk: Option<Located<ListOr<Vec<Located<String>>, PrimaryKeySpec>>>,
    ) {
        let Some(pk) = pk else { return };
        let pk_span = pk.span;
        let (name, columns, renamed_from) = match pk.value {
            ListOr::List(cols) => (None, cols, None),
            ListOr::Map(m) => (m.name, m.columns, m.renamed_from),
        };
        if columns.is_empty() {
            self.diags.push(
                Diagnostic::new(
                    Some(pk_span),
                    format!("the primary key of `{}` has no columns", self.name),
                )
                .help("list at least one column, or remove `primary_key`"),
            );
            return;
        }
        let name = match &name {
            Some(n) => ident(self.diags, n, "constraint"),
            None => Ident::new(naming::primary_key_name(self.name.name.as_str())).ok(),
        };
        let Some(name) = name else { return };
        let Some(cols) = self.columns(table, &columns, "the primary key") else {
            return;
        };
        for c in &cols {
            if let Some(col) = table.columns.iter_mut().find(|x| &x.name == c) {
                col.nullable = false;
            }
        }
        self.places.claim_relation(
            self.diags,
            &self.name.schema,
            &name,
            format!("the primary key of `{}`", self.name),
            pk_span,
        );
        let renamed_from = renamed_from
            .as_ref()
            .and_then(|r| ident(self.diags, r, "constraint"));
        table.primary_key = Some(PrimaryKey {
            name,
            columns: cols,
            renamed_from,
        });
    }

    fn read_uniques(
        &mut self,
        table: &mut Table,
        uniques: OrderedMap<Checked<ListOr<Vec<Located<String>>, UniqueSpec>>>,
    ) {
        for (k, v) in uniques.0 {
            let Some(name) = ident(self.diags, &k, "constraint") else {
                continue;
            };
            let Checked::Valid(spec) = v else { continue };
            let (columns, nnd, deferrable, deferred, renamed) = match spec {
                ListOr::List(c) => (c, false, None, false, None),
                ListOr::Map(m) => (
                    m.columns,
                    m.nulls_not_distinct,
                    m.deferrable,
                    m.initially_deferred,
                    m.renamed_from,
                ),
            };
            let what = format!("unique constraint `{name}`");
            if columns.is_empty() {
                self.err(
                    k.span(),
                    format!("{what} on `{}` has no columns", self.name),
                );
                continue;
            }
            let Some(cols) = self.columns(table, &columns, &what) else {
                continue;
            };
            let Some(deferrable) = self.deferrable(&what, deferrable, deferred) else {
                continue;
            };
            if self.constraint_taken(table, &name, &k) {
                continue;
            }
            self.places.claim_relation(
                self.diags,
                &self.name.schema,
                &name,
                format!("{what} of `{}`", self.name),
                k.span,
            );
            let renamed_from = renamed
                .as_ref()
                .and_then(|r| ident(self.diags, r, "constraint"));
            table.uniques.insert(
                name,
                Unique {
                    columns: cols,
                    nulls_not_distinct: nnd,
                    deferrable,
                    renamed_from,
                },
            );
        }
    }

    fn deferrable(
        &mut self,
        what: &str,
        deferrable: Option<Located<bool>>,
        deferred: bool,
    ) -> Option<Deferrable> {
        match (deferrable.as_ref().map(|d| d.value), deferred) {
            (Some(false), true) => {
                self.err(
                    deferrable.as_ref().and_then(Located::span),
                    format!(
                        "{what} on `{}`: `initially_deferred` needs a deferrable constraint",
                        self.name
                    ),
                );
                None
            }
            (_, true) => Some(Deferrable::InitiallyDeferred),
            (Some(true), false) => Some(Deferrable::InitiallyImmediate),
            _ => Some(Deferrable::No),
        }
    }

    /// Constraint names are unique per table.
    fn constraint_taken(&mut self, table: &Table, name: &Ident, at: &Located<String>) -> bool {
        if table.constraint_names().any(|n| n == name) {
            self.diags.push(
                Diagnostic::new(at.span(), format!("constraint `{name}` on `{}` is defined twice", self.name))
                    .help("primary key, unique, check and foreign key names share one namespace per table"),
            );
            true
        } else {
            false
        }
    }

    fn read_indexes(&mut self, table: &mut Table, indexes: OrderedMap<Checked<IndexSpec>>) {
        for (k, v) in indexes.0 {
            let Some(name) = ident(self.diags, &k, "index") else {
                continue;
            };
            let Checked::Valid(spec) = v else { continue };
            let what = format!("index `{name}`");
            let forms = [
                spec.columns.is_some(),
                spec.expression.is_some(),
                spec.keys.is_some(),
            ];
            if forms.iter().filter(|f| **f).count() != 1 {
                self.diags.push(
                    Diagnostic::new(k.span(), format!("{what} on `{}` needs exactly one of `columns`, `expression` and `keys`", self.name))
                        .help("`columns: [a, b]` for plain columns, `expression: lower(email)` for one expression, `keys: [...]` for keys with options"),
                );
                continue;
            }
            let mut keys = Vec::new();
            let mut ok = true;
            if let Some(cols) = &spec.columns {
                if cols.is_empty() {
                    self.err(
                        k.span(),
                        format!("{what} on `{}` has no columns", self.name),
                    );
                    continue;
                }
                match self.columns_of(table, cols, &what, true) {
                    Some(c) => keys.extend(c.into_iter().map(IndexKey::column)),
                    None => ok = false,
                }
            }
            if let Some(e) = &spec.expression {
                match non_empty(self.diags, e, &format!("{what}: the expression")) {
                    Some(x) => keys.push(IndexKey {
                        target: KeyTarget::Expression(x),
                        order: SortOrder::Asc,
                        nulls: None,
                        opclass: None,
                        collation: None,
                    }),
                    None => ok = false,
                }
            }
            for key in spec.keys.iter().flatten() {
                match self.index_key(table, &what, key) {
                    Some(k) => keys.push(k),
                    None => ok = false,
                }
            }
            if spec.keys.as_ref().is_some_and(Vec::is_empty) {
                self.err(k.span(), format!("{what} on `{}` has no keys", self.name));
                ok = false;
            }
            let include = self.columns(table, &spec.include, &format!("{what} (include)"));
            let method = spec
                .method
                .clone()
                .unwrap_or_else(|| DEFAULT_INDEX_METHOD.to_string())
                .to_lowercase();
            if spec.unique && method != DEFAULT_INDEX_METHOD {
                ok = false;
                self.err(
                    k.span(),
                    format!(
                        "{what} on `{}`: only btree indexes can be unique, not {method}",
                        self.name
                    ),
                );
            }
            let predicate = spec
                .predicate
                .as_ref()
                .and_then(|p| non_empty(self.diags, p, &format!("{what}: the `where` predicate")));
            let (Some(include), true) = (include, ok) else {
                continue;
            };
            self.places.claim_relation(
                self.diags,
                &self.name.schema,
                &name,
                format!("{what} of `{}`", self.name),
                k.span,
            );
            let renamed_from = spec
                .renamed_from
                .as_ref()
                .and_then(|r| ident(self.diags, r, "index"));
            table.indexes.insert(
                name,
                Index {
                    unique: spec.unique,
                    method,
                    keys,
                    include,
                    predicate,
                    nulls_not_distinct: spec.nulls_not_distinct,
                    renamed_from,
                },
            );
        }
    }

    fn index_key(
        &mut self,
        table: &Table,
        what: &str,
        key: &Located<IndexKeySpec>,
    ) -> Option<IndexKey> {
        let k = &key.value;
        let target = match (&k.column, &k.expression) {
            (Some(c), None) => {
                KeyTarget::Column(self.columns(table, std::slice::from_ref(c), what)?.pop()?)
            }
            (None, Some(e)) => KeyTarget::Expression(non_empty(
                self.diags,
                e,
                &format!("{what}: the key expression"),
            )?),
            _ => {
                self.err(
                    key.span(),
                    format!(
                        "{what} on `{}`: each key needs exactly one of `column` and `expression`",
                        self.name
                    ),
                );
                return None;
            }
        };
        Some(IndexKey {
            target,
            order: match k.order {
                Some(OrderSpec::Desc) => SortOrder::Desc,
                _ => SortOrder::Asc,
            },
            nulls: match (k.nulls, k.order) {
                // Only a non-default NULLS placement is kept, so that
                // `nulls: last` on an ascending key equals leaving it out.
                (Some(NullsSpec::First), Some(OrderSpec::Desc))
                | (Some(NullsSpec::Last), None | Some(OrderSpec::Asc)) => None,
                (Some(NullsSpec::First), _) => Some(NullsOrder::First),
                (Some(NullsSpec::Last), _) => Some(NullsOrder::Last),
                (None, _) => None,
            },
            opclass: k.opclass.clone(),
            collation: k
                .collation
                .as_ref()
                .and_then(|c| ident(self.diags, c, "collation")),
        })
    }

    fn read_checks(&mut self, table: &mut Table, checks: OrderedMap<Checked<TextOr<CheckSpec>>>) {
        for (k, v) in checks.0 {
            let Some(name) = ident(self.diags, &k, "constraint") else {
                continue;
            };
            let Checked::Valid(spec) = v else { continue };
            let (expr, no_inherit, renamed) = match spec {
                TextOr::Text(t) => (
                    Located {
                        value: t,
                        span: k.span,
                    },
                    false,
                    None,
                ),
                TextOr::Map(m) => (m.expression, m.no_inherit, m.renamed_from),
            };
            let Some(expression) = non_empty(
                self.diags,
                &expr,
                &format!("check `{name}` on `{}`: the expression", self.name),
            ) else {
                continue;
            };
            if self.constraint_taken(table, &name, &k) {
                continue;
            }
            let renamed_from = renamed
                .as_ref()
                .and_then(|r| ident(self.diags, r, "constraint"));
            table.checks.insert(
                name,
                Check {
                    expression,
                    no_inherit,
                    renamed_from,
                },
            );
        }
    }

    fn read_foreign_keys(
        &mut self,
        table: &mut Table,
        fks: OrderedMap<Checked<ForeignKeySpec>>,
    ) -> Vec<(Ident, Located<ReferencesSpec>)> {
        let mut out = Vec::new();
        for (k, v) in fks.0 {
            let Some(name) = ident(self.diags, &k, "constraint") else {
                continue;
            };
            let Checked::Valid(spec) = v else { continue };
            let what = format!("foreign key `{name}`");
            if spec.columns.is_empty() {
                self.err(
                    k.span(),
                    format!("{what} on `{}` has no columns", self.name),
                );
                continue;
            }
            let Some(cols) = self.columns(table, &spec.columns, &what) else {
                continue;
            };
            let Some(deferrable) = self.deferrable(&what, spec.deferrable, spec.initially_deferred)
            else {
                continue;
            };
            if self.constraint_taken(table, &name, &k) {
                continue;
            }
            let action = |a: Option<FkActionSpec>| match a {
                None | Some(FkActionSpec::NoAction) => FkAction::NoAction,
                Some(FkActionSpec::Restrict) => FkAction::Restrict,
                Some(FkActionSpec::Cascade) => FkAction::Cascade,
                Some(FkActionSpec::SetNull) => FkAction::SetNull,
                Some(FkActionSpec::SetDefault) => FkAction::SetDefault,
            };
            let renamed_from = spec
                .renamed_from
                .as_ref()
                .and_then(|r| ident(self.diags, r, "constraint"));
            // The referenced side is filled in once every table is read.
            table.foreign_keys.insert(
                name.clone(),
                ForeignKey {
                    columns: cols,
                    ref_table: self.name.clone(),
                    ref_columns: Vec::new(),
                    on_delete: action(spec.on_delete),
                    on_update: action(spec.on_update),
                    match_type: match spec.match_type {
                        Some(FkMatchSpec::Full) => FkMatch::Full,
                        _ => FkMatch::Simple,
                    },
                    deferrable,
                    renamed_from,
                },
            );
            out.push((name, spec.references));
        }
        out
    }

    /// A constraint or index renamed from a name that is still in use in
    /// the target would make the rename ambiguous.
    fn check_constraint_renames(&mut self, table: &Table) {
        let names: BTreeSet<&Ident> = table
            .constraint_names()
            .chain(table.indexes.keys())
            .collect();
        let renamed = table
            .primary_key
            .iter()
            .filter_map(|p| p.renamed_from.as_ref().map(|r| (&p.name, r)))
            .chain(
                table
                    .uniques
                    .iter()
                    .filter_map(|(n, u)| u.renamed_from.as_ref().map(|r| (n, r))),
            )
            .chain(
                table
                    .foreign_keys
                    .iter()
                    .filter_map(|(n, f)| f.renamed_from.as_ref().map(|r| (n, r))),
            )
            .chain(
                table
                    .checks
                    .iter()
                    .filter_map(|(n, c)| c.renamed_from.as_ref().map(|r| (n, r))),
            )
            .chain(
                table
                    .indexes
                    .iter()
                    .filter_map(|(n, i)| i.renamed_from.as_ref().map(|r| (n, r))),
            );
        let mut seen = BTreeSet::new();
        let mut problems = Vec::new();
        for (name, from) in renamed {
            if names.contains(from) {
                problems.push(format!("`{name}` on `{}` is renamed from `{from}`, but `{from}` is still defined in the target", self.name));
            } else if !seen.insert(from) {
                problems.push(format!(
                    "two constraints or indexes on `{}` are renamed from `{from}`",
                    self.name
                ));
            }
        }
        let at = self.places.tables.get(self.name).copied();
        for p in problems {
            self.err(at, p);
        }
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
