//! Views: the query as the server prints it (`pg_get_viewdef`, with
//! `search_path = public`), their options and columns, and what each
//! reads (from its rewrite rule's dependencies).

use super::*;

pub(super) const KIND: KindQuery =
    KindQuery::new("views", |_| Q_VIEWS.into(), |r, rows, _| r.views(rows));
pub(super) const READS: KindQuery = KindQuery::new(
    "what views read",
    |_| Q_VIEW_READS.into(),
    |r, rows, _| r.view_reads(rows),
);

/// A view's columns' names and types, as two arrays in attribute order.
macro_rules! view_columns {
    () => {
        "array(SELECT a.attname::text FROM pg_attribute a
                WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum),
         array(SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
                WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum)"
    };
}

const Q_VIEWS: &str = concat!(
    "SELECT n.nspname::text, c.relname::text, pg_get_viewdef(c.oid, true),
            coalesce(c.reloptions::text[], '{}'), d.description, ",
    view_columns!(),
    ",
            CASE WHEN c.relowner <> (SELECT r.oid FROM pg_roles r WHERE r.rolname = current_user)
                 THEN pg_get_userbyid(c.relowner)::text END,
            ",
    grant_arrays!("c.relacl", "c.relowner"),
    ",
            c.relkind = 'm'
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_description d ON d.objoid = c.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0
      WHERE c.relkind IN ('v', 'm') AND n.nspname = ANY($1) AND ",
    not_extension_member!("pg_class", "c.oid"),
    " ORDER BY 1, 2"
);

/// The relations and columns the rule of each view `$which` picks
/// depends on (a view over a view depends on the other view; a column by
/// number, 0 for the whole relation): the view, the relation and its
/// column, and whether the relation is a temporary one.
macro_rules! view_reads {
    ($which:literal, $order:literal) => {
        concat!(
            "SELECT vn.nspname::text, v.relname::text, tn.nspname::text, t.relname::text,
                    a.attname::text, t.relnamespace = pg_my_temp_schema()
               FROM pg_rewrite r
               JOIN pg_class v ON v.oid = r.ev_class
               JOIN pg_namespace vn ON vn.oid = v.relnamespace
               JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
                               AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> r.ev_class
               JOIN pg_class t ON t.oid = d.refobjid
               JOIN pg_namespace tn ON tn.oid = t.relnamespace
               LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid AND d.refobjsubid > 0
              WHERE r.rulename = '_RETURN' AND ",
            $which,
            " ORDER BY ",
            $order
        )
    };
}

const Q_VIEW_READS: &str = view_reads!(
    "v.relkind IN ('v', 'm') AND vn.nspname = ANY($1)",
    "1, 2, 3, 4, 5"
);

impl Reader {
    fn views(&mut self, rows: Vec<PgRow>) -> Result<()> {
        const W: &str = "views";
        for row in rows {
            let name = qname(get(&row, 0, W)?, get(&row, 1, W)?, "view")?;
            let query: Option<String> = get(&row, 2, W)?;
            let options: Vec<String> = get(&row, 3, W)?;
            let comment: Option<String> = get(&row, 4, W)?;
            let names: Vec<String> = get(&row, 5, W)?;
            let types: Vec<String> = get(&row, 6, W)?;
            let materialized: bool = get(&row, 11, W)?;
            let mut view = View::new(&query.unwrap_or_default());
            view.comment = comment;
            if materialized {
                // Its indexes come with the tables'.
                view.materialized = Some(Materialized::default());
            }
            apply_options(&mut view, &options).map_err(|detail| {
                IntrospectError::Unrepresentable {
                    object: format!("{} {name}", view.kind_name()),
                    detail,
                }
            })?;
            let mut columns = Vec::with_capacity(names.len());
            for (n, t) in names.into_iter().zip(types) {
                columns.push((ident(n, "view column")?, t));
            }
            let owner: Option<String> = get(&row, 7, W)?;
            let grants = grants(&row, 8, W)?;
            view.facts = Some(ViewFacts {
                reads: Vec::new(),
                columns,
                grants,
                owner: owner.map(|o| ident(o, "role")).transpose()?,
            });
            self.managed.insert(name.clone());
            self.out.schema.views.insert(name, view);
        }
        Ok(())
    }

    fn view_reads(&mut self, rows: Vec<PgRow>) -> Result<()> {
        const W: &str = "what views read";
        for row in rows {
            let view = qname(get(&row, 0, W)?, get(&row, 1, W)?, "view")?;
            let table = qname(get(&row, 2, W)?, get(&row, 3, W)?, "relation")?;
            let column: Option<String> = get(&row, 4, W)?;
            let column = column.map(|c| ident(c, "column")).transpose()?;
            if let Some(facts) = self
                .out
                .schema
                .views
                .get_mut(&view)
                .and_then(|v| v.facts.as_mut())
            {
                facts.reads.push(ColumnRef {
                    table,
                    column,
                    via: Via::Catalog,
                });
            }
        }
        Ok(())
    }
}

/// A view's `reloptions` (`check_option=local`, `security_barrier=true`,
/// ...) into the model, a materialized view's storage parameters
/// (`fillfactor=70`) too; one bellows does not know is an error, not lost.
pub(crate) fn apply_options(
    view: &mut View,
    options: &[String],
) -> std::result::Result<(), String> {
    let mut storage = Vec::new();
    for o in options {
        let (k, v) = o.split_once('=').unwrap_or((o.as_str(), "true"));
        let flag = || match v.to_ascii_lowercase().as_str() {
            "true" | "on" | "yes" | "1" => Ok(true),
            "false" | "off" | "no" | "0" => Ok(false),
            _ => Err(format!("option {o} is not a boolean")),
        };
        match k {
            "check_option" => {
                view.check_option = match v {
                    "local" => Some(CheckOption::Local),
                    "cascaded" => Some(CheckOption::Cascaded),
                    _ => return Err(format!("unknown check_option {v}")),
                }
            }
            "security_barrier" => view.security_barrier = flag()?,
            "security_invoker" => view.security_invoker = flag()?,
            _ if view.is_materialized() => {
                storage.push(o.clone());
            }
            _ => return Err(format!("the option {o} is not modeled by bellows")),
        }
    }
    if let Some(m) = view.materialized.as_mut() {
        m.storage = crate::sql::postgres::read_storage(crate::sql::postgres::ON_TABLE, &storage);
    }
    Ok(())
}

/// What the server made of a target's view: its query as it prints it,
/// its columns, and what it reads.
/// What the server made of the target's views, as temporary views
/// named in `$1`: their names, printed queries and columns.
const Q_TEMP_VIEWS: &str = concat!(
    "SELECT c.relname::text, pg_get_viewdef(c.oid, true), ",
    view_columns!(),
    "
      FROM pg_class c
     WHERE c.relnamespace = pg_my_temp_schema() AND c.relkind = 'v' AND c.relname = ANY($1)"
);

const Q_TEMP_VIEW_READS: &str = view_reads!(
    "v.relnamespace = pg_my_temp_schema() AND v.relname = ANY($1)",
    "2, 3, 4, 5"
);

/// Puts the target's views in the server's words, so that a query
/// written differently from how the server prints it is not a change:
/// each view in `pending` (see [`crate::introspect::views_to_canonicalize`])
/// is made as a temporary view
/// in a transaction that is rolled back (it takes no lock a reader or
/// writer waits for), and its printed query, columns and what it reads
/// replace the target's text (the column list is folded into the query,
/// as the server does). Views over other target views are made after
/// them, under their names (`pg_temp` is searched first). A view the
/// server cannot make now (it reads a column this plan adds, say) keeps
/// its text and is compared as written; why is in the returned notes.
pub async fn canonicalize(
    conn: &mut PgConnection,
    target: &mut Schema,
    pending: &crate::introspect::Pending,
) -> Result<Vec<String>> {
    let mut tx = begin(conn).await?;
    let routines = super::routine::read_routines(&mut tx, target, &pending.routines).await;
    let done = read_views(&mut tx, target, &pending.views).await;
    let bounds = super::partition::read_bounds(&mut tx, target, &pending.partitions).await;
    tx.rollback().await.map_err(q(W))?;
    let where_ = "against the live database yet";
    let mut notes = super::routine::apply_routines(target, routines?, where_);
    notes.extend(apply_read(target, done?, where_));
    notes.extend(bounds?);
    Ok(notes)
}

/// For a plan between two files: `schema`'s views in the words of the
/// scratch database at `conn` (`--dev-url`), after the rest of `schema`
/// is made there in the same transaction, which is rolled back. A schema
/// the database cannot hold (a name already taken there, an extension it
/// lacks) leaves the views as written, with a note.
pub async fn canonicalize_offline(
    conn: &mut PgConnection,
    schema: &mut Schema,
) -> Result<Vec<String>> {
    if schema.views.is_empty() && schema.routines.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = begin(conn).await?;
    let rest = Schema {
        views: BTreeMap::new(),
        ..schema.clone()
    };
    for ddl in crate::sql::postgres::create_all(&rest) {
        if let Err(e) = sqlx::raw_sql(sqlx::AssertSqlSafe(ddl))
            .execute(&mut *tx)
            .await
        {
            tx.rollback().await.map_err(q(W))?;
            let why = e
                .as_database_error()
                .map_or_else(|| e.to_string(), |d| d.message().to_string());
            return Ok(vec![format!(
                "the dev database cannot hold the schema's tables ({why}); views are compared as written"
            )]);
        }
    }
    let pending: Vec<QualifiedName> = schema.views.keys().cloned().collect();
    let routines: Vec<RoutineKey> = schema.routines.keys().cloned().collect();
    let routines = super::routine::read_routines(&mut tx, schema, &routines).await;
    let done = read_views(&mut tx, schema, &pending).await;
    tx.rollback().await.map_err(q(W))?;
    let where_ = "in the dev database";
    let mut notes = super::routine::apply_routines(schema, routines?, where_);
    notes.extend(apply_read(schema, done?, where_));
    Ok(notes)
}

const W: &str = "the target's views";

/// A transaction for reading views: `pg_temp` searched first, and
/// bounded waits for locks and statements.
async fn begin(conn: &mut PgConnection) -> Result<sqlx::Transaction<'_, sqlx::Postgres>> {
    let mut tx = conn.begin().await.map_err(q(W))?;
    sqlx::raw_sql(
        "SET LOCAL search_path = pg_temp, public; SET LOCAL lock_timeout = '2s'; \
         SET LOCAL statement_timeout = '30s'",
    )
    .execute(&mut *tx)
    .await
    .map_err(q(W))?;
    Ok(tx)
}

/// What the server made of each view it could read, and why it could
/// not read the others.
struct Read {
    done: BTreeMap<QualifiedName, (String, ViewFacts)>,
    errors: BTreeMap<QualifiedName, String>,
}

/// The views `pending` of `target` made as temporary views in `tx` (see
/// [`canonicalize`]), in as many rounds as views over views need: one
/// round trip a view (two when the server refuses it), then one query
/// for what the server made of them all and one for what they read.
async fn read_views(
    tx: &mut PgConnection,
    target: &Schema,
    pending: &[QualifiedName],
) -> Result<Read> {
    // Temporary names: a public view's own (so views over it find it),
    // others' numbered.
    let temp: BTreeMap<QualifiedName, String> = pending
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let t = if n.schema.as_str() == DEFAULT_SCHEMA {
                n.name.as_str().to_string()
            } else {
                format!("bellows_canonical_{i}")
            };
            (n.clone(), t)
        })
        .collect();
    let back: BTreeMap<&str, &QualifiedName> = temp.iter().map(|(n, t)| (t.as_str(), n)).collect();
    let mut errors: BTreeMap<QualifiedName, String> = BTreeMap::new();
    let mut made: Vec<String> = Vec::new();
    // Each after the target's views it names: a view over another one
    // must read the temporary one (the target's), not a live view of the
    // same name, or it would print that name qualified.
    let order: Vec<&QualifiedName> = crate::sql::postgres::views_in_order(target)
        .into_iter()
        .filter(|n| pending.contains(n))
        .collect();
    loop {
        let mut progress = false;
        for &name in &order {
            if made.contains(&temp[name]) {
                continue;
            }
            let v = &target.views[name];
            let mut ddl = format!(
                "CREATE TEMPORARY VIEW {}",
                crate::sql::quote_ident(&temp[name])
            );
            if !v.columns.is_empty() {
                let cols: Vec<String> = v
                    .columns
                    .iter()
                    .map(|c| crate::sql::quote_ident(c.as_str()))
                    .collect();
                ddl.push_str(&format!(" ({})", cols.join(", ")));
            }
            ddl.push_str(" AS ");
            ddl.push_str(&v.query);
            match in_savepoint(&mut *tx, &ddl, W).await? {
                Ok(()) => {
                    made.push(temp[name].clone());
                    errors.remove(name);
                    progress = true;
                }
                Err(message) => {
                    errors.insert(name.clone(), message);
                }
            }
        }
        if !progress {
            break;
        }
    }
    let mut done: BTreeMap<QualifiedName, (String, ViewFacts)> = BTreeMap::new();
    if made.is_empty() {
        return Ok(Read { done, errors });
    }
    for row in query(Q_TEMP_VIEWS)
        .bind(&made)
        .fetch_all(&mut *tx)
        .await
        .map_err(q(W))?
    {
        let temp_name: String = get(&row, 0, W)?;
        let text: Option<String> = get(&row, 1, W)?;
        let names: Vec<String> = get(&row, 2, W)?;
        let types: Vec<String> = get(&row, 3, W)?;
        let Some(name) = back.get(temp_name.as_str()) else {
            continue;
        };
        let mut facts = ViewFacts::default();
        for (n, t) in names.into_iter().zip(types) {
            facts.columns.push((ident(n, "view column")?, t));
        }
        done.insert((*name).clone(), (text.unwrap_or_default(), facts));
    }
    let rows = query(Q_TEMP_VIEW_READS)
        .bind(&made)
        .fetch_all(&mut *tx)
        .await
        .map_err(q(W))?;
    for row in rows {
        let view: String = get(&row, 1, W)?;
        let schema: String = get(&row, 2, W)?;
        let relation: String = get(&row, 3, W)?;
        let column: Option<String> = get(&row, 4, W)?;
        let is_temp: bool = get(&row, 5, W)?;
        let Some((_, facts)) = back.get(view.as_str()).and_then(|n| done.get_mut(*n)) else {
            continue;
        };
        let table = match (is_temp, back.get(relation.as_str())) {
            (true, Some(n)) => (*n).clone(),
            _ => qname(schema, relation, "relation")?,
        };
        facts.reads.push(ColumnRef {
            table,
            column: column.map(|c| ident(c, "column")).transpose()?,
            via: Via::Catalog,
        });
    }
    for (_, facts) in done.values_mut() {
        facts.reads.sort();
        facts.reads.dedup();
    }
    Ok(Read { done, errors })
}

/// The server's text and facts into `target`; notes on the views it
/// could not read (`where_` says where it tried).
fn apply_read(target: &mut Schema, read: Read, where_: &str) -> Vec<String> {
    for (name, (text, facts)) in read.done {
        if let Some(v) = target.views.get_mut(&name) {
            v.query = View::normalize(&text);
            v.columns.clear();
            v.facts = Some(facts);
        }
    }
    read.errors
        .into_iter()
        .map(|(name, why)| {
            format!(
                "view {name}: the server cannot read its query {where_} ({why}); it is compared as written"
            )
        })
        .collect()
}
