//! Failover with the real client: a session the operator started by hand (on
//! `~/.claude`) is carried to the other account by check-quota's flip, in the same
//! process, and its conversation continues there; its old banner does not count against
//! the new account; it returns to the primary after the reset, again without a restart.

use std::time::Duration;

use crate::support::anthropic::{Mode, Window, epoch_now};
use crate::support::manager::TestUser;
use crate::support::real::{NUDGE_GAVE_UP, RealWorld, after, ready};
use crate::support::wait_for;

const SESSION: &str = "ccl-1-proj";

fn rfc3339(epoch: i64) -> String {
    jiff::Timestamp::from_second(epoch).unwrap().to_string()
}

/// Whether a turn's body carries the earlier exchange: the first prompt and its reply.
fn has_history(body: &str) -> bool {
    body.contains("ping alpha") && body.contains("PING ALPHA")
}

/// The operator starts claude by hand on compte1, talks, and hits compte1's limit;
/// check-quota moves the session to compte2 (and, when `nudged`, types the default
/// `claude.resume_prompt` there). Returns the session id and the reset.
fn hit_the_limit_and_fail_over(w: &RealWorld, nudged: bool) -> (String, i64) {
    let a = RealWorld::token("compte1");
    w.start_by_hand(SESSION, &w.sb.path("proj"));
    w.prompt(SESSION, "ping alpha");
    w.wait_screen(SESSION, "the reply", |s| {
        s.contains("Stand-in reply: PING ALPHA.")
    });
    let id = w.last_session_id(&a);
    let reset = (epoch_now() / 60 + 130) * 60;
    w.api.set_mode(
        &a,
        Mode::UsageLimit {
            reset,
            window: Window::FiveHour,
        },
    );
    w.prompt(SESSION, "ping bravo");
    w.wait_screen(SESSION, "the armed limit screen", |s| {
        after(s, "ping bravo").contains("Continuing automatically at")
    });
    let pid_before = w.sb.tmux.pane_pid(SESSION);
    w.sb.ccf(&["check-quota"])
        .stdout_has("swapped compte1 -> compte2")
        .stdout_has(&format!("moved {SESSION}"))
        .stderr_may_have(NUDGE_GAVE_UP)
        .run();
    let state = w.sb.state();
    assert_eq!(state["active_account"], "compte2", "{state}");
    assert_eq!(
        state["accounts"]["compte1"]["exhausted_until"],
        rfc3339(reset),
        "{state}"
    );
    assert_eq!(
        state["sessions"][SESSION]["session_id"],
        id.as_str(),
        "{state}"
    );
    // On ~/.claude, the flip carries the same process (it reads its credentials for each
    // request); stopped at the limit, it is given the resume prompt there.
    w.wait_screen(SESSION, "the carried session", ready);
    assert_eq!(
        w.sb.tmux.pane_pid(SESSION),
        pid_before,
        "carried, not relaunched"
    );
    if nudged {
        // ccf types claude.resume_prompt: the interrupted prompt goes out again on
        // compte2, in the same conversation, with the earlier exchange.
        let turn = w.wait_resume_prompt(SESSION, "compte2", &id);
        assert!(has_history(&turn.body) && turn.body.contains("ping bravo"));
    }
    (id, reset)
}

/// The operator's next prompt reaches the stand-in from `account`, in the same
/// conversation, with the earlier exchange in its body.
fn conversation_continues_on(w: &RealWorld, account: &str, id: &str, prompt: &str) {
    w.prompt(SESSION, prompt);
    let reply = format!("Stand-in reply: {}.", prompt.to_uppercase());
    w.wait_screen(SESSION, "the reply", |s| s.contains(&reply));
    let token = RealWorld::token(account);
    let turn = w.api.wait_turn(
        &format!("a turn from {account}"),
        Duration::from_secs(10),
        |r| r.token.as_deref() == Some(token.as_str()) && r.body.contains(prompt),
    );
    assert_eq!(turn.session_id.as_deref(), Some(id), "{}", w.api.summary());
    assert!(
        has_history(&turn.body),
        "the earlier messages were not sent"
    );
}

#[test]
fn check_quota_moves_a_hand_started_session_and_its_old_banner_does_not_count_against_the_new_account()
 {
    let Some(w) = RealWorld::new() else { return };
    // Without the resume prompt the re-rendered banner stays the bottom-most event, as it
    // is in production until the prompt is answered (the resumed session's SessionStart
    // hook can start check-quota in that window).
    w.sb.write_config(
        &w.config()
            .replace("  args: []\n", "  args: []\n  resume_prompt: null\n"),
    );
    let (id, _) = hit_the_limit_and_fail_over(&w, false);
    let turns = w.api.turns().len();

    // Past the cooldown, with the old banner the bottom-most event on screen.
    let later = rfc3339(epoch_now() + 600);
    w.sb.ccf(&["check-quota"])
        .env("CCF_NOW", &later)
        .stdout_lacks("swapped")
        .run();
    let state = w.sb.state();
    assert_eq!(state["active_account"], "compte2", "{state}");
    assert!(
        state["accounts"]["compte2"]["exhausted_until"].is_null(),
        "the re-rendered banner was counted against compte2: {state}"
    );
    assert_eq!(state["last_swap"]["to"], "compte2", "{state}");

    conversation_continues_on(&w, "compte2", &id, "ping charlie");
    assert!(
        w.api.turns()[turns..]
            .iter()
            .all(|r| r.token.as_deref() == Some("tok-compte2")),
        "{}",
        w.api.summary()
    );
}

#[test]
fn the_session_returns_to_the_primary_after_its_reset_with_its_conversation() {
    let Some(w) = RealWorld::new() else { return };
    moves_and_returns(&w);
}

/// The deployment's shape: an ordinary user (Claude Code refuses
/// `--dangerously-skip-permissions` as root), the default `claude.args`, and what ccf
/// writes private to that user (only a non-root run can tell: root ignores modes).
#[test]
fn as_an_ordinary_user_with_the_default_args_the_session_moves_and_returns() {
    let Some(user) = TestUser::create("ccf-real") else {
        return;
    };
    let Some(w) = RealWorld::new_as((user.uid, user.gid)) else {
        return;
    };
    let config = w.config().replace("  args: []\n", "");
    assert!(!config.contains("args:"), "{config}");
    w.sb.write_config(&config);
    // The operator accepted Bypass Permissions mode once in each account (without it,
    // validate says so: a relaunched session would stop at the warning).
    for a in ["compte1", "compte2"] {
        std::fs::write(
            w.sb.account_home(a).join("settings.json"),
            r#"{"skipDangerousModePermissionPrompt": true}"#,
        )
        .unwrap();
    }
    w.sb.hand_over();
    w.sb.ccf(&["validate"])
        .stdout_lacks("Bypass Permissions")
        .run();
    moves_and_returns(&w);
    // The operator quits claude; `swap --to` the active account relaunches it (its id is
    // known), as the user, with the default argument the client refuses as root.
    w.prompt(SESSION, "/exit");
    wait_for("claude to exit", Duration::from_secs(20), || {
        ccf::failover::find_claude(w.sb.tmux.pane_pid(SESSION))
            .is_none()
            .then_some(())
    });
    // (`--force`: the return ran at a pinned clock past compte1's reset; the real clock
    // is not there yet.)
    w.sb.ccf(&["swap", "--to", "compte1", "--force"])
        .stdout_has("relaunch ccl-1-proj on compte1")
        .run();
    let pid = wait_for("the relaunched claude", Duration::from_secs(20), || {
        ccf::failover::find_claude(w.sb.tmux.pane_pid(SESSION)).map(|c| c.pid)
    });
    let argv = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    let argv = String::from_utf8_lossy(&argv).replace('\0', " ");
    assert!(argv.contains("--dangerously-skip-permissions"), "{argv}");
    let owner = std::fs::metadata(format!("/proc/{pid}")).unwrap();
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&owner), user.uid);
    let mut seen = 0;
    crate::support::assert_private(&w.sb.path("state"), &mut seen);
    assert!(seen >= 3, "only {seen} files looked at");
}

/// A hand-started session hits compte1's limit, moves to compte2 with its conversation,
/// and comes back to compte1 after the reset.
fn moves_and_returns(w: &RealWorld) {
    let (id, reset) = hit_the_limit_and_fail_over(w, true);
    conversation_continues_on(w, "compte2", &id, "ping charlie");
    w.api.set_mode(&RealWorld::token("compte1"), Mode::Normal);

    // Before the reset (+ return_margin), nothing moves.
    w.sb.ccf(&["check-quota"])
        .env("CCF_NOW", &rfc3339(reset - 60))
        .stdout_lacks("swapped")
        .run();
    let pid = w.sb.tmux.pane_pid(SESSION);
    w.sb.ccf(&["check-quota"])
        .env("CCF_NOW", &rfc3339(reset + 6 * 60))
        .stdout_has("swapped compte2 -> compte1")
        .run();
    let state = w.sb.state();
    assert_eq!(state["active_account"], "compte1", "{state}");
    w.wait_screen(SESSION, "the conversation resumed on compte1", |s| {
        ready(s) && s.contains("Stand-in reply: PING CHARLIE.")
    });
    assert_eq!(
        w.sb.tmux.pane_pid(SESSION),
        pid,
        "carried back, not relaunched"
    );
    conversation_continues_on(w, "compte1", &id, "ping delta");
    let last = w.api.turns().pop().unwrap();
    assert!(
        last.body.contains("PING CHARLIE"),
        "what was said on compte2 is kept"
    );
}

#[test]
fn two_hand_started_sessions_in_one_directory_each_resume_their_own_conversation() {
    let Some(w) = RealWorld::new() else { return };
    let a = RealWorld::token("compte1");
    let work = w.sb.path("work");
    let mut ids = Vec::new();
    for (session, word) in [("ccl-auto-11", "kilo"), ("ccl-auto-12", "lima")] {
        w.start_by_hand(session, &work);
        w.prompt(session, &format!("ping {word}"));
        let reply = format!("Stand-in reply: PING {}.", word.to_uppercase());
        w.wait_screen(session, "the reply", |s| s.contains(&reply));
        ids.push(w.last_session_id(&a));
    }
    assert_ne!(ids[0], ids[1]);
    let reset = (epoch_now() / 60 + 130) * 60;
    w.api.set_mode(
        &a,
        Mode::UsageLimit {
            reset,
            window: Window::FiveHour,
        },
    );
    // The same last prompt in both, the second one's transcript written a second later:
    // neither the screen nor the newest transcript tells them apart.
    for session in ["ccl-auto-11", "ccl-auto-12"] {
        let second = epoch_now();
        wait_for("the next second", Duration::from_secs(2), || {
            (epoch_now() > second).then_some(())
        });
        w.prompt(session, "ping mike");
        w.wait_screen(session, "the armed limit screen", |s| {
            after(s, "ping mike").contains("Continuing automatically at")
        });
    }
    w.sb.ccf(&["swap", "--dry-run"])
        .stdout_has(&format!(
            "ccl-auto-11 follows the link to compte2 and is stopped at a limit: type the resume prompt into it (session {})",
            ids[0]
        ))
        .stdout_has(&format!(
            "ccl-auto-12 follows the link to compte2 and is stopped at a limit: type the resume prompt into it (session {})",
            ids[1]
        ))
        .run();
    // A limit stopped both turns, so ccf types claude.resume_prompt into each (before,
    // a prompt left unsent in the input box went out with the test's next one, unseen).
    w.sb.ccf(&["check-quota"])
        .stdout_has("swapped compte1 -> compte2")
        .stderr_may_have(NUDGE_GAVE_UP)
        .run();
    for ((session, word), id) in [("ccl-auto-11", "kilo"), ("ccl-auto-12", "lima")]
        .into_iter()
        .zip(&ids)
    {
        w.wait_resume_prompt(session, "compte2", id);
        w.wait_screen(session, "the resumed conversation", |s| {
            ready(s) && s.contains(&format!("ping {word}")) && s.contains("ping mike")
        });
        let prompt = format!("ping november {word}");
        w.prompt(session, &prompt);
        let turn = w.api.wait_turn(
            &format!("{session}'s turn on compte2"),
            Duration::from_secs(20),
            |r| r.body.contains(&prompt),
        );
        assert_eq!(turn.token.as_deref(), Some("tok-compte2"));
        assert_eq!(turn.session_id.as_deref(), Some(id.as_str()), "{session}");
        assert!(
            turn.body.contains(&format!("PING {}", word.to_uppercase())),
            "{session} resumed another conversation"
        );
    }
}

#[test]
fn when_both_accounts_are_out_the_session_is_parked_and_resumed_after_the_first_reset() {
    let Some(w) = RealWorld::new() else { return };
    let (id, reset_a) = hit_the_limit_and_fail_over(&w, true);
    let reset_b = reset_a + 3600;
    w.api.set_mode(
        &RealWorld::token("compte2"),
        Mode::UsageLimit {
            reset: reset_b,
            window: Window::FiveHour,
        },
    );
    w.prompt(SESSION, "ping oscar");
    w.wait_screen(SESSION, "compte2's limit screen", |s| {
        after(s, "ping oscar").contains("Continuing automatically at")
    });
    // Past the cooldown: compte2 is out too, and there is nowhere to go.
    w.sb.ccf(&["check-quota"])
        .env("CCF_NOW", &rfc3339(epoch_now() + 600))
        .stdout_has("sessions parked")
        .run();
    let state = w.sb.state();
    assert_eq!(
        state["accounts"]["compte2"]["exhausted_until"],
        rfc3339(reset_b),
        "{state}"
    );

    w.api.set_mode(&RealWorld::token("compte1"), Mode::Normal);
    // compte2's limit stopped the turn: the resumed session is given the resume prompt.
    w.sb.ccf(&["check-quota"])
        .env("CCF_NOW", &rfc3339(reset_a + 6 * 60))
        .stdout_has("compte1")
        .stderr_may_have(NUDGE_GAVE_UP)
        .run();
    let state = w.sb.state();
    assert_eq!(state["active_account"], "compte1", "{state}");
    w.wait_screen(SESSION, "the conversation on compte1", |s| {
        ready(s) && s.contains("ping oscar")
    });
    w.wait_resume_prompt(SESSION, "compte1", &id);
    conversation_continues_on(&w, "compte1", &id, "ping papa");
}
