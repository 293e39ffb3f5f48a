//! Validation and conversion of a read `SchemaFile` into the model: the
//! helpers every kind's reader uses, and the order they run in. Every
//! problem is collected (never only the first) with the position of the
//! text it is about, and an entry that is wrong does not cause follow-up
//! errors in entries that refer to it. Each kind's own reading is in
//! `kinds/`.

use std::collections::{BTreeMap, BTreeSet};

use super::de::Located;
use super::error::{Diagnostic, Pos, Span};
use super::kinds::{self, ReferencesSpec, SchemaFile};
use crate::model::*;

pub(super) type Diags = Vec<Diagnostic>;

/// What a message is about, as ``column `c` of `t` `` or ``foreign key
/// `k` on `t` ``: written out only when there is a message.
pub(super) struct About<'a>(
    pub &'static str,
    pub &'a Ident,
    pub &'static str,
    pub &'a QualifiedName,
);

impl std::fmt::Display for About<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} `{}` {} `{}`", self.0, self.1, self.2, self.3)
    }
}

pub(super) fn err(diags: &mut Diags, span: Option<Span>, message: impl Into<String>) {
    diags.push(Diagnostic::new(span, message));
}

pub(super) fn ident(diags: &mut Diags, l: &Located<String>, what: &str) -> Option<Ident> {
    match Ident::new(l.value.clone()) {
        Ok(i) => Some(i),
        Err(e) => {
            diags.push(
                Diagnostic::new(l.span(), format!("invalid {what} name: {e}"))
                    .help("names are taken literally: 1 to 63 bytes, any characters but NUL"),
            );
            None
        }
    }
}

pub(super) fn qname(diags: &mut Diags, l: &Located<String>, what: &str) -> Option<QualifiedName> {
    match QualifiedName::parse(&l.value) {
        Ok(q) => Some(q),
        Err(e) => {
            diags.push(Diagnostic::new(
                l.span(),
                format!("invalid {what} name: {e}"),
            ));
            None
        }
    }
}

/// An SQL expression from the file: not empty, and one expression that
/// PostgreSQL's grammar reads (checked offline; the error points into the
/// expression where PostgreSQL stopped reading).
pub(super) fn sql_expression(
    diags: &mut Diags,
    l: &Located<String>,
    what: &dyn std::fmt::Display,
) -> Option<String> {
    sql_text(
        diags,
        l,
        what,
        crate::sql::postgres::check_expression,
        "write it as PostgreSQL reads it; a string literal needs its SQL quotes, as in `default: \"'free'\"`",
    )
}

/// SQL text from the file, not empty and passing `check` (PostgreSQL's
/// grammar, offline); an error points where PostgreSQL stopped reading:
/// at the character when the text is on one line, else by its line and
/// column in the text.
pub(super) fn sql_text(
    diags: &mut Diags,
    l: &Located<String>,
    what: &dyn std::fmt::Display,
    check: SyntaxCheck,
    help: &str,
) -> Option<String> {
    let t = l.value.trim();
    if t.is_empty() {
        err(diags, l.span(), format!("{what} is empty"));
        return None;
    }
    if passed_before(check, t) {
        return Some(t.to_string());
    }
    match check(t) {
        Ok(()) => {
            remember_passed(check, t);
            Some(t.to_string())
        }
        Err(e) => {
            let lead = l.value.len() - l.value.trim_start().len();
            let at = e.offset.map(|o| lead + o);
            let (span, where_) = match at.and_then(|a| point_into(l, a)) {
                Some(sp) => (Some(sp), String::new()),
                None => (
                    l.span(),
                    at.map(|a| position_in(&l.value, a)).unwrap_or_default(),
                ),
            };
            diags.push(
                Diagnostic::new(
                    span,
                    format!("{what} does not parse as SQL{where_}: {}", e.message),
                )
                .help(help),
            );
            None
        }
    }
}

/// ` (at character N of it)`, or for text of several lines ` (at line L,
/// character N of it)`.
fn position_in(text: &str, at: usize) -> String {
    let before = &text[..at.min(text.len())];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    if text.trim_end().contains('\n') {
        let line = before.matches('\n').count() + 1;
        format!(" (at line {line}, character {column} of it)")
    } else {
        format!(" (at character {column} of it)")
    }
}

/// The position of byte `at` of a scalar's value in the file, when the
/// scalar sits on one line, plain or in quotes without escapes (so each
/// character of the value is one column), or is a literal block (`|`),
/// whose every line of text is a line of the file at its indentation.
fn point_into(l: &Located<String>, at: usize) -> Option<Span> {
    let sp = l.span()?;
    if sp.start.line != sp.end.line {
        let lines = l.value.trim_end_matches('\n').lines().count();
        let spanned = (sp.end.line - sp.start.line) as usize;
        if !l.value.contains('\n') || !(spanned == lines || spanned + 1 == lines) {
            return None;
        }
        let before = l.value.get(..at)?;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let p = Pos {
            line: sp.start.line + u32::try_from(before.matches('\n').count()).ok()?,
            column: sp.start.column + u32::try_from(before[line_start..].chars().count()).ok()?,
        };
        return Some(Span {
            start: p,
            end: Pos {
                line: p.line,
                column: p.column + 1,
            },
        });
    }
    let width = sp.end.column.saturating_sub(sp.start.column) as usize;
    let chars = l.value.chars().count();
    // The parser's span of a double-quoted scalar in a flow mapping can
    // take in the blank after the closing quote.
    let quote = if width == chars {
        0
    } else if width == chars + 2 || width == chars + 3 {
        1
    } else {
        return None;
    };
    let col = sp.start.column + quote + u32::try_from(l.value.get(..at)?.chars().count()).ok()?;
    let p = Pos {
        line: sp.start.line,
        column: col,
    };
    Some(Span {
        start: p,
        end: Pos {
            line: p.line,
            column: col + 1,
        },
    })
}

/// Where each definition was, to point at it in later errors.
#[derive(Default)]
pub(super) struct Places {
    pub tables: BTreeMap<QualifiedName, Span>,
    /// Tables with an entry that did not read: references into them are
    /// not checked, to avoid a cascade of errors from one mistake.
    /// `None`: the whole table entry is broken; `Some(cols)`: these
    /// columns' entries are.
    pub broken_tables: BTreeMap<QualifiedName, Option<BTreeSet<String>>>,
    /// Relation-namespace names (tables, sequences, indexes, key
    /// constraints' indexes) per schema, with where they were defined.
    /// Looked up, never listed: a hash map (at 10,000 tables, the ordered
    /// map's string comparisons were a twentieth of reading the file).
    relations: std::collections::HashMap<(Ident, Ident), (String, Span)>,
}

impl Places {
    /// Whether errors about `column` (or, with `None`, about anything) in
    /// `table` would only repeat an error already reported.
    pub fn is_broken(&self, table: &QualifiedName, column: Option<&str>) -> bool {
        match (self.broken_tables.get(table), column) {
            (None, _) => false,
            (Some(None), _) => true,
            (Some(Some(_)), None) => false,
            (Some(Some(cols)), Some(c)) => cols.contains(c),
        }
    }

    pub fn claim_relation(
        &mut self,
        diags: &mut Diags,
        schema: &Ident,
        name: &Ident,
        what: String,
        span: Span,
    ) {
        use std::collections::hash_map::Entry;
        let key = (schema.clone(), name.clone());
        match self.relations.entry(key) {
            Entry::Vacant(v) => {
                v.insert((what, span));
            }
            Entry::Occupied(first) => {
                let (other, at) = first.get();
                diags.push(
                    Diagnostic::new(
                        Some(span),
                        format!("{what} has the same name as {other}"),
                    )
                    .help(format!(
                        "tables, sequences and indexes share one namespace per schema; the other is at line {}, column {}",
                        at.start.line, at.start.column
                    )),
                );
            }
        }
    }
}

pub(super) fn duplicate(diags: &mut Diags, l: &Located<String>, what: &str, first: Span) {
    diags.push(
        Diagnostic::new(l.span(), format!("{what} is defined twice")).help(format!(
            "it is first defined at line {}, column {} (an unqualified name means `public.<name>`)",
            first.start.line, first.start.column
        )),
    );
}

/// What reading a file builds up: the model, the problems found, where
/// each definition was, and what can only be checked once every entry is
/// read.
pub(super) struct Reader<'d> {
    pub diags: &'d mut Diags,
    pub schema: Schema,
    pub places: Places,
    /// Type names (enums) with where they were defined: a table's row
    /// type shares their namespace.
    pub types: BTreeMap<QualifiedName, Span>,
    /// Sequences' `owned_by`, resolved once the tables are read.
    pub owned_by: Vec<(QualifiedName, Located<String>)>,
    /// Foreign keys, checked once every table is read.
    pub fks: Vec<(QualifiedName, Ident, Located<ReferencesSpec>)>,
    /// Tables renamed, with where the hint is.
    pub renames: Vec<(QualifiedName, Span)>,
    /// Column types as written that may be a misspelt built-in type:
    /// (table, column, type).
    pub type_uses: Vec<(QualifiedName, String, Located<String>)>,
    /// Whether a type's text may be such a misspelling, by text (a file
    /// repeats a few types thousands of times: a lookup among a few short
    /// keys is cheaper ordered than hashed).
    pub typo_candidates: BTreeMap<String, bool>,
    /// Functions and procedures, with where each was defined.
    pub routines: kinds::routine::Places,
    /// Views and materialized views, with where each was defined.
    pub view_places: BTreeMap<QualifiedName, Span>,
}

impl Reader<'_> {
    /// The valid entries of a map of types (enums, domains, range types),
    /// by name: types share one namespace per schema, so a name another
    /// type of the file already has is reported (as `what`) and left out.
    pub fn type_entries<S>(
        &mut self,
        map: super::de::OrderedMap<super::de::Checked<S>>,
        noun: &str,
        what: &str,
    ) -> Vec<(Located<String>, QualifiedName, S)> {
        let mut out = Vec::new();
        for (k, v) in map.0 {
            let Some(name) = qname(self.diags, &k, noun) else {
                continue;
            };
            let super::de::Checked::Valid(spec) = v else {
                continue;
            };
            if let Some(&first) = self.types.get(&name) {
                duplicate(self.diags, &k, &format!("{what} `{name}`"), first);
                continue;
            }
            self.types.insert(name.clone(), k.span);
            out.push((k, name, spec));
        }
        out
    }
}

/// Converts a read file into a model, pushing every problem onto `diags`.
pub fn convert(file: SchemaFile, diags: &mut Diags) -> Schema {
    let mut r = Reader {
        diags,
        schema: Schema::default(),
        places: Places::default(),
        types: BTreeMap::new(),
        owned_by: Vec::new(),
        fks: Vec::new(),
        renames: Vec::new(),
        type_uses: Vec::new(),
        typo_candidates: Default::default(),
        routines: Default::default(),
        view_places: BTreeMap::new(),
    };
    kinds::read_all(&mut r, file);
    kinds::table::check_all(&mut r);
    kinds::sequence::resolve_owners(&mut r);
    let used = r.schema.used_schemas();
    r.schema.schemas.extend(used);
    r.schema
}

type SyntaxCheck = fn(&str) -> Result<(), crate::sql::postgres::SyntaxError>;

thread_local! {
    /// The texts each check has passed, by check: a file repeats its
    /// defaults and checks (`0`, `now()`, `false`) thousands of times,
    /// and each check runs PostgreSQL's parser; the answer for a text
    /// never changes.
    static PASSED: std::cell::RefCell<std::collections::HashMap<usize, std::collections::HashSet<String>>> =
        Default::default();
}

fn passed_before(check: SyntaxCheck, text: &str) -> bool {
    PASSED.with(|p| {
        p.borrow()
            .get(&(check as usize))
            .is_some_and(|set| set.contains(text))
    })
}

fn remember_passed(check: SyntaxCheck, text: &str) {
    PASSED.with(|p| {
        p.borrow_mut()
            .entry(check as usize)
            .or_default()
            .insert(text.to_string());
    });
}
