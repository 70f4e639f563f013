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

/// A new 26-character external id (payments, refunds, services, keys): nine digits of the
/// current millisecond, then 17 random digits (85 bits). Ids made later sort later, so the
/// database indexes on them grow at one end instead of rewriting random pages on every insert;
/// the random part keeps them unguessable. They look like GOV.UK Pay's ids.
pub fn new_id() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let mut id = String::with_capacity(26);
    for shift in (0..9).rev() {
        id.push(DIGITS[((ms >> (shift * 5)) & 31) as usize] as char);
    }
    id.push_str(&random_base32(17));
    id
}

/// Whether `s` could name a record: ids are short and alphanumeric, so anything else (an
/// empty id, control characters such as NUL, which PostgreSQL text cannot even hold) names
/// nothing and need not be looked up.
pub fn could_be_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric())
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
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert!(new_id() > a, "later ids sort later");
    }
}
