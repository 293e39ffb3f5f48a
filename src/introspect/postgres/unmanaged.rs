//! What bellows does not manage (views, functions, triggers, ...): named
//! in a warning, with what each depends on, so a change that would break
//! one is refused.

use super::*;

pub(super) const UNMANAGED: KindQuery = KindQuery::new(
    "functions, triggers, types and policies",
    |_| Q_UNMANAGED.into(),
    |r, rows, _| r.unmanaged(rows),
);
pub(super) const DEPENDENCIES: KindQuery = KindQuery::new(
    "dependencies",
    |_| Q_DEPENDENCIES.into(),
    |r, rows, _| r.dependencies(rows),
);
pub(super) const TRIGGER_BODIES: KindQuery = KindQuery::new(
    "trigger functions",
    |_| Q_TRIGGER_BODIES.into(),
    |r, rows, _| r.trigger_bodies(rows),
);

/// Every object of a kind bellows does not model, by its catalog identity,
/// with its name: schema and name, and for a table's own objects (triggers,
/// policies, rules) the table.
const Q_UNMANAGED: &str = concat!(
    "SELECT kind, identity, schema_name, object_name, table_name FROM (
       SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END AS kind,
              (pg_identify_object('pg_proc'::regclass, p.oid, 0)).identity AS identity,
              n.nspname::text AS schema_name, p.proname::text AS object_name, NULL::text AS table_name
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = ANY($1) AND ", not_extension_member!("pg_proc", "p.oid"), "
          AND (p.prokind NOT IN ('f', 'p') OR p.proname LIKE '%\\_bellows\\_sync')
          AND NOT (p.prokind = 'a' AND EXISTS (SELECT 1 FROM pg_aggregate a
                                                 WHERE a.aggfnoid = p.oid AND ", super::aggregate::simple_aggregate!(), "))
       UNION ALL
       SELECT 'trigger', (pg_identify_object('pg_trigger'::regclass, tg.oid, 0)).identity,
              n.nspname::text, tg.tgname::text, c.relname::text
         FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE NOT tg.tgisinternal AND n.nspname = ANY($1) AND NOT (", super::trigger::managed_trigger!(), ")
          AND NOT EXISTS (SELECT 1 FROM pg_depend pd WHERE pd.classid = 'pg_trigger'::regclass
                             AND pd.objid = tg.oid AND pd.deptype = 'P')
       UNION ALL
       SELECT 'rule', (pg_identify_object('pg_rewrite'::regclass, r.oid, 0)).identity,
              n.nspname::text, r.rulename::text, c.relname::text
         FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE r.rulename <> '_RETURN' AND n.nspname = ANY($1)
       UNION ALL
       SELECT 'event trigger', evtname::text, NULL, NULL, NULL FROM pg_event_trigger
       UNION ALL
       SELECT 'publication membership', (pg_identify_object('pg_publication_rel'::regclass, pr.oid, 0)).identity,
              NULL, NULL, NULL
         FROM pg_publication_rel pr JOIN pg_class c ON c.oid = pr.prrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY($1)
     ) u ORDER BY 1, 2"
);

/// What depends on managed tables' columns and (materialized) views:
/// triggers, policies, rules and functions that record it, publications
/// (a membership follows the table itself; a column list or row filter
/// refuses the column's drop or retype) and statistics objects (which
/// follow their columns).
const Q_DEPENDENCIES: &str = "
    SELECT CASE WHEN d.classid = 'pg_rewrite'::regclass
                THEN (SELECT (pg_identify_object('pg_class'::regclass, r.ev_class, 0)).identity
                        FROM pg_rewrite r WHERE r.oid = d.objid AND r.rulename = '_RETURN')
                ELSE NULL END AS view_identity,
           (pg_identify_object(d.classid, d.objid, 0)).identity,
           tn.nspname::text, tc.relname::text, a.attname::text,
           d.classid = 'pg_statistic_ext'::regclass
             OR (d.classid = 'pg_publication_rel'::regclass AND d.refobjsubid = 0)
      FROM pg_depend d
      JOIN pg_class tc ON tc.oid = d.refobjid
      JOIN pg_namespace tn ON tn.oid = tc.relnamespace
      LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid AND d.refobjsubid > 0
     WHERE d.refclassid = 'pg_class'::regclass AND tc.relkind IN ('r', 'p', 'v', 'm') AND tn.nspname = ANY($1)
       AND d.deptype IN ('n', 'a')
       AND d.classid IN ('pg_rewrite'::regclass, 'pg_trigger'::regclass, 'pg_policy'::regclass, 'pg_proc'::regclass,
                         'pg_publication_rel'::regclass, 'pg_statistic_ext'::regclass)
     ORDER BY 1, 2, 3, 4, 5";

/// Triggers with what their function says: its language and source, and
/// the trigger's arguments (NUL-separated), to find the columns a trigger
/// refers to where the catalog does not record it.
const Q_TRIGGER_BODIES: &str = "
    SELECT (pg_identify_object('pg_trigger'::regclass, tg.oid, 0)).identity,
           n.nspname::text, c.relname::text, l.lanname::text, p.prosrc, tg.tgargs
      FROM pg_trigger tg
      JOIN pg_class c ON c.oid = tg.tgrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_proc p ON p.oid = tg.tgfoid
      JOIN pg_language l ON l.oid = p.prolang
     WHERE NOT tg.tgisinternal AND n.nspname = ANY($1)
     ORDER BY 1";

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
                "policy" => UnmanagedKind::Policy,
                "rule" => UnmanagedKind::Rule,
                "event trigger" => UnmanagedKind::EventTrigger,
                "publication membership" => UnmanagedKind::PublicationMembership,
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
            let identity: bool = get(&row, 5, W)?;
            deps.entry(view.unwrap_or(object))
                .or_default()
                .insert(ColumnRef {
                    table,
                    column,
                    via: if identity {
                        Via::Identity
                    } else {
                        Via::Catalog
                    },
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
                    "plpgsql" => crate::sql::row_reference(&source, name),
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
