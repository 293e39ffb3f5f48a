//! Writing one table: columns (a `serial` column as its type), keys,
//! unique constraints, indexes, checks and foreign keys, each leaving out
//! what equals the implicit default.

use std::collections::BTreeMap;

use crate::model::*;
use crate::spec::write::*;

/// `inherited`: the columns the table gets from the tables it inherits
/// from (`Schema::inherited_columns`), which are written only where it
/// has made them its own.
pub(super) fn table(
    name: &QualifiedName,
    t: &Table,
    inherited: &[Column],
    comments: &Comments,
    w: &Writer,
) -> Y {
    let (serials, opts) = (&w.serials, w.opts);
    let constraint_comment =
        |c: &Ident| comments.get(&CommentOn::Constraint(name.clone(), c.clone()));
    let mut m: Vec<(String, Y)> = Vec::new();
    let pk_cols: Vec<&Ident> = t.primary_key.iter().flat_map(|p| &p.columns).collect();
    let as_inherited = |c: &Column| {
        inherited.iter().any(|i| {
            let mut i = i.clone();
            i.nullable &= !pk_cols.contains(&&c.name);
            i.same_definition(c)
        })
    };
    let columns: Vec<(String, Y)> = t
        .columns
        .iter()
        .filter(|c| !as_inherited(c))
        .map(|c| {
            let serial = serials
                .iter()
                .any(|(tn, cn, _)| tn == name && cn == &c.name);
            let mut f: Vec<(String, Y)> = Vec::new();
            let ty = if serial {
                SerialKind::for_type(&c.ty)
                    .map_or_else(|| c.ty.to_string(), |k| k.keyword().to_string())
            } else {
                c.ty.to_string()
            };
            f.push(("type".into(), text(&ty)));
            let implied_not_null = serial || c.identity.is_some() || pk_cols.contains(&&c.name);
            if !c.nullable && !implied_not_null {
                f.push(("nullable".into(), bool_y(false)));
            }
            if let (Some(d), false) = (&c.default, serial) {
                f.push(("default".into(), sql(d)));
            }
            if let Some(i) = c.identity {
                f.push(("identity".into(), identity(c, i)));
            }
            if let Some(g) = &c.generated {
                f.push(("generated".into(), sql(g)));
            }
            if let Some(coll) = &c.collation {
                f.push(("collation".into(), text(coll.as_str())));
            }
            if let Some(n) = c.statistics.0 {
                f.push(("statistics".into(), Y::S(n.to_string())));
            }
            if let Some(s) = c.storage.strategy {
                f.push(("storage".into(), Y::S(s.keyword().into())));
            }
            if let Some(m) = c.storage.compression {
                f.push(("compression".into(), Y::S(m.keyword().into())));
            }
            if !c.options.is_empty() {
                f.push(("with".into(), storage(&c.options)));
            }
            if let Some(comment) = &c.comment {
                f.push(("comment".into(), text(comment)));
            }
            if opts.hints {
                if let Some(r) = &c.renamed_from {
                    f.push(("renamed_from".into(), text(r.as_str())));
                }
                if let Some(b) = &c.backfill {
                    f.push(("backfill".into(), sql(b)));
                }
            }
            (key(c.name.as_str()), Y::FlowMap(f))
        })
        .collect();
    if !t.inherits.is_empty() {
        let parents = t.inherits.iter().map(|p| text(&p.to_yaml_key())).collect();
        m.push(("inherits".into(), Y::FlowSeq(parents)));
    }
    if let Some(p) = &t.partition_of {
        m.push(("partition_of".into(), text(&p.parent.to_yaml_key())));
        let bound = match &p.bound {
            PartitionBound::Default => "DEFAULT".to_string(),
            PartitionBound::Values(v) => v.clone(),
        };
        m.push(("bound".into(), sql(&bound)));
    } else if !columns.is_empty() || t.inherits.is_empty() {
        // (A table that inherits every column it has lists none.)
        m.push(("columns".into(), Y::Block(columns)));
    }
    if let Some(k) = &t.partition_by {
        m.push(("partition_by".into(), sql(&k.sql())));
    }

    if let Some(pk) = &t.primary_key {
        let default_name = naming::primary_key_name(name.name.as_str());
        let renamed = pk.renamed_from.as_ref().filter(|_| opts.hints);
        let plain_name = pk.name.as_str() == default_name;
        let comment = constraint_comment(&pk.name);
        if plain_name && renamed.is_none() && pk.deferrable == Deferrable::No && comment.is_none() {
            m.push(("primary_key".into(), idents(&pk.columns)));
        } else {
            let mut f = Vec::new();
            if !plain_name {
                f.push(("name".into(), text(pk.name.as_str())));
            }
            f.push(("columns".into(), idents(&pk.columns)));
            deferrable(&mut f, pk.deferrable);
            renamed_and_comment(&mut f, pk.renamed_from.as_ref(), comment, w);
            m.push(("primary_key".into(), Y::FlowMap(f)));
        }
    }

    block(&mut m, "unique", &t.uniques, |n, u| {
        let mut rest = Vec::new();
        if u.nulls_not_distinct {
            rest.push(("nulls_not_distinct".into(), bool_y(true)));
        }
        deferrable(&mut rest, u.deferrable);
        renamed_and_comment(&mut rest, u.renamed_from.as_ref(), constraint_comment(n), w);
        let columns = || idents(&u.columns);
        short_or_map(rest, columns, "columns", columns)
    });

    block(&mut m, "indexes", &t.indexes, |n, i| {
        let on = CommentOn::Index(QualifiedName::new(name.schema.clone(), n.clone()));
        index(i, comments.get(&on), w)
    });

    block(&mut m, "checks", &t.checks, |n, c| {
        let mut rest = Vec::new();
        if c.no_inherit {
            rest.push(("no_inherit".into(), bool_y(true)));
        }
        if c.not_valid.0 {
            rest.push(("not_valid".into(), bool_y(true)));
        }
        renamed_and_comment(&mut rest, c.renamed_from.as_ref(), constraint_comment(n), w);
        // Short form; `text` quotes what would read as a number.
        short_or_map(
            rest,
            || text(&c.expression),
            "expression",
            || sql(&c.expression),
        )
    });

    block(&mut m, "exclusions", &t.exclusions, |n, x| {
        let mut rest = Vec::new();
        deferrable(&mut rest, x.deferrable);
        renamed_and_comment(&mut rest, x.renamed_from.as_ref(), constraint_comment(n), w);
        let definition = || sql(&x.definition);
        short_or_map(rest, definition, "definition", definition)
    });

    block(&mut m, "foreign_keys", &t.foreign_keys, |n, fk| {
        let mut f = vec![
            ("columns".into(), idents(&fk.columns)),
            (
                "references".into(),
                Y::FlowMap(vec![
                    ("table".into(), text(&fk.ref_table.to_yaml_key())),
                    ("columns".into(), idents(&fk.ref_columns)),
                ]),
            ),
        ];
        if fk.on_delete != FkAction::NoAction {
            f.push(("on_delete".into(), Y::S(fk.on_delete.keyword().into())));
        }
        if fk.on_update != FkAction::NoAction {
            f.push(("on_update".into(), Y::S(fk.on_update.keyword().into())));
        }
        if fk.match_type == FkMatch::Full {
            f.push(("match".into(), Y::S("full".into())));
        }
        deferrable(&mut f, fk.deferrable);
        if fk.not_valid.0 {
            f.push(("not_valid".into(), bool_y(true)));
        }
        renamed_and_comment(&mut f, fk.renamed_from.as_ref(), constraint_comment(n), w);
        Y::FlowMap(f)
    });

    if t.unlogged {
        m.push(("unlogged".into(), bool_y(true)));
    }
    if t.strict {
        m.push(("strict".into(), bool_y(true)));
    }
    if t.without_rowid {
        m.push(("without_rowid".into(), bool_y(true)));
    }
    if !t.storage.is_empty() {
        m.push(("with".into(), storage(&t.storage)));
    }
    match &t.replica_identity {
        ReplicaIdentity::Default => {}
        ReplicaIdentity::Full => m.push(("replica_identity".into(), Y::S("full".into()))),
        ReplicaIdentity::Nothing => m.push(("replica_identity".into(), Y::S("nothing".into()))),
        ReplicaIdentity::Index(i) => m.push((
            "replica_identity".into(),
            Y::FlowMap(vec![("index".into(), text(i.as_str()))]),
        )),
    }
    if let Some(c) = &t.comment {
        m.push(("comment".into(), text(c)));
    }
    if let (Some(r), true) = (&t.renamed_from, opts.hints) {
        m.push(("renamed_from".into(), text(&r.to_yaml_key())));
    }
    Y::Block(m)
}

/// A constraint written as its one value (`short`) when nothing else is
/// set, else as a flow map: the value under its field name, then `rest`.
fn short_or_map(
    rest: Vec<(String, Y)>,
    short: impl FnOnce() -> Y,
    field: &str,
    full: impl FnOnce() -> Y,
) -> Y {
    if rest.is_empty() {
        return short();
    }
    let mut f = Vec::with_capacity(rest.len() + 1);
    f.push((field.to_string(), full()));
    f.extend(rest);
    Y::FlowMap(f)
}

/// `field:` and a block of `map`'s entries, each written by `entry`;
/// nothing when `map` is empty.
fn block<V>(
    m: &mut Vec<(String, Y)>,
    field: &str,
    map: &BTreeMap<Ident, V>,
    entry: impl Fn(&Ident, &V) -> Y,
) {
    if !map.is_empty() {
        let entries = map.iter().map(|(n, v)| (key(n.as_str()), entry(n, v)));
        m.push((field.into(), Y::Block(entries.collect())));
    }
}

/// The two fields every constraint and index ends with, when set: the
/// rename hint (with hints on) and the comment.
fn renamed_and_comment(
    f: &mut Vec<(String, Y)>,
    renamed: Option<&Ident>,
    comment: Option<&String>,
    w: &Writer,
) {
    if let Some(r) = renamed.filter(|_| w.opts.hints) {
        f.push(("renamed_from".into(), text(r.as_str())));
    }
    if let Some(c) = comment {
        f.push(("comment".into(), text(c)));
    }
}

fn deferrable(f: &mut Vec<(String, Y)>, d: Deferrable) {
    match d {
        Deferrable::No => {}
        Deferrable::InitiallyImmediate => f.push(("deferrable".into(), bool_y(true))),
        Deferrable::InitiallyDeferred => f.push(("initially_deferred".into(), bool_y(true))),
    }
}

pub(super) fn index(i: &Index, comment: Option<&String>, w: &Writer) -> Y {
    let mut f: Vec<(String, Y)> = Vec::new();
    if i.keys.iter().all(IndexKey::is_plain_column) {
        let cols = i
            .keys
            .iter()
            .filter_map(|k| match &k.target {
                KeyTarget::Column(c) => Some(text(c.as_str())),
                KeyTarget::Expression(_) => None,
            })
            .collect();
        f.push(("columns".into(), Y::FlowSeq(cols)));
    } else if let [k] = i.keys.as_slice() {
        match (&k.target, k.order, k.nulls, &k.opclass, &k.collation) {
            (KeyTarget::Expression(e), SortOrder::Asc, None, None, None) => {
                f.push(("expression".into(), sql(e)));
            }
            _ => f.push(("keys".into(), Y::FlowSeq(vec![index_key(k)]))),
        }
    } else {
        f.push((
            "keys".into(),
            Y::FlowSeq(i.keys.iter().map(index_key).collect()),
        ));
    }
    if i.unique {
        f.push(("unique".into(), bool_y(true)));
    }
    if i.method != DEFAULT_INDEX_METHOD {
        f.push(("method".into(), text(&i.method)));
    }
    if !i.include.is_empty() {
        f.push(("include".into(), idents(&i.include)));
    }
    if let Some(p) = &i.predicate {
        f.push(("where".into(), sql(p)));
    }
    if i.nulls_not_distinct {
        f.push(("nulls_not_distinct".into(), bool_y(true)));
    }
    if !i.storage.is_empty() {
        f.push(("with".into(), storage(&i.storage)));
    }
    renamed_and_comment(&mut f, i.renamed_from.as_ref(), comment, w);
    Y::FlowMap(f)
}

/// `{ fillfactor: 70, autovacuum_enabled: false }`: numbers, booleans
/// and words plain, as the reader takes them back.
pub(super) fn storage(p: &StorageParams) -> Y {
    Y::FlowMap(p.iter().map(|(k, v)| (key(k), sql(v))).collect())
}

fn index_key(k: &IndexKey) -> Y {
    let mut f: Vec<(String, Y)> = Vec::new();
    match &k.target {
        KeyTarget::Column(c) => f.push(("column".into(), text(c.as_str()))),
        KeyTarget::Expression(e) => f.push(("expression".into(), sql(e))),
    }
    if k.order == SortOrder::Desc {
        f.push(("order".into(), Y::S("desc".into())));
    }
    match k.nulls {
        Some(NullsOrder::First) => f.push(("nulls".into(), Y::S("first".into()))),
        Some(NullsOrder::Last) => f.push(("nulls".into(), Y::S("last".into()))),
        None => {}
    }
    if let Some(o) = &k.opclass {
        f.push(("opclass".into(), text(o)));
    }
    if let Some(c) = &k.collation {
        f.push(("collation".into(), text(c.as_str())));
    }
    Y::FlowMap(f)
}

/// `identity: always`, or the mapping with the options that are not the
/// default.
fn identity(c: &Column, i: Identity) -> Y {
    let o = &c.identity_options;
    if o.is_default() {
        return Y::S(i.keyword().into());
    }
    let mut f = vec![("generated".to_string(), Y::S(i.keyword().into()))];
    crate::spec::kinds::sequence::options(&mut f, o);
    Y::FlowMap(f)
}
