//! Sign-in failure counting (DESIGN.md, "sign-in failures", "Lockout that cannot be turned
//! against the user").
//!
//! A counter is kept per key: one per account for browsers we do not know, shared by the
//! account's email and username and by every host it is tried on (the password is the same on
//! all of them), one per unknown identifier, and one per device cookie for browsers that have
//! signed in as that identifier before (OWASP's device-cookie scheme), so a stranger's guesses
//! lock strangers out, never the user's own browser. Second-factor codes are counted the same
//! way, one key per factor of a person (TOTP, text message, recovery codes) on every workspace.
//!
//! Every attempt reserves a slot *before* the password is hashed: `failures + in_flight` may
//! not reach the limit, and the reservation is one conditional UPDATE, so fifty parallel guesses
//! get exactly five verifications. A correct password that finds every slot taken waits for a
//! slot instead of failing, so concurrent correct sign-ins are never refused or counted.

use super::db_error;
use crate::AppError;
use crate::server::entities::sign_in_throttles::{self, Column};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

/// Five failures in a row lock the key.
pub const MAX_FAILURES: i32 = 5;
/// A reservation older than this belonged to a request that died; it no longer counts.
const RESERVATION_TTL_SECS: i64 = 30;
/// How long an attempt waits for a free slot before it gives up with 429.
const ADMISSION_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// 15 minutes, doubling with each further lock, at most 24 hours.
pub fn lock_duration(previous_locks: i32) -> Duration {
    let minutes = 15i64.saturating_mul(1i64 << previous_locks.clamp(0, 20));
    Duration::minutes(Ord::min(minutes, 24 * 60))
}

/// How long a second factor's codes are refused once its budget is spent (DESIGN.md, "MFA
/// verification": the cooldown).
pub const FACTOR_PAUSE: Duration = Duration::hours(1);

/// A second factor whose codes can be guessed. Each has its own budget per person, on every
/// workspace: a code is compared only after a try of the factor it may belong to is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeFactor {
    Totp,
    Sms,
    RecoveryCode,
}

impl CodeFactor {
    pub const ALL: [Self; 3] = [Self::Totp, Self::Sms, Self::RecoveryCode];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Totp => "totp",
            Self::Sms => "sms",
            Self::RecoveryCode => "recovery_code",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleKey {
    key: String,
    /// Password budgets lock for longer each time; a factor pauses for [`FACTOR_PAUSE`].
    doubling: bool,
}

impl ThrottleKey {
    fn password(key: String) -> Self {
        Self { key, doubling: true }
    }

    /// An account, whichever of its identifiers and hosts a guess uses.
    pub fn account(user_id: Uuid) -> Self {
        Self::password(format!("a:{}", user_id.simple()))
    }

    /// An identifier no account has, on every host.
    pub fn unknown(identifier: &str) -> Self {
        Self::password(format!("i:{identifier}"))
    }

    /// One trusted browser (the nonce of its device cookie).
    pub fn device(nonce: &str) -> Self {
        Self::password(format!("d:{nonce}"))
    }

    /// The codes of one second factor of a person, on every workspace.
    pub fn factor(user_id: Uuid, factor: CodeFactor) -> Self {
        Self {
            key: format!("f:{}:{}", factor.as_str(), user_id.simple()),
            doubling: false,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.key
    }

    /// How long the key locks when its count reaches the limit for the `previous_locks + 1`th time.
    fn lock_duration(&self, previous_locks: i32) -> Duration {
        if self.doubling {
            lock_duration(previous_locks)
        } else {
            FACTOR_PAUSE
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Admitted,
    Locked { until: DateTime<Utc> },
}

/// The outcome of recording a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureOutcome {
    Counted {
        failures: i32,
    },
    /// This failure locked the key.
    LockedNow {
        until: DateTime<Utc>,
    },
}

async fn ensure_row(
    db: &impl ConnectionTrait,
    key: &ThrottleKey,
    tenant_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let row = sign_in_throttles::ActiveModel {
        key: Set(key.key.clone()),
        tenant_id: Set(tenant_id),
        failures: Set(0),
        in_flight: Set(0),
        in_flight_expires_at: Set(None),
        locked_until: Set(None),
        lock_count: Set(0),
        last_failure_at: Set(None),
        updated_at: Set(now),
    };
    sign_in_throttles::Entity::insert(row)
        .on_conflict_do_nothing_on([Column::Key])
        .exec(db)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// `in_flight` after one slot is given back; never below zero.
fn one_slot_fewer() -> sea_orm::sea_query::SimpleExpr {
    Expr::case(Column::InFlight.gt(0), Expr::col(Column::InFlight).sub(1))
        .finally(0)
        .into()
}

async fn release_slot(db: &impl ConnectionTrait, key: &ThrottleKey) -> Result<(), AppError> {
    sign_in_throttles::Entity::update_many()
        .col_expr(Column::InFlight, one_slot_fewer())
        .filter(Column::Key.eq(key.as_str()))
        .exec(db)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// Takes a slot for `key` if it is not locked and `failures + in_flight` leaves one free.
///
/// The commit does not wait for the disk: a reservation a crash loses frees its slot early,
/// and the attempt's outcome is written by a synchronous commit after it.
async fn try_reserve(db: &DatabaseConnection, key: &ThrottleKey, now: DateTime<Utc>) -> Result<bool, AppError> {
    let txn = super::begin_without_flush(db).await?;
    let reserved = sign_in_throttles::Entity::update_many()
        .col_expr(Column::InFlight, Expr::col(Column::InFlight).add(1))
        .col_expr(
            Column::InFlightExpiresAt,
            Expr::value(now + Duration::seconds(RESERVATION_TTL_SECS)),
        )
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Key.eq(key.as_str()))
        .filter(
            Condition::any()
                .add(Column::LockedUntil.is_null())
                .add(Column::LockedUntil.lte(now)),
        )
        .filter(
            Expr::col(Column::Failures)
                .add(Expr::col(Column::InFlight))
                .lt(MAX_FAILURES),
        )
        .exec(&txn)
        .await
        .map_err(db_error)?;
    txn.commit().await.map_err(db_error)?;
    Ok(reserved.rows_affected == 1)
}

/// Reserves one attempt for `key`, waiting while the other slots are in use.
///
/// The usual case, a known key with a free slot, is one UPDATE; the row is created and
/// reservations of requests that died are forgotten only when that finds no slot.
pub async fn admit(
    db: &DatabaseConnection,
    key: &ThrottleKey,
    tenant_id: Uuid,
    now: impl Fn() -> DateTime<Utc>,
) -> Result<Admission, AppError> {
    if try_reserve(db, key, now()).await? {
        return Ok(Admission::Admitted);
    }
    ensure_row(db, key, tenant_id, now()).await?;
    let started = std::time::Instant::now();
    loop {
        let now = now();
        // Forget reservations of requests that died mid-attempt.
        sign_in_throttles::Entity::update_many()
            .col_expr(Column::InFlight, Expr::value(0))
            .filter(Column::Key.eq(key.as_str()))
            .filter(Column::InFlight.gt(0))
            .filter(Column::InFlightExpiresAt.lt(now))
            .exec(db)
            .await
            .map_err(db_error)?;
        if try_reserve(db, key, now).await? {
            return Ok(Admission::Admitted);
        }
        let row = sign_in_throttles::Entity::find_by_id(key.as_str().to_owned())
            .one(db)
            .await
            .map_err(db_error)?;
        if let Some(until) = row.and_then(|r| r.locked_until).filter(|until| *until > now) {
            return Ok(Admission::Locked { until });
        }
        if started.elapsed() > ADMISSION_WAIT {
            return Err(AppError::rate_limited(1));
        }
        // Every slot is taken by attempts still being verified; one will finish in milliseconds.
        tokio::time::sleep(std::time::Duration::from_millis(15)).await;
    }
}

/// Counts a wrong password for an admitted attempt, locking the key at the limit.
pub async fn record_failure(
    db: &impl ConnectionTrait,
    key: &ThrottleKey,
    now: DateTime<Utc>,
) -> Result<FailureOutcome, AppError> {
    let rows = sign_in_throttles::Entity::update_many()
        .col_expr(Column::Failures, Expr::col(Column::Failures).add(1))
        .col_expr(Column::LastFailureAt, Expr::value(now))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Key.eq(key.as_str()))
        .exec_with_returning(db)
        .await
        .map_err(db_error)?;
    release_slot(db, key).await?;
    let Some(row) = rows.into_iter().next() else {
        return Ok(FailureOutcome::Counted { failures: 0 });
    };
    if row.failures < MAX_FAILURES {
        return Ok(FailureOutcome::Counted { failures: row.failures });
    }
    let until = now + key.lock_duration(row.lock_count);
    // Only one of several attempts finishing together turns the count into a lock.
    let locked = sign_in_throttles::Entity::update_many()
        .col_expr(Column::LockedUntil, Expr::value(until))
        .col_expr(Column::LockCount, Expr::col(Column::LockCount).add(1))
        .col_expr(Column::Failures, Expr::value(0))
        .filter(Column::Key.eq(key.as_str()))
        .filter(Column::Failures.gte(MAX_FAILURES))
        .filter(Column::LockCount.eq(row.lock_count))
        .exec(db)
        .await
        .map_err(db_error)?;
    Ok(if locked.rows_affected == 1 {
        FailureOutcome::LockedNow { until }
    } else {
        FailureOutcome::Counted { failures: row.failures }
    })
}

/// A correct password: the count starts again, and so does the doubling. One statement: the
/// failures are forgotten and the slot given back together. A successful sign-in runs it in the
/// transaction that also writes its session and event.
pub async fn record_success(db: &impl ConnectionTrait, key: &ThrottleKey, now: DateTime<Utc>) -> Result<(), AppError> {
    sign_in_throttles::Entity::update_many()
        .col_expr(Column::Failures, Expr::value(0))
        .col_expr(Column::LockCount, Expr::value(0))
        .col_expr(Column::InFlight, one_slot_fewer())
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Key.eq(key.as_str()))
        .exec(db)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// "Unlock Account": the identifier's failures and lock are forgotten (slots in use stay).
pub async fn clear(db: &impl ConnectionTrait, key: &ThrottleKey, now: DateTime<Utc>) -> Result<(), AppError> {
    sign_in_throttles::Entity::update_many()
        .col_expr(Column::Failures, Expr::value(0))
        .col_expr(Column::LockCount, Expr::value(0))
        .col_expr(Column::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Key.eq(key.as_str()))
        .exec(db)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// The latest running lock among `keys`, if any.
pub async fn locked_until(
    db: &impl ConnectionTrait,
    keys: &[ThrottleKey],
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, AppError> {
    let rows = sign_in_throttles::Entity::find()
        .filter(Column::Key.is_in(keys.iter().map(|k| k.key.clone())))
        .filter(Column::LockedUntil.gt(now))
        .all(db)
        .await
        .map_err(db_error)?;
    Ok(rows.into_iter().filter_map(|r| r.locked_until).max())
}

/// The keys of every second factor of a person.
pub fn factor_keys(user_id: Uuid) -> Vec<ThrottleKey> {
    CodeFactor::ALL
        .into_iter()
        .map(|factor| ThrottleKey::factor(user_id, factor))
        .collect()
}

/// The person's second factors take codes again at once (their counts and pauses are forgotten).
pub async fn clear_factors(db: &impl ConnectionTrait, user_id: Uuid, now: DateTime<Utc>) -> Result<(), AppError> {
    for key in factor_keys(user_id) {
        clear(db, &key, now).await?;
    }
    Ok(())
}

/// Gives a slot back without counting anything (the attempt ended for another reason).
pub async fn release(db: &impl ConnectionTrait, key: &ThrottleKey) -> Result<(), AppError> {
    release_slot(db, key).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_doubles_up_to_a_day() {
        assert_eq!(lock_duration(0), Duration::minutes(15));
        assert_eq!(lock_duration(1), Duration::minutes(30));
        assert_eq!(lock_duration(2), Duration::hours(1));
        assert_eq!(lock_duration(6), Duration::hours(16));
        assert_eq!(lock_duration(7), Duration::hours(24));
        assert_eq!(lock_duration(40), Duration::hours(24));
    }

    #[test]
    fn a_factor_pauses_for_an_hour_each_time() {
        let key = ThrottleKey::factor(Uuid::now_v7(), CodeFactor::Totp);
        assert_eq!(key.lock_duration(0), FACTOR_PAUSE);
        assert_eq!(key.lock_duration(5), FACTOR_PAUSE);
        assert_eq!(
            ThrottleKey::account(Uuid::now_v7()).lock_duration(2),
            Duration::hours(1)
        );
    }

    #[test]
    fn keys_separate_accounts_identifiers_and_devices() {
        let a = Uuid::now_v7();
        let b = Uuid::now_v7();
        assert_ne!(ThrottleKey::account(a), ThrottleKey::account(b));
        let keys = [
            ThrottleKey::account(a),
            ThrottleKey::unknown(&a.simple().to_string()),
            ThrottleKey::device(&a.simple().to_string()),
            ThrottleKey::factor(a, CodeFactor::Totp),
            ThrottleKey::factor(a, CodeFactor::Sms),
            ThrottleKey::factor(a, CodeFactor::RecoveryCode),
        ];
        for (i, x) in keys.iter().enumerate() {
            for y in &keys[i + 1..] {
                assert_ne!(x, y);
            }
        }
    }
}
