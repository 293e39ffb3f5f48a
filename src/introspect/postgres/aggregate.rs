//! Aggregates of the plain kind (`simple_aggregate!`): their support
//! functions by schema and name, state type, initial state, parallel
//! safety and comment. The others stay unmanaged.

use super::*;

/// The aggregates bellows manages, over `pg_aggregate a`: plain ones,
/// with no moving-aggregate, serial or sort-operator options and a final
/// function that takes the state alone and leaves it unchanged.
macro_rules! simple_aggregate {
    () => {
        "(a.aggkind = 'n' AND a.aggmtransfn = 0 AND a.aggserialfn = 0 AND a.aggdeserialfn = 0
          AND a.aggsortop = 0 AND NOT a.aggfinalextra AND a.aggfinalmodify = 'r'
          AND a.aggtransspace = 0)"
    };
}
pub(super) use simple_aggregate;

pub(super) const KIND: KindQuery = KindQuery::new(
    "aggregates",
    |_| Q_AGGREGATES.into(),
    |r, rows, _| r.aggregates(rows),
);

const Q_AGGREGATES: &str = concat!(
    "SELECT n.nspname::text, p.proname::text, pg_get_function_identity_arguments(p.oid),
            fn.nspname::text, f.proname::text, format_type(a.aggtranstype, NULL),
            ffn.nspname::text, ff.proname::text, cfn.nspname::text, cf.proname::text,
            a.agginitval, p.proparallel::text, d.description
       FROM pg_aggregate a
       JOIN pg_proc p ON p.oid = a.aggfnoid
       JOIN pg_namespace n ON n.oid = p.pronamespace
       JOIN pg_proc f ON f.oid = a.aggtransfn
       JOIN pg_namespace fn ON fn.oid = f.pronamespace
       LEFT JOIN pg_proc ff ON ff.oid = a.aggfinalfn
       LEFT JOIN pg_namespace ffn ON ffn.oid = ff.pronamespace
       LEFT JOIN pg_proc cf ON cf.oid = a.aggcombinefn
       LEFT JOIN pg_namespace cfn ON cfn.oid = cf.pronamespace
       LEFT JOIN pg_description d
              ON d.objoid = p.oid AND d.classoid = 'pg_proc'::regclass AND d.objsubid = 0
      WHERE n.nspname = ANY($1) AND ",
    simple_aggregate!(),
    " AND ",
    not_extension_member!("pg_proc", "p.oid"),
    " ORDER BY 1, 2, 3"
);

impl Reader {
    fn aggregates(&mut self, rows: Vec<PgRow>) -> Result<()> {
        const W: &str = "aggregates";
        for row in rows {
            let name = qname(get(&row, 0, W)?, get(&row, 1, W)?, "aggregate")?;
            let arguments: String = get(&row, 2, W)?;
            // `*` for an aggregate over no argument (`count(*)`).
            let listed = if arguments == "*" {
                ""
            } else {
                arguments.as_str()
            };
            let args = crate::sql::postgres::parse_arguments(listed).map_err(|e| {
                IntrospectError::Unrepresentable {
                    object: format!("aggregate {name}"),
                    detail: format!("arguments `{arguments}`: {}", e.message),
                }
            })?;
            let key = RoutineKey::of(name, &args);
            let function =
                |s: Option<String>, n: Option<String>| -> Result<Option<QualifiedName>> {
                    match (s, n) {
                        (Some(s), Some(n)) => Ok(Some(qname(s, n, "function")?)),
                        _ => Ok(None),
                    }
                };
            let sfunc = qname(get(&row, 3, W)?, get(&row, 4, W)?, "function")?;
            let type_text: String = get(&row, 5, W)?;
            let stype = parse_type(&type_text, format_args!("aggregate {key}"), "state type")?;
            let parallel: String = get(&row, 11, W)?;
            let aggregate = Aggregate {
                sfunc,
                stype,
                finalfunc: function(get(&row, 6, W)?, get(&row, 7, W)?)?,
                combinefunc: function(get(&row, 8, W)?, get(&row, 9, W)?)?,
                initcond: get(&row, 10, W)?,
                parallel: match parallel.as_str() {
                    "s" => Parallel::Safe,
                    "r" => Parallel::Restricted,
                    _ => Parallel::Unsafe,
                },
                comment: get(&row, 12, W)?,
            };
            self.out.schema.aggregates.insert(key, aggregate);
        }
        Ok(())
    }
}
