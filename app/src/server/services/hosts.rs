//! Which workspace a Host header names (DESIGN.md, "Hosts").

use super::db_error;
use crate::AppError;
use crate::domain::Slug;
use crate::server::Realm;
use crate::server::entities::tenants;
use crate::types::{TenantKind, TenantStatus};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

pub const ADMIN_LABEL: &str = "admin";

/// What a well-formed Host header points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostTarget {
    /// `admin.<base>`
    Operator,
    /// `<label>.<base>`: a tenant, if one has that slug.
    Tenant(String),
    /// The bare base domain, or a host outside it: no workspace.
    Elsewhere,
}

fn split_port(host: &str) -> (&str, Option<&str>) {
    // IPv6 literals keep their colons inside brackets.
    if let Some(rest) = host.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((addr, tail)) => (&host[..addr.len() + 2], tail.strip_prefix(':')),
            None => (host, None),
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    }
}

/// Classifies a Host header against the base domain. Malformed headers are a 400.
pub fn classify(host_header: &str, base_domain: &str) -> Result<HostTarget, AppError> {
    let malformed = || AppError::bad_request("The Host header is missing or malformed.");
    let host = host_header.to_ascii_lowercase();
    if host.is_empty()
        || host.len() > 260
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b':' | b'[' | b']'))
    {
        return Err(malformed());
    }
    let (name, port) = split_port(&host);
    if name.is_empty() || port.is_some_and(|p| p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit())) {
        return Err(malformed());
    }
    let (base_name, base_port) = split_port(base_domain);
    // With a port in the base domain the port must match; without one, any port is accepted,
    // since a proxy in front decides which port the public sees.
    if base_port.is_some() && port != base_port {
        return Ok(HostTarget::Elsewhere);
    }
    let Some(label) = name.strip_suffix(base_name).and_then(|rest| rest.strip_suffix('.')) else {
        return Ok(HostTarget::Elsewhere);
    };
    if !Slug::is_valid_label(label) {
        return Ok(HostTarget::Elsewhere);
    }
    Ok(if label == ADMIN_LABEL {
        HostTarget::Operator
    } else {
        HostTarget::Tenant(label.to_owned())
    })
}

/// The workspace a Host header names, or `None` for "no such workspace".
pub async fn resolve(
    db: &impl ConnectionTrait,
    host_header: &str,
    base_domain: &str,
) -> Result<Option<Realm>, AppError> {
    let tenant = match classify(host_header, base_domain)? {
        HostTarget::Elsewhere => return Ok(None),
        HostTarget::Operator => {
            tenants::Entity::find()
                .filter(tenants::Column::Kind.eq(TenantKind::Operator))
                .one(db)
                .await
        }
        HostTarget::Tenant(label) => {
            tenants::Entity::find()
                .filter(tenants::Column::Slug.eq(label))
                .filter(tenants::Column::Kind.eq(TenantKind::Customer))
                .filter(tenants::Column::Status.eq(TenantStatus::Active))
                .one(db)
                .await
        }
    }
    .map_err(db_error)?;
    Ok(tenant.map(|tenant| Realm { tenant }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_and_tenants_under_the_base() {
        assert_eq!(
            classify("admin.localhost:3000", "localhost:3000").unwrap(),
            HostTarget::Operator
        );
        assert_eq!(
            classify("ACME.localhost:3000", "localhost:3000").unwrap(),
            HostTarget::Tenant("acme".into())
        );
        assert_eq!(
            classify("acme.example.com", "example.com").unwrap(),
            HostTarget::Tenant("acme".into())
        );
        assert_eq!(
            classify("acme.example.com:8443", "example.com").unwrap(),
            HostTarget::Tenant("acme".into())
        );
    }

    #[test]
    fn anything_else_is_no_workspace() {
        for host in [
            "localhost:3000",
            "acme.localhost:3001",
            "a.b.localhost:3000",
            "acme.evil.com:3000",
            "evillocalhost:3000",
            "127.0.0.1:3000",
            "[::1]:3000",
            "-x.localhost:3000",
        ] {
            assert_eq!(
                classify(host, "localhost:3000").unwrap(),
                HostTarget::Elsewhere,
                "{host}"
            );
        }
    }

    #[test]
    fn malformed_hosts_are_bad_requests() {
        for host in [
            "",
            "acme.localhost:3000/x",
            "ac me.localhost",
            "acme.localhost:",
            "acme.localhost:abc",
            "acme.localhost:123456",
            "\u{0}",
            "é.localhost",
        ] {
            assert!(
                matches!(classify(host, "localhost:3000"), Err(AppError::BadRequest { .. })),
                "{host:?}"
            );
        }
    }
}
