//! A table's row-level security: `row_security` and `force_row_security`
//! flags, and `policies:`, name to definition.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::model::*;
use crate::spec::de::{Checked, Located, OrderedMap};
use crate::spec::read::{Reader, err, ident, sql_expression};
use crate::spec::write::{Y, bool_y, idents, key, sql, text};

/// A row-level security policy.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    /// The commands it applies to: `all` (the default), `select`,
    /// `insert`, `update` or `delete`.
    pub command: Option<PolicyCommandSpec>,
    /// `true` for `AS RESTRICTIVE`: a row must pass it as well as a
    /// permissive policy. Default false (permissive: it grants rows).
    #[serde(default)]
    pub restrictive: bool,
    /// The roles it applies to; default every role (`[public]`).
    pub roles: Option<Vec<Located<String>>>,
    /// `USING`: which existing rows it lets the role see, update or delete.
    pub using: Option<Located<String>>,
    /// `WITH CHECK`: which new rows it lets the role write.
    pub with_check: Option<Located<String>>,
    pub comment: Option<String>,
}

/// `all`, `select`, `insert`, `update` or `delete`.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PolicyCommandSpec {
    All,
    Select,
    Insert,
    Update,
    Delete,
}

/// The table's flags and policies into the schema.
pub(in crate::spec) fn read(
    r: &mut Reader,
    name: &QualifiedName,
    flags: RowSecurity,
    policies: OrderedMap<Checked<PolicySpec>>,
) {
    if flags != RowSecurity::default() {
        r.schema.row_security.insert(name.clone(), flags);
    }
    for (k, v) in policies.0 {
        let Some(policy_name) = ident(r.diags, &k, "policy") else {
            continue;
        };
        let Checked::Valid(spec) = v else { continue };
        let key = PolicyKey {
            table: name.clone(),
            name: policy_name,
        };
        let what = format!("policy `{}` on `{name}`", key.name);
        if r.schema.policies.contains_key(&key) {
            err(r.diags, k.span(), format!("{what} is defined twice"));
            continue;
        }
        if let Some(p) = read_one(r, &what, k.span, spec) {
            r.schema.policies.insert(key, p);
        }
    }
}

fn read_one(
    r: &mut Reader,
    what: &str,
    at: crate::spec::error::Span,
    spec: PolicySpec,
) -> Option<Policy> {
    let command = match spec.command {
        None | Some(PolicyCommandSpec::All) => PolicyCommand::All,
        Some(PolicyCommandSpec::Select) => PolicyCommand::Select,
        Some(PolicyCommandSpec::Insert) => PolicyCommand::Insert,
        Some(PolicyCommandSpec::Update) => PolicyCommand::Update,
        Some(PolicyCommandSpec::Delete) => PolicyCommand::Delete,
    };
    let mut ok = true;
    let mut roles = Vec::new();
    for l in spec.roles.iter().flatten() {
        match ident(r.diags, l, "role") {
            Some(i) if roles.contains(&i) => {
                err(r.diags, l.span(), format!("{what} names role `{i}` twice"));
                ok = false;
            }
            Some(i) => roles.push(i),
            None => ok = false,
        }
    }
    if spec.roles.as_ref().is_some_and(Vec::is_empty) {
        err(
            r.diags,
            Some(at),
            format!("{what} has an empty `roles` list: leave it out for every role (`public`)"),
        );
        ok = false;
    }
    if roles.len() > 1 && roles.iter().any(|r| r.as_str() == PUBLIC_ROLE) {
        err(
            r.diags,
            Some(at),
            format!("{what} names `public` beside other roles: `public` is every role already"),
        );
        ok = false;
    }
    if roles.is_empty() {
        roles = Policy::everyone();
    }
    roles.sort();
    let mut expr = |l: &Option<Located<String>>, clause: &str| match l {
        Some(l) => match sql_expression(r.diags, l, &format!("{what}: `{clause}`")) {
            Some(e) => Some(e),
            None => {
                ok = false;
                None
            }
        },
        None => None,
    };
    let using = expr(&spec.using, "using");
    let with_check = expr(&spec.with_check, "with_check");
    // What each command can take (the server's rules).
    let (takes_using, takes_check) = match command {
        PolicyCommand::All | PolicyCommand::Update => (true, true),
        PolicyCommand::Select | PolicyCommand::Delete => (true, false),
        PolicyCommand::Insert => (false, true),
    };
    if using.is_some() && !takes_using {
        err(
            r.diags,
            spec.using.as_ref().and_then(|l| l.span()),
            format!(
                "{what}: an `insert` policy has no `using` (there is no existing row): use `with_check`"
            ),
        );
        ok = false;
    }
    if with_check.is_some() && !takes_check {
        err(
            r.diags,
            spec.with_check.as_ref().and_then(|l| l.span()),
            format!(
                "{what}: a `{}` policy has no `with_check` (it writes no row): use `using`",
                command.as_str()
            ),
        );
        ok = false;
    }
    if ok && using.is_none() && with_check.is_none() {
        err(
            r.diags,
            Some(at),
            format!("{what} has neither `using` nor `with_check`: say which rows it is about"),
        );
        ok = false;
    }
    ok.then_some(Policy {
        restrictive: spec.restrictive,
        command,
        roles,
        using,
        with_check,
        comment: spec.comment,
    })
}

/// The flags of `table`, as `(key, value)` entries of its mapping.
pub(in crate::spec) fn write_flags(schema: &Schema, table: &QualifiedName) -> Vec<(String, Y)> {
    let flags = schema.row_security.get(table).copied().unwrap_or_default();
    let mut out = Vec::new();
    if flags.enabled {
        out.push(("row_security".to_string(), bool_y(true)));
    }
    if flags.forced {
        out.push(("force_row_security".to_string(), bool_y(true)));
    }
    out
}

pub(in crate::spec) fn write(schema: &Schema, table: &QualifiedName) -> Option<Y> {
    let entries: Vec<(String, Y)> = schema
        .policies
        .iter()
        .filter(|(k, _)| &k.table == table)
        .map(|(k, p)| (key(k.name.as_str()), policy(p)))
        .collect();
    (!entries.is_empty()).then_some(Y::Block(entries))
}

fn policy(p: &Policy) -> Y {
    let mut m = Vec::new();
    if p.command != PolicyCommand::All {
        m.push(("command".to_string(), Y::S(p.command.as_str().into())));
    }
    if p.restrictive {
        m.push(("restrictive".to_string(), bool_y(true)));
    }
    if p.roles != Policy::everyone() {
        m.push(("roles".to_string(), idents(&p.roles)));
    }
    if let Some(u) = &p.using {
        m.push(("using".to_string(), sql(u)));
    }
    if let Some(c) = &p.with_check {
        m.push(("with_check".to_string(), sql(c)));
    }
    if let Some(c) = &p.comment {
        m.push(("comment".to_string(), text(c)));
    }
    Y::Block(m)
}
