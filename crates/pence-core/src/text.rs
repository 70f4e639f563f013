//! String measures as GOV.UK Pay's Java services take them, and amounts as people read them.

/// Length in UTF-16 code units, as Java's `String.length()` and bean validation's `@Size`
/// count it (an emoji counts 2).
pub fn java_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// Java's `StringUtils.isBlank`: empty or only whitespace.
pub fn is_blank(s: &str) -> bool {
    s.chars().all(char::is_whitespace)
}

/// `£1,234.56` from pence.
pub fn money(pence: i64) -> String {
    let pounds = (pence / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in pounds.chars().enumerate() {
        if i > 0 && (pounds.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("£{grouped}.{:02}", pence % 100)
}

#[cfg(test)]
mod tests {
    #[test]
    fn money() {
        assert_eq!(super::money(5), "£0.05");
        assert_eq!(super::money(123456789), "£1,234,567.89");
        assert_eq!(super::money(100000), "£1,000.00");
    }
}
