//! The YAML target format: reading (with every error located), the model
//! conversion, the writer `dump` uses, and the JSON Schema for editors.

pub mod de;
mod error;
pub mod format;
mod kinds;
mod read;
mod subset;
mod tree;
mod write;

use std::path::Path;

pub use error::{Diagnostic, FileDiagnostics, Pos, Span, SpecError};
pub use kinds::nextval_default;
pub use write::{WriteOptions, to_yaml};

use crate::model::Schema;
use de::{NodeDe, Sink};
use format::SchemaFile;
use serde::Deserialize;

/// Reads a target file.
pub fn read_file(path: &Path) -> Result<Schema, SpecError> {
    let source = std::fs::read_to_string(path).map_err(|source| SpecError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    read_str(path, &source)
}

/// Reads target-file text; `path` is only used in messages.
pub fn read_str(path: &Path, source: &str) -> Result<Schema, SpecError> {
    // Most files are in the subset of YAML the quick reader takes. Its
    // tree gives the same schema; a file with anything to report is read
    // again by the general reader, whose positions the messages quote.
    if source.len() <= tree::MAX_FILE_BYTES
        && let Some(root) = subset::parse(source)
        && let Ok(schema) = from_tree(path, source, Some(root), Vec::new())
    {
        return Ok(schema);
    }
    let (root, diags) = tree::parse(source).map_err(|d| failed(path, source, vec![d]))?;
    from_tree(path, source, root, diags)
}

/// The error for `diagnostics` in `source`, in position order.
fn failed(path: &Path, source: &str, mut diagnostics: Vec<Diagnostic>) -> SpecError {
    diagnostics.sort_by_key(|d| d.span.map(|s| s.start));
    SpecError::Invalid(FileDiagnostics {
        path: path.to_path_buf(),
        source: source.to_string(),
        diagnostics,
    })
}

/// The schema a parsed file describes; `diags`, what parsing found.
fn from_tree(
    path: &Path,
    source: &str,
    root: Option<tree::Node>,
    mut diags: Vec<Diagnostic>,
) -> Result<Schema, SpecError> {
    let fail = |diagnostics| failed(path, source, diagnostics);
    let Some(root) = root else {
        return if diags.is_empty() {
            Ok(Schema::default())
        } else {
            Err(fail(diags))
        };
    };
    if !matches!(root.kind, tree::NodeKind::Map(_)) {
        diags.push(
            Diagnostic::new(Some(root.span), format!("expected a mapping at the top of the file, found {}", root.describe()))
                .help("a target file is a mapping with the keys `schemas`, `extensions`, `enums`, `sequences` and `tables`"),
        );
        return Err(fail(diags));
    }
    let sink = Sink::default();
    let file = SchemaFile::deserialize(NodeDe::new(&root, &sink));
    // The tree is not needed past this point: free it before converting,
    // so the tree, the spec and the model are never all held at once.
    drop(root);
    diags.extend(sink.into_inner());
    let schema = match file {
        Ok(file) => Some(read::convert(file, &mut diags)),
        Err(e) => {
            diags.push(e.into_diagnostic());
            None
        }
    };
    match schema {
        Some(schema) if diags.is_empty() => Ok(schema),
        _ => Err(fail(diags)),
    }
}

/// The JSON Schema of the target format, pretty-printed.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(SchemaFile);
    // A JSON value built by schemars always serializes.
    serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n"
}
