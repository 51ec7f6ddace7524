//! Whether a pane shows a running turn. While Claude Code works on a turn (a request in
//! flight, a tool call, a sub-agent) it draws a spinner line above its input box that
//! ends with `esc to interrupt` (2.1.330: `✻ Pondering… (12s · ↓ 1.2k tokens · esc to
//! interrupt)`); between turns that line is gone. Only the bottom of the screen counts:
//! the words anywhere above are the conversation, which may quote them.

use super::text::strip_ansi;

/// How many non-blank lines from the bottom the spinner can sit at: the input box (three
/// lines), the footer below it, a todo list or queued messages between (a few).
const BOTTOM: usize = 12;

/// Whether the bottom of `screen` shows Claude Code's running-turn line.
pub fn turn_running(screen: &str) -> bool {
    screen
        .lines()
        .rev()
        .map(strip_ansi)
        .filter(|l| !l.trim().is_empty())
        .take(BOTTOM)
        .any(|l| l.contains("esc to interrupt"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spinner_line_above_the_input_box_is_a_running_turn() {
        let busy = "● Bash(sleep 25)\n  ⎿  Running…\n\n✻ Pondering… (12s · ↓ 1.2k tokens · esc to interrupt)\n\n╭──────╮\n│ >    │\n╰──────╯\n  ⏵⏵ accept edits on\n";
        assert!(turn_running(busy));
        let idle = "● Done.\n\n╭──────╮\n│ >    │\n╰──────╯\n  ? for shortcuts\n";
        assert!(!turn_running(idle));
    }

    #[test]
    fn the_words_quoted_high_in_the_conversation_are_not_a_turn() {
        let mut screen = String::from("❯ what does esc to interrupt mean?\n");
        for i in 0..20 {
            screen.push_str("● line ");
            screen.push_str(&i.to_string());
            screen.push('\n');
        }
        screen.push_str("╭──────╮\n│ >    │\n╰──────╯\n");
        assert!(!turn_running(&screen));
    }
}
