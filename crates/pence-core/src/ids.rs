//! External ids of GOV.UK Pay's form: 130 random bits written as 26 lower-case base-32 digits
//! (`0-9a-v`), like `hu20sqlact5260q2nanm0q8u93`.

use rand::RngCore;

const DIGITS: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";

/// `digits` random base-32 digits (five random bits each; 256 is a multiple of 32, so masking
/// a random byte is uniform).
pub fn random_base32(digits: usize) -> String {
    let mut bytes = vec![0u8; digits];
    rand::rng().fill_bytes(&mut bytes);
    bytes
        .iter()
        .map(|b| DIGITS[(b & 31) as usize] as char)
        .collect()
}

/// A new 26-character external id (payments, refunds, services, keys).
pub fn new_id() -> String {
    random_base32(26)
}

/// True for a string of GOV.UK Pay's id alphabet.
pub fn is_base32(s: &str) -> bool {
    s.bytes().all(|b| DIGITS.contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_26_lower_base32_and_distinct() {
        let a = new_id();
        let b = new_id();
        assert_eq!(a.len(), 26);
        assert!(is_base32(&a));
        assert_ne!(a, b);
    }
}
