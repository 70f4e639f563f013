//! Billing-address countries: ISO 3166-1 alpha-2 codes with English names, alphabetical.

const TABLE: &str = include_str!("countries.tsv");

/// `(code, name)` pairs in display order.
pub fn all() -> impl Iterator<Item = (&'static str, &'static str)> {
    TABLE.lines().filter_map(|l| l.split_once('\t'))
}

pub fn known(code: &str) -> bool {
    all().any(|(c, _)| c == code)
}

pub fn name(code: &str) -> Option<&'static str> {
    all().find(|(c, _)| *c == code).map(|(_, n)| n)
}
