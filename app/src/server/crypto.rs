//! Random secrets, their hashes, and signed cookie values. Secrets are shown once and only
//! their SHA-256 is stored: they carry 256 bits of entropy, so a fast hash is enough (unlike
//! passwords, which get argon2id).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// 32 random bytes, base64url: the value of a session cookie, API token or link secret.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn random_u64() -> u64 {
    rand::rng().next_u64()
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// Letters and digits a person reads off a screen without mixing them up (no 0/O, 1/l/I).
const READABLE: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";

/// A random password of `len` readable characters (about 5.8 bits each): for temporary passwords.
pub fn random_readable(len: usize) -> String {
    let mut rng = rand::rng();
    let mut out = String::with_capacity(len);
    while out.len() < len {
        // Rejection sampling keeps every character equally likely.
        let byte = (rng.next_u32() & 0xFF) as usize;
        if byte < 256 - 256 % READABLE.len() {
            out.push(READABLE[byte % READABLE.len()] as char);
        }
    }
    out
}

/// The stored form of a random secret.
pub fn secret_hash(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// HMAC-SHA256 signing of small cookie payloads.
#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
}

impl Signer {
    pub fn new(key: &[u8]) -> Self {
        Self { key: key.to_vec() }
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length, so this cannot fail.
        <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC takes any key length")
    }

    /// `payload.signature`, both base64url.
    pub fn sign(&self, payload: &str) -> String {
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        format!("{payload}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
    }

    /// A keyed hash (HMAC-SHA256, hex) for short secrets such as 6-digit codes, which a plain
    /// hash would not protect: without the key a leaked table cannot be brute-forced.
    pub fn digest(&self, data: &str) -> String {
        let mut mac = self.mac();
        mac.update(data.as_bytes());
        mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The payload if the signature is right (compared in constant time).
    pub fn verify<'a>(&self, signed: &'a str) -> Option<&'a str> {
        let (payload, signature) = signed.rsplit_once('.')?;
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        mac.verify_slice(&signature).ok()?;
        Some(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readable_passwords_have_the_length_and_alphabet() {
        let password = random_readable(16);
        assert_eq!(password.len(), 16);
        assert!(password.bytes().all(|b| READABLE.contains(&b)));
        assert_ne!(random_readable(16), password);
    }

    #[test]
    fn tokens_are_unique_and_url_safe() {
        let a = random_token();
        assert_ne!(a, random_token());
        assert_eq!(a.len(), 43);
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }

    #[test]
    fn signatures_verify_and_tampering_fails() {
        let signer = Signer::new(b"key");
        let signed = signer.sign("v1.abc");
        assert_eq!(signer.verify(&signed), Some("v1.abc"));
        assert_eq!(signer.verify(&signed.replace("abc", "abd")), None);
        assert_eq!(Signer::new(b"other").verify(&signed), None);
        assert_eq!(signer.verify("garbage"), None);
        assert_eq!(signer.verify("a.!!!"), None);
    }

    #[test]
    fn hash_is_hex_sha256() {
        assert_eq!(
            secret_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}

/// Authenticated encryption for data kept at rest (mail bodies that carry codes, TOTP secrets):
/// XChaCha20-Poly1305 with a random 24-byte nonce stored in front of the ciphertext.
#[derive(Clone)]
pub struct Cipher(chacha20poly1305::XChaCha20Poly1305);

const NONCE_LEN: usize = 24;

impl Cipher {
    pub fn new(key: &[u8; 32]) -> Self {
        use chacha20poly1305::aead::KeyInit;
        Self(chacha20poly1305::XChaCha20Poly1305::new(&(*key).into()))
    }

    pub fn seal(&self, plaintext: &[u8]) -> Vec<u8> {
        use chacha20poly1305::aead::Aead;
        let nonce_bytes = random_bytes::<NONCE_LEN>();
        let nonce = chacha20poly1305::XNonce::from(nonce_bytes);
        // Encryption fails only for plaintexts near 256 GiB, which never reach here.
        let ciphertext = self.0.encrypt(&nonce, plaintext).expect("plaintext within AEAD limits");
        let mut sealed = nonce_bytes.to_vec();
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    /// `None` when the data was altered or sealed under another key.
    pub fn open(&self, sealed: &[u8]) -> Option<Vec<u8>> {
        use chacha20poly1305::aead::Aead;
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
        self.0.decrypt(&chacha20poly1305::XNonce::from(nonce), ciphertext).ok()
    }
}

#[cfg(test)]
mod cipher_tests {
    use super::*;

    #[test]
    fn seal_and_open() {
        let cipher = Cipher::new(&[7; 32]);
        let sealed = cipher.seal(b"code 123456");
        assert!(!sealed.windows(6).any(|w| w == b"123456"));
        assert_eq!(cipher.open(&sealed).as_deref(), Some(&b"code 123456"[..]));
        assert_ne!(sealed, cipher.seal(b"code 123456"), "nonces differ");
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(cipher.open(&tampered), None);
        assert_eq!(Cipher::new(&[8; 32]).open(&sealed), None);
        assert_eq!(cipher.open(b"short"), None);
    }
}
