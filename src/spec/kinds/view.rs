//! `views:`: name to the view's query (a block string), or to a mapping
//! with the query and its options. `materialized_views:` the same, with
//! indexes in place of the options.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::model::{CheckOption, Ident, Materialized, QualifiedName, Schema, View};
use crate::spec::de::{Checked, Located, OrderedMap};
use crate::spec::format::TextOr;
use crate::spec::read::{Reader, duplicate, err, ident, qname, sql_text};
use crate::spec::write::{Writer, Y, bool_y, idents, key, literal, text};

/// A view: its query, or a mapping with the query and options.
pub type ViewEntry = Located<TextOr<ViewSpec>>;

/// A view with options.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ViewSpec {
    /// The SELECT that defines it. Names in it resolve as with
    /// `search_path = public`.
    pub query: Located<String>,
    /// Names for its columns, in place of the names the query gives.
    pub columns: Option<Vec<Located<String>>>,
    /// `WITH CHECK OPTION`: `local` or `cascaded`.
    pub check_option: Option<CheckOptionSpec>,
    /// `security_barrier`: conditions of the query run before the caller's.
    #[serde(default)]
    pub security_barrier: bool,
    /// `security_invoker` (PostgreSQL 15): the caller's privileges apply.
    #[serde(default)]
    pub security_invoker: bool,
    pub comment: Option<String>,
    /// `INSTEAD OF` triggers: name to definition.
    #[serde(default)]
    pub triggers: OrderedMap<Checked<super::table::TriggerSpec>>,
}

/// A materialized view with options.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MaterializedViewSpec {
    /// The SELECT whose rows it stores. Names in it resolve as with
    /// `search_path = public`.
    pub query: Located<String>,
    /// Names for its columns, in place of the names the query gives.
    pub columns: Option<Vec<Located<String>>>,
    /// Indexes: name to definition, as a table's (a unique one lets
    /// `REFRESH MATERIALIZED VIEW CONCURRENTLY` run).
    #[serde(default)]
    pub indexes: OrderedMap<Checked<super::table::IndexSpec>>,
    /// Storage parameters, as a table's: `{ fillfactor: 70,
    /// autovacuum_enabled: false }`.
    #[serde(default)]
    pub with: OrderedMap<Located<crate::spec::format::Scalar>>,
    pub comment: Option<String>,
}

/// A materialized view: its query, or a mapping with the query and more.
pub type MaterializedViewEntry = Located<TextOr<MaterializedViewSpec>>;

/// `local` or `cascaded`.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CheckOptionSpec {
    Local,
    Cascaded,
}

pub(super) fn read(r: &mut Reader, views: OrderedMap<Checked<ViewEntry>>) {
    for (k, v) in views.0 {
        let Some(name) = claim(r, &k, "view") else {
            continue;
        };
        let Checked::Valid(entry) = v else { continue };
        let what = format!("view `{name}`");
        let spec = match entry.value {
            TextOr::Text(q) => ViewSpec {
                query: Located {
                    value: q,
                    span: entry.span,
                },
                columns: None,
                check_option: None,
                security_barrier: false,
                security_invoker: false,
                comment: None,
                triggers: OrderedMap::default(),
            },
            TextOr::Map(m) => m,
        };
        let mut spec = spec;
        let triggers = std::mem::take(&mut spec.triggers);
        super::table::trigger::read(r, &name, None, triggers);
        let Some(mut view) = query_and_columns(r, &what, &spec.query, spec.columns.as_deref())
        else {
            continue;
        };
        view.check_option = spec.check_option.map(|c| match c {
            CheckOptionSpec::Local => CheckOption::Local,
            CheckOptionSpec::Cascaded => CheckOption::Cascaded,
        });
        view.security_barrier = spec.security_barrier;
        view.security_invoker = spec.security_invoker;
        view.comment = spec.comment;
        r.schema.views.insert(name, view);
    }
}

pub(super) fn read_materialized(r: &mut Reader, views: OrderedMap<Checked<MaterializedViewEntry>>) {
    for (k, v) in views.0 {
        let Some(name) = claim(r, &k, "materialized view") else {
            continue;
        };
        let Checked::Valid(entry) = v else { continue };
        let what = format!("materialized view `{name}`");
        let spec = match entry.value {
            TextOr::Text(q) => MaterializedViewSpec {
                query: Located {
                    value: q,
                    span: entry.span,
                },
                columns: None,
                indexes: OrderedMap::default(),
                with: OrderedMap::default(),
                comment: None,
            },
            TextOr::Map(m) => m,
        };
        let indexes = super::table::read_view_indexes(r, &name, spec.indexes);
        let Some(mut view) = query_and_columns(r, &what, &spec.query, spec.columns.as_deref())
        else {
            continue;
        };
        view.comment = spec.comment;
        let storage = super::table::storage::read_params(
            r.diags,
            crate::sql::postgres::ON_TABLE,
            &spec.with,
            &what,
        );
        view.materialized = Some(Materialized { indexes, storage });
        r.schema.views.insert(name, view);
    }
}

/// The name of view entry `k` (`kind` says which kind of view), claimed
/// among the relations; `None`, with the error said, when it is not a
/// name or is taken.
fn claim(r: &mut Reader, k: &Located<String>, kind: &str) -> Option<QualifiedName> {
    let name = qname(r.diags, k, kind)?;
    let what = format!("{kind} `{name}`");
    if let Some(first) = r.view_places.get(&name) {
        duplicate(r.diags, k, &what, *first);
        return None;
    }
    r.view_places.insert(name.clone(), k.span);
    if let Some(first) = r.types.get(&name) {
        err(
            r.diags,
            k.span(),
            format!(
                "{what} has the same name as the enum at line {}, column {}: a view's row type shares the types' namespace",
                first.start.line, first.start.column
            ),
        );
        return None;
    }
    r.places
        .claim_relation(r.diags, &name.schema, &name.name, what, k.span);
    Some(name)
}

/// A view of `query` checked offline, with the column names `columns`
/// give it; `None` when either is wrong (the errors are said).
fn query_and_columns(
    r: &mut Reader,
    what: &str,
    query: &Located<String>,
    columns: Option<&[Located<String>]>,
) -> Option<View> {
    let query = sql_text(
        r.diags,
        query,
        &format!("{what}: the query"),
        crate::sql::postgres::check_query,
        "a view's query is one SELECT, written as PostgreSQL reads it",
    )?;
    let mut names: Vec<Ident> = Vec::new();
    for c in columns.into_iter().flatten() {
        let Some(i) = ident(r.diags, c, "column") else {
            continue;
        };
        if names.contains(&i) {
            err(
                r.diags,
                c.span(),
                format!("{what} names column `{i}` twice"),
            );
        }
        names.push(i);
    }
    let mut view = View::new(&query);
    view.columns = names;
    Some(view)
}

pub(super) fn write(schema: &Schema, _: &Writer) -> Option<Y> {
    let views: Vec<(String, Y)> = schema
        .views
        .iter()
        .filter(|(_, v)| !v.is_materialized())
        .map(|(name, v)| {
            let triggers = super::table::trigger::write(schema, name);
            (key(&name.to_yaml_key()), view(v, triggers))
        })
        .collect();
    (!views.is_empty()).then_some(Y::Block(views))
}

pub(super) fn write_materialized(schema: &Schema, w: &Writer) -> Option<Y> {
    let views: Vec<(String, Y)> = schema
        .views
        .iter()
        .filter_map(|(name, v)| Some((name, v, v.materialized.as_ref()?)))
        .map(|(name, v, m)| {
            let plain = v.columns.is_empty()
                && v.comment.is_none()
                && m.indexes.is_empty()
                && m.storage.is_empty();
            let y = if plain {
                literal(&v.query)
            } else {
                let mut f = vec![("query".to_string(), literal(&v.query))];
                if !v.columns.is_empty() {
                    f.push(("columns".into(), idents(&v.columns)));
                }
                if !m.indexes.is_empty() {
                    let ix = m
                        .indexes
                        .iter()
                        .map(|(n, i)| {
                            let on = crate::model::CommentOn::Index(QualifiedName::new(
                                name.schema.clone(),
                                n.clone(),
                            ));
                            let c = schema.comments.get(&on);
                            (key(n.as_str()), super::table::write_view_index(i, c, w))
                        })
                        .collect();
                    f.push(("indexes".into(), Y::Block(ix)));
                }
                if !m.storage.is_empty() {
                    f.push(("with".into(), super::table::write_storage(&m.storage)));
                }
                if let Some(c) = &v.comment {
                    f.push(("comment".into(), text(c)));
                }
                Y::Block(f)
            };
            (key(&name.to_yaml_key()), y)
        })
        .collect();
    (!views.is_empty()).then_some(Y::Block(views))
}

fn view(v: &View, triggers: Option<Y>) -> Y {
    let plain = v.columns.is_empty()
        && v.check_option.is_none()
        && !v.security_barrier
        && !v.security_invoker
        && v.comment.is_none()
        && triggers.is_none();
    if plain {
        return literal(&v.query);
    }
    let mut m = vec![("query".to_string(), literal(&v.query))];
    if !v.columns.is_empty() {
        m.push(("columns".into(), idents(&v.columns)));
    }
    if let Some(c) = v.check_option {
        m.push(("check_option".into(), Y::S(c.as_str().into())));
    }
    if v.security_barrier {
        m.push(("security_barrier".into(), bool_y(true)));
    }
    if v.security_invoker {
        m.push(("security_invoker".into(), bool_y(true)));
    }
    if let Some(c) = &v.comment {
        m.push(("comment".into(), text(c)));
    }
    if let Some(t) = triggers {
        m.push(("triggers".into(), t));
    }
    Y::Block(m)
}
