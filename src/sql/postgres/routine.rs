//! DDL for functions, procedures and triggers.

use super::{ident_list, qualified, type_sql};
use crate::model::*;
use crate::sql::{quote_ident, quote_literal};

/// An argument as `CREATE FUNCTION` takes it, its type qualified.
pub fn arg_sql(a: &Arg) -> String {
    let mut s = String::new();
    match a.mode {
        ArgMode::In => {}
        ArgMode::Out => s.push_str("OUT "),
        ArgMode::InOut => s.push_str("INOUT "),
        ArgMode::Variadic => s.push_str("VARIADIC "),
    }
    if let Some(n) = &a.name {
        s.push_str(&quote_ident(n.as_str()));
        s.push(' ');
    }
    s.push_str(&type_sql(&a.ty));
    if let Some(d) = &a.default {
        s.push_str(" DEFAULT ");
        s.push_str(d);
    }
    s
}

/// `schema.name(type, ...)`: the routine as `DROP`, `ALTER` and
/// `COMMENT ON` name it.
pub fn routine_signature(key: &RoutineKey) -> String {
    let types: Vec<String> = key.args.iter().map(type_sql).collect();
    format!("{}({})", qualified(&key.name), types.join(", "))
}

/// Settings whose value is a list, written unquoted in `SET name TO
/// value` (quoting would make the whole list one element).
const LIST_SETTINGS: &[&str] = &[
    "search_path",
    "temp_tablespaces",
    "session_preload_libraries",
    "local_preload_libraries",
    "shared_preload_libraries",
];

/// `SET name TO value`, as a routine's clause.
pub fn setting_clause(name: &str, value: &str) -> String {
    if LIST_SETTINGS.contains(&name) {
        format!("SET {name} TO {value}")
    } else {
        format!("SET {name} TO {}", quote_literal(value))
    }
}

/// `CREATE [OR REPLACE] FUNCTION` (or `PROCEDURE`) for `r`, then its
/// comment. Run it with `search_path = public` (as names in a target
/// resolve) and, for a body that is a string, `check_function_bodies`
/// off: the body is checked when it runs, as `pg_dump`'s output is
/// (tables a body reads may come later in the plan).
pub fn create_routine(key: &RoutineKey, r: &Routine, or_replace: bool) -> Vec<String> {
    let args: Vec<String> = r.args.iter().map(arg_sql).collect();
    let mut s = format!(
        "CREATE {}{} {}({})",
        if or_replace { "OR REPLACE " } else { "" },
        r.kind.keyword(),
        qualified(&key.name),
        args.join(", ")
    );
    if let Some(ret) = &r.returns {
        s.push_str(&format!("\n RETURNS {ret}"));
    }
    s.push_str(&format!("\n LANGUAGE {}", quote_ident(r.language.as_str())));
    if r.kind == RoutineKind::Function {
        let mut traits = Vec::new();
        if r.volatility != Volatility::Volatile {
            traits.push(r.volatility.as_str().to_ascii_uppercase());
        }
        if r.strict {
            traits.push("STRICT".into());
        }
        if r.leakproof {
            traits.push("LEAKPROOF".into());
        }
        if r.parallel != Parallel::Unsafe {
            traits.push(format!(
                "PARALLEL {}",
                r.parallel.as_str().to_ascii_uppercase()
            ));
        }
        if let Some(c) = &r.cost {
            traits.push(format!("COST {c}"));
        }
        if let Some(n) = &r.rows {
            traits.push(format!("ROWS {n}"));
        }
        if !traits.is_empty() {
            s.push_str(&format!("\n {}", traits.join(" ")));
        }
    }
    if r.security_definer {
        s.push_str("\n SECURITY DEFINER");
    }
    for (name, value) in &r.config {
        s.push_str(&format!("\n {}", setting_clause(name, value)));
    }
    if r.sql_standard_body() {
        s.push('\n');
        s.push_str(&r.body);
    } else {
        let mut tag = "$body$".to_string();
        let mut n = 0;
        while r.body.contains(&tag) {
            n += 1;
            tag = format!("$body{n}$");
        }
        s.push_str(&format!("\nAS {tag}{}{tag}", r.body));
    }
    let mut out = vec![s];
    if let Some(c) = &r.comment {
        out.push(routine_comment(key, r.kind, Some(c)));
    }
    out
}

/// `COMMENT ON FUNCTION ... IS ...` (`NULL` takes it away).
pub fn routine_comment(key: &RoutineKey, kind: RoutineKind, comment: Option<&str>) -> String {
    format!(
        "COMMENT ON {} {} IS {}",
        kind.keyword(),
        routine_signature(key),
        super::comment_literal(comment)
    )
}

/// `CREATE TRIGGER` for `t`, then what sets its enabled state and its
/// comment when they are not the defaults.
pub fn create_trigger(key: &TriggerKey, t: &Trigger) -> Vec<String> {
    let mut events = Vec::new();
    if t.insert {
        events.push("INSERT".to_string());
    }
    if let Some(cols) = &t.update {
        if cols.is_empty() {
            events.push("UPDATE".to_string());
        } else {
            events.push(format!("UPDATE OF {}", ident_list(cols)));
        }
    }
    if t.delete {
        events.push("DELETE".to_string());
    }
    if t.truncate {
        events.push("TRUNCATE".to_string());
    }
    let mut s = format!(
        "CREATE {}TRIGGER {} {} {} ON {}",
        if t.constraint.is_some() {
            "CONSTRAINT "
        } else {
            ""
        },
        quote_ident(key.name.as_str()),
        t.timing.sql(),
        events.join(" OR "),
        qualified(&key.table),
    );
    if t.old_table.is_some() || t.new_table.is_some() {
        s.push_str(" REFERENCING");
        if let Some(o) = &t.old_table {
            s.push_str(&format!(" OLD TABLE AS {}", quote_ident(o.as_str())));
        }
        if let Some(n) = &t.new_table {
            s.push_str(&format!(" NEW TABLE AS {}", quote_ident(n.as_str())));
        }
    }
    match t.constraint {
        Some(Deferrable::InitiallyImmediate) => s.push_str(" DEFERRABLE INITIALLY IMMEDIATE"),
        Some(Deferrable::InitiallyDeferred) => s.push_str(" DEFERRABLE INITIALLY DEFERRED"),
        Some(Deferrable::No) | None => {}
    }
    s.push_str(if t.for_each_row {
        " FOR EACH ROW"
    } else {
        " FOR EACH STATEMENT"
    });
    if let Some(w) = &t.when {
        s.push_str(&format!(" WHEN ({w})"));
    }
    let args: Vec<String> = t.arguments.iter().map(|a| quote_literal(a)).collect();
    s.push_str(&format!(
        " EXECUTE FUNCTION {}({})",
        qualified(&t.function),
        args.join(", ")
    ));
    let mut out = vec![s];
    if t.enabled != Enabled::Origin {
        out.push(trigger_enabled(key, t.enabled));
    }
    if let Some(c) = &t.comment {
        out.push(trigger_comment(key, Some(c)));
    }
    out
}

/// `ALTER TABLE ... ENABLE / DISABLE TRIGGER`.
pub fn trigger_enabled(key: &TriggerKey, enabled: Enabled) -> String {
    let how = match enabled {
        Enabled::Origin => "ENABLE",
        Enabled::Disabled => "DISABLE",
        Enabled::Replica => "ENABLE REPLICA",
        Enabled::Always => "ENABLE ALWAYS",
    };
    format!(
        "ALTER TABLE {} {how} TRIGGER {}",
        qualified(&key.table),
        quote_ident(key.name.as_str())
    )
}

/// `COMMENT ON TRIGGER` (`NULL` takes it away).
pub fn trigger_comment(key: &TriggerKey, comment: Option<&str>) -> String {
    format!(
        "COMMENT ON TRIGGER {} ON {} IS {}",
        quote_ident(key.name.as_str()),
        qualified(&key.table),
        super::comment_literal(comment)
    )
}

/// `DROP TRIGGER`.
pub fn drop_trigger(key: &TriggerKey) -> String {
    format!(
        "DROP TRIGGER {} ON {}",
        quote_ident(key.name.as_str()),
        qualified(&key.table)
    )
}
