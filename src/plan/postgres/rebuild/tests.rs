//! The rebuild rule's own tests, through the planner.

use crate::testing::{outline_of, plans_to, refused};

fn m(extra: &str, key: &str) -> String {
    format!(
        "tables:\n  m:\n    columns:\n      id: {{ type: integer, nullable: false }}\n      at: {{ type: date, nullable: false }}\n    primary_key: [{key}]\n{extra}"
    )
}

const PARTITIONED: &str =
    "    partition_by: range (at)\n  m_all:\n    partition_of: m\n    bound: DEFAULT\n";

#[test]
fn a_plain_table_partitioned_is_built_beside_filled_and_swapped_in() {
    plans_to(
        &m("", "id"),
        &m(PARTITIONED, "id, at"),
        "
        expand: create the new partitioning of public.m beside it, empty, as public.m_bellows_new (the apps use the old one until contract)
            CREATE TABLE public.m_bellows_new (id integer NOT NULL, at date NOT NULL, CONSTRAINT m_pkey_bellows_new PRIMARY KEY (id, at)) PARTITION BY RANGE (at)
        expand: create table public.m_all, a partition of the new partitioning of public.m (built beside it as public.m_bellows_new)
            CREATE TABLE public.m_all PARTITION OF public.m_bellows_new DEFAULT
        expand: make every write to public.m in public.m_bellows_new too, while its rows are copied
            CREATE OR REPLACE FUNCTION public.m_bellows_copy() RETURNS trigger LANGUAGE plpgsql AS $bellows$ BEGIN IF TG_OP = 'TRUNCATE' THEN TRUNCATE public.m_bellows_new; RETURN NULL; END IF; IF TG_OP IN ('UPDATE', 'DELETE') THEN DELETE FROM public.m_bellows_new WHERE (id) = (OLD.id); END IF; IF TG_OP IN ('INSERT', 'UPDATE') THEN INSERT INTO public.m_bellows_new (id, at) VALUES (NEW.id, NEW.at); END IF; RETURN NULL; END $bellows$
            CREATE TRIGGER m_bellows_copy AFTER INSERT OR UPDATE OR DELETE ON public.m FOR EACH ROW EXECUTE FUNCTION public.m_bellows_copy()
            CREATE TRIGGER m_truncate_bellows_copy AFTER TRUNCATE ON public.m FOR EACH STATEMENT EXECUTE FUNCTION public.m_bellows_copy()
        migrate: copy the rows of public.m into public.m_bellows_new, in batches by (id)
            INSERT INTO public.m_bellows_new (id, at) SELECT id, at FROM public.m WHERE (id) > ($1) AND (id) <= ($2) FOR SHARE ON CONFLICT (id, at) DO NOTHING
        migrate: gather the planner's statistics of public.m_bellows_new again (every row was copied in)
            ANALYZE public.m_bellows_new
        contract: swap in the new partitioning of public.m, built beside it as public.m_bellows_new
            DROP TRIGGER IF EXISTS m_bellows_copy ON public.m
            DROP TRIGGER IF EXISTS m_truncate_bellows_copy ON public.m
            DROP FUNCTION IF EXISTS public.m_bellows_copy()
            DROP TABLE public.m
            ALTER TABLE public.m_bellows_new RENAME TO m
            ALTER INDEX public.m_pkey_bellows_new RENAME TO m_pkey
        ",
    );
}

#[test]
fn without_a_key_the_rows_are_copied_in_the_swap_while_writes_wait() {
    let plain = "tables:\n  m:\n    columns:\n      id: { type: integer }\n      at: { type: date, nullable: false }\n";
    plans_to(
        plain,
        &format!("{plain}{PARTITIONED}"),
        "
        expand: create the new partitioning of public.m beside it, empty, as public.m_bellows_new (the apps use the old one until contract)
            CREATE TABLE public.m_bellows_new (id integer, at date NOT NULL) PARTITION BY RANGE (at)
        expand: create table public.m_all, a partition of the new partitioning of public.m (built beside it as public.m_bellows_new)
            CREATE TABLE public.m_all PARTITION OF public.m_bellows_new DEFAULT
        contract: swap in the new partitioning of public.m, built beside it as public.m_bellows_new
            LOCK TABLE public.m IN SHARE MODE
            INSERT INTO public.m_bellows_new (id, at) SELECT id, at FROM public.m
            DROP TABLE public.m
            ALTER TABLE public.m_bellows_new RENAME TO m
        ",
    );
}

#[test]
fn what_the_new_table_cannot_take_over_is_refused_with_every_reason() {
    // Forced row-level security would hide rows from the copy.
    let forced = |t: &str| {
        t.replace(
            "    primary_key:",
            "    row_security: true\n    force_row_security: true\n    primary_key:",
        )
    };
    refused(
        &forced(&m("", "id")),
        &forced(&m(PARTITIONED, "id, at")),
        "it forces row-level security",
    );
    // An expression key cannot be in the unique index a copied row is
    // found by.
    refused(
        &m("", "id"),
        &m(
            "    partition_by: range ((at + 1))\n  m_all:\n    partition_of: m\n    bound: DEFAULT\n",
            "id",
        )
        .replace("    primary_key: [id]\n", ""),
        "has an expression, which no unique index can hold",
    );
    // A referencing table renamed in the same plan.
    let child = |name: &str, hint: &str| {
        format!(
            "  {name}:\n{hint}    columns:\n      m_id: {{ type: integer }}\n      m_at: {{ type: date }}\n    foreign_keys:\n      c_m: {{ columns: [m_id, m_at], references: {{ table: m, columns: [id, at] }} }}\n"
        )
    };
    let keyed = |extra: &str| m(extra, "id, at");
    refused(
        &format!("{}{}", keyed(""), child("c", "")),
        &format!(
            "{}{}",
            keyed(PARTITIONED),
            child("c2", "    renamed_from: c\n")
        ),
        "table public.c, whose foreign key c_m references it, is renamed too",
    );
    // Two tables partitioned anew, one referencing the other.
    let child_parted = |extra: &str| {
        child("c", "")
            .replace(
                "    columns:",
                &format!("    primary_key: [m_id, m_at]\n{extra}    columns:"),
            )
            .replace(
                "m_id: { type: integer }",
                "m_id: { type: integer, nullable: false }",
            )
            .replace(
                "m_at: { type: date }",
                "m_at: { type: date, nullable: false }",
            )
    };
    refused(
        &format!("{}{}", keyed(""), child_parted("")),
        &format!(
            "{}{}",
            keyed(PARTITIONED),
            child_parted("    partition_by: range (m_at)\n")
        ),
        "table public.c, whose foreign key c_m references it, is partitioned anew too",
    );
    let retyped = m(PARTITIONED, "id, at").replace("id: { type: integer", "id: { type: bigint");
    refused(&m("", "id"), &retyped, "column id changes type");
    let identity = m(PARTITIONED, "id, at").replace(
        "id: { type: integer, nullable: false }",
        "id: { type: integer, identity: always }",
    );
    refused(&m("", "id"), &identity, "column id is made identity");
    refused(
        &m("", "id"),
        &m(PARTITIONED, "id, at")
            .replace("  m:\n", "  m2:\n    renamed_from: m\n")
            .replace("partition_of: m\n", "partition_of: m2\n"),
        "rename it (or detach it) in a plan of its own first",
    );
}

#[test]
fn triggers_and_policies_are_made_on_the_new_table_at_the_swap() {
    let with = |t: &str| {
        t.replace(
            "    primary_key:",
            "    triggers:\n      t: { timing: before, events: [insert], function: f }\n    row_security: true\n    policies:\n      p: { using: id > 0 }\n    primary_key:",
        ) + "functions:\n  f():\n    returns: trigger\n    language: plpgsql\n    body: BEGIN RETURN NEW; END\n"
    };
    let outline = outline_of(&with(&m("", "id")), &with(&m(PARTITIONED, "id, at")));
    assert!(
        outline.ends_with(
            "    ALTER INDEX public.m_pkey_bellows_new RENAME TO m_pkey
    CREATE TRIGGER t BEFORE INSERT ON public.m FOR EACH ROW EXECUTE FUNCTION public.f()
    ALTER TABLE public.m ENABLE ROW LEVEL SECURITY
    CREATE POLICY p ON public.m TO PUBLIC USING (id > 0)
"
        ),
        "{outline}"
    );
    // Nothing else touches them: they go with the live table.
    let steps = outline.lines().filter(|l| !l.starts_with("    ")).count();
    assert_eq!(steps, 6, "{outline}");
}

#[test]
fn a_statistics_target_is_set_on_a_plain_table_built_beside_and_after_the_swap_on_a_partitioned_one()
 {
    let with_target = |s: &str| {
        s.replace(
            "at: { type: date, nullable: false }",
            "at: { type: date, nullable: false, statistics: 500 }",
        )
    };
    let set = "ALTER COLUMN at SET STATISTICS 500";
    let partitioned = outline_of(
        &with_target(&m("", "id")),
        &with_target(&m(PARTITIONED, "id, at")),
    );
    assert_eq!(partitioned.matches(set).count(), 1, "{partitioned}");
    assert!(
        partitioned.contains(&format!("contract: set the statistics target of column public.m.at to 500 (the next ANALYZE takes it)\n    ALTER TABLE public.m {set}")),
        "{partitioned}"
    );
    let plain = outline_of(
        &with_target(&m(PARTITIONED, "id, at")),
        &with_target(&m("", "id, at")),
    );
    assert_eq!(plain.matches(set).count(), 1, "{plain}");
    assert!(
        plain.contains(&format!("    ALTER TABLE public.m_bellows_new {set}\n")),
        "{plain}"
    );
    let analyze = plain
        .find("ANALYZE public.m_bellows_new")
        .unwrap_or_else(|| panic!("{plain}"));
    assert!(plain.find(set).is_some_and(|s| s < analyze), "{plain}");
}
