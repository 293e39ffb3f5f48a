//! Privileges on a table's columns, written in the table's list as
//! PostgreSQL writes them (`"update (a, b)"`, `"select (email) with grant
//! option"`): reading such an entry, and writing a table's column
//! privileges back.

use std::collections::BTreeMap;

use super::privilege::{GRANT_OPTION, privilege};
use crate::model::{GrantObject, GrantOn, Ident, PUBLIC_ROLE, Privileges, QualifiedName, Schema};
use crate::spec::de::Located;
use crate::spec::error::Diagnostic;
use crate::spec::read::{Reader, err, ident};
use crate::spec::write::{Y, text};

/// `update (a, b) with grant option`: the entry without its columns
/// (`update with grant option`) and the columns, each located at the
/// entry. None for an entry without parentheses.
pub(super) fn split_columns(
    l: &Located<String>,
) -> Option<(Located<String>, Vec<Located<String>>)> {
    let (head, rest) = l.value.split_once('(')?;
    let (inside, tail) = rest.rsplit_once(')')?;
    let columns = split_words(inside)
        .into_iter()
        .map(|value| Located {
            value,
            span: l.span,
        })
        .collect();
    let entry = Located {
        value: format!("{} {}", head.trim(), tail.trim()),
        span: l.span,
    };
    Some((entry, columns))
}

/// `a, "b, c"`: the names a column list holds, a quoted one unquoted.
fn split_words(list: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut word, mut was_quoted, mut quoted) = (String::new(), false, false);
    let mut chars = list.chars().peekable();
    let mut push = |word: &mut String, was_quoted: bool| {
        let w = std::mem::take(word);
        out.push(if was_quoted { w } else { w.trim().to_string() });
    };
    while let Some(ch) = chars.next() {
        match ch {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                word.push('"');
            }
            '"' => {
                if !quoted {
                    // What stood before the quote was blanks.
                    word.clear();
                }
                quoted = !quoted;
                was_quoted = true;
            }
            ',' if !quoted => {
                push(&mut word, was_quoted);
                was_quoted = false;
            }
            _ if !quoted && was_quoted => {}
            _ => word.push(ch),
        }
    }
    push(&mut word, was_quoted);
    out
}

/// A column name as a column list writes it: quoted when it holds what
/// the list reads as punctuation.
fn column_word(c: &str) -> String {
    let plain = !c.is_empty()
        && c.trim() == c
        && !c.contains(|ch: char| matches!(ch, ',' | '(' | ')' | '"') || ch.is_whitespace());
    if plain {
        c.to_string()
    } else {
        format!("\"{}\"", c.replace('"', "\"\""))
    }
}

/// Privileges on columns of the table `on` names, to `role`, into
/// `by_column`; reported where they do not fit.
pub(super) fn column_privileges(
    r: &mut Reader,
    on: &GrantOn,
    entry: &Located<String>,
    columns: Vec<Located<String>>,
    role: &Ident,
    by_column: &mut BTreeMap<Ident, Privileges>,
) {
    let object = on.to_string();
    let table = match on {
        GrantOn::Relation(q, GrantObject::Table) if r.schema.tables.contains_key(q) => q.clone(),
        _ => {
            err(
                r.diags,
                entry.span(),
                format!(
                    "privileges on columns of `{object}`, which is not a table: only a table's columns take them"
                ),
            );
            return;
        }
    };
    let Some((names, grantable)) = privilege(r, entry, GrantObject::Column, &format!("`{object}`"))
    else {
        return;
    };
    if grantable && role.as_str() == PUBLIC_ROLE {
        r.diags.push(
            Diagnostic::new(
                entry.span(),
                format!("a grant option on `{object}` to public"),
            )
            .help("PostgreSQL gives grant options to roles only: drop `with grant option`"),
        );
        return;
    }
    for l in columns {
        let Some(c) = ident(r.diags, &l, "column") else {
            continue;
        };
        if r.schema.tables[&table].column(c.as_str()).is_none() {
            err(
                r.diags,
                l.span(),
                format!("privileges on column `{c}` of `{table}`, which has no such column"),
            );
            continue;
        }
        let set = by_column.entry(c.clone()).or_default();
        for name in &names {
            if set.insert(name.to_string(), grantable).is_some() {
                err(
                    r.diags,
                    l.span(),
                    format!(
                        "privilege `{} ({c})` on `{object}` to `{role}` is listed twice",
                        name.to_lowercase()
                    ),
                );
            }
        }
    }
}

/// `select (a, b)`, `update (b) with grant option`: the column privileges
/// of `grantee` on table `table`, each privilege with the columns that
/// have it, in the table's column order.
pub(super) fn column_lists(schema: &Schema, table: &QualifiedName, grantee: &Ident) -> Vec<Y> {
    let order: Vec<&Ident> = match schema.tables.get(table) {
        Some(t) => t.columns.iter().map(|c| &c.name).collect(),
        None => Vec::new(),
    };
    let mut held: Vec<(&Ident, &Privileges)> = schema
        .grants
        .iter()
        .filter_map(|(g, p)| match &g.on {
            GrantOn::Column(q, c) if q == table && &g.grantee == grantee => Some((c, p)),
            _ => None,
        })
        .collect();
    held.sort_by_key(|(c, _)| (order.iter().position(|o| o == c), *c));
    let mut out = Vec::new();
    for p in GrantObject::Column.privileges() {
        for grantable in [false, true] {
            let cols: Vec<String> = held
                .iter()
                .filter(|(_, privileges)| privileges.get(*p) == Some(&grantable))
                .map(|(c, _)| column_word(c.as_str()))
                .collect();
            if !cols.is_empty() {
                let option = if grantable { GRANT_OPTION } else { "" };
                out.push(text(&format!(
                    "{} ({}){option}",
                    p.to_lowercase(),
                    cols.join(", ")
                )));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{column_word, split_words};

    #[test]
    fn column_lists_read_back_as_written() {
        assert_eq!(split_words(" a, b ,c"), ["a", "b", "c"]);
        assert_eq!(
            split_words(r#"a, "odd, ""name"" ", plain name"#),
            ["a", r#"odd, "name" "#, "plain name"]
        );
        for name in ["a", "odd, \"name\" ", "x(y)", "two words", "Mixed"] {
            assert_eq!(split_words(&column_word(name)), [name], "{name}");
        }
    }
}
