//! What steps need, create and remove: typed names of objects and of the
//! states they pass through, which order the steps.

use serde::{Deserialize, Serialize};

use crate::model::{Ident, QualifiedName, RoutineKey, quote_part, split_parts};

/// Something a step needs to exist, creates, or makes disappear; also the
/// states objects pass through during a migration. Names are typed: no
/// resource is ever read back out of printed text by the planner.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Resource {
    Schema(Ident),
    Extension(Ident),
    Type(QualifiedName),
    Collation(QualifiedName),
    Sequence(QualifiedName),
    Table(QualifiedName),
    Column(QualifiedName, Ident),
    /// A column whose existing rows have been filled.
    Filled(QualifiedName, Ident),
    /// A column known NOT NULL.
    NotNull(QualifiedName, Ident),
    /// A column that contract has replaced by its retyped shadow: what
    /// referred to the old column is gone with it.
    Swapped(QualifiedName, Ident),
    Constraint(QualifiedName, Ident),
    /// A constraint that VALIDATE has proven.
    Validated(QualifiedName, Ident),
    /// A constraint dropped to make room for its new definition.
    ConstraintGone(QualifiedName, Ident),
    /// An index, by schema-qualified name.
    Index(QualifiedName),
    /// An index dropped to make room for its new definition.
    IndexGone(QualifiedName),
    /// A sync trigger, by its function's name.
    Trigger(QualifiedName),
    /// The compatibility view a table rename left under the old name is
    /// gone (it reads every column, so column drops and type changes
    /// wait for it).
    ViewGone(QualifiedName),
    /// A view (of the schema; not a table rename's compatibility view).
    View(QualifiedName),
    /// A materialized view filled again as of the step that provides it.
    Refreshed(QualifiedName),
    /// A table built beside another (a new partitioning), with every row
    /// of the other copied in and kept in step.
    Copied(QualifiedName),
    /// A row-level security policy, by table and name.
    Policy(QualifiedName, Ident),
    /// A table's row-level security flags, as the target has them.
    RowSecurity(QualifiedName),
    /// A table made logged or unlogged, as the target has it.
    Persistence(QualifiedName),
    /// A function or procedure.
    Function(RoutineKey),
    /// A statistics object, by schema-qualified name.
    Statistics(QualifiedName),
    /// An index made on a partitioned table alone (`ON ONLY`), which the
    /// partitions' indexes are attached to one by one.
    IndexOnOnly(QualifiedName),
    /// A partition detached from its partitioned table.
    Detached(QualifiedName),
    /// An object (the resource inside) as made by this plan: what must
    /// follow its making (a comment on it) waits for this, free of the
    /// order a drop of the same name puts on the object's own resource.
    Made(Box<Resource>),
}

impl Resource {
    pub fn table(q: &QualifiedName) -> Resource {
        Resource::Table(q.clone())
    }
    pub fn column(q: &QualifiedName, c: &Ident) -> Resource {
        Resource::Column(q.clone(), c.clone())
    }
    /// A column given a type by `ALTER ... TYPE` (or made again), which
    /// takes its storage back to the type's and drops its statistics.
    pub fn retyped(q: &QualifiedName, c: &Ident) -> Resource {
        Resource::Made(Box::new(Resource::column(q, c)))
    }
    pub fn filled(q: &QualifiedName, c: &Ident) -> Resource {
        Resource::Filled(q.clone(), c.clone())
    }
    pub fn not_null(q: &QualifiedName, c: &Ident) -> Resource {
        Resource::NotNull(q.clone(), c.clone())
    }
    pub fn swapped(q: &QualifiedName, c: &Ident) -> Resource {
        Resource::Swapped(q.clone(), c.clone())
    }
    pub fn constraint(q: &QualifiedName, c: &Ident) -> Resource {
        Resource::Constraint(q.clone(), c.clone())
    }
    pub fn validated(q: &QualifiedName, c: &Ident) -> Resource {
        Resource::Validated(q.clone(), c.clone())
    }
    pub fn constraint_gone(q: &QualifiedName, c: &Ident) -> Resource {
        Resource::ConstraintGone(q.clone(), c.clone())
    }
    pub fn index(schema: &Ident, name: &Ident) -> Resource {
        Resource::Index(QualifiedName::new(schema.clone(), name.clone()))
    }
    pub fn index_gone(schema: &Ident, name: &Ident) -> Resource {
        Resource::IndexGone(QualifiedName::new(schema.clone(), name.clone()))
    }

    /// The JSON `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Resource::Schema(_) => "schema",
            Resource::Extension(_) => "extension",
            Resource::Type(_) => "type",
            Resource::Collation(_) => "collation",
            Resource::Sequence(_) => "sequence",
            Resource::Table(_) => "table",
            Resource::Column(..) => "column",
            Resource::Filled(..) => "filled",
            Resource::NotNull(..) => "not_null",
            Resource::Swapped(..) => "swapped",
            Resource::Constraint(..) => "constraint",
            Resource::Validated(..) => "validated",
            Resource::ConstraintGone(..) => "constraint_gone",
            Resource::Index(_) => "index",
            Resource::IndexGone(_) => "index_gone",
            Resource::Trigger(_) => "trigger",
            Resource::ViewGone(_) => "view_gone",
            Resource::View(_) => "view",
            Resource::Refreshed(_) => "refreshed",
            Resource::Copied(_) => "copied",
            Resource::Policy(..) => "policy",
            Resource::RowSecurity(_) => "row_security",
            Resource::Persistence(_) => "persistence",
            Resource::Function(_) => "function",
            Resource::IndexOnOnly(_) => "index_on_only",
            Resource::Detached(_) => "detached",
            Resource::Statistics(_) => "statistics",
            Resource::Made(r) => match r.kind() {
                "schema" => "made_schema",
                "type" => "made_type",
                "collation" => "made_collation",
                "sequence" => "made_sequence",
                "index" => "made_index",
                "constraint" => "made_constraint",
                "function" => "made_function",
                "table" => "made_table",
                "column" => "made_column",
                "statistics" => "made_statistics",
                _ => "made",
            },
        }
    }

    /// The JSON `name`: dotted, a part with a dot or a quote quoted.
    pub fn name(&self) -> String {
        match self {
            Resource::Schema(i) | Resource::Extension(i) => quote_part(i.as_str()),
            Resource::Type(q)
            | Resource::Collation(q)
            | Resource::Sequence(q)
            | Resource::Table(q)
            | Resource::Index(q)
            | Resource::IndexGone(q)
            | Resource::Trigger(q)
            | Resource::ViewGone(q)
            | Resource::View(q)
            | Resource::Refreshed(q)
            | Resource::Copied(q)
            | Resource::RowSecurity(q)
            | Resource::Persistence(q)
            | Resource::IndexOnOnly(q)
            | Resource::Detached(q)
            | Resource::Statistics(q) => q.to_string(),
            Resource::Column(q, c)
            | Resource::Filled(q, c)
            | Resource::NotNull(q, c)
            | Resource::Swapped(q, c)
            | Resource::Constraint(q, c)
            | Resource::Validated(q, c)
            | Resource::ConstraintGone(q, c)
            | Resource::Policy(q, c) => format!("{q}.{}", quote_part(c.as_str())),
            Resource::Function(k) => k.to_string(),
            Resource::Made(r) => r.name(),
        }
    }

    /// Reads `kind` and `name` back (also the spellings of plans stored
    /// before resources were typed: `t.c:gone`, `:validated`, `:swapped`).
    pub fn parse(kind: &str, name: &str) -> Result<Resource, String> {
        if kind == "function" {
            return RoutineKey::parse(name).map(Resource::Function);
        }
        if let Some(inner) = kind.strip_prefix("made_") {
            return Resource::parse(inner, name).map(|r| Resource::Made(Box::new(r)));
        }
        let (kind, name) = match (kind, name.rsplit_once(':')) {
            ("constraint", Some((n, "gone"))) => ("constraint_gone", n),
            ("constraint", Some((n, "validated"))) => ("validated", n),
            ("index", Some((n, "gone"))) => ("index_gone", n),
            ("column", Some((n, "swapped"))) => ("swapped", n),
            _ => (kind, name),
        };
        let parts = split_parts(name)?;
        let ident = |p: &str| Ident::new(p).map_err(|e| e.to_string());
        let one = || match parts.as_slice() {
            [a] => ident(a),
            _ => Err(format!("`{name}`: expected one name")),
        };
        let two = || match parts.as_slice() {
            [a, b] => Ok(QualifiedName::new(ident(a)?, ident(b)?)),
            _ => Err(format!("`{name}`: expected schema.name")),
        };
        let three = || match parts.as_slice() {
            [a, b, c] => Ok((QualifiedName::new(ident(a)?, ident(b)?), ident(c)?)),
            _ => Err(format!("`{name}`: expected schema.table.name")),
        };
        Ok(match kind {
            "schema" => Resource::Schema(one()?),
            "extension" => Resource::Extension(one()?),
            "type" => Resource::Type(two()?),
            "collation" => Resource::Collation(two()?),
            "sequence" => Resource::Sequence(two()?),
            "table" => Resource::Table(two()?),
            "index" => Resource::Index(two()?),
            "index_gone" => Resource::IndexGone(two()?),
            "trigger" => Resource::Trigger(two()?),
            "view_gone" => Resource::ViewGone(two()?),
            "view" => Resource::View(two()?),
            "refreshed" => Resource::Refreshed(two()?),
            "copied" => Resource::Copied(two()?),
            "row_security" => Resource::RowSecurity(two()?),
            "persistence" => Resource::Persistence(two()?),
            "index_on_only" => Resource::IndexOnOnly(two()?),
            "detached" => Resource::Detached(two()?),
            "statistics" => Resource::Statistics(two()?),
            "policy" => three().map(|(t, c)| Resource::Policy(t, c))?,
            "column" => three().map(|(t, c)| Resource::Column(t, c))?,
            "filled" => three().map(|(t, c)| Resource::Filled(t, c))?,
            "not_null" => three().map(|(t, c)| Resource::NotNull(t, c))?,
            "swapped" => three().map(|(t, c)| Resource::Swapped(t, c))?,
            "constraint" => three().map(|(t, c)| Resource::Constraint(t, c))?,
            "validated" => three().map(|(t, c)| Resource::Validated(t, c))?,
            "constraint_gone" => three().map(|(t, c)| Resource::ConstraintGone(t, c))?,
            other => return Err(format!("unknown resource kind `{other}`")),
        })
    }
}

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind().replace('_', " "), self.name())
    }
}

impl Serialize for Resource {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Resource", 2)?;
        st.serialize_field("kind", self.kind())?;
        st.serialize_field("name", &self.name())?;
        st.end()
    }
}

impl<'de> Deserialize<'de> for Resource {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            kind: String,
            name: String,
        }
        let raw = Raw::deserialize(d)?;
        Resource::parse(&raw.kind, &raw.name).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plan is stored in the ledger as JSON and read back by the next
    /// phase: every kind of resource must survive the trip.
    #[test]
    fn every_kind_of_resource_reads_back_as_it_was_written() {
        let q = QualifiedName::parse("s.\"odd.name\"").expect("name");
        let c = Ident::new("c").expect("ident");
        let all = [
            Resource::Schema(c.clone()),
            Resource::Extension(c.clone()),
            Resource::Type(q.clone()),
            Resource::Collation(q.clone()),
            Resource::Sequence(q.clone()),
            Resource::Table(q.clone()),
            Resource::Column(q.clone(), c.clone()),
            Resource::Filled(q.clone(), c.clone()),
            Resource::NotNull(q.clone(), c.clone()),
            Resource::Swapped(q.clone(), c.clone()),
            Resource::Constraint(q.clone(), c.clone()),
            Resource::Validated(q.clone(), c.clone()),
            Resource::ConstraintGone(q.clone(), c.clone()),
            Resource::Index(q.clone()),
            Resource::IndexGone(q.clone()),
            Resource::Trigger(q.clone()),
            Resource::ViewGone(q.clone()),
            Resource::View(q.clone()),
            Resource::Refreshed(q.clone()),
            Resource::Copied(q.clone()),
            Resource::Statistics(q.clone()),
            Resource::Policy(q.clone(), c.clone()),
            Resource::RowSecurity(q.clone()),
            Resource::Persistence(q.clone()),
            Resource::IndexOnOnly(q.clone()),
            Resource::Detached(q.clone()),
            Resource::Made(Box::new(Resource::Index(q.clone()))),
            Resource::Made(Box::new(Resource::Constraint(q.clone(), c.clone()))),
            Resource::Made(Box::new(Resource::Schema(c.clone()))),
            Resource::Made(Box::new(Resource::Table(q.clone()))),
            Resource::Made(Box::new(Resource::Column(q.clone(), c.clone()))),
            Resource::Made(Box::new(Resource::Statistics(q.clone()))),
            Resource::Made(Box::new(Resource::Function(
                RoutineKey::parse("s.f(integer)").expect("key"),
            ))),
        ];
        for r in all {
            // An exhaustive match: a new kind must be listed above.
            match &r {
                Resource::Schema(_)
                | Resource::Extension(_)
                | Resource::Type(_)
                | Resource::Collation(_)
                | Resource::Sequence(_)
                | Resource::Table(_)
                | Resource::Column(..)
                | Resource::Filled(..)
                | Resource::NotNull(..)
                | Resource::Swapped(..)
                | Resource::Constraint(..)
                | Resource::Validated(..)
                | Resource::ConstraintGone(..)
                | Resource::Index(_)
                | Resource::IndexGone(_)
                | Resource::Trigger(_)
                | Resource::ViewGone(_)
                | Resource::View(_)
                | Resource::Refreshed(_)
                | Resource::Copied(_)
                | Resource::Policy(..)
                | Resource::RowSecurity(_)
                | Resource::Persistence(_)
                | Resource::IndexOnOnly(_)
                | Resource::Detached(_)
                | Resource::Made(_)
                | Resource::Statistics(_)
                | Resource::Function(_) => {}
            }
            let json = serde_json::to_string(&r).expect("serializes");
            let back: Resource =
                serde_json::from_str(&json).unwrap_or_else(|e| panic!("{json}: {e}"));
            assert_eq!(back, r, "{json}");
        }
    }
}
