//! Password hashing on a bounded pool (DESIGN.md, "password hashing"): argon2id m=19 MiB, t=2,
//! p=1. One hash costs tens of milliseconds of one core, so hashes run on a fixed set of
//! hashing threads, one per core, behind a short queue; past the queue the caller gets 429
//! instead of piling up work that would starve every other request.
//!
//! Each hashing thread keeps its 19 MiB of argon2 memory and uses it again for the next hash.
//! Allocating it per hash left freed blocks behind in glibc's per-thread arenas: RSS under
//! sign-in load grew to hundreds of megabytes. The memory is given back after a quiet minute.

use crate::AppError;
use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::password_hash::try_generate_salt;
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, Version};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const MEMORY_KIB: u32 = 19 * 1024;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;
/// A hashing thread idle this long frees its argon2 memory.
const IDLE_RELEASE: Duration = Duration::from_secs(60);

pub fn current_params() -> Params {
    Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).expect("valid argon2 parameters")
}

/// The outcome of checking a password against a stored PHC string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verification {
    pub matches: bool,
    /// The stored hash used other parameters than today's: store a fresh hash.
    pub needs_rehash: bool,
}

const NO_MATCH: Verification = Verification {
    matches: false,
    needs_rehash: false,
};

/// Argon2's working memory, kept between hashes by whoever hashes many.
#[derive(Default)]
pub struct HashMemory(Vec<Block>);

impl HashMemory {
    fn blocks(&mut self, params: &Params) -> &mut [Block] {
        let count = params.block_count();
        if self.0.len() != count {
            self.0 = vec![Block::default(); count];
        }
        &mut self.0
    }

    fn release(&mut self) {
        self.0 = Vec::new();
    }

    /// A PHC string of `password` under today's parameters, with a fresh random salt.
    pub fn hash(&mut self, password: &str) -> Result<String, AppError> {
        let params = current_params();
        let salt = try_generate_salt().map_err(|_| AppError::internal())?;
        let mut output = [0u8; Params::DEFAULT_OUTPUT_LEN];
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
            .hash_password_into_with_memory(password.as_bytes(), &salt, &mut output, self.blocks(&params))
            .map_err(|_| AppError::internal())?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params).map_err(|_| AppError::internal())?,
            salt: Some(Salt::new(&salt).map_err(|_| AppError::internal())?),
            hash: Some(Output::new(&output).map_err(|_| AppError::internal())?),
        };
        Ok(phc.to_string())
    }

    /// Checks `password` against a stored PHC string, whatever argon2 parameters it carries.
    pub fn verify(&mut self, phc: &str, password: &str) -> Verification {
        let Ok(parsed) = PasswordHash::new(phc) else {
            return NO_MATCH;
        };
        let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
            return NO_MATCH;
        };
        let Ok(algorithm) = Algorithm::try_from(parsed.algorithm.as_str()) else {
            return NO_MATCH;
        };
        let Ok(version) = parsed.version.map_or(Ok(Version::V0x13), Version::try_from) else {
            return NO_MATCH;
        };
        let Ok(params) = Params::try_from(&parsed) else {
            return NO_MATCH;
        };
        let mut computed = vec![0u8; expected.len()];
        let hashed = Argon2::new(algorithm, version, params.clone()).hash_password_into_with_memory(
            password.as_bytes(),
            salt,
            &mut computed,
            self.blocks(&params),
        );
        // `Output`'s equality is constant-time.
        let matches = hashed.is_ok() && Output::new(&computed).is_ok_and(|computed| &computed == expected);
        let current = current_params();
        let needs_rehash = algorithm != Algorithm::Argon2id
            || params.m_cost() != current.m_cost()
            || params.t_cost() != current.t_cost()
            || params.p_cost() != current.p_cost();
        Verification { matches, needs_rehash }
    }
}

/// Hashes on the calling thread. Use [`PasswordHasher`] in request paths.
pub fn hash_blocking(password: &str) -> Result<String, AppError> {
    HashMemory::default().hash(password)
}

pub fn verify_blocking(phc: &str, password: &str) -> Verification {
    HashMemory::default().verify(phc, password)
}

type Job = Box<dyn FnOnce(&mut HashMemory) + Send>;

#[derive(Clone)]
pub struct PasswordHasher {
    jobs: Sender<Job>,
    /// Hashes running or waiting; at most `capacity`.
    outstanding: Arc<AtomicUsize>,
    capacity: usize,
    /// Verified against when the identifier is unknown, so an unknown account costs the same time.
    dummy_hash: Arc<str>,
}

/// One of the pool's places (running or queued); given back when dropped, whatever happened to
/// the request that held it.
struct Place(Arc<AtomicUsize>);

impl Drop for Place {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl PasswordHasher {
    /// `workers` hashes run at once on their own threads; up to `max_queued` more wait, the
    /// rest are refused. The threads end when the last clone of the hasher is dropped.
    pub fn new(workers: usize, max_queued: usize) -> Self {
        let dummy = hash_blocking("latchkey-dummy-password-for-timing").expect("dummy hash");
        let workers = workers.max(1);
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..workers {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || hashing_thread(&queue))
                .expect("start a hashing thread");
        }
        Self {
            jobs,
            outstanding: Arc::new(AtomicUsize::new(0)),
            capacity: workers + max_queued,
            dummy_hash: dummy.into(),
        }
    }

    /// One worker per core and a queue of four per core.
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::new(cores, cores * 4)
    }

    fn take_place(&self) -> Option<Place> {
        let taken = self.outstanding.fetch_add(1, Ordering::SeqCst);
        let place = Place(self.outstanding.clone());
        (taken < self.capacity).then_some(place)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut HashMemory) -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let place = self.take_place().ok_or_else(|| AppError::rate_limited(1))?;
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |memory| {
            // A request dropped while queued (its client went away) is not worth a hash.
            if reply.is_closed() {
                return;
            }
            let result = work(memory);
            // Free the place before answering, so the caller's next request finds it free.
            drop(place);
            let _ = reply.send(result);
        });
        self.jobs.send(job).map_err(|_| AppError::internal())?;
        answer.await.map_err(|_| AppError::internal())
    }

    pub async fn hash(&self, password: &str) -> Result<String, AppError> {
        let password = password.to_owned();
        self.run(move |memory| memory.hash(&password)).await?
    }

    /// Checks `password` against `phc`, or against the dummy hash when there is none, so the
    /// time taken does not tell whether the account exists or has a password.
    pub async fn verify(&self, phc: Option<&str>, password: &str) -> Result<Verification, AppError> {
        let (phc, real) = match phc {
            Some(phc) => (phc.to_owned(), true),
            None => (self.dummy_hash.to_string(), false),
        };
        let password = password.to_owned();
        let verification = self.run(move |memory| memory.verify(&phc, &password)).await?;
        Ok(if real { verification } else { NO_MATCH })
    }
}

/// How much lower than request handling the hashing threads run (a nice value).
const HASHING_NICENESS: i32 = 10;

/// Linux keeps a nice value per thread. Hashing at a lower priority than request handling (and
/// than a database on the same machine) means that while sign-ins keep every core busy, the
/// scheduler still runs a cheap request as soon as it wakes; hashing gets the remaining CPU,
/// which is nearly all of it.
#[cfg(target_os = "linux")]
fn lower_this_threads_priority() {
    // SAFETY: setpriority on the calling thread's own id changes only how it is scheduled; a
    // failure leaves the priority as it was, which is harmless.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, HASHING_NICENESS);
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_this_threads_priority() {}

fn hashing_thread(queue: &Mutex<Receiver<Job>>) {
    lower_this_threads_priority();
    let mut memory = HashMemory::default();
    loop {
        // The lock is held only while waiting for the next job, never while hashing.
        let next = match queue.lock() {
            Ok(queue) => queue.recv_timeout(IDLE_RELEASE),
            Err(_) => return,
        };
        match next {
            Ok(job) => {
                if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut memory))).is_err() {
                    memory.release();
                }
            }
            Err(RecvTimeoutError::Timeout) => memory.release(),
            Err(RecvTimeoutError::Disconnected) => return,
        }
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

    /// Hashes made by the argon2 crate's own PHC code verify here, and ours verify there.
    #[test]
    fn agrees_with_the_argon2_crate_both_ways() {
        use argon2::{PasswordHasher as _, PasswordVerifier as _};
        let theirs = Argon2::default()
            .hash_password(b"shared password 7")
            .unwrap()
            .to_string();
        assert!(verify_blocking(&theirs, "shared password 7").matches);
        assert!(!verify_blocking(&theirs, "shared password 8").matches);
        let ours = hash_blocking("shared password 7").unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"shared password 7", ours.as_str())
                .is_ok()
        );
    }

    #[test]
    fn old_parameters_ask_for_a_rehash() {
        use argon2::PasswordHasher as _;
        let old = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 1, 1, None).unwrap(),
        )
        .hash_password(b"old password 1")
        .unwrap()
        .to_string();
        // One memory serves hashes of both sizes, in either order.
        let mut memory = HashMemory::default();
        let current = memory.hash("new password 1").unwrap();
        assert_eq!(
            memory.verify(&old, "old password 1"),
            Verification {
                matches: true,
                needs_rehash: true
            }
        );
        assert!(memory.verify(&current, "new password 1").matches);
        assert!(!memory.verify(&old, "new password 1").matches);
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

    /// Requests dropped while their hash waits (the client went away) give their place back:
    /// later requests queue as before instead of being refused.
    #[tokio::test]
    async fn dropped_requests_free_their_place_in_the_queue() {
        let hasher = PasswordHasher::new(1, 1);
        let abandoned: Vec<_> = (0..6)
            .map(|_| {
                let h = hasher.clone();
                tokio::spawn(async move {
                    tokio::time::timeout(std::time::Duration::from_millis(1), h.hash("abandoned password")).await
                })
            })
            .collect();
        for request in abandoned {
            // Each either timed out while queued or running, or was refused at once.
            request.await.unwrap().ok();
        }
        // Wait until the worker has run or skipped what was queued.
        let started = std::time::Instant::now();
        while hasher.hash("probe password 1").await.is_err() {
            assert!(started.elapsed().as_secs() < 20, "the queue never drained");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        // One running and one queued fit in a pool of one worker and a queue of one.
        let (first, second) = tokio::join!(hasher.hash("queued password 1"), hasher.hash("queued password 2"));
        assert!(first.is_ok() && second.is_ok(), "{first:?} {second:?}");
    }

    #[tokio::test]
    async fn unknown_account_never_matches() {
        let hasher = PasswordHasher::new(1, 4);
        let v = hasher.verify(None, "latchkey-dummy-password-for-timing").await.unwrap();
        assert!(!v.matches);
    }
}
