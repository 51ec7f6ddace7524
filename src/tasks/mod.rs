//! Tasks: the queue of prompt files, and what dispatch, janitor and the `run-task`
//! wrapper know about each claimed task.
//!
//! - [`frontmatter`]: pure; a task file's bytes to its options and prompt, or the reason
//!   it can never run.
//! - [`record`]: the two files beside a claimed task in `running/`: the record dispatch
//!   writes (`<stem>.run.json`) and the result the wrapper writes (`<stem>.result.json`).
//! - [`stream`]: pure; Claude Code's `stream-json` lines to a summary and pane text.
//! - [`queue`]: the directories and every move between them.
//! - [`facts`]: what dispatch and janitor gather before they plan: panes, claimed tasks,
//!   the inbox with each file vetted.
//! - [`triage`]: pure; those facts to the actions that settle claimed tasks and the
//!   candidates for placement.
//! - [`plan`]: pure; facts about the queue, the pool and the accounts to actions.
//! - [`apply`]: carries out those actions (tmux, files, state), shared by dispatch and
//!   janitor.
//! - [`bookkeeping`]: pure; what those actions write into a task's record and the state.

pub mod apply;
pub mod bookkeeping;
pub mod facts;
pub mod frontmatter;
pub mod plan;
pub mod queue;
pub mod record;
pub mod stream;
pub mod triage;
