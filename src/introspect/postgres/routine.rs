//! Functions and procedures: the argument list and result as the server
//! prints them (`pg_get_function_arguments`, `pg_get_function_result`,
//! with `search_path = public`), the body as stored (or, for an
//! SQL-standard body, as `pg_get_function_sqlbody` prints it), their
//! traits, settings and comment; their owner and privileges, and what
//! the catalog records as depending on each. Aggregates are read in
//! `aggregate.rs`; window functions stay unmanaged, and so do the sync triggers' functions a
//! migration in flight made (`..._bellows_sync`).

use super::*;

pub(super) const KIND: KindQuery = KindQuery::new(
    "functions and procedures",
    |cx| {
        routines_query(
            cx.pg14,
            "n.nspname = ANY($1) AND ",
            "p.prokind IN ('f', 'p') AND p.proname NOT LIKE '%\\_bellows\\_sync'",
        )
    },
    |r, rows, _| r.routines(rows, true),
);

/// The routines' query: `place` picks the namespace (with its `AND`),
/// `which` the routines; `sqlbody` says whether the server has
/// SQL-standard bodies (PostgreSQL 14).
pub(super) fn routines_query(sqlbody: bool, place: &str, which: &str) -> String {
    // One array per column of `cols`, over the rows `from` gives, in
    // one order (so the arrays line up).
    let arrays = |cols: [&str; 3], from: &str| {
        cols.map(|col| {
            format!("array(SELECT {col} {from} ORDER BY tn.nspname, tc.relname, a.attname)")
        })
        .join(",\n                ")
    };
    // What an SQL-standard body reads: each table (and column, '' for
    // the whole table) as the catalog records it.
    let reads = arrays(
        ["tn.nspname::text", "tc.relname::text", "coalesce(a.attname::text, '')"],
        "FROM pg_depend rd
           JOIN pg_class tc ON tc.oid = rd.refobjid
           JOIN pg_namespace tn ON tn.oid = tc.relnamespace
           LEFT JOIN pg_attribute a ON a.attrelid = rd.refobjid AND a.attnum = rd.refobjsubid AND rd.refobjsubid > 0
          WHERE rd.classid = 'pg_proc'::regclass AND rd.objid = p.oid
            AND rd.refclassid = 'pg_class'::regclass AND rd.deptype = 'n'",
    );
    // The column defaults that call it: each column's table and name.
    let defaults = arrays(
        ["tn.nspname::text", "tc.relname::text", "a.attname::text"],
        "FROM pg_depend dd
           JOIN pg_attrdef ad ON ad.oid = dd.objid
           JOIN pg_class tc ON tc.oid = ad.adrelid
           JOIN pg_namespace tn ON tn.oid = tc.relnamespace
           JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
          WHERE dd.classid = 'pg_attrdef'::regclass AND dd.refclassid = 'pg_proc'::regclass
            AND dd.refobjid = p.oid AND dd.deptype = 'n'",
    );
    let grants = grant_arrays!("p.proacl", "p.proowner");
    let body = if sqlbody {
        "CASE WHEN p.prosqlbody IS NOT NULL THEN pg_get_function_sqlbody(p.oid) END"
    } else {
        "NULL::text"
    };
    format!(
        "SELECT n.nspname::text, p.proname::text, p.prokind::text,
                pg_get_function_arguments(p.oid),
                CASE WHEN p.prokind = 'f' THEN pg_get_function_result(p.oid) END,
                l.lanname::text, p.prosrc, {body},
                p.provolatile::text, p.proisstrict, p.prosecdef, p.proleakproof,
                p.proparallel::text, p.procost::float8, p.prorows::float8,
                coalesce(p.proconfig, '{{}}'), d.description,
                CASE WHEN p.proowner <> (SELECT r.oid FROM pg_roles r WHERE r.rolname = current_user)
                     THEN pg_get_userbyid(p.proowner)::text END,
                p.proacl IS NOT NULL,
                {grants},
                array(SELECT pg_describe_object(dep.classid, dep.objid, dep.objsubid) FROM pg_depend dep
                       WHERE dep.refclassid = 'pg_proc'::regclass AND dep.refobjid = p.oid
                         AND dep.deptype = 'n' ORDER BY 1),
                {reads},
                {defaults}
           FROM pg_proc p
           JOIN pg_namespace n ON n.oid = p.pronamespace
           JOIN pg_language l ON l.oid = p.prolang
           LEFT JOIN pg_description d ON d.objoid = p.oid AND d.classoid = 'pg_proc'::regclass AND d.objsubid = 0
          WHERE {place}{which} AND {}
            -- A range type's constructors are the type's own.
            AND NOT EXISTS (SELECT 1 FROM pg_depend xi WHERE xi.classid = 'pg_proc'::regclass
                             AND xi.objid = p.oid AND xi.deptype = 'i')
          ORDER BY 1, 2, 4",
        not_extension_member!("pg_proc", "p.oid")
    )
}

impl Reader {
    /// Takes routines' rows into the model; with `live`, also what the
    /// catalog says of them (owner, privileges, dependents).
    pub(super) fn routines(&mut self, rows: Vec<PgRow>, live: bool) -> Result<()> {
        for row in rows {
            let (key, routine) = routine_row(&row, live)?;
            self.out.schema.routines.insert(key, routine);
        }
        Ok(())
    }
}

const W: &str = "functions and procedures";

/// One row of [`routines_query`] as a routine.
pub(super) fn routine_row(row: &PgRow, live: bool) -> Result<(RoutineKey, Routine)> {
    let name = qname(get(row, 0, W)?, get(row, 1, W)?, "function")?;
    let unrepresentable = |detail: String| IntrospectError::Unrepresentable {
        object: format!("function {name}"),
        detail,
    };
    let kind: String = get(row, 2, W)?;
    let kind = if kind == "p" {
        RoutineKind::Procedure
    } else {
        RoutineKind::Function
    };
    let arguments: String = get(row, 3, W)?;
    let args = crate::sql::postgres::parse_arguments(&arguments)
        .map_err(|e| unrepresentable(format!("its arguments `{arguments}`: {}", e.message)))?;
    let returns: Option<String> = get(row, 4, W)?;
    let returns = returns
        .map(|r| {
            crate::sql::postgres::canonical_returns(&r)
                .map_err(|e| unrepresentable(format!("its result `{r}`: {}", e.message)))
        })
        .transpose()?;
    let language = ident(get(row, 5, W)?, "language")?;
    let source: Option<String> = get(row, 6, W)?;
    let sql_body: Option<String> = get(row, 7, W)?;
    // An SQL-standard body as the server prints it, normalized; a string
    // body as stored, so that a dump gives it back as it was.
    let body = match sql_body {
        Some(b) => Routine::normalize_body(&b),
        None => source.unwrap_or_default(),
    };
    let volatility = match get::<String, _>(row, 8, W)?.as_str() {
        "i" => Volatility::Immutable,
        "s" => Volatility::Stable,
        _ => Volatility::Volatile,
    };
    let parallel = match get::<String, _>(row, 12, W)?.as_str() {
        "s" => Parallel::Safe,
        "r" => Parallel::Restricted,
        _ => Parallel::Unsafe,
    };
    let cost: f64 = get(row, 13, W)?;
    let rows: f64 = get(row, 14, W)?;
    let number = |n: f64| format!("{}", n as f32);
    let cost = Some(number(cost)).filter(|c| c != Routine::default_cost(language.as_str()));
    let config: Vec<String> = get(row, 15, W)?;
    let config = config
        .into_iter()
        .map(|c| match c.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (c, String::new()),
        })
        .collect();
    let mut routine = Routine {
        kind,
        args,
        returns,
        language,
        body,
        volatility,
        strict: get(row, 9, W)?,
        security_definer: get(row, 10, W)?,
        leakproof: get(row, 11, W)?,
        parallel,
        cost,
        rows: None,
        config,
        comment: get(row, 16, W)?,
        facts: None,
    };
    let default_rows = if routine.returns_set() { "1000" } else { "0" };
    routine.rows = Some(number(rows)).filter(|r| r != default_rows);
    if kind == RoutineKind::Procedure {
        // A procedure has none of a function's traits; the catalog's
        // defaults for them are not declared.
        routine.volatility = Volatility::Volatile;
        routine.parallel = Parallel::Unsafe;
        routine.cost = None;
        routine.rows = None;
    }
    if live {
        let owner: Option<String> = get(row, 17, W)?;
        let custom: bool = get(row, 18, W)?;
        let grants = grants(row, 19, W)?;
        routine.facts = Some(RoutineFacts {
            owner: owner.map(|o| ident(o, "role")).transpose()?,
            grants: custom.then_some(grants),
            dependents: get(row, 22, W)?,
            reads: reads(row, 23)?,
            defaults: defaults(row, 26)?,
        });
    } else {
        // A target's routine the server made: what its body reads.
        routine.facts = Some(RoutineFacts {
            reads: reads(row, 23)?,
            ..RoutineFacts::default()
        });
    }
    let key = RoutineKey::of(name, &routine.args);
    Ok((key, routine))
}

/// The tables and columns a routine's SQL-standard body reads, from three
/// array columns of `row` starting at `at`.
fn reads(row: &PgRow, at: usize) -> Result<Vec<ColumnRef>> {
    let schemas: Vec<String> = get(row, at, W)?;
    let tables: Vec<String> = get(row, at + 1, W)?;
    let columns: Vec<String> = get(row, at + 2, W)?;
    let mut out = Vec::with_capacity(schemas.len());
    for ((s, t), c) in schemas.into_iter().zip(tables).zip(columns) {
        out.push(ColumnRef {
            table: qname(s, t, "table")?,
            column: match c.as_str() {
                "" => None,
                _ => Some(ident(c, "column")?),
            },
            via: Via::Catalog,
        });
    }
    Ok(out)
}

/// The columns whose defaults call a routine, from three array columns
/// of `row` starting at `at`.
fn defaults(row: &PgRow, at: usize) -> Result<Vec<(QualifiedName, Ident)>> {
    let schemas: Vec<String> = get(row, at, W)?;
    let tables: Vec<String> = get(row, at + 1, W)?;
    let columns: Vec<String> = get(row, at + 2, W)?;
    let mut out = Vec::with_capacity(schemas.len());
    for ((s, t), c) in schemas.into_iter().zip(tables).zip(columns) {
        out.push((qname(s, t, "table")?, ident(c, "column")?));
    }
    Ok(out)
}

/// What the server made of the target's routines it could make, by
/// their key in the target, and why it could not make the others.
pub(super) struct ReadRoutines {
    done: BTreeMap<RoutineKey, (RoutineKey, Routine)>,
    errors: BTreeMap<RoutineKey, String>,
}

/// The routines `pending` of `target` made in `tx` as temporary ones
/// (`pg_temp.bellows_canonical_N`, so no name of the database is
/// touched), with their bodies unchecked as apply makes them, and read
/// back as introspection reads live ones.
pub(super) async fn read_routines(
    tx: &mut PgConnection,
    target: &Schema,
    pending: &[RoutineKey],
) -> Result<ReadRoutines> {
    const W: &str = "the target's functions";
    let mut out = ReadRoutines {
        done: BTreeMap::new(),
        errors: BTreeMap::new(),
    };
    if pending.is_empty() {
        return Ok(out);
    }
    let version: String = query_scalar("SELECT current_setting('server_version_num')")
        .fetch_one(&mut *tx)
        .await
        .map_err(q(W))?;
    let pg14 = version.trim().parse::<u32>().unwrap_or(0) >= 140000;
    let mut made: BTreeMap<String, &RoutineKey> = BTreeMap::new();
    for (i, key) in pending.iter().enumerate() {
        let Some(r) = target.routines.get(key) else {
            continue;
        };
        let temp = format!("bellows_canonical_{i}");
        let as_temp = RoutineKey {
            name: QualifiedName::new(
                Ident::new("pg_temp").expect("a valid name"),
                Ident::new(temp.clone()).expect("a valid name"),
            ),
            args: key.args.clone(),
        };
        let plain = Routine {
            comment: None,
            ..r.clone()
        };
        let ddl = format!(
            "SET LOCAL check_function_bodies = off;\n{}",
            crate::sql::postgres::create_routine(&as_temp, &plain, false).join(";\n")
        );
        match in_savepoint(&mut *tx, &ddl, W).await? {
            Ok(()) => {
                made.insert(temp, key);
            }
            Err(message) => {
                out.errors.insert(key.clone(), message);
            }
        }
    }
    if made.is_empty() {
        return Ok(out);
    }
    let names: Vec<&str> = made.keys().map(String::as_str).collect();
    let sql = routines_query(
        pg14,
        "p.pronamespace = pg_my_temp_schema() AND ",
        "p.proname = ANY($1)",
    );
    for row in query(sqlx::AssertSqlSafe(sql))
        .bind(&names)
        .fetch_all(&mut *tx)
        .await
        .map_err(q(W))?
    {
        let temp: String = get(&row, 1, W)?;
        let (mut key, mut routine) = routine_row(&row, false)?;
        let Some(&wanted) = made.get(&temp) else {
            continue;
        };
        key.name = wanted.name.clone();
        routine.comment = target.routines[wanted].comment.clone();
        out.done.insert(wanted.clone(), (key, routine));
    }
    Ok(out)
}

/// The server's definitions into `target` (re-keyed as the server reads
/// the argument types); notes on the routines it could not make.
pub(super) fn apply_routines(target: &mut Schema, read: ReadRoutines, where_: &str) -> Vec<String> {
    for (wanted, (key, routine)) in read.done {
        target.routines.remove(&wanted);
        target.routines.insert(key, routine);
    }
    read.errors
        .into_iter()
        .map(|(key, why)| {
            format!("{key}: the server cannot make it {where_} ({why}); it is compared as written")
        })
        .collect()
}
