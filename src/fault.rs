//! Test-only fault injection: `CCF_FAULT=<point>` aborts the process at that point, so
//! the tests can prove that the next run repairs whatever a kill there leaves. Points of
//! a swap: `planned`, `link-flipped-unsaved`, `link-flipped`, `symlinks-ensured`,
//! `relaunching`, `respawned`, `relaunched`, `finished`. Points of settling a task:
//! `settle-reason`, `settle-result`, `settle-task`.

pub fn point(name: &str) {
    if std::env::var_os("CCF_FAULT").is_some_and(|v| v == name) {
        std::process::abort();
    }
}
