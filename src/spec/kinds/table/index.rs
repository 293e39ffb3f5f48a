//! Reading a table's indexes: keys (columns or expressions, with order,
//! nulls, operator class and collation), INCLUDE columns and predicates.

use super::read::TableReader;
use super::*;
use crate::spec::read::{ident, sql_expression};

impl TableReader<'_> {
    pub(super) fn read_indexes(
        &mut self,
        table: &mut Table,
        indexes: OrderedMap<Checked<IndexSpec>>,
    ) {
        for (k, v) in indexes.0 {
            let Some(name) = ident(self.diags, &k, "index") else {
                continue;
            };
            let Checked::Valid(spec) = v else { continue };
            let what = format!("index `{name}`");
            let forms = [
                spec.columns.is_some(),
                spec.expression.is_some(),
                spec.keys.is_some(),
            ];
            if forms.iter().filter(|f| **f).count() != 1 {
                self.diags.push(
                    Diagnostic::new(k.span(), format!("{what} on `{}` needs exactly one of `columns`, `expression` and `keys`", self.name))
                        .help("`columns: [a, b]` for plain columns, `expression: lower(email)` for one expression, `keys: [...]` for keys with options"),
                );
                continue;
            }
            let mut keys = Vec::new();
            let mut ok = true;
            if let Some(cols) = &spec.columns {
                if cols.is_empty() {
                    self.err(
                        k.span(),
                        format!("{what} on `{}` has no columns", self.name),
                    );
                    continue;
                }
                match self.columns_of(table, cols, &what, true) {
                    Some(c) => keys.extend(c.into_iter().map(IndexKey::column)),
                    None => ok = false,
                }
            }
            if let Some(e) = &spec.expression {
                match sql_expression(self.diags, e, &format!("{what}: the expression")) {
                    Some(x) => keys.push(IndexKey {
                        target: KeyTarget::Expression(x),
                        order: SortOrder::Asc,
                        nulls: None,
                        opclass: None,
                        collation: None,
                    }),
                    None => ok = false,
                }
            }
            for key in spec.keys.iter().flatten() {
                match self.index_key(table, &what, key) {
                    Some(k) => keys.push(k),
                    None => ok = false,
                }
            }
            if spec.keys.as_ref().is_some_and(Vec::is_empty) {
                self.err(k.span(), format!("{what} on `{}` has no keys", self.name));
                ok = false;
            }
            let include = self.columns(table, &spec.include, &format!("{what} (include)"));
            let method = spec
                .method
                .clone()
                .unwrap_or_else(|| DEFAULT_INDEX_METHOD.to_string())
                .to_lowercase();
            if spec.unique && method != DEFAULT_INDEX_METHOD {
                ok = false;
                self.err(
                    k.span(),
                    format!(
                        "{what} on `{}`: only btree indexes can be unique, not {method}",
                        self.name
                    ),
                );
            }
            let predicate = spec.predicate.as_ref().and_then(|p| {
                sql_expression(self.diags, p, &format!("{what}: the `where` predicate"))
            });
            let storage =
                self.read_storage(&method, &spec.with, &format!("{what} on `{}`", self.name));
            let (Some(include), true) = (include, ok) else {
                continue;
            };
            self.claim_in_schema(&name, &what, k.span);
            let renamed_from = spec
                .renamed_from
                .as_ref()
                .and_then(|r| ident(self.diags, r, "index"));
            if let Some(c) = spec.comment {
                self.comments.insert(
                    CommentOn::Index(QualifiedName::new(self.name.schema.clone(), name.clone())),
                    c,
                );
            }
            table.indexes.insert(
                name,
                Index {
                    unique: spec.unique,
                    method,
                    keys,
                    include,
                    predicate,
                    nulls_not_distinct: spec.nulls_not_distinct,
                    storage,
                    renamed_from,
                },
            );
        }
    }

    fn index_key(
        &mut self,
        table: &Table,
        what: &str,
        key: &Located<IndexKeySpec>,
    ) -> Option<IndexKey> {
        let k = &key.value;
        let target = match (&k.column, &k.expression) {
            (Some(c), None) => {
                KeyTarget::Column(self.columns(table, std::slice::from_ref(c), what)?.pop()?)
            }
            (None, Some(e)) => KeyTarget::Expression(sql_expression(
                self.diags,
                e,
                &format!("{what}: the key expression"),
            )?),
            _ => {
                self.err(
                    key.span(),
                    format!(
                        "{what} on `{}`: each key needs exactly one of `column` and `expression`",
                        self.name
                    ),
                );
                return None;
            }
        };
        Some(IndexKey {
            target,
            order: match k.order {
                Some(OrderSpec::Desc) => SortOrder::Desc,
                _ => SortOrder::Asc,
            },
            nulls: match (k.nulls, k.order) {
                // Only a non-default NULLS placement is kept, so that
                // `nulls: last` on an ascending key equals leaving it out.
                (Some(NullsSpec::First), Some(OrderSpec::Desc))
                | (Some(NullsSpec::Last), None | Some(OrderSpec::Asc)) => None,
                (Some(NullsSpec::First), _) => Some(NullsOrder::First),
                (Some(NullsSpec::Last), _) => Some(NullsOrder::Last),
                (None, _) => None,
            },
            opclass: k.opclass.clone(),
            collation: k
                .collation
                .as_ref()
                .and_then(|c| ident(self.diags, c, "collation")),
        })
    }
}
