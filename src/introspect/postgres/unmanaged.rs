//! What bellows does not manage (views, functions, triggers, ...): named
//! in a warning, with what each depends on, so a change that would break
//! one is refused.

use super::*;

impl Reader {
    pub(super) fn unmanaged(&mut self, rows: Vec<PgRow>) -> Result<()> {
        const W: &str = "unmanaged objects";
        for row in rows {
            let kind: String = get(&row, 0, W)?;
            let identity: String = get(&row, 1, W)?;
            let schema: Option<String> = get(&row, 2, W)?;
            let name: Option<String> = get(&row, 3, W)?;
            let table: Option<String> = get(&row, 4, W)?;
            let place = match (schema, name, table) {
                (Some(s), Some(n), Some(t)) => Place::Table {
                    table: qname(s, t, "table")?,
                    name: ident(n, "name")?,
                },
                (Some(s), Some(n), None) => Place::Schema(qname(s, n, "name")?),
                _ => Place::Other,
            };
            let kind = match kind.as_str() {
                "procedure" => UnmanagedKind::Procedure,
                "aggregate" => UnmanagedKind::Aggregate,
                "trigger" => UnmanagedKind::Trigger,
                "domain" => UnmanagedKind::Domain,
                "range" => UnmanagedKind::RangeType,
                "composite" => UnmanagedKind::CompositeType,
                "policy" => UnmanagedKind::Policy,
                "rule" => UnmanagedKind::Rule,
                "collation" => UnmanagedKind::Collation,
                "event trigger" => UnmanagedKind::EventTrigger,
                _ => UnmanagedKind::Function,
            };
            self.note(kind, identity, place);
        }
        Ok(())
    }

    pub(super) fn dependencies(&mut self, rows: Vec<PgRow>) -> Result<()> {
        const W: &str = "dependencies";
        let mut deps: BTreeMap<String, BTreeSet<ColumnRef>> = BTreeMap::new();
        for row in rows {
            let view: Option<String> = get(&row, 0, W)?;
            let object: String = get(&row, 1, W)?;
            let table = qname(get(&row, 2, W)?, get(&row, 3, W)?, "table")?;
            if !self.managed.contains(&table) {
                continue;
            }
            let column: Option<String> = get(&row, 4, W)?;
            let column = column.map(|c| ident(c, "column")).transpose()?;
            deps.entry(view.unwrap_or(object))
                .or_default()
                .insert(ColumnRef {
                    table,
                    column,
                    via: Via::Catalog,
                });
        }
        // Views are keyed by their relation identity (see the query), the
        // rest by their own; both are pg_identify_object's text.
        for u in &mut self.out.unmanaged {
            if let Some(d) = deps.get(&u.identity) {
                u.depends_on = d.iter().cloned().collect();
            }
        }
        Ok(())
    }

    /// The columns each trigger's function refers to, where the catalog
    /// does not say (it records only `UPDATE OF` and `WHEN`): `NEW.col` and
    /// `OLD.col` in PL/pgSQL, the column's name in other languages'
    /// source, and column names among the arguments of a C function (as
    /// `tsvector_update_trigger` takes them).
    pub(super) fn trigger_bodies(&mut self, rows: Vec<PgRow>) -> Result<()> {
        const W: &str = "trigger functions";
        let mut deps: BTreeMap<String, BTreeSet<ColumnRef>> = BTreeMap::new();
        for row in rows {
            let identity: String = get(&row, 0, W)?;
            let table = qname(get(&row, 1, W)?, get(&row, 2, W)?, "table")?;
            let language: String = get(&row, 3, W)?;
            let source: Option<String> = get(&row, 4, W)?;
            let args: Vec<u8> = get(&row, 5, W)?;
            let Some(t) = self.out.schema.tables.get(&table) else {
                continue;
            };
            let args: Vec<String> = args
                .split(|b| *b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            let source = source.unwrap_or_default();
            for c in &t.columns {
                let name = c.name.as_str();
                let used = match language.as_str() {
                    "c" | "internal" => args.iter().any(|a| a == name),
                    "plpgsql" => plpgsql_row_reference(&source, name),
                    _ => mentions_word(&source, name) || args.iter().any(|a| a == name),
                };
                if used {
                    deps.entry(identity.clone()).or_default().insert(ColumnRef {
                        table: table.clone(),
                        column: Some(c.name.clone()),
                        via: Via::Body,
                    });
                }
            }
        }
        for u in &mut self.out.unmanaged {
            if let Some(d) = deps.get(&u.identity) {
                u.depends_on.extend(d.iter().cloned());
                u.depends_on.sort();
                u.depends_on.dedup();
            }
        }
        Ok(())
    }
}

/// Whether PL/pgSQL source refers to `NEW.<column>` or `OLD.<column>`
/// (keywords and unquoted names in any case, the name quoted when it must
/// be, spaces around the dot allowed).
fn plpgsql_row_reference(source: &str, column: &str) -> bool {
    let lower = source.to_ascii_lowercase();
    let quoted = crate::sql::needs_quotes(column);
    let target = if quoted {
        format!("\"{}\"", column.replace('"', "\"\""))
    } else {
        column.to_string()
    };
    for record in ["new", "old"] {
        for (i, _) in lower.match_indices(record) {
            let before = lower[..i].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == '.') {
                continue;
            }
            let rest = lower[i + record.len()..].trim_start();
            let Some(rest) = rest.strip_prefix('.') else {
                continue;
            };
            let rest = rest.trim_start();
            // Quoted names are compared as written; unquoted ones fold.
            let start = source.len() - rest.len();
            let tail = if quoted { &source[start..] } else { rest };
            if let Some(after) = tail.strip_prefix(target.as_str()) {
                let next = after.chars().next();
                if quoted || !next.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
                    return true;
                }
            }
        }
    }
    false
}

/// Whether `text` has `word` as a whole word (case-insensitive for a name
/// that needs no quotes), or in double or single quotes.
fn mentions_word(text: &str, word: &str) -> bool {
    if text.contains(&format!("\"{word}\"")) || text.contains(&format!("'{word}'")) {
        return true;
    }
    let (hay, needle) = if crate::sql::needs_quotes(word) {
        (text.to_string(), word.to_string())
    } else {
        (text.to_ascii_lowercase(), word.to_string())
    };
    hay.match_indices(&needle).any(|(i, _)| {
        let w = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$');
        !w(hay[..i].chars().next_back()) && !w(hay[i + needle.len()..].chars().next())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plpgsql_row_references_are_found_and_others_are_not() {
        let body = "BEGIN NEW.updated_at := now(); IF old . Email IS DISTINCT FROM new.\"Mixed\" THEN END IF; x := new_total; RETURN NEW; END";
        assert!(plpgsql_row_reference(body, "updated_at"));
        assert!(plpgsql_row_reference(body, "email"));
        assert!(plpgsql_row_reference(body, "Mixed"));
        assert!(!plpgsql_row_reference(body, "total"));
        assert!(!plpgsql_row_reference(body, "updated"));
        assert!(!plpgsql_row_reference(body, "mixed"));
    }
}
