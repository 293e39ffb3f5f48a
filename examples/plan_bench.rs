//! What planning costs the client as a schema grows: the synthetic schema
//! of `yaml_bench` with N tables (default 2000) is planned against itself
//! (nothing to do: the cost of comparing and fingerprinting) and against a
//! target that adds a nullable column and an index to every table (2 N
//! steps). No database is needed.
//!
//!     cargo run --release --example plan_bench            # N = 2000
//!     cargo run --release --example plan_bench -- 500 5000
//!
//! Each figure is the median of seven runs after one warm-up, in one
//! thread, so wall time is the client CPU the planner spends.

use std::time::Instant;

use bellows::model::{ColumnType, Ident, Index, IndexKey, Schema};
use bellows::plan::{PlanOptions, fingerprint, plan};

#[path = "support/synthetic.rs"]
mod synthetic;

/// Median milliseconds of seven runs of `f`, after one warm-up.
fn median_ms(mut f: impl FnMut()) -> f64 {
    f();
    let mut times: Vec<f64> = (0..7)
        .map(|_| {
            let t0 = Instant::now();
            f();
            t0.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// The target: every table gains a nullable `note` column and an index on it.
fn grown(current: &Schema) -> Schema {
    let mut target = current.clone();
    let note = Ident::new("note").expect("a valid name");
    for (name, table) in &mut target.tables {
        table.columns.push(bellows::model::Column::new(
            note.clone(),
            ColumnType::parse("text").expect("a known type"),
        ));
        let index = Ident::new(format!("{}_note_idx", name.name.as_str())).expect("a valid name");
        table.indexes.insert(
            index,
            Index {
                unique: false,
                method: bellows::model::DEFAULT_INDEX_METHOD.to_string(),
                keys: vec![IndexKey::column(note.clone())],
                include: Vec::new(),
                predicate: None,
                nulls_not_distinct: false,
                renamed_from: None,
            },
        );
    }
    target
}

fn main() {
    let sizes: Vec<usize> = {
        let args: Vec<usize> = std::env::args()
            .skip(1)
            .map(|a| a.parse().expect("sizes are numbers of tables"))
            .collect();
        if args.is_empty() { vec![2000] } else { args }
    };
    let dir = tempfile::tempdir().expect("a temp dir");
    let opts = PlanOptions::default();
    println!(
        "{:>7} {:>14} {:>16} {:>7} {:>15}",
        "tables", "no change ms", "add 2N steps ms", "steps", "fingerprint ms"
    );
    for n in sizes {
        let path = dir.path().join(format!("t{n}.yaml"));
        synthetic::generate(n, &path).expect("write the file");
        let current = bellows::spec::read_file(&path)
            .expect("the synthetic file is valid")
            .without_hints();
        let target = grown(&current);
        let steps = plan(&current, &target, &opts)
            .expect("the synthetic change plans")
            .steps
            .len();
        let same = median_ms(|| {
            let p = plan(&current, &current, &opts).expect("plans");
            assert!(p.is_empty());
        });
        let grow = median_ms(|| {
            plan(&current, &target, &opts).expect("plans");
        });
        let fp = median_ms(|| {
            std::hint::black_box(fingerprint(&current));
        });
        println!("{n:>7} {same:>14.1} {grow:>16.1} {steps:>7} {fp:>15.1}");
    }
}
