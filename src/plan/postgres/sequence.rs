//! Sequences: made and altered in expand, dropped in contract unless the
//! column that owns them goes (which drops them too).

use std::collections::BTreeMap;

use super::kind::{Kind, objects};
use super::*;

pub(super) struct Sequences;

impl Kind for Sequences {
    objects!(in schema.sequences: BTreeMap<QualifiedName, Sequence>);

    fn same(_: &Planner<'_>, _: (), a: &Sequence, b: &Sequence) -> bool {
        a == b
    }

    fn added<'a>(p: &mut Planner<'a>, _: (), name: &'a QualifiedName, s: &'a Sequence) {
        p.claim(&name.schema, &name.name, || format!("new sequence {name}"));
        p.push(
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
            p.own_sequence(name, t, c, None);
        }
    }

    fn removed<'a>(p: &mut Planner<'a>, _: (), name: &'a QualifiedName, s: &'a Sequence) {
        if p.owner_goes(name, s) {
            // Dropped with the table or column that owns it.
            return;
        }
        p.push(
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
                format!(
                    "drops sequence {name} and its current value{}",
                    p.counter_left(name, s)
                ),
            )
            .removes(Resource::Sequence(name.clone()))
            .requires(Resource::Schema(name.schema.clone())),
        );
    }

    fn altered<'a>(
        p: &mut Planner<'a>,
        _: (),
        name: &'a QualifiedName,
        old: &'a Sequence,
        new: &'a Sequence,
    ) {
        let opts = sequence_changes(old, new);
        if !opts.is_empty() {
            p.push(
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
                Some((t, c)) => p.own_sequence(name, t, c, old.owned_by.as_ref()),
                None => p.push(
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
}

impl Planner<'_> {
    /// For a sequence a `serial` column owns that stays in the target
    /// without it (`type: bigint` written for a `serial` that was meant to
    /// grow): what the column loses, and what to write instead.
    fn counter_left(&self, name: &QualifiedName, s: &Sequence) -> String {
        let Some((t, c)) = &s.owned_by else {
            return String::new();
        };
        let table = QualifiedName::new(name.schema.clone(), t.clone());
        let Some(col) = self
            .tgt
            .tables
            .get(&table)
            .and_then(|tab| tab.column(c.as_str()))
        else {
            return String::new();
        };
        if col.default.is_some() || col.identity.is_some() {
            return String::new();
        }
        let sugar = match self.tgt.base_type(&col.ty).base {
            BaseType::SmallInt => "smallserial",
            BaseType::Integer => "serial",
            BaseType::BigInt => "bigserial",
            _ => return String::new(),
        };
        format!(
            "; {} stays but no longer counts (no default): to keep a counter, write `type: {sugar}` (or `identity: by_default`)",
            col_name(&table, c)
        )
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
    opts.extend(option_changes(&old.options, &new.options));
    opts
}

/// The ALTER SEQUENCE options (or an identity's `SET` ones) that turn
/// options `old` into `new` on a sequence of one type.
pub(super) fn option_changes(old: &SequenceOptions, new: &SequenceOptions) -> Vec<String> {
    let mut opts = Vec::new();
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
    if old.start != new.start {
        // Back to the default: where an ascending sequence starts is its
        // minimum, a descending one its maximum.
        let v = new.start.unwrap_or(if new.increment.unwrap_or(1) > 0 {
            new.min_value.unwrap_or(1)
        } else {
            new.max_value.unwrap_or(-1)
        });
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

#[cfg(test)]
mod tests {
    use crate::testing::plans_to;

    #[test]
    fn a_serial_written_as_a_plain_integer_type_is_told_how_to_keep_its_counter() {
        use crate::testing::schema;
        let t = |ty: &str| {
            format!(
                "tables:\n  t:\n    columns:\n      id: {{ type: {ty} }}\n    primary_key: [id]\n"
            )
        };
        let p = crate::plan::plan(
            &schema(&t("serial")),
            &schema(&t("bigint")),
            &Default::default(),
        )
        .expect("planned");
        let said: Vec<&str> = p
            .steps
            .iter()
            .flat_map(|s| &s.hazards)
            .map(|h| h.message.as_str())
            .collect();
        assert!(
            said.iter().any(|m| m.contains(
                "public.t.id stays but no longer counts (no default): to keep a counter, write `type: bigserial`"
            )),
            "{said:?}"
        );
    }

    #[test]
    fn options_written_at_their_default_are_no_option() {
        assert_eq!(
            crate::testing::schema(
                "sequences: { a: { type: integer, start: 1, increment: 1, min_value: 1, max_value: 2147483647, cache: 1 } }"
            ),
            crate::testing::schema("sequences: { a: { type: integer } }"),
        );
        // Descending: the defaults are the type's minimum and -1.
        assert_eq!(
            crate::testing::schema(
                "sequences: { a: { type: smallint, increment: -1, start: -1, min_value: -32768 } }"
            ),
            crate::testing::schema("sequences: { a: { type: smallint, increment: -1 } }"),
        );
    }

    #[test]
    fn options_change_in_place_and_a_dropped_sequence_goes_in_contract() {
        plans_to(
            "sequences: { a: { type: bigint, cache: 10 }, b: { type: bigint } }",
            "sequences: { a: { type: bigint, increment: 5 } }",
            "
            expand: alter sequence public.a
                ALTER SEQUENCE public.a INCREMENT BY 5 CACHE 1
            contract: drop sequence public.b
                DROP SEQUENCE public.b
            ",
        );
    }

    #[test]
    fn a_sequence_owned_by_a_dropped_column_goes_with_it() {
        plans_to(
            "tables:\n  t:\n    columns:\n      id: { type: serial }\n      x: { type: text }",
            "tables:\n  t:\n    columns:\n      x: { type: text }",
            "
            contract: drop column public.t.id
                ALTER TABLE public.t DROP COLUMN id
            ",
        );
    }
}
