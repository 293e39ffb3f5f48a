//! What SQLite keeps only in a table's `CREATE TABLE` text: constraint
//! names, CHECK expressions, generated columns, collations,
//! AUTOINCREMENT, STRICT. The `pragma_*` functions give the rest; this
//! reads the text as SQLite's grammar writes it, token by token, and keeps
//! each expression as it was written (SQLite stores and compares it so).

/// A token: its kind and where it is in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Word,
    Quoted,
    Str,
    Num,
    Open,
    Close,
    Comma,
    Other,
}

#[derive(Debug, Clone, Copy)]
struct Token {
    kind: Tok,
    start: usize,
    end: usize,
}

fn tokenize(sql: &str) -> Vec<Token> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let kind = match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i = (i + 2).min(b.len());
                continue;
            }
            b'\'' | b'"' | b'`' | b'[' => {
                let close = if c == b'[' { b']' } else { c };
                i += 1;
                while i < b.len() {
                    if b[i] == close {
                        if close != b']' && b.get(i + 1) == Some(&close) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i = (i + 1).min(b.len());
                if c == b'\'' { Tok::Str } else { Tok::Quoted }
            }
            b'(' => {
                i += 1;
                Tok::Open
            }
            b')' => {
                i += 1;
                Tok::Close
            }
            b',' => {
                i += 1;
                Tok::Comma
            }
            b'0'..=b'9' | b'.' => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                    i += 1;
                }
                Tok::Num
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                while i < b.len()
                    && (b[i].is_ascii_alphanumeric()
                        || b[i] == b'_'
                        || b[i] == b'$'
                        || b[i] >= 0x80)
                {
                    i += 1;
                }
                Tok::Word
            }
            _ => {
                i += 1;
                Tok::Other
            }
        };
        out.push(Token {
            kind,
            start,
            end: i,
        });
    }
    out
}

/// A name as SQLite reads it: quotes taken off, a bare word as written.
pub(crate) fn unquote(text: &str) -> String {
    let b = text.as_bytes();
    match b.first() {
        Some(b'"') | Some(b'`') => {
            let q = b[0] as char;
            let inner = &text[1..text.len().saturating_sub(1)];
            inner.replace(&format!("{q}{q}"), &q.to_string())
        }
        Some(b'[') => text[1..text.len().saturating_sub(1)].to_string(),
        _ => text.to_string(),
    }
}

/// A CHECK of the table, or of one column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CheckDef {
    pub name: Option<String>,
    pub expression: String,
}

/// A named PRIMARY KEY, UNIQUE or FOREIGN KEY, by its columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NamedKey {
    pub kind: KeyKind,
    pub name: String,
    pub columns: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    Primary,
    Unique,
    Foreign,
}

/// What the text says that the pragmas do not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CreateTable {
    pub checks: Vec<CheckDef>,
    pub named: Vec<NamedKey>,
    /// Column → (expression, stored).
    pub generated: Vec<(String, String, bool)>,
    /// Column → collation.
    pub collations: Vec<(String, String)>,
    pub autoincrement: bool,
    pub strict: bool,
    pub without_rowid: bool,
}

const COLUMN_CONSTRAINT_WORDS: [&str; 11] = [
    "constraint",
    "primary",
    "not",
    "null",
    "unique",
    "check",
    "default",
    "collate",
    "references",
    "generated",
    "as",
];

/// The text inside one pair of parentheses that encloses all of `text`
/// (`(a + (b))`, not `(a) + (b)`), strings and quoted names read as
/// SQLite reads them.
pub(crate) fn inside_parentheses(text: &str) -> Option<&str> {
    let toks = tokenize(text);
    let (first, last) = (toks.first()?, toks.last()?);
    if first.kind != Tok::Open || last.kind != Tok::Close {
        return None;
    }
    let mut depth = 0usize;
    for (i, t) in toks.iter().enumerate() {
        match t.kind {
            Tok::Open => depth += 1,
            Tok::Close => {
                depth = depth.checked_sub(1)?;
                if depth == 0 && i + 1 < toks.len() {
                    return None;
                }
            }
            _ => {}
        }
    }
    (depth == 0).then(|| &text[first.end..last.start])
}

/// The first name of each comma-separated part of a column list.
fn names_in(inner: &str) -> Vec<String> {
    let toks = tokenize(inner);
    let mut names = Vec::new();
    let mut first = true;
    for t in &toks {
        if t.kind == Tok::Comma {
            first = true;
        } else if first {
            names.push(unquote(&inner[t.start..t.end]));
            first = false;
        }
    }
    names
}

/// `CREATE VIEW name [(columns)] AS query`: the columns it names and its
/// query as written.
pub(crate) fn read_view(sql: &str) -> Option<(Vec<String>, String)> {
    let toks = tokenize(sql);
    let mut depth = 0usize;
    let mut columns = Vec::new();
    for t in &toks {
        match t.kind {
            Tok::Open => {
                if depth == 0 {
                    let close = toks
                        .iter()
                        .skip_while(|x| x.start <= t.start)
                        .scan(1usize, |d, x| {
                            match x.kind {
                                Tok::Open => *d += 1,
                                Tok::Close => *d -= 1,
                                _ => {}
                            }
                            Some((*d, x.start))
                        })
                        .find(|(d, _)| *d == 0)
                        .map(|(_, at)| at)?;
                    columns = names_in(&sql[t.end..close]);
                }
                depth += 1;
            }
            Tok::Close => depth = depth.saturating_sub(1),
            Tok::Word if depth == 0 && sql[t.start..t.end].eq_ignore_ascii_case("as") => {
                return Some((columns, sql[t.end..].trim().to_string()));
            }
            _ => {}
        }
    }
    None
}

/// Reads `CREATE TABLE …` text; `None` when it is not that shape.
pub(crate) fn read(sql: &str) -> Option<CreateTable> {
    let toks = tokenize(sql);
    let text = |i: usize| &sql[toks[i].start..toks[i].end];
    let word = |i: usize, w: &str| {
        toks.get(i)
            .is_some_and(|t| t.kind == Tok::Word && sql[t.start..t.end].eq_ignore_ascii_case(w))
    };
    let open = toks.iter().position(|t| t.kind == Tok::Open)?;
    // The parenthesized group that opens at `i`: its inner text and the
    // index of its closing token.
    let group = |i: usize| -> Option<(String, usize)> {
        let mut d = 0usize;
        for (j, t) in toks.iter().enumerate().skip(i) {
            match t.kind {
                Tok::Open => d += 1,
                Tok::Close => {
                    d -= 1;
                    if d == 0 {
                        return Some((sql[toks[i].end..t.start].trim().to_string(), j));
                    }
                }
                _ => {}
            }
        }
        None
    };
    let (_, close) = group(open)?;
    // The items between the outer parentheses, split at commas of depth 0,
    // as ranges of token indices.
    let mut items: Vec<(usize, usize)> = Vec::new();
    let mut from = open + 1;
    let mut i = open + 1;
    while i < close {
        match toks[i].kind {
            Tok::Open => i = group(i)?.1,
            Tok::Comma => {
                items.push((from, i));
                from = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    items.push((from, close));
    let mut out = CreateTable::default();
    for i in close + 1..toks.len() {
        out.strict |= word(i, "strict");
        out.without_rowid |= word(i, "rowid") && word(i - 1, "without");
    }
    let next_open = |from: usize, to: usize| (from..to).find(|&j| toks[j].kind == Tok::Open);
    for (first, last) in items {
        if first >= last {
            continue;
        }
        let is_table_constraint = ["constraint", "primary", "unique", "check", "foreign"]
            .iter()
            .any(|w| word(first, w));
        let column = (!is_table_constraint).then(|| unquote(text(first)));
        let mut pending_name: Option<String> = None;
        let mut k = first;
        if column.is_some() {
            // The column's type: words, and a parenthesized size.
            k += 1;
            while k < last && !COLUMN_CONSTRAINT_WORDS.iter().any(|w| word(k, w)) {
                if toks[k].kind == Tok::Open {
                    k = group(k)?.1;
                }
                k += 1;
            }
        }
        while k < last {
            if word(k, "constraint") {
                pending_name = (k + 1 < last).then(|| unquote(text(k + 1)));
                k += 2;
                continue;
            }
            if word(k, "check") {
                let (inner, end) = group(next_open(k, last)?)?;
                out.checks.push(CheckDef {
                    name: pending_name.take(),
                    expression: inner,
                });
                k = end + 1;
                continue;
            }
            let key = if word(k, "primary") {
                Some(KeyKind::Primary)
            } else if word(k, "unique") {
                Some(KeyKind::Unique)
            } else if word(k, "foreign") || word(k, "references") {
                Some(KeyKind::Foreign)
            } else {
                None
            };
            if let Some(kind) = key {
                let columns = match &column {
                    Some(c) => vec![c.clone()],
                    None => {
                        let (inner, end) = group(next_open(k, last)?)?;
                        k = end;
                        names_in(&inner)
                    }
                };
                if let Some(name) = pending_name.take() {
                    out.named.push(NamedKey {
                        kind,
                        name,
                        columns,
                    });
                }
                k += 1;
                continue;
            }
            out.autoincrement |= word(k, "autoincrement");
            if word(k, "collate") {
                if let (Some(c), true) = (&column, k + 1 < last) {
                    out.collations.push((c.clone(), unquote(text(k + 1))));
                }
                k += 2;
                continue;
            }
            if word(k, "as") {
                let (inner, end) = group(next_open(k, last)?)?;
                let stored = word(end + 1, "stored");
                if let Some(c) = &column {
                    out.generated.push((c.clone(), inner, stored));
                }
                k = end + 1;
                continue;
            }
            if toks[k].kind == Tok::Open {
                // A default's or a reference's parenthesized part.
                k = group(k)?.1;
            }
            k += 1;
        }
    }
    Some(out)
}

/// The text of a CREATE INDEX's WHERE clause and its keys, as written.
pub(crate) fn index_parts(sql: &str) -> Option<(Vec<String>, Option<String>)> {
    let toks = tokenize(sql);
    let word =
        |t: &Token, w: &str| t.kind == Tok::Word && sql[t.start..t.end].eq_ignore_ascii_case(w);
    let open = toks.iter().position(|t| t.kind == Tok::Open)?;
    let mut depth = 0usize;
    let mut keys = Vec::new();
    let mut from = toks[open].end;
    let mut close = None;
    for (i, t) in toks.iter().enumerate().skip(open + 1) {
        match t.kind {
            Tok::Open => depth += 1,
            Tok::Close if depth == 0 => {
                keys.push(sql[from..t.start].trim().to_string());
                close = Some(i);
                break;
            }
            Tok::Close => depth -= 1,
            Tok::Comma if depth == 0 => {
                keys.push(sql[from..t.start].trim().to_string());
                from = t.end;
            }
            _ => {}
        }
    }
    let close = close?;
    let predicate = toks[close + 1..]
        .iter()
        .position(|t| word(t, "where"))
        .map(|p| {
            sql[toks[close + 1 + p].end..]
                .trim()
                .trim_end_matches(';')
                .trim()
                .to_string()
        });
    Some((keys, predicate))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_pragmas_leave_out() {
        let t = read(
            r#"CREATE TABLE "order items" (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                -- a comment (with a parenthesis
                sku varchar(32) NOT NULL COLLATE NOCASE CONSTRAINT sku_len CHECK (length(sku) > 2),
                price numeric(10, 2) DEFAULT (0.0) CHECK (price >= 0),
                total REAL GENERATED ALWAYS AS (price * 2) STORED,
                "owner, id" integer CONSTRAINT owner_fk REFERENCES users(id) ON DELETE CASCADE,
                CONSTRAINT "items key" UNIQUE (sku, price),
                CHECK (price < 1e9),
                CONSTRAINT pair_fk FOREIGN KEY ("owner, id", sku) REFERENCES pairs (a, b)
            ) STRICT, WITHOUT ROWID"#,
        )
        .expect("reads");
        assert_eq!(
            t.checks,
            vec![
                CheckDef {
                    name: Some("sku_len".into()),
                    expression: "length(sku) > 2".into()
                },
                CheckDef {
                    name: None,
                    expression: "price >= 0".into()
                },
                CheckDef {
                    name: None,
                    expression: "price < 1e9".into()
                },
            ]
        );
        assert_eq!(
            t.named,
            vec![
                NamedKey {
                    kind: KeyKind::Foreign,
                    name: "owner_fk".into(),
                    columns: vec!["owner, id".into()]
                },
                NamedKey {
                    kind: KeyKind::Unique,
                    name: "items key".into(),
                    columns: vec!["sku".into(), "price".into()]
                },
                NamedKey {
                    kind: KeyKind::Foreign,
                    name: "pair_fk".into(),
                    columns: vec!["owner, id".into(), "sku".into()]
                },
            ]
        );
        assert_eq!(
            t.generated,
            vec![("total".into(), "price * 2".into(), true)]
        );
        assert_eq!(t.collations, vec![("sku".into(), "NOCASE".into())]);
        assert!(t.autoincrement && t.strict && t.without_rowid);
    }

    #[test]
    fn a_views_columns_and_query_as_written() {
        assert_eq!(
            read_view(
                r#"CREATE VIEW "big, ones" ("a b", c) AS SELECT x AS a, (SELECT 1) AS c FROM t;"#
            ),
            Some((
                vec!["a b".to_string(), "c".into()],
                "SELECT x AS a, (SELECT 1) AS c FROM t;".into()
            ))
        );
        assert_eq!(
            read_view("CREATE VIEW v AS\n  SELECT 1"),
            Some((vec![], "SELECT 1".into()))
        );
    }

    #[test]
    fn one_pair_of_parentheses_around_the_whole_is_taken_off() {
        assert_eq!(inside_parentheses("(0.5)"), Some("0.5"));
        assert_eq!(inside_parentheses("('a' || ')')"), Some("'a' || ')'"));
        assert_eq!(inside_parentheses("(a + (b))"), Some("a + (b)"));
        assert_eq!(inside_parentheses("(a) + (b)"), None);
        assert_eq!(inside_parentheses("lower(x)"), None);
        assert_eq!(inside_parentheses("'(x)'"), None);
    }

    #[test]
    fn index_keys_and_predicate_as_written() {
        assert_eq!(
            index_parts(
                r#"CREATE UNIQUE INDEX i ON t (lower(email), "b" DESC) WHERE deleted_at IS NULL"#
            ),
            Some((
                vec!["lower(email)".into(), "\"b\" DESC".into()],
                Some("deleted_at IS NULL".into())
            ))
        );
        assert_eq!(
            index_parts("CREATE INDEX i ON t(a)"),
            Some((vec!["a".into()], None))
        );
    }
}
