//! Property: model → YAML → model is the identity, and writing the read
//! model again gives the same text, for generated schemas whose names are
//! as hostile as PostgreSQL allows: quotes, dots, spaces, mixed case,
//! reserved words, YAML keywords, unicode, control characters.

use std::path::Path;

use bellows::model::*;
use bellows::spec::{self, WriteOptions};
use proptest::prelude::*;

const NASTY: &[&str] = &[
    "select",
    "user",
    "table",
    "true",
    "false",
    "null",
    "~",
    "yes",
    "no",
    "1",
    "1.5",
    "0x1F",
    "order",
    "Group",
    "- dash",
    "a: b",
    "#hash",
    "x #y",
    "[list]",
    "{map}",
    "a,b",
    "'single'",
    "\"double\"",
    "dot.ted",
    "\"a\".\"b\"",
    " lead",
    "trail ",
    "tab\there",
    "new\nline",
    "ünïcödé",
    "日本語",
    "emoji 🎉",
    "&anchor",
    "*alias",
    "!tag",
    "%pct",
    "@at",
    "`tick`",
    "|pipe",
    ">fold",
    "?q",
    "back\\slash",
    ".inf",
    "NaN",
    "",
    "  ",
];

fn ident_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_][a-z0-9_]{0,12}",
        "[A-Za-z][A-Za-z0-9 ]{0,12}",
        proptest::sample::select(NASTY).prop_map(str::to_string),
        "\\PC{1,10}",
        "[a-z\"\\.' :#,\\[\\]{}\\-\n\t]{1,10}",
    ]
}

/// Raw material: names and choices, from which a valid schema is built.
#[derive(Debug, Clone)]
struct Raw {
    names: Vec<String>,
    texts: Vec<String>,
    choices: Vec<u32>,
}

fn raw() -> impl Strategy<Value = Raw> {
    (
        proptest::collection::vec(ident_text(), 40..80),
        proptest::collection::vec(ident_text(), 10..20),
        proptest::collection::vec(any::<u32>(), 200..300),
    )
        .prop_map(|(names, texts, choices)| Raw {
            names,
            texts,
            choices,
        })
}

/// Draws from the raw material, deterministically.
struct Draw<'a> {
    raw: &'a Raw,
    name_i: usize,
    text_i: usize,
    choice_i: usize,
    serial: u32,
}

impl Draw<'_> {
    fn n(&mut self, max: u32) -> u32 {
        let c = self.raw.choices[self.choice_i % self.raw.choices.len()];
        self.choice_i += 1;
        c % max.max(1)
    }
    fn coin(&mut self) -> bool {
        self.n(2) == 0
    }
    /// A unique, valid identifier: a hostile base plus a counter.
    fn ident(&mut self) -> Ident {
        let base = &self.raw.names[self.name_i % self.raw.names.len()];
        self.name_i += 1;
        self.serial += 1;
        let mut b: String = base.chars().take(12).collect();
        while b.len() > 40 {
            b.pop();
        }
        Ident::new(format!("{b}{}", self.serial)).expect("short, non-empty, no NUL")
    }
    fn text(&mut self) -> String {
        let t = self.raw.texts[self.text_i % self.raw.texts.len()].clone();
        self.text_i += 1;
        t
    }
    /// An SQL expression (the reader parses it) that carries hostile text
    /// in a string literal or a quoted identifier: what YAML must keep
    /// intact. No surrounding whitespace (the reader trims).
    fn sql(&mut self) -> String {
        let t = self.text();
        let literal = format!("'{}'", t.replace('\'', "''"));
        let quoted = format!("\"{}\"", t.replace('"', "\"\""));
        match self.n(4) {
            0 => literal,
            1 => format!("lower({literal}) <> {literal}"),
            2 if !t.is_empty() => format!("{quoted} IS NOT NULL"),
            _ => format!("length({literal}) > 0"),
        }
    }
}

fn column_type(d: &mut Draw, enums: &[QualifiedName]) -> ColumnType {
    let base = match d.n(16) {
        0 => BaseType::SmallInt,
        1 => BaseType::Integer,
        2 => BaseType::BigInt,
        3 => BaseType::Numeric(Some((10 + d.n(20) as u16, d.n(5) as i16))),
        4 => BaseType::Varchar(Some(1 + d.n(500))),
        5 => BaseType::Text,
        6 => BaseType::Timestamp {
            precision: None,
            tz: d.coin(),
        },
        7 => BaseType::Time {
            precision: Some(d.n(7) as u8),
            tz: d.coin(),
        },
        8 => BaseType::Interval {
            fields: Some("day to second".into()),
            precision: Some(3),
        },
        9 => BaseType::Char(Some(1 + d.n(9))),
        10 => BaseType::Boolean,
        11 => BaseType::Double,
        12 => BaseType::Named {
            schema: None,
            name: Ident::new("jsonb").unwrap(),
            modifiers: vec![],
        },
        13 => BaseType::Named {
            schema: None,
            name: Ident::new("char").unwrap(),
            modifiers: vec![],
        },
        _ if !enums.is_empty() => {
            let e = &enums[d.n(enums.len() as u32) as usize];
            BaseType::Named {
                schema: Some(e.schema.clone()),
                name: e.name.clone(),
                modifiers: vec![],
            }
        }
        _ => BaseType::Uuid_or_text(),
    };
    ColumnType {
        base,
        array: d.n(5) == 0,
    }
}

trait UuidOrText {
    #[allow(non_snake_case)]
    fn Uuid_or_text() -> BaseType;
}
impl UuidOrText for BaseType {
    fn Uuid_or_text() -> BaseType {
        BaseType::Named {
            schema: None,
            name: Ident::new("uuid").unwrap(),
            modifiers: vec![],
        }
    }
}

fn build(raw: &Raw) -> Schema {
    let mut d = Draw {
        raw,
        name_i: 0,
        text_i: 0,
        choice_i: 0,
        serial: 0,
    };
    let mut s = Schema::default();
    let schemas: Vec<Ident> = (0..1 + d.n(2)).map(|_| d.ident()).collect();
    let pick_schema = |d: &mut Draw| -> Ident {
        if d.coin() {
            Ident::new(DEFAULT_SCHEMA).unwrap()
        } else {
            schemas[d.n(schemas.len() as u32) as usize].clone()
        }
    };
    for _ in 0..d.n(3) {
        let ext = Extension {
            schema: d.coin().then(|| pick_schema(&mut d)),
            version: d.coin().then(|| d.sql()),
        };
        s.extensions.insert(d.ident(), ext);
    }
    let mut enums = Vec::new();
    for _ in 0..d.n(3) {
        let name = QualifiedName::new(pick_schema(&mut d), d.ident());
        let values = (0..1 + d.n(4))
            .map(|_| d.ident().as_str().to_string())
            .collect();
        s.enums.insert(name.clone(), EnumType { values });
        enums.push(name);
    }
    for _ in 0..d.n(3) {
        let name = QualifiedName::new(pick_schema(&mut d), d.ident());
        let mut seq = Sequence::new(ColumnType::new(
            [BaseType::SmallInt, BaseType::Integer, BaseType::BigInt][d.n(3) as usize].clone(),
        ));
        seq.options.start = d.coin().then(|| d.n(1000) as i64 - 5);
        seq.options.increment = d.coin().then(|| 1 + d.n(9) as i64);
        seq.options.cache = d.coin().then(|| 1 + d.n(50) as i64);
        seq.options.cycle = d.coin();
        // As the reader keeps it: options at their default left out.
        s.sequences.insert(name, seq.canonical());
    }
    // Tables with single-column primary keys first, so others can point at them.
    let mut keyed: Vec<(QualifiedName, Ident)> = Vec::new();
    for _ in 0..1 + d.n(5) {
        let name = QualifiedName::new(pick_schema(&mut d), d.ident());
        let mut t = Table::default();
        for _ in 0..1 + d.n(6) {
            let mut c = Column::new(d.ident(), column_type(&mut d, &enums));
            c.nullable = d.coin();
            c.statistics = StatisticsTarget((d.n(4) == 0).then(|| d.n(10_001) as i32));
            if d.n(5) == 0 {
                // As the reader keeps them: the shortest spelling.
                let n = format!("-0.{}", 1 + d.n(9));
                let options = [("n_distinct".to_string(), n)].into_iter().collect();
                c.options = StorageParams::new(options);
            }
            // As the reader keeps it: a built-in type's own strategy is
            // no setting, and a fixed-length type takes none.
            if let Some(own) =
                c.ty.default_storage()
                    .filter(|s| *s != StorageStrategy::Plain)
            {
                let s = StorageStrategy::ALL[d.n(4) as usize];
                c.storage.strategy = (d.n(3) == 0 && s != own).then_some(s);
                c.storage.compression = (d.n(3) == 0).then(|| Compression::ALL[d.n(2) as usize]);
            }
            match d.n(6) {
                0 => c.default = Some(d.sql()),
                1 if c.ty.is_integer() => {
                    c.identity = Some(if d.coin() {
                        Identity::Always
                    } else {
                        Identity::ByDefault
                    });
                    c.nullable = false;
                    if d.coin() {
                        let o = SequenceOptions {
                            start: d.coin().then(|| d.n(1000) as i64 - 5),
                            increment: d.coin().then(|| 1 + d.n(9) as i64),
                            max_value: d.coin().then(|| 1000 + d.n(9) as i64),
                            cache: d.coin().then(|| 1 + d.n(50) as i64),
                            cycle: d.coin(),
                            ..SequenceOptions::default()
                        };
                        c.identity_options = o.canonical(&c.ty);
                    }
                }
                2 => c.generated = Some(d.sql()),
                3 if c.ty.is_integer() => {
                    // serial: an owned sequence behind a nextval default.
                    let seq = QualifiedName::new(
                        name.schema.clone(),
                        Ident::new(naming::serial_sequence_name(
                            name.name.as_str(),
                            c.name.as_str(),
                        ))
                        .unwrap(),
                    );
                    let mut sq = Sequence::new(c.ty.clone());
                    sq.owned_by = Some((name.name.clone(), c.name.clone()));
                    c.default = Some(spec::nextval_default(&seq));
                    c.nullable = false;
                    s.sequences.insert(seq, sq);
                }
                _ => {}
            }
            if d.coin() {
                c.comment = Some(d.text());
            }
            if d.n(4) == 0 {
                c.collation = Some(Ident::new(["C", "POSIX", "en_US"][d.n(3) as usize]).unwrap());
            }
            if d.n(4) == 0 {
                c.renamed_from = Some(d.ident());
            }
            if d.n(4) == 0 {
                c.backfill = Some(d.sql());
            }
            t.columns.push(c);
        }
        let cols: Vec<Ident> = t.columns.iter().map(|c| c.name.clone()).collect();
        if d.n(3) != 0 {
            let pk_col = cols[d.n(cols.len() as u32) as usize].clone();
            for c in &mut t.columns {
                if c.name == pk_col {
                    c.nullable = false;
                }
            }
            let pk_name = if d.coin() {
                Ident::new(naming::primary_key_name(name.name.as_str())).unwrap()
            } else {
                d.ident()
            };
            let deferrable = [
                Deferrable::No,
                Deferrable::No,
                Deferrable::InitiallyImmediate,
                Deferrable::InitiallyDeferred,
            ][d.n(4) as usize];
            t.primary_key = Some(PrimaryKey {
                name: pk_name,
                columns: vec![pk_col.clone()],
                deferrable,
                renamed_from: d.coin().then(|| d.ident()),
            });
            // A foreign key cannot reference a deferrable key.
            if deferrable == Deferrable::No {
                keyed.push((name.clone(), pk_col));
            }
        }
        for _ in 0..d.n(3) {
            let c = cols[d.n(cols.len() as u32) as usize].clone();
            let dfr = [
                Deferrable::No,
                Deferrable::InitiallyImmediate,
                Deferrable::InitiallyDeferred,
            ][d.n(3) as usize];
            t.uniques.insert(
                d.ident(),
                Unique {
                    columns: vec![c],
                    nulls_not_distinct: d.coin(),
                    deferrable: dfr,
                    renamed_from: d.coin().then(|| d.ident()),
                },
            );
        }
        for _ in 0..d.n(3) {
            let mut keys = Vec::new();
            for _ in 0..1 + d.n(3) {
                let target = if d.coin() {
                    KeyTarget::Column(cols[d.n(cols.len() as u32) as usize].clone())
                } else {
                    KeyTarget::Expression(d.sql())
                };
                let order = if d.coin() {
                    SortOrder::Asc
                } else {
                    SortOrder::Desc
                };
                let nulls = match (d.n(3), order) {
                    (0, SortOrder::Asc) => Some(NullsOrder::First),
                    (0, SortOrder::Desc) => Some(NullsOrder::Last),
                    _ => None,
                };
                keys.push(IndexKey {
                    target,
                    order,
                    nulls,
                    opclass: d.coin().then(|| d.sql()),
                    collation: (d.n(4) == 0).then(|| d.ident()),
                });
            }
            let unique = d.coin();
            let method = if unique {
                "btree"
            } else {
                ["btree", "hash", "gin", "gist", "brin"][d.n(5) as usize]
            };
            let include = if d.coin() {
                vec![cols[0].clone()]
            } else {
                vec![]
            };
            t.indexes.insert(
                d.ident(),
                Index {
                    unique,
                    method: method.into(),
                    keys,
                    include,
                    predicate: d.coin().then(|| d.sql()),
                    nulls_not_distinct: d.coin(),
                    storage: index_storage(&mut d, method),
                    renamed_from: d.coin().then(|| d.ident()),
                },
            );
        }
        for _ in 0..d.n(3) {
            t.checks.insert(
                d.ident(),
                Check {
                    expression: d.sql(),
                    no_inherit: d.coin(),
                    not_valid: NotValid(d.n(4) == 0),
                    renamed_from: d.coin().then(|| d.ident()),
                },
            );
        }
        if d.coin() {
            t.comment = Some(d.text());
        }
        t.storage = table_storage(&mut d);
        if d.n(3) == 0 {
            t.renamed_from = Some(QualifiedName::new(pick_schema(&mut d), d.ident()));
        }
        s.tables.insert(name, t);
    }
    // Foreign keys to the keyed tables (including self-references).
    let names: Vec<QualifiedName> = s.tables.keys().cloned().collect();
    for name in &names {
        if keyed.is_empty() {
            break;
        }
        for _ in 0..d.n(3) {
            let (ref_table, ref_col) = keyed[d.n(keyed.len() as u32) as usize].clone();
            let fk_name = d.ident();
            // A column whose values compare with the key's (PostgreSQL
            // needs an equality between them; the reader checks it).
            let kind = |ty: &ColumnType| {
                let b = s.base_type(ty);
                (b.base.comparison_family().map(str::to_string), b.array)
            };
            let ref_ty = s.tables[&ref_table]
                .column(ref_col.as_str())
                .map(|c| c.ty.clone())
                .unwrap();
            let (ref_family, ref_array) = kind(&ref_ty);
            let fits: Vec<Ident> = s.tables[name]
                .columns
                .iter()
                .filter(|c| {
                    let (family, array) = kind(&c.ty);
                    family.is_none()
                        || ref_family.is_none()
                        || (family == ref_family && array == ref_array)
                })
                .map(|c| c.name.clone())
                .collect();
            if fits.is_empty() {
                continue;
            }
            let col = fits[d.n(fits.len() as u32) as usize].clone();
            let act = |n: u32| FkAction::ALL[n as usize % 5];
            let fk = ForeignKey {
                columns: vec![col],
                ref_table,
                ref_columns: vec![ref_col],
                on_delete: act(d.n(5)),
                on_update: act(d.n(5)),
                match_type: if d.coin() {
                    FkMatch::Simple
                } else {
                    FkMatch::Full
                },
                deferrable: [
                    Deferrable::No,
                    Deferrable::InitiallyImmediate,
                    Deferrable::InitiallyDeferred,
                ][d.n(3) as usize],
                not_valid: NotValid(d.n(4) == 0),
                renamed_from: d.coin().then(|| d.ident()),
            };
            s.tables
                .get_mut(name)
                .unwrap()
                .foreign_keys
                .insert(fk_name, fk);
        }
    }
    // Sequences owned by some column of a table in the same schema.
    let seq_names: Vec<QualifiedName> = s.sequences.keys().cloned().collect();
    for q in seq_names {
        if s.sequences[&q].owned_by.is_some() || d.coin() {
            continue;
        }
        if let Some((tn, t)) = s.tables.iter().find(|(tn, _)| tn.schema == q.schema) {
            let owner = (tn.name.clone(), t.columns[0].name.clone());
            s.sequences.get_mut(&q).unwrap().owned_by = Some(owner);
        }
    }
    s.schemas = schemas
        .into_iter()
        .filter(|x| x.as_str() != DEFAULT_SCHEMA)
        .collect();
    let used = s.used_schemas();
    s.schemas.extend(used);
    s
}

fn read(text: &str) -> Schema {
    spec::read_str(Path::new("generated.yaml"), text)
        .unwrap_or_else(|e| panic!("written YAML did not read back:\n{e}\n--- text ---\n{text}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn model_yaml_model_is_identity(raw in raw()) {
        let model = build(&raw);
        let hints = WriteOptions { hints: true };
        let text = spec::to_yaml(&model, hints);
        let back = read(&text);
        prop_assert_eq!(&back, &model, "YAML was:\n{}", text);
        let again = spec::to_yaml(&back, hints);
        prop_assert_eq!(again, text);
    }

    #[test]
    fn dump_form_drops_only_hints(raw in raw()) {
        let model = build(&raw);
        let text = spec::to_yaml(&model, WriteOptions::default());
        prop_assert!(!text.contains("renamed_from:") && !text.contains("backfill:"));
        prop_assert_eq!(read(&text), model.without_hints());
    }
}

/// Storage parameters of a table, each in the spelling the reader keeps.
fn table_storage(d: &mut Draw<'_>) -> StorageParams {
    let mut p = std::collections::BTreeMap::new();
    if d.coin() {
        p.insert("fillfactor".to_string(), (10 + d.n(91)).to_string());
    }
    if d.coin() {
        p.insert("autovacuum_enabled".to_string(), d.coin().to_string());
    }
    if d.coin() {
        p.insert(
            "autovacuum_vacuum_scale_factor".to_string(),
            (d.n(1000) as f64 / 1000.0).to_string(),
        );
    }
    if d.coin() {
        p.insert(
            "vacuum_index_cleanup".to_string(),
            ["auto", "on", "off"][d.n(3) as usize].to_string(),
        );
    }
    StorageParams::new(p)
}

/// Storage parameters an index of `method` takes.
fn index_storage(d: &mut Draw<'_>, method: &str) -> StorageParams {
    let mut p = std::collections::BTreeMap::new();
    if d.coin() {
        match method {
            "btree" | "hash" | "gist" => {
                p.insert("fillfactor".to_string(), (10 + d.n(91)).to_string());
            }
            "gin" => {
                p.insert("fastupdate".to_string(), d.coin().to_string());
            }
            _ => {
                p.insert("pages_per_range".to_string(), (1 + d.n(256)).to_string());
            }
        }
    }
    StorageParams::new(p)
}
