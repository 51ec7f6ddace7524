//! The shared-directory layout: what every account home must link to, what is there,
//! and what `ensure-symlinks` may do about it.
//!
//! Only *missing* things are ever created. A link that points elsewhere, or a real file
//! or directory where a link belongs, is reported with the commands that would fix it
//! and left exactly as it is: it may hold the only copy of someone's transcripts.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::config::{Account, Config};
use crate::context::absolute_from;
use crate::fsutil::{self, Entry};

/// One place in the layout and what should happen there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub path: PathBuf,
    pub finding: Finding,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// Already right.
    Ok,
    /// Create this directory (an account home or a shared target).
    CreateDir,
    /// Create a symlink at `path` pointing at the target.
    Link(PathBuf),
    /// A real directory of a cache Claude Code keeps per home ([`ADOPTABLE`]) whose
    /// entries the shared target does not have: move them there (renames only), remove
    /// the emptied directory, link it.
    Adopt(PathBuf),
    /// Something else is there; never touched. `fix` is for the operator.
    Divergent { found: String, fix: String },
}

impl Item {
    pub fn is_problem(&self) -> bool {
        matches!(self.finding, Finding::Divergent { .. })
    }
}

/// Shared names whose real directory in a home `ensure-symlinks` merges into the shared
/// target by itself: Claude Code's shell snapshots (one uniquely named file per shell a
/// session started; a carried session needs its snapshot after a flip). Everything else
/// may hold the only copy of someone's work and is left to the operator.
pub const ADOPTABLE: &[&str] = &["shell-snapshots"];

/// Whether none of `dir`'s entries exist in `target` (so moving them loses nothing).
fn disjoint(dir: &Path, target: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .map(|e| e.map(|e| !target.join(e.file_name()).exists()))
            .all(|ok| ok.unwrap_or(false))
    })
}

/// Moves every entry of `dir` into `target`, removes the emptied `dir` (never a
/// non-empty one) and links it to `target`.
fn adopt(dir: &Path, target: &Path) -> Result<()> {
    fsutil::create_private_dir(target)?;
    for e in std::fs::read_dir(dir).with_context(|| format!("failed to read {}", dir.display()))? {
        let e = e.with_context(|| format!("failed to read {}", dir.display()))?;
        let to = target.join(e.file_name());
        if to.exists() {
            anyhow::bail!(
                "{} already exists; {} is left as it is",
                to.display(),
                dir.display()
            );
        }
        std::fs::rename(e.path(), &to).with_context(|| {
            format!(
                "failed to move {} into {}",
                e.path().display(),
                target.display()
            )
        })?;
    }
    std::fs::remove_dir(dir)
        .with_context(|| format!("failed to remove the emptied {}", dir.display()))?;
    std::os::unix::fs::symlink(target, dir).with_context(|| {
        format!(
            "failed to create symlink {} -> {}",
            dir.display(),
            target.display()
        )
    })
}

/// Decides what to do at a place that should be a symlink to `want`.
pub fn judge_link(path: &Path, want: &Path, found: &Entry) -> Finding {
    match found {
        Entry::Missing => Finding::Link(want.to_path_buf()),
        Entry::Symlink(t) if same_path(&absolute_from(path, t), want) => Finding::Ok,
        Entry::Symlink(t) => Finding::Divergent {
            found: format!("a symlink to {}", t.display()),
            fix: format!(
                "if nothing there is needed: ln -sfn {} {}; else merge {} into {} first",
                want.display(),
                path.display(),
                t.display(),
                want.display()
            ),
        },
        Entry::Dir => Finding::Divergent {
            found: "a real directory".into(),
            fix: format!(
                "merge it into the shared target, then link it: cp -a {0}/. {1}/ && mv {0} {0}.pre-ccf && ln -s {1} {0}",
                path.display(),
                want.display()
            ),
        },
        Entry::File => Finding::Divergent {
            found: "a regular file".into(),
            fix: format!(
                "move it aside: mv {0} {0}.pre-ccf, then run ccf ensure-symlinks",
                path.display()
            ),
        },
    }
}

/// Decides what to do at a place that should be a directory.
pub fn judge_dir(path: &Path, found: &Entry) -> Finding {
    match found {
        Entry::Missing => Finding::CreateDir,
        Entry::Dir => Finding::Ok,
        Entry::Symlink(t) if absolute_from(path, t).is_dir() => Finding::Ok,
        other => Finding::Divergent {
            found: match other {
                Entry::Symlink(t) => format!("a dangling symlink to {}", t.display()),
                _ => "a regular file".into(),
            },
            fix: format!(
                "move it aside (mv {0} {0}.pre-ccf) and run ccf ensure-symlinks",
                path.display()
            ),
        },
    }
}

fn same_path(a: &Path, b: &Path) -> bool {
    a == b
        || match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        }
}

/// Surveys the layout: shared targets, each account home (all, or only `only`) and its
/// shared links, and `claude_link` (which should point at `active`'s home).
pub fn survey(config: &Config, only: Option<&Account>, active: &Account) -> Result<Vec<Item>> {
    let look =
        |p: &Path| fsutil::entry(p).with_context(|| format!("failed to inspect {}", p.display()));
    let mut items = Vec::new();
    for s in &config.shared {
        items.push(Item {
            finding: judge_dir(&s.target, &look(&s.target)?),
            path: s.target.clone(),
        });
    }
    for account in config
        .accounts
        .iter()
        .filter(|a| only.is_none_or(|o| o.name == a.name))
    {
        items.push(Item {
            finding: judge_dir(&account.home, &look(&account.home)?),
            path: account.home.clone(),
        });
        for s in &config.shared {
            let path = account.home.join(&s.name);
            let found = look(&path)?;
            let finding = if found == Entry::Dir
                && ADOPTABLE.contains(&s.name.as_str())
                && disjoint(&path, &s.target)
            {
                Finding::Adopt(s.target.clone())
            } else {
                judge_link(&path, &s.target, &found)
            };
            items.push(Item { path, finding });
        }
    }
    if let Some(link) = &config.claude_link {
        let found = look(link)?;
        let finding = match &found {
            // Pointing at any account home is a consistent layout; which one is active
            // is the state's business (validate compares the two).
            Entry::Symlink(t) if config.account_by_home(&absolute_from(link, t)).is_some() => {
                Finding::Ok
            }
            _ => judge_link(link, &active.home, &found),
        };
        items.push(Item {
            path: link.clone(),
            finding,
        });
    }
    Ok(items)
}

/// Carries out the creations of `items`; divergent items are left alone.
pub fn apply(items: &[Item]) -> Result<()> {
    for item in items {
        match &item.finding {
            Finding::CreateDir => fsutil::create_private_dir(&item.path)?,
            Finding::Link(target) => {
                if let Some(parent) = item.path.parent() {
                    fsutil::create_private_dir(parent)?;
                }
                std::os::unix::fs::symlink(target, &item.path).with_context(|| {
                    format!(
                        "failed to create symlink {} -> {}",
                        item.path.display(),
                        target.display()
                    )
                })?;
            }
            Finding::Adopt(target) => adopt(&item.path, target)?,
            Finding::Ok | Finding::Divergent { .. } => {}
        }
    }
    Ok(())
}

/// One line per item, for people.
pub fn describe(item: &Item, dry_run: bool) -> Option<String> {
    let would = if dry_run { "would create" } else { "created" };
    match &item.finding {
        Finding::Ok => None,
        Finding::CreateDir => Some(format!("{would} directory {}", item.path.display())),
        Finding::Link(t) => Some(format!(
            "{would} link {} -> {}",
            item.path.display(),
            t.display()
        )),
        Finding::Adopt(t) => Some(format!(
            "{} {} into {} and link it there",
            if dry_run {
                "would move the entries of"
            } else {
                "moved the entries of"
            },
            item.path.display(),
            t.display()
        )),
        Finding::Divergent { found, fix } => Some(format!(
            "problem: {} is {found}, not the expected link; left as it is\n  fix: {fix}",
            item.path.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_elsewhere_is_divergent_and_a_missing_one_is_created() {
        let want = Path::new("/shared/projects");
        let p = Path::new("/h/projects");
        assert_eq!(
            judge_link(p, want, &Entry::Missing),
            Finding::Link(want.into())
        );
        assert_eq!(
            judge_link(p, want, &Entry::Symlink(want.into())),
            Finding::Ok
        );
        assert!(matches!(
            judge_link(p, want, &Entry::Symlink("/other".into())),
            Finding::Divergent { .. }
        ));
        assert!(matches!(
            judge_link(p, want, &Entry::Dir),
            Finding::Divergent { .. }
        ));
    }

    #[test]
    fn a_cache_directory_is_moved_into_the_shared_target_only_when_nothing_clashes() {
        let tmp = tempfile::tempdir().unwrap();
        let (dir, target) = (
            tmp.path().join("h/shell-snapshots"),
            tmp.path().join("shared"),
        );
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::create_dir_all(&target).unwrap();
        std::fs::write(dir.join("snapshot-bash-1.sh"), "f() { :; }").unwrap();
        std::fs::write(target.join("snapshot-bash-2.sh"), "other").unwrap();
        assert!(disjoint(&dir, &target));
        adopt(&dir, &target).unwrap();
        assert_eq!(std::fs::read_link(&dir).unwrap(), target);
        assert_eq!(
            std::fs::read_to_string(target.join("snapshot-bash-1.sh")).unwrap(),
            "f() { :; }"
        );
        // A clash: nothing moves.
        let again = tmp.path().join("h2/shell-snapshots");
        std::fs::create_dir_all(&again).unwrap();
        std::fs::write(again.join("snapshot-bash-2.sh"), "mine").unwrap();
        assert!(!disjoint(&again, &target));
        assert!(adopt(&again, &target).is_err());
        assert_eq!(
            std::fs::read_to_string(again.join("snapshot-bash-2.sh")).unwrap(),
            "mine"
        );
    }
}
