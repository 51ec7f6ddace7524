//! How detection's patterns are compiled: in ASCII mode where the pattern allows it.
//!
//! Compiling is most of what a check-quota run costs (callgrind: three quarters of its
//! instructions went to building Unicode case-folding and word-boundary tables for
//! patterns that read English banners). The text reaching them is already folded to
//! ASCII look-alikes (`text.rs`), so `\s`, `\b`, `\d` and `(?i)` mean the same there in
//! ASCII mode; non-ASCII literals (`·`, `’`) still match as written. A pattern that
//! cannot be ASCII-only (a negated class could then match half a character) is compiled
//! as written.

use regex::{Regex, RegexBuilder};

pub fn compile(pattern: &str) -> Regex {
    RegexBuilder::new(pattern)
        .unicode(false)
        .build()
        .or_else(|_| Regex::new(pattern))
        .expect("invariant: detection patterns are valid regexes")
}
