//! Tables' constraints (keys, unique constraints, checks, exclusions,
//! foreign keys): their query and the reader that puts them on the
//! tables `tables.rs` read, by the column numbers it kept.

use super::tables::{RowTable, nulls_not_distinct};
use super::*;

pub(super) const CONSTRAINTS: KindQuery = KindQuery::new(
    "constraints",
    |cx| Q_CONSTRAINTS.replace("{NND}", nulls_not_distinct(cx)),
    |r, rows, _| r.constraints(rows),
);

/// `{NND}` is replaced by the PostgreSQL-15 column or `false` before.
const Q_CONSTRAINTS: &str = "
    SELECT n.nspname::text, c.relname::text, con.conname::text, con.contype::text,
           con.conkey::int4[],
           fn.nspname::text, fc.relname::text, fc.relkind::text,
           con.confkey::int4[],
           con.confupdtype::text, con.confdeltype::text, con.confmatchtype::text,
           con.condeferrable, con.condeferred, con.connoinherit,
           CASE WHEN con.contype IN ('c', 'x') THEN pg_get_constraintdef(con.oid, true) END,
           COALESCE((SELECT {NND} FROM pg_index i WHERE i.indexrelid = con.conindid), false),
           NOT con.convalidated
      FROM pg_constraint con
      JOIN pg_class c ON c.oid = con.conrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_class fc ON fc.oid = con.confrelid
      LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace
     WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY($1) AND con.contype IN ('p', 'u', 'f', 'c', 'x')
       AND con.conparentid = 0 AND con.coninhcount = 0
     ORDER BY 1, 2, 3";

impl Reader {
    /// The names of a managed table's columns by their numbers, as a
    /// constraint lists them (none when the list is NULL).
    fn column_names(&self, table: &QualifiedName, numbers: Option<Vec<i32>>) -> Result<Vec<Ident>> {
        let names = self.column_numbers.get(table);
        numbers
            .unwrap_or_default()
            .into_iter()
            .map(|n| {
                names.and_then(|m| m.get(&n)).cloned().ok_or_else(|| {
                    IntrospectError::Unrepresentable {
                        object: format!("table {table}"),
                        detail: format!(
                            "a constraint names column number {n}, which introspection did not read; this is a bellows bug, please report it with the table's definition (\\d+ in psql)"
                        ),
                    }
                })
            })
            .collect()
    }

    pub(super) fn constraints(&mut self, rows: Vec<PgRow>) -> Result<()> {
        const W: &str = "constraints";
        let mut tables = RowTable::default();
        for row in rows {
            let Some(table) = tables.of(&row, &self.managed, W)? else {
                continue;
            };
            let name = ident(get(&row, 2, W)?, "constraint")?;
            let kind: String = get(&row, 3, W)?;
            let cols = self.column_names(table, get(&row, 4, W)?)?;
            let deferrable = match (get::<bool, _>(&row, 12, W)?, get::<bool, _>(&row, 13, W)?) {
                (false, _) => Deferrable::No,
                (true, false) => Deferrable::InitiallyImmediate,
                (true, true) => Deferrable::InitiallyDeferred,
            };
            // Only a check's (or an exclusion's) definition is read.
            let def: Option<String> = get(&row, 15, W)?;
            let def = def.unwrap_or_default();
            // For a message or a note only.
            let identity = |name: &Ident, table: &QualifiedName| {
                format!(
                    "{} on {}",
                    crate::sql::quote_ident(name.as_str()),
                    crate::sql::postgres::qualified(table)
                )
            };
            match kind.as_str() {
                "p" => {
                    if let Some(t) = self.table(table) {
                        t.primary_key = Some(PrimaryKey {
                            name,
                            columns: cols,
                            deferrable,
                            renamed_from: None,
                        });
                    }
                }
                "u" => {
                    let nnd: bool = get(&row, 16, W)?;
                    if let Some(t) = self.table(table) {
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
                            object: format!("check constraint {}", identity(&name, table)),
                            detail: format!("unexpected definition `{def}`"),
                        })?;
                    if let Some(t) = self.table(table) {
                        t.checks.insert(
                            name,
                            Check {
                                expression,
                                no_inherit,
                                not_valid: NotValid(get(&row, 17, W)?),
                                renamed_from: None,
                            },
                        );
                    }
                }
                "f" => {
                    let ref_table = qname(get(&row, 5, W)?, get(&row, 6, W)?, "table")?;
                    if !self.managed.contains(&ref_table) {
                        let identity = identity(&name, table);
                        self.note(
                            UnmanagedKind::ForeignKeyToUnmanaged,
                            identity,
                            Place::Table {
                                table: table.clone(),
                                name,
                            },
                        );
                        continue;
                    }
                    let ref_cols = self.column_names(&ref_table, get(&row, 8, W)?)?;
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
                        ref_columns: ref_cols,
                        on_update: action(get(&row, 9, W)?),
                        on_delete: action(get(&row, 10, W)?),
                        match_type: if get::<String, _>(&row, 11, W)? == "f" {
                            FkMatch::Full
                        } else {
                            FkMatch::Simple
                        },
                        deferrable,
                        not_valid: NotValid(get(&row, 17, W)?),
                        renamed_from: None,
                    };
                    if let Some(t) = self.table(table) {
                        t.foreign_keys.insert(name, fk);
                    }
                }
                "x" => {
                    let definition = exclusion_definition(&def).ok_or_else(|| {
                        IntrospectError::Unrepresentable {
                            object: format!("exclusion constraint {}", identity(&name, table)),
                            detail: format!("unexpected definition `{def}`"),
                        }
                    })?;
                    if let Some(t) = self.table(table) {
                        t.exclusions.insert(
                            name,
                            Exclusion {
                                definition,
                                deferrable,
                                renamed_from: None,
                            },
                        );
                    }
                }
                _ => {}
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

/// What follows `EXCLUDE` in `pg_get_constraintdef`'s text, without the
/// deferrability the catalog says on its own.
fn exclusion_definition(def: &str) -> Option<String> {
    let rest = def.strip_prefix("EXCLUDE ")?;
    let rest = rest
        .strip_suffix(" DEFERRABLE INITIALLY DEFERRED")
        .or_else(|| rest.strip_suffix(" DEFERRABLE"))
        .unwrap_or(rest);
    Some(rest.to_string())
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
