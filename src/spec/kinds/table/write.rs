//! Writing one table: columns (a `serial` column as its type), keys,
//! unique constraints, indexes, checks and foreign keys, each leaving out
//! what equals the implicit default.

use crate::model::*;
use crate::spec::write::*;

pub(super) fn table(name: &QualifiedName, t: &Table, comments: &Comments, w: &Writer) -> Y {
    let (serials, opts) = (&w.serials, w.opts);
    let constraint_comment =
        |c: &Ident| comments.get(&CommentOn::Constraint(name.clone(), c.clone()));
    let mut m: Vec<(String, Y)> = Vec::new();
    let pk_cols: Vec<&Ident> = t.primary_key.iter().flat_map(|p| &p.columns).collect();
    let columns = t
        .columns
        .iter()
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
    if let Some(p) = &t.partition_of {
        m.push(("partition_of".into(), text(&p.parent.to_yaml_key())));
        let bound = match &p.bound {
            PartitionBound::Default => "DEFAULT".to_string(),
            PartitionBound::Values(v) => v.clone(),
        };
        m.push(("bound".into(), sql(&bound)));
    } else {
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
            if let Some(r) = renamed {
                f.push(("renamed_from".into(), text(r.as_str())));
            }
            if let Some(c) = comment {
                f.push(("comment".into(), text(c)));
            }
            m.push(("primary_key".into(), Y::FlowMap(f)));
        }
    }

    if !t.uniques.is_empty() {
        let u = t
            .uniques
            .iter()
            .map(|(n, u)| {
                let renamed = u.renamed_from.as_ref().filter(|_| opts.hints);
                let comment = constraint_comment(n);
                let v = if !u.nulls_not_distinct
                    && u.deferrable == Deferrable::No
                    && renamed.is_none()
                    && comment.is_none()
                {
                    idents(&u.columns)
                } else {
                    let mut f = vec![("columns".into(), idents(&u.columns))];
                    if u.nulls_not_distinct {
                        f.push(("nulls_not_distinct".into(), bool_y(true)));
                    }
                    deferrable(&mut f, u.deferrable);
                    if let Some(r) = renamed {
                        f.push(("renamed_from".into(), text(r.as_str())));
                    }
                    if let Some(c) = comment {
                        f.push(("comment".into(), text(c)));
                    }
                    Y::FlowMap(f)
                };
                (key(n.as_str()), v)
            })
            .collect();
        m.push(("unique".into(), Y::Block(u)));
    }

    if !t.indexes.is_empty() {
        let ix = t
            .indexes
            .iter()
            .map(|(n, i)| {
                let on = CommentOn::Index(QualifiedName::new(name.schema.clone(), n.clone()));
                (key(n.as_str()), index(i, comments.get(&on), opts))
            })
            .collect();
        m.push(("indexes".into(), Y::Block(ix)));
    }

    if !t.checks.is_empty() {
        let ch = t
            .checks
            .iter()
            .map(|(n, c)| {
                let renamed = c.renamed_from.as_ref().filter(|_| opts.hints);
                let comment = constraint_comment(n);
                let v = if !c.no_inherit && !c.not_valid.0 && renamed.is_none() && comment.is_none()
                {
                    // Short form; `text` quotes what would read as a number.
                    text(&c.expression)
                } else {
                    let mut f = vec![("expression".into(), sql(&c.expression))];
                    if c.no_inherit {
                        f.push(("no_inherit".into(), bool_y(true)));
                    }
                    if c.not_valid.0 {
                        f.push(("not_valid".into(), bool_y(true)));
                    }
                    if let Some(r) = renamed {
                        f.push(("renamed_from".into(), text(r.as_str())));
                    }
                    if let Some(c) = comment {
                        f.push(("comment".into(), text(c)));
                    }
                    Y::FlowMap(f)
                };
                (key(n.as_str()), v)
            })
            .collect();
        m.push(("checks".into(), Y::Block(ch)));
    }

    if !t.exclusions.is_empty() {
        let ex = t
            .exclusions
            .iter()
            .map(|(n, x)| {
                let renamed = x.renamed_from.as_ref().filter(|_| opts.hints);
                let comment = constraint_comment(n);
                let v = if x.deferrable == Deferrable::No && renamed.is_none() && comment.is_none()
                {
                    sql(&x.definition)
                } else {
                    let mut f = vec![("definition".into(), sql(&x.definition))];
                    deferrable(&mut f, x.deferrable);
                    if let Some(r) = renamed {
                        f.push(("renamed_from".into(), text(r.as_str())));
                    }
                    if let Some(c) = comment {
                        f.push(("comment".into(), text(c)));
                    }
                    Y::FlowMap(f)
                };
                (key(n.as_str()), v)
            })
            .collect();
        m.push(("exclusions".into(), Y::Block(ex)));
    }

    if !t.foreign_keys.is_empty() {
        let fks = t
            .foreign_keys
            .iter()
            .map(|(n, fk)| {
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
                if let (Some(r), true) = (&fk.renamed_from, opts.hints) {
                    f.push(("renamed_from".into(), text(r.as_str())));
                }
                if let Some(c) = constraint_comment(n) {
                    f.push(("comment".into(), text(c)));
                }
                (key(n.as_str()), Y::FlowMap(f))
            })
            .collect();
        m.push(("foreign_keys".into(), Y::Block(fks)));
    }

    if t.unlogged {
        m.push(("unlogged".into(), bool_y(true)));
    }
    if t.strict {
        m.push(("strict".into(), bool_y(true)));
    }
    if t.without_rowid {
        m.push(("without_rowid".into(), bool_y(true)));
    }
    if let Some(c) = &t.comment {
        m.push(("comment".into(), text(c)));
    }
    if let (Some(r), true) = (&t.renamed_from, opts.hints) {
        m.push(("renamed_from".into(), text(&r.to_yaml_key())));
    }
    Y::Block(m)
}

fn deferrable(f: &mut Vec<(String, Y)>, d: Deferrable) {
    match d {
        Deferrable::No => {}
        Deferrable::InitiallyImmediate => f.push(("deferrable".into(), bool_y(true))),
        Deferrable::InitiallyDeferred => f.push(("initially_deferred".into(), bool_y(true))),
    }
}

pub(super) fn index(i: &Index, comment: Option<&String>, opts: WriteOptions) -> Y {
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
    if let (Some(r), true) = (&i.renamed_from, opts.hints) {
        f.push(("renamed_from".into(), text(r.as_str())));
    }
    if let Some(c) = comment {
        f.push(("comment".into(), text(c)));
    }
    Y::FlowMap(f)
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
    crate::spec::kinds::sequence::options(&mut f, &o.as_sequence(&c.ty));
    Y::FlowMap(f)
}
