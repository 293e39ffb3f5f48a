//! Removing or reordering an enum's values. PostgreSQL can only add a
//! value, so the type is built again beside the old one under a helper
//! name (expand), every column of it moves to a shadow column of the new
//! type with the machinery of a type change (a sync trigger, a batched
//! backfill, the swap in contract), and once the last column has moved
//! the old type is dropped and the new one takes its name.

use super::names::Space;
use super::*;
use crate::sql::postgres::{mentions, type_sql};
use crate::sql::quote_literal;

/// A column that moves to the rebuilt type: its table as it is now, the
/// column as it is and as the target wants it.
pub(super) struct Mover<'a> {
    table: &'a QualifiedName,
    old_table: &'a Table,
    old: &'a Column,
    new: &'a Column,
}

impl<'a> Planner<'a> {
    /// Enum `name` becomes `new` (values removed or reordered) with the
    /// columns that hold it; refused where something else holds the type.
    pub(super) fn rebuild_enum(&mut self, name: &'a QualifiedName, old: &[String], new: &[String]) {
        let what = format!("removing or reordering the values of enum {name}");
        let movers = match self.columns_moving_with(name, &what, "enum") {
            Some(m) => m,
            None => return,
        };
        let gone: Vec<&String> = old.iter().filter(|v| !new.contains(v)).collect();
        let naming = self.naming_removed_values(&movers, &gone);
        if !naming.is_empty() {
            return self.error(PlanError::Unsupported {
                object: name.to_string(),
                what: format!(
                    "{what}: {} the target keeps still name{} a removed value, which the rebuilt type cannot hold",
                    naming.join(", "),
                    if naming.len() == 1 { "s" } else { "" }
                ),
                hint: "each is made again on the rebuilt type and would fail there: take the removed value out of them (in this plan, or one before it), or keep the value".into(),
            });
        }
        let Some(helper) = self.rebuilt_type_name(name, &what, "enum") else {
            return;
        };
        let labels: Vec<String> = new.iter().map(|v| quote_literal(v)).collect();
        let removed: Vec<String> = old
            .iter()
            .filter(|v| !new.contains(v))
            .map(|v| format!("{v:?}"))
            .collect();
        let mut create = SchemaObject {
            kind: ObjectKind::Enum,
            noun: "enum",
            keyword: "TYPE",
            name: &helper,
            made: vec![Resource::Type(helper.clone())],
        }
        .create(format!(
            "CREATE TYPE {} AS ENUM ({})",
            qt(&helper),
            labels.join(", ")
        ));
        create.description = format!(
            "create enum {helper}: {name} with its values {}",
            if removed.is_empty() {
                "in their new order".to_string()
            } else {
                format!("less {}", removed.join(", "))
            }
        );
        if !removed.is_empty() && !movers.is_empty() {
            create = create.hazard(
                HazardKind::MayFail,
                format!(
                    "a row holding {} fails the backfill, and so does a write of it by the old app once the sync trigger is in place: stop writing it and map the rows first, or give the column a `backfill:` expression that maps them",
                    removed.join(" or ")
                ),
            );
        }
        self.push(create);
        self.move_to_rebuilt(name, &helper, ObjectKind::Enum, "enum", &movers);
    }

    /// The helper name type `name` (a `noun`) is built again under; `None`,
    /// with the refusal, when something besides table columns holds it
    /// (domains, routines, views...), which the rebuild would not move.
    pub(super) fn rebuilt_type_name(
        &mut self,
        name: &QualifiedName,
        what: &str,
        noun: &str,
    ) -> Option<QualifiedName> {
        let others = self.other_users_of_type(name);
        if !others.is_empty() {
            self.error(PlanError::Unsupported {
                object: name.to_string(),
                what: format!("{what}, which {} also use", others.join(", ")),
                hint: "bellows rebuilds the type beside the old one and moves its table columns over; it does not move these: change them in a plan of their own first, or rebuild the type by hand".into(),
            });
            return None;
        }
        let helper = self.helper(
            &[Space::Relation(name.schema.clone())],
            &[name.name.as_str()],
            "bellows_new",
            format!("the rebuilt {noun} {name}"),
        );
        Some(QualifiedName::new(name.schema.clone(), helper))
    }

    /// The columns `movers` of type `name` move to `helper`, its rebuilt
    /// self, through shadow columns (the value goes through its text
    /// form, or the column's `backfill:` expression); once the last has
    /// moved, contract drops the old type and gives `helper` its name.
    pub(super) fn move_to_rebuilt(
        &mut self,
        name: &QualifiedName,
        helper: &QualifiedName,
        kind: ObjectKind,
        noun: &str,
        movers: &[Mover<'_>],
    ) {
        let mut replace = new_step(
            kind,
            name.to_string(),
            Action::Replace,
            Phase::Contract,
            format!("drop the old {noun} {name} and give {helper} its name"),
        )
        .sql(format!("DROP TYPE {}", qt(name)))
        .sql(format!(
            "ALTER TYPE {} RENAME TO {}",
            qt(helper),
            qi(&name.name)
        ))
        .lock(LockLevel::AccessExclusive, Cost::Metadata)
        .hazard(
            HazardKind::UntrackedDependencies,
            format!(
                "drops the old {noun} {name}; code that names it in a function body is not seen"
            ),
        )
        .requires(Resource::Type(helper.clone()))
        .removes(Resource::Type(name.clone()))
        .removes(Resource::Type(helper.clone()))
        // The type under its name is new: a comment on it follows.
        .provides(Resource::Made(Box::new(Resource::Type(name.clone()))));
        for m in movers {
            let mut moved = m.new.clone();
            moved.ty.base = BaseType::Named {
                schema: Some(helper.schema.clone()),
                name: helper.name.clone(),
                modifiers: Vec::new(),
            };
            // The text form is the way from one type to the other (an
            // enum's label, a composite's record literal); a `backfill:`
            // expression maps the values that would not pass.
            let from = m.new.backfill.clone().unwrap_or_else(|| qi(&m.old.name));
            moved.backfill = Some(format!("({from})::text::{}", type_sql(&moved.ty)));
            // The swap sets the default: a cast to the type names the new
            // one, which then takes the old one's name (as the default
            // reads it from then on).
            moved.default = m.new.default.as_deref().map(|d| recast(d, name, helper));
            self.shadow(m.table, m.old_table, m.old, &moved);
            replace = replace.requires(Resource::swapped(m.table, &m.old.name));
        }
        self.push(replace);
    }

    /// The columns of type `name` that move to its rebuilt self: those of
    /// live tables the target keeps under the same name and type. A
    /// column that is new, renamed, or made of the type in this plan
    /// would be made of the old type, which then could not be dropped:
    /// refused (None).
    pub(super) fn columns_moving_with(
        &mut self,
        name: &QualifiedName,
        what: &str,
        noun: &str,
    ) -> Option<Vec<Mover<'a>>> {
        let (cur, tgt) = (self.cur, self.tgt);
        let of_it = |c: &Column| c.ty.user_type().as_ref() == Some(name);
        let mut movers = Vec::new();
        let mut refused = Vec::new();
        // Target columns already said, so none is said twice.
        let mut said: std::collections::BTreeSet<(&QualifiedName, &Ident)> = Default::default();
        for (tq, t) in &cur.tables {
            for c in t.columns.iter().filter(|c| of_it(c)) {
                let Some(nt) = tgt.tables.get(tq) else {
                    let renamed = tgt
                        .tables
                        .iter()
                        .find(|(_, n)| n.renamed_from.as_ref() == Some(tq));
                    if let Some((to, n)) = renamed {
                        said.extend(n.columns.iter().filter(|c| of_it(c)).map(|c| (to, &c.name)));
                        refused.push(format!("table {tq} is renamed"));
                    }
                    continue;
                };
                match nt.columns.iter().find(|n| n.name == c.name) {
                    Some(n) if n.ty == c.ty && n.renamed_from.is_none() => movers.push(Mover {
                        table: tq,
                        old_table: t,
                        old: c,
                        new: n,
                    }),
                    Some(n) if of_it(n) => {
                        said.insert((tq, &n.name));
                        refused.push(format!("{} changes with it", col_name(tq, &c.name)))
                    }
                    _ => {
                        let renamed = nt
                            .columns
                            .iter()
                            .find(|n| n.renamed_from.as_ref() == Some(&c.name));
                        // Otherwise dropped, or retyped to another type: the
                        // old type goes after it, as for any drop.
                        if let Some(n) = renamed {
                            said.insert((tq, &n.name));
                            refused.push(format!("{} is renamed", col_name(tq, &c.name)));
                        }
                    }
                }
            }
        }
        for (tq, t) in &tgt.tables {
            for n in t.columns.iter().filter(|c| of_it(c)) {
                let moves = movers.iter().any(|m| m.table == tq && m.new.name == n.name);
                if !moves && !said.contains(&(tq, &n.name)) {
                    refused.push(format!("{} is new or made of it", col_name(tq, &n.name)));
                }
            }
        }
        if refused.is_empty() {
            return Some(movers);
        }
        self.error(PlanError::Unsupported {
            object: name.to_string(),
            what: format!("{what} in the plan where {}", refused.join(", ")),
            hint: format!("the {noun} is rebuilt under a new name and its columns move to it; a column that is added, renamed or changed at the same time would be left on the old type: make that change in a plan of its own"),
        });
        None
    }

    /// What the target makes again on a moving column and names a removed
    /// value in (as a literal): its default, its table's checks, index
    /// keys and predicates over it. Each would fail on the rebuilt type.
    fn naming_removed_values(&self, movers: &[Mover<'_>], gone: &[&String]) -> Vec<String> {
        let names_one = |e: &str| gone.iter().any(|v| e.contains(&quote_literal(v)));
        let mut out = std::collections::BTreeSet::new();
        for m in movers {
            let Some(t) = self.tgt.tables.get(m.table) else {
                continue;
            };
            let col = m.new.name.as_str();
            let on_it = |e: &str| mentions(e, col) && names_one(e);
            if m.new.default.as_deref().is_some_and(names_one) {
                out.insert(format!("the default of {}", col_name(m.table, &m.new.name)));
            }
            for (n, c) in &t.checks {
                if on_it(&c.expression) {
                    out.insert(format!("check {n} on {}", m.table));
                }
            }
            for (n, ix) in &t.indexes {
                let keys = ix.keys.iter().any(|k| match &k.target {
                    KeyTarget::Expression(e) => on_it(e),
                    KeyTarget::Column(_) => false,
                });
                if keys || ix.predicate.as_deref().is_some_and(on_it) {
                    out.insert(format!("index {n} on {}", m.table));
                }
            }
        }
        out.into_iter().collect()
    }

    /// What, besides table columns, holds type `name` in the live or the
    /// target schema: domains, composite types, range types, routines,
    /// views and column defaults that cast to it. PostgreSQL would refuse
    /// to drop the old type while they do.
    pub(super) fn other_users_of_type(&self, name: &QualifiedName) -> Vec<String> {
        let is_it = |t: &ColumnType| t.user_type().as_ref() == Some(name);
        let mut out = std::collections::BTreeSet::new();
        for s in [self.cur, self.tgt] {
            for (q, d) in &s.domains {
                if is_it(&d.ty) {
                    out.insert(format!("domain {q}"));
                }
            }
            for (q, c) in &s.composite_types {
                if c.attributes.iter().any(|a| is_it(&a.ty)) {
                    out.insert(format!("composite type {q}"));
                }
            }
            for (q, r) in &s.range_types {
                if is_it(&r.subtype) {
                    out.insert(format!("range type {q}"));
                }
            }
            for (k, r) in &s.routines {
                let returns = r
                    .returns
                    .as_deref()
                    .is_some_and(|t| casts_to(t, name, true));
                if k.args.iter().any(is_it) || returns {
                    out.insert(format!("routine {}", k.name));
                }
            }
            for (q, v) in &s.views {
                if casts_to(&v.query, name, false) {
                    out.insert(format!("view {q}"));
                }
            }
            for (tq, t) in &s.tables {
                for c in &t.columns {
                    let cast =
                        |e: &Option<String>| e.as_deref().is_some_and(|e| casts_to(e, name, false));
                    if (!is_it(&c.ty) && cast(&c.default)) || cast(&c.generated) {
                        out.insert(format!("column {}", col_name(tq, &c.name)));
                    }
                }
            }
        }
        out.into_iter().collect()
    }
}

/// Whether SQL text `sql` names type `name` as a type: after `::`, or in
/// `CAST(… AS …)`, or (`whole`) as the text itself. A cautious reading on
/// the words, so a column that shares the type's name does not count.
fn casts_to(sql: &str, name: &QualifiedName, whole: bool) -> bool {
    if !mentions(sql, name.name.as_str()) {
        return false;
    }
    if whole {
        let folded = sql.to_ascii_lowercase();
        let (bare, full) = spellings(name);
        let t = folded.trim().trim_end_matches("[]");
        let t = t.strip_prefix("setof ").map_or(t, str::trim);
        return t == bare || t == full;
    }
    !cast_spans(sql, name).is_empty()
}

/// `sql` with every cast to type `name` made a cast to `to`.
fn recast(sql: &str, name: &QualifiedName, to: &QualifiedName) -> String {
    let mut out = sql.to_string();
    for span in cast_spans(sql, name).into_iter().rev() {
        out.replace_range(span, &qt(to));
    }
    out
}

/// The type name as `sql` may spell it, bare and qualified, folded.
fn spellings(name: &QualifiedName) -> (String, String) {
    (
        qi(&name.name).to_ascii_lowercase(),
        qt(name).to_ascii_lowercase(),
    )
}

/// Where in `sql` type `name` is named by a cast: `::name` ending where
/// the name does, or `AS name` where a CAST closes (an alias of that name
/// is no cast). Sorted, not overlapping.
fn cast_spans(sql: &str, name: &QualifiedName) -> Vec<std::ops::Range<usize>> {
    let folded = sql.to_ascii_lowercase();
    let ident = |c: char| c.is_alphanumeric() || c == '_' || c == '.' || c == '"';
    let mut spans = Vec::new();
    let (bare, full) = spellings(name);
    for n in [full, bare] {
        for lead in ["::", ":: ", " as "] {
            let p = format!("{lead}{n}");
            for (i, _) in folded.match_indices(&p) {
                let (from, to) = (i + lead.len(), i + p.len());
                let rest = &folded[to..];
                let ends = if lead == " as " {
                    matches!(rest.trim_start().chars().next(), Some(')' | '['))
                } else {
                    !rest.chars().next().is_some_and(ident)
                };
                // `public.mood` holds `mood` too: the longer match wins.
                let inside = spans
                    .iter()
                    .any(|s: &std::ops::Range<usize>| s.start <= from && to <= s.end);
                if ends && !inside {
                    spans.push(from..to);
                }
            }
        }
    }
    spans.sort_by_key(|s| s.start);
    spans
}

#[cfg(test)]
mod tests {
    use super::{casts_to, recast};
    use crate::model::{Ident, QualifiedName};
    use crate::testing::{plans_to, refused};

    fn mood() -> QualifiedName {
        QualifiedName::new(Ident::new("public").unwrap(), Ident::new("mood").unwrap())
    }

    #[test]
    fn a_cast_names_the_type_and_a_column_of_its_name_does_not() {
        assert!(casts_to("SELECT 'x'::mood AS a", &mood(), false));
        assert!(casts_to(
            "SELECT CAST(x AS public.mood) FROM t",
            &mood(),
            false
        ));
        assert!(casts_to("'happy'::public.mood", &mood(), false));
        assert!(!casts_to("SELECT mood FROM t", &mood(), false));
        assert!(!casts_to("SELECT 'x'::moods FROM t", &mood(), false));
        assert!(!casts_to("SELECT x AS mood FROM t", &mood(), false));
        assert!(casts_to("SETOF public.mood", &mood(), true));
        assert!(!casts_to("integer", &mood(), true));
        let new = QualifiedName::new(
            Ident::new("public").unwrap(),
            Ident::new("mood_new").unwrap(),
        );
        assert_eq!(
            recast("'a'::mood || 'b'::public.mood || mood", &mood(), &new),
            "'a'::public.mood_new || 'b'::public.mood_new || mood"
        );
    }

    #[test]
    fn a_removed_value_rebuilds_the_type_and_moves_its_columns() {
        plans_to(
            "enums: { mood: [happy, meh, sad] }\ntables:\n  t:\n    columns:\n      id: { type: bigint }\n      m: { type: mood, nullable: false, default: \"'happy'::mood\" }\n    primary_key: [id]\n",
            "enums: { mood: [sad, happy] }\ntables:\n  t:\n    columns:\n      id: { type: bigint }\n      m: { type: mood, nullable: false, default: \"'happy'::mood\" }\n    primary_key: [id]\n",
            "
            expand: create enum public.mood_bellows_new: public.mood with its values less \"meh\"
                CREATE TYPE public.mood_bellows_new AS ENUM ('sad', 'happy')
            expand: add column public.t.m_bellows_new for changing the type of public.t.m from mood to mood_bellows_new
                ALTER TABLE public.t ADD COLUMN m_bellows_new public.mood_bellows_new
            expand: keep public.t.m_bellows_new in sync while old and new app versions write
                CREATE OR REPLACE FUNCTION public.t_m_bellows_new_bellows_sync() RETURNS trigger LANGUAGE plpgsql AS $bellows$ BEGIN IF TG_OP = 'INSERT' OR NEW.m IS DISTINCT FROM OLD.m OR NEW.m_bellows_new IS NULL THEN SELECT ((m)::text::public.mood_bellows_new) INTO NEW.m_bellows_new FROM (SELECT NEW.*) AS bellows_row; END IF; RETURN NEW; END $bellows$
                CREATE TRIGGER t_m_bellows_new_bellows_sync BEFORE INSERT OR UPDATE OF m ON public.t FOR EACH ROW EXECUTE FUNCTION public.t_m_bellows_new_bellows_sync()
            migrate: backfill public.t.m_bellows_new = (m)::text::public.mood_bellows_new, in batches by primary key (id)
                UPDATE public.t SET m_bellows_new = ((m)::text::public.mood_bellows_new) WHERE (id) > ($1) AND (id) <= ($2) AND m_bellows_new IS NULL
            migrate: gather the planner's statistics of public.t (m_bellows_new) again (every row was filled)
                ANALYZE public.t (m_bellows_new)
            contract: add CHECK (m_bellows_new IS NOT NULL) NOT VALID
                ALTER TABLE public.t ADD CONSTRAINT t_m_bellows_new_not_null CHECK (m_bellows_new IS NOT NULL) NOT VALID
            contract: validate that public.t.m_bellows_new has no NULLs
                ALTER TABLE public.t VALIDATE CONSTRAINT t_m_bellows_new_not_null
            contract: set public.t.m_bellows_new NOT NULL (proven by the validated check, no scan)
                ALTER TABLE public.t ALTER COLUMN m_bellows_new SET NOT NULL
            contract: swap public.t.m_bellows_new in for public.t.m
                DROP TRIGGER IF EXISTS t_m_bellows_new_bellows_sync ON public.t
                DROP FUNCTION IF EXISTS public.t_m_bellows_new_bellows_sync()
                ALTER TABLE public.t DROP COLUMN m
                ALTER TABLE public.t RENAME COLUMN m_bellows_new TO m
                ALTER TABLE public.t ALTER COLUMN m SET DEFAULT 'happy'::public.mood_bellows_new
            contract: drop the old enum public.mood and give public.mood_bellows_new its name
                DROP TYPE public.mood
                ALTER TYPE public.mood_bellows_new RENAME TO mood
            contract: drop the helper check on public.t.m_bellows_new
                ALTER TABLE public.t DROP CONSTRAINT t_m_bellows_new_not_null
            ",
        );
    }

    #[test]
    fn a_check_or_index_that_still_names_a_removed_value_is_refused() {
        let t = |values: &str, check: &str| {
            format!(
                "enums: {{ mood: [{values}] }}\ntables:\n  t:\n    columns:\n      id: {{ type: bigint }}\n      m: {{ type: mood }}\n    primary_key: [id]\n    checks:\n      t_m: \"{check}\"\n    indexes:\n      t_sad: {{ columns: [id], where: \"m = 'sad'\" }}\n"
            )
        };
        refused(
            &t("happy, meh, sad", "m <> 'meh'"),
            &t("happy, sad", "m <> 'meh'"),
            "check t_m on public.t the target keeps still names a removed value",
        );
        refused(
            &t("happy, meh, sad", "m IS NOT NULL"),
            &t("happy, meh", "m IS NOT NULL"),
            "index t_sad on public.t the target keeps still names a removed value",
        );
    }

    #[test]
    fn a_column_added_beside_the_rebuild_is_refused() {
        refused(
            "enums: { mood: [happy, sad] }\ntables:\n  t:\n    columns:\n      id: { type: bigint }\n    primary_key: [id]\n",
            "enums: { mood: [sad, happy] }\ntables:\n  t:\n    columns:\n      id: { type: bigint }\n      m: { type: mood }\n    primary_key: [id]\n",
            "public.t.m is new or made of it",
        );
        refused(
            "enums: { mood: [happy, sad] }\ndomains: { d: { type: mood } }\n",
            "enums: { mood: [happy] }\ndomains: { d: { type: mood } }\n",
            "which domain public.d also use",
        );
    }
}
