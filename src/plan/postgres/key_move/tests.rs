//! The key-move rule's own tests, through the planner.

use crate::testing::{plans_to, refused};

const ACCOUNTS: &str =
    "tables:\n  accounts:\n    columns:\n      id: { type: bigint }\n    primary_key: [id]\n";

fn orders(account_id: &str) -> String {
    format!(
        "{ACCOUNTS}  orders:\n    columns:\n      id: {{ type: bigint }}\n      account_id: {{ type: {account_id} }}\n    primary_key: [id]\n    foreign_keys:\n      orders_account_fk: {{ columns: [account_id], references: {{ table: accounts, columns: [id] }} }}\n"
    )
}

#[test]
fn a_foreign_key_over_a_retyped_column_is_built_on_the_shadow_and_switched_before_the_swap() {
    plans_to(
        &orders("integer"),
        &orders("bigint"),
        "
        expand: add column public.orders.account_id_bellows_new for changing the type of public.orders.account_id from integer to bigint
            ALTER TABLE public.orders ADD COLUMN account_id_bellows_new bigint
        expand: keep public.orders.account_id_bellows_new in sync while old and new app versions write
            CREATE OR REPLACE FUNCTION public.orders_account_id_bellows_new_bellows_sync() RETURNS trigger LANGUAGE plpgsql AS $bellows$ BEGIN IF TG_OP = 'INSERT' OR NEW.account_id IS DISTINCT FROM OLD.account_id OR NEW.account_id_bellows_new IS NULL THEN SELECT (account_id::bigint) INTO NEW.account_id_bellows_new FROM (SELECT NEW.*) AS bellows_row; END IF; RETURN NEW; END $bellows$
            CREATE TRIGGER orders_account_id_bellows_new_bellows_sync BEFORE INSERT OR UPDATE OF account_id ON public.orders FOR EACH ROW EXECUTE FUNCTION public.orders_account_id_bellows_new_bellows_sync()
        migrate: backfill public.orders.account_id_bellows_new = account_id::bigint, in batches by primary key (id)
            UPDATE public.orders SET account_id_bellows_new = (account_id::bigint) WHERE (id) > ($1) AND (id) <= ($2) AND account_id_bellows_new IS NULL
        migrate: gather the planner's statistics of public.orders (account_id_bellows_new) again (every row was filled)
            ANALYZE public.orders (account_id_bellows_new)
        migrate: add foreign key orders_account_fk on public.orders → public.accounts over the new columns, as orders_account_fk_bellows_new (NOT VALID: new writes only)
            ALTER TABLE public.orders ADD CONSTRAINT orders_account_fk_bellows_new FOREIGN KEY (account_id_bellows_new) REFERENCES public.accounts (id) NOT VALID
        migrate: validate foreign key orders_account_fk_bellows_new on public.orders
            ALTER TABLE public.orders VALIDATE CONSTRAINT orders_account_fk_bellows_new
        contract: switch foreign key orders_account_fk on public.orders to the new columns: drop its old definition, give orders_account_fk_bellows_new its name (catalog changes on public.orders and public.accounts, in one transaction)
            ALTER TABLE public.orders DROP CONSTRAINT IF EXISTS orders_account_fk
            ALTER TABLE public.orders RENAME CONSTRAINT orders_account_fk_bellows_new TO orders_account_fk
        contract: swap public.orders.account_id_bellows_new in for public.orders.account_id
            DROP TRIGGER IF EXISTS orders_account_id_bellows_new_bellows_sync ON public.orders
            DROP FUNCTION IF EXISTS public.orders_account_id_bellows_new_bellows_sync()
            ALTER TABLE public.orders DROP COLUMN account_id
            ALTER TABLE public.orders RENAME COLUMN account_id_bellows_new TO account_id
        ",
    );
}

#[test]
fn a_retyped_primary_key_comes_back_in_the_swap_and_its_serial_sequence_stays() {
    let t = |ty: &str| {
        format!("tables:\n  t:\n    columns:\n      id: {{ type: {ty} }}\n    primary_key: [id]\n")
    };
    let got = crate::testing::outline_of(&t("serial"), &t("bigserial"));
    let swap = got
        .split("contract: ")
        .find(|s| s.starts_with("swap public.t.id_bellows_new in for public.t.id"))
        .unwrap_or_else(|| panic!("no swap step in:\n{got}"));
    let order = [
        "ALTER SEQUENCE public.t_id_seq OWNED BY NONE",
        "ALTER TABLE public.t DROP COLUMN id",
        "ALTER TABLE public.t RENAME COLUMN id_bellows_new TO id",
        "ALTER TABLE public.t ALTER COLUMN id SET DEFAULT nextval('t_id_seq'::regclass)",
        "ALTER SEQUENCE public.t_id_seq OWNED BY public.t.id",
        "ALTER TABLE public.t ADD CONSTRAINT t_pkey PRIMARY KEY USING INDEX t_pkey_bellows_new",
    ];
    let at: Vec<usize> = order
        .iter()
        .map(|s| {
            swap.find(s)
                .unwrap_or_else(|| panic!("no `{s}` in the swap:\n{swap}"))
        })
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "out of order:\n{swap}");
    // Its NOT NULL is proven in migrate, so contract scans nothing.
    assert!(got.contains("migrate: validate that public.t.id_bellows_new has no NULLs"));
}

#[test]
fn a_foreign_key_renamed_while_its_column_moves_is_switched_from_its_old_name() {
    let from = orders("integer");
    let to = orders("bigint").replace(
        "orders_account_fk: {",
        "orders_accounts_fk: { renamed_from: orders_account_fk,",
    );
    let got = crate::testing::outline_of(&from, &to);
    for want in [
        "drop orders_account_fk, which it is renamed from",
        "ALTER TABLE public.orders DROP CONSTRAINT IF EXISTS orders_account_fk\n",
        "ALTER TABLE public.orders RENAME CONSTRAINT orders_accounts_fk_bellows_new TO orders_accounts_fk\n",
    ] {
        assert!(got.contains(want), "no {want:?} in:\n{got}");
    }
    assert!(
        !got.contains("RENAME CONSTRAINT orders_account_fk "),
        "{got}"
    );
}

#[test]
fn a_reference_takes_the_new_key_of_its_row_unless_a_name_would_be_ambiguous() {
    let t = |key: &str, refs: &str, col: &str| {
        format!(
            "tables:\n  a:\n    columns:\n      id: {key}\n      code: {{ type: text }}\n    primary_key: [id]\n  b:\n    columns:\n      id: {{ type: bigint }}\n      {col}: {refs}\n    primary_key: [id]\n    foreign_keys:\n      b_a_fk: {{ columns: [{col}], references: {{ table: a, columns: [id] }} }}\n"
        )
    };
    let uuid = "{ type: uuid, backfill: gen_random_uuid() }";
    let got = crate::testing::outline_of(
        &t("{ type: integer }", "{ type: integer }", "a_id"),
        &t(uuid, "{ type: uuid }", "a_id"),
    );
    assert!(
        got.contains("UPDATE public.b SET a_id_bellows_new = ((SELECT bellows_parent.id_bellows_new FROM public.a AS bellows_parent WHERE bellows_parent.id = a_id))"),
        "{got}"
    );
    refused(
        &t("{ type: integer }", "{ type: integer }", "code"),
        &t(uuid, "{ type: uuid }", "code"),
        "public.a has a column code too",
    );
}

#[test]
fn key_columns_of_renamed_or_partitioned_tables_and_columns_made_identity_are_refused() {
    refused(
        &orders("integer"),
        &orders("bigint").replace("  orders:\n", "  orders_v2:\n    renamed_from: orders\n"),
        "is renamed in the same plan",
    );
    let parted = |ty: &str| {
        format!(
            "tables:\n  m:\n    columns:\n      id: {{ type: {ty} }}\n      at: {{ type: date }}\n    primary_key: [id, at]\n    partition_by: range (at)\n"
        )
    };
    refused(
        &parted("integer"),
        &parted("bigint"),
        "is partitioned or a partition",
    );
    let t =
        |id: &str| format!("tables:\n  t:\n    columns:\n      id: {id}\n    primary_key: [id]\n");
    refused(
        &t("{ type: integer }"),
        &t("{ type: bigint, identity: always }"),
        "of one made identity",
    );
    // Values that would not stay equal: only with the new key's
    // expression.
    refused(
        &t("{ type: numeric }"),
        &t("{ type: integer }"),
        "a cast from numeric to integer may not keep its values equal",
    );
    refused(
        &t("{ type: bigint }"),
        &t("{ type: integer }"),
        "a cast from bigint to integer may not keep its values equal",
    );
    // No cast at all: every column, key or not.
    refused(
        &t("{ type: integer }"),
        &t("{ type: uuid }"),
        "PostgreSQL has no cast from integer to uuid",
    );
    let planned = crate::testing::outline_of(
        &t("{ type: integer }"),
        &t("{ type: uuid, backfill: \"md5(id::text)::uuid\" }"),
    );
    assert!(
        planned.contains("USING INDEX t_pkey_bellows_new"),
        "{planned}"
    );
}
