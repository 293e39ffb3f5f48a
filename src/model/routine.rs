//! Functions and procedures ("routines", as the SQL standard calls both).
//! One is keyed by its name and the types of its input arguments, as
//! PostgreSQL keys it: overloads are distinct objects. The definition is
//! compared field by field as the server prints it (argument list, result,
//! body as stored); who owns it, who may run it and what depends on it are
//! facts carried beside it.

use std::fmt;

use super::{ColumnType, Ident, QualifiedName, ViewGrant, quote_part};

/// `FUNCTION` or `PROCEDURE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RoutineKind {
    Function,
    Procedure,
}

impl RoutineKind {
    /// The SQL keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            RoutineKind::Function => "FUNCTION",
            RoutineKind::Procedure => "PROCEDURE",
        }
    }

    /// The noun for messages.
    pub fn noun(self) -> &'static str {
        match self {
            RoutineKind::Function => "function",
            RoutineKind::Procedure => "procedure",
        }
    }
}

/// An argument's mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ArgMode {
    In,
    Out,
    InOut,
    Variadic,
}

impl ArgMode {
    /// Whether the argument is part of the routine's identity (what a
    /// call passes).
    pub fn is_input(self) -> bool {
        !matches!(self, ArgMode::Out)
    }
}

/// One argument, as PostgreSQL prints it in an argument list (`Display`
/// writes it so, a type in `public` bare, as a target file does).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Arg {
    pub mode: ArgMode,
    pub name: Option<Ident>,
    /// The type, without modifiers (PostgreSQL drops an argument's
    /// `varchar(10)` to `varchar`).
    pub ty: ColumnType,
    /// The default, as SQL text.
    pub default: Option<String>,
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.mode {
            ArgMode::In => {}
            ArgMode::Out => f.write_str("OUT ")?,
            ArgMode::InOut => f.write_str("INOUT ")?,
            ArgMode::Variadic => f.write_str("VARIADIC ")?,
        }
        if let Some(n) = &self.name {
            write!(f, "{} ", crate::sql::quote_ident(n.as_str()))?;
        }
        write!(f, "{}", self.ty)?;
        if let Some(d) = &self.default {
            write!(f, " DEFAULT {d}")?;
        }
        Ok(())
    }
}

/// What identifies a routine: its name and its input arguments' types.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RoutineKey {
    pub name: QualifiedName,
    pub args: Vec<ColumnType>,
}

impl RoutineKey {
    /// The key of a routine named `name` with the arguments `args`.
    pub fn of(name: QualifiedName, args: &[Arg]) -> RoutineKey {
        RoutineKey {
            name,
            args: args
                .iter()
                .filter(|a| a.mode.is_input())
                .map(|a| a.ty.clone())
                .collect(),
        }
    }

    /// Reads [`RoutineKey`]'s `Display` back.
    pub fn parse(text: &str) -> Result<RoutineKey, String> {
        let (name, args) = crate::sql::postgres::split_signature(text)
            .ok_or_else(|| format!("`{text}`: expected schema.name(types)"))?;
        let parts = super::split_parts(name)?;
        let [schema, name] = parts.as_slice() else {
            return Err(format!("`{text}`: expected schema.name(types)"));
        };
        let ident = |p: &str| Ident::new(p).map_err(|e| e.to_string());
        let args = crate::sql::postgres::parse_arguments(args).map_err(|e| e.message)?;
        Ok(RoutineKey {
            name: QualifiedName::new(ident(schema)?, ident(name)?),
            args: args.into_iter().map(|a| a.ty).collect(),
        })
    }

    fn type_list(&self) -> String {
        self.args
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `schema.name(type, type)`, parts quoted as in a dotted name.
impl fmt::Display for RoutineKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{}({})",
            quote_routine_part(self.name.schema.as_str()),
            quote_routine_part(self.name.name.as_str()),
            self.type_list()
        )
    }
}

/// A routine's schema or name as a dotted part, quoted also when it
/// holds a `(` (so the argument list is found again).
fn quote_routine_part(name: &str) -> String {
    if name.contains('(') && !name.contains('.') && !name.contains('"') {
        format!("\"{name}\"")
    } else {
        quote_part(name)
    }
}

/// `VOLATILE`, `STABLE` or `IMMUTABLE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Volatility {
    #[default]
    Volatile,
    Stable,
    Immutable,
}

impl Volatility {
    pub fn as_str(self) -> &'static str {
        match self {
            Volatility::Volatile => "volatile",
            Volatility::Stable => "stable",
            Volatility::Immutable => "immutable",
        }
    }
}

/// `PARALLEL UNSAFE`, `RESTRICTED` or `SAFE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Parallel {
    #[default]
    Unsafe,
    Restricted,
    Safe,
}

impl Parallel {
    pub fn as_str(self) -> &'static str {
        match self {
            Parallel::Unsafe => "unsafe",
            Parallel::Restricted => "restricted",
            Parallel::Safe => "safe",
        }
    }
}

/// A function or procedure. Equality and the hash leave out
/// [`Routine::facts`].
#[derive(Debug, Clone, Eq)]
pub struct Routine {
    pub kind: RoutineKind,
    /// Every argument, in order (output ones too).
    pub args: Vec<Arg>,
    /// What a function returns, as PostgreSQL prints it (`integer`,
    /// `SETOF orders`, `TABLE(id integer, total numeric)`, `trigger`);
    /// `None` for a procedure.
    pub returns: Option<String>,
    /// `sql`, `plpgsql`, ...
    pub language: Ident,
    /// The body: the source as stored (between the dollar quotes), trimmed;
    /// or, for an SQL-standard body, `BEGIN ATOMIC ... END` or `RETURN
    /// expr`, as the server prints it.
    pub body: String,
    pub volatility: Volatility,
    /// `STRICT`: NULL in, NULL out, without a call.
    pub strict: bool,
    /// `SECURITY DEFINER`: runs with its owner's privileges.
    pub security_definer: bool,
    pub leakproof: bool,
    pub parallel: Parallel,
    /// `COST`, when not the default (100; 1 for C and internal ones).
    pub cost: Option<String>,
    /// `ROWS` of a set-returning function, when not the default 1000.
    pub rows: Option<String>,
    /// `SET name TO value` clauses, in order.
    pub config: Vec<(String, String)>,
    pub comment: Option<String>,
    /// What the server says about it, from introspection; `None` for a
    /// routine of a file.
    pub facts: Option<RoutineFacts>,
}

/// What the catalog knows about a live routine besides its definition.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RoutineFacts {
    /// Its owner, when that is not the user who read it.
    pub owner: Option<Ident>,
    /// Its privileges when they are not the default (`EXECUTE` to
    /// PUBLIC): `Some` of the grants to others than the owner. A routine
    /// made again is given them back.
    pub grants: Option<Vec<ViewGrant>>,
    /// What the catalog records as depending on it (column defaults,
    /// views, triggers, indexes, constraints), as the server names them:
    /// a routine that must be dropped to be changed cannot be while they
    /// are there.
    pub dependents: Vec<String>,
    /// The tables and columns its SQL-standard body reads (the server
    /// records them, and refuses to drop or retype one under it).
    pub reads: Vec<super::ColumnRef>,
    /// The columns (table and name) whose defaults call it.
    pub defaults: Vec<(QualifiedName, Ident)>,
}

hint_free!(Routine {
    kind, args, returns, language, body, volatility, strict, security_definer,
    leakproof, parallel, cost, rows, config, comment
} hints { facts });

/// The same definition, hints aside. A string body is kept as written
/// (so a database made from a dump gets the bodies the dumped one has),
/// but blank lines around it and the indentation its lines share make no
/// difference.
impl PartialEq for Routine {
    fn eq(&self, other: &Routine) -> bool {
        if self.body == other.body {
            return self.same_definition(other);
        }
        let bare = |r: &Routine| Routine {
            body: Routine::normalize_body(&r.body),
            ..r.clone()
        };
        bare(self).same_definition(&bare(other))
    }
}

impl Routine {
    /// The body as compared: the blank lines and spaces around
    /// it gone, and the indentation its lines after the first share
    /// (a body written inside an indented statement, or a YAML block,
    /// is the same body).
    /// The body as the model keeps it: an SQL-standard one normalized
    /// (the server prints it again anyway), a string one as written.
    pub fn kept_body(language: &str, body: &str) -> String {
        if language == "sql" && is_sql_standard_body(body) {
            Routine::normalize_body(body)
        } else {
            body.to_string()
        }
    }

    pub fn normalize_body(body: &str) -> String {
        let body = body.trim();
        let mut lines = body.lines();
        let Some(first) = lines.next() else {
            return String::new();
        };
        let rest: Vec<&str> = lines.collect();
        let indent = |l: &str| l.len() - l.trim_start_matches([' ', '\t']).len();
        let common = rest
            .iter()
            .filter(|l| !l.trim().is_empty())
            .map(|l| &l[..indent(l)])
            .reduce(|a, b| {
                let n = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
                &a[..n]
            })
            .map_or(0, str::len);
        let mut out = first.to_string();
        for l in rest {
            out.push('\n');
            out.push_str(l.get(common..).unwrap_or_else(|| l.trim_start()));
        }
        out
    }

    /// Whether the body is SQL-standard (`BEGIN ATOMIC ... END` or
    /// `RETURN expr`): parsed when the routine is made, written without
    /// quotes.
    pub fn sql_standard_body(&self) -> bool {
        self.language.as_str() == "sql" && is_sql_standard_body(&self.body)
    }

    /// The default `COST`: 1 for C and internal routines, else 100.
    pub fn default_cost(language: &str) -> &'static str {
        match language {
            "c" | "internal" => "1",
            _ => "100",
        }
    }

    /// Whether it returns a set (`SETOF` or `TABLE`).
    pub fn returns_set(&self) -> bool {
        self.returns.as_deref().is_some_and(|r| {
            let r = r.trim_start().to_ascii_lowercase();
            r.starts_with("setof ") || r.starts_with("table(") || r.starts_with("table (")
        })
    }

    /// The argument list, as in `CREATE FUNCTION name(...)`.
    pub fn arg_list(&self) -> String {
        self.args
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Whether `CREATE OR REPLACE` can turn `self` into `new`: the same
    /// kind and result, the same input arguments' names, the same output
    /// arguments, and no default taken away (PostgreSQL refuses the rest).
    pub fn replaceable_by(&self, new: &Routine) -> Result<(), String> {
        if self.kind != new.kind {
            return Err(format!(
                "it becomes a {} (PostgreSQL cannot change a {} into one in place)",
                new.kind.noun(),
                self.kind.noun()
            ));
        }
        if self.returns != new.returns {
            return Err(format!(
                "its result changes from {} to {}",
                self.returns.as_deref().unwrap_or("nothing"),
                new.returns.as_deref().unwrap_or("nothing")
            ));
        }
        let out = |r: &Routine| -> Vec<(Option<Ident>, ColumnType)> {
            r.args
                .iter()
                .filter(|a| matches!(a.mode, ArgMode::Out | ArgMode::InOut))
                .map(|a| (a.name.clone(), a.ty.clone()))
                .collect()
        };
        if out(self) != out(new) {
            return Err("its output arguments change".into());
        }
        fn inputs(r: &Routine) -> Vec<&Arg> {
            r.args.iter().filter(|a| a.mode.is_input()).collect()
        }
        for (a, b) in inputs(self).into_iter().zip(inputs(new)) {
            if a.name.is_some() && a.name != b.name {
                return Err(format!(
                    "argument {} is renamed (PostgreSQL cannot rename an argument in place)",
                    a.name.as_ref().map_or("", |n| n.as_str())
                ));
            }
            if a.default.is_some() && b.default.is_none() {
                return Err(format!(
                    "argument {} loses its default",
                    a.name.as_ref().map_or("?", |n| n.as_str())
                ));
            }
        }
        Ok(())
    }
}

/// Whether an SQL function's body is SQL-standard (`BEGIN ATOMIC` or
/// `RETURN`) rather than a string.
pub fn is_sql_standard_body(body: &str) -> bool {
    let words: Vec<String> = body
        .split_whitespace()
        .take(2)
        .map(str::to_ascii_lowercase)
        .collect();
    matches!(words.first().map(String::as_str), Some("return"))
        || (words.first().map(String::as_str) == Some("begin")
            && words.get(1).map(String::as_str) == Some("atomic"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_compared_without_the_indentation_its_lines_share() {
        assert_eq!(
            Routine::normalize_body("\n    BEGIN\n      x := 1;\n\n      RETURN x;\n    END\n    "),
            "BEGIN\n  x := 1;\n\n  RETURN x;\nEND"
        );
        assert_eq!(
            Routine::normalize_body("BEGIN\n  x := 1;\nEND"),
            "BEGIN\n  x := 1;\nEND"
        );
        assert_eq!(Routine::normalize_body(" SELECT 1 "), "SELECT 1");
        assert_eq!(
            Routine::normalize_body("BEGIN\n\t\tx;\n\t END"),
            "BEGIN\n\tx;\n END"
        );
    }
}
