//! The server crate's modules form no import cycle: every module (one per file; a folder's
//! `mod.rs` is the folder) reaches only modules that do not reach back. A cycle is how layers
//! start to leak — `auth` reaching up into `web`, `serve` and `worker` into each other — so this
//! test reads the sources and fails naming the modules of any cycle it finds.
//!
//! A module's references are the `crate::…` and `super::…` paths in its code outside comments
//! and its `#[cfg(test)] mod tests` (a test may use anything).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// `crate::a::b::…` path of every source file under `dir`, with its text.
fn modules(dir: &Path, prefix: &[String], out: &mut BTreeMap<Vec<String>, PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let mut module = prefix.to_vec();
        if path.is_dir() {
            module.push(name);
            modules(&path, &module, out);
        } else if let Some(stem) = name.strip_suffix(".rs") {
            if stem != "mod" && !(prefix.is_empty() && stem == "lib") {
                module.push(stem.to_owned());
            }
            if !module.is_empty() {
                out.insert(module, path);
            }
        }
    }
}

/// The code of a file without comments and without its test module.
fn code(text: &str) -> String {
    let text = text
        .split("#[cfg(test)]\nmod tests")
        .next()
        .unwrap_or_default();
    text.lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The paths that follow `root` (`crate::` or `super::`) in `code`, with `{a, b::c}` groups
/// spread out: `crate::x::{y, z}` gives `x::y` and `x::z`.
fn paths_after(code: &str, root: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find(root) {
        let before = &rest[..at];
        rest = &rest[at + root.len()..];
        // Not the middle of a longer path (`super::super::x` is read from its first `super`).
        if before.ends_with("::") || before.chars().next_back().is_some_and(is_ident) {
            continue;
        }
        let mut path: Vec<String> = Vec::new();
        let mut tail = rest;
        loop {
            let ident: String = tail.chars().take_while(|c| is_ident(*c)).collect();
            if ident.is_empty() {
                break;
            }
            tail = &tail[ident.len()..];
            path.push(ident);
            match tail.strip_prefix("::") {
                Some(next) => tail = next,
                None => break,
            }
        }
        if let Some(group) = tail.strip_prefix('{') {
            let inner = group.split('}').next().unwrap_or_default();
            for item in inner.split(',') {
                let mut full = path.clone();
                full.extend(
                    item.split("::")
                        .map(|s| s.trim().split(' ').next().unwrap_or_default().to_owned())
                        .filter(|s| !s.is_empty() && s != "self"),
                );
                found.push(full);
            }
        }
        found.push(path);
    }
    found
}

/// Each module with the modules it references.
fn graph(src: &Path) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let mut files = BTreeMap::new();
    modules(src, &[], &mut files);
    let mut graph = BTreeMap::new();
    for (module, path) in &files {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let code = code(&text);
        // `super::` in `a/b.rs` is `a`; in `a/mod.rs` it is the folder's parent.
        let is_folder = path.ends_with("mod.rs");
        let parent: Vec<String> = if is_folder {
            module[..module.len().saturating_sub(1)].to_vec()
        } else {
            module[..module.len() - 1].to_vec()
        };
        let mut refs: Vec<Vec<String>> = paths_after(&code, "crate::");
        refs.extend(paths_after(&code, "super::").into_iter().map(|path| {
            let mut full = parent.clone();
            for segment in path {
                if segment == "super" {
                    full.pop();
                } else {
                    full.push(segment);
                }
            }
            full
        }));
        let mut deps = BTreeSet::new();
        for reference in refs {
            // The longest prefix of the path that is a module.
            if let Some(target) = (1..=reference.len())
                .rev()
                .map(|n| reference[..n].to_vec())
                .find(|prefix| files.contains_key(prefix))
                && &target != module
            {
                deps.insert(target);
            }
        }
        graph.insert(module.clone(), deps);
    }
    graph
}

/// The cycles of `graph`: its strongly connected components of more than one module.
fn cycles(graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<Vec<String>> {
    // Two modules are in one cycle when each reaches the other.
    let reach = |from: &Vec<String>| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(next) = todo.pop() {
            for dep in graph.get(&next).into_iter().flatten() {
                if seen.insert(dep.clone()) {
                    todo.push(dep.clone());
                }
            }
        }
        seen
    };
    let reached: BTreeMap<_, _> = graph.keys().map(|m| (m.clone(), reach(m))).collect();
    let mut done = BTreeSet::new();
    let mut found = Vec::new();
    for module in graph.keys() {
        if done.contains(module) || !reached[module].contains(module) {
            continue;
        }
        let cycle: Vec<String> = graph
            .keys()
            .filter(|other| reached[module].contains(*other) && reached[*other].contains(module))
            .inspect(|other| {
                done.insert((*other).clone());
            })
            .map(|other| other.join("::"))
            .collect();
        found.push(cycle);
    }
    found
}

#[test]
fn no_module_reaches_back_to_a_module_that_reaches_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = graph(&src);
    assert!(graph.len() > 50, "read only {} modules", graph.len());
    let found = cycles(&graph);
    assert!(found.is_empty(), "import cycles between modules: {found:?}");
}

#[test]
fn the_check_sees_a_cycle_and_a_grouped_import() {
    let dir = std::env::temp_dir().join(format!("rivet-cycles-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("web")).ok();
    let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).ok();
    write("auth.rs", "use crate::{config, web::page};\n");
    write("config.rs", "// crate::auth in a comment does not count\n");
    write("web/mod.rs", "mod page;\n");
    write(
        "web/page.rs",
        "use super::super::auth::x;\nfn f() { crate::auth::y(); }\n",
    );
    let graph = graph(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    let web_page = vec!["web".to_owned(), "page".to_owned()];
    assert!(graph[&vec!["auth".to_owned()]].contains(&web_page));
    assert!(graph[&vec!["config".to_owned()]].is_empty());
    assert_eq!(cycles(&graph), vec![vec!["auth", "web::page"]]);
}
