//! The columns a table's entry names: checked against the table's own,
//! and the list a message offers when one is not.

use std::collections::BTreeSet;

use crate::model::{Ident, Table};
use crate::spec::de::Located;
use crate::spec::error::Diagnostic;
use crate::spec::read::{Diags, ident};

/// The columns `list` names (`what` says whose, its table included): each
/// one of `table`'s and, unless `repeats`, named once; `None` once one is
/// not. A name in `broken` (an entry that did not read) is not reported
/// again; with `open`, the table's columns are not in the file
/// and names are not checked against them.
pub(super) fn named_columns(
    diags: &mut Diags,
    table: &Table,
    list: &[Located<String>],
    what: &str,
    repeats: bool,
    open: bool,
    broken: &BTreeSet<String>,
) -> Option<Vec<Ident>> {
    let mut out = Vec::new();
    let mut ok = true;
    let mut seen = BTreeSet::new();
    for l in list {
        let Some(i) = ident(diags, l, "column") else {
            ok = false;
            continue;
        };
        if !open && table.column(i.as_str()).is_none() {
            ok = false;
            if !broken.contains(i.as_str()) {
                diags.push(
                    Diagnostic::new(
                        l.span(),
                        format!("{what} names column `{i}`, which the table does not have"),
                    )
                    .help(column_list(table)),
                );
            }
        } else if !seen.insert(i.clone()) && !repeats {
            ok = false;
            diags.push(Diagnostic::new(
                l.span(),
                format!("{what} names column `{i}` twice"),
            ));
        }
        out.push(i);
    }
    ok.then_some(out)
}

/// The table's columns, for a message about one it does not have.
pub(super) fn column_list(t: &Table) -> String {
    let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    if names.is_empty() {
        "the table has no columns".to_string()
    } else {
        format!("its columns: {}", names.join(", "))
    }
}
