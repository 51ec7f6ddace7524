//! Terminal text made comparable: ANSI removed, look-alike characters folded, gutters split off.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

/// CSI, OSC, DCS/SOS/PM/APC strings and two-byte escapes, then stray control characters.
static ANSI: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"\x1b\[[0-?]*[ -/]*[@-~]",
        r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?",
        r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?",
        r"|\x1b[ -/]*[0-~]",
        r"|\u{9b}[0-?]*[ -/]*[@-~]",
        r"|[\x00-\x08\x0b-\x1f\x7f]",
    ))
    .expect("invariant: the ANSI pattern is a valid regex")
});

/// Removes ANSI escape sequences and control characters (tabs and newlines stay).
pub fn strip_ansi(line: &str) -> Cow<'_, str> {
    // Most lines hold no control character at all: then there is nothing to strip, and
    // the pattern is not even compiled (a check-quota of idle panes never needs it).
    // Bytes, not chars: every such character is ASCII but U+009B (C2 9B in UTF-8).
    let b = line.as_bytes();
    let control = |i: usize| match b[i] {
        b'\t' | b'\n' => false,
        c if c < b' ' || c == 0x7f => true,
        0xc2 => b.get(i + 1) == Some(&0x9b),
        _ => false,
    };
    if !(0..b.len()).any(control) {
        return Cow::Borrowed(line);
    }
    ANSI.replace_all(line, "")
}

/// Folds the characters Claude Code varies between versions onto one spelling: both
/// separators (`∙` U+2219 in 2025, `·` U+00B7 later) become `·`, curly apostrophes become
/// `'`, and non-breaking spaces become spaces.
pub fn fold(line: &str) -> Cow<'_, str> {
    let folded = |c: char| match c {
        '\u{2219}' | '\u{22c5}' | '\u{2022}' => Some('·'),
        '\u{2018}' | '\u{2019}' | '\u{02bc}' | '\u{2032}' => Some('\''),
        '\u{00a0}' | '\u{2007}' | '\u{202f}' => Some(' '),
        _ => None,
    };
    // Most lines hold none of them: no copy.
    if !line.contains(|c| folded(c).is_some()) {
        return Cow::Borrowed(line);
    }
    line.chars().map(|c| folded(c).unwrap_or(c)).collect()
}

/// The glyph that opens a line of Claude Code's TUI, which tells what kind of line it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gutter {
    /// No glyph and no indentation: a line of its own (a footer, a shell, a pasted banner).
    Flush,
    /// No glyph but indented: the continuation of whatever block is above.
    Indented,
    /// `●`/`⏺`: an assistant item (a reply, a tool call, or a notice).
    Bullet,
    /// `⎿`: a result under the item above (tool output, an error, a banner).
    Result,
    /// `>`/`❯`: the user's prompt line (in the history or in the input box).
    Prompt,
    /// `✻` and the other spinner glyphs: a status line.
    Status,
    /// `⚠`: a notice in the footer.
    Notice,
    /// Nothing but box drawing (a rule or a box edge) or nothing at all.
    Blank,
}

/// One line of a capture, ready for classification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// What opened the line.
    pub gutter: Gutter,
    /// The text after the gutter glyphs, folded and trimmed: where a message must begin.
    pub head: String,
    /// The whole line, ANSI-stripped and trimmed, as reported in `matched`.
    pub shown: String,
    /// Whether the line held box drawing only (a rule such as the input box's edge).
    pub rule: bool,
}

fn is_box(c: char) -> bool {
    ('\u{2500}'..='\u{259f}').contains(&c)
}

fn is_spinner(c: char) -> bool {
    matches!(c, '✻' | '✶' | '✳' | '✢' | '✽' | '✺')
}

/// Splits a raw capture line into its gutter and its head.
pub fn split(raw: &str) -> Line {
    let stripped = strip_ansi(raw);
    let shown = stripped.trim().to_owned();
    let folded = fold(&stripped);
    let indented = folded.starts_with([' ', '\t']);
    let mut gutter = None;
    let mut rest = folded.as_ref();
    let mut saw_box = false;
    // Box edges and whitespace may come before the one glyph that matters (`│ > text`).
    loop {
        let trimmed = rest.trim_start();
        let Some(c) = trimmed.chars().next() else {
            rest = trimmed;
            break;
        };
        let kind = match c {
            '●' | '⏺' => Some(Gutter::Bullet),
            '⎿' => Some(Gutter::Result),
            '❯' | '>' => Some(Gutter::Prompt),
            '⚠' => Some(Gutter::Notice),
            c if is_spinner(c) => Some(Gutter::Status),
            c if is_box(c) => {
                saw_box = true;
                rest = &trimmed[c.len_utf8()..];
                continue;
            }
            _ => None,
        };
        match kind {
            // Only the first glyph decides; `⎿ ⚠ …` is still a result line.
            Some(kind) if gutter.is_none() => {
                gutter = Some(kind);
                rest = &trimmed[c.len_utf8()..];
                // `>` is a prompt only when followed by a space or nothing (`>=` is text).
                if c == '>' && !(rest.is_empty() || rest.starts_with(' ')) {
                    gutter = None;
                    rest = trimmed;
                    break;
                }
            }
            Some(_) if matches!(c, '⚠' | '●' | '⏺') || is_spinner(c) => {
                rest = &trimmed[c.len_utf8()..];
            }
            _ => {
                rest = trimmed;
                break;
            }
        }
    }
    let head = rest.trim_end_matches(|c: char| c.is_whitespace() || is_box(c));
    let head = head.trim().to_owned();
    let gutter = match gutter {
        Some(g) => g,
        None if head.is_empty() => Gutter::Blank,
        None if indented || saw_box => Gutter::Indented,
        None => Gutter::Flush,
    };
    Line {
        gutter,
        rule: head.is_empty() && saw_box,
        head,
        shown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csi_and_osc_sequences_are_removed() {
        let raw = "\x1b[38;5;246m⎿\x1b[0m  \x1b]8;;https://x\x07link\x1b]8;;\x07 You've";
        assert_eq!(strip_ansi(raw), "⎿  link You've");
    }

    #[test]
    fn a_c1_csi_is_removed_and_a_clean_line_is_borrowed() {
        assert_eq!(strip_ansi("a\u{9b}1mb\u{e9}"), "ab\u{e9}");
        assert!(matches!(strip_ansi("plain é ·"), Cow::Borrowed(_)));
        assert!(matches!(fold("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn both_separators_and_curly_apostrophes_fold_to_one_spelling() {
        assert_eq!(fold("You’ve hit ∙ resets"), "You've hit · resets");
    }

    #[test]
    fn a_result_gutter_is_split_from_its_head() {
        let line = split("  ⎿  You've hit your limit · resets 3pm");
        assert_eq!(line.gutter, Gutter::Result);
        assert_eq!(line.head, "You've hit your limit · resets 3pm");
    }

    #[test]
    fn a_prompt_inside_a_box_is_a_prompt() {
        let line = split("│ > You've hit your limit   │");
        assert_eq!(line.gutter, Gutter::Prompt);
        assert_eq!(line.head, "You've hit your limit");
    }

    #[test]
    fn a_greater_than_sign_without_a_space_is_text() {
        assert_eq!(split(">=3 items").gutter, Gutter::Flush);
    }

    #[test]
    fn a_rule_line_is_blank_and_marked_as_a_rule() {
        let line = split("────────────────");
        assert_eq!(line.gutter, Gutter::Blank);
        assert!(line.rule);
    }

    #[test]
    fn an_indented_line_without_a_glyph_is_a_continuation() {
        assert_eq!(split("     /upgrade to increase").gutter, Gutter::Indented);
        assert_eq!(split("Continuing automatically").gutter, Gutter::Flush);
    }
}
