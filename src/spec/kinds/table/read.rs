//! Reading one table's entry: columns (with serial, identity and
//! generated rules), keys, unique constraints and foreign keys, each
//! checked against the table's own columns (indexes are read in
//! `index.rs`, checks and exclusions in `read_sql.rs`).

use std::collections::{BTreeMap, BTreeSet};

use super::column_names::named_columns;
use super::*;
use crate::spec::error::Span;
use crate::spec::read::{About, Diags, Places, ident, sql_expression};

pub(super) struct TableReader<'a> {
    pub diags: &'a mut Diags,
    pub places: &'a mut Places,
    pub name: &'a QualifiedName,
    pub sequences: &'a mut BTreeMap<QualifiedName, Sequence>,
    /// The schema's comments, where those of constraints and indexes go.
    pub comments: &'a mut Comments,
    /// Names of column entries that did not read; references to them are
    /// not reported again.
    pub broken: BTreeSet<String>,
    /// The relation's columns are not in the file (a materialized view's
    /// come from its query): names are not checked against them here,
    /// but by the planner against what the server says the query gives.
    pub open_columns: bool,
}

impl TableReader<'_> {
    /// The comment `c`, if any, on constraint `name` of this table.
    pub(super) fn constraint_comment(&mut self, name: &Ident, c: Option<String>) {
        if let Some(c) = c {
            self.comments
                .insert(CommentOn::Constraint(self.name.clone(), name.clone()), c);
        }
    }

    /// `name` (an index, or a key's index) takes a relation name in the
    /// table's schema.
    pub(super) fn claim_in_schema(&mut self, name: &Ident, what: &str, span: Span) {
        self.places.claim_relation(
            self.diags,
            &self.name.schema,
            name,
            format!("{what} of `{}`", self.name),
            span,
        );
    }

    pub(super) fn err(&mut self, span: Option<Span>, message: impl Into<String>) {
        self.diags.push(Diagnostic::new(span, message));
    }

    /// Column names that must exist in the table.
    pub(super) fn columns(
        &mut self,
        table: &Table,
        list: &[Located<String>],
        what: &str,
    ) -> Option<Vec<Ident>> {
        self.columns_of(table, list, what, false)
    }

    /// Index keys may repeat a column (PostgreSQL allows it); constraints may not.
    pub(super) fn columns_of(
        &mut self,
        table: &Table,
        list: &[Located<String>],
        what: &str,
        repeats: bool,
    ) -> Option<Vec<Ident>> {
        let what = format!("{what} on `{}`", self.name);
        named_columns(
            self.diags,
            table,
            list,
            &what,
            repeats,
            self.open_columns,
            &self.broken,
        )
    }

    /// One table's entry; a partition's `inherited` columns are its
    /// root's, which its keys and indexes are checked against.
    pub fn read(
        &mut self,
        spec: TableSpec,
        inherited: Vec<Column>,
    ) -> (Table, Vec<(Ident, Located<ReferencesSpec>)>) {
        let mut table = Table {
            columns: inherited,
            comment: spec.comment,
            unlogged: spec.unlogged,
            strict: spec.strict,
            without_rowid: spec.without_rowid,
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
        let what = format!("table `{}`", self.name);
        table.storage = self.read_storage(crate::sql::postgres::ON_TABLE, &spec.with, &what);
        self.read_columns(&mut table, spec.columns);
        self.read_primary_key(&mut table, spec.primary_key);
        self.read_uniques(&mut table, spec.unique);
        self.read_indexes(&mut table, spec.indexes);
        self.read_checks(&mut table, spec.checks);
        self.read_exclusions(&mut table, spec.exclusions);
        let fks = self.read_foreign_keys(&mut table, spec.foreign_keys);
        table.replica_identity = self.read_replica_identity(&table, spec.replica_identity);
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
            let Some(col) = self.read_column(name, spec, &mut renamed) else {
                self.broken.insert(k.value.clone());
                continue;
            };
            match table.columns.iter().position(|o| o.name == col.name) {
                // A column it inherits, stated again.
                Some(i) => {
                    if !self.merge_inherited(&mut table.columns[i], col, k.span()) {
                        self.broken.insert(k.value.clone());
                    }
                }
                None => table.columns.push(col),
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
        let table = self.name;
        let what = About("column", &name, "of", table);
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
        let what = format!("column `{name}` of `{}`", self.name);
        let settings = (spec.statistics, spec.storage, spec.compression, spec.with);
        col.default = spec
            .default
            .as_ref()
            .and_then(|d| sql_expression(self.diags, d, &format_args!("{what}: the default")));
        col.generated = spec.generated.as_ref().and_then(|g| {
            sql_expression(
                self.diags,
                g,
                &format_args!("{what}: the generated expression"),
            )
        });
        col.backfill = spec.backfill.as_ref().and_then(|b| {
            sql_expression(
                self.diags,
                b,
                &format_args!("{what}: the backfill expression"),
            )
        });
        col.collation = spec
            .collation
            .as_ref()
            .and_then(|c| ident(self.diags, c, "collation"));
        if let Some(i) = &spec.identity {
            self.read_identity(&mut col, i, &what);
        }
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
        super::storage::column_settings(self.diags, &mut col, settings, &what);
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
            col.identity_options = col.identity_options.canonical(&col.ty);
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
        let (name, columns, renamed_from, deferrable, deferred, comment) = match pk.value {
            ListOr::List(cols) => (None, cols, None, None, false, None),
            ListOr::Map(m) => (
                m.name,
                m.columns,
                m.renamed_from,
                m.deferrable,
                m.initially_deferred,
                m.comment,
            ),
        };
        let Some(deferrable) = self.deferrable("the primary key", deferrable, deferred) else {
            return;
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
        self.constraint_comment(&name, comment);
        table.primary_key = Some(PrimaryKey {
            name,
            columns: cols,
            deferrable,
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
            let (columns, nnd, deferrable, deferred, renamed, comment) = match spec {
                ListOr::List(c) => (c, false, None, false, None, None),
                ListOr::Map(m) => (
                    m.columns,
                    m.nulls_not_distinct,
                    m.deferrable,
                    m.initially_deferred,
                    m.renamed_from,
                    m.comment,
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
            self.claim_in_schema(&name, &what, k.span);
            let renamed_from = renamed
                .as_ref()
                .and_then(|r| ident(self.diags, r, "constraint"));
            self.constraint_comment(&name, comment);
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

    pub(super) fn deferrable(
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
    pub(super) fn constraint_taken(
        &mut self,
        table: &Table,
        name: &Ident,
        at: &Located<String>,
    ) -> bool {
        if table.constraint_names().any(|n| n == name) {
            self.diags.push(
                Diagnostic::new(at.span(), format!("constraint `{name}` on `{}` is defined twice", self.name))
                    .help("primary key, unique, check, exclusion and foreign key names share one namespace per table"),
            );
            true
        } else {
            false
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
            self.constraint_comment(&name, spec.comment.clone());
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
                    not_valid: NotValid(spec.not_valid),
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
