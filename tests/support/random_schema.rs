//! Random pairs of small related schemas, for the property that every plan
//! bellows makes runs to the end on PostgreSQL.
//!
//! A pair is drawn from a stream of choices (bytes; a missing byte reads
//! as 0, and 0 is always the simplest choice), so proptest's shrinking of
//! the byte vector shrinks the schemas too. The current schema is drawn
//! first, then the target is the current one with a few changes of every
//! kind bellows plans (columns, types, nullability, defaults, keys,
//! indexes, checks, foreign keys, tables, enums, sequences, schemas), and
//! repaired so that it is valid.
//!
//! The data is part of the design: every table gets rows 1..=3, and in row
//! i every column holds i (as its type spells it; an enum column holds
//! 'a'). So a unique key over such columns holds, a foreign key between
//! them finds its rows, and a type change keeps the values. A column whose
//! values do not follow the rule (a constant default, NULLs) is tracked,
//! and no key or NOT NULL that the data would break is drawn on it: what
//! is left to fail is the plan, not the data.

use std::fmt::Write as _;

/// Reads choices from the byte stream.
pub struct Choices<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Choices<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Choices { bytes, at: 0 }
    }

    /// A number in `0..n` (0 when the stream is exhausted).
    pub fn below(&mut self, n: usize) -> usize {
        let b = self.bytes.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        usize::from(b) % n.max(1)
    }

    /// True with about `percent` per cent (false when exhausted).
    pub fn chance(&mut self, percent: usize) -> bool {
        let b = self.bytes.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        // 0 reads as "no": the simplest choice.
        b != 0 && (usize::from(b) * 100 / 256) < percent
    }

    fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[self.below(from.len())]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Int,
    Big,
    Text,
    Varchar,
    Num,
    Num12,
    E1,
    E2,
}

impl Ty {
    const ALL: [Ty; 7] = [
        Ty::Big,
        Ty::Int,
        Ty::Text,
        Ty::Varchar,
        Ty::Num,
        Ty::Num12,
        Ty::E1,
    ];

    fn yaml(self) -> &'static str {
        match self {
            Ty::Int => "integer",
            Ty::Big => "bigint",
            Ty::Text => "text",
            Ty::Varchar => "varchar(20)",
            Ty::Num => "\"numeric(10,2)\"",
            Ty::Num12 => "\"numeric(12,2)\"",
            Ty::E1 => "e1",
            Ty::E2 => "e2",
        }
    }

    fn sql(self) -> &'static str {
        match self {
            Ty::Int => "integer",
            Ty::Big => "bigint",
            Ty::Text => "text",
            Ty::Varchar => "varchar(20)",
            Ty::Num => "numeric(10,2)",
            Ty::Num12 => "numeric(12,2)",
            Ty::E1 => "e1",
            Ty::E2 => "e2",
        }
    }

    fn is_enum(self) -> bool {
        matches!(self, Ty::E1 | Ty::E2)
    }

    /// Row i's value.
    fn value(self, i: usize) -> String {
        match self {
            Ty::Int | Ty::Big | Ty::Num | Ty::Num12 => i.to_string(),
            Ty::Text | Ty::Varchar => format!("'{i}'"),
            Ty::E1 | Ty::E2 => "'a'".to_string(),
        }
    }

    /// A constant default.
    fn constant(self) -> &'static str {
        match self {
            Ty::Int | Ty::Big | Ty::Num | Ty::Num12 => "0",
            Ty::Text | Ty::Varchar => "\"'x'\"",
            Ty::E1 | Ty::E2 => "\"'b'\"",
        }
    }

    /// Type changes whose cast keeps every value this generator writes.
    fn retypes(self) -> &'static [Ty] {
        match self {
            Ty::Int => &[Ty::Big, Ty::Text, Ty::Num],
            Ty::Big => &[Ty::Int, Ty::Text, Ty::Num12],
            Ty::Text => &[Ty::Varchar, Ty::Int, Ty::Big],
            Ty::Varchar => &[Ty::Text, Ty::Int],
            Ty::Num => &[Ty::Num12, Ty::Big],
            Ty::Num12 => &[Ty::Num, Ty::Int],
            Ty::E1 => &[Ty::E2, Ty::Text],
            Ty::E2 => &[Ty::Text],
        }
    }
}

/// What a column's existing rows hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vals {
    /// Row i holds i: distinct, and present in every other such column.
    Seq,
    /// The same value in every row.
    Const,
    /// NULL in every row.
    Null,
}

#[derive(Debug, Clone)]
pub struct Col {
    pub name: String,
    pub ty: Ty,
    pub nullable: bool,
    pub default: Option<String>,
    pub vals: Vals,
    pub renamed_from: Option<String>,
    pub backfill: Option<String>,
    /// New in the target.
    pub fresh: bool,
}

#[derive(Debug, Clone)]
pub struct Fk {
    pub name: String,
    pub cols: Vec<String>,
    pub table: String,
    pub ref_cols: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Tab {
    pub name: String,
    pub renamed_from: Option<String>,
    pub cols: Vec<Col>,
    /// (name, columns)
    pub pk: Option<(String, Vec<String>)>,
    pub uniques: Vec<(String, Vec<String>)>,
    /// (name, columns, unique)
    pub indexes: Vec<(String, Vec<String>, bool)>,
    /// (name, column)
    pub checks: Vec<(String, String)>,
    pub fks: Vec<Fk>,
    /// New in the target: it has no rows.
    pub fresh: bool,
    /// Whether the current table has rows (some are empty).
    pub rows: bool,
}

impl Tab {
    fn col(&self, n: &str) -> Option<&Col> {
        self.cols.iter().find(|c| c.name == n)
    }

    /// Whether a unique key over exactly `cols` (as a set) exists.
    fn has_key(&self, cols: &[String]) -> bool {
        let same = |k: &[String]| k.len() == cols.len() && k.iter().all(|c| cols.contains(c));
        self.pk.as_ref().is_some_and(|p| same(&p.1))
            || self.uniques.iter().any(|u| same(&u.1))
            || self.indexes.iter().any(|i| i.2 && same(&i.1))
    }
}

#[derive(Debug, Clone, Default)]
pub struct Db {
    /// Labels of enum e1 (e2 is always a, b, c).
    pub e1: Vec<String>,
    pub seq: bool,
    pub tables: Vec<Tab>,
    /// Names already given out, so that every new name is fresh.
    counter: usize,
}

impl Db {
    fn fresh(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}{}", self.counter)
    }

    fn table(&self, n: &str) -> Option<&Tab> {
        self.tables.iter().find(|t| t.name == n)
    }

    /// The schema as a bellows YAML file.
    pub fn yaml(&self) -> String {
        let mut y = String::new();
        let _ = writeln!(y, "enums:\n  e1: [{}]\n  e2: [a, b, c]", self.e1.join(", "));
        if self.seq {
            let _ = writeln!(y, "sequences:\n  s1: {{}}");
        }
        let _ = writeln!(y, "tables:");
        for t in &self.tables {
            let _ = writeln!(y, "  {}:", t.name);
            if let Some(r) = &t.renamed_from {
                let _ = writeln!(y, "    renamed_from: {r}");
            }
            let _ = writeln!(y, "    columns:");
            for c in &t.cols {
                let mut attrs = vec![format!("type: {}", c.ty.yaml())];
                if !c.nullable {
                    attrs.push("nullable: false".into());
                }
                if let Some(d) = &c.default {
                    attrs.push(format!("default: {d}"));
                }
                if let Some(r) = &c.renamed_from {
                    attrs.push(format!("renamed_from: {r}"));
                }
                if let Some(b) = &c.backfill {
                    attrs.push(format!("backfill: \"{b}\""));
                }
                let _ = writeln!(y, "      {}: {{ {} }}", c.name, attrs.join(", "));
            }
            if let Some((n, cols)) = &t.pk {
                let _ = writeln!(
                    y,
                    "    primary_key: {{ name: {n}, columns: [{}] }}",
                    cols.join(", ")
                );
            }
            if !t.uniques.is_empty() {
                let _ = writeln!(y, "    unique:");
                for (n, cols) in &t.uniques {
                    let _ = writeln!(y, "      {n}: [{}]", cols.join(", "));
                }
            }
            if !t.indexes.is_empty() {
                let _ = writeln!(y, "    indexes:");
                for (n, cols, unique) in &t.indexes {
                    let _ = writeln!(
                        y,
                        "      {n}: {{ columns: [{}], unique: {unique} }}",
                        cols.join(", ")
                    );
                }
            }
            if !t.checks.is_empty() {
                let _ = writeln!(y, "    checks:");
                for (n, c) in &t.checks {
                    let _ = writeln!(y, "      {n}: \"{c} IS NULL OR length({c}::text) < 50\"");
                }
            }
            if !t.fks.is_empty() {
                let _ = writeln!(y, "    foreign_keys:");
                for f in &t.fks {
                    let _ = writeln!(
                        y,
                        "      {}: {{ columns: [{}], references: {{ table: {}, columns: [{}] }} }}",
                        f.name,
                        f.cols.join(", "),
                        f.table,
                        f.ref_cols.join(", ")
                    );
                }
            }
        }
        y
    }

    /// INSERTs that give each table rows 1..=3 as the module comment says
    /// (tables in order, so that foreign keys find their rows: every
    /// referenced value is 1..=3 in every table).
    pub fn rows(&self) -> Vec<String> {
        let mut out = Vec::new();
        for t in self.tables.iter().filter(|t| t.rows) {
            for i in 1..=3 {
                let names: Vec<&str> = t.cols.iter().map(|c| c.name.as_str()).collect();
                let values: Vec<String> = t
                    .cols
                    .iter()
                    .map(|c| match c.vals {
                        Vals::Seq => c.ty.value(i),
                        Vals::Const => c
                            .default
                            .clone()
                            .map(|d| d.trim_matches('"').to_string())
                            .unwrap_or_else(|| c.ty.value(1)),
                        Vals::Null => "NULL".to_string(),
                    })
                    .collect();
                out.push(format!(
                    "INSERT INTO {} ({}) VALUES ({})",
                    t.name,
                    names.join(", "),
                    values.join(", ")
                ));
            }
        }
        out
    }
}

impl Db {
    /// For the target of a pair: one query per column that must still hold
    /// row i's value i after the plan ran (a kept, renamed, retyped or
    /// backfilled column of a table that had rows), answering whether it
    /// does. A plan that loses or overwrites values fails it even when the
    /// structure is right.
    pub fn value_checks(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for t in self.tables.iter().filter(|t| t.rows && !t.fresh) {
            for c in t.cols.iter().filter(|c| c.vals == Vals::Seq) {
                let want: Vec<String> = (1..=3).map(|i| c.ty.value(i)).collect();
                let distinct = if c.ty.is_enum() { 1 } else { 3 };
                out.push((
                    format!("{}.{}", t.name, c.name),
                    format!(
                        "SELECT count(*) FILTER (WHERE {c} IN ({want})) = 3 AND count(DISTINCT {c}) = {distinct} FROM {t}",
                        c = c.name,
                        want = want.join(", "),
                        t = t.name
                    ),
                ));
            }
        }
        out
    }
}

/// A current schema and a target drawn from `bytes`.
pub fn pair(bytes: &[u8]) -> (Db, Db) {
    let mut ch = Choices::new(bytes);
    let from = current(&mut ch);
    let mut to = from.clone();
    for t in &mut to.tables {
        t.renamed_from = None;
        for c in &mut t.cols {
            c.renamed_from = None;
            c.backfill = None;
        }
    }
    let changes = 1 + ch.below(6);
    for _ in 0..changes {
        change(&mut ch, &mut to);
    }
    repair(&mut to);
    (from, to)
}

fn new_col(ch: &mut Choices, db: &mut Db) -> Col {
    let ty = ch.pick(&Ty::ALL);
    let name = db.fresh("c");
    Col {
        name,
        ty,
        nullable: !ch.chance(30),
        default: None,
        vals: if ty.is_enum() { Vals::Const } else { Vals::Seq },
        renamed_from: None,
        backfill: None,
        fresh: true,
    }
}

fn new_table(ch: &mut Choices, db: &mut Db) -> Tab {
    let name = db.fresh("t");
    let mut t = Tab {
        name: name.clone(),
        renamed_from: None,
        cols: Vec::new(),
        pk: None,
        uniques: Vec::new(),
        indexes: Vec::new(),
        checks: Vec::new(),
        fks: Vec::new(),
        fresh: true,
        rows: false,
    };
    // Most tables have an `id` primary key; some have none.
    if !ch.chance(15) {
        t.cols.push(Col {
            name: "id".into(),
            ty: Ty::Big,
            nullable: false,
            default: None,
            vals: Vals::Seq,
            renamed_from: None,
            backfill: None,
            fresh: true,
        });
        t.pk = Some((format!("{name}_pkey"), vec!["id".into()]));
    }
    for _ in 0..1 + ch.below(3) {
        let c = new_col(ch, db);
        t.cols.push(c);
    }
    if db.seq
        && ch.chance(30)
        && let Some(c) = t
            .cols
            .iter_mut()
            .find(|c| c.ty == Ty::Big && c.name != "id")
    {
        c.default = Some("\"nextval('s1')\"".into());
    }
    t
}

fn current(ch: &mut Choices) -> Db {
    let mut db = Db {
        e1: vec!["a".into(), "b".into()],
        seq: ch.chance(30),
        ..Db::default()
    };
    for _ in 0..1 + ch.below(3) {
        let mut t = new_table(ch, &mut db);
        t.fresh = false;
        t.rows = !ch.chance(15);
        t.cols.iter_mut().for_each(|c| c.fresh = false);
        db.tables.push(t);
    }
    // A few keys, indexes, checks and foreign keys.
    for _ in 0..ch.below(4) {
        add_part(ch, &mut db);
    }
    repair(&mut db);
    db
}

/// Adds an index, a unique constraint, a check or a foreign key.
fn add_part(ch: &mut Choices, db: &mut Db) {
    let ti = ch.below(db.tables.len());
    let kind = ch.below(5);
    let name = db.fresh("k");
    let t = &db.tables[ti];
    if t.cols.is_empty() {
        return;
    }
    let c = t.cols[ch.below(t.cols.len())].clone();
    match kind {
        0 | 1 => {
            let unique = kind == 1 && c.vals != Vals::Const;
            db.tables[ti].indexes.push((name, vec![c.name], unique));
        }
        2 => {
            if c.vals != Vals::Const {
                db.tables[ti].uniques.push((name, vec![c.name]));
            }
        }
        3 => db.tables[ti].checks.push((name, c.name)),
        _ => {
            // To another table's key of the same type.
            let pi = ch.below(db.tables.len());
            let parent = &db.tables[pi];
            let key: Option<Vec<String>> = parent
                .pk
                .iter()
                .map(|p| p.1.clone())
                .chain(parent.uniques.iter().map(|u| u.1.clone()))
                .chain(parent.indexes.iter().filter(|i| i.2).map(|i| i.1.clone()))
                .find(|k| k.len() == 1);
            if let Some(k) = key
                && let Some(pc) = parent.col(&k[0])
                && pc.ty == c.ty
                && c.vals != Vals::Const
                && pc.vals == Vals::Seq
            {
                let fk = Fk {
                    name,
                    cols: vec![c.name],
                    table: parent.name.clone(),
                    ref_cols: k,
                };
                db.tables[ti].fks.push(fk);
            }
        }
    }
}

/// One change of the target.
fn change(ch: &mut Choices, db: &mut Db) {
    if db.tables.is_empty() {
        let t = new_table(ch, db);
        db.tables.push(t);
        return;
    }
    let ti = ch.below(db.tables.len());
    if db.tables[ti].cols.is_empty() {
        let c = new_col(ch, db);
        let t = &mut db.tables[ti];
        t.cols.push(Col {
            nullable: true,
            vals: Vals::Null,
            ..c
        });
        return;
    }
    match ch.below(16) {
        0 => {
            // Add a column: filled by a backfill from id, a constant
            // default, or left NULL; NOT NULL only when filled.
            let mut c = new_col(ch, db);
            let has_id = db.tables[ti].col("id").is_some();
            match ch.below(3) {
                0 if has_id && !c.ty.is_enum() => {
                    c.backfill = Some(format!("id::{}", c.ty.sql()));
                    c.vals = Vals::Seq;
                }
                1 => {
                    c.default = Some(c.ty.constant().to_string());
                    c.vals = Vals::Const;
                }
                _ => {
                    c.vals = if c.ty.is_enum() && !c.nullable {
                        Vals::Const
                    } else {
                        Vals::Null
                    };
                    if c.vals == Vals::Const {
                        c.default = Some(c.ty.constant().to_string());
                    }
                }
            }
            if c.vals == Vals::Null {
                c.nullable = true;
            }
            // Now and then NOT NULL with nothing to fill existing rows:
            // planned in one step on an empty table, refused on one with
            // rows.
            if ch.chance(10) {
                c.nullable = false;
                c.default = None;
                c.backfill = None;
                c.vals = Vals::Seq;
            }
            db.tables[ti].cols.push(c);
        }
        1 => {
            // Drop a column (not id).
            let t = &mut db.tables[ti];
            let cands: Vec<usize> = (0..t.cols.len())
                .filter(|&i| t.cols[i].name != "id")
                .collect();
            if !cands.is_empty() {
                let i = cands[ch.below(cands.len())];
                t.cols.remove(i);
            }
        }
        2 => {
            // Rename a column.
            let new = db.fresh("r");
            let t = &mut db.tables[ti];
            let i = ch.below(t.cols.len());
            if t.cols[i].name != "id" {
                let c = &mut t.cols[i];
                let old = std::mem::replace(&mut c.name, new.clone());
                // A second rename still names the column's original name.
                if !c.fresh && c.renamed_from.is_none() {
                    c.renamed_from = Some(old.clone());
                }
                rename_refs(db, ti, &old, &new);
            }
        }
        3 | 4 => {
            // Change a column's type.
            let t = &mut db.tables[ti];
            let i = ch.below(t.cols.len());
            let c = &mut t.cols[i];
            let to = ch.pick(c.ty.retypes());
            // A constant text value need not read as a number.
            let castable = c.vals != Vals::Const
                || !matches!(c.ty, Ty::Text | Ty::Varchar)
                || matches!(to, Ty::Text | Ty::Varchar);
            if c.name != "id" && castable {
                c.ty = to;
                if c.default.as_deref().is_some_and(|d| d.contains("nextval")) {
                    c.default = None;
                } else if c.default.is_some() {
                    c.default = Some(to.constant().to_string());
                }
                if c.backfill.is_some() {
                    c.backfill = Some(format!("id::{}", to.sql()));
                }
            }
        }
        5 => {
            // Nullability.
            let t = &mut db.tables[ti];
            let i = ch.below(t.cols.len());
            let c = &mut t.cols[i];
            c.nullable = !(c.nullable && c.vals != Vals::Null);
        }
        6 => {
            // Defaults.
            let t = &mut db.tables[ti];
            let i = ch.below(t.cols.len());
            let c = &mut t.cols[i];
            c.default = match (&c.default, ch.below(3)) {
                (Some(_), 0) => None,
                (_, 1) if c.ty == Ty::Big && db.seq => Some("\"nextval('s1')\"".into()),
                _ => Some(c.ty.constant().to_string()),
            };
            // A column new in the target and not backfilled gets its
            // default in every existing row, or NULL without one.
            if c.fresh && c.backfill.is_none() {
                // (A sequence's values are distinct, but not the ones
                // other columns hold: no key is drawn on them either.)
                c.vals = match &c.default {
                    None => Vals::Null,
                    Some(_) => Vals::Const,
                };
                if c.vals == Vals::Null {
                    c.nullable = true;
                }
            }
        }
        7 => add_part(ch, db),
        8 => {
            // Drop, rename or retarget an index, unique constraint, check
            // or foreign key.
            let new = db.fresh("k");
            let t = &mut db.tables[ti];
            match ch.below(6) {
                0 if !t.indexes.is_empty() => {
                    let i = ch.below(t.indexes.len());
                    t.indexes.remove(i);
                }
                1 if !t.indexes.is_empty() => {
                    // Promote a unique index to a unique constraint,
                    // under its own name or a new one.
                    let i = ch.below(t.indexes.len());
                    if t.indexes[i].2 {
                        let (n, cols, _) = t.indexes.remove(i);
                        let name = if ch.chance(50) { n } else { new };
                        t.uniques.push((name, cols));
                    } else {
                        t.indexes[i].2 = t.indexes[i]
                            .1
                            .iter()
                            .all(|c| t.cols.iter().any(|x| &x.name == c && x.vals != Vals::Const));
                    }
                }
                2 if !t.uniques.is_empty() => {
                    let i = ch.below(t.uniques.len());
                    if ch.chance(50) {
                        t.uniques.remove(i);
                    } else {
                        t.uniques[i].0 = new;
                    }
                }
                3 if !t.checks.is_empty() => {
                    let i = ch.below(t.checks.len());
                    t.checks.remove(i);
                }
                4 if !t.fks.is_empty() => {
                    let i = ch.below(t.fks.len());
                    t.fks.remove(i);
                }
                _ if !t.indexes.is_empty() => {
                    // A changed definition: another column.
                    let i = ch.below(t.indexes.len());
                    let c = t.cols[ch.below(t.cols.len())].name.clone();
                    t.indexes[i].1 = vec![c];
                }
                _ => {}
            }
        }
        9 => {
            // Primary key: drop it, rename it, add one, or move it.
            let new = db.fresh("pk");
            let t = &mut db.tables[ti];
            match (&t.pk, ch.below(3)) {
                (Some(_), 0) => t.pk = None,
                (Some(p), 1) => t.pk = Some((new, p.1.clone())),
                _ => {
                    let cands: Vec<String> = t
                        .cols
                        .iter()
                        .filter(|c| c.vals == Vals::Seq)
                        .map(|c| c.name.clone())
                        .collect();
                    if !cands.is_empty() {
                        let c = cands[ch.below(cands.len())].clone();
                        let name =
                            t.pk.as_ref()
                                .map(|p| p.0.clone())
                                .filter(|_| ch.chance(50))
                                .unwrap_or(new);
                        t.pk = Some((name, vec![c]));
                    }
                }
            }
        }
        10 => {
            let t = new_table(ch, db);
            db.tables.push(t);
        }
        11 => {
            let name = db.tables[ti].name.clone();
            db.tables.remove(ti);
            for t in &mut db.tables {
                t.fks.retain(|f| f.table != name);
            }
        }
        12 => {
            // Rename a table.
            let new = db.fresh("t");
            let t = &mut db.tables[ti];
            let old = std::mem::replace(&mut t.name, new.clone());
            if !t.fresh && t.renamed_from.is_none() {
                t.renamed_from = Some(old.clone());
            }
            for t in &mut db.tables {
                for f in &mut t.fks {
                    if f.table == old {
                        f.table = new.clone();
                    }
                }
            }
        }
        13 => {
            // A new enum value, at the end or in the middle.
            let v = format!("v{}", db.counter);
            db.counter += 1;
            let at = ch.below(db.e1.len() + 1);
            db.e1.insert(at, v);
        }
        14 => {
            db.seq = !db.seq;
        }
        _ => {
            for _ in 0..2 {
                add_part(ch, db);
            }
        }
    }
}

/// References to column `old` of table `ti` follow its rename.
fn rename_refs(db: &mut Db, ti: usize, old: &str, new: &str) {
    let tname = db.tables[ti].name.clone();
    let fix = |cols: &mut Vec<String>| {
        for c in cols.iter_mut() {
            if c == old {
                *c = new.to_string();
            }
        }
    };
    {
        let t = &mut db.tables[ti];
        if let Some(p) = &mut t.pk {
            fix(&mut p.1);
        }
        t.uniques.iter_mut().for_each(|u| fix(&mut u.1));
        t.indexes.iter_mut().for_each(|i| fix(&mut i.1));
        for c in &mut t.checks {
            if c.1 == old {
                c.1 = new.to_string();
            }
        }
        t.fks.iter_mut().for_each(|f| fix(&mut f.cols));
    }
    for t in &mut db.tables {
        for f in &mut t.fks {
            if f.table == tname {
                fix(&mut f.ref_cols);
            }
        }
    }
}

/// Makes a schema valid and its data sound: parts over missing columns
/// go; keys stay only over columns whose rows they hold for; a primary
/// key's columns are NOT NULL; foreign keys need a unique key of the same
/// types on the other side; no sequence default without the sequence;
/// names are unique per table (and index names per schema).
fn repair(db: &mut Db) {
    let seq = db.seq;
    for t in &mut db.tables {
        if !seq {
            for c in &mut t.cols {
                if c.default.as_deref().is_some_and(|d| d.contains("nextval")) {
                    c.default = None;
                }
            }
        }
        let cols: Vec<(String, Vals)> = t.cols.iter().map(|c| (c.name.clone(), c.vals)).collect();
        let ok = |names: &[String], key: bool| {
            !names.is_empty()
                && names.iter().all(|n| {
                    cols.iter()
                        .any(|(c, v)| c == n && (!key || *v != Vals::Const))
                })
        };
        if t.pk.as_ref().is_some_and(|p| {
            !ok(&p.1, true)
                || p.1
                    .iter()
                    .any(|n| cols.iter().any(|(c, v)| c == n && *v != Vals::Seq))
        }) {
            t.pk = None;
        }
        if let Some((_, pcols)) = &t.pk {
            for c in &mut t.cols {
                if pcols.contains(&c.name) {
                    c.nullable = false;
                }
            }
        }
        t.uniques.retain(|u| ok(&u.1, true));
        t.indexes.retain(|i| ok(&i.1, false));
        for i in &mut t.indexes {
            if i.2 && !ok(&i.1, true) {
                i.2 = false;
            }
        }
        t.checks.retain(|c| ok(std::slice::from_ref(&c.1), false));
        t.fks.retain(|f| ok(&f.cols, true));
        // One name per object.
        let mut seen = std::collections::BTreeSet::new();
        if let Some(p) = &t.pk {
            seen.insert(p.0.clone());
        }
        t.uniques.retain(|u| seen.insert(u.0.clone()));
        t.indexes.retain(|i| seen.insert(i.0.clone()));
        t.checks.retain(|c| seen.insert(c.0.clone()));
        t.fks.retain(|f| seen.insert(f.name.clone()));
        for c in &mut t.cols {
            if c.vals == Vals::Null {
                c.nullable = true;
            }
        }
    }
    // Foreign keys: the referenced table and a unique key over the
    // columns, the same types, values the child's rows find.
    let snapshot = db.clone();
    for t in &mut db.tables {
        let own: Vec<Col> = t.cols.clone();
        let has_rows = !t.fresh && t.rows;
        t.fks.retain(|f| {
            let Some(p) = snapshot.table(&f.table) else {
                return false;
            };
            // Rows that reference an empty table would break it.
            let empty_parent = (p.fresh || !p.rows) && has_rows;
            !empty_parent
                && f.cols.len() == f.ref_cols.len()
                && p.has_key(&f.ref_cols)
                && f.cols.iter().zip(&f.ref_cols).all(|(c, r)| {
                    match (own.iter().find(|x| &x.name == c), p.col(r)) {
                        (Some(c), Some(r)) => {
                            c.ty == r.ty && r.vals == Vals::Seq && c.vals != Vals::Const
                        }
                        _ => false,
                    }
                })
        });
    }
    // Index names are unique per schema.
    let mut seen = std::collections::BTreeSet::new();
    for t in &mut db.tables {
        t.indexes.retain(|i| seen.insert(i.0.clone()));
        t.uniques.retain(|u| seen.insert(u.0.clone()));
        if let Some(p) = &t.pk
            && !seen.insert(p.0.clone())
        {
            t.pk = None;
        }
    }
}
