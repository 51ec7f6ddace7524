//! Channel secrets (the bot token, the API key): where they come from and how they are
//! kept out of every log line, error and file ccf writes.
//!
//! A secret is read only when a message is about to be sent, lives in a [`Secret`] whose
//! `Debug` prints `<redacted>`, and every error text from a channel goes through
//! [`redact`] before anyone sees it.

use std::fmt;
use std::path::{Path, PathBuf};

/// Replaces a secret wherever it could be shown.
pub const REDACTED: &str = "<redacted>";

/// A secret value. Only [`Secret::expose`] shows it, for the request that needs it; the
/// config holds inline secrets as this type so that no `Debug` of the config shows them.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Where the config says a secret is: exactly one of these (config checks that).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source<'a> {
    Inline(&'a Secret),
    File(&'a Path),
    Env(&'a str),
}

impl<'a> Source<'a> {
    pub fn of(
        inline: Option<&'a Secret>,
        file: Option<&'a PathBuf>,
        env: Option<&'a String>,
    ) -> Option<Source<'a>> {
        inline
            .map(Source::Inline)
            .or_else(|| file.map(|p| Source::File(p)))
            .or_else(|| env.map(|v| Source::Env(v)))
    }
}

/// Why a secret cannot be read now. Never contains the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable {
    pub why: String,
    /// Expected outside systemd (a credential path with no `$CREDENTIALS_DIRECTORY`):
    /// not worth a warning on an interactive run.
    pub expected: bool,
}

/// Where a `*_file` secret is: absolute as written, relative under
/// `$CREDENTIALS_DIRECTORY` (systemd's `LoadCredential=`); None when relative and that
/// variable is unset.
pub fn file_path(file: &Path, credentials_dir: Option<&str>) -> Option<PathBuf> {
    if file.is_absolute() {
        Some(file.to_path_buf())
    } else {
        credentials_dir
            .filter(|d| !d.is_empty())
            .map(|d| Path::new(d).join(file))
    }
}

/// Reads a secret; `env` is the process environment.
pub fn resolve(
    source: Source,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Secret, Unavailable> {
    let value = match source {
        Source::Inline(s) => s.0.clone(),
        Source::Env(var) => env(var).ok_or_else(|| Unavailable {
            why: format!("${var} is not set"),
            expected: false,
        })?,
        Source::File(file) => {
            let creds = env("CREDENTIALS_DIRECTORY");
            let Some(path) = file_path(file, creds.as_deref()) else {
                return Err(Unavailable {
                    why: format!(
                        "{} is relative and $CREDENTIALS_DIRECTORY is not set (not under systemd)",
                        file.display()
                    ),
                    expected: true,
                });
            };
            std::fs::read_to_string(&path).map_err(|e| Unavailable {
                why: format!("failed to read {}: {e}", path.display()),
                expected: false,
            })?
        }
    };
    // Files and `echo` add a newline; a token never ends in whitespace.
    let value = value.trim_end().to_string();
    if value.is_empty() {
        return Err(Unavailable {
            why: "the secret is empty".into(),
            expected: false,
        });
    }
    Ok(Secret(value))
}

/// Replaces every occurrence of each secret in `text` with [`REDACTED`]. Empty secrets
/// are skipped (they would match everywhere).
pub fn redact(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        out = out.replace(s, REDACTED);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_shows_in_debug_output() {
        let s = Secret::new("123:ABC");
        assert_eq!(format!("{s:?}"), REDACTED);
        assert_eq!(format!("{:?}", Some(&s)), "Some(<redacted>)");
    }

    #[test]
    fn the_config_s_debug_output_hides_inline_secrets() {
        let n: crate::config::Notifications = serde_yaml::from_str(
            "telegram: {bot_token: '123:ABC', chat_id: '1'}\nresend: {api_key: re_KEY, from: a, to: [b]}\nwebhook: {url: 'http://x', headers: {Authorization: Bearer HOOK}}\n",
        )
        .unwrap();
        let shown = format!("{n:?}");
        for s in ["123:ABC", "re_KEY", "HOOK"] {
            assert!(!shown.contains(s), "{shown}");
        }
    }

    #[test]
    fn redact_replaces_every_occurrence_and_ignores_empty_secrets() {
        let text = "error sending request for url (https://x/bot123:ABC/sendMessage): 123:ABC";
        assert_eq!(
            redact(text, &["123:ABC", ""]),
            "error sending request for url (https://x/bot<redacted>/sendMessage): <redacted>"
        );
    }

    #[test]
    fn a_relative_file_is_a_systemd_credential() {
        assert_eq!(
            file_path(Path::new("tg"), Some("/run/credentials/ccf.service")),
            Some(PathBuf::from("/run/credentials/ccf.service/tg"))
        );
        assert_eq!(file_path(Path::new("tg"), None), None);
        assert_eq!(
            file_path(Path::new("/etc/tg"), Some("/run/c")),
            Some(PathBuf::from("/etc/tg"))
        );
    }

    #[test]
    fn resolve_reads_files_and_variables_and_trims_the_newline() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tg"), "123:ABC\n").unwrap();
        let creds = dir.path().display().to_string();
        let env = |k: &str| match k {
            "CREDENTIALS_DIRECTORY" => Some(creds.clone()),
            "KEY" => Some("re_xyz\n".to_string()),
            _ => None,
        };
        let file = PathBuf::from("tg");
        assert_eq!(
            resolve(Source::File(&file), &env).unwrap().expose(),
            "123:ABC"
        );
        assert_eq!(
            resolve(Source::Env("KEY"), &env).unwrap().expose(),
            "re_xyz"
        );
        let err = resolve(Source::Env("NOPE"), &env).unwrap_err();
        assert_eq!(err.why, "$NOPE is not set");
        let err = resolve(Source::File(&file), &|_| None).unwrap_err();
        assert!(err.expected, "{err:?}");
    }
}
