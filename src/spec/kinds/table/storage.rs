//! Reading a table's or an index's storage parameters (`with:`), each
//! checked against what PostgreSQL defines for it where it is written,
//! and a column's statistics target, storage strategy and compression.

use std::collections::BTreeMap;

use super::read::TableReader;
use super::*;
use crate::spec::read::Diags;
use crate::sql::postgres::{ParamError, storage_param};

const HELP: &str = "see PostgreSQL's CREATE TABLE and CREATE INDEX, \"Storage Parameters\"";
const COLUMN_HELP: &str = "n_distinct is the number of distinct values, or minus their share of the rows (-0.5: half as many distinct values as rows); n_distinct_inherited the same over a table and its partitions; -1 is every row distinct";

impl TableReader<'_> {
    /// The parameters of `what` (a table when `on` is `table`, else an
    /// index of access method `on`), named so in messages.
    pub(super) fn read_storage(
        &mut self,
        on: &str,
        with: &OrderedMap<Located<Scalar>>,
        what: &str,
    ) -> StorageParams {
        read_params(self.diags, on, with, what)
    }
}

/// The storage parameters `with` gives `what` (on `on`: `table`, or an
/// index access method), each error reported where it is.
pub(in crate::spec) fn read_params(
    diags: &mut Diags,
    on: &str,
    with: &OrderedMap<Located<Scalar>>,
    what: &str,
) -> StorageParams {
    let help = if on == crate::sql::postgres::ON_COLUMN {
        COLUMN_HELP
    } else {
        HELP
    };
    let mut params = BTreeMap::new();
    for (k, v) in &with.0 {
        match storage_param(on, &k.value, &v.value.0) {
                Ok((name, value)) => {
                    if params.insert(name.clone(), value).is_some() {
                        diags.push(Diagnostic::new(
                            k.span(),
                            format!("{what} sets storage parameter `{name}` twice"),
                        ));
                    }
                }
                Err(ParamError::Name(why, known)) => {
                    let mut d = Diagnostic::new(k.span(), format!("{what}: {why}"));
                    d = match crate::spec::error::did_you_mean(&k.value, &known) {
                        Some(m) => d.help(format!("did you mean `{m}`?")),
                        None if known.is_empty() => d.help(help),
                        None => d.help(format!("PostgreSQL's are: {}", known.join(", "))),
                    };
                    diags.push(d);
                }
                Err(ParamError::Toast(why)) => diags.push(
                    Diagnostic::new(k.span(), format!("{what}: {why}"))
                        .help("leave it out: bellows reads no TOAST table's parameters and never changes them, so one set by hand (ALTER TABLE ... SET (toast.name = value)) stays"),
                ),
                Err(ParamError::Value(why)) => diags.push(
                    Diagnostic::new(v.span(), format!("{what}: {why}")).help(help),
                ),
            }
    }
    StorageParams::new(params)
}

/// A column's `statistics:`, `storage:`, `compression:` and `with:`, as
/// written.
pub(super) type ColumnSettings = (
    Option<Located<i64>>,
    Option<Located<String>>,
    Option<Located<String>>,
    OrderedMap<Located<Scalar>>,
);

/// A column's `statistics:`, `storage:`, `compression:` and `with:`, once
/// its type is known.
pub(super) fn column_settings(
    diags: &mut Diags,
    col: &mut Column,
    (statistics, storage, compression, with): ColumnSettings,
    what: &str,
) {
    col.statistics = statistics_target(
        diags,
        statistics,
        what,
        "the server's default_statistics_target",
    );
    col.options = read_params(diags, crate::sql::postgres::ON_COLUMN, &with, what);
    let default = col.ty.default_storage();
    let fixed = default == Some(StorageStrategy::Plain);
    let of_type = |l: &Located<String>, word: &str| {
        Diagnostic::new(
            l.span(),
            format!(
                "{what} is of type `{}`, which PostgreSQL keeps in the row: it takes no {word}",
                col.ty
            ),
        )
    };
    if let Some(l) = storage {
        let words = StorageStrategy::ALL.map(StorageStrategy::keyword);
        match StorageStrategy::ALL.into_iter().find(|s| s.keyword() == l.value) {
            Some(s) if fixed && s != StorageStrategy::Plain => diags.push(
                of_type(&l, "other storage than `plain`")
                    .help("leave `storage` out, or give the column a variable-length type (text, bytea, jsonb, an array)"),
            ),
            // The type's own is no setting: the server reads it back as
            // the default.
            Some(s) if Some(s) == default => {}
            Some(s) => col.storage.strategy = Some(s),
            None => diags.push(unknown_word(&l, "storage strategy", &words, what)),
        }
    }
    if let Some(l) = compression {
        let words = Compression::ALL.map(Compression::keyword);
        match Compression::ALL
            .into_iter()
            .find(|c| c.keyword() == l.value)
        {
            Some(_) if fixed => diags.push(
                of_type(&l, "compression")
                    .help("leave `compression` out: only variable-length values are compressed"),
            ),
            Some(c) => col.storage.compression = Some(c),
            None => diags.push(unknown_word(&l, "compression method", &words, what)),
        }
    }
}

fn unknown_word(l: &Located<String>, kind: &str, words: &[&str], what: &str) -> Diagnostic {
    let d = Diagnostic::new(
        l.span(),
        format!("`{}` is not a {kind} (of {what})", l.value),
    );
    match crate::spec::error::did_you_mean(&l.value, words) {
        Some(w) => d.help(format!(
            "did you mean `{w}`? it is one of {}",
            words.join(", ")
        )),
        None => d.help(format!(
            "one of {}, or leave it out for the default",
            words.join(", ")
        )),
    }
}

/// A column's `statistics:` or a statistics object's `target:` (0 to
/// 10000, as `SET STATISTICS` takes it); `unset` says what leaving it out
/// means.
pub(super) fn statistics_target(
    diags: &mut Diags,
    spec: Option<Located<i64>>,
    column: &str,
    unset: &str,
) -> StatisticsTarget {
    let Some(l) = spec else {
        return StatisticsTarget::default();
    };
    match i32::try_from(l.value) {
        Ok(n) if (0..=10_000).contains(&n) => StatisticsTarget(Some(n)),
        _ => {
            diags.push(
                Diagnostic::new(
                    l.span(),
                    format!("the statistics target of {column} is {}", l.value),
                )
                .help(format!("a number from 0 to 10000 (ANALYZE keeps that many common values and histogram buckets), or leave it out for {unset}")),
            );
            StatisticsTarget::default()
        }
    }
}
