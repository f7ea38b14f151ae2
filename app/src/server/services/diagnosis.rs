//! Access diagnosis (DESIGN.md, "Beyond the seeds"): every reason a user's next sign-in on a
//! workspace would be refused or stopped, each with the one action that fixes it.
//!
//! The rules mirror the sign-in path in `auth.rs` (membership status, identifier throttle,
//! temporary password expiry, SSO, MFA enforcement); [`problems`] is a pure function of the
//! facts so each rule has a unit test, and [`wrong_host`] reads the user's recent refusals.

use super::db_error;
use super::throttle::ThrottleKey;
use crate::AppError;
use crate::server::entities::{security_events, tenants};
use crate::types::{
    AccessFix, AccessProblem, AccessProblemKind, MembershipStatus, SecurityEventType, SignInMode, TenantKind,
    TenantStatus,
};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

/// How far back a sign-in on the wrong host still counts as a reason.
pub const WRONG_HOST_WINDOW: Duration = Duration::days(7);

/// What the sign-in path would look at, for one membership.
pub struct Facts<'a> {
    pub tenant: &'a tenants::Model,
    pub sign_in_url: String,
    pub status: MembershipStatus,
    pub locked_reason: Option<&'a str>,
    pub locked_until: Option<DateTime<Utc>>,
    pub cooldown_until: Option<DateTime<Utc>>,
    pub invite_expires_at: Option<DateTime<Utc>>,
    /// The latest end of a running lock on the user's sign-in identifiers on this workspace.
    pub identifier_locked_until: Option<DateTime<Utc>>,
    pub has_password: bool,
    pub must_change_password: bool,
    pub temporary_password_expired: bool,
    /// The user belongs to more than one workspace (no temporary password then).
    pub several_workspaces: bool,
    pub has_factor: bool,
    /// The membership was told to set up a factor again (an MFA reset), enforced or not.
    pub mfa_enrollment_required: bool,
}

fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

pub fn problems(facts: &Facts<'_>, now: DateTime<Utc>) -> Vec<AccessProblem> {
    let tenant = facts.tenant;
    let mut found = Vec::new();
    let mut add = |kind: AccessProblemKind, message: String, blocks_sign_in: bool, fix: Option<AccessFix>| {
        found.push(AccessProblem {
            tenant_id: tenant.id,
            tenant_name: tenant.name.clone(),
            kind,
            message,
            blocks_sign_in,
            fix,
            sign_in_url: facts.sign_in_url.clone(),
        })
    };
    if tenant.status != TenantStatus::Active.as_str() {
        add(
            AccessProblemKind::WorkspaceSuspended,
            format!("The workspace {} is suspended: nobody can sign in to it.", tenant.name),
            true,
            None,
        );
    }
    let sso = tenant.kind == TenantKind::Customer.as_str() && tenant.sign_in_mode == SignInMode::Sso.as_str();
    match facts.status {
        MembershipStatus::Disabled => add(
            AccessProblemKind::Disabled,
            format!("Access to {} is disabled.", tenant.name),
            true,
            Some(AccessFix::EnableAccess),
        ),
        MembershipStatus::Pending => match facts.invite_expires_at.filter(|at| *at > now) {
            Some(expires) => add(
                AccessProblemKind::InvitePending,
                format!(
                    "Invited, but the invite has not been accepted yet. The link works until {}.",
                    when(expires)
                ),
                true,
                Some(AccessFix::ResendInvite),
            ),
            None => add(
                AccessProblemKind::InviteExpired,
                "No invite link works: it expired, or none was sent.".into(),
                true,
                Some(AccessFix::ResendInvite),
            ),
        },
        MembershipStatus::Locked => {
            let until = facts.locked_until.map_or_else(
                || "until an administrator unlocks it".to_owned(),
                |at| format!("until {}", when(at)),
            );
            let reason = facts
                .locked_reason
                .filter(|r| !r.is_empty())
                .unwrap_or("no reason given");
            add(
                AccessProblemKind::Locked,
                format!("The account is locked {until} ({reason})."),
                true,
                Some(AccessFix::UnlockAccount),
            );
        }
        MembershipStatus::Cooldown => add(
            AccessProblemKind::Cooldown,
            format!(
                "Too many wrong MFA codes: verification is paused until {}.",
                facts.cooldown_until.map_or_else(|| "later".to_owned(), when)
            ),
            true,
            Some(AccessFix::ResetCooldown),
        ),
        MembershipStatus::Active => {}
    }
    if let Some(until) = facts.identifier_locked_until.filter(|at| *at > now)
        && facts.status != MembershipStatus::Locked
    {
        add(
            AccessProblemKind::SignInLocked,
            format!(
                "Too many wrong passwords: sign-in from browsers this user has not used before is locked until {}.",
                when(until)
            ),
            true,
            Some(AccessFix::UnlockAccount),
        );
    }
    if sso {
        add(
            AccessProblemKind::Sso,
            format!(
                "{} signs in with SSO: the user signs in through the workspace's identity provider, not with a password.",
                tenant.name
            ),
            false,
            None,
        );
    } else if facts.status != MembershipStatus::Pending {
        if !facts.has_password {
            add(
                AccessProblemKind::NoPassword,
                "The user has no password yet.".into(),
                true,
                Some(AccessFix::SendResetLink),
            );
        } else if facts.temporary_password_expired {
            let fix = if facts.several_workspaces {
                AccessFix::SendResetLink
            } else {
                AccessFix::GenerateTemporaryPassword
            };
            add(
                AccessProblemKind::TemporaryPasswordExpired,
                "The temporary password expired before it was used.".into(),
                true,
                Some(fix),
            );
        } else if facts.must_change_password {
            add(
                AccessProblemKind::MustChangePassword,
                "The next sign-in asks the user to replace the temporary password first.".into(),
                false,
                None,
            );
        }
    }
    if !facts.has_factor && facts.status != MembershipStatus::Disabled {
        // The same two reasons `mfa::pending_step` sends a sign-in to MFA setup for.
        let why = if tenant.is_mfa_enforced {
            Some(format!("{} enforces MFA and the user has no factor", tenant.name))
        } else if facts.mfa_enrollment_required {
            Some("MFA was reset for this user".to_owned())
        } else {
            None
        };
        if let Some(why) = why {
            add(
                AccessProblemKind::MfaEnrollmentRequired,
                format!("{why}: the next sign-in goes to MFA setup first."),
                false,
                None,
            );
        }
    }
    found
}

/// The running lock on the account's sign-in failure budget, if any (it is the same on every
/// host and for every identifier of the account).
pub async fn identifier_lock(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, AppError> {
    super::throttle::locked_until(db, &[ThrottleKey::account(user_id)], now).await
}

/// The user's most recent correct password on a host where they have no access, within
/// [`WRONG_HOST_WINDOW`]: the host they tried and when.
pub async fn wrong_host(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<(Option<Uuid>, DateTime<Utc>)>, AppError> {
    let refusals = security_events::Entity::find()
        .filter(security_events::Column::UserId.eq(user_id))
        .filter(security_events::Column::EventType.eq(SecurityEventType::LoginFailed.as_str()))
        .filter(security_events::Column::OccurredAt.gt(now - WRONG_HOST_WINDOW))
        .order_by_desc(security_events::Column::OccurredAt)
        .all(db)
        .await
        .map_err(db_error)?;
    Ok(refusals
        .into_iter()
        .find(|e| e.detail.as_ref().and_then(|d| d.get("reason")).and_then(|r| r.as_str()) == Some("wrong_host"))
        .map(|e| (e.tenant_id, e.occurred_at)))
}

/// The wrong-host problem, told on the workspace where the user does sign in.
pub fn wrong_host_problem(
    home: &tenants::Model,
    sign_in_url: String,
    tried: Option<&tenants::Model>,
    at: DateTime<Utc>,
) -> AccessProblem {
    let tried = tried.map_or_else(
        || "another workspace".to_owned(),
        |t| format!("{} ({})", t.name, t.slug),
    );
    AccessProblem {
        tenant_id: home.id,
        tenant_name: home.name.clone(),
        kind: AccessProblemKind::WrongHost,
        message: format!(
            "On {} the user signed in at {tried}, where they have no access. They sign in at {sign_in_url}.",
            when(at)
        ),
        blocks_sign_in: true,
        fix: Some(AccessFix::CopySignInUrl),
        sign_in_url,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(mode: SignInMode, enforced: bool) -> tenants::Model {
        tenants::Model {
            id: Uuid::nil(),
            slug: "acme".into(),
            name: "Acme".into(),
            kind: TenantKind::Customer.as_str().into(),
            sign_in_mode: mode.as_str().into(),
            is_mfa_enforced: enforced,
            policy_overrides: serde_json::json!({}),
            status: TenantStatus::Active.as_str().into(),
            sso_issuer: None,
            sso_client_id: None,
            sso_client_secret_enc: None,
            sso_allowed_domains: None,
            sso_jit_provisioning: false,
            sso_requires_mfa: true,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn facts(tenant: &tenants::Model, status: MembershipStatus) -> Facts<'_> {
        Facts {
            tenant,
            sign_in_url: "http://acme.localhost".into(),
            status,
            locked_reason: None,
            locked_until: None,
            cooldown_until: None,
            invite_expires_at: None,
            identifier_locked_until: None,
            has_password: true,
            must_change_password: false,
            temporary_password_expired: false,
            several_workspaces: false,
            has_factor: true,
            mfa_enrollment_required: false,
        }
    }

    fn kinds(found: &[AccessProblem]) -> Vec<(AccessProblemKind, Option<AccessFix>)> {
        found.iter().map(|p| (p.kind, p.fix)).collect()
    }

    #[test]
    fn a_reset_mfa_sends_the_next_sign_in_to_setup_where_mfa_is_not_enforced() {
        let acme = tenant(SignInMode::Password, false);
        let mut reset = facts(&acme, MembershipStatus::Active);
        reset.has_factor = false;
        assert!(problems(&reset, Utc::now()).is_empty());
        reset.mfa_enrollment_required = true;
        let found = problems(&reset, Utc::now());
        assert_eq!(kinds(&found), [(AccessProblemKind::MfaEnrollmentRequired, None)]);
        assert!(found[0].message.starts_with("MFA was reset"), "{}", found[0].message);
    }

    #[test]
    fn an_active_user_with_a_password_and_a_factor_has_no_problem() {
        let t = tenant(SignInMode::Password, true);
        assert!(problems(&facts(&t, MembershipStatus::Active), Utc::now()).is_empty());
    }

    #[test]
    fn each_status_has_its_fix() {
        let t = tenant(SignInMode::Password, false);
        let now = Utc::now();
        let cases = [
            (
                MembershipStatus::Disabled,
                AccessProblemKind::Disabled,
                AccessFix::EnableAccess,
            ),
            (
                MembershipStatus::Locked,
                AccessProblemKind::Locked,
                AccessFix::UnlockAccount,
            ),
            (
                MembershipStatus::Cooldown,
                AccessProblemKind::Cooldown,
                AccessFix::ResetCooldown,
            ),
            (
                MembershipStatus::Pending,
                AccessProblemKind::InviteExpired,
                AccessFix::ResendInvite,
            ),
        ];
        for (status, kind, fix) in cases {
            assert_eq!(
                kinds(&problems(&facts(&t, status), now)),
                vec![(kind, Some(fix))],
                "{status:?}"
            );
        }
        let mut pending = facts(&t, MembershipStatus::Pending);
        pending.invite_expires_at = Some(now + Duration::days(1));
        assert_eq!(kinds(&problems(&pending, now))[0].0, AccessProblemKind::InvitePending);
    }

    #[test]
    fn a_locked_identifier_a_missing_password_and_enforced_mfa_are_all_told() {
        let t = tenant(SignInMode::Password, true);
        let now = Utc::now();
        let mut f = facts(&t, MembershipStatus::Active);
        f.identifier_locked_until = Some(now + Duration::minutes(15));
        f.has_password = false;
        f.has_factor = false;
        assert_eq!(
            kinds(&problems(&f, now)),
            vec![
                (AccessProblemKind::SignInLocked, Some(AccessFix::UnlockAccount)),
                (AccessProblemKind::NoPassword, Some(AccessFix::SendResetLink)),
                (AccessProblemKind::MfaEnrollmentRequired, None),
            ]
        );
        // A lock that has run out is no reason.
        f.identifier_locked_until = Some(now - Duration::minutes(1));
        assert_eq!(kinds(&problems(&f, now))[0].0, AccessProblemKind::NoPassword);
    }

    #[test]
    fn sso_workspaces_never_ask_for_a_password() {
        let t = tenant(SignInMode::Sso, false);
        let mut f = facts(&t, MembershipStatus::Active);
        f.has_password = false;
        assert_eq!(kinds(&problems(&f, Utc::now())), vec![(AccessProblemKind::Sso, None)]);
    }

    #[test]
    fn an_expired_temporary_password_is_fixed_by_a_new_one_unless_the_user_has_several_workspaces() {
        let t = tenant(SignInMode::Password, false);
        let mut f = facts(&t, MembershipStatus::Active);
        f.must_change_password = true;
        f.temporary_password_expired = true;
        assert_eq!(
            kinds(&problems(&f, Utc::now())),
            vec![(
                AccessProblemKind::TemporaryPasswordExpired,
                Some(AccessFix::GenerateTemporaryPassword)
            )]
        );
        f.several_workspaces = true;
        assert_eq!(kinds(&problems(&f, Utc::now()))[0].1, Some(AccessFix::SendResetLink));
    }
}
