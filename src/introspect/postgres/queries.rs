//! The catalog queries, one per object kind, each for the whole
//! database (never one per table). `$1` is the list of schemas in scope.

/// Objects that belong to an extension are the extension's, not the user's.
macro_rules! not_extension_member {
    ($class:literal, $oid:literal) => {
        concat!(
            "NOT EXISTS (SELECT 1 FROM pg_depend xd WHERE xd.classid = '",
            $class,
            "'::regclass AND xd.objid = ",
            $oid,
            " AND xd.deptype = 'e')"
        )
    };
}

pub(super) const Q_SCHEMAS: &str = concat!(
    "SELECT n.nspname::text FROM pg_namespace n
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', $1)
        AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
        AND ",
    not_extension_member!("pg_namespace", "n.oid"),
    " ORDER BY 1"
);

pub(super) const Q_EXTENSIONS: &str = "
    SELECT e.extname::text, n.nspname::text, e.extversion
      FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname <> 'plpgsql'
     ORDER BY 1";

pub(super) const Q_ENUMS: &str = concat!(
    "SELECT n.nspname::text, t.typname::text, array_agg(e.enumlabel::text ORDER BY e.enumsortorder)
       FROM pg_type t
       JOIN pg_namespace n ON n.oid = t.typnamespace
       JOIN pg_enum e ON e.enumtypid = t.oid
      WHERE n.nspname = ANY($1) AND ",
    not_extension_member!("pg_type", "t.oid"),
    " GROUP BY 1, 2 ORDER BY 1, 2"
);

pub(super) const Q_SEQUENCES: &str = concat!(
    "SELECT n.nspname::text, c.relname::text, format_type(s.seqtypid, NULL),
            s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle,
            own.deptype, own.tschema, own.tname, own.cname
       FROM pg_sequence s
       JOIN pg_class c ON c.oid = s.seqrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN LATERAL (
            SELECT d.deptype::text AS deptype, tn.nspname::text AS tschema,
                   tc.relname::text AS tname, a.attname::text AS cname
              FROM pg_depend d
              JOIN pg_class tc ON tc.oid = d.refobjid
              JOIN pg_namespace tn ON tn.oid = tc.relnamespace
              JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
             WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
               AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
             LIMIT 1) own ON true
      WHERE n.nspname = ANY($1) AND ",
    not_extension_member!("pg_class", "c.oid"),
    " ORDER BY 1, 2"
);

pub(super) const Q_RELATIONS: &str = concat!(
    "SELECT n.nspname::text, c.relname::text, c.relkind::text, c.relispartition,
            c.relpersistence::text, obj_description(c.oid, 'pg_class'),
            EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid),
            c.relrowsecurity, c.relacl IS NOT NULL,
            (pg_identify_object('pg_class'::regclass, c.oid, 0)).identity,
            c.relkind = 'r' AND pg_relation_size(c.oid) = 0
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname = ANY($1) AND ",
    not_extension_member!("pg_class", "c.oid"),
    " ORDER BY 1, 2"
);

pub(super) const Q_COLUMNS: &str = "
    SELECT n.nspname::text, c.relname::text, a.attname::text,
           format_type(a.atttypid, a.atttypmod), a.attnotnull,
           pg_get_expr(ad.adbin, ad.adrelid), a.attidentity::text, a.attgenerated::text,
           CASE WHEN a.attcollation <> t.typcollation THEN co.collname::text END,
           col_description(c.oid, a.attnum)
      FROM pg_attribute a
      JOIN pg_class c ON c.oid = a.attrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_type t ON t.oid = a.atttypid
      LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
      LEFT JOIN pg_collation co ON co.oid = a.attcollation
     WHERE c.relkind = 'r' AND n.nspname = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped
     ORDER BY 1, 2, a.attnum";

/// `{NND}` is replaced by the PostgreSQL-15 column or `false` before.
pub(super) const Q_CONSTRAINTS: &str = "
    SELECT n.nspname::text, c.relname::text, con.conname::text, con.contype::text,
           ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(num, ord)
                   JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num ORDER BY k.ord),
           fn.nspname::text, fc.relname::text, fc.relkind::text,
           ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(num, ord)
                   JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num ORDER BY k.ord),
           con.confupdtype::text, con.confdeltype::text, con.confmatchtype::text,
           con.condeferrable, con.condeferred, con.connoinherit,
           pg_get_constraintdef(con.oid, true),
           COALESCE((SELECT {NND} FROM pg_index i WHERE i.indexrelid = con.conindid), false)
      FROM pg_constraint con
      JOIN pg_class c ON c.oid = con.conrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_class fc ON fc.oid = con.confrelid
      LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace
     WHERE c.relkind = 'r' AND n.nspname = ANY($1) AND con.contype IN ('p', 'u', 'f', 'c', 'x')
     ORDER BY 1, 2, 3";

pub(super) const Q_INDEXES: &str = "
    SELECT n.nspname::text, c.relname::text, ic.relname::text, i.indisunique, am.amname::text,
           i.indnkeyatts::int4, i.indisvalid,
           ARRAY(SELECT CASE WHEN k.num = 0 THEN NULL ELSE
                        (SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = k.num) END
                   FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(num, ord) ORDER BY k.ord),
           ARRAY(SELECT pg_get_indexdef(i.indexrelid, k.ord::int4, true)
                   FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(num, ord) ORDER BY k.ord),
           ARRAY(SELECT o.opt::int4 FROM unnest(i.indoption::int2[]) WITH ORDINALITY o(opt, ord) ORDER BY o.ord),
           ARRAY(SELECT CASE WHEN opc.opcdefault THEN NULL ELSE opc.opcname::text END
                   FROM unnest(i.indclass::oid[]) WITH ORDINALITY x(cls, ord)
                   JOIN pg_opclass opc ON opc.oid = x.cls ORDER BY x.ord),
           ARRAY(SELECT CASE WHEN x.coll = 0 OR x.coll = COALESCE(a.attcollation, 0)
                             OR (k.num = 0 AND x.coll = 100) THEN NULL
                             ELSE (SELECT co.collname::text FROM pg_collation co WHERE co.oid = x.coll) END
                   FROM unnest(i.indcollation::oid[]) WITH ORDINALITY x(coll, ord)
                   JOIN unnest(i.indkey::int2[]) WITH ORDINALITY k(num, ord) ON k.ord = x.ord
                   LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.num
                  ORDER BY x.ord),
           pg_get_expr(i.indpred, i.indrelid),
           {NND}
      FROM pg_index i
      JOIN pg_class ic ON ic.oid = i.indexrelid
      JOIN pg_class c ON c.oid = i.indrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_am am ON am.oid = ic.relam
     WHERE c.relkind = 'r' AND n.nspname = ANY($1)
       AND NOT EXISTS (SELECT 1 FROM pg_constraint con
                        WHERE con.conindid = i.indexrelid AND con.contype IN ('p', 'u', 'x'))
     ORDER BY 1, 2, 3";

/// Every object of a kind bellows does not model, by its catalog identity,
/// with its name: schema and name, and for a table's own objects (triggers,
/// policies, rules) the table.
pub(super) const Q_UNMANAGED: &str = concat!(
    "SELECT kind, identity, schema_name, object_name, table_name FROM (
       SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END AS kind,
              (pg_identify_object('pg_proc'::regclass, p.oid, 0)).identity AS identity,
              n.nspname::text AS schema_name, p.proname::text AS object_name, NULL::text AS table_name
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = ANY($1) AND ", not_extension_member!("pg_proc", "p.oid"), "
       UNION ALL
       SELECT 'trigger', (pg_identify_object('pg_trigger'::regclass, tg.oid, 0)).identity,
              n.nspname::text, tg.tgname::text, c.relname::text
         FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE NOT tg.tgisinternal AND n.nspname = ANY($1)
       UNION ALL
       SELECT CASE t.typtype WHEN 'd' THEN 'domain' WHEN 'r' THEN 'range' ELSE 'composite' END,
              (pg_identify_object('pg_type'::regclass, t.oid, 0)).identity,
              n.nspname::text, t.typname::text, NULL
         FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = ANY($1) AND ", not_extension_member!("pg_type", "t.oid"), "
          AND (t.typtype IN ('d', 'r')
               OR (t.typtype = 'c' AND (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c'))
       UNION ALL
       SELECT 'policy', (pg_identify_object('pg_policy'::regclass, po.oid, 0)).identity,
              n.nspname::text, po.polname::text, c.relname::text
         FROM pg_policy po JOIN pg_class c ON c.oid = po.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY($1)
       UNION ALL
       SELECT 'rule', (pg_identify_object('pg_rewrite'::regclass, r.oid, 0)).identity,
              n.nspname::text, r.rulename::text, c.relname::text
         FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE r.rulename <> '_RETURN' AND n.nspname = ANY($1)
       UNION ALL
       SELECT 'collation', (pg_identify_object('pg_collation'::regclass, co.oid, 0)).identity,
              n.nspname::text, co.collname::text, NULL
         FROM pg_collation co JOIN pg_namespace n ON n.oid = co.collnamespace
        WHERE n.nspname = ANY($1) AND ", not_extension_member!("pg_collation", "co.oid"), "
       UNION ALL
       SELECT 'event trigger', evtname::text, NULL, NULL, NULL FROM pg_event_trigger
     ) u ORDER BY 1, 2"
);

/// What depends on managed tables' columns: views (through their rewrite
/// rule), triggers, policies, rules and functions that record it.
pub(super) const Q_DEPENDENCIES: &str = "
    SELECT CASE WHEN d.classid = 'pg_rewrite'::regclass
                THEN (SELECT (pg_identify_object('pg_class'::regclass, r.ev_class, 0)).identity
                        FROM pg_rewrite r WHERE r.oid = d.objid AND r.rulename = '_RETURN')
                ELSE NULL END AS view_identity,
           (pg_identify_object(d.classid, d.objid, 0)).identity,
           tn.nspname::text, tc.relname::text, a.attname::text
      FROM pg_depend d
      JOIN pg_class tc ON tc.oid = d.refobjid
      JOIN pg_namespace tn ON tn.oid = tc.relnamespace
      LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid AND d.refobjsubid > 0
     WHERE d.refclassid = 'pg_class'::regclass AND tc.relkind = 'r' AND tn.nspname = ANY($1)
       AND d.deptype IN ('n', 'a')
       AND d.classid IN ('pg_rewrite'::regclass, 'pg_trigger'::regclass, 'pg_policy'::regclass, 'pg_proc'::regclass)
     ORDER BY 1, 2, 3, 4, 5";

/// Triggers with what their function says: its language and source, and
/// the trigger's arguments (NUL-separated), to find the columns a trigger
/// refers to where the catalog does not record it.
pub(super) const Q_TRIGGER_BODIES: &str = "
    SELECT (pg_identify_object('pg_trigger'::regclass, tg.oid, 0)).identity,
           n.nspname::text, c.relname::text, l.lanname::text, p.prosrc, tg.tgargs
      FROM pg_trigger tg
      JOIN pg_class c ON c.oid = tg.tgrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_proc p ON p.oid = tg.tgfoid
      JOIN pg_language l ON l.oid = p.prolang
     WHERE NOT tg.tgisinternal AND n.nspname = ANY($1)
     ORDER BY 1";
