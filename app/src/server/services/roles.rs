//! Roles and permissions (DESIGN.md, "Role").

use serde_json::json;

/// Permission names. A role holds a list of them.
pub mod permission {
    pub const USERS_READ: &str = "users.read";
    /// Reset password/MFA, unlock, resend invites: what Support does all day.
    pub const USERS_SUPPORT: &str = "users.support";
    /// Invite, change roles, remove.
    pub const USERS_MANAGE: &str = "users.manage";
    /// Open a tenant user's session to see what they see (audited, time-limited).
    pub const USERS_IMPERSONATE: &str = "users.impersonate";
    pub const ROLES_MANAGE: &str = "roles.manage";
    pub const TENANTS_READ: &str = "tenants.read";
    pub const TENANTS_MANAGE: &str = "tenants.manage";
    pub const SETTINGS_MANAGE: &str = "settings.manage";
    pub const EVENTS_READ: &str = "events.read";
    pub const AUDIT_READ: &str = "audit.read";
    pub const TOKENS_MANAGE: &str = "tokens.manage";
}

pub struct BuiltinRole {
    pub key: &'static str,
    pub name: &'static str,
    pub scope: &'static str,
    pub permissions: &'static [&'static str],
}

use permission::*;

pub const ADMINISTRATOR: BuiltinRole = BuiltinRole {
    key: "administrator",
    name: "Administrator",
    scope: "any",
    permissions: &[
        USERS_READ,
        USERS_SUPPORT,
        USERS_MANAGE,
        USERS_IMPERSONATE,
        ROLES_MANAGE,
        TENANTS_READ,
        TENANTS_MANAGE,
        SETTINGS_MANAGE,
        EVENTS_READ,
        AUDIT_READ,
        TOKENS_MANAGE,
    ],
};
pub const SUPPORT: BuiltinRole = BuiltinRole {
    key: "support",
    name: "Support",
    scope: "any",
    permissions: &[USERS_READ, USERS_SUPPORT, TENANTS_READ, EVENTS_READ, AUDIT_READ],
};
pub const READ_ONLY: BuiltinRole = BuiltinRole {
    key: "read_only",
    name: "Read-only",
    scope: "any",
    permissions: &[USERS_READ, TENANTS_READ, EVENTS_READ, AUDIT_READ],
};
pub const MEMBER: BuiltinRole = BuiltinRole {
    key: "member",
    name: "Member",
    scope: "tenant",
    permissions: &[],
};

pub const BUILTIN: [&BuiltinRole; 4] = [&ADMINISTRATOR, &SUPPORT, &READ_ONLY, &MEMBER];

pub fn permissions_json(role: &BuiltinRole) -> serde_json::Value {
    json!(role.permissions)
}

/// Whether `role` may be held in `tenant`: a built-in role of the right scope, or a custom role
/// of that tenant.
pub fn may_hold(
    role: &crate::server::entities::roles::Model,
    tenant: &crate::server::entities::tenants::Model,
) -> bool {
    use crate::server::entities::roles::RoleScope;
    let operator = tenant.kind == crate::types::TenantKind::Operator.as_str();
    if let Some(owner) = role.tenant_id {
        return owner == tenant.id;
    }
    match role.scope.parse::<RoleScope>() {
        Ok(RoleScope::Any) => true,
        Ok(RoleScope::Operator) => operator,
        Ok(RoleScope::Tenant) => !operator,
        Err(_) => false,
    }
}

/// Whether a stored role (its permissions column) grants `permission`.
pub fn grants(permissions: &serde_json::Value, permission: &str) -> bool {
    permissions
        .as_array()
        .is_some_and(|list| list.iter().any(|p| p.as_str() == Some(permission)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn support_cannot_manage_roles_or_settings() {
        let support = permissions_json(&SUPPORT);
        assert!(grants(&support, USERS_SUPPORT));
        assert!(!grants(&support, ROLES_MANAGE));
        assert!(!grants(&support, SETTINGS_MANAGE));
        assert!(!grants(&permissions_json(&MEMBER), USERS_READ));
        assert!(grants(&permissions_json(&ADMINISTRATOR), TOKENS_MANAGE));
    }
}
