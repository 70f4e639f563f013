//! String measures as GOV.UK Pay's Java services take them.

/// Length in UTF-16 code units, as Java's `String.length()` and bean validation's `@Size`
/// count it (an emoji counts 2).
pub fn java_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// Java's `StringUtils.isBlank`: empty or only whitespace.
pub fn is_blank(s: &str) -> bool {
    s.chars().all(char::is_whitespace)
}
