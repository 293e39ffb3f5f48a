//! Property: whatever the names, every helper object a plan creates
//! (shadow columns, sync triggers and functions, NOT NULL checks, indexes
//! under construction) has a name of at most 63 bytes that no other object
//! in its namespace has. Names are drawn long and sharing prefixes, which
//! is where cutting names to 63 bytes makes them collide.

use std::collections::BTreeMap;

use bellows::model::{
    Column, ColumnType, Ident, Index, IndexKey, PrimaryKey, QualifiedName, Schema, Table,
};
use bellows::plan::{Action, PlanError, PlanOptions, Resource, plan};
use proptest::prelude::*;

/// Long names sharing a prefix: a common stem up to 60 bytes, a short tail.
fn name() -> impl Strategy<Value = String> {
    (0usize..3, 0usize..62, "[a-z_]{1,6}").prop_map(|(stem, len, tail)| {
        let stems = ["c", "customer_lifetime_value_", "ü"];
        let mut s = stems[stem].repeat(64);
        let mut cut = len.min(s.len());
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str(&tail);
        while s.len() > 63 {
            s.pop();
        }
        s
    })
}

#[derive(Debug, Clone, Copy)]
enum Change {
    Same,
    Retype,
    RetypeNotNull,
    Rename,
    NotNull,
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        Just(Change::Same),
        Just(Change::Retype),
        Just(Change::RetypeNotNull),
        Just(Change::Rename),
        Just(Change::NotNull),
    ]
}

/// At most `n` bytes of `s`, cut at a character boundary.
fn cut(s: &str, n: usize) -> &str {
    let mut n = n.min(s.len());
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    &s[..n]
}

fn ident(s: &str) -> Ident {
    Ident::new(s).expect("names are 1..=63 bytes")
}

/// From and to schemas: tables with an `id` key and columns that change.
fn schemas() -> impl Strategy<Value = (Schema, Schema)> {
    prop::collection::btree_map(
        name(),
        (
            prop::collection::btree_map(name(), (change(), any::<bool>()), 1..5),
            any::<bool>(),
        ),
        1..4,
    )
    .prop_map(|tables| {
        let mut from = Schema::default();
        let mut to = Schema::default();
        for (t, (cols, indexed)) in tables {
            let q = QualifiedName::public(ident(&t));
            let mut a = Table::default();
            let id = ident("id");
            a.columns.push(Column {
                nullable: false,
                ..Column::new(id.clone(), ColumnType::parse("bigint").expect("type"))
            });
            a.primary_key = Some(PrimaryKey {
                name: ident("pk"),
                columns: vec![id],
                deferrable: Default::default(),
                renamed_from: None,
            });
            let mut b = a.clone();
            for (i, (c, (ch, has_index))) in cols.into_iter().enumerate() {
                if c == "id" || c == "pk" {
                    continue;
                }
                let old = Column::new(ident(&c), ColumnType::parse("integer").expect("type"));
                a.columns.push(old.clone());
                let mut new = old.clone();
                match ch {
                    Change::Same => {}
                    Change::Retype => new.ty = ColumnType::parse("bigint").expect("type"),
                    Change::RetypeNotNull => {
                        new.ty = ColumnType::parse("bigint").expect("type");
                        new.nullable = false;
                        new.backfill = Some("0".into());
                    }
                    Change::Rename => {
                        let renamed = format!("{}{i}", cut(&c, 60));
                        new.name = ident(&renamed);
                        new.renamed_from = Some(old.name.clone());
                    }
                    Change::NotNull => {
                        new.nullable = false;
                        new.backfill = Some("0".into());
                    }
                }
                if has_index && indexed {
                    let ix = Index {
                        unique: false,
                        method: "btree".into(),
                        keys: vec![IndexKey::column(old.name.clone())],
                        include: Vec::new(),
                        predicate: None,
                        nulls_not_distinct: false,
                        storage: Default::default(),
                        renamed_from: None,
                    };
                    let ix_name = ident(&format!("{}_i", cut(&c, 61)));
                    a.indexes.insert(ix_name.clone(), ix.clone());
                    let mut changed = ix;
                    changed.keys = vec![IndexKey::column(new.name.clone())];
                    changed.unique = matches!(ch, Change::Same);
                    b.indexes.insert(ix_name, changed);
                }
                b.columns.push(new);
            }
            // Index names must not repeat across tables of one schema.
            from.tables.insert(q.clone(), a);
            to.tables.insert(q, b);
        }
        (from, to)
    })
}

/// The names each creating step gives the objects it makes.
fn created(p: &bellows::plan::Plan) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for s in &p.steps {
        if !matches!(
            s.id.action,
            Action::Create | Action::Build | Action::AddNotNullCheck
        ) {
            continue;
        }
        for r in &s.provides {
            let (space, name) = match r {
                Resource::Column(t, c) => (format!("columns of {t}"), c.to_string()),
                Resource::Constraint(t, c) => (format!("constraints of {t}"), c.to_string()),
                Resource::Index(q) => (format!("relations of {}", q.schema), q.name.to_string()),
                Resource::Trigger(q) => (format!("functions of {}", q.schema), q.name.to_string()),
                _ => continue,
            };
            out.push((space, name));
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(300),
        ..ProptestConfig::default()
    })]

    #[test]
    fn helper_names_are_unique_and_fit(case in schemas()) {
        let (from, to) = case;
        // Index names are per schema: drop a table's indexes that another
        // table already named, as a user's file could not have them either.
        let mut seen = std::collections::BTreeSet::new();
        let (mut from, mut to) = (from, to);
        for (q, t) in from.tables.iter_mut() {
            t.indexes.retain(|n, _| seen.insert(n.clone()));
            let keep: Vec<Ident> = t.indexes.keys().cloned().collect();
            if let Some(b) = to.tables.get_mut(q) {
                b.indexes.retain(|n, _| keep.contains(n));
            }
        }
        // A generated column or index may happen to be called like a
        // helper: then, and only then, the plan is refused.
        let exists = |n: &str| {
            from.tables.values().chain(to.tables.values()).any(|t| {
                t.column(n).is_some() || t.indexes.keys().any(|i| i.as_str() == n)
            })
        };
        let p = match plan(&from, &to, &PlanOptions::default()) {
            Ok(p) => p,
            Err(e) if e.0.iter().all(|x| matches!(x, PlanError::NameTaken { name, .. } if exists(name))) => {
                return Ok(());
            }
            Err(e) => return Err(TestCaseError::fail(format!("planning failed: {e}"))),
        };
        let mut names: BTreeMap<(String, String), usize> = BTreeMap::new();
        for (space, name) in created(&p) {
            prop_assert!(name.len() <= 63, "{name} is {} bytes", name.len());
            *names.entry((space, name)).or_default() += 1;
        }
        // Nothing new in a namespace collides with what is already there.
        for (q, t) in &from.tables {
            for c in &t.columns {
                names.remove(&(format!("columns of {q}"), c.name.to_string()));
            }
        }
        for ((space, name), n) in &names {
            prop_assert_eq!(*n, 1, "{} is created {} times in the {}", name, n, space);
        }
        for (q, t) in from.tables.iter().chain(&to.tables) {
            prop_assert!(
                !names.contains_key(&(format!("relations of {}", q.schema), q.name.to_string())),
                "a helper index is named like table {}", q
            );
            for c in &t.columns {
                let helper_clash = p.steps.iter().any(|s| {
                    s.id.action == Action::Create
                        && s.provides.contains(&Resource::column(q, &c.name))
                        && from.tables.get(q).is_some_and(|f| f.column(c.name.as_str()).is_some())
                });
                prop_assert!(!helper_clash, "a helper column reuses {}", c.name);
            }
        }
    }
}
