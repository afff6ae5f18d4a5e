//! The house rules of docs/architecture.md, checked on the source: no
//! import cycle between the modules of any crate, no source file over 800
//! lines, and nothing above the drivers that compares engine names or
//! SQLSTATE codes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every crate's `src` directory.
fn crates() -> Vec<(String, PathBuf)> {
    let mut all: Vec<(String, PathBuf)> = std::fs::read_dir(workspace().join("crates"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("src").is_dir())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                p.join("src"),
            )
        })
        .collect();
    all.sort();
    all
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
}

/// The module path of a file (`exec::apply` for `src/exec/apply.rs`, the
/// empty path for the crate root).
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The code of a file without its unit tests (`#[cfg(test)] mod tests`)
/// and comments.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    // Comment lines are blanked, so line numbers stay right.
    text.lines()
        .map(|l| {
            if l.trim_start().starts_with("//") {
                ""
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths named after `crate::` or `super::` in `code`, as segments;
/// `super` is resolved against `module`. A group (`crate::{a::B, c}`) gives
/// one path per item.
fn paths(code: &str, module: &[String]) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for (prefix, base) in [
        ("crate::", Vec::new()),
        ("super::", module[..module.len().saturating_sub(1)].to_vec()),
    ] {
        let mut rest = code;
        while let Some(i) = rest.find(prefix) {
            let before = rest[..i].chars().last();
            rest = &rest[i + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            for tail in items(rest) {
                let mut path = base.clone();
                path.extend(tail);
                found.push(path);
            }
        }
    }
    found
}

/// The paths at the start of `text`: `a::b::C` or a `{...}` group.
fn items(text: &str) -> Vec<Vec<String>> {
    if let Some(group) = text.strip_prefix('{') {
        let mut depth = 0;
        let end = group
            .char_indices()
            .find(|&(_, c)| {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => return true,
                    '}' => depth -= 1,
                    _ => {}
                }
                false
            })
            .map_or(group.len(), |(i, _)| i);
        let inner = &group[..end];
        let mut out = Vec::new();
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    out.extend(items(inner[start..i].trim()));
                    start = i + 1;
                }
                _ => {}
            }
        }
        out.extend(items(inner[start..].trim()));
        return out;
    }
    let mut segments = Vec::new();
    let mut rest = text;
    loop {
        let len = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if len == 0 {
            break;
        }
        segments.push(rest[..len].to_string());
        rest = &rest[len..];
        match rest.strip_prefix("::") {
            Some(r) if r.starts_with('{') => {
                return items(r)
                    .into_iter()
                    .map(|tail| segments.iter().cloned().chain(tail).collect())
                    .collect();
            }
            Some(r) => rest = r,
            None => break,
        }
    }
    vec![segments]
}

/// Names the crate root re-exports from a module (`pub use exec::Report`).
fn reexports(root: &str, modules: &BTreeSet<Vec<String>>) -> BTreeMap<String, Vec<String>> {
    let mut map = BTreeMap::new();
    for stmt in root.split(';') {
        let Some(at) = stmt.find("pub use ") else {
            continue;
        };
        for path in items(stmt[at + 8..].trim()) {
            if let Some(module) = owner(&path, modules)
                && let Some(name) = path.last()
            {
                map.insert(name.clone(), module);
            }
        }
    }
    map
}

/// The longest module that `path` starts with.
fn owner(path: &[String], modules: &BTreeSet<Vec<String>>) -> Option<Vec<String>> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| modules.contains(p))
}

/// Groups of modules that import each other, directly or through others.
fn cycles(graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<Vec<String>> {
    let reach = |from: &Vec<String>| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(m) = todo.pop() {
            for next in graph.get(&m).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<_, _> = graph.keys().map(|m| (m.clone(), reach(m))).collect();
    let mut groups: Vec<Vec<String>> = Vec::new();
    for m in graph.keys() {
        let group: Vec<String> = graph
            .keys()
            .filter(|o| reaches[m].contains(*o) && reaches[*o].contains(m))
            .map(|o| o.join("::"))
            .collect();
        if !group.is_empty() && !groups.contains(&group) {
            groups.push(group);
        }
    }
    groups
}

#[test]
fn no_module_imports_a_module_that_imports_it_back() {
    let mut found = Vec::new();
    for (name, src) in crates() {
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let modules: BTreeSet<Vec<String>> = files
            .iter()
            .map(|f| module_of(&src, f))
            .filter(|m| !m.is_empty())
            .collect();
        let root = files
            .iter()
            .find(|f| module_of(&src, f).is_empty())
            .map(|f| std::fs::read_to_string(f).unwrap())
            .unwrap_or_default();
        let names = reexports(&code(&root), &modules);
        let mut graph: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
        for file in &files {
            let module = module_of(&src, file);
            if module.is_empty() {
                continue;
            }
            let text = code(&std::fs::read_to_string(file).unwrap());
            let uses = graph.entry(module.clone()).or_default();
            for path in paths(&text, &module) {
                let target = owner(&path, &modules)
                    .or_else(|| path.first().and_then(|n| names.get(n)).cloned());
                if let Some(target) = target.filter(|t| *t != module) {
                    uses.insert(target);
                }
            }
        }
        for group in cycles(&graph) {
            found.push(format!("{name}: {}", group.join(" <-> ")));
        }
    }
    assert!(
        found.is_empty(),
        "modules that import each other (move what they share into a module below both):\n{}",
        found.join("\n")
    );
}

#[test]
fn no_source_file_is_over_800_lines() {
    let mut long = Vec::new();
    for (_, src) in crates() {
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        for file in files.iter().filter(|f| !f.ends_with("tests.rs")) {
            let text = std::fs::read_to_string(file).unwrap();
            let lines = match text.find("#[cfg(test)]\nmod tests") {
                Some(i) => text[..i].lines().count(),
                None => text.lines().count(),
            };
            if lines > 800 {
                long.push(format!(
                    "{}: {lines} lines",
                    file.strip_prefix(workspace()).unwrap_or(file).display()
                ));
            }
        }
    }
    assert!(
        long.is_empty(),
        "split these by concern:\n{}",
        long.join("\n")
    );
}

/// Above the drivers, an engine is asked what it can do (its
/// `Capabilities`, its `EngineKind`), and a failed statement says what kind
/// of failure it was (`StatementError::kind`): no code compares engine
/// names or SQLSTATE codes.
#[test]
fn nothing_above_the_drivers_compares_engine_names_or_error_codes() {
    let engines = ["sqlite", "postgres", "postgresql", "mysql", "mariadb"];
    let mut found = Vec::new();
    for (name, src) in crates() {
        if !matches!(name.as_str(), "strata_engine" | "strata_cli") {
            continue;
        }
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        for file in files {
            let text = code(&std::fs::read_to_string(&file).unwrap());
            for (n, line) in text.lines().enumerate() {
                let compares_name = engines.iter().any(|e| {
                    let quoted = format!("\"{e}\"");
                    line.contains(&format!("== {quoted}"))
                        || line.contains(&format!("!= {quoted}"))
                        || line.trim_start().starts_with(&format!("{quoted} =>"))
                        || line.contains(&format!("Some({quoted}) =>"))
                });
                let compares_code = line.contains(".code.as_deref()")
                    || line.contains("SQLSTATE") && line.contains("==");
                if compares_name || compares_code {
                    found.push(format!(
                        "{}:{}: {}",
                        file.strip_prefix(workspace()).unwrap_or(&file).display(),
                        n + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "ask the driver instead (Capabilities, EngineKind, StatementError::kind):\n{}",
        found.join("\n")
    );
}
