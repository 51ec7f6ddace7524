//! Several hosts sharing accounts through a real 3-member etcd cluster on loopback: each
//! "host" is its own sandbox (HOME, private tmux server, state dir) with the same account
//! names, and check-quota runs with a pinned clock (`CCF_NOW`) so resets pass at once.

use std::time::{Duration, Instant};

use ccf::state::State;

use crate::support::etcd::Etcd;
use crate::support::{Sandbox, wait_for};

/// The reset the fake claude's limit banner names: 1893456000.
const RESET: &str = "2030-01-01T00:00:00Z";
const BEFORE: &str = "2029-12-31T22:00:00Z";
const AFTER: &str = "2030-01-01T00:06:00Z";
const ID: &str = "11111111-2222-4333-8444-555555555555";

/// A host of the fleet: every account logged in, the layout built (link -> compte1),
/// `fleet:` pointing at `etcd` under `prefix` as `host`, with `extra` fleet keys.
fn host(etcd: &Etcd, prefix: &str, name: &str, extra: &str) -> Sandbox {
    let sb = Sandbox::new();
    sb.hold_notifications();
    sb.login_all();
    let config = std::fs::read_to_string(&sb.config).unwrap();
    sb.write_config(&format!("{config}{}{extra}", etcd.config(prefix, name)));
    sb.ccf(&["ensure-symlinks"]).run();
    sb
}

/// Starts claude in the dedicated session: pinned to `account`, or on `~/.claude`.
fn start(sb: &Sandbox, account: Option<&str>) {
    let mut argv: Vec<String> = vec!["env".into()];
    if let Some(a) = account {
        argv.push(format!(
            "CLAUDE_CONFIG_DIR={}",
            sb.account_home(a).display()
        ));
    }
    argv.extend(["claude".into(), "--session-id".into(), ID.into()]);
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    sb.tmux.new_session("ccl-1-proj", &sb.path("proj"), &argv);
    sb.tmux
        .wait_for_text("ccl-1-proj", "Welcome to fake Claude Code");
}

/// Makes the dedicated session (pinned to compte1) show the 5-hour limit banner.
fn show_limit(sb: &Sandbox) {
    sb.set_mode("compte1", "limit 1893456000");
    sb.tmux.type_line("ccl-1-proj", "hi");
    sb.tmux
        .wait_for_text("ccl-1-proj", "You've hit your 5-hour limit");
    sb.set_mode("compte1", "normal");
}

fn check(sb: &Sandbox, now: &str) -> crate::support::Run {
    sb.ccf(&["check-quota"]).env("CCF_NOW", now)
}

fn load(sb: &Sandbox) -> State {
    State::load(&sb.state_file()).unwrap()
}

fn ts(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

#[test]
fn the_harness_starts_a_healthy_three_member_cluster_and_reads_back_a_put() {
    let Some(mut etcd) = Etcd::start() else {
        return;
    };
    etcd.put("/t/a", "1");
    assert_eq!(
        etcd.range("/t/"),
        vec![("/t/a".to_string(), "1".to_string())]
    );
    etcd.kill(0);
    etcd.put("/t/b", "2");
    assert_eq!(etcd.range("/t/").len(), 2);
}

/// Host 1 hits the limit on compte1 and publishes it; hosts 2 and 3, whose panes show
/// nothing, move off compte1 on their next check (host 2's session carried by the link,
/// host 3's pinned one relaunched); all three return at the shared reset.
fn a_limit_on_one_host_moves_the_others(etcd: &Etcd) {
    let h1 = host(etcd, "/f", "h1", "");
    let h2 = host(etcd, "/f", "h2", "");
    // Host 3's session is pinned to compte1 (CLAUDE_CONFIG_DIR): it is relaunched.
    let h3 = host(etcd, "/f", "h3", "");
    start(&h1, Some("compte1"));
    start(&h2, None);
    start(&h3, Some("compte1"));
    // A conversation to resume after the relaunch.
    h3.tmux.type_line("ccl-1-proj", "hi");
    h3.tmux.wait_for_text("ccl-1-proj", "reply to: hi");
    let h2_pid = h2.tmux.pane_pid("ccl-1-proj");
    check(&h2, BEFORE).stdout_lacks("swapped").run();

    show_limit(&h1);
    check(&h1, BEFORE)
        .stdout_has("swapped compte1 -> compte2")
        .run();
    let shared = etcd.range("/f/v1/limit/");
    assert_eq!(shared.len(), 1, "{shared:?}");
    assert!(
        shared[0].1.contains(RESET) && shared[0].1.contains("\"h1\""),
        "{shared:?}"
    );

    // What host 2 would do, and why, before it does it.
    h2.ccf(&["check-quota", "--dry-run"])
        .env("CCF_NOW", "2029-12-31T22:00:30Z")
        .stdout_has("- [fleet] on compte1: limit — seen on host h1 (pane) at 2029-12-31T22:00:00Z → limit until 2030-01-01T00:00:00Z")
        .stdout_has("→ swap away from compte1 to compte2: usage limit on compte1")
        .run();
    check(&h2, "2029-12-31T22:00:30Z")
        .stdout_has("swapped compte1 -> compte2 (usage limit on compte1)")
        .run();
    assert_eq!(
        h2.tmux.pane_pid("ccl-1-proj"),
        h2_pid,
        "carried by the link"
    );
    assert!(
        !h2.tmux.capture("ccl-1-proj").contains("limit"),
        "host 2 never hit the wall"
    );
    let st = load(&h2);
    assert_eq!(st.accounts["compte1"].exhausted_until, Some(ts(RESET)));
    assert_eq!(
        st.pending_return.as_ref().map(|p| p.not_before),
        Some(ts("2030-01-01T00:05:00Z")),
        "the return uses the shared reset"
    );
    // A standing fleet limit is no news: the checks after stay, and once the swap's
    // aftermath is recorded they write no state for it.
    check(&h2, "2029-12-31T22:01:00Z")
        .stdout_lacks("swapped")
        .run();
    let saved = std::fs::read_to_string(h2.state_file()).unwrap();
    check(&h2, "2029-12-31T22:01:30Z")
        .stdout_lacks("swapped")
        .run();
    assert_eq!(std::fs::read_to_string(h2.state_file()).unwrap(), saved);
    check(&h3, "2029-12-31T22:00:30Z")
        .stdout_has("swapped compte1 -> compte2 (usage limit on compte1): moved ccl-1-proj")
        .run();

    for h in [&h1, &h2, &h3] {
        check(h, AFTER)
            .stdout_has("swapped compte2 -> compte1")
            .run();
        assert_eq!(load(h).active_account.as_deref(), Some("compte1"));
    }
}

#[test]
fn a_limit_seen_on_one_host_moves_the_other_hosts_sessions_and_all_return_after_the_shared_reset() {
    let Some(etcd) = Etcd::start() else { return };
    a_limit_on_one_host_moves_the_others(&etcd);
}

#[test]
fn with_one_etcd_member_killed_the_fleet_still_shares_limits() {
    let Some(mut etcd) = Etcd::start() else {
        return;
    };
    // The first endpoint each host tries is the dead one (maybe the leader: the put
    // waits for the next).
    etcd.kill(0);
    etcd.put("/f/elected", "1");
    a_limit_on_one_host_moves_the_others(&etcd);
}

#[test]
fn with_etcd_gone_each_host_swaps_on_its_own_limits_within_the_timeout_and_says_so_once() {
    let Some(mut etcd) = Etcd::start() else {
        return;
    };
    let h1 = host(&etcd, "/g", "h1", "  timeout: 500ms\n");
    let h2 = host(&etcd, "/g", "h2", "  timeout: 500ms\n");
    start(&h1, Some("compte1"));
    start(&h2, None);
    check(&h1, BEFORE).run();
    etcd.kill_all();

    let t = Instant::now();
    let first = h2
        .ccf(&["check-quota"])
        .env("CCF_NOW", BEFORE)
        .stderr_has("fleet: etcd unreachable")
        .stderr_has("working as a single host")
        .stdout_lacks("swapped")
        .run();
    let alone = t.elapsed();
    assert!(
        alone < Duration::from_secs(5),
        "{alone:?}: {}",
        first.stderr
    );
    // Said once: the next run is quiet about it.
    let second = check(&h2, BEFORE).run();
    assert!(!second.stderr.contains("fleet"), "{}", second.stderr);

    show_limit(&h1);
    let t = Instant::now();
    h1.ccf(&["check-quota"])
        .env("CCF_NOW", BEFORE)
        .stderr_has("fleet: etcd unreachable")
        .stdout_has("swapped compte1 -> compte2")
        .run();
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    // Host 2 learns nothing without etcd: it stays until its own panes say otherwise.
    check(&h2, "2029-12-31T22:00:30Z")
        .stdout_lacks("swapped")
        .run();
    h2.ccf(&["status"])
        .env("CCF_NOW", BEFORE)
        .stdout_has("fleet: unreachable since 2029-12-31T22:00:00Z")
        .run();
    h2.ccf(&["status", "--fleet"])
        .code(1)
        .stderr_has("error: failed to read the fleet from etcd: etcd unreachable")
        .run();
    let status = h2.ccf(&["status", "--json"]).run().json();
    assert!(
        status["fleet"]["problem"]
            .as_str()
            .unwrap()
            .starts_with("etcd unreachable"),
        "{status:#}"
    );
}

#[test]
fn without_quorum_a_run_waits_on_etcd_at_most_the_fleet_timeout() {
    let Some(mut etcd) = Etcd::start() else {
        return;
    };
    let h = host(&etcd, "/q", "h1", "  timeout: 700ms\n");
    start(&h, Some("compte1"));
    check(&h, BEFORE).run();
    let with_fleet = std::fs::read_to_string(&h.config).unwrap();
    let alone = with_fleet[..with_fleet.find("fleet:").unwrap()].to_string();
    // The one member left cannot answer a linearizable read: it hangs, or says so late.
    etcd.kill(0);
    etcd.kill(1);
    let time = |expect_fleet: bool| {
        let t = Instant::now();
        let run = check(&h, BEFORE).stdout_lacks("swapped");
        let run = if expect_fleet {
            run.stderr_may_have("fleet: etcd unreachable")
        } else {
            run
        };
        run.run();
        t.elapsed()
    };
    h.write_config(&alone);
    let usual = (0..3).map(|_| time(false)).max().unwrap();
    h.write_config(&with_fleet);
    let took = time(true);
    assert!(
        took < usual + Duration::from_millis(700) + Duration::from_millis(800),
        "{took:?} against {usual:?} without the fleet"
    );
    assert!(load(&h).fleet.problem.is_some(), "the outage is remembered");
}

#[test]
fn a_wrong_etcd_password_is_a_clear_validate_problem_and_check_quota_works_alone() {
    let Some(etcd) = Etcd::start() else { return };
    etcd.enable_auth("right-password");
    let h = host(
        &etcd,
        "/a",
        "h1",
        "  username: root\n  password_env: CCF_TEST_ETCD_PASSWORD\n",
    );
    h.set_env("CCF_TEST_ETCD_PASSWORD", "wrong");
    start(&h, Some("compte1"));
    h.ccf(&["validate"])
        .code(3)
        .stdout_has("problem: the fleet's etcd")
        .stdout_has("etcd refused auth/authenticate: etcdserver: authentication failed, invalid user ID or password")
        .stderr_has("error: 1 problem found")
        .run();
    show_limit(&h);
    h.ccf(&["check-quota"])
        .env("CCF_NOW", BEFORE)
        .stderr_has("fleet: etcd refused auth/authenticate")
        .stdout_has("swapped compte1 -> compte2")
        .run();

    // With the right password validate reports the cluster; host 1, refused, never
    // checked in.
    let h2 = host(
        &etcd,
        "/a",
        "h2",
        "  username: root\n  password_env: CCF_TEST_ETCD_PASSWORD\n",
    );
    h2.set_env("CCF_TEST_ETCD_PASSWORD", "right-password");
    check(&h2, BEFORE).run();
    h2.ccf(&["validate"])
        .stdout_has("fleet: 3 members reachable: m0 (http://127.0.0.1:")
        .stdout_has("fleet: this host is h2; no other host has checked in")
        .run();
}

#[test]
fn a_user_who_may_read_but_not_write_gets_the_fleets_limits_and_one_warning() {
    let Some(etcd) = Etcd::start() else { return };
    let shared = r#"{"version":1,"account":"compte1","until":"2030-01-01T00:00:00Z","seen":{"host":"h1","source":"pane","at":"2029-12-31T21:59:00Z"}}"#;
    etcd.put("/r/v1/limit/compte1", shared);
    etcd.enable_auth("pw");
    let h = host(
        &etcd,
        "/r",
        "h2",
        "  username: reader\n  password_env: CCF_TEST_ETCD_PASSWORD\n",
    );
    h.set_env("CCF_TEST_ETCD_PASSWORD", "pw");
    start(&h, None);
    h.ccf(&["check-quota"])
        .env("CCF_NOW", BEFORE)
        .stdout_has("swapped compte1 -> compte2")
        .stderr_has(
            "fleet: etcd refused kv/put: etcdserver: permission denied; working as a single host",
        )
        .run();
    let again = check(&h, "2029-12-31T22:00:30Z").run();
    assert!(
        !again.stderr.contains("fleet"),
        "said once: {}",
        again.stderr
    );
    h.ccf(&["status"])
        .env("CCF_NOW", BEFORE)
        .stdout_has("(etcd refused kv/put: etcdserver: permission denied)")
        .run();
}

#[test]
fn hostile_values_are_ignored_with_a_line_naming_their_key_and_never_move_a_host() {
    let Some(etcd) = Etcd::start() else { return };
    let h = host(&etcd, "/h", "h2", "");
    start(&h, None);
    etcd.put("/h/v1/limit/compte1", "{not json");
    etcd.put(
        "/h/v1/limit/compte2",
        r#"{"version":1,"account":"compte2","until":"2040-01-01T00:00:00Z","seen":{"host":"h9","source":"pane","at":"2029-12-31T21:00:00Z"}}"#,
    );
    etcd.put(
        "/h/v1/hosts/h9\u{1b}[2J",
        r#"{"version":7,"host":"h9\u001b[2J","at":"2029-12-31T21:00:00Z"}"#,
    );
    let first = h
        .ccf(&["check-quota"])
        .env("CCF_NOW", BEFORE)
        .stderr_has("fleet: ignored /h/v1/limit/compte1: not JSON")
        .stderr_has("fleet: ignored /h/v1/limit/compte2: its reset 2040-01-01T00:00:00Z is more than 8d away")
        .stderr_has("written by a newer ccf (version 7")
        .stdout_lacks("swapped")
        .run();
    assert!(
        !first.stderr.contains('\u{1b}'),
        "escaped: {}",
        first.stderr
    );
    let second = check(&h, BEFORE).run();
    assert!(
        !second.stderr.contains("ignored"),
        "logged once: {}",
        second.stderr
    );
    let st = load(&h);
    assert!(
        st.accounts
            .get("compte2")
            .is_none_or(|a| a.exhausted_until.is_none())
    );
    h.ccf(&["status", "--fleet"])
        .stdout_has("fleet: ignored /h/v1/limit/compte1: not JSON")
        .run();
}

#[test]
fn status_fleet_shows_every_host_and_the_shared_accounts() {
    let Some(etcd) = Etcd::start() else { return };
    let h1 = host(&etcd, "/s", "h1", "");
    let h2 = host(&etcd, "/s", "h2", "");
    start(&h1, Some("compte1"));
    start(&h2, None);
    check(&h2, BEFORE).run();
    show_limit(&h1);
    check(&h1, BEFORE).run();
    let s = wait_for("both heartbeats", Duration::from_secs(5), || {
        let s = h2
            .ccf(&["status", "--fleet", "--json"])
            .env("CCF_NOW", BEFORE)
            .run()
            .json();
        (s["hosts"].as_array().map(Vec::len) == Some(2)).then_some(s)
    });
    assert_eq!(s["host"], "h2");
    assert_eq!(s["hosts"][0]["host"], "h1");
    assert_eq!(s["hosts"][0]["active_account"], "compte2");
    assert_eq!(s["hosts"][0]["sessions"]["compte2"], 1);
    assert_eq!(s["hosts"][1]["active_account"], "compte1");
    assert_eq!(s["accounts"][0]["name"], "compte1");
    assert_eq!(s["accounts"][0]["exhausted_until"], RESET);
    assert_eq!(s["accounts"][0]["seen_by"], "h1");
    h2.ccf(&["status", "--fleet"])
        .env("CCF_NOW", BEFORE)
        .stdout_has(
            "compte1      exhausted until 2030-01-01T00:00:00Z [five_hour] (seen on h1 by its pane",
        )
        .run();
}

#[test]
fn over_tls_with_a_client_certificate_the_cluster_is_reached_and_without_its_ca_refused() {
    let Some(etcd) = Etcd::start_tls() else {
        return;
    };
    let h = Sandbox::new();
    h.login_all();
    let base = std::fs::read_to_string(&h.config).unwrap();
    let fleet = |ca: bool| {
        format!(
            "{base}fleet:\n  endpoints: [{}]\n  host: h1\n{}  cert_file: {}\n  key_file: {}\n",
            etcd.tls_endpoints().join(", "),
            if ca {
                format!("  ca_file: {}\n", etcd.tls_file("ca.pem").display())
            } else {
                String::new()
            },
            etcd.tls_file("client.pem").display(),
            etcd.tls_file("client.key").display()
        )
    };
    h.write_config(&fleet(true));
    h.ccf(&["ensure-symlinks"]).run();
    h.ccf(&["validate"])
        .stdout_has("fleet: 3 members reachable: m0 (http://127.0.0.1:")
        .stdout_has("https://127.0.0.1:")
        .run();
    check(&h, BEFORE).run();
    assert_eq!(
        etcd.range("/ccf/v1/hosts/").len(),
        1,
        "the heartbeat went over TLS"
    );
    // The system's roots do not know the test CA.
    h.write_config(&fleet(false));
    h.ccf(&["validate"])
        .code(3)
        .stdout_has("problem: the fleet's etcd")
        .stdout_has("etcd unreachable: https://127.0.0.1:")
        .stderr_has("error: 1 problem found")
        .run();
}

#[test]
fn a_host_never_moves_the_fleets_knowledge_backwards() {
    let Some(etcd) = Etcd::start() else { return };
    let h = host(&etcd, "/b", "h1", "");
    start(&h, Some("compte1"));
    // Another host already knows a later reset (the weekly limit, say).
    let later = r#"{"version":1,"account":"compte1","until":"2030-01-02T00:00:00Z","scope":"weekly","seen":{"host":"h9","source":"spool","at":"2029-12-31T21:00:00Z"}}"#;
    etcd.put("/b/v1/limit/compte1", later);
    show_limit(&h);
    // Its own banner comes first here: it swaps on its own reset ...
    check(&h, BEFORE)
        .stdout_has("swapped compte1 -> compte2")
        .run();
    assert_eq!(
        load(&h).accounts["compte1"].exhausted_until,
        Some(ts(RESET))
    );
    // ... and does not overwrite the fleet's later one with it.
    assert_eq!(
        etcd.range("/b/v1/limit/"),
        vec![("/b/v1/limit/compte1".to_string(), later.to_string())]
    );
    // Once its own reset has passed, the fleet's later one holds the return back.
    check(&h, AFTER).stdout_lacks("swapped").run();
    assert_eq!(
        load(&h).accounts["compte1"].exhausted_until,
        Some(ts("2030-01-02T00:00:00Z"))
    );
    check(&h, "2030-01-02T00:06:00Z")
        .stdout_has("swapped compte2 -> compte1")
        .stderr_may_have("older than 1d")
        .run();
}

#[test]
fn validate_warns_when_another_host_names_accounts_this_one_does_not_have() {
    let Some(etcd) = Etcd::start() else { return };
    let h = host(&etcd, "/v", "h1", "");
    etcd.put(
        "/v/v1/hosts/h2",
        r#"{"version":1,"host":"h2","at":"2029-12-31T21:59:30Z","active":"work-a","sessions":{"work-a":2},"accounts":["work-a","compte2"]}"#,
    );
    h.ccf(&["validate"])
        .stdout_has("fleet: this host is h1; other hosts: h2 (active work-a)")
        .stdout_has("warning: host h2 names accounts this host does not have: work-a; accounts are shared by name")
        .run();
}
