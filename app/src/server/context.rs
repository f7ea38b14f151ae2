use super::entities::{memberships, roles, tenants, users};
use crate::types::{RealmInfo, RealmKind, SignInMode, TenantKind};
use uuid::Uuid;

/// The workspace a request is for, resolved from its Host header.
#[derive(Debug, Clone)]
pub struct Realm {
    pub tenant: tenants::Model,
}

impl Realm {
    pub fn kind(&self) -> RealmKind {
        if self.tenant.kind == TenantKind::Operator.as_str() {
            RealmKind::Operator
        } else {
            RealmKind::Tenant
        }
    }

    /// The host label: `admin` for the operator, the slug for a tenant.
    pub fn label(&self) -> &str {
        &self.tenant.slug
    }

    pub fn sign_in_mode(&self) -> SignInMode {
        self.tenant.sign_in_mode.parse().unwrap_or(SignInMode::Password)
    }

    pub fn info(&self) -> RealmInfo {
        RealmInfo {
            kind: self.kind(),
            name: self.tenant.name.clone(),
            slug: self.tenant.slug.clone(),
            sign_in_mode: self.sign_in_mode(),
        }
    }
}

/// Facts about the request that go into events and audit rows.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

/// Who is acting: a signed-in user (session) or a script (API token), in one tenant.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user: users::Model,
    pub membership: memberships::Model,
    pub role: roles::Model,
    pub tenant: tenants::Model,
    pub session_id: Option<Uuid>,
    pub token_id: Option<Uuid>,
    /// A browser session that has not passed MFA yet: what it must still do.
    pub mfa_step: Option<crate::types::MfaStep>,
    /// The admin who opened this session to see the workspace as the user (Impersonate).
    pub impersonator_id: Option<Uuid>,
}
