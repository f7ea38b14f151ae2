//! Custom roles (DESIGN.md, "Role"): a workspace's own set of permissions, next to the
//! built-in Administrator, Support, Read-only and Member. Nobody grants more than they hold.

use super::access::require;
use super::roles::grants;
use super::roles::permission::ROLES_MANAGE;
use super::{audit, db_error};
use crate::AppError;
use crate::server::entities::{roles, tenants};
use crate::server::{Actor, AppState, RequestMeta};
use crate::types::{NewRole, PERMISSIONS, RoleSummary};
use sea_orm::sea_query::ExprTrait;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;
use uuid::Uuid;

/// "New role" on the Roles tab, `POST /api/v1/roles`.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    request: NewRole,
) -> Result<RoleSummary, AppError> {
    let tenant_id = request.tenant_id.unwrap_or(actor.tenant.id);
    require(actor, ROLES_MANAGE, tenant_id)?;
    let tenant = tenants::Entity::find_by_id(tenant_id)
        .one(&state.db)
        .await
        .map_err(db_error)?
        .ok_or_else(|| AppError::not_found("No such workspace."))?;
    let name = request.name.trim().to_owned();
    if !(2..=60).contains(&name.chars().count()) || name.chars().any(char::is_control) {
        return Err(AppError::invalid("name", "A role's name has 2 to 60 characters."));
    }
    let mut permissions: Vec<String> = Vec::new();
    for permission in &request.permissions {
        if !PERMISSIONS.iter().any(|(known, _)| known == permission) {
            return Err(AppError::invalid(
                "permissions",
                format!("There is no permission called {permission:?}."),
            ));
        }
        if !grants(&actor.role.permissions, permission) {
            return Err(AppError::forbidden(format!(
                "You cannot grant {permission}: your own role does not hold it."
            )));
        }
        if !permissions.contains(permission) {
            permissions.push(permission.clone());
        }
    }
    let clash = roles::Entity::find()
        .filter(
            roles::Column::TenantId
                .eq(tenant_id)
                .or(roles::Column::TenantId.is_null()),
        )
        .all(&state.db)
        .await
        .map_err(db_error)?
        .into_iter()
        .any(|r| r.name.eq_ignore_ascii_case(&name));
    if clash {
        return Err(AppError::conflict(format!(
            "{} already has a role called {name}.",
            tenant.name
        )));
    }
    let now = state.clock.now();
    let txn = super::begin(&state.db).await?;
    let role = roles::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(Some(tenant_id)),
        key: Set(None),
        name: Set(name.clone()),
        scope: Set(roles::RoleScope::Tenant.into()),
        permissions: Set(json!(permissions)),
        is_builtin: Set(false),
        created_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(db_error)?;
    let change = audit::Change {
        action: "role.created",
        target_type: "role",
        target_id: Some(role.id.to_string()),
        tenant_id: Some(tenant_id),
        before: None,
        after: Some(json!({ "name": name, "permissions": permissions })),
    };
    audit::record(&txn, state.clock.as_ref(), actor, meta, change).await?;
    txn.commit().await.map_err(db_error)?;
    Ok(RoleSummary {
        id: role.id,
        key: None,
        name: role.name,
        builtin: false,
        permissions,
        member_count: Some(0),
        workspace: Some(tenant.name),
    })
}
