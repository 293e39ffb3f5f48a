//! Sequences, with the options that differ from the type's defaults and
//! the column that owns them (an identity column's is the column's).

use super::*;

pub(super) const KIND: KindQuery = KindQuery::new(
    "sequences",
    |_| Q_SEQUENCES.into(),
    |r, rows, _| r.sequences(rows),
);

const Q_SEQUENCES: &str = concat!(
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

impl Reader {
    fn sequences(&mut self, rows: Vec<PgRow>) -> Result<()> {
        const W: &str = "sequences";
        for row in rows {
            let name = qname(get(&row, 0, W)?, get(&row, 1, W)?, "sequence")?;
            let deptype: Option<String> = get(&row, 9, W)?;
            let type_text: String = get(&row, 2, W)?;
            let data_type = parse_type(&type_text, format_args!("sequence {name}"), "type")?;
            let (start, inc, min, max, cache): (i64, i64, i64, i64, i64) = (
                get(&row, 3, W)?,
                get(&row, 4, W)?,
                get(&row, 5, W)?,
                get(&row, 6, W)?,
                get(&row, 7, W)?,
            );
            // Leave out what equals PostgreSQL's default for the type and
            // direction, so that a dump shows only what was chosen.
            let mut seq = Sequence {
                data_type,
                options: SequenceOptions {
                    start: Some(start),
                    increment: Some(inc),
                    min_value: Some(min),
                    max_value: Some(max),
                    cache: Some(cache),
                    cycle: get(&row, 8, W)?,
                },
                owned_by: None,
            }
            .canonical();
            let tschema: Option<String> = get(&row, 10, W)?;
            let tname: Option<String> = get(&row, 11, W)?;
            let cname: Option<String> = get(&row, 12, W)?;
            if deptype.as_deref() == Some("i") {
                // An identity column's sequence is part of the column: its
                // options wait for the column, read after this.
                if let (Some(ts), Some(t), Some(c)) = (tschema, tname, cname) {
                    let table = qname(ts, t, "table")?;
                    self.identity_options
                        .insert((table, ident(c, "column")?), seq.options);
                }
                continue;
            }
            if let (Some(ts), Some(t), Some(c)) = (tschema, tname, cname) {
                // The model keeps owners in the sequence's own schema.
                if ts == name.schema.as_str() {
                    seq.owned_by = Some((ident(t, "table")?, ident(c, "column")?));
                }
            }
            self.out.schema.sequences.insert(name, seq);
        }
        Ok(())
    }
}

impl Reader {
    /// A sequence owned by a table bellows does not manage (the `serial`
    /// of a table that inherits) goes with that table: left out
    /// of the model and reported, so that a dump plans to nothing and a
    /// plan never drops it.
    pub(super) fn leave_sequences_of_unmanaged_tables(&mut self) {
        let theirs: Vec<QualifiedName> = self
            .out
            .schema
            .sequences
            .iter()
            .filter(|(q, s)| {
                s.owned_by.as_ref().is_some_and(|(t, _)| {
                    !self
                        .managed
                        .contains(&QualifiedName::new(q.schema.clone(), t.clone()))
                })
            })
            .map(|(q, _)| q.clone())
            .collect();
        for q in theirs {
            self.out.schema.sequences.remove(&q);
            self.note(
                UnmanagedKind::SequenceOfUnmanagedTable,
                q.to_string(),
                Place::Schema(q),
            );
        }
    }
}
