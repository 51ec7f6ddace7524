//! `ccf account list|disable|enable` through the binary: a disabled account is shown as
//! such and is never a target, not even with `--force`, until it is enabled.

use crate::support::Sandbox;

fn ready() -> Sandbox {
    let sb = Sandbox::new();
    sb.login_all();
    sb.ccf(&["ensure-symlinks"]).run();
    sb
}

#[test]
fn a_disabled_account_is_listed_and_never_a_target_until_enabled() {
    let sb = ready();
    sb.ccf(&[
        "account",
        "disable",
        "compte2",
        "--reason",
        "billing dispute",
    ])
    .env("CCF_NOW", "2026-03-01T10:00:00Z")
    .stdout_has("compte2: disabled")
    .run();
    sb.ccf(&["account", "disable", "compte2"])
        .stdout_has("compte2 is already disabled (since 2026-03-01T10:00:00Z)")
        .run();

    let list = sb.ccf(&["account", "list", "--json"]).run().json();
    assert_eq!(list[0]["name"], "compte1");
    assert_eq!(list[0]["active"], true);
    assert_eq!(list[0]["disabled"], false);
    assert_eq!(list[1]["disabled"], true);
    assert_eq!(list[1]["disabled_reason"], "billing dispute");
    assert_eq!(list[1]["disabled_since"], "2026-03-01T10:00:00Z");
    sb.ccf(&["account", "list"])
        .stdout_has("compte1  ")
        .stdout_has("active")
        .stdout_has("disabled since 2026-03-01T10:00:00Z: billing dispute")
        .run();
    let status = sb.ccf(&["status", "--json"]).run().json();
    assert_eq!(status["accounts"][1]["disabled"], true);
    sb.ccf(&["status"])
        .stdout_has("disabled: billing dispute")
        .run();

    // Not the automatic choice, not a named one, not even forced.
    sb.ccf(&["swap"])
        .code(1)
        .stderr_has("no other account is available")
        .run();
    sb.ccf(&["swap", "--to", "compte2", "--force"])
        .code(1)
        .stderr_has("compte2 is disabled since 2026-03-01T10:00:00Z (billing dispute): `ccf account enable compte2` first")
        .run();
    assert_eq!(sb.state()["active_account"], "compte1");

    sb.ccf(&["account", "enable", "compte2"])
        .stdout_has("compte2: enabled")
        .run();
    sb.ccf(&["account", "enable", "compte2"])
        .stdout_has("compte2 is not disabled")
        .run();
    sb.ccf(&["swap"])
        .stdout_has("active account: compte2")
        .run();
    assert_eq!(sb.state()["active_account"], "compte2");
}

#[test]
fn an_unknown_account_is_named_with_the_configured_ones_and_nothing_is_written() {
    let sb = ready();
    sb.ccf(&["account", "disable", "compte9"])
        .code(1)
        .stderr_has("no account named compte9; known: compte1, compte2 (in ")
        .run();
    assert!(
        !sb.state_file().exists()
            || !std::fs::read_to_string(sb.state_file())
                .unwrap()
                .contains("disabled"),
        "nothing recorded for an unknown account"
    );
}
