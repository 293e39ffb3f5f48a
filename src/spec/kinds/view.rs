//! `views:`: name to the view's query (a block string), or to a mapping
//! with the query and its options.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::model::{CheckOption, Ident, QualifiedName, Schema, View};
use crate::spec::de::{Checked, Located, OrderedMap};
use crate::spec::error::Span;
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

/// `local` or `cascaded`.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CheckOptionSpec {
    Local,
    Cascaded,
}

pub(super) fn read(r: &mut Reader, views: OrderedMap<Checked<ViewEntry>>) {
    let mut places: BTreeMap<QualifiedName, Span> = BTreeMap::new();
    for (k, v) in views.0 {
        let Some(name) = qname(r.diags, &k, "view") else {
            continue;
        };
        let Checked::Valid(entry) = v else { continue };
        let what = format!("view `{name}`");
        if let Some(&first) = places.get(&name) {
            duplicate(r.diags, &k, &what, first);
            continue;
        }
        places.insert(name.clone(), k.span);
        if let Some(first) = r.types.get(&name) {
            err(
                r.diags,
                k.span(),
                format!(
                    "{what} has the same name as the enum at line {}, column {}: a view's row type shares the types' namespace",
                    first.start.line, first.start.column
                ),
            );
            continue;
        }
        r.places
            .claim_relation(r.diags, &name.schema, &name.name, what.clone(), k.span);
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
        let Some(query) = sql_text(
            r.diags,
            &spec.query,
            &format!("{what}: the query"),
            crate::sql::postgres::check_query,
            "a view's query is one SELECT, written as PostgreSQL reads it",
        ) else {
            continue;
        };
        let mut names: Vec<Ident> = Vec::new();
        for c in spec.columns.iter().flatten() {
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

pub(super) fn write(schema: &Schema, _: &Writer) -> Option<Y> {
    let views: Vec<(String, Y)> = schema
        .views
        .iter()
        .map(|(name, v)| {
            let triggers = super::table::trigger::write(schema, name);
            (key(&name.to_yaml_key()), view(v, triggers))
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
