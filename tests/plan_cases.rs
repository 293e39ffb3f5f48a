//! The planner over every fixture pair in schemas/cases/: an insta
//! snapshot of each text plan (or, for `error_*` cases, of the refusal),
//! determinism, the expand/contract invariant at the model level, and the
//! safety rules every expand and migrate step must keep.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use bellows::model::{QualifiedName, Schema, Table};
use bellows::plan::{
    self, Action, Cost, LockLevel, ObjectKind, Phase, Plan, PlanOptions, Resource,
};
use bellows::render;
use bellows::spec;

fn cases() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("schemas/cases")
        .expect("schemas/cases exists (run from the package root)")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.join("from.yaml").exists())
        .collect();
    dirs.sort();
    dirs
}

fn load(dir: &Path) -> (String, Schema, Schema) {
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .expect("utf-8 name")
        .to_string();
    let read =
        |f: &str| spec::read_file(&dir.join(f)).unwrap_or_else(|e| panic!("{name}/{f}: {e}"));
    let (from, to) = (read("from.yaml").without_hints(), read("to.yaml"));
    (name, from, to)
}

fn plan_of(from: &Schema, to: &Schema) -> Result<Plan, plan::PlanErrors> {
    plan::plan(from, to, &PlanOptions::default())
}

/// Plans only the cases that must succeed.
fn good_cases() -> Vec<(String, Schema, Schema, Plan)> {
    cases()
        .iter()
        .map(|d| load(d))
        .filter(|(name, ..)| !name.starts_with("error_"))
        .map(|(name, from, to)| {
            let p = plan_of(&from, &to).unwrap_or_else(|e| panic!("{name}: planning failed:\n{e}"));
            (name, from, to, p)
        })
        .collect()
}

#[test]
fn every_case_has_a_reviewed_plan_snapshot() {
    let all = cases();
    assert!(
        all.len() >= 40,
        "need at least 40 fixture pairs, found {}",
        all.len()
    );
    for dir in all {
        let (name, from, to) = load(&dir);
        let rendered = match (plan_of(&from, &to), name.starts_with("error_")) {
            (Ok(p), false) => render::render_text(&p),
            (Err(e), true) => format!("refused:\n{e}\n"),
            (Ok(p), true) => panic!(
                "{name} must be refused, but planned:\n{}",
                render::render_text(&p)
            ),
            (Err(e), false) => panic!("{name}: planning failed:\n{e}"),
        };
        insta::with_settings!({
            snapshot_path => "../snapshots/plans",
            prepend_module_to_snapshot => false,
            omit_expression => true,
            description => format!("bellows plan --from schemas/cases/{name}/from.yaml --target schemas/cases/{name}/to.yaml"),
        }, {
            insta::assert_snapshot!(name.as_str(), rendered);
        });
    }
}

#[test]
fn planning_is_deterministic() {
    for (name, from, to, p) in good_cases() {
        let again = plan_of(&from, &to).expect("planned once already");
        assert_eq!(
            render::render_text(&p),
            render::render_text(&again),
            "{name}"
        );
        assert_eq!(
            render::render_json(&p),
            render::render_json(&again),
            "{name}"
        );
        assert_eq!(render::render_sql(&p), render::render_sql(&again), "{name}");
    }
}

#[test]
fn a_schema_planned_against_itself_has_no_steps() {
    for (name, _, to, _) in good_cases() {
        let p = plan_of(&to.without_hints(), &to).expect("plans");
        assert!(
            p.is_empty(),
            "{name}: target against itself:\n{}",
            render::render_text(&p)
        );
    }
}

/// Table and column resources a schema has (a partition has its
/// partitioned table's columns).
fn resources(s: &Schema) -> BTreeSet<Resource> {
    let mut out = BTreeSet::new();
    for t in s.tables.keys() {
        out.insert(Resource::table(t));
        for c in &root_of(s, t).1.columns {
            out.insert(Resource::column(t, &c.name));
        }
    }
    out
}

/// The table whose columns `t`'s are, with its name: `t`, or the
/// partitioned table at the top of the partitions it is in.
fn root_of<'s>(s: &'s Schema, t: &'s QualifiedName) -> (&'s QualifiedName, &'s Table) {
    let mut root = (t, &s.tables[t]);
    while let Some(parent) = root
        .1
        .partition_of
        .as_ref()
        .and_then(|of| s.tables.get_key_value(&of.parent))
    {
        root = parent;
    }
    root
}

/// A column of a partition as the column of its partitioned table, which
/// a step changes for the partitions too (as in `from`, or for a new
/// partition, as in `to`); any other resource as it is.
fn through_parent(r: &Resource, from: &Schema, to: &Schema) -> Resource {
    if let Resource::Column(t, c) = r {
        let s = if from.tables.contains_key(t) {
            from
        } else {
            to
        };
        if s.tables.contains_key(t) {
            return Resource::column(root_of(s, t).0, c);
        }
    }
    r.clone()
}

/// After expand, and after migrate: everything of `from` is still there
/// for the old app (with a type it accepts), and everything of `to` is
/// there for the new app.
#[test]
fn after_expand_and_migrate_both_app_versions_find_their_schema() {
    for (name, from, to, p) in good_cases() {
        let before = resources(&from);
        let after_all = resources(&to);
        let mut live = before.clone();
        for phase in [Phase::Expand, Phase::Migrate] {
            for s in p.phase(phase) {
                live.extend(s.provides.iter().cloned());
                for r in &s.removes {
                    live.remove(r);
                }
            }
            for r in &before {
                assert!(
                    live.contains(r),
                    "{name}: after {}, the old app loses {r:?}",
                    phase.name()
                );
            }
            for r in &after_all {
                assert!(
                    live.contains(r) || live.contains(&through_parent(r, &from, &to)),
                    "{name}: after {}, the new app lacks {r:?}",
                    phase.name()
                );
            }
        }
        // In-place type changes before contract only widen.
        for s in p.steps.iter().filter(|s| {
            s.phase != Phase::Contract
                && s.id.action == Action::Alter
                && s.id.kind == ObjectKind::Column
        }) {
            if !s.statements.iter().any(|x| x.contains(" TYPE ")) {
                continue;
            }
            let (table, column) = s.id.object.rsplit_once('.').expect("table.column");
            let find = |sch: &Schema, table: &str| {
                sch.tables
                    .iter()
                    .find(|(q, _)| q.to_string() == table)
                    .and_then(|(_, t)| t.column(column).map(|c| c.ty.clone()))
            };
            // The table may have had another name before the plan.
            let old_name = to
                .tables
                .iter()
                .find(|(q, _)| q.to_string() == table)
                .and_then(|(_, t)| t.renamed_from.as_ref())
                .map_or(table.to_string(), |r| r.to_string());
            let (Some(old), Some(new)) = (find(&from, &old_name), find(&to, table)) else {
                panic!("{name}: {} retypes a column it cannot find", s.id)
            };
            assert!(
                plan::binary_coercible(&old, &new),
                "{name}: {} changes {old} to {new} in place before contract",
                s.id
            );
        }
    }
}

/// The checklist (strong_migrations, squawk): what no expand or migrate
/// step may do.
#[test]
fn expand_and_migrate_steps_are_safe() {
    let destructive = [
        "DROP TABLE",
        "DROP COLUMN",
        "DROP INDEX",
        "DROP CONSTRAINT",
        "DROP SCHEMA",
        "DROP TYPE",
        "DROP SEQUENCE",
        "DROP VIEW",
        "DROP MATERIALIZED VIEW",
        "DROP TRIGGER",
        "DROP FUNCTION",
        "DROP EXTENSION",
        "DROP DEFAULT",
        "DROP IDENTITY",
    ];
    let mut seen_indexes = 0;
    for (name, from, _, p) in good_cases() {
        // A column this plan adds that no app version knows (a shadow):
        // its NOT NULL route may run before contract, helper check and
        // all, as nothing but the plan's own triggers write it.
        let helper_column = |s: &bellows::plan::Step| {
            matches!(
                s.id.action,
                Action::AddNotNullCheck
                    | Action::Validate
                    | Action::SetNotNull
                    | Action::DropNotNullCheck
            ) && s.id.kind == ObjectKind::Column
                && p.steps.iter().any(|a| {
                    a.id.kind == ObjectKind::Column
                        && a.id.action == Action::Create
                        && a.id.object == s.id.object
                        && a.description.contains(" for ")
                })
                && !from.tables.iter().any(|(t, tab)| {
                    tab.columns
                        .iter()
                        .any(|c| format!("{t}.{}", c.name) == s.id.object)
                })
        };
        // A partitioned table this plan makes: empty, and PostgreSQL
        // builds no index on it concurrently nor adds a foreign key to it
        // NOT VALID.
        let new_partitioned = |table: &str| {
            p.steps.iter().any(|t| {
                t.id.kind == ObjectKind::Table
                    && t.id.action == Action::Create
                    && t.id.object == table
                    && t.statements.iter().any(|c| c.contains(" PARTITION BY "))
            })
        };
        for s in &p.steps {
            let sql = s.statements.join(";\n");
            let upper = sql.to_uppercase();
            for stmt in &s.statements {
                let u = stmt.to_uppercase();
                if !(u.starts_with("CREATE INDEX") || u.starts_with("CREATE UNIQUE INDEX")) {
                    continue;
                }
                seen_indexes += 1;
                // Only on a materialized view or table the same
                // transaction makes: nobody else can see it yet.
                let on = stmt
                    .split(" ON ")
                    .nth(1)
                    .and_then(|r| r.split([' ', '(']).next())
                    .unwrap_or_default();
                let made_here = s.transactional
                    && s.statements.iter().any(|t| {
                        ["MATERIALIZED VIEW", "TABLE", "UNLOGGED TABLE"]
                            .iter()
                            .any(|k| t.starts_with(&format!("CREATE {k} {on} ")))
                    });
                // On a partitioned table: `ON ONLY` the parent is a catalog
                // change (each partition's index is built concurrently),
                // and a plain build on a new one this plan makes is too.
                let on_only = u.contains(" ON ONLY ");
                assert!(
                    (u.contains("CONCURRENTLY") && !s.transactional)
                        || made_here
                        || on_only
                        || new_partitioned(on),
                    "{name}: {} builds an index without CONCURRENTLY: {stmt}",
                    s.id
                );
            }
            if s.phase == Phase::Contract || helper_column(s) {
                continue;
            }
            for d in destructive {
                // A view (a renamed table's compatibility view, or a view
                // over a column whose type changes) or a trigger (replaced,
                // or around a change to a column it names) may go only
                // when the same transaction makes it again; the sync
                // triggers go in contract.
                if let Some(kind) = d
                    .strip_prefix("DROP ")
                    .filter(|k| ["VIEW", "MATERIALIZED VIEW", "TRIGGER"].contains(k))
                {
                    let drop = format!("DROP {kind} ");
                    for stmt in &s.statements {
                        if let Some(rest) = stmt.strip_prefix(&drop) {
                            let object = rest.split(" ON ").next().unwrap_or(rest);
                            let again = format!("CREATE {kind} {object} ");
                            let constraint = format!("CREATE CONSTRAINT {kind} {object} ");
                            assert!(
                                s.transactional
                                    && s.statements.iter().any(|t| {
                                        t.starts_with(&again) || t.starts_with(&constraint)
                                    }),
                                "{name}: {} ({}) drops {} {object} and does not make it again",
                                s.id,
                                s.phase.name(),
                                kind.to_lowercase()
                            );
                        }
                    }
                    continue;
                }
                assert!(
                    !upper.contains(d),
                    "{name}: {} ({}) runs {d}",
                    s.id,
                    s.phase.name()
                );
            }
            if upper.contains(" RENAME ") {
                // Only a table rename, whose old name stays as a view.
                assert!(
                    s.id.action == Action::Rename && upper.contains("CREATE VIEW"),
                    "{name}: {} renames before contract",
                    s.id
                );
            }
            if s.lock.level == LockLevel::AccessExclusive {
                assert_eq!(
                    s.lock.cost,
                    Cost::Metadata,
                    "{name}: {} holds ACCESS EXCLUSIVE for more than a catalog change",
                    s.id
                );
            }
            for stmt in &s.statements {
                let u = stmt.to_uppercase();
                if u.starts_with("ALTER TABLE")
                    && (u.contains(" CHECK (") || u.contains(" FOREIGN KEY "))
                    && u.contains("ADD CONSTRAINT")
                {
                    let table = stmt.split(' ').nth(2).unwrap_or_default();
                    assert!(
                        u.ends_with("NOT VALID") || new_partitioned(table),
                        "{name}: {} adds a constraint without NOT VALID: {stmt}",
                        s.id
                    );
                }
                assert!(
                    !u.contains("SET NOT NULL"),
                    "{name}: {} sets NOT NULL before contract",
                    s.id
                );
            }
        }
    }
    assert!(
        seen_indexes > 5,
        "the fixtures build indexes, so this rule is exercised"
    );
}

#[test]
fn committed_plan_check_catches_a_stale_plan() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("plan.txt");
    let bellows = env!("CARGO_BIN_EXE_bellows");
    let run = |target: &str, extra: &[&str]| {
        std::process::Command::new(bellows)
            .args([
                "plan",
                "--from",
                "schemas/cases/add_index/from.yaml",
                "--target",
                target,
            ])
            .args(extra)
            .output()
            .expect("bellows runs")
    };
    let o = out.to_str().expect("utf-8 path");
    assert!(
        run("schemas/cases/add_index/to.yaml", &["--out", o])
            .status
            .success()
    );
    let fresh = run("schemas/cases/add_index/to.yaml", &["--check", o]);
    assert_eq!(
        fresh.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&fresh.stderr)
    );
    let stale = run("schemas/cases/change_index/to.yaml", &["--check", o]);
    assert_eq!(stale.status.code(), Some(1));
    let diff = String::from_utf8_lossy(&stale.stdout);
    assert!(
        diff.contains("--- ") && diff.contains("+++ new plan") && diff.contains("\n-"),
        "{diff}"
    );
    let pending = run("schemas/cases/add_index/to.yaml", &["--exit-code"]);
    assert_eq!(
        pending.status.code(),
        Some(1),
        "--exit-code with a non-empty plan"
    );
    let none = std::process::Command::new(bellows)
        .args([
            "plan",
            "--from",
            "schemas/cases/add_index/to.yaml",
            "--target",
            "schemas/cases/add_index/to.yaml",
            "--exit-code",
        ])
        .output()
        .expect("bellows runs");
    assert_eq!(none.status.code(), Some(0));
}

/// Abort takes back exactly what a migration did, step by step: every
/// step expand or migrate can run says how (or that it stays, and why),
/// and every undo step names what it removes, so abort can check that the
/// object is still the migration's own.
#[test]
fn every_step_before_contract_says_how_abort_takes_it_back() {
    use bellows::plan::Undo;
    let mut undos = 0;
    for (name, _, _, p) in good_cases() {
        for s in &p.steps {
            if s.phase == Phase::Contract {
                assert!(
                    s.undo.is_none(),
                    "{name}: contract step {} has an undo",
                    s.id
                );
                continue;
            }
            match &s.undo {
                None => panic!("{name}: {} ({}) has no undo", s.id, s.phase.name()),
                Some(Undo::Steps { steps }) => {
                    undos += 1;
                    for u in steps {
                        assert!(
                            !u.statements.is_empty(),
                            "{name}: an undo of {} runs nothing",
                            s.id
                        );
                        let objects = [
                            "TABLE",
                            "COLUMN",
                            "CONSTRAINT",
                            "INDEX",
                            "SCHEMA",
                            "TYPE",
                            "SEQUENCE",
                            "EXTENSION",
                            "FUNCTION",
                        ];
                        let drops = u.statements.iter().any(|x| {
                            let x = x.to_uppercase();
                            objects.iter().any(|o| x.contains(&format!("DROP {o} ")))
                        });
                        let renames_back = u.statements.iter().any(|x| x.contains(" RENAME TO "));
                        assert!(
                            !drops || !u.removes.is_empty() || renames_back,
                            "{name}: undo `{}` of {} drops without saying what: {:?}",
                            u.description,
                            s.id,
                            u.statements
                        );
                    }
                }
                Some(Undo::Nothing) | Some(Undo::Stays { .. }) => {}
            }
        }
    }
    assert!(undos > 40, "the fixtures exercise undo ({undos})");
}

/// `--format markdown` is valid CommonMark: each step is one item of the
/// numbered lists (also past step 9, whose marker is wider), with its
/// title as written and its SQL in a code block inside the item.
#[test]
fn markdown_plans_are_valid_commonmark_with_one_item_per_step() {
    use pulldown_cmark::{Event, Parser, Tag, TagEnd};
    let mut plans: Vec<(String, Plan)> = good_cases()
        .into_iter()
        .map(|(name, _, _, p)| (name, p))
        .collect();
    let read = |f: &str| spec::read_file(Path::new(f)).expect("example");
    let shop = plan_of(
        &read("schemas/examples/shop_v1.yaml").without_hints(),
        &read("schemas/examples/shop_v2.yaml"),
    )
    .expect("plans");
    assert!(
        shop.steps.len() > 20,
        "a plan long enough to need two-digit markers"
    );
    plans.push(("shop".into(), shop));
    for (name, p) in plans {
        let md = render::render_markdown(&p);
        let mut stack: Vec<Tag> = Vec::new();
        let (mut items, mut blocks, mut titles) = (0, 0, Vec::new());
        let mut title: Option<String> = None;
        let mut want_title = false;
        for e in Parser::new(&md) {
            match e {
                Event::Start(t) => {
                    let in_ordered_list = matches!(stack.last(), Some(Tag::List(Some(_))));
                    if matches!(t, Tag::Item) && in_ordered_list {
                        items += 1;
                        want_title = true;
                    }
                    if matches!(t, Tag::CodeBlock(_)) {
                        let inside_step = stack.len() >= 2
                            && matches!(stack[stack.len() - 1], Tag::Item)
                            && matches!(stack[stack.len() - 2], Tag::List(Some(_)));
                        assert!(inside_step, "{name}: a code block outside its step:\n{md}");
                        blocks += 1;
                    }
                    if matches!(t, Tag::Strong) && want_title {
                        title = Some(String::new());
                        want_title = false;
                    }
                    stack.push(t);
                }
                Event::End(TagEnd::Strong) if title.is_some() => {
                    titles.extend(title.take());
                    stack.pop();
                }
                Event::End(_) => {
                    stack.pop();
                }
                Event::Text(t) | Event::Code(t) => {
                    if let Some(title) = title.as_mut() {
                        title.push_str(&t);
                    }
                }
                _ => {}
            }
        }
        assert_eq!(
            items,
            p.steps.len(),
            "{name}: one list item per step:\n{md}"
        );
        let with_sql = p.steps.iter().filter(|s| !s.statements.is_empty()).count();
        assert_eq!(blocks, with_sql, "{name}: one code block per step with SQL");
        let descriptions: Vec<String> = p.steps.iter().map(|s| s.description.clone()).collect();
        assert_eq!(titles, descriptions, "{name}: the titles read as written");
    }
}

/// A table without a primary key or unique NOT NULL key is backfilled by
/// ranges of pages; PostgreSQL before 14 reads such a range with a scan
/// of the whole table, so against one the plan is refused, saying why.
#[test]
fn a_backfill_by_pages_is_refused_on_a_server_without_tid_range_scans() {
    let (_, from, to) = load(Path::new("schemas/cases/backfill_a_table_without_a_key"));
    let on = |v: u32| {
        plan::plan(
            &from,
            &to,
            &PlanOptions {
                server_version: Some(v),
                ..PlanOptions::default()
            },
        )
    };
    assert!(on(140_000).is_ok());
    let err = on(130_011).expect_err("13 cannot").to_string();
    assert!(
        err.contains("PostgreSQL 13.11 cannot read") && err.contains("add a primary key first"),
        "{err}"
    );
}

/// A query on a view locks the view, then the tables under it. A step
/// that drops a view must do so before it locks a table (`ALTER TABLE`,
/// `DROP TRIGGER`, which takes ACCESS EXCLUSIVE): the other order waits
/// for the view while holding the table, and deadlocks with that query.
#[test]
fn steps_drop_views_before_they_lock_tables() {
    let mut checked = 0;
    for (name, _, _, p) in good_cases() {
        for s in &p.steps {
            let is_view_drop = |t: &&String| {
                t.starts_with("DROP VIEW ") || t.starts_with("DROP MATERIALIZED VIEW ")
            };
            let locks_table =
                |t: &&String| t.starts_with("ALTER TABLE ") || t.starts_with("DROP TRIGGER ");
            let (Some(last_drop), Some(first_lock)) = (
                s.statements.iter().rposition(|t| is_view_drop(&t)),
                s.statements.iter().position(|t| locks_table(&t)),
            ) else {
                continue;
            };
            checked += 1;
            assert!(
                last_drop < first_lock,
                "{name}: {} locks a table before it drops a view:\n{}",
                s.id,
                s.statements.join("\n")
            );
        }
    }
    assert!(
        checked > 5,
        "the fixtures drop views around table changes ({checked})"
    );
}
