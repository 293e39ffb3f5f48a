//! Invalid target files: each fixture in tests/yaml_errors/ must be
//! refused, and the exact rendered report (file:line:column, message,
//! help) is pinned by an insta snapshot in snapshots/.

use std::path::{Path, PathBuf};

use bellows::spec::{self, SpecError};

fn fixtures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir("tests/yaml_errors")
        .expect("tests/yaml_errors exists (run from the package root)")
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

/// Reads a fixture that must be invalid, and returns the rendered report.
fn expect_invalid(path: &Path) -> (String, usize) {
    match spec::read_file(path) {
        Ok(schema) => panic!(
            "{} was accepted but is an invalid-YAML fixture; it read as {schema:#?}",
            path.display()
        ),
        Err(SpecError::Invalid(d)) => {
            for diag in &d.diagnostics {
                assert!(
                    diag.span.is_some(),
                    "{}: every error must be located, this one is not: {}",
                    path.display(),
                    diag.message
                );
            }
            (d.to_string(), d.diagnostics.len())
        }
        Err(other) => panic!("{}: expected located errors, got {other}", path.display()),
    }
}

#[test]
fn every_invalid_fixture_is_refused_with_a_located_report() {
    let files = fixtures();
    assert!(
        files.len() >= 15,
        "need at least 15 fixtures, found {}",
        files.len()
    );
    for path in files {
        let (report, _) = expect_invalid(&path);
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("utf-8 file name");
        insta::with_settings!({
            snapshot_path => "../snapshots/yaml_errors",
            prepend_module_to_snapshot => false,
            omit_expression => true,
            description => format!("bellows validate {}", path.display()),
        }, {
            insta::assert_snapshot!(name, report);
        });
    }
}

#[test]
fn a_file_with_several_mistakes_reports_all_of_them() {
    let (report, count) = expect_invalid(Path::new("tests/yaml_errors/multiple_errors.yaml"));
    assert!(
        count >= 7,
        "expected every mistake to be reported, got {count}:\n{report}"
    );
    // In file order: the first line mentioned comes before the last.
    let lines: Vec<usize> = report
        .lines()
        .filter_map(|l| l.trim().strip_prefix("--> "))
        .filter_map(|l| l.rsplit(':').nth(1)?.parse().ok())
        .collect();
    let mut sorted = lines.clone();
    sorted.sort_unstable();
    assert_eq!(lines, sorted, "errors must be listed in file order");
}

#[test]
fn the_examples_are_valid() {
    for f in [
        "schemas/examples/shop_v1.yaml",
        "schemas/examples/shop_v2.yaml",
    ] {
        if let Err(e) = spec::read_file(Path::new(f)) {
            panic!("{f} must be valid:\n{e}");
        }
    }
}
