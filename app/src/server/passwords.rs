//! Password hashing on a bounded pool (DESIGN.md, "password hashing"): argon2id m=19 MiB, t=2,
//! p=1. One hash costs ~20 ms of one core, so hashing runs on blocking threads, at most one per
//! core, with a short queue; past the queue the caller gets 429 instead of piling up work that
//! would starve every other request.

use crate::AppError;
use argon2::{Algorithm, Argon2, Params, Version};
use argon2::{PasswordHash, PasswordHasher as _, PasswordVerifier as _};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::Semaphore;

pub const MEMORY_KIB: u32 = 19 * 1024;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;

fn argon2_with(params: Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn current_params() -> Params {
    Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).expect("valid argon2 parameters")
}

/// Hashes on the calling thread. Use [`PasswordHasher`] in request paths.
pub fn hash_blocking(password: &str) -> Result<String, AppError> {
    argon2_with(current_params())
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|_| AppError::internal())
}

/// The outcome of checking a password against a stored PHC string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verification {
    pub matches: bool,
    /// The stored hash used other parameters than today's: store a fresh hash.
    pub needs_rehash: bool,
}

pub fn verify_blocking(phc: &str, password: &str) -> Verification {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return Verification {
            matches: false,
            needs_rehash: false,
        };
    };
    let matches = Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok();
    let current = current_params();
    let needs_rehash = parsed.algorithm.as_str() != "argon2id"
        || Params::try_from(&parsed).map_or(true, |p| {
            p.m_cost() != current.m_cost() || p.t_cost() != current.t_cost() || p.p_cost() != current.p_cost()
        });
    Verification { matches, needs_rehash }
}

#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    queued: Arc<AtomicUsize>,
    max_queued: usize,
    /// Verified against when the identifier is unknown, so an unknown account costs the same time.
    dummy_hash: Arc<str>,
}

impl PasswordHasher {
    /// `workers` hashes run at once; up to `max_queued` more wait, the rest are refused.
    pub fn new(workers: usize, max_queued: usize) -> Self {
        let dummy = hash_blocking("latchkey-dummy-password-for-timing").expect("dummy hash");
        Self {
            permits: Arc::new(Semaphore::new(workers.max(1))),
            queued: Arc::new(AtomicUsize::new(0)),
            max_queued,
            dummy_hash: dummy.into(),
        }
    }

    /// One worker per core and a queue of four per core.
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::new(cores, cores * 4)
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, AppError> {
        let waiting = self.queued.fetch_add(1, Ordering::SeqCst);
        let permit = if waiting >= self.max_queued {
            // Past the queue: do not wait, refuse. Try once, in case a permit is free right now.
            self.permits.clone().try_acquire_owned().ok()
        } else {
            self.permits.clone().acquire_owned().await.ok()
        };
        self.queued.fetch_sub(1, Ordering::SeqCst);
        let Some(permit) = permit else {
            return Err(AppError::rate_limited(1));
        };
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(|_| AppError::internal())?;
        Ok(result)
    }

    pub async fn hash(&self, password: &str) -> Result<String, AppError> {
        let password = password.to_owned();
        self.run(move || hash_blocking(&password)).await?
    }

    /// Checks `password` against `phc`, or against the dummy hash when there is none, so the
    /// time taken does not tell whether the account exists or has a password.
    pub async fn verify(&self, phc: Option<&str>, password: &str) -> Result<Verification, AppError> {
        let (phc, real) = match phc {
            Some(phc) => (phc.to_owned(), true),
            None => (self.dummy_hash.to_string(), false),
        };
        let password = password.to_owned();
        let verification = self.run(move || verify_blocking(&phc, &password)).await?;
        Ok(if real {
            verification
        } else {
            Verification {
                matches: false,
                needs_rehash: false,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_carries_its_parameters_and_verifies() {
        let phc = hash_blocking("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_eq!(
            verify_blocking(&phc, "correct horse battery"),
            Verification {
                matches: true,
                needs_rehash: false
            }
        );
        assert!(!verify_blocking(&phc, "correct horse batterx").matches);
        // A fresh random salt each time: the same password never hashes the same twice.
        assert_ne!(hash_blocking("correct horse battery").unwrap(), phc);
    }

    #[test]
    fn old_parameters_ask_for_a_rehash() {
        let old = argon2_with(Params::new(8 * 1024, 1, 1, None).unwrap())
            .hash_password(b"old password 1")
            .unwrap()
            .to_string();
        assert_eq!(
            verify_blocking(&old, "old password 1"),
            Verification {
                matches: true,
                needs_rehash: true
            }
        );
    }

    #[test]
    fn garbage_hash_never_matches() {
        assert!(!verify_blocking("not a phc string", "x").matches);
    }

    #[tokio::test]
    async fn full_queue_is_refused_with_429() {
        let hasher = PasswordHasher::new(1, 0);
        let slow = hasher.clone();
        let first = tokio::spawn(async move { slow.hash("first password 1").await });
        tokio::task::yield_now().await;
        // The single worker is busy or about to be; with no queue some of these are refused.
        let results: Vec<_> = futures_join(&hasher, 4).await;
        assert!(first.await.unwrap().is_ok());
        assert!(results.iter().any(|r| matches!(r, Err(AppError::RateLimited { .. }))));
    }

    async fn futures_join(hasher: &PasswordHasher, n: usize) -> Vec<Result<String, AppError>> {
        let handles: Vec<_> = (0..n)
            .map(|_| {
                let h = hasher.clone();
                tokio::spawn(async move { h.hash("another password").await })
            })
            .collect();
        let mut out = Vec::new();
        for handle in handles {
            out.push(handle.await.unwrap());
        }
        out
    }

    #[tokio::test]
    async fn unknown_account_never_matches() {
        let hasher = PasswordHasher::new(1, 4);
        let v = hasher.verify(None, "latchkey-dummy-password-for-timing").await.unwrap();
        assert!(!v.matches);
    }
}
