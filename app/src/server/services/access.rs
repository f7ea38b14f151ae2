//! Who may do what where: an operator admin acts on any tenant, a tenant admin only on their own.

use super::roles::grants;
use crate::AppError;
use crate::server::Actor;
use crate::types::TenantKind;
use uuid::Uuid;

pub fn require(actor: &Actor, permission: &str, tenant_id: Uuid) -> Result<(), AppError> {
    let in_scope = actor.tenant.kind == TenantKind::Operator.as_str() || actor.tenant.id == tenant_id;
    if !in_scope {
        return Err(AppError::not_found("No such user in this workspace."));
    }
    if !grants(&actor.role.permissions, permission) {
        return Err(AppError::forbidden(format!(
            "Your role ({}) does not allow this.",
            actor.role.name
        )));
    }
    Ok(())
}

/// For settings of the whole deployment: only the operator's own admins, with `permission`.
pub fn require_operator(actor: &Actor, permission: &str) -> Result<(), AppError> {
    if actor.tenant.kind != TenantKind::Operator.as_str() {
        return Err(AppError::forbidden(
            "Only the operator's admins can do this, in the admin console.",
        ));
    }
    require(actor, permission, actor.tenant.id)
}
