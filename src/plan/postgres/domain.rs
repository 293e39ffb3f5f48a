//! Domains. `CREATE DOMAIN`, `DROP DOMAIN` and the default and NOT NULL
//! relaxations are catalog changes on the type that lock no table. What
//! tightens a domain has to read every value of it: PostgreSQL checks the
//! columns of the domain (and of domains over it) holding SHARE on their
//! tables, so writes wait for the scan. A new check is therefore added
//! `NOT VALID` in expand (new writes only, no scan) and validated in
//! migrate; `SET NOT NULL` has no such form and, since the old app may
//! write NULLs, runs in contract. Both
//! name the tables whose writes wait. PostgreSQL cannot change a
//! domain's type or collation: that is refused, with the way round it.

use std::collections::BTreeMap;

use super::kind::{Kind, objects};
use super::*;
use crate::diff::postgres::{same_default, same_sql_for};
use crate::sql::postgres::create_domain;

pub(super) struct Domains;

fn object(name: &QualifiedName) -> SchemaObject<'_> {
    SchemaObject {
        kind: ObjectKind::Domain,
        noun: "domain",
        keyword: "DOMAIN",
        name,
        made: vec![Resource::Type(name.clone())],
    }
}

impl Kind for Domains {
    objects!(in schema.domains: BTreeMap<QualifiedName, Domain>);

    fn same(p: &Planner<'_>, _: (), a: &Domain, b: &Domain) -> bool {
        a.ty == b.ty
            && a.collation == b.collation
            && a.not_null == b.not_null
            && same_default(
                a.default.as_deref(),
                b.default.as_deref(),
                &p.tgt.base_type(&b.ty),
            )
            && a.checks.len() == b.checks.len()
            && a.checks.iter().all(|(n, e)| {
                b.checks
                    .get(n)
                    .is_some_and(|f| same_check(p.cur, e, &a.ty, p.tgt, f, &b.ty))
            })
    }

    fn added<'a>(p: &mut Planner<'a>, _: (), name: &'a QualifiedName, d: &'a Domain) {
        p.claim(&name.schema, &name.name, || format!("new domain {name}"));
        let mut step = object(name)
            .create(create_domain(name, d))
            .requires_all(p.domain_needs(d));
        if let Some(seq) = d.default.as_deref().and_then(|e| p.sequence_in(e)) {
            step = step.requires(Resource::Sequence(seq));
        }
        p.push(step);
    }

    fn removed<'a>(p: &mut Planner<'a>, _: (), name: &'a QualifiedName, d: &'a Domain) {
        let lost = format!(
            "drops domain {name}; queries and function bodies that name it (`::{}`) fail from then on",
            qi(&name.name)
        );
        p.push(object(name).drop(lost).requires_all(p.domain_needs(d)));
    }

    fn altered<'a>(
        p: &mut Planner<'a>,
        _: (),
        name: &'a QualifiedName,
        old: &'a Domain,
        new: &'a Domain,
    ) {
        if old.ty != new.ty || old.collation != new.collation {
            return p.cannot_alter("domain", name, "changing a domain's type or collation");
        }
        let tables = tables_of_domain(p.cur, name);
        if !same_default(
            old.default.as_deref(),
            new.default.as_deref(),
            &p.tgt.base_type(&new.ty),
        ) {
            p.domain_default(name, old, new);
        }
        match (old.not_null, new.not_null) {
            (false, true) => p.domain_set_not_null(name, &tables),
            (true, false) => p.push(
                alter(name, Phase::Expand, format!("allow NULL in domain {name}"), "DROP NOT NULL")
                    .undo_stays(format!(
                        "domain {name} stays nullable (NOT NULL again would scan every column of it, and fails if the new app wrote NULLs)"
                    )),
            ),
            _ => {}
        }
        for (c, e) in &old.checks {
            match new.checks.get(c) {
                None => p.drop_domain_check(name, c, false),
                Some(f) if !same_check(p.cur, e, &old.ty, p.tgt, f, &new.ty) => {
                    p.drop_domain_check(name, c, true);
                    p.add_domain_check(name, c, f, Phase::Contract, &tables);
                }
                Some(_) => {}
            }
        }
        for (c, e) in &new.checks {
            if !old.checks.contains_key(c) {
                p.add_domain_check(name, c, e, Phase::Expand, &tables);
            }
        }
    }
}

/// Two checks of a domain, each over `VALUE` of its base type in its
/// schema (the server writes out a cast of `VALUE` to the base type of a
/// domain over a domain).
fn same_check(
    cur: &Schema,
    a: &str,
    a_ty: &ColumnType,
    tgt: &Schema,
    b: &str,
    b_ty: &ColumnType,
) -> bool {
    let value = |s: &Schema, ty: &ColumnType| {
        let ty = s.base_type(ty);
        move |n: &str| n.eq_ignore_ascii_case("value").then(|| ty.clone())
    };
    same_sql_for(a, &value(cur, a_ty), b, &value(tgt, b_ty))
}

/// `ALTER DOMAIN name <sql>`: a catalog change on the type.
fn alter(name: &QualifiedName, phase: Phase, what: String, sql: &str) -> Step {
    new_step(
        ObjectKind::Domain,
        name.to_string(),
        Action::Alter,
        phase,
        what,
    )
    .sql(format!("ALTER DOMAIN {} {sql}", qt(name)))
    .requires(Resource::Type(name.clone()))
}

/// Undoes an `ALTER DOMAIN` by another.
fn undo_alter(name: &QualifiedName, what: String, sql: &str) -> Vec<Step> {
    vec![
        undo_step(ObjectKind::Domain, name.to_string(), what)
            .sql(format!("ALTER DOMAIN {} {sql}", qt(name))),
    ]
}

impl Planner<'_> {
    /// What a domain's definition names that this plan may make or drop:
    /// its base type and collation.
    fn domain_needs(&self, d: &Domain) -> Vec<Resource> {
        let mut out = self.type_requirements(&d.ty);
        out.extend(d.collation.as_ref().and_then(|c| self.collation_named(c)));
        out
    }

    /// SET DEFAULT changes only future rows: expand. DROP DEFAULT could
    /// break old-app inserts that rely on it: contract.
    fn domain_default(&mut self, name: &QualifiedName, old: &Domain, new: &Domain) {
        let (phase, sql, what) = match &new.default {
            Some(d) => (
                Phase::Expand,
                format!("SET DEFAULT {d}"),
                format!("set the default of domain {name} to {d}"),
            ),
            None => (
                Phase::Contract,
                "DROP DEFAULT".to_string(),
                format!("drop the default of domain {name}"),
            ),
        };
        let back = match &old.default {
            Some(d) => format!("SET DEFAULT {d}"),
            None => "DROP DEFAULT".to_string(),
        };
        let mut step = alter(name, phase, what, &sql).undo_with(undo_alter(
            name,
            format!("restore the default of domain {name}"),
            &back,
        ));
        if let Some(seq) = new.default.as_deref().and_then(|d| self.sequence_in(d)) {
            step = step.requires(Resource::Sequence(seq));
        }
        if let Some(r) = self.held_by_default(old.default.as_deref()) {
            step = step.requires(r);
        }
        self.push(step);
    }

    /// SET NOT NULL checks every value under SHARE on the domain's tables
    /// and has no NOT VALID form; the old app may still write NULLs until
    /// it is gone: contract.
    fn domain_set_not_null(&mut self, name: &QualifiedName, tables: &[&QualifiedName]) {
        let step = alter(
            name,
            Phase::Contract,
            format!("make domain {name} NOT NULL"),
            "SET NOT NULL",
        )
        .undo_with(undo_alter(
            name,
            format!("allow NULL in domain {name} again"),
            "DROP NOT NULL",
        ));
        self.push(scan_of_domain(step, name, tables, "NULL".into()));
    }

    /// DROP CONSTRAINT in contract; `recreated` when the check comes back
    /// with a new definition, which what needs the old one waits for.
    fn drop_domain_check(&mut self, name: &QualifiedName, check: &Ident, recreated: bool) {
        self.push(
            new_step(
                ObjectKind::Domain,
                format!("{name}.{check}"),
                Action::Drop,
                Phase::Contract,
                format!("drop check {check} of domain {name}"),
            )
            .sql(format!(
                "ALTER DOMAIN {} DROP CONSTRAINT IF EXISTS {}",
                qt(name),
                qi(check)
            ))
            .hazard(
                HazardKind::ConstraintDropped,
                format!("drops check {check}; domain {name} no longer enforces it"),
            )
            .requires(Resource::Type(name.clone()))
            .removes_unless(recreated, Resource::constraint(name, check))
            .provides(Resource::constraint_gone(name, check)),
        );
    }

    /// `ADD CONSTRAINT ... NOT VALID` reads nothing; VALIDATE reads every
    /// value of the domain, in migrate (or after a contract-time change).
    fn add_domain_check(
        &mut self,
        name: &QualifiedName,
        check: &Ident,
        expr: &str,
        phase: Phase,
        tables: &[&QualifiedName],
    ) {
        let obj = format!("{name}.{check}");
        let mut add = new_step(
            ObjectKind::Domain,
            obj.clone(),
            Action::Create,
            phase,
            format!("add check {check} to domain {name} (NOT VALID: new values only)"),
        )
        .sql(format!(
            "ALTER DOMAIN {} ADD CONSTRAINT {} CHECK ({expr}) NOT VALID",
            qt(name),
            qi(check)
        ))
        .hazard(
            HazardKind::OldAppVisible,
            format!("from now on, writes of a value of domain {name} that breaks `{expr}` fail, the old app's included"),
        )
        .requires(Resource::Type(name.clone()))
        .provides(Resource::constraint(name, check))
        .undo_with(vec![
            undo_step(
                ObjectKind::Domain,
                obj.clone(),
                format!("drop check {check} of domain {name}"),
            )
            .sql(format!(
                "ALTER DOMAIN {} DROP CONSTRAINT IF EXISTS {}",
                qt(name),
                qi(check)
            ))
            .removes(Resource::constraint(name, check)),
        ]);
        if phase == Phase::Contract {
            add = add.requires(Resource::constraint_gone(name, check));
        }
        self.push(add);
        let validate = new_step(
            ObjectKind::Domain,
            obj,
            Action::Validate,
            phase.max(Phase::Migrate),
            format!("validate check {check} of domain {name}"),
        )
        .sql(format!(
            "ALTER DOMAIN {} VALIDATE CONSTRAINT {}",
            qt(name),
            qi(check)
        ))
        .requires(Resource::constraint(name, check))
        .provides(Resource::validated(name, check))
        .undo_nothing();
        self.push(scan_of_domain(
            validate,
            name,
            tables,
            format!("a value that breaks `{expr}`"),
        ));
    }
}

/// The tables with a column of `domain`, or of a domain over it, as
/// the database has them: what a scan of its values reads.
fn tables_of_domain<'s>(cur: &'s Schema, domain: &QualifiedName) -> Vec<&'s QualifiedName> {
    let mut domains = vec![domain.clone()];
    let mut i = 0;
    while i < domains.len() {
        for (n, d) in &cur.domains {
            if d.ty.user_type().as_ref() == Some(&domains[i]) && !domains.contains(n) {
                domains.push(n.clone());
            }
        }
        i += 1;
    }
    cur.tables
        .iter()
        .filter(|(_, t)| {
            t.columns
                .iter()
                .any(|c| c.ty.user_type().is_some_and(|u| domains.contains(&u)))
        })
        .map(|(n, _)| n)
        .collect()
}

/// A step that reads every value of `domain` in `tables`, holding SHARE on
/// them: the lock, its hazards, and no statement timeout.
fn scan_of_domain(
    step: Step,
    domain: &QualifiedName,
    tables: &[&QualifiedName],
    breaks: String,
) -> Step {
    if tables.is_empty() {
        return step;
    }
    let list = tables
        .iter()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    step.lock(LockLevel::Share, Cost::Verify)
        .unlimited()
        .hazard(
            HazardKind::LongLock,
            format!("holds SHARE on {list} while it reads every value of domain {domain}: writes to them wait until it is done"),
        )
        .hazard(
            HazardKind::MayFail,
            format!("fails if a column of domain {domain} holds {breaks}"),
        )
}

#[cfg(test)]
mod rule_tests {
    use crate::testing::{plans_to, refused};

    const D: &str = "domains:\n  amount: { type: integer }\n";
    const T: &str = "tables:\n  t:\n    columns:\n      a: { type: public.amount }\n";

    #[test]
    fn a_domain_is_made_before_the_column_of_it_and_dropped_after() {
        plans_to(
            "",
            &format!("{D}{T}"),
            "
            expand: create domain public.amount
                CREATE DOMAIN public.amount AS integer
            expand: create table public.t
                CREATE TABLE public.t (a public.amount)
            ",
        );
        plans_to(
            &format!("{D}{T}"),
            "",
            "
            contract: drop table public.t
                DROP TABLE public.t
            contract: drop domain public.amount
                DROP DOMAIN public.amount
            ",
        );
    }

    #[test]
    fn a_new_check_is_added_not_valid_and_validated_in_migrate_naming_the_tables_that_wait() {
        let to = format!(
            "domains:\n  amount:\n    type: integer\n    checks:\n      positive: \"VALUE > 0\"\n{T}"
        );
        plans_to(
            &format!("{D}{T}"),
            &to,
            "
            expand: add check positive to domain public.amount (NOT VALID: new values only)
                ALTER DOMAIN public.amount ADD CONSTRAINT positive CHECK (VALUE > 0) NOT VALID
            migrate: validate check positive of domain public.amount
                ALTER DOMAIN public.amount VALIDATE CONSTRAINT positive
            ",
        );
        let plan = crate::plan::plan(
            &crate::testing::schema(&format!("{D}{T}")),
            &crate::testing::schema(&to),
            &crate::plan::PlanOptions::default(),
        )
        .expect("plans");
        let validate = plan
            .steps
            .iter()
            .find(|s| s.description.starts_with("validate"))
            .expect("a validate step");
        assert!(
            validate
                .hazards
                .iter()
                .any(|h| h.message.contains("holds SHARE on public.t")),
            "{:?}",
            validate.hazards
        );
    }

    #[test]
    fn not_null_is_set_in_contract_and_dropped_in_expand() {
        let nn = "domains:\n  amount: { type: integer, nullable: false }\n";
        plans_to(
            &format!("{D}{T}"),
            &format!("{nn}{T}"),
            "
            contract: make domain public.amount NOT NULL
                ALTER DOMAIN public.amount SET NOT NULL
            ",
        );
        plans_to(
            &format!("{nn}{T}"),
            &format!("{D}{T}"),
            "
            expand: allow NULL in domain public.amount
                ALTER DOMAIN public.amount DROP NOT NULL
            ",
        );
    }

    #[test]
    fn checks_spelled_as_the_server_prints_them_are_the_same() {
        plans_to(
            "domains:\n  amount:\n    type: numeric\n    checks:\n      positive: \"VALUE > 0\"\n",
            "domains:\n  amount:\n    type: numeric\n    checks:\n      positive: \"(VALUE > (0)::numeric)\"\n",
            "",
        );
    }

    #[test]
    fn a_changed_type_is_refused_with_the_way_round() {
        refused(
            D,
            "domains:\n  amount: { type: bigint }\n",
            "declare a new domain",
        );
    }
}
