//! `ccf history` through the binary: the runs that change something leave one line each
//! in `state_dir/history.jsonl`, listed and summed up per account, drawn with `--svg`.

use crate::support::Sandbox;

const NOW: &str = "2026-12-02T14:00:00Z";

/// A limit on compte1 at 14:00 (resets 16:00), the swap to compte2, and the return at
/// 16:05, with the dedicated session running claude throughout.
fn a_limit_and_the_return() -> Sandbox {
    let sb = crate::support::dedicated_on_claude(NOW);
    crate::support::stop_and_swap(
        &sb,
        "rate_limit",
        "You've hit your limit · resets 4pm (UTC)",
    );
    sb.ccf(&["check-quota"])
        .env("CCF_NOW", "2026-12-02T16:05:00Z")
        .stdout_has("compte2 -> compte1")
        .run();
    sb
}

#[test]
fn each_change_leaves_one_line_and_the_summary_sums_them_per_account() {
    let sb = a_limit_and_the_return();
    let log = std::fs::read_to_string(sb.path("state/history.jsonl")).unwrap();
    let kinds: Vec<String> = log
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "limit_seen",
            "swap_started",
            "swap_done",
            "swap_started",
            "returned"
        ],
        "{log}"
    );

    let now = "2026-12-02T17:00:00Z";
    sb.ccf(&["history", "--since", "1d"])
        .env("CCF_NOW", now)
        .stdout_has("history since Tue 17:00 UTC (1d):\n")
        .stdout_has("  2026-12-02 14:00  limit_seen     compte1 out until 16:00 UTC\n")
        .stdout_has("  2026-12-02 14:00  swap_started   compte1 -> compte2 (")
        .stdout_has("  2026-12-02 14:00  swap_done      compte1 -> compte2, moved ccl-1-proj\n")
        .stdout_has("  2026-12-02 16:05  returned       compte2 -> compte1, back on the primary\n")
        .stdout_has("summary:\n")
        .stdout_has(
            "  compte1      1 limit, exhausted 2h, active 21h 55m, 1 swap away, 1 onto it\n",
        )
        .stdout_has("  compte2      0 limits, exhausted 0s, active 2h 5m, 1 swap away, 1 onto it\n")
        .stdout_has("  parked (every account out): 0s\n")
        .run();

    let doc = sb
        .ccf(&["history", "--since", "1d", "--json"])
        .env("CCF_NOW", now)
        .run()
        .json();
    assert_eq!(doc["since"], "2026-12-01T17:00:00Z");
    assert_eq!(doc["events"].as_array().unwrap().len(), 5);
    assert_eq!(doc["events"][0]["kind"], "limit_seen");
    assert_eq!(doc["events"][0]["until"], "2026-12-02T16:00:00Z");
    assert_eq!(doc["rows"][0]["account"], "compte1");
    assert_eq!(doc["rows"][0]["exhausted_secs"], 7200);
    assert_eq!(
        doc["rows"][0]["exhausted"],
        serde_json::json!([{"from": "2026-12-02T14:00:00Z", "to": "2026-12-02T16:00:00Z"}])
    );
    assert_eq!(doc["rows"][1]["active_secs"], 2 * 3600 + 5 * 60);
    assert_eq!(doc["marks"][1]["kind"], "return");

    // One account: its events (and those of every account), its row only.
    let doc = sb
        .ccf(&["history", "--account", "compte2", "--json"])
        .env("CCF_NOW", now)
        .run()
        .json();
    assert_eq!(doc["events"].as_array().unwrap().len(), 4, "{doc}");
    assert_eq!(doc["rows"].as_array().unwrap().len(), 1);

    // The window: nothing in the last half hour.
    sb.ccf(&["history", "--since", "30m"])
        .env("CCF_NOW", now)
        .stdout_has("  nothing happened\n")
        .run();
}

#[test]
fn the_timeline_is_drawn_into_a_file_as_svg() {
    let sb = a_limit_and_the_return();
    let file = sb.path("week.svg");
    sb.ccf(&["history", "--svg", file.to_str().unwrap()])
        .env("CCF_NOW", "2026-12-02T17:00:00Z")
        .stdout_is("")
        .run();
    let svg = std::fs::read_to_string(&file).unwrap();
    assert!(svg.starts_with("<svg "), "{svg}");
    assert!(svg.trim_end().ends_with("</svg>"));
    for text in [
        "compte1",
        "compte2",
        "active",
        "exhausted",
        "swap",
        "return to the primary",
    ] {
        assert!(
            svg.contains(&format!(">\n{text}\n</text>")),
            "no {text:?} in the picture"
        );
    }
}

#[test]
fn an_unknown_account_and_a_damaged_line_are_named() {
    let sb = a_limit_and_the_return();
    sb.ccf(&["history", "--account", "compte9"])
        .code(1)
        .stderr_has("no account named compte9; known: compte1, compte2 (in ")
        .run();
    let path = sb.path("state/history.jsonl");
    let mut log = std::fs::read_to_string(&path).unwrap();
    log.insert_str(0, "not json\n");
    std::fs::write(&path, log).unwrap();
    sb.ccf(&["history"])
        .stderr_has(&format!(
            "ignoring a history line that does not parse: {}:1: ",
            path.display()
        ))
        .stdout_has("returned")
        .run();
}
