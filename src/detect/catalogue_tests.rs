//! The pinned Claude Code's own catalogue (`tests/fixtures/catalogue-<version>.txt`,
//! extracted from its binary by `scripts/claude-catalogue.py`): every template, its
//! placeholders filled with realistic values, must get the verdict and scope recorded
//! beside it, as a line of its own and under the `⎿` gutter Claude Code prints errors
//! with. The failure names every template that differs, and every one not reviewed yet.

use super::{Scope, Verdict, classify};

/// The catalogue of the version `scripts/install-claude-code.sh` pins.
const CATALOGUE: &str = include_str!("../../tests/fixtures/catalogue-2.1.330.txt");

/// What each kind of placeholder holds on a real screen.
const FILLS: &[(&str, &str)] = &[
    ("${time}", "4:16am (UTC)"),
    ("${duration}", "14s"),
    ("${limit}", "session limit"),
    ("${model}", "Opus"),
    ("${command}", "/usage-credits"),
    ("${url}", "https://claude.ai/settings/usage"),
    ("${n}", "6"),
    ("${status}", "500"),
    ("${detail}", "Bad request"),
    ("${text}", "this"),
    ("${suffix}", ""),
    ("{when}", "at 4:16am"),
    ("{pct}", "20"),
    ("{days}", "3 days"),
    ("{deadline}", "Jul 31"),
];

fn fill(template: &str) -> String {
    FILLS
        .iter()
        .fold(template.to_owned(), |t, (k, v)| t.replace(k, v))
}

fn verdict_of(name: &str) -> Option<Verdict> {
    serde_json::from_value(serde_json::Value::String(name.to_owned())).ok()
}

/// `-` is no scope; anything else must be a scope's name.
fn scope_of(name: &str) -> Result<Option<Scope>, String> {
    if name == "-" {
        return Ok(None);
    }
    serde_json::from_value(serde_json::Value::String(name.to_owned()))
        .map(Some)
        .map_err(|e| format!("unknown scope {name:?}: {e}"))
}

/// `(verdict, scope, template)` of every entry.
fn entries() -> Vec<(&'static str, &'static str, &'static str)> {
    CATALOGUE
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut cols = l.splitn(3, '\t');
            let (v, s, t) = (cols.next(), cols.next(), cols.next());
            match (v, s, t) {
                (Some(v), Some(s), Some(t)) => (v, s, t),
                _ => panic!("catalogue line is not `verdict<TAB>scope<TAB>template`: {l:?}"),
            }
        })
        .collect()
}

#[test]
fn every_template_of_the_pinned_clients_catalogue_is_classified_as_recorded() {
    let mut wrong = Vec::new();
    let mut unreviewed = Vec::new();
    let entries = entries();
    for &(v, s, template) in &entries {
        if v == "?" {
            unreviewed.push(template);
            continue;
        }
        let want_verdict = verdict_of(v).unwrap_or_else(|| panic!("unknown verdict {v:?}"));
        let want_scope = scope_of(s).unwrap_or_else(|e| panic!("{e}"));
        let text = fill(template);
        for shown in [text.clone(), format!("  ⎿  {text}")] {
            let got = classify(&shown);
            if (got.verdict, got.scope) != (want_verdict, want_scope) {
                wrong.push(format!(
                    "  {template}\n    as {shown:?}: got {:?}/{:?}, recorded {v}/{s}",
                    got.verdict, got.scope
                ));
                break;
            }
        }
    }
    assert!(
        wrong.is_empty() && unreviewed.is_empty(),
        "{} of {} templates classify otherwise than recorded:\n{}\n{} not reviewed yet (verdict `?`):\n  {}",
        wrong.len(),
        entries.len(),
        wrong.join("\n"),
        unreviewed.len(),
        unreviewed.join("\n  ")
    );
}

#[test]
fn the_catalogue_holds_every_verdict_kind_and_nothing_unfilled() {
    let entries = entries();
    assert!(entries.len() > 100, "{} templates", entries.len());
    for kind in [
        "limit",
        "warning",
        "throttle",
        "server_error",
        "auth",
        "billing",
        "none",
    ] {
        assert!(entries.iter().any(|e| e.0 == kind), "no {kind} template");
    }
    for (_, _, t) in entries {
        let filled = fill(t);
        assert!(
            !filled.contains("${"),
            "a placeholder kind without a fill: {t}"
        );
    }
}

#[test]
fn the_gate_in_front_of_the_patterns_lets_every_template_through() {
    // Every template the patterns read must pass `line::passes_gate`: the gate's word list
    // is a shortcut, never a filter of its own.
    for (_, _, template) in entries() {
        for line in fill(template).lines() {
            let head = super::text::split(line).head;
            assert_eq!(
                super::line::read(&head),
                super::line::read_ungated(&head),
                "the gate drops {head:?} (template {template:?})"
            );
        }
    }
}
