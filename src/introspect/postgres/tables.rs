//! Tables: relations, their columns, constraints and indexes.

use super::*;

impl Reader {
    pub(super) fn relations(&mut self, rows: Vec<PgRow>) -> Result<()> {
        const W: &str = "tables";
        for row in rows {
            let name = qname(get(&row, 0, W)?, get(&row, 1, W)?, "table")?;
            let kind: String = get(&row, 2, W)?;
            let is_partition: bool = get(&row, 3, W)?;
            let persistence: String = get(&row, 4, W)?;
            let comment: Option<String> = get(&row, 5, W)?;
            let inherits: bool = get(&row, 6, W)?;
            let rls: bool = get(&row, 7, W)?;
            let acl: bool = get(&row, 8, W)?;
            let identity: String = get(&row, 9, W)?;
            // No page at all: no row (a table whose rows were deleted
            // keeps its pages until VACUUM truncates them, and counts as
            // not empty).
            let empty: bool = get(&row, 10, W)?;
            if empty {
                self.out.empty_tables.insert(name.clone());
            }
            let unmanaged_kind = match kind.as_str() {
                "v" => Some(UnmanagedKind::View),
                "m" => Some(UnmanagedKind::MaterializedView),
                "f" => Some(UnmanagedKind::ForeignTable),
                "p" => Some(UnmanagedKind::PartitionedTable),
                _ if is_partition => Some(UnmanagedKind::Partition),
                _ if inherits => Some(UnmanagedKind::InheritedTable),
                _ => None,
            };
            if let Some(k) = unmanaged_kind {
                if matches!(kind.as_str(), "p" | "r") {
                    self.unmanaged_tables.insert(name.clone());
                }
                self.note(k, identity, Place::Schema(name));
                continue;
            }
            if persistence == "u" {
                self.note(UnmanagedKind::UnloggedTable, identity.clone(), Place::Other);
            }
            if rls {
                self.note(
                    UnmanagedKind::RowLevelSecurity,
                    identity.clone(),
                    Place::Other,
                );
            }
            if acl {
                self.note(UnmanagedKind::Privileges, identity, Place::Other);
            }
            self.managed.insert(name.clone());
            self.out.schema.tables.insert(
                name,
                Table {
                    comment,
                    ..Table::default()
                },
            );
        }
        Ok(())
    }

    fn table(&mut self, name: &QualifiedName) -> Option<&mut Table> {
        self.out.schema.tables.get_mut(name)
    }

    pub(super) fn columns(&mut self, rows: Vec<PgRow>) -> Result<()> {
        const W: &str = "columns";
        for row in rows {
            let table = qname(get(&row, 0, W)?, get(&row, 1, W)?, "table")?;
            if !self.managed.contains(&table) {
                continue;
            }
            let col_name: String = get(&row, 2, W)?;
            let type_text: String = get(&row, 3, W)?;
            let ty =
                ColumnType::parse(&type_text).map_err(|e| IntrospectError::Unrepresentable {
                    object: format!("column {table}.{col_name}"),
                    detail: format!("type `{type_text}`: {e}"),
                })?;
            let mut c = Column::new(ident(col_name, "column")?, ty);
            let not_null: bool = get(&row, 4, W)?;
            c.nullable = !not_null;
            let expr: Option<String> = get(&row, 5, W)?;
            let identity: String = get(&row, 6, W)?;
            let generated: String = get(&row, 7, W)?;
            c.identity = match identity.as_str() {
                "a" => Some(Identity::Always),
                "d" => Some(Identity::ByDefault),
                _ => None,
            };
            if generated == "s" {
                c.generated = expr;
            } else {
                c.default = expr;
            }
            let collation: Option<String> = get(&row, 8, W)?;
            c.collation = collation.map(|x| ident(x, "collation")).transpose()?;
            c.comment = get(&row, 9, W)?;
            if let Some(t) = self.table(&table) {
                t.columns.push(c);
            }
        }
        Ok(())
    }

    pub(super) fn constraints(&mut self, rows: Vec<PgRow>) -> Result<()> {
        const W: &str = "constraints";
        for row in rows {
            let table = qname(get(&row, 0, W)?, get(&row, 1, W)?, "table")?;
            if !self.managed.contains(&table) {
                continue;
            }
            let name = ident(get(&row, 2, W)?, "constraint")?;
            let kind: String = get(&row, 3, W)?;
            let cols: Vec<String> = get(&row, 4, W)?;
            let cols: Vec<Ident> = cols
                .into_iter()
                .map(|c| ident(c, "column"))
                .collect::<Result<_>>()?;
            let deferrable = match (get::<bool>(&row, 12, W)?, get::<bool>(&row, 13, W)?) {
                (false, _) => Deferrable::No,
                (true, false) => Deferrable::InitiallyImmediate,
                (true, true) => Deferrable::InitiallyDeferred,
            };
            let def: String = get(&row, 15, W)?;
            let identity = format!(
                "{} on {}",
                crate::sql::quote_ident(name.as_str()),
                crate::sql::postgres::qualified(&table)
            );
            match kind.as_str() {
                "p" => {
                    if let Some(t) = self.table(&table) {
                        t.primary_key = Some(PrimaryKey {
                            name,
                            columns: cols,
                            renamed_from: None,
                        });
                    }
                }
                "u" => {
                    let nnd: bool = get(&row, 16, W)?;
                    if let Some(t) = self.table(&table) {
                        t.uniques.insert(
                            name,
                            Unique {
                                columns: cols,
                                nulls_not_distinct: nnd,
                                deferrable,
                                renamed_from: None,
                            },
                        );
                    }
                }
                "c" => {
                    let no_inherit: bool = get(&row, 14, W)?;
                    let expression =
                        check_expression(&def).ok_or_else(|| IntrospectError::Unrepresentable {
                            object: format!("check constraint {identity}"),
                            detail: format!("unexpected definition `{def}`"),
                        })?;
                    if let Some(t) = self.table(&table) {
                        t.checks.insert(
                            name,
                            Check {
                                expression,
                                no_inherit,
                                renamed_from: None,
                            },
                        );
                    }
                }
                "f" => {
                    let ref_table = qname(get(&row, 5, W)?, get(&row, 6, W)?, "table")?;
                    if !self.managed.contains(&ref_table) {
                        self.note(
                            UnmanagedKind::ForeignKeyToUnmanaged,
                            identity,
                            Place::Table { table, name },
                        );
                        continue;
                    }
                    let ref_cols: Vec<String> = get(&row, 8, W)?;
                    let action = |code: String| match code.as_str() {
                        "r" => FkAction::Restrict,
                        "c" => FkAction::Cascade,
                        "n" => FkAction::SetNull,
                        "d" => FkAction::SetDefault,
                        _ => FkAction::NoAction,
                    };
                    let fk = ForeignKey {
                        columns: cols,
                        ref_table,
                        ref_columns: ref_cols
                            .into_iter()
                            .map(|c| ident(c, "column"))
                            .collect::<Result<_>>()?,
                        on_update: action(get(&row, 9, W)?),
                        on_delete: action(get(&row, 10, W)?),
                        match_type: if get::<String>(&row, 11, W)? == "f" {
                            FkMatch::Full
                        } else {
                            FkMatch::Simple
                        },
                        deferrable,
                        renamed_from: None,
                    };
                    if let Some(t) = self.table(&table) {
                        t.foreign_keys.insert(name, fk);
                    }
                }
                _ => self.note(
                    UnmanagedKind::ExclusionConstraint,
                    identity,
                    Place::Table { table, name },
                ),
            }
        }
        Ok(())
    }

    pub(super) fn indexes(&mut self, rows: Vec<PgRow>) -> Result<()> {
        const W: &str = "indexes";
        for row in rows {
            let table = qname(get(&row, 0, W)?, get(&row, 1, W)?, "table")?;
            if !self.managed.contains(&table) {
                continue;
            }
            let name = ident(get(&row, 2, W)?, "index")?;
            let valid: bool = get(&row, 6, W)?;
            if !valid {
                let identity = format!(
                    "{}.{}",
                    crate::sql::quote_ident(table.schema.as_str()),
                    crate::sql::quote_ident(name.as_str())
                );
                self.note(
                    UnmanagedKind::InvalidIndex,
                    identity,
                    Place::Schema(QualifiedName::new(table.schema.clone(), name)),
                );
                continue;
            }
            let nkey: i32 = get(&row, 5, W)?;
            let cols: Vec<Option<String>> = get(&row, 7, W)?;
            let defs: Vec<String> = get(&row, 8, W)?;
            let options: Vec<i32> = get(&row, 9, W)?;
            let opclasses: Vec<Option<String>> = get(&row, 10, W)?;
            let collations: Vec<Option<String>> = get(&row, 11, W)?;
            let mut keys = Vec::new();
            let mut include = Vec::new();
            for (i, (col, def)) in cols.into_iter().zip(defs).enumerate() {
                if i as i32 >= nkey {
                    if let Some(c) = col {
                        include.push(ident(c, "column")?);
                    }
                    continue;
                }
                let opt = options.get(i).copied().unwrap_or(0);
                let desc = opt & 1 != 0;
                let nulls_first = opt & 2 != 0;
                let order = if desc {
                    SortOrder::Desc
                } else {
                    SortOrder::Asc
                };
                // Only a placement that differs from the direction's default.
                let nulls = match (desc, nulls_first) {
                    (false, true) => Some(NullsOrder::First),
                    (true, false) => Some(NullsOrder::Last),
                    _ => None,
                };
                let target = match col {
                    Some(c) => KeyTarget::Column(ident(c, "column")?),
                    None => KeyTarget::Expression(def),
                };
                keys.push(IndexKey {
                    target,
                    order,
                    nulls,
                    opclass: opclasses.get(i).cloned().flatten(),
                    collation: collations
                        .get(i)
                        .cloned()
                        .flatten()
                        .map(|c| ident(c, "collation"))
                        .transpose()?,
                });
            }
            let index = Index {
                unique: get(&row, 3, W)?,
                method: get(&row, 4, W)?,
                keys,
                include,
                predicate: get(&row, 12, W)?,
                nulls_not_distinct: get(&row, 13, W)?,
                renamed_from: None,
            };
            if let Some(t) = self.table(&table) {
                t.indexes.insert(name, index);
            }
        }
        Ok(())
    }
}

/// `CHECK (expr)[ NO INHERIT][ NOT VALID]` → `expr`, with one pair of
/// parentheses around the whole expression removed, since PostgreSQL adds
/// them and people do not write them.
pub fn check_expression(def: &str) -> Option<String> {
    let rest = def.strip_prefix("CHECK ")?;
    let inner = balanced_prefix(rest)?;
    let mut expr = inner.trim().to_string();
    while expr.starts_with('(') && balanced_prefix(&expr).map(str::len) == Some(expr.len() - 2) {
        expr = expr[1..expr.len() - 1].trim().to_string();
    }
    Some(expr)
}

/// For text starting with `(`, the contents up to the matching `)`,
/// skipping parentheses inside string literals and quoted identifiers.
fn balanced_prefix(text: &str) -> Option<&str> {
    if !text.starts_with('(') {
        return None;
    }
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth -= 1;
                if depth == 0 {
                    return Some(&text[1..i]);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_definitions_lose_the_wrapper() {
        assert_eq!(
            check_expression("CHECK ((price > 0))").as_deref(),
            Some("price > 0")
        );
        assert_eq!(
            check_expression("CHECK (price > 0) NOT VALID").as_deref(),
            Some("price > 0")
        );
        assert_eq!(
            check_expression("CHECK ((a > 0) AND (b > 0)) NO INHERIT").as_deref(),
            Some("(a > 0) AND (b > 0)")
        );
        assert_eq!(
            check_expression("CHECK (x <> ')'::text)").as_deref(),
            Some("x <> ')'::text")
        );
        assert_eq!(check_expression("UNIQUE (x)"), None);
    }
}
