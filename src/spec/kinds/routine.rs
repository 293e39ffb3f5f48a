//! `functions:` and `procedures:`: the signature as `CREATE FUNCTION`
//! spells it (`name(arg type, ...)`, a schema before the name when not
//! `public`) to the definition, whose body is a block string.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::model::{
    Parallel, QualifiedName, Routine, RoutineKey, RoutineKind, Schema, Volatility,
    is_sql_standard_body,
};
use crate::spec::de::{Checked, Located, OrderedMap};
use crate::spec::error::Span;
use crate::spec::read::{Reader, duplicate, err, ident, sql_text};
use crate::spec::write::{Writer, Y, bool_y, key, literal, text};
use crate::sql::postgres::{SyntaxError, canonical_returns, parse_arguments, split_signature};

/// A function.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FunctionSpec {
    /// What it returns: a type, `SETOF type`, `TABLE(name type, ...)`,
    /// `trigger` or `void`.
    pub returns: Located<String>,
    /// `sql`, `plpgsql`, or another installed language.
    pub language: Located<String>,
    /// The body: the source between the dollar quotes (a block string
    /// `|`), or for `sql`, `BEGIN ATOMIC ... END` or `RETURN expr`.
    pub body: Located<String>,
    /// `volatile` (the default), `stable` or `immutable`.
    pub volatility: Option<VolatilitySpec>,
    /// `STRICT`: returns NULL for a NULL argument without running.
    #[serde(default)]
    pub strict: bool,
    /// `invoker` (the default) or `definer`: whose privileges it runs with.
    pub security: Option<SecuritySpec>,
    #[serde(default)]
    pub leakproof: bool,
    /// `unsafe` (the default), `restricted` or `safe`.
    pub parallel: Option<ParallelSpec>,
    /// The planner's estimate of its cost (default 100; 1 for C).
    pub cost: Option<Located<String>>,
    /// Rows a set-returning function is estimated to give (default 1000).
    pub rows: Option<Located<String>>,
    /// Settings in force while it runs: `search_path: public, pg_temp`.
    pub set: Option<OrderedMap<Located<String>>>,
    pub comment: Option<String>,
}

/// A procedure (`CALL`ed; it may commit).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcedureSpec {
    pub language: Located<String>,
    /// The body, as for a function.
    pub body: Located<String>,
    /// `invoker` (the default) or `definer`.
    pub security: Option<SecuritySpec>,
    /// Settings in force while it runs.
    pub set: Option<OrderedMap<Located<String>>>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum VolatilitySpec {
    Volatile,
    Stable,
    Immutable,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SecuritySpec {
    Invoker,
    Definer,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ParallelSpec {
    Unsafe,
    Restricted,
    Safe,
}

/// The end of the names of the helper functions a plan makes (sync
/// triggers'): a target cannot declare one.
const HELPER_SUFFIX: &str = "_bellows_sync";

pub(super) fn read_functions(r: &mut Reader, entries: OrderedMap<Checked<FunctionSpec>>) {
    for (k, v) in entries.0 {
        let Checked::Valid(spec) = v else { continue };
        let common = Common {
            language: spec.language,
            body: spec.body,
            security: spec.security,
            set: spec.set,
            comment: spec.comment,
        };
        let Some((key, mut routine)) = read_one(r, &k, RoutineKind::Function, common) else {
            continue;
        };
        let what = format!("function `{key}`");
        match canonical_returns(&spec.returns.value) {
            Ok(t) => routine.returns = Some(t),
            Err(e) => {
                syntax(r, &spec.returns, &format!("{what}: `returns`"), e);
                continue;
            }
        }
        routine.volatility = match spec.volatility {
            None | Some(VolatilitySpec::Volatile) => Volatility::Volatile,
            Some(VolatilitySpec::Stable) => Volatility::Stable,
            Some(VolatilitySpec::Immutable) => Volatility::Immutable,
        };
        routine.strict = spec.strict;
        routine.leakproof = spec.leakproof;
        routine.parallel = match spec.parallel {
            None | Some(ParallelSpec::Unsafe) => Parallel::Unsafe,
            Some(ParallelSpec::Restricted) => Parallel::Restricted,
            Some(ParallelSpec::Safe) => Parallel::Safe,
        };
        let default_cost = Routine::default_cost(routine.language.as_str());
        routine.cost = number(r, spec.cost.as_ref(), &what, "cost", default_cost);
        let default_rows = if routine.returns_set() { "1000" } else { "0" };
        if spec.rows.is_some() && !routine.returns_set() {
            err(
                r.diags,
                spec.rows.as_ref().and_then(|l| l.span()),
                format!("{what}: `rows` is for a function that returns a set (SETOF or TABLE)"),
            );
            continue;
        }
        routine.rows = number(r, spec.rows.as_ref(), &what, "rows", default_rows);
        insert(r, &k, key, routine);
    }
}

pub(super) fn read_procedures(r: &mut Reader, entries: OrderedMap<Checked<ProcedureSpec>>) {
    for (k, v) in entries.0 {
        let Checked::Valid(spec) = v else { continue };
        let common = Common {
            language: spec.language,
            body: spec.body,
            security: spec.security,
            set: spec.set,
            comment: spec.comment,
        };
        if let Some((key, routine)) = read_one(r, &k, RoutineKind::Procedure, common) {
            insert(r, &k, key, routine);
        }
    }
}

/// What functions and procedures both have.
struct Common {
    language: Located<String>,
    body: Located<String>,
    security: Option<SecuritySpec>,
    set: Option<OrderedMap<Located<String>>>,
    comment: Option<String>,
}

/// The name and arguments of signature `k` (`name(arg type, ...)`) of a
/// `noun`; reported (None) when it is not one.
pub(super) fn read_signature(
    r: &mut Reader,
    k: &Located<String>,
    noun: &str,
) -> Option<(QualifiedName, Vec<crate::model::Arg>)> {
    let Some((name, args)) = split_signature(&k.value) else {
        err(
            r.diags,
            k.span(),
            format!(
                "{noun} `{}` has no argument list: write its signature as `name(arg type, ...)`, `name()` for none",
                k.value
            ),
        );
        return None;
    };
    let name = match QualifiedName::parse(name) {
        Ok(q) => q,
        Err(e) => {
            err(r.diags, k.span(), format!("invalid {noun} name: {e}"));
            return None;
        }
    };
    match parse_arguments(args) {
        Ok(a) => Some((name, a)),
        Err(e) => {
            let at = e.offset.map(|o| o + k.value.len() - args.len() - 1);
            let e = SyntaxError { offset: at, ..e };
            syntax(r, k, &format!("{noun} `{}`: the argument list", k.value), e);
            None
        }
    }
}

fn read_one(
    r: &mut Reader,
    k: &Located<String>,
    kind: RoutineKind,
    spec: Common,
) -> Option<(RoutineKey, Routine)> {
    let noun = kind.noun();
    let (name, args) = read_signature(r, k, noun)?;
    if name.name.as_str().ends_with(HELPER_SUFFIX) {
        err(
            r.diags,
            k.span(),
            format!(
                "{noun} {name}: names ending in `{HELPER_SUFFIX}` are kept for the sync triggers' functions bellows makes during a migration"
            ),
        );
        return None;
    }
    let key = RoutineKey::of(name, &args);
    let language = ident(r.diags, &spec.language, "language")?;
    let language = crate::model::Ident::new(language.as_str().to_lowercase()).ok()?;
    let body = Routine::kept_body(language.as_str(), &spec.body.value);
    if body.trim().is_empty() {
        err(
            r.diags,
            spec.body.span(),
            format!("{noun} `{key}`: the body is empty"),
        );
        return None;
    }
    if language.as_str() == "sql"
        && is_sql_standard_body(&body)
        && sql_text(
            r.diags,
            &spec.body,
            &format!("{noun} `{key}`: the body"),
            crate::sql::postgres::check_standard_body,
            "an SQL-standard body is `BEGIN ATOMIC` statements `END`, or `RETURN` an expression",
        )
        .is_none()
    {
        return None;
    }
    let mut config = Vec::new();
    for (name, value) in spec.set.map(|s| s.0).unwrap_or_default() {
        let ok = !name.value.is_empty()
            && name
                .value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        if !ok {
            err(
                r.diags,
                name.span(),
                format!(
                    "{noun} `{key}`: `{}` is not a setting's name (letters, digits, `_` and `.`)",
                    name.value
                ),
            );
            return None;
        }
        config.push((name.value.to_lowercase(), value.value.trim().to_string()));
    }
    let routine = Routine {
        kind,
        args,
        returns: None,
        language,
        body,
        volatility: Volatility::Volatile,
        strict: false,
        security_definer: matches!(spec.security, Some(SecuritySpec::Definer)),
        leakproof: false,
        parallel: Parallel::Unsafe,
        cost: None,
        rows: None,
        config,
        comment: spec.comment,
        facts: None,
    };
    Some((key, routine))
}

/// A `cost` or `rows` number, `None` at its default.
fn number(
    r: &mut Reader,
    l: Option<&Located<String>>,
    what: &str,
    field: &str,
    default: &str,
) -> Option<String> {
    let l = l?;
    match canonical_number(&l.value) {
        Some(n) if n == default => None,
        Some(n) => Some(n),
        None => {
            err(
                r.diags,
                l.span(),
                format!(
                    "{what}: `{field}` must be a positive number, not `{}`",
                    l.value
                ),
            );
            None
        }
    }
}

/// A cost or row estimate as one spelling (`100`, `0.5`), as the
/// catalog's float prints it.
pub fn canonical_number(text: &str) -> Option<String> {
    let n: f32 = text.trim().parse().ok()?;
    (n.is_finite() && n > 0.0).then(|| format!("{n}"))
}

fn syntax(r: &mut Reader, l: &Located<String>, what: &str, e: SyntaxError) {
    let at = e
        .offset
        .map(|o| format!(" (at character {} of it)", o + 1))
        .unwrap_or_default();
    err(
        r.diags,
        l.span(),
        format!("{what} does not parse{at}: {}", e.message),
    );
}

fn insert(r: &mut Reader, k: &Located<String>, key: RoutineKey, routine: Routine) {
    let what = format!("{} `{key}`", routine.kind.noun());
    if let Some(&first) = r.routines.get(&key) {
        duplicate(r.diags, k, &what, first);
        return;
    }
    r.routines.insert(key.clone(), k.span);
    r.schema.routines.insert(key, routine);
}

pub(super) fn write_functions(schema: &Schema, _: &Writer) -> Option<Y> {
    write(schema, RoutineKind::Function)
}

pub(super) fn write_procedures(schema: &Schema, _: &Writer) -> Option<Y> {
    write(schema, RoutineKind::Procedure)
}

fn write(schema: &Schema, kind: RoutineKind) -> Option<Y> {
    let entries: Vec<(String, Y)> = schema
        .routines
        .iter()
        .filter(|(_, r)| r.kind == kind)
        .map(|(k, r)| (key(&signature(k, r)), routine(r)))
        .collect();
    (!entries.is_empty()).then_some(Y::Block(entries))
}

/// `name(arg type, ...)`, the schema written when not `public`.
fn signature(k: &RoutineKey, r: &Routine) -> String {
    format!("{}({})", k.name.to_yaml_key(), r.arg_list())
}

fn routine(r: &Routine) -> Y {
    let mut m = Vec::new();
    if let Some(ret) = &r.returns {
        m.push(("returns".to_string(), text(ret)));
    }
    m.push(("language".into(), text(r.language.as_str())));
    if r.volatility != Volatility::Volatile {
        m.push(("volatility".into(), Y::S(r.volatility.as_str().into())));
    }
    if r.strict {
        m.push(("strict".into(), bool_y(true)));
    }
    if r.security_definer {
        m.push(("security".into(), Y::S("definer".into())));
    }
    if r.leakproof {
        m.push(("leakproof".into(), bool_y(true)));
    }
    if r.parallel != Parallel::Unsafe {
        m.push(("parallel".into(), Y::S(r.parallel.as_str().into())));
    }
    if let Some(c) = &r.cost {
        m.push(("cost".into(), Y::S(c.clone())));
    }
    if let Some(n) = &r.rows {
        m.push(("rows".into(), Y::S(n.clone())));
    }
    if !r.config.is_empty() {
        let set: Vec<(String, Y)> = r.config.iter().map(|(k, v)| (key(k), text(v))).collect();
        m.push(("set".into(), Y::Block(set)));
    }
    if let Some(c) = &r.comment {
        m.push(("comment".into(), text(c)));
    }
    m.push(("body".into(), literal(&r.body)));
    Y::Block(m)
}

/// Where each routine was defined, for duplicates.
pub type Places = BTreeMap<RoutineKey, Span>;
