//! SQLite's DDL text for the model's tables: every identifier
//! double-quoted (SQLite's keywords are not PostgreSQL's), expressions as
//! the target writes them, a default in parentheses unless it is a
//! literal (SQLite keeps the text, and its reader takes one pair off).

use crate::model::{
    Column, FkAction, ForeignKey, Ident, Identity, Index, KeyTarget, QualifiedName, SortOrder,
    Table,
};

/// An identifier, always quoted.
pub(super) fn qi(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

pub(super) fn qt(name: &QualifiedName) -> String {
    qi(name.name.as_str())
}

fn list(names: &[Ident]) -> String {
    names
        .iter()
        .map(|n| qi(n.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A default SQLite takes bare: a number, a string or blob literal,
/// NULL, TRUE / FALSE, CURRENT_TIME / _DATE / _TIMESTAMP.
fn is_literal(d: &str) -> bool {
    let t = d.trim();
    let upper = t.to_ascii_uppercase();
    let number = t
        .strip_prefix(['-', '+'])
        .unwrap_or(t)
        .parse::<f64>()
        .is_ok();
    let string = t.len() >= 2
        && t.ends_with('\'')
        && (t.starts_with('\'') || upper.starts_with("X'"))
        && !t[1..t.len() - 1].replace("''", "").contains('\'');
    number
        || string
        || matches!(
            upper.as_str(),
            "NULL" | "TRUE" | "FALSE" | "CURRENT_TIME" | "CURRENT_DATE" | "CURRENT_TIMESTAMP"
        )
}

/// Whether SQLite can add a column with this default by ALTER TABLE: a
/// constant (a literal, or a constant expression in parentheses is
/// refused when it is not one; CURRENT_* are not allowed there).
pub(super) fn constant_default(d: &str) -> bool {
    is_literal(d)
        && !matches!(
            d.trim().to_ascii_uppercase().as_str(),
            "CURRENT_TIME" | "CURRENT_DATE" | "CURRENT_TIMESTAMP"
        )
}

pub(super) fn default_sql(d: &str) -> String {
    if is_literal(d) {
        d.trim().to_string()
    } else {
        format!("({})", d.trim())
    }
}

/// The sole `integer` primary key column SQLite makes the rowid, when
/// the table has one.
pub(super) fn rowid_column(t: &Table) -> Option<&Column> {
    if t.without_rowid {
        return None;
    }
    let pk = t.primary_key.as_ref()?;
    let [only] = pk.columns.as_slice() else {
        return None;
    };
    t.columns
        .iter()
        .find(|c| &c.name == only && c.ty.to_string() == "integer")
}

/// A column as CREATE TABLE and ADD COLUMN write it. The rowid column
/// carries its primary key (AUTOINCREMENT can only be written there);
/// other key columns say NOT NULL, which SQLite does not imply.
pub(super) fn column_sql(table_name: &QualifiedName, t: &Table, c: &Column) -> String {
    let mut s = format!("{} {}", qi(c.name.as_str()), c.ty);
    let rowid = rowid_column(t).is_some_and(|r| r.name == c.name);
    if rowid {
        let pk = t
            .primary_key
            .as_ref()
            .map(|p| p.name.as_str())
            .unwrap_or_default();
        if pk != crate::model::naming::primary_key_name(table_name.name.as_str()) {
            s += &format!(" CONSTRAINT {}", qi(pk));
        }
        s += " PRIMARY KEY";
        if c.identity == Some(Identity::ByDefault) {
            s += " AUTOINCREMENT";
        }
    } else if !c.nullable {
        s += " NOT NULL";
    }
    if let Some(d) = &c.default {
        s += &format!(" DEFAULT {}", default_sql(d));
    }
    if let Some(coll) = &c.collation {
        s += &format!(" COLLATE {}", coll.as_str().to_ascii_uppercase());
    }
    if let Some(g) = &c.generated {
        s += &format!(" GENERATED ALWAYS AS ({g}) STORED");
    }
    s
}

fn action(a: FkAction) -> &'static str {
    match a {
        FkAction::NoAction => "NO ACTION",
        FkAction::Restrict => "RESTRICT",
        FkAction::Cascade => "CASCADE",
        FkAction::SetNull => "SET NULL",
        FkAction::SetDefault => "SET DEFAULT",
    }
}

pub(super) fn foreign_key_sql(name: &Ident, fk: &ForeignKey) -> String {
    let mut s = format!(
        "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({})",
        qi(name.as_str()),
        list(&fk.columns),
        qt(&fk.ref_table),
        list(&fk.ref_columns)
    );
    if fk.on_update != FkAction::NoAction {
        s += &format!(" ON UPDATE {}", action(fk.on_update));
    }
    if fk.on_delete != FkAction::NoAction {
        s += &format!(" ON DELETE {}", action(fk.on_delete));
    }
    s
}

/// `CREATE TABLE name (…)`: columns, then the keys, checks and foreign
/// keys, each under its name so that reading it back gives the same.
pub(super) fn create_table_sql(name: &QualifiedName, as_name: &str, t: &Table) -> String {
    let mut parts: Vec<String> = t.columns.iter().map(|c| column_sql(name, t, c)).collect();
    if let Some(pk) = &t.primary_key
        && rowid_column(t).is_none()
    {
        parts.push(format!(
            "CONSTRAINT {} PRIMARY KEY ({})",
            qi(pk.name.as_str()),
            list(&pk.columns)
        ));
    }
    for (n, u) in &t.uniques {
        parts.push(format!(
            "CONSTRAINT {} UNIQUE ({})",
            qi(n.as_str()),
            list(&u.columns)
        ));
    }
    for (n, c) in &t.checks {
        parts.push(format!(
            "CONSTRAINT {} CHECK ({})",
            qi(n.as_str()),
            c.expression
        ));
    }
    for (n, fk) in &t.foreign_keys {
        parts.push(foreign_key_sql(n, fk));
    }
    let options: Vec<&str> = [(t.strict, "STRICT"), (t.without_rowid, "WITHOUT ROWID")]
        .into_iter()
        .filter_map(|(on, o)| on.then_some(o))
        .collect();
    let options = if options.is_empty() {
        String::new()
    } else {
        format!(" {}", options.join(", "))
    };
    format!(
        "CREATE TABLE {} (\n  {}\n){options}",
        qi(as_name),
        parts.join(",\n  ")
    )
}

pub(super) fn create_index_sql(table: &str, name: &Ident, ix: &Index) -> String {
    let keys: Vec<String> = ix
        .keys
        .iter()
        .map(|k| {
            let mut s = match &k.target {
                KeyTarget::Column(c) => qi(c.as_str()),
                KeyTarget::Expression(e) => format!("({e})"),
            };
            if let Some(c) = &k.collation {
                s += &format!(" COLLATE {}", c.as_str().to_ascii_uppercase());
            }
            if k.order == SortOrder::Desc {
                s += " DESC";
            }
            s
        })
        .collect();
    let mut s = format!(
        "CREATE {}INDEX {} ON {} ({})",
        if ix.unique { "UNIQUE " } else { "" },
        qi(name.as_str()),
        qi(table),
        keys.join(", ")
    );
    if let Some(w) = &ix.predicate {
        s += &format!(" WHERE {w}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_go_bare_and_expressions_in_parentheses() {
        for (d, sql) in [
            ("0", "0"),
            ("-1.5", "-1.5"),
            ("'it''s'", "'it''s'"),
            ("CURRENT_TIMESTAMP", "CURRENT_TIMESTAMP"),
            ("NULL", "NULL"),
            ("lower('A')", "(lower('A'))"),
            ("'a' || 'b'", "('a' || 'b')"),
        ] {
            assert_eq!(default_sql(d), sql, "{d}");
        }
        assert!(constant_default("'x'") && !constant_default("CURRENT_TIMESTAMP"));
        assert!(!constant_default("random()"));
    }
}
