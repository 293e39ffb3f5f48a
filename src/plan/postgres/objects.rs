//! Schemas, extensions, enum types and sequences.

use super::*;
use crate::diff::{Delta, diff_by_name};
use crate::model::Place;
use crate::sql::quote_literal;

impl Planner<'_> {
    /// CREATE SCHEMA takes no table lock: expand. Dropping one is contract.
    pub fn namespaces(&mut self) {
        for s in self.tgt.schemas.difference(&self.cur.schemas) {
            self.push(
                new_step(
                    ObjectKind::Schema,
                    s.as_str(),
                    Action::Create,
                    Phase::Expand,
                    format!("create schema {s}"),
                )
                .sql(format!("CREATE SCHEMA IF NOT EXISTS {}", qi(s)))
                .provides(Resource::Schema(s.clone()))
                // Without CASCADE: a schema that holds anything else stays.
                .undo_with(vec![
                    undo_step(ObjectKind::Schema, s.as_str(), format!("drop schema {s}"))
                        .sql(format!("DROP SCHEMA IF EXISTS {}", qi(s)))
                        .removes(Resource::Schema(s.clone())),
                ]),
            );
        }
        for s in self.cur.schemas.difference(&self.tgt.schemas) {
            let inside: Vec<String> = self
                .unmanaged
                .iter()
                .filter(|u| match &u.place {
                    Place::Schema(q) => &q.schema == s,
                    Place::Table { table, .. } => &table.schema == s,
                    Place::Other => false,
                })
                .map(|u| u.to_string())
                .collect();
            if !inside.is_empty() {
                self.error(PlanError::BreaksUnmanaged {
                    change: format!("dropping schema {s}"),
                    dependents: inside.join(", "),
                });
                continue;
            }
            self.push(
                new_step(ObjectKind::Schema, s.as_str(), Action::Drop, Phase::Contract, format!("drop schema {s}"))
                    .sql(format!("DROP SCHEMA {}", qi(s)))
                    .hazard(HazardKind::UntrackedDependencies, format!("drops schema {s}; its managed objects go first, but code that names the schema (function bodies, search_path settings) is not seen"))
                    .removes(Resource::Schema(s.clone())),
            );
        }
    }

    pub fn extensions(&mut self) {
        let deltas = diff_by_name(
            &self.cur.extensions,
            &self.tgt.extensions,
            |_| None,
            |a, b| a == b,
        );
        for d in deltas {
            match d {
                Delta::Added(name, e) => {
                    let mut sql = format!("CREATE EXTENSION IF NOT EXISTS {}", qi(name));
                    let mut step = new_step(
                        ObjectKind::Extension,
                        name.as_str(),
                        Action::Create,
                        Phase::Expand,
                        format!("create extension {name}"),
                    );
                    if let Some(s) = &e.schema {
                        sql.push_str(&format!(" SCHEMA {}", qi(s)));
                        step = step.requires(Resource::Schema(s.clone()));
                    }
                    if let Some(v) = &e.version {
                        sql.push_str(&format!(" VERSION {}", quote_literal(v)));
                    }
                    self.push(
                        step.sql(sql)
                            .provides(Resource::Extension(name.clone()))
                            .undo_with(vec![
                                undo_step(
                                    ObjectKind::Extension,
                                    name.as_str(),
                                    format!("drop extension {name}"),
                                )
                                .sql(format!("DROP EXTENSION IF EXISTS {}", qi(name)))
                                .removes(Resource::Extension(name.clone())),
                            ]),
                    );
                }
                Delta::Removed(name, e) => {
                    let mut step = new_step(
                        ObjectKind::Extension,
                        name.as_str(),
                        Action::Drop,
                        Phase::Contract,
                        format!("drop extension {name}"),
                    )
                    .sql(format!("DROP EXTENSION {}", qi(name)))
                    .hazard(
                        HazardKind::UntrackedDependencies,
                        format!("drops extension {name} and the functions, types and operators it provides; bellows does not see what uses them"),
                    )
                    .removes(Resource::Extension(name.clone()));
                    // Before the schema it lives in, if that goes too.
                    if let Some(s) = &e.schema {
                        step = step.requires(Resource::Schema(s.clone()));
                    }
                    self.push(step);
                }
                Delta::Altered(name, old, new) => {
                    if old.schema != new.schema {
                        let to = new
                            .schema
                            .clone()
                            .unwrap_or_else(|| Ident::new(DEFAULT_SCHEMA).expect("valid"));
                        self.push(
                            new_step(ObjectKind::Extension, name.as_str(), Action::Alter, Phase::Contract, format!("move extension {name} to schema {to}"))
                                .sql(format!("ALTER EXTENSION {} SET SCHEMA {}", qi(name), qi(&to)))
                                .hazard(HazardKind::OldAppVisible, "objects of the extension change schema; queries that qualify them by the old schema fail")
                                .requires(Resource::Schema(to.clone())),
                        );
                    }
                    if let (Some(v), true) = (&new.version, old.version != new.version) {
                        self.push(
                            new_step(
                                ObjectKind::Extension,
                                name.as_str(),
                                Action::Alter,
                                Phase::Expand,
                                format!("update extension {name} to version {v}"),
                            )
                            .sql(format!(
                                "ALTER EXTENSION {} UPDATE TO {}",
                                qi(name),
                                quote_literal(v)
                            ))
                            .undo_stays(format!(
                                "extension {name} stays at version {v} (extensions cannot always go back a version)"
                            )),
                        );
                    }
                }
                Delta::Renamed { .. } => {}
            }
        }
    }

    /// New enum values are additive: ALTER TYPE ... ADD VALUE takes a lock
    /// on the type only.
    pub fn enums(&mut self) {
        let deltas = diff_by_name(&self.cur.enums, &self.tgt.enums, |_| None, |a, b| a == b);
        for d in deltas {
            match d {
                Delta::Added(name, e) => {
                    self.claim(&name.schema, &name.name, || format!("new enum type {name}"));
                    let labels: Vec<String> = e.values.iter().map(|v| quote_literal(v)).collect();
                    self.push(
                        new_step(
                            ObjectKind::Enum,
                            name.to_string(),
                            Action::Create,
                            Phase::Expand,
                            format!("create enum {name}"),
                        )
                        .sql(format!(
                            "CREATE TYPE {} AS ENUM ({})",
                            qt(name),
                            labels.join(", ")
                        ))
                        .requires(Resource::Schema(name.schema.clone()))
                        .provides(Resource::Type(name.clone()))
                        .undo_with(vec![
                            undo_step(
                                ObjectKind::Enum,
                                name.to_string(),
                                format!("drop enum {name}"),
                            )
                            .sql(format!("DROP TYPE IF EXISTS {}", qt(name)))
                            .removes(Resource::Type(name.clone())),
                        ]),
                    );
                }
                Delta::Removed(name, _) => self.push(
                    new_step(
                        ObjectKind::Enum,
                        name.to_string(),
                        Action::Drop,
                        Phase::Contract,
                        format!("drop enum {name}"),
                    )
                    .sql(format!("DROP TYPE {}", qt(name)))
                    .hazard(HazardKind::UntrackedDependencies, format!("drops enum type {name}; code that names it in a function body is not seen"))
                    .removes(Resource::Type(name.clone()))
                    .requires(Resource::Schema(name.schema.clone())),
                ),
                Delta::Altered(name, old, new) => self.enum_values(name, &old.values, &new.values),
                Delta::Renamed { .. } => {}
            }
        }
    }

    fn enum_values(&mut self, name: &QualifiedName, old: &[String], new: &[String]) {
        // Values may only be added; the old ones must keep their order.
        let kept: Vec<&String> = new.iter().filter(|v| old.contains(v)).collect();
        if kept.len() != old.len() || kept.iter().zip(old).any(|(a, b)| *a != b) {
            self.error(PlanError::Unsupported {
                object: name.to_string(),
                what: "removing or reordering enum values".into(),
                hint: "PostgreSQL can only add values; removing one means rebuilding the type and rewriting every table that uses it; do that as a manual migration".into(),
            });
            return;
        }
        // One step, the values in order, each placed after the value
        // before it in the target (which exists by then: an old one, or
        // one this step just added), the first before the first old one.
        // PostgreSQL 12+ adds several values in one transaction; none is
        // used before it commits.
        let added: Vec<&String> = new.iter().filter(|v| !old.contains(v)).collect();
        if added.is_empty() {
            return;
        }
        let mut step = new_step(
            ObjectKind::Enum,
            name.to_string(),
            Action::AddValue,
            Phase::Expand,
            format!(
                "add {} to enum {name}",
                added
                    .iter()
                    .map(|v| format!("{v:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .requires(Resource::Type(name.clone()))
        .undo_stays(format!(
            "enum {name} keeps the values {} (PostgreSQL cannot remove an enum value; the old app never writes them)",
            added
                .iter()
                .map(|v| format!("{v:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        for (i, v) in new.iter().enumerate() {
            if old.contains(v) {
                continue;
            }
            let position = match i.checked_sub(1).map(|p| &new[p]) {
                Some(before) => format!(" AFTER {}", quote_literal(before)),
                None => match new.iter().find(|p| old.contains(p)) {
                    Some(after) => format!(" BEFORE {}", quote_literal(after)),
                    None => String::new(),
                },
            };
            step = step.sql(format!(
                "ALTER TYPE {} ADD VALUE IF NOT EXISTS {}{position}",
                qt(name),
                quote_literal(v)
            ));
        }
        self.push(step);
    }

    pub fn sequences(&mut self) {
        let deltas = diff_by_name(
            &self.cur.sequences,
            &self.tgt.sequences,
            |_| None,
            |a, b| a == b,
        );
        for d in deltas {
            match d {
                Delta::Added(name, s) => {
                    self.claim(&name.schema, &name.name, || format!("new sequence {name}"));
                    self.push(
                        new_step(
                            ObjectKind::Sequence,
                            name.to_string(),
                            Action::Create,
                            Phase::Expand,
                            format!("create sequence {name}"),
                        )
                        .sql(crate::sql::postgres::create_sequence(name, s))
                        .requires(Resource::Schema(name.schema.clone()))
                        .provides(Resource::Sequence(name.clone()))
                        .undo_with(vec![
                            undo_step(
                                ObjectKind::Sequence,
                                name.to_string(),
                                format!("drop sequence {name}"),
                            )
                            .sql(format!("DROP SEQUENCE IF EXISTS {}", qt(name)))
                            .removes(Resource::Sequence(name.clone())),
                        ]),
                    );
                    if let Some((t, c)) = &s.owned_by {
                        self.own_sequence(name, t, c, None);
                    }
                }
                Delta::Removed(name, s) if self.owner_goes(name, s) => {
                    // Dropped with the table or column that owns it.
                }
                Delta::Removed(name, _) => self.push(
                    new_step(
                        ObjectKind::Sequence,
                        name.to_string(),
                        Action::Drop,
                        Phase::Contract,
                        format!("drop sequence {name}"),
                    )
                    .sql(format!("DROP SEQUENCE {}", qt(name)))
                    .hazard(
                        HazardKind::DataLoss,
                        format!("drops sequence {name} and its current value"),
                    )
                    .removes(Resource::Sequence(name.clone()))
                    .requires(Resource::Schema(name.schema.clone())),
                ),
                Delta::Altered(name, old, new) => {
                    let opts = sequence_changes(old, new);
                    if !opts.is_empty() {
                        self.push(
                            new_step(
                                ObjectKind::Sequence,
                                name.to_string(),
                                Action::Alter,
                                Phase::Expand,
                                format!("alter sequence {name}"),
                            )
                            .sql(format!("ALTER SEQUENCE {} {}", qt(name), opts.join(" ")))
                            .requires(Resource::Sequence(name.clone()))
                            .undo_with(vec![
                                undo_step(
                                    ObjectKind::Sequence,
                                    name.to_string(),
                                    format!("restore the options of sequence {name}"),
                                )
                                .sql(format!(
                                    "ALTER SEQUENCE {} {}",
                                    qt(name),
                                    sequence_changes(new, old).join(" ")
                                )),
                            ]),
                        );
                    }
                    if old.owned_by != new.owned_by {
                        match &new.owned_by {
                            Some((t, c)) => self.own_sequence(name, t, c, old.owned_by.as_ref()),
                            None => self.push(
                                new_step(
                                    ObjectKind::Sequence,
                                    name.to_string(),
                                    Action::Own,
                                    Phase::Contract,
                                    format!("sequence {name} no longer owned by a column"),
                                )
                                .sql(format!("ALTER SEQUENCE {} OWNED BY NONE", qt(name)))
                                .requires(Resource::Sequence(name.clone())),
                            ),
                        }
                    }
                }
                Delta::Renamed { .. } => {}
            }
        }
    }

    /// Whether the column owning `seq` disappears (its table dropped or the
    /// column dropped), which drops the sequence too.
    fn owner_goes(&self, seq: &QualifiedName, s: &Sequence) -> bool {
        let Some((t, c)) = &s.owned_by else {
            return false;
        };
        let table = QualifiedName::new(seq.schema.clone(), t.clone());
        self.tgt
            .tables
            .get(&table)
            .is_none_or(|t| t.column(c.as_str()).is_none())
    }

    fn own_sequence(
        &mut self,
        seq: &QualifiedName,
        table: &Ident,
        column: &Ident,
        before: Option<&(Ident, Ident)>,
    ) {
        let t = QualifiedName::new(seq.schema.clone(), table.clone());
        let owner_before = match before {
            Some((bt, bc)) => format!(
                "{}.{}",
                qt(&QualifiedName::new(seq.schema.clone(), bt.clone())),
                qi(bc)
            ),
            None => "NONE".to_string(),
        };
        self.push(
            new_step(
                ObjectKind::Sequence,
                seq.to_string(),
                Action::Own,
                Phase::Expand,
                format!("sequence {seq} owned by {}", col_name(&t, column)),
            )
            .sql(format!(
                "ALTER SEQUENCE {} OWNED BY {}.{}",
                qt(seq),
                qt(&t),
                qi(column)
            ))
            .requires(Resource::Sequence(seq.clone()))
            .requires(Resource::column(&t, column))
            .undo_with(vec![
                undo_step(
                    ObjectKind::Sequence,
                    seq.to_string(),
                    format!("sequence {seq} owned as before"),
                )
                .sql(format!(
                    "ALTER SEQUENCE {} OWNED BY {owner_before}",
                    qt(seq)
                )),
            ]),
        );
    }
}

/// The ALTER SEQUENCE options that turn `old` into `new`.
fn sequence_changes(old: &Sequence, new: &Sequence) -> Vec<String> {
    let mut opts = Vec::new();
    if old.data_type != new.data_type {
        opts.push(format!(
            "AS {}",
            crate::sql::postgres::type_sql(&new.data_type)
        ));
    }
    let num = |kw: &str, o: Option<i64>, n: Option<i64>, default_kw: &str| -> Option<String> {
        if o == n {
            return None;
        }
        Some(match n {
            Some(v) => format!("{kw} {v}"),
            None => default_kw.to_string(),
        })
    };
    opts.extend(num(
        "INCREMENT BY",
        old.increment,
        new.increment,
        "INCREMENT BY 1",
    ));
    opts.extend(num("MINVALUE", old.min_value, new.min_value, "NO MINVALUE"));
    opts.extend(num("MAXVALUE", old.max_value, new.max_value, "NO MAXVALUE"));
    if let (Some(v), true) = (new.start, old.start != new.start) {
        opts.push(format!("START WITH {v}"));
    }
    opts.extend(num("CACHE", old.cache, new.cache, "CACHE 1"));
    if old.cycle != new.cycle {
        opts.push(if new.cycle {
            "CYCLE".into()
        } else {
            "NO CYCLE".into()
        });
    }
    opts
}
