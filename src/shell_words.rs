//! Quoting for POSIX shells, shared by the Slurm scripts (`orchestration`) and the web page's
//! "Copy as CLI" line (`serve`).
//!
//! May depend on: nothing.

/// True for characters that bash never treats specially: letters, digits, `_-./:=@%+,`.
pub fn is_plain(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(c, '_' | '-' | '.' | '/' | ':' | '=' | '@' | '%' | '+' | ',')
}

/// Quotes `s` as one bash word: unchanged when it only has characters that bash never treats
/// specially (letters, digits, `_-./:=@%+,`), otherwise in single quotes with each `'`
/// written as `'\''`. The empty string becomes `''`.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(is_plain) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}
