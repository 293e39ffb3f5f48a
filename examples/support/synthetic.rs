//! A synthetic schema for the benchmarks: tables of ten columns with
//! defaults, a primary key, an index, a check and a foreign key to the
//! previous table, as a target file (`generate`) and as the DDL that
//! makes exactly that schema in a database (`ddl`).

use std::path::Path;

/// Writes `tables` such tables to `path` as a target file; returns its size.
pub fn generate(tables: usize, path: &Path) -> std::io::Result<u64> {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(f, "tables:")?;
    for t in 0..tables {
        writeln!(f, "  table_{t}:")?;
        writeln!(f, "    columns:")?;
        writeln!(f, "      id: {{ type: bigint, identity: always }}")?;
        writeln!(f, "      parent_id: {{ type: bigint }}")?;
        for c in 0..8 {
            writeln!(
                f,
                "      col_{c}: {{ type: text, nullable: false, default: \"'x'\" }}"
            )?;
        }
        writeln!(f, "    primary_key: [id]")?;
        writeln!(f, "    indexes:")?;
        writeln!(f, "      table_{t}_col_1_idx: {{ columns: [col_1] }}")?;
        writeln!(f, "    checks:")?;
        writeln!(f, "      table_{t}_col_2_check: \"col_2 <> ''\"")?;
        if t > 0 {
            writeln!(f, "    foreign_keys:")?;
            writeln!(
                f,
                "      table_{t}_parent_fk: {{ columns: [parent_id], references: {{ table: table_{}, columns: [id] }} }}",
                t - 1
            )?;
        }
    }
    f.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

/// The DDL of table `t` of the file `generate` writes: a database made
/// with it plans to nothing against that file.
#[allow(dead_code)]
pub fn ddl(t: usize) -> String {
    let cols: String = (0..8)
        .map(|c| format!(", col_{c} text NOT NULL DEFAULT 'x'"))
        .collect();
    let fk = if t == 0 {
        String::new()
    } else {
        format!(
            ", CONSTRAINT table_{t}_parent_fk FOREIGN KEY (parent_id) REFERENCES table_{} (id)",
            t - 1
        )
    };
    format!(
        "CREATE TABLE table_{t} (id bigint GENERATED ALWAYS AS IDENTITY, parent_id bigint{cols},
             CONSTRAINT table_{t}_pkey PRIMARY KEY (id),
             CONSTRAINT table_{t}_col_2_check CHECK (col_2 <> ''){fk});
         CREATE INDEX table_{t}_col_1_idx ON table_{t} (col_1);"
    )
}
