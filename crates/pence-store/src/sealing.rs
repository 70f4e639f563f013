//! Secrets the node must read back (its own keys, webhook signing secrets, authenticator
//! keys) are stored sealed: AES-256-GCM under a key given to the node, never kept in the
//! database. A sealed value names its key (`sealed:v1:{key id}:{nonce and ciphertext}`), so
//! a node given a new key and the old ones as previous reads both, and `reseal` moves every
//! value to the new key. A value stored before sealing was switched on reads as it is.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use data_encoding::{BASE64URL_NOPAD, HEXLOWER};
use pence_core::StoreError;
use sha2::{Digest, Sha256};

const PREFIX: &str = "sealed:v1:";
const NONCE_LEN: usize = 12;

/// A 256-bit sealing key, as given to the node: 64 hexadecimal digits.
#[derive(Clone)]
pub struct SealingKey([u8; 32]);

impl SealingKey {
    /// The key written as 64 hexadecimal digits; `None` for anything else.
    pub fn parse(text: &str) -> Option<SealingKey> {
        let bytes = HEXLOWER
            .decode(text.trim().to_lowercase().as_bytes())
            .ok()?;
        Some(SealingKey(bytes.try_into().ok()?))
    }

    /// A new random key, as 64 hexadecimal digits (for a key file).
    pub fn generate() -> String {
        HEXLOWER.encode(Aes256Gcm::generate_key(OsRng).as_slice())
    }

    /// The key's name in sealed values: the start of its SHA-256, which reveals nothing of it.
    fn id(&self) -> String {
        HEXLOWER.encode(&Sha256::digest(self.0)[..6])
    }
}

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealingKey({})", self.id())
    }
}

/// The node's keys: the current one seals, every one opens.
#[derive(Clone, Debug)]
pub struct SealingKeys {
    pub current: SealingKey,
    pub previous: Vec<SealingKey>,
}

pub(crate) struct Sealer {
    current: (String, Aes256Gcm),
    all: Vec<(String, Aes256Gcm)>,
}

impl Sealer {
    pub(crate) fn new(keys: &SealingKeys) -> Sealer {
        let cipher = |k: &SealingKey| (k.id(), Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&k.0)));
        Sealer {
            current: cipher(&keys.current),
            all: std::iter::once(&keys.current)
                .chain(&keys.previous)
                .map(cipher)
                .collect(),
        }
    }

    /// `plain` sealed under the current key.
    pub(crate) fn seal(&self, plain: &[u8]) -> String {
        let (id, cipher) = &self.current;
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let sealed = cipher
            .encrypt(&nonce, plain)
            .expect("AES-GCM seals any length a database holds");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{PREFIX}{id}:{}", BASE64URL_NOPAD.encode(&out))
    }

    /// A stored value opened: sealed under one of the node's keys, or stored before sealing
    /// (as it is).
    pub(crate) fn open(&self, stored: &[u8]) -> Result<Vec<u8>, StoreError> {
        let Some(rest) = stored.strip_prefix(PREFIX.as_bytes()) else {
            return Ok(stored.to_vec());
        };
        let text = std::str::from_utf8(rest).map_err(|_| unreadable())?;
        let (id, body) = text.split_once(':').ok_or_else(unreadable)?;
        let (_, cipher) = self.all.iter().find(|(k, _)| k == id).ok_or_else(|| {
            StoreError::database(format!(
                "a secret is sealed with key {id}, which this node was not given \
                 (give it as a previous key)"
            ))
        })?;
        let bytes = BASE64URL_NOPAD
            .decode(body.as_bytes())
            .map_err(|_| unreadable())?;
        if bytes.len() < NONCE_LEN {
            return Err(unreadable());
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        cipher
            .decrypt(Nonce::from_slice(nonce), sealed)
            .map_err(|_| unreadable())
    }

    /// Whether `stored` is sealed under the current key already.
    pub(crate) fn is_current(&self, stored: &[u8]) -> bool {
        let wanted = format!("{PREFIX}{}:", self.current.0);
        stored.starts_with(wanted.as_bytes())
    }
}

fn unreadable() -> StoreError {
    StoreError::database("a sealed secret could not be opened (altered, or another key)")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(current: &str, previous: &[&str]) -> SealingKeys {
        SealingKeys {
            current: SealingKey::parse(current).unwrap(),
            previous: previous
                .iter()
                .map(|k| SealingKey::parse(k).unwrap())
                .collect(),
        }
    }

    #[test]
    fn sealed_values_open_under_their_key_only() {
        let (a, b) = (SealingKey::generate(), SealingKey::generate());
        let old = Sealer::new(&keys(&a, &[]));
        let sealed = old.seal(b"whsec_abc");
        assert!(!sealed.contains("whsec"), "{sealed}");
        assert_ne!(old.seal(b"whsec_abc"), sealed, "a fresh nonce each time");
        assert_eq!(old.open(sealed.as_bytes()).unwrap(), b"whsec_abc");
        // Rotated: the new key seals, the old one still opens.
        let rotated = Sealer::new(&keys(&b, &[&a]));
        assert_eq!(rotated.open(sealed.as_bytes()).unwrap(), b"whsec_abc");
        assert!(!rotated.is_current(sealed.as_bytes()));
        assert!(rotated.is_current(rotated.seal(b"x").as_bytes()));
        // Without the old key: a clear refusal. Altered: refused.
        let new_only = Sealer::new(&keys(&b, &[]));
        let refused = new_only.open(sealed.as_bytes()).unwrap_err().to_string();
        assert!(refused.contains("not given"), "{refused}");
        let mut altered = sealed.clone().into_bytes();
        let last = altered.len() - 2;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        assert!(old.open(&altered).is_err());
        // Stored before sealing: as it is.
        assert_eq!(old.open(b"plain").unwrap(), b"plain");
    }

    #[test]
    fn keys_are_64_hex_digits() {
        assert!(SealingKey::parse(&SealingKey::generate()).is_some());
        assert!(SealingKey::parse("abc").is_none());
        assert!(SealingKey::parse(&"g".repeat(64)).is_none());
    }
}
