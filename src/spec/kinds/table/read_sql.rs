//! Reading a table's constraints that are written as SQL: checks (a
//! boolean expression) and exclusions (what follows `EXCLUDE`), each
//! either the text alone or a mapping with options.

use super::read::TableReader;
use super::*;
use crate::spec::read::{ident, sql_expression, sql_text};

/// A valid entry of such a map: its key, its name, and its value, whose
/// text form is located where the entry stands.
struct Entry<M> {
    key: Located<String>,
    name: Ident,
    value: TextOr<M>,
    span: crate::spec::error::Span,
}

impl<M> Entry<M> {
    /// The SQL text, or the options with `text` picked out of them.
    fn split<T>(
        self,
        text: impl FnOnce(M) -> (Located<String>, T),
        plain: T,
    ) -> (Located<String>, T) {
        match self.value {
            TextOr::Text(t) => (
                Located {
                    value: t,
                    span: self.span,
                },
                plain,
            ),
            TextOr::Map(m) => text(m),
        }
    }
}

impl TableReader<'_> {
    fn entries<M>(&mut self, map: OrderedMap<Checked<Located<TextOr<M>>>>) -> Vec<Entry<M>> {
        let mut out = Vec::new();
        for (key, v) in map.0 {
            let Some(name) = ident(self.diags, &key, "constraint") else {
                continue;
            };
            let Checked::Valid(spec) = v else { continue };
            out.push(Entry {
                key,
                name,
                span: spec.span,
                value: spec.value,
            });
        }
        out
    }

    /// A rename hint's name, reported when it is not one.
    fn renamed(&mut self, r: Option<Located<String>>) -> Option<Ident> {
        r.as_ref().and_then(|r| ident(self.diags, r, "constraint"))
    }

    pub(super) fn read_checks(
        &mut self,
        table: &mut Table,
        checks: OrderedMap<Checked<Located<TextOr<CheckSpec>>>>,
    ) {
        for e in self.entries(checks) {
            let (name, key) = (e.name.clone(), e.key.clone());
            let (expr, (no_inherit, not_valid, renamed, comment)) = e.split(
                |m| {
                    (
                        m.expression,
                        (m.no_inherit, m.not_valid, m.renamed_from, m.comment),
                    )
                },
                (false, false, None, None),
            );
            let Some(expression) = sql_expression(
                self.diags,
                &expr,
                &format!("check `{name}` on `{}`: the expression", self.name),
            ) else {
                continue;
            };
            if self.constraint_taken(table, &name, &key) {
                continue;
            }
            let renamed_from = self.renamed(renamed);
            self.constraint_comment(&name, comment);
            table.checks.insert(
                name,
                Check {
                    expression,
                    no_inherit,
                    not_valid: NotValid(not_valid),
                    renamed_from,
                },
            );
        }
    }

    pub(super) fn read_exclusions(
        &mut self,
        table: &mut Table,
        exclusions: OrderedMap<Checked<Located<TextOr<ExclusionSpec>>>>,
    ) {
        for e in self.entries(exclusions) {
            let (name, key) = (e.name.clone(), e.key.clone());
            let (def, (deferrable, deferred, renamed, comment)) = e.split(
                |m| {
                    (
                        m.definition,
                        (
                            m.deferrable,
                            m.initially_deferred,
                            m.renamed_from,
                            m.comment,
                        ),
                    )
                },
                (None, false, None, None),
            );
            let what = format!("exclusion constraint `{name}`");
            let Some(definition) = sql_text(
                self.diags,
                &def,
                &format!("{what} on `{}`", self.name),
                crate::sql::postgres::check_exclusion,
                "write what follows EXCLUDE, as in `USING gist (during WITH &&)`; an element that is an expression goes in parentheses",
            ) else {
                continue;
            };
            let Some(deferrable) = self.deferrable(&what, deferrable, deferred) else {
                continue;
            };
            if self.constraint_taken(table, &name, &key) {
                continue;
            }
            let renamed_from = self.renamed(renamed);
            self.constraint_comment(&name, comment);
            table.exclusions.insert(
                name,
                Exclusion {
                    definition,
                    deferrable,
                    renamed_from,
                },
            );
        }
    }
}
