//! Triggers on managed tables (and `INSTEAD OF` triggers on managed
//! views): timing, events and level from `tgtype`,
//! the `UPDATE OF` columns, the `WHEN` condition as `pg_get_triggerdef`
//! prints it, the function and its arguments, whether it is enabled, and
//! its comment, its transition tables (`REFERENCING`), and for a
//! constraint trigger whether it is deferrable. A constraint trigger
//! `FROM` another table and the sync triggers of a migration in flight
//! stay unmanaged.

use super::*;

pub(super) const KIND: KindQuery = KindQuery::new(
    "triggers",
    |_| Q_TRIGGERS.into(),
    |r, rows, _| r.triggers(rows),
);

/// Which triggers are managed (the unmanaged query leaves them out).
macro_rules! managed_trigger {
    () => {
        "NOT tg.tgisinternal AND tg.tgconstrrelid = 0 AND tg.tgname NOT LIKE '%\\_bellows\\_sync'
         AND ((c.relkind = 'v' AND tg.tgtype & 64 <> 0) OR (c.relkind IN ('r', 'p')
              AND NOT EXISTS (SELECT 1 FROM pg_depend pd WHERE pd.classid = 'pg_trigger'::regclass
                                 AND pd.objid = tg.oid AND pd.deptype = 'P')))"
    };
}
pub(super) use managed_trigger;

const Q_TRIGGERS: &str = concat!(
    "SELECT n.nspname::text, c.relname::text, tg.tgname::text, tg.tgtype::int4,
            array(SELECT a.attname::text FROM unnest(tg.tgattr) WITH ORDINALITY u(num, ord)
                    JOIN pg_attribute a ON a.attrelid = tg.tgrelid AND a.attnum = u.num ORDER BY u.ord),
            pg_get_triggerdef(tg.oid, true), pn.nspname::text, p.proname::text, tg.tgargs,
            tg.tgenabled::text, d.description, tg.tgoldtable::text, tg.tgnewtable::text,
            tg.tgconstraint <> 0, tg.tgdeferrable, tg.tginitdeferred
       FROM pg_trigger tg
       JOIN pg_class c ON c.oid = tg.tgrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_proc p ON p.oid = tg.tgfoid
       JOIN pg_namespace pn ON pn.oid = p.pronamespace
       LEFT JOIN pg_description d ON d.objoid = tg.oid AND d.classoid = 'pg_trigger'::regclass
      WHERE ",
    managed_trigger!(),
    " AND n.nspname = ANY($1)
      ORDER BY 1, 2, 3"
);

// tgtype's bits (PostgreSQL's trigger.h).
const ROW: i32 = 1;
const BEFORE: i32 = 2;
const INSERT: i32 = 4;
const DELETE: i32 = 8;
const UPDATE: i32 = 16;
const TRUNCATE: i32 = 32;
const INSTEAD: i32 = 64;

impl Reader {
    fn triggers(&mut self, rows: Vec<PgRow>) -> Result<()> {
        const W: &str = "triggers";
        for row in rows {
            let table = qname(get(&row, 0, W)?, get(&row, 1, W)?, "table")?;
            let name = ident(get(&row, 2, W)?, "trigger")?;
            let on_view = self.out.schema.views.contains_key(&table);
            if !self.out.schema.tables.contains_key(&table) && !on_view {
                continue;
            }
            let key = TriggerKey { table, name };
            let unrepresentable = |detail: String| IntrospectError::Unrepresentable {
                object: format!("trigger {key}"),
                detail,
            };
            let ty: i32 = get(&row, 3, W)?;
            if (ty & INSTEAD != 0) != on_view {
                return Err(unrepresentable(
                    "a view's trigger that is not INSTEAD OF (or the other way round)".into(),
                ));
            }
            let columns: Vec<String> = get(&row, 4, W)?;
            let def: String = get(&row, 5, W)?;
            let function = qname(get(&row, 6, W)?, get(&row, 7, W)?, "function")?;
            let args: Vec<u8> = get(&row, 8, W)?;
            let enabled: String = get(&row, 9, W)?;
            let mut arguments: Vec<String> = args
                .split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            // tgargs ends each argument with a NUL.
            if arguments.last().is_some_and(String::is_empty) {
                arguments.pop();
            }
            let update = if ty & UPDATE != 0 {
                let mut cols = Vec::with_capacity(columns.len());
                for c in columns {
                    cols.push(ident(c, "column")?);
                }
                Some(cols)
            } else {
                None
            };
            let trigger = Trigger {
                timing: if ty & INSTEAD != 0 {
                    Timing::InsteadOf
                } else if ty & BEFORE != 0 {
                    Timing::Before
                } else {
                    Timing::After
                },
                insert: ty & INSERT != 0,
                update,
                delete: ty & DELETE != 0,
                truncate: ty & TRUNCATE != 0,
                for_each_row: ty & ROW != 0,
                when: when_of(&def),
                function,
                arguments,
                enabled: match enabled.as_str() {
                    "D" => Enabled::Disabled,
                    "R" => Enabled::Replica,
                    "A" => Enabled::Always,
                    _ => Enabled::Origin,
                },
                comment: get(&row, 10, W)?,
                old_table: get::<Option<String>, _>(&row, 11, W)?
                    .map(|n| ident(n, "transition table"))
                    .transpose()?,
                new_table: get::<Option<String>, _>(&row, 12, W)?
                    .map(|n| ident(n, "transition table"))
                    .transpose()?,
                constraint: match (
                    get::<bool, _>(&row, 13, W)?,
                    get::<bool, _>(&row, 14, W)?,
                    get::<bool, _>(&row, 15, W)?,
                ) {
                    (false, ..) => None,
                    (true, false, _) => Some(Deferrable::No),
                    (true, true, false) => Some(Deferrable::InitiallyImmediate),
                    (true, true, true) => Some(Deferrable::InitiallyDeferred),
                },
            };
            self.out.schema.triggers.insert(key, trigger);
        }
        Ok(())
    }
}

/// The `WHEN` condition of a trigger definition as `pg_get_triggerdef`
/// prints it (`... FOR EACH ROW WHEN (cond) EXECUTE FUNCTION f(...)`).
fn when_of(def: &str) -> Option<String> {
    let start = def.find(" WHEN (")? + " WHEN (".len();
    let end = def.rfind(") EXECUTE FUNCTION ")?;
    (end > start).then(|| def[start..end].trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_when_condition_is_found_in_the_definition() {
        assert_eq!(
            when_of("CREATE TRIGGER t BEFORE UPDATE ON x FOR EACH ROW WHEN ((old.a IS DISTINCT FROM new.a)) EXECUTE FUNCTION f('x')").as_deref(),
            Some("(old.a IS DISTINCT FROM new.a)")
        );
        assert_eq!(
            when_of("CREATE TRIGGER t BEFORE UPDATE ON x FOR EACH ROW EXECUTE FUNCTION f()"),
            None
        );
    }
}
