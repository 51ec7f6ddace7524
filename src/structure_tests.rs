//! The module graph has no cycles: a top-level module (`src/<name>.rs` with its
//! `src/<name>/` children) that uses `crate::b` depends on `b`, and no chain of such
//! dependencies may lead back to where it started. Read from the sources, so a new
//! `use` that closes a loop fails here, naming the loop.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each top-level module and the top-level modules its non-test code names.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let rel = p.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
            let top = rel
                .split('/')
                .next()
                .unwrap()
                .trim_end_matches(".rs")
                .to_string();
            if p.extension().is_none_or(|x| x != "rs")
                || rel.ends_with("_tests.rs")
                || rel.ends_with("/tests.rs")
                || ["main", "lib"].contains(&top.as_str())
            {
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            // Tests may reach anywhere.
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            let deps = g.entry(top.clone()).or_default();
            for name in crate_refs(code) {
                if name != top {
                    deps.insert(name);
                }
            }
        }
    }
    g
}

/// The first segment after each `crate::`, including each item of `use crate::{a, b::c}`.
fn crate_refs(code: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut start = true;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if start && !c.is_whitespace() => {
                        start = false;
                        out.insert(ident(&group[j..]));
                    }
                    _ => {}
                }
            }
        } else {
            out.insert(ident(rest));
        }
    }
    out.remove("");
    out
}

/// A cycle through `g`, if there is one, as the modules along it.
fn cycle(g: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        g: &BTreeMap<String, BTreeSet<String>>,
        at: &str,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == at) {
            let mut c = path[i..].to_vec();
            c.push(at.to_string());
            return Some(c);
        }
        if done.contains(at) {
            return None;
        }
        path.push(at.to_string());
        for next in g.get(at).into_iter().flatten() {
            if let Some(c) = visit(g, next, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(at.to_string());
        None
    }
    let mut done = BTreeSet::new();
    g.keys()
        .find_map(|m| visit(g, m, &mut Vec::new(), &mut done))
}

#[test]
fn the_modules_depend_on_each_other_without_a_cycle() {
    let g = graph();
    assert!(
        g.contains_key("failover") && g["quota"].contains("failover"),
        "{g:?}"
    );
    if let Some(c) = cycle(&g) {
        panic!("a dependency cycle between modules: {}", c.join(" -> "));
    }
}

#[test]
fn the_checker_finds_a_cycle_and_reads_grouped_uses() {
    let refs = crate_refs("use crate::{a::{b, c}, d};\nlet x = crate::e::f();");
    assert_eq!(refs, ["a", "d", "e"].map(String::from).into());
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.insert("context".into(), ["failover".into()].into());
    g.insert("failover".into(), ["notify".into()].into());
    g.insert("notify".into(), ["context".into()].into());
    assert_eq!(
        cycle(&g).unwrap(),
        ["context", "failover", "notify", "context"]
    );
    g.get_mut("notify").unwrap().clear();
    assert_eq!(cycle(&g), None);
}
