//! Operating ccf: the systemd units verify and score, `systemd install` writes them
//! idempotently, `ccf cron` prints usable lines, the man page and the journal prefixes.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::Sandbox;

const BIN: &str = env!("CARGO_BIN_EXE_ccf");

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Runs systemd-analyze for a user manager that does not run: a temp runtime dir and a
/// HOME whose `~/.cargo/bin/ccf` is the built binary (what the shipped units name).
fn analyze(home: &Path, args: &[&str]) -> (bool, String) {
    let bin = home.join(".cargo/bin");
    std::fs::create_dir_all(&bin).unwrap();
    let link = bin.join("ccf");
    if !link.exists() {
        std::os::unix::fs::symlink(BIN, &link).unwrap();
    }
    let runtime = home.join("run");
    std::fs::create_dir_all(&runtime).unwrap();
    let out = Command::new("systemd-analyze")
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("PATH", "/usr/bin:/bin")
        .env("SYSTEMD_COLORS", "0")
        .output()
        .expect("systemd-analyze runs (scripts/install-test-deps.sh installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// `verify` prints nothing for good units; a misspelled key only warns, so any output
/// is a failure.
fn assert_verifies(home: &Path, units: &[PathBuf]) {
    let mut args = vec!["verify", "--user", "--man=no"];
    let paths: Vec<String> = units.iter().map(|p| p.display().to_string()).collect();
    args.extend(paths.iter().map(String::as_str));
    let (ok, text) = analyze(home, &args);
    assert!(ok && text.is_empty(), "systemd-analyze verify:\n{text}");
}

fn exposure(home: &Path, unit: &Path) -> f64 {
    let (_, text) = analyze(
        home,
        &[
            "security",
            "--user",
            "--offline=yes",
            &unit.display().to_string(),
        ],
    );
    let line = text
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("no score for {}:\n{text}", unit.display()));
    line.split(':')
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unparsable score line {line:?}"))
}

fn shipped() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(repo("systemd"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// ccf's own services (the tmux server's unit runs the operator's shells and is not
/// sandboxed on purpose).
fn ccf_services(units: &[PathBuf]) -> Vec<&PathBuf> {
    units
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "service"))
        .filter(|p| !p.ends_with("ccf-tmux.service"))
        .collect()
}

fn setting<'a>(text: &'a str, key: &str) -> Vec<&'a str> {
    text.lines()
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .collect()
}

#[test]
fn the_shipped_units_verify_without_a_word() {
    let home = tempfile::tempdir().unwrap();
    assert_verifies(home.path(), &shipped());
}

#[test]
fn every_ccf_service_scores_at_most_2_5_offline() {
    let home = tempfile::tempdir().unwrap();
    let units = shipped();
    let services = ccf_services(&units);
    assert_eq!(services.len(), 4, "{services:?}");
    for s in services {
        let score = exposure(home.path(), s);
        assert!(score <= 2.5, "{} scores {score}", s.display());
    }
}

#[test]
fn every_timer_and_path_unit_activates_a_shipped_oneshot_that_accepts_75() {
    let units = shipped();
    for u in &units {
        let ext = u.extension().unwrap().to_str().unwrap();
        if ext != "timer" && ext != "path" {
            continue;
        }
        let text = std::fs::read_to_string(u).unwrap();
        let target = setting(&text, "Unit").first().map_or_else(
            || u.with_extension("service"),
            |name| u.with_file_name(name),
        );
        let service = std::fs::read_to_string(&target)
            .unwrap_or_else(|_| panic!("{} activates missing {}", u.display(), target.display()));
        assert_eq!(
            setting(&service, "Type"),
            ["oneshot"],
            "{}",
            target.display()
        );
        assert!(
            setting(&service, "SuccessExitStatus").contains(&"75"),
            "{}",
            target.display()
        );
        if ext == "timer" {
            assert_eq!(setting(&text, "AccuracySec"), ["1s"], "{}", u.display());
        } else {
            assert!(!text.contains("\nDirectoryNotEmpty="), "{}", u.display());
        }
    }
}

#[test]
fn every_ccf_service_names_the_binary_by_an_absolute_path_ending_in_ccf() {
    for s in ccf_services(&shipped()) {
        let text = std::fs::read_to_string(s).unwrap();
        let execs = setting(&text, "ExecStart");
        assert!(!execs.is_empty(), "{}", s.display());
        for e in execs {
            let bin = e.split_whitespace().next().unwrap();
            assert!(
                bin.starts_with("%h/") && bin.ends_with("/ccf"),
                "{}: {e}",
                s.display()
            );
            assert!(e.contains(" --config "), "{}: {e}", s.display());
        }
    }
}

fn unit_dir(sb: &Sandbox) -> PathBuf {
    sb.path("units")
}

#[test]
fn install_dry_run_prints_the_plan_and_writes_nothing() {
    let sb = Sandbox::new();
    let dir = unit_dir(&sb);
    let out = sb
        .ccf(&[
            "systemd",
            "install",
            "--dry-run",
            "--unit-dir",
            dir.to_str().unwrap(),
        ])
        .stdout_has("would create ")
        .stdout_has("ccf-check-quota.timer")
        .stdout_has("no user systemd is reachable")
        .stdout_has("loginctl enable-linger")
        .stdout_has("install-hooks")
        .run();
    assert!(!dir.exists(), "{}", out.stdout);
    assert!(!sb.path(".local/share/man/man1/ccf.1").exists());
}

#[test]
fn install_writes_units_that_verify_with_the_real_paths_and_a_second_run_changes_nothing() {
    let sb = Sandbox::new();
    let dir = unit_dir(&sb);
    let d = dir.to_str().unwrap();
    sb.ccf(&["systemd", "install", "--unit-dir", d, "--sandbox", "full"])
        .stdout_has("sandbox: full, exposure ")
        .stdout_has("created ")
        .stdout_lacks("would")
        .run();
    let units: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(units.len(), shipped().len());
    let janitor = std::fs::read_to_string(dir.join("ccf-janitor.service")).unwrap();
    assert!(
        janitor.contains(&format!(
            "ExecStart={BIN} --config {} janitor\n",
            sb.config.display()
        )),
        "{janitor}"
    );
    let path = std::fs::read_to_string(dir.join("ccf-dispatch.path")).unwrap();
    assert!(
        path.contains(&format!(
            "PathChanged={}\n",
            sb.path("queue/inbox").display()
        )),
        "{path}"
    );
    let tmux_dir = sb.tmux.socket.parent().unwrap().display().to_string();
    assert!(janitor.contains(&format!(" -{tmux_dir}\n")), "{janitor}");
    assert!(sb.path(".local/share/man/man1/ccf.1").exists());
    assert_verifies(&sb.home, &units);
    for s in ccf_services(&units) {
        let score = exposure(&sb.home, s);
        assert!(score <= 2.5, "{} scores {score}", s.display());
    }

    let before: Vec<_> = units
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().modified().unwrap())
        .collect();
    sb.ccf(&["systemd", "install", "--unit-dir", d, "--sandbox", "full"])
        .stdout_has("unchanged: 10 unit files")
        .stdout_lacks("created")
        .stdout_lacks("updated")
        .run();
    let after: Vec<_> = units
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().modified().unwrap())
        .collect();
    assert_eq!(before, after);
}

#[test]
fn uninstall_removes_what_install_wrote_and_then_has_nothing_to_do() {
    let sb = Sandbox::new();
    let dir = unit_dir(&sb);
    let d = dir.to_str().unwrap();
    sb.ccf(&["systemd", "install", "--unit-dir", d]).run();
    sb.ccf(&["systemd", "uninstall", "--unit-dir", d, "--dry-run"])
        .stdout_has("would remove ")
        .run();
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 10);
    sb.ccf(&["systemd", "uninstall", "--unit-dir", d])
        .stdout_has("removed ")
        .run();
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    assert!(!sb.path(".local/share/man/man1/ccf.1").exists());
    sb.ccf(&["systemd", "uninstall", "--unit-dir", d])
        .stdout_has("nothing to change")
        .run();
}

#[test]
fn cron_lines_parse_and_name_existing_subcommands_by_absolute_paths() {
    let sb = Sandbox::new();
    let out = sb.ccf(&["cron"]).stderr_empty().run();
    let help = sb.ccf(&["--help"]).run().stdout;
    let mut runs = 0;
    for line in out.stdout.lines().filter(|l| !l.starts_with('#')) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let command = if fields[0] == "@reboot" {
            &fields[1..]
        } else {
            for f in &fields[..5] {
                assert!(
                    f.chars().all(|c| c.is_ascii_digit() || "*/,-".contains(c)),
                    "bad time field {f:?} in {line}"
                );
            }
            &fields[5..]
        };
        let command = command.join(" ");
        if command.starts_with("bash -lc 'exec tmux") {
            continue;
        }
        let quoted_bin = format!("'{BIN}' --config '{}' ", sb.config.display());
        assert!(command.contains(&quoted_bin), "{line}");
        for part in command.split(&quoted_bin).skip(1) {
            let sub = part.split_whitespace().next().unwrap();
            assert!(help.contains(&format!("  {sub} ")), "{sub} in {line}");
            runs += 1;
        }
        // The lines must be valid shell.
        let check = Command::new("sh")
            .args(["-n", "-c", &command])
            .status()
            .unwrap();
        assert!(check.success(), "{line}");
    }
    assert_eq!(runs, 6, "{}", out.stdout);
}

#[test]
fn the_man_page_in_the_repo_is_fresh() {
    let sb = Sandbox::new();
    let out = sb.ccf(&["man"]).stderr_empty().run();
    let stored = std::fs::read_to_string(repo("man/ccf.1")).unwrap_or_default();
    assert!(
        stored == out.stdout,
        "man/ccf.1 is stale: regenerate with `cargo run -q -- man > man/ccf.1`"
    );
}

#[test]
fn the_man_page_has_the_sections_an_operator_looks_for_and_names_no_missing_page() {
    let sb = Sandbox::new();
    let page = sb.ccf(&["man"]).run().stdout;
    for section in [
        ".SH COMMANDS",
        ".SH \"EXIT STATUS\"",
        ".SH ENVIRONMENT",
        ".SH FILES",
        ".SH EXAMPLES",
    ] {
        assert!(page.contains(section), "no {section} in the man page");
    }
    // clap_mangen's default names a ccf-<command>(1) page per command: none is installed.
    assert!(!page.contains("ccf\\-check\\-quota(1)"), "{page}");
    assert!(
        !page.contains("(1)\n"),
        "a reference to another page: {page}"
    );
    for command in [
        "check\\-quota",
        "account disable",
        "systemd install",
        "notify test",
    ] {
        assert!(
            page.contains(&format!("\\fBccf {command}\\fR")),
            "ccf {command} is not listed"
        );
    }
    for code in ["\n0\n", "\n3\n", "\n75\n", "\n78\n"] {
        assert!(page.contains(code), "exit status {code:?} missing");
    }
    // Each command's options, under it, with their help.
    let swap = &page[page.find("\\fBccf swap\\fR").unwrap()..];
    let swap = &swap[..swap.find(".RE\n").unwrap()];
    for option in [
        ".TP\n\\fB\\-\\-to\\fR \\fIACCOUNT\\fR\nAccount to move to",
        ".TP\n\\fB\\-\\-wait\\fR[=\\fIDURATION\\fR]\n",
        ".TP\n\\fB\\-\\-dry\\-run\\fR\n",
    ] {
        assert!(swap.contains(option), "swap's {option:?} missing:\n{swap}");
    }
    assert!(page.contains(".TP\n\\fB\\-\\-prometheus\\fR[=\\fIFILE\\fR]\n"));
}

#[test]
fn diagnostics_carry_journal_priorities_when_stderr_is_the_journal_stream() {
    use std::os::unix::fs::MetadataExt;
    let sb = Sandbox::new();
    let dir = tempfile::tempdir().unwrap();
    let err_path = dir.path().join("stderr");
    let err = std::fs::File::create(&err_path).unwrap();
    let meta = err.metadata().unwrap();
    let status = Command::new(BIN)
        .args(["--config", "/nonexistent/ccf.yaml", "status"])
        .env_clear()
        .envs(sb.env())
        .env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()))
        .stderr(err)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(78));
    let text = std::fs::read_to_string(&err_path).unwrap();
    assert!(text.starts_with("<3>"), "{text:?}");
    assert!(!text.contains("error: "), "{text:?}");
}

/// Without a user manager nothing can be measured: the level that needs no namespace is
/// installed, said to be unmeasured, and scores between the full sandbox and none.
#[test]
fn install_without_a_manager_takes_the_basic_level_and_says_it_was_not_measured() {
    let sb = Sandbox::new();
    let dir = unit_dir(&sb);
    let d = dir.to_str().unwrap();
    sb.ccf(&["systemd", "install", "--unit-dir", d])
        .stdout_has("sandbox: basic, exposure ")
        .stdout_has("not measured: no user manager is reachable")
        .run();
    let service = dir.join("ccf-check-quota.service");
    let text = std::fs::read_to_string(&service).unwrap();
    assert!(text.contains("# ccf sandbox level: basic "), "{text}");
    assert!(text.contains("\nNoNewPrivileges=yes\n"), "{text}");
    assert!(!text.contains("PrivateUsers="), "{text}");
    assert!(!text.contains("ProtectSystem="), "{text}");
    let units: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_verifies(&sb.home, &units);
    let basic = exposure(&sb.home, &service);
    sb.ccf(&["systemd", "install", "--unit-dir", d, "--sandbox", "none"])
        .stdout_has("sandbox: none")
        .stdout_has("updated ")
        .run();
    let none = exposure(&sb.home, &service);
    sb.ccf(&["systemd", "install", "--unit-dir", d, "--sandbox", "full"])
        .run();
    let full = exposure(&sb.home, &service);
    assert!(
        full < basic && basic < none,
        "full {full}, basic {basic}, none {none}"
    );
}
