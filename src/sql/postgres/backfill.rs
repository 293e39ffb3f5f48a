//! The SQL of a batched backfill, in one place: `apply` runs these
//! statements, and `--format sql` renders a script around the very same
//! per-batch statement, so what a reviewer reads is what runs.
//!
//! Batches go by key range (keyset pagination): each batch updates the
//! rows whose key is after the last batch's upper key and at most its
//! own, in a transaction of its own. Key values travel as text and are
//! written into the statement as string literals, which PostgreSQL reads
//! as the key column's type.
//!
//! A table without a primary key or unique key over NOT NULL columns is
//! paged by physical position instead: each batch is a range of pages,
//! `ctid >= '(lo,0)' AND ctid < '(hi,0)'`, which PostgreSQL 14+ reads
//! with a TID range scan (just those pages). Only rows still NULL are
//! written, and only with a value, so a row an update moved to a later
//! page is not written twice, and the last batch reaches past the end
//! (rows moved there).

use super::qualified;
use crate::model::Ident;
use crate::plan::{Backfill, CopyRows};
use crate::sql::{quote_ident, quote_literal};

/// Statements for one backfill.
pub struct BackfillSql<'a> {
    b: &'a Backfill,
}

impl<'a> BackfillSql<'a> {
    pub fn new(b: &'a Backfill) -> Self {
        BackfillSql { b }
    }

    fn key_list(&self, prefix: &str) -> String {
        self.b
            .key
            .iter()
            .map(|k| format!("{prefix}{}", quote_ident(k.as_str())))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `SET` of the pass: `c = (e)` for one column, which the `WHERE`
    /// limits to rows that need it; for several, a column a row already
    /// has keeps its value (`c = COALESCE(c, (e))`), since the row is
    /// written for another column.
    fn assignments(&self) -> String {
        let several = !self.b.also.is_empty();
        self.b
            .fills()
            .map(|(c, e)| {
                let c = quote_ident(c.as_str());
                if several && self.b.only_null {
                    format!("{c} = COALESCE({c}, ({e}))")
                } else {
                    format!("{c} = ({e})")
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The rows of a batch the pass writes, as ` AND ...` (or nothing):
    /// with `only_null`, those still NULL in a column it fills; by pages,
    /// only where a value comes out (see `update_pages`). A row qualifies
    /// for any one of the columns.
    fn needs(&self, by_pages: bool) -> String {
        let conds: Vec<String> = self
            .b
            .fills()
            .map(|(c, e)| {
                let mut parts = Vec::new();
                if self.b.only_null {
                    parts.push(format!("{} IS NULL", quote_ident(c.as_str())));
                }
                if by_pages {
                    parts.push(format!("({e}) IS NOT NULL"));
                }
                parts.join(" AND ")
            })
            .filter(|c| !c.is_empty())
            .collect();
        match conds.len() {
            0 => String::new(),
            1 => format!(" AND {}", conds[0]),
            _ => format!(
                " AND ({})",
                conds
                    .iter()
                    .map(|c| format!("({c})"))
                    .collect::<Vec<_>>()
                    .join(" OR ")
            ),
        }
    }

    /// `(k1, k2) > ('v1', 'v2')`, or `true` for the first batch.
    fn after(&self, lower: Option<&[String]>) -> String {
        match lower {
            Some(values) => format!("({}) > ({})", self.key_list(""), values.join(", ")),
            None => "true".to_string(),
        }
    }

    /// The statement that fills one batch: the rows after `lower` (none:
    /// from the start) up to and including `upper`. Values are SQL text:
    /// literals (see `literals`) or placeholders.
    pub fn update(&self, lower: Option<&[String]>, upper: &[String]) -> String {
        if let Some(copy) = &self.b.copy {
            return self.copy(copy, lower, upper);
        }
        format!(
            "UPDATE {t} SET {set} WHERE {after} AND ({keys}) <= ({up}){needs}",
            t = qualified(&self.b.table),
            set = self.assignments(),
            after = self.after(lower),
            keys = self.key_list(""),
            up = upper.join(", "),
            needs = self.needs(false),
        )
    }

    /// The statement that copies one batch into the table beside: the
    /// batch's rows, each locked (`FOR SHARE`) so that a writer changing
    /// it waits for the batch to commit, and its sync trigger then finds
    /// the copy; a row the trigger copied first (written since the batch
    /// began) is left as the trigger wrote it (`ON CONFLICT DO NOTHING`,
    /// on the key alone: a row another unique key refuses is an error).
    fn copy(&self, copy: &CopyRows, lower: Option<&[String]>, upper: &[String]) -> String {
        let list = |cols: &[Ident]| {
            cols.iter()
                .map(|c| quote_ident(c.as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            "INSERT INTO {into} ({cols}) SELECT {cols} FROM {t} WHERE {after} AND ({keys}) <= ({up}) FOR SHARE ON CONFLICT ({conflict}) DO NOTHING",
            into = qualified(&copy.into),
            cols = list(&copy.columns),
            t = qualified(&self.b.table),
            after = self.after(lower),
            keys = self.key_list(""),
            up = upper.join(", "),
            conflict = list(&copy.conflict),
        )
    }

    /// The statement that fills pages `lo` up to `hi` (`None`: to the
    /// end). Values are SQL text: page numbers or placeholders.
    pub fn update_pages(&self, lo: &str, hi: Option<&str>) -> String {
        let upper = hi
            .map(|h| format!(" AND ctid < {}", page_tid(h)))
            .unwrap_or_default();
        // A row whose value comes out NULL is left as it is: writing it
        // would move it to another page, where a later batch would find
        // it still NULL, again and again.
        format!(
            "UPDATE {t} SET {set} WHERE ctid >= {lower}{upper}{needs}",
            t = qualified(&self.b.table),
            set = self.assignments(),
            lower = page_tid(lo),
            needs = self.needs(true),
        )
    }

    /// The table's size in pages now, its rows per page as the statistics
    /// have it (0 when never analyzed), and its file node (which changes
    /// when VACUUM FULL or CLUSTER rewrites the table, moving every row).
    pub fn pages(&self) -> String {
        let t = quote_literal(&qualified(&self.b.table));
        format!(
            "SELECT pg_relation_size({t}::regclass) / current_setting('block_size')::bigint, \
             CASE WHEN c.relpages > 0 THEN c.reltuples / c.relpages ELSE 0 END::float8, \
             pg_relation_filenode(c.oid)::text \
             FROM pg_class c WHERE c.oid = {t}::regclass"
        )
    }

    /// The statement that finds the last key of a full batch of `size`
    /// rows after `lower` (each key column as text), reading just those
    /// index entries; no row when fewer than `size` are left, which
    /// `last_batch` then covers.
    pub fn batch_end(&self, lower: Option<&[String]>, size: u64) -> String {
        // Qualified with the table's name: a bare name in ORDER BY would
        // mean the text output column and sort keys as text.
        let t = qualified(&self.b.table);
        let in_table = |k: &Ident| format!("{t}.{}", quote_ident(k.as_str()));
        let as_text = self
            .b
            .key
            .iter()
            .map(|k| format!("{}::text", in_table(k)))
            .collect::<Vec<_>>()
            .join(", ");
        let order = self
            .b
            .key
            .iter()
            .map(in_table)
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "SELECT {as_text} FROM {t} WHERE {after} ORDER BY {order} OFFSET {skip} LIMIT 1",
            after = self.after(lower),
            skip = size.saturating_sub(1),
        )
    }

    /// The statement that finds the last batch after `lower`, of fewer
    /// than `size` rows: one row with its last key (each column as text)
    /// and its number of rows; no row when nothing is left.
    pub fn last_batch(&self, lower: Option<&[String]>, size: u64) -> String {
        let desc = self
            .b
            .key
            .iter()
            .map(|k| format!("b.{} DESC", quote_ident(k.as_str())))
            .collect::<Vec<_>>()
            .join(", ");
        // Qualified with the subquery's alias: a bare name in ORDER BY
        // would mean the text output column and sort keys as text.
        let as_text = self
            .b
            .key
            .iter()
            .map(|k| format!("b.{}::text", quote_ident(k.as_str())))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "SELECT {as_text}, count(*) OVER () FROM (SELECT {keys} FROM {t} WHERE {after} ORDER BY {keys} LIMIT {size}) b ORDER BY {desc} LIMIT 1",
            keys = self.key_list(""),
            t = qualified(&self.b.table),
            after = self.after(lower),
        )
    }

    /// A psql script that runs the backfill as one UPDATE per batch, each
    /// its own statement (so `statement_timeout` applies to each batch)
    /// and its own transaction: the batch bounds are computed first, then
    /// `\gexec` runs the per-batch statement built from them. Rows added
    /// after the bounds are computed are filled by the sync trigger.
    pub fn psql_script(&self, size: u32) -> String {
        if self.b.by_position() {
            return self.psql_pages_script(size);
        }
        let n = self.b.key.len();
        // format() placeholders: lower keys are %1$L.., upper keys follow.
        let marker = |i: usize| format!("\u{1}{i}\u{1}");
        let lower: Vec<String> = (0..n).map(marker).collect();
        let upper: Vec<String> = (n..2 * n).map(marker).collect();
        let template = |sql: String| {
            let mut t = sql.replace('%', "%%");
            for i in 0..2 * n {
                t = t.replace(&marker(i), &format!("%{}$L", i + 1));
            }
            quote_literal(&t)
        };
        let first = template(self.update(None, &upper)).replace(&format!("%{}$L", n + 1), "%1$L");
        let first = (1..n).fold(first, |t, i| {
            t.replace(&format!("%{}$L", n + i + 1), &format!("%{}$L", i + 1))
        });
        let next = template(self.update(Some(&lower), &upper));
        let keys = self.key_list("");
        let hi: Vec<String> = (0..n).map(|i| format!("hi{i}")).collect();
        let lo: Vec<String> = (0..n).map(|i| format!("lo{i}")).collect();
        let hi_cols: Vec<String> = self
            .b
            .key
            .iter()
            .zip(&hi)
            .map(|(k, h)| format!("{}::text AS {h}", quote_ident(k.as_str())))
            .collect();
        let lo_cols: Vec<String> = hi
            .iter()
            .zip(&lo)
            .map(|(h, l)| format!("lag({h}) OVER (ORDER BY n) AS {l}"))
            .collect();
        let prefixed = |names: &[String]| {
            names
                .iter()
                .map(|n| format!("b.{n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (his, los) = (prefixed(&hi), prefixed(&lo));
        let hi_list = hi.join(", ");
        format!(
            "SELECT CASE WHEN b.lo0 IS NULL THEN format({first}, {his}) ELSE format({next}, {los}, {his}) END\n  FROM (SELECT {lo_cols}, {hi_list}, n\n          FROM (SELECT {hi_cols}, row_number() OVER (ORDER BY {keys}) AS n, count(*) OVER () AS total FROM {t}) s\n         WHERE n % {size} = 0 OR n = total) b\n\\gexec",
            lo_cols = lo_cols.join(", "),
            hi_cols = hi_cols.join(", "),
            t = qualified(&self.b.table),
        )
    }
}

impl BackfillSql<'_> {
    /// The psql script of a backfill by page ranges: the ranges are made
    /// from the table's size and its rows per page when the script runs
    /// (`size` rows a batch, as the statistics estimate), the last one
    /// open-ended.
    fn psql_pages_script(&self, size: u32) -> String {
        let t = qualified(&self.b.table);
        let lo = "\u{1}lo\u{1}";
        let hi = "\u{1}hi\u{1}";
        let template = |sql: String| {
            quote_literal(
                &sql.replace('%', "%%")
                    .replace(&page_tid(lo), "%1$L::tid")
                    .replace(&page_tid(hi), "%2$L::tid"),
            )
        };
        let bounded = template(self.update_pages(lo, Some(hi)));
        let open = template(self.update_pages(lo, None));
        format!(
            "SELECT CASE WHEN p + s.step < s.pages\n            THEN format({bounded}, format('(%s,0)', p), format('(%s,0)', p + s.step))\n            ELSE format({open}, format('(%s,0)', p)) END\n  FROM (SELECT greatest(1, pg_relation_size({tl}::regclass) / current_setting('block_size')::bigint) AS pages,\n               greatest(1, ({size} / greatest(1, CASE WHEN c.relpages > 0 THEN c.reltuples / c.relpages ELSE 1 END))::bigint) AS step\n          FROM pg_class c WHERE c.oid = {tl}::regclass) s,\n       generate_series(0, s.pages - 1, s.step) p\n\\gexec",
            tl = quote_literal(&t),
        )
    }
}

/// `'(n,0)'::tid`, the first tuple of page `n` (a number or placeholder).
fn page_tid(n: &str) -> String {
    if n.starts_with('$') {
        format!("{n}::tid")
    } else {
        format!("'({n},0)'::tid")
    }
}

/// Key values (text, as `batch_end` and `last_batch` return them) as SQL literals.
pub fn literals(values: &[String]) -> Vec<String> {
    values.iter().map(|v| quote_literal(v)).collect()
}

/// The key columns of a backfill, for messages.
pub fn key_names(key: &[Ident]) -> String {
    key.iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::QualifiedName;

    fn fill(key: &[&str]) -> Backfill {
        Backfill {
            table: QualifiedName::parse("\"odd.schema\".\"a.b\"").expect("name"),
            key: key.iter().map(|k| Ident::new(*k).expect("ident")).collect(),
            column: Ident::new("e.f").expect("ident"),
            expression: "'50%' || \"i.d\"".to_string(),
            only_null: true,
            also: Vec::new(),
            copy: None,
        }
    }

    #[test]
    fn one_pass_fills_several_columns_each_where_it_is_null() {
        let mut b = fill(&["id"]);
        b.also.push(crate::plan::Fill {
            column: Ident::new("n").expect("ident"),
            expression: "m::bigint".into(),
        });
        let sql = BackfillSql::new(&b);
        assert_eq!(
            sql.update(Some(&["$1".into()]), &["$2".into()]),
            "UPDATE \"odd.schema\".\"a.b\" SET \"e.f\" = COALESCE(\"e.f\", ('50%' || \"i.d\")), n = COALESCE(n, (m::bigint)) WHERE (id) > ($1) AND (id) <= ($2) AND ((\"e.f\" IS NULL) OR (n IS NULL))"
        );
        b.key.clear();
        assert_eq!(
            BackfillSql::new(&b).update_pages("$1", Some("$2")),
            "UPDATE \"odd.schema\".\"a.b\" SET \"e.f\" = COALESCE(\"e.f\", ('50%' || \"i.d\")), n = COALESCE(n, (m::bigint)) WHERE ctid >= $1::tid AND ctid < $2::tid AND ((\"e.f\" IS NULL AND ('50%' || \"i.d\") IS NOT NULL) OR (n IS NULL AND (m::bigint) IS NOT NULL))"
        );
    }

    #[test]
    fn the_batch_statement_quotes_every_name() {
        let b = fill(&["i.d"]);
        let sql =
            BackfillSql::new(&b).update(Some(&literals(&["4".into()])), &literals(&["9".into()]));
        assert_eq!(
            sql,
            "UPDATE \"odd.schema\".\"a.b\" SET \"e.f\" = ('50%' || \"i.d\") WHERE (\"i.d\") > ('4') AND (\"i.d\") <= ('9') AND \"e.f\" IS NULL"
        );
    }

    #[test]
    fn the_psql_script_formats_the_same_statement() {
        let b = fill(&["i.d", "x"]);
        let script = BackfillSql::new(&b).psql_script(100);
        // The per-batch statement, with % escaped for format() and the
        // key values as positional literals.
        assert!(
            script.contains("format('UPDATE \"odd.schema\".\"a.b\" SET \"e.f\" = (''50%%'' || \"i.d\") WHERE (\"i.d\", x) > (%1$L, %2$L) AND (\"i.d\", x) <= (%3$L, %4$L) AND \"e.f\" IS NULL', b.lo0, b.lo1, b.hi0, b.hi1)"),
            "{script}"
        );
        assert!(
            script.contains("WHERE true AND (\"i.d\", x) <= (%1$L, %2$L)"),
            "{script}"
        );
        assert!(script.ends_with("\\gexec"), "{script}");
    }
}
