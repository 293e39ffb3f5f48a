//! Default privileges (`ALTER DEFAULT PRIVILEGES FOR ROLE owner [IN
//! SCHEMA s] GRANT ... ON TABLES | SEQUENCES | FUNCTIONS | TYPES | SCHEMAS
//! TO role`): what the objects a role makes from then on start with, for
//! the roles the file names. They change no object that exists.

use super::ident::Ident;
use super::policy::PUBLIC_ROLE;
use super::privilege::{GrantObject, Privileges};

/// The kind of object default privileges are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DefaultObjects {
    /// Tables, views and materialized views.
    Tables,
    Sequences,
    /// Functions and procedures.
    Functions,
    Types,
    /// Schemas (only for every schema, not `IN SCHEMA`).
    Schemas,
}

impl DefaultObjects {
    pub const ALL: [DefaultObjects; 5] = [
        DefaultObjects::Tables,
        DefaultObjects::Sequences,
        DefaultObjects::Functions,
        DefaultObjects::Types,
        DefaultObjects::Schemas,
    ];

    /// `tables`, as the file and `ALTER DEFAULT PRIVILEGES` (upper case)
    /// name them.
    pub fn word(self) -> &'static str {
        match self {
            DefaultObjects::Tables => "tables",
            DefaultObjects::Sequences => "sequences",
            DefaultObjects::Functions => "functions",
            DefaultObjects::Types => "types",
            DefaultObjects::Schemas => "schemas",
        }
    }

    /// `pg_default_acl.defaclobjtype`.
    pub fn from_catalog(code: &str) -> Option<DefaultObjects> {
        Some(match code {
            "r" => DefaultObjects::Tables,
            "S" => DefaultObjects::Sequences,
            "f" => DefaultObjects::Functions,
            "T" => DefaultObjects::Types,
            "n" => DefaultObjects::Schemas,
            _ => return None,
        })
    }

    /// The objects' kind, which says their privileges.
    pub fn object(self) -> GrantObject {
        match self {
            DefaultObjects::Tables => GrantObject::Table,
            DefaultObjects::Sequences => GrantObject::Sequence,
            DefaultObjects::Functions => GrantObject::Routine,
            DefaultObjects::Types => GrantObject::Type,
            DefaultObjects::Schemas => GrantObject::Schema,
        }
    }
}

/// The default privileges of one grantee on one kind of object made by
/// `owner`, in one schema or (None) in every schema.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DefaultGrantKey {
    pub owner: Ident,
    pub schema: Option<Ident>,
    pub objects: DefaultObjects,
    /// A role, or [`PUBLIC_ROLE`].
    pub grantee: Ident,
}

impl DefaultGrantKey {
    /// What the grantee gets with no default privileges said: for every
    /// schema, PUBLIC's EXECUTE on functions and USAGE on types (an empty
    /// set stated there: revoked); nothing otherwise (a schema's own
    /// default privileges only add to those).
    pub fn fresh(&self) -> Privileges {
        let public = self.grantee.as_str() == PUBLIC_ROLE && self.schema.is_none();
        match self.objects {
            DefaultObjects::Functions | DefaultObjects::Types if public => self
                .objects
                .object()
                .privileges()
                .iter()
                .map(|p| (p.to_string(), false))
                .collect(),
            _ => Privileges::new(),
        }
    }
}

impl std::fmt::Display for DefaultGrantKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} made by {}", self.objects.word(), self.owner)?;
        if let Some(s) = &self.schema {
            write!(f, " in schema {s}")?;
        }
        Ok(())
    }
}
