//! How reading and validating a target file scales with its size: the
//! time per megabyte should stay flat (linear growth), and so should the
//! memory per megabyte.
//!
//!     cargo run --release --example yaml_bench               # 1000 4000 16000 32000 tables
//!     cargo run --release --example yaml_bench -- 500 5000   # other sizes
//!
//! Each size is a synthetic schema (tables of ten columns with defaults, a
//! primary key, an index, a check and a foreign key to the previous
//! table). Each is read in a fresh child process (so its peak memory is
//! its own): five timed reads after one warm-up, the median quoted.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

#[path = "support/synthetic.rs"]
mod synthetic;
use synthetic::generate;

/// Peak resident memory of this process, from the kernel.
fn peak_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// Child mode: read one file six times, print the median of the last five
/// (in ms) and the peak memory.
fn one(path: &Path) {
    let mut times = Vec::new();
    for i in 0..6 {
        let t0 = Instant::now();
        let schema = bellows::spec::read_file(path).expect("the synthetic file is valid");
        let ms = t0.elapsed().as_secs_f64() * 1000.0;
        assert!(!schema.tables.is_empty());
        drop(schema);
        if i > 0 {
            times.push(ms);
        }
    }
    times.sort_by(f64::total_cmp);
    println!("{:.1} {}", times[times.len() / 2], peak_kb());
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--one") {
        one(Path::new(&args[1]));
        return;
    }
    let sizes: Vec<usize> = if args.is_empty() {
        vec![1000, 4000, 16000, 32000]
    } else {
        args.iter()
            .map(|a| a.parse().expect("sizes are numbers of tables"))
            .collect()
    };
    let dir = tempfile::tempdir().expect("a temp dir");
    let me = std::env::current_exe().expect("own path");
    println!(
        "{:>8} {:>9} {:>10} {:>10} {:>10} {:>11}",
        "tables", "MB", "read ms", "ms per MB", "peak MB", "peak per MB"
    );
    for n in sizes {
        let path = dir.path().join(format!("t{n}.yaml"));
        let bytes = generate(n, &path).expect("write the file");
        let out = Command::new(&me)
            .arg("--one")
            .arg(&path)
            .output()
            .expect("the child runs");
        let text = String::from_utf8_lossy(&out.stdout);
        let mut parts = text.split_whitespace();
        let ms: f64 = parts
            .next()
            .and_then(|x| x.parse().ok())
            .unwrap_or(f64::NAN);
        let peak_kb: f64 = parts
            .next()
            .and_then(|x| x.parse().ok())
            .unwrap_or(f64::NAN);
        let mb = bytes as f64 / (1024.0 * 1024.0);
        println!(
            "{n:>8} {mb:>9.1} {ms:>10.0} {:>10.0} {:>10.0} {:>11.1}",
            ms / mb,
            peak_kb / 1024.0,
            peak_kb / 1024.0 / mb
        );
    }
}
