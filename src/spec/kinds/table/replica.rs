//! Reading a table's `replica_identity`, checked as PostgreSQL checks
//! `REPLICA IDENTITY USING INDEX`: the index is the table's, unique, not
//! partial, not deferrable, on columns only (no expression) that are all
//! NOT NULL.

use super::read::TableReader;
use super::*;
use crate::spec::read::ident;

impl TableReader<'_> {
    pub(super) fn read_replica_identity(
        &mut self,
        table: &Table,
        spec: Option<Located<TextOr<ReplicaIndexSpec>>>,
    ) -> ReplicaIdentity {
        let Some(l) = spec else {
            return ReplicaIdentity::Default;
        };
        let index = match &l.value {
            TextOr::Text(t) => {
                return match t.trim().to_ascii_lowercase().as_str() {
                    "default" => ReplicaIdentity::Default,
                    "full" => ReplicaIdentity::Full,
                    "nothing" => ReplicaIdentity::Nothing,
                    _ => {
                        self.diags.push(
                            Diagnostic::new(l.span(), format!("`{t}` is not a replica identity of `{}`", self.name))
                                .help("`default` (the primary key), `full`, `nothing`, or `{ index: name }`"),
                        );
                        ReplicaIdentity::Default
                    }
                };
            }
            TextOr::Map(m) => &m.index,
        };
        let Some(name) = ident(self.diags, index, "index") else {
            return ReplicaIdentity::Default;
        };
        let why = match self.replica_index_columns(table, &name) {
            Err(why) => why,
            Ok(columns) => match columns
                .iter()
                .find(|c| table.column(c.as_str()).is_some_and(|c| c.nullable))
            {
                Some(c) => format!("its column `{c}` takes NULL"),
                None => return ReplicaIdentity::Index(name),
            },
        };
        self.diags.push(
            Diagnostic::new(index.span(), format!("the replica identity of `{}` is index `{name}`, but {why}", self.name))
                .help("name a unique index or constraint of the table over NOT NULL columns, not partial nor deferrable"),
        );
        ReplicaIdentity::Default
    }

    /// The columns of index `name` of `table` (a plain index, a unique
    /// constraint's or the primary key's), or why it cannot identify rows.
    fn replica_index_columns(&self, table: &Table, name: &Ident) -> Result<Vec<Ident>, String> {
        if let Some(pk) = table.primary_key.as_ref().filter(|pk| &pk.name == name) {
            return match pk.deferrable {
                Deferrable::No => Ok(pk.columns.clone()),
                _ => Err("it is deferrable".into()),
            };
        }
        if let Some(u) = table.uniques.get(name) {
            return match u.deferrable {
                Deferrable::No => Ok(u.columns.clone()),
                _ => Err("it is deferrable".into()),
            };
        }
        let Some(ix) = table.indexes.get(name) else {
            return Err("the table has no such index".into());
        };
        if !ix.unique {
            return Err("it is not unique".into());
        }
        if ix.predicate.is_some() {
            return Err("it is partial".into());
        }
        ix.key_columns()
            .ok_or_else(|| "it has an expression key".to_string())
    }
}
