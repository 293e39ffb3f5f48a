//! `inherits`: the tables whose columns a table has besides its own
//! (`INHERITS`). Parents are read first; a child gets each parent
//! column as inheriting gives it, and may state one of them again to
//! give it another default, NOT NULL, or anything else a child's copy
//! may have of its own (not another type, collation or expression).

use super::read::TableReader;
use super::*;
use crate::spec::error::Span;

/// A table's parents, in order, and the columns it gets from them.
type Inherited = (Vec<QualifiedName>, Vec<Column>);

/// The parents of `name` and the columns it gets from them; `Ok(None)`
/// without `inherits`, `Err` once the entry is reported broken. `names`:
/// the file's tables (one of them not read yet is in a cycle, or under a
/// parent that is not defined).
pub(super) fn read_inherits(
    r: &mut Reader,
    name: &QualifiedName,
    spec: &TableSpec,
    names: &BTreeSet<QualifiedName>,
) -> Result<Option<Inherited>, ()> {
    let Some(list) = spec.inherits.as_ref().filter(|l| !l.is_empty()) else {
        return Ok(None);
    };
    let at = list.first().and_then(|l| l.span());
    if spec.partition_of.is_some() || spec.partition_by.is_some() {
        r.diags.push(
            Diagnostic::new(
                at,
                format!("table `{name}` inherits, and is a partition or partitioned"),
            )
            .help("PostgreSQL keeps inheritance and partitioning apart: use one of them"),
        );
        return Err(());
    }
    let mut parents: Vec<QualifiedName> = Vec::new();
    let mut ok = true;
    for l in list {
        let Some(parent) = qname(r.diags, l, "table") else {
            ok = false;
            continue;
        };
        let problem = if parent == *name {
            Some(format!("table `{name}` inherits from itself"))
        } else if parents.contains(&parent) {
            Some(format!("table `{name}` inherits from `{parent}` twice"))
        } else {
            match r.schema.tables.get(&parent) {
                Some(p) if p.partition_by.is_some() || p.partition_of.is_some() => Some(format!(
                    "table `{name}` inherits from `{parent}`, which is partitioned or a partition"
                )),
                Some(_) => None,
                None if r.places.is_broken(&parent, None) => {
                    ok = false;
                    continue;
                }
                None if names.contains(&parent) => Some(format!(
                    "table `{name}` inherits from `{parent}`, which cannot be read first: through its parents, it inherits from `{name}` or from a table that is not defined"
                )),
                None => Some(format!(
                    "table `{name}` inherits from `{parent}`, which is not defined"
                )),
            }
        };
        if let Some(message) = problem {
            r.diags.push(
                Diagnostic::new(l.span(), message).help(
                    "name tables of the file, each once, none of them this one or a partition",
                ),
            );
            ok = false;
            continue;
        }
        // A column two parents share must be the same column in both.
        for c in &r.schema.tables[&parent].columns {
            if let Some(o) = parents
                .iter()
                .find_map(|q| r.schema.tables[q].column(c.name.as_str()).map(|o| (q, o)))
                .filter(|(_, o)| o.ty != c.ty || o.collation != c.collation)
            {
                r.diags.push(Diagnostic::new(
                    l.span(),
                    format!(
                        "table `{name}` inherits column `{}` from `{}` as {} and from `{parent}` as {}",
                        c.name, o.0, o.1.ty, c.ty
                    ),
                ).help("a column two parents share must have one type and collation"));
                ok = false;
            }
        }
        parents.push(parent);
    }
    if !ok {
        return Err(());
    }
    let columns = r.schema.inherited_columns(&parents);
    Ok(Some((parents, columns)))
}

impl TableReader<'_> {
    /// A column the entry states that it inherits as `inherited`: what it
    /// may make its own (default, NOT NULL, comment, statistics, storage,
    /// options), checked, and the rest the parent's. Stated again, the
    /// column is stated whole (no `default` is none), but for a collation
    /// or generated expression left out: it cannot differ, so it is the
    /// parent's.
    pub(super) fn merge_inherited(
        &mut self,
        inherited: &mut Column,
        mut col: Column,
        span: Option<Span>,
    ) -> bool {
        let what = format!("column `{}` of `{}`", col.name, self.name);
        if col.collation.is_none() {
            col.collation = inherited.collation.clone();
        }
        if col.generated.is_none() {
            col.generated = inherited.generated.clone();
        }
        let problem = if col.ty != inherited.ty {
            Some(format!(
                "{what} is inherited as {}, and a table cannot give an inherited column another type (`{}`)",
                inherited.ty, col.ty
            ))
        } else if col.collation != inherited.collation || col.generated != inherited.generated {
            Some(format!(
                "{what} states another collation or generated expression than the one it inherits"
            ))
        } else if col.identity.is_some() {
            Some(format!(
                "{what} is inherited, and cannot be an identity of its own"
            ))
        } else if col.nullable && !inherited.nullable {
            Some(format!(
                "{what} is NOT NULL in its parent, so in this table too: write `nullable: false`"
            ))
        } else if col.renamed_from.is_some() {
            Some(format!("{what} is inherited: rename it in its parent"))
        } else {
            None
        };
        if let Some(message) = problem {
            self.diags.push(Diagnostic::new(span, message).help(
                "state an inherited column again only for what a table may have of its own: a default, NOT NULL, a comment, statistics, storage",
            ));
            return false;
        }
        *inherited = col;
        true
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::schema;

    /// Stated again for a comment, an inherited generated column keeps
    /// its expression and collation without repeating them.
    #[test]
    fn a_column_stated_again_keeps_what_it_cannot_change() {
        let s = schema(
            "tables:\n  p:\n    columns:\n      a: { type: text, collation: C }\n      g: { type: integer, generated: \"length(a)\" }\n  c:\n    inherits: [p]\n    columns:\n      a: { type: text, comment: Its own. }\n      g: { type: integer, comment: Its own too. }\n",
        );
        let table = |n: &str| &s.tables[&crate::model::QualifiedName::parse(n).unwrap()];
        let (p, c) = (table("p"), table("c"));
        assert!(p.columns[0].collation.is_some() && p.columns[1].generated.is_some());
        assert_eq!(c.columns.len(), 2);
        for (pc, cc) in p.columns.iter().zip(&c.columns) {
            assert_eq!(pc.collation, cc.collation, "{}", pc.name);
            assert_eq!(pc.generated, cc.generated, "{}", pc.name);
            assert!(cc.comment.is_some(), "{}", cc.name);
        }
    }
}
