//! The users lists and the admin's view of one user: search, filters, counts by status, keyset
//! pages, and removing a user by email. Every read is limited to what the caller may see: an
//! operator admin sees every workspace, a tenant admin only their own.

use super::access::{person_reach, require};
use super::roles::permission::{USERS_MANAGE, USERS_READ, USERS_SUPPORT};
use super::{audit, db_error, diagnosis, email_change, one_time, sessions, temporary_passwords};
use crate::AppError;
use crate::domain::Email;
use crate::server::entities::one_time_secrets::SecretPurpose;
use crate::server::entities::{memberships, mfa_factors, recovery_codes, roles, tenants, users};
use crate::server::{Actor, AppState, RequestMeta};
use crate::types::{
    DEFAULT_PAGE, MAX_PAGE, MembershipDetail, MembershipStatus, MfaFactorSummary, MfaState, PersonReach, RemovedUser,
    RoleSummary, SignInMode, StatusCounts, TenantKind, TenantRef, UserDetail, UserListQuery, UserPage, UserRow,
    UserSessionRow,
};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::extension::sqlite::SqliteExpr;
use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, Func, LikeExpr, Order, Query, UnionType};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, JoinType, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, RelationTrait,
};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// The longest search text accepted.
const MAX_SEARCH_CHARS: usize = 100;

/// The workspace a list is limited to: the caller's own for a tenant admin, the one asked for
/// (or every one) for an operator admin.
pub fn list_scope(actor: &Actor, asked: Option<Uuid>, permission: &str) -> Result<Option<Uuid>, AppError> {
    let operator = actor.tenant.kind == TenantKind::Operator.as_str();
    let scope = match (operator, asked) {
        (true, asked) => asked,
        (false, None) => Some(actor.tenant.id),
        (false, Some(id)) if id == actor.tenant.id => Some(id),
        (false, Some(_)) => return Err(AppError::not_found("No such workspace.")),
    };
    require(actor, permission, scope.unwrap_or(actor.tenant.id))?;
    Ok(scope)
}

/// Page size from a query's `limit`.
pub fn page_size(limit: Option<u32>) -> Result<u64, AppError> {
    match limit {
        None => Ok(u64::from(DEFAULT_PAGE)),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(u64::from(n)),
        Some(_) => Err(AppError::invalid("limit", format!("limit is 1 to {MAX_PAGE}."))),
    }
}

/// A search text as a `LIKE` pattern that matches it anywhere, with `%`, `_` and `\` taken
/// literally. `None` for an empty search.
pub fn contains_pattern(q: Option<&str>) -> Result<Option<String>, AppError> {
    let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) else {
        return Ok(None);
    };
    if q.chars().count() > MAX_SEARCH_CHARS || q.chars().any(char::is_control) {
        return Err(AppError::invalid(
            "q",
            format!("Search for at most {MAX_SEARCH_CHARS} printable characters."),
        ));
    }
    let mut pattern = String::from("%");
    for c in q.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    Ok(Some(pattern))
}

pub fn like(pattern: &str) -> LikeExpr {
    LikeExpr::new(pattern).escape('\\')
}

/// A lowercased search text as an SQLite `GLOB` pattern that matches it anywhere in text whose
/// ASCII letters are lowercase, whatever the case of its other letters. SQLite's `lower()` and
/// `LIKE` fold only ASCII, so `é` becomes `[éÉ]`; `*`, `?` and `[` are taken literally.
fn sqlite_contains_glob(text: &str) -> String {
    let mut pattern = String::from("*");
    for c in text.chars() {
        let mut upper = c.to_uppercase();
        match (upper.next(), upper.next()) {
            _ if matches!(c, '*' | '?' | '[') => pattern.extend(['[', c, ']']),
            (Some(u), None) if !c.is_ascii() && u != c => pattern.extend(['[', c, u, ']']),
            _ => pattern.push(c),
        }
    }
    pattern.push('*');
    pattern
}

/// Keyset cursors: the sort key of the last row of a page, opaque to clients.
pub mod cursor {
    use crate::AppError;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde::Serialize;
    use serde::de::DeserializeOwned;

    pub fn encode<T: Serialize>(key: &T) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap_or_default())
    }

    /// Cuts a page fetched with one row more than `limit`, and answers the cursor of its last
    /// row when that extra row showed there is more.
    pub fn split_page<T, K: Serialize>(rows: &mut Vec<T>, limit: u64, key: impl Fn(&T) -> K) -> Option<String> {
        if rows.len() as u64 <= limit {
            return None;
        }
        rows.truncate(limit as usize);
        rows.last().map(|last| encode(&key(last)))
    }

    pub fn decode<T: DeserializeOwned>(cursor: Option<&str>) -> Result<Option<T>, AppError> {
        let Some(cursor) = cursor.filter(|c| !c.is_empty()) else {
            return Ok(None);
        };
        URL_SAFE_NO_PAD
            .decode(cursor)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .map(Some)
            .ok_or_else(|| AppError::invalid("cursor", "The cursor is not one this list gave out."))
    }
}

#[derive(Debug, FromQueryResult)]
struct ListedMembership {
    membership_id: Uuid,
    user_id: Uuid,
    email: String,
    username: Option<String>,
    display_name: String,
    tenant_id: Uuid,
    tenant_slug: String,
    tenant_name: String,
    tenant_kind: String,
    sign_in_mode: String,
    role_id: Uuid,
    role_name: String,
    status: String,
    locked_reason: Option<String>,
    locked_until: Option<DateTime<Utc>>,
    cooldown_until: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

/// Where a users search looks, which decides how the database finds its matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchReach {
    /// Every workspace the actor sees.
    AllWorkspaces,
    /// One workspace; `small` says it has few members (see [`SMALL_SCOPE`]).
    OneWorkspace { small: bool },
}

/// A users search: its condition, and whether that condition reads `users`.
pub struct UserSearch {
    pub condition: Condition,
    pub reads_users: bool,
}

/// Users whose email, username or display name contains the search text. Through an index on
/// both databases (see the `user_search`, `workspace_search` and `sqlite_workspace_scan`
/// migrations). In one workspace the condition is on `memberships.search_text`: the three fields
/// one per line, and a search holds no line break ([`contains_pattern`]), so it matches exactly
/// when one field does.
/// - PostgreSQL: across workspaces, the users' trigram GIN indexes serve these `LIKE`s; in one
///   workspace, the memberships' `(tenant_id, search_text)` GIN index, which finds that
///   workspace's matches without the other workspaces' (625 rather than 625,000 for a common
///   surname at ten million users).
/// - SQLite: the FTS5 trigram table answers a phrase query. Its answer costs what the text's
///   matches in every workspace cost (220 ms for a surname shared by 62,000 people of a million),
///   so a small workspace's members are compared one by one instead, from the index that ends in
///   `search_text`. A trigram index needs three characters; shorter searches compare every row.
///   Those comparisons are a `GLOB` that names both cases of each letter beyond ASCII
///   ([`sqlite_contains_glob`]); the trigram table folds every alphabet itself.
pub fn user_search(backend: DbBackend, q: Option<&str>, reach: SearchReach) -> Result<Option<UserSearch>, AppError> {
    let Some(pattern) = contains_pattern(q)? else {
        return Ok(None);
    };
    let text = q.unwrap_or_default().trim().to_lowercase();
    let through_fts = backend == DbBackend::Sqlite
        && text.chars().count() >= 3
        && reach != (SearchReach::OneWorkspace { small: true });
    if through_fts {
        let phrase = format!("\"{}\"", text.replace('"', "\"\""));
        return Ok(Some(UserSearch {
            condition: Condition::all().add(Expr::cust_with_values(
                r#""users"."search_id" IN (SELECT rowid FROM users_search WHERE users_search MATCH ?)"#,
                [phrase],
            )),
            reads_users: true,
        }));
    }
    // Every text compared here has its letters lowercased: emails and usernames are stored so,
    // names pass through `lower()` (in `search_text` too).
    let contains = |text_expr: Expr| match backend {
        DbBackend::Sqlite => text_expr.glob(sqlite_contains_glob(&text)),
        _ => text_expr.like(like(&pattern)),
    };
    if matches!(reach, SearchReach::OneWorkspace { .. }) {
        return Ok(Some(UserSearch {
            condition: Condition::all().add(contains(Expr::col((memberships::Entity, Alias::new("search_text"))))),
            reads_users: false,
        }));
    }
    Ok(Some(UserSearch {
        condition: Condition::any()
            .add(contains(Expr::col((users::Entity, users::Column::Email))))
            .add(contains(Expr::col((users::Entity, users::Column::Username))))
            .add(contains(
                Func::lower(Expr::col((users::Entity, users::Column::DisplayName))).into(),
            )),
        reads_users: true,
    }))
}

/// The filters of a users list, without the status and the cursor.
struct UserFilters {
    condition: Condition,
    /// The condition names `users` (a search), so a count must join it.
    reads_users: bool,
}

fn user_filters(
    (backend, operator): (DbBackend, bool),
    scope: Option<Uuid>,
    query: &UserListQuery,
    plan: SqlitePlan,
) -> Result<UserFilters, AppError> {
    let mut condition = Condition::all();
    if let Some(tenant_id) = scope {
        condition = condition.add(memberships::Column::TenantId.eq(tenant_id));
    }
    if let Some(role_id) = query.role_id {
        condition = condition.add(memberships::Column::RoleId.eq(role_id));
    }
    let reach = match scope {
        Some(_) => SearchReach::OneWorkspace {
            small: plan.small_scope,
        },
        None => SearchReach::AllWorkspaces,
    };
    let mut reads_users = false;
    if let Some(search) = user_search(backend, query.q.as_deref(), reach)? {
        condition = condition.add(search.condition);
        reads_users = search.reads_users;
    }
    if let Some(mfa) = query.mfa {
        let enrolled = match backend {
            // Kept by triggers (the `sqlite_workspace_scan` migration), in the status index: a
            // count of one workspace reads no factor.
            DbBackend::Sqlite => Expr::col((memberships::Entity, Alias::new("user_mfa_enrolled"))).eq(true),
            _ => Expr::exists(member_has_confirmed_factor()),
        };
        // A workspace's own admins see a pending invitee as not enrolled: factors set up
        // elsewhere would tell them the address already had an account.
        let enrolled = match operator {
            true => enrolled,
            false => memberships::Column::Status
                .ne(MembershipStatus::Pending.as_str())
                .and(enrolled),
        };
        condition = condition.add(match mfa {
            MfaState::Enrolled => enrolled,
            MfaState::NotEnrolled => enrolled.not(),
        });
    }
    Ok(UserFilters { condition, reads_users })
}

/// A workspace with at most this many memberships is searched row by row on SQLite.
const SMALL_SCOPE: u64 = 10_000;

/// What SQLite's planner cannot know and the stored counts tell: how many rows a workspace and
/// a status have. (PostgreSQL's statistics tell its planner the same.)
#[derive(Clone, Copy, Default)]
struct SqlitePlan {
    /// Search the scope's rows one by one rather than through the FTS5 table.
    small_scope: bool,
    /// Find the status filter's rows by walking the email index, not the status index.
    walk_emails_for_status: bool,
    /// Read one workspace's rows of a rare status from the status index and sort them, rather
    /// than walk the workspace's email index, which SQLite prefers as it needs no sort.
    sort_status_rows: bool,
}

impl SqlitePlan {
    fn new(counts: &StatusCounts, scope: Option<Uuid>, query: &UserListQuery, limit: u64) -> Self {
        let total = counts.total();
        // The status index reads all `n` rows of the status and sorts them; walking the email
        // index reads about `page × total / n` rows until a page is found. Take the cheaper.
        let walking_is_cheaper = match (&query.q, query.status) {
            (None, Some(status)) => {
                let n = counts.of(status);
                Some(n.saturating_mul(n) > (limit + 1).saturating_mul(total))
            }
            _ => None,
        };
        Self {
            small_scope: scope.is_some() && total <= SMALL_SCOPE,
            walk_emails_for_status: scope.is_none() && walking_is_cheaper == Some(true),
            sort_status_rows: scope.is_some() && walking_is_cheaper == Some(false),
        }
    }
}

fn joined(backend: DbBackend) -> sea_orm::Select<memberships::Entity> {
    let mut select = memberships::Entity::find().join(JoinType::InnerJoin, memberships::Relation::User.def());
    if backend == DbBackend::Sqlite {
        // SQLite 3.51 would drive an all-workspaces page from `tenants`, read every membership
        // by workspace and sort them all (8 s at a million users). The unary plus keeps it from
        // using this join term for an index lookup; with the email range `list_page` adds, it
        // walks the memberships' email index and stops after a page. A workspace filter in
        // WHERE still uses the (workspace, email) index.
        QueryTrait::query(&mut select).join(
            JoinType::InnerJoin,
            tenants::Entity,
            Expr::cust(r#"+"memberships"."tenant_id" = "tenants"."id""#),
        );
    } else {
        select = select.join(JoinType::InnerJoin, memberships::Relation::Tenant.def());
    }
    select.join(JoinType::InnerJoin, memberships::Relation::Role.def())
}

/// A users list: one row per membership, sorted by email, with its counts by status.
pub async fn list(state: &AppState, actor: &Actor, query: &UserListQuery) -> Result<UserPage, AppError> {
    list_page(state, actor, query, true).await
}

/// A page of a users list, with its counts by status only when `with_counts` (an export reads
/// a thousand pages and needs them on none).
pub async fn list_page(
    state: &AppState,
    actor: &Actor,
    query: &UserListQuery,
    with_counts: bool,
) -> Result<UserPage, AppError> {
    let scope = list_scope(actor, query.tenant_id, USERS_READ)?;
    let limit = page_size(query.limit)?;
    let after: Option<(String, Uuid)> = cursor::decode(query.cursor.as_deref())?;
    let now = state.clock.now();
    let db = &state.db;
    let backend = db.get_database_backend();
    let searching = contains_pattern(query.q.as_deref())?.is_some();
    let whole_workspaces = query.role_id.is_none() && query.mfa.is_none() && !searching;
    let stored_counts = if (with_counts && whole_workspaces)
        || (backend == DbBackend::Sqlite && (query.status.is_some() || query.q.is_some()))
    {
        Some(stored_status_counts(db, scope, now).await?)
    } else {
        None
    };
    let plan = match (&stored_counts, backend) {
        (Some(counts), DbBackend::Sqlite) => SqlitePlan::new(counts, scope, query, limit),
        _ => SqlitePlan::default(),
    };
    let operator = actor.tenant.kind == TenantKind::Operator.as_str();
    let filters = user_filters((backend, operator), scope, query, plan)?;
    let status_expr = memberships::effective_status_expr(now);

    let mut rows = joined(backend)
        .select_only()
        .column_as(memberships::Column::Id, "membership_id")
        .column_as(memberships::Column::UserId, "user_id")
        .column_as(memberships::Column::UserEmail, "email")
        .column_as(users::Column::Username, "username")
        .column_as(users::Column::DisplayName, "display_name")
        .column_as(memberships::Column::TenantId, "tenant_id")
        .column_as(tenants::Column::Slug, "tenant_slug")
        .column_as(tenants::Column::Name, "tenant_name")
        .column_as(tenants::Column::Kind, "tenant_kind")
        .column_as(tenants::Column::SignInMode, "sign_in_mode")
        .column_as(memberships::Column::RoleId, "role_id")
        .column_as(roles::Column::Name, "role_name")
        .expr_as(status_expr.clone(), "status")
        .column_as(memberships::Column::LockedReason, "locked_reason")
        .column_as(memberships::Column::LockedUntil, "locked_until")
        .column_as(memberships::Column::CooldownUntil, "cooldown_until")
        .column_as(memberships::Column::CreatedAt, "created_at")
        .filter(filters.condition.clone());
    if let Some(status) = query.status {
        rows = rows.filter(if plan.walk_emails_for_status {
            memberships::effective_status_is_unindexed(status, now)
        } else {
            memberships::effective_status_is(status, now)
        });
    }
    if let Some((email, id)) = after {
        // The first condition says nothing the second does not, but unlike the OR it lets the
        // email index start at the cursor instead of walking every earlier row.
        rows = rows.filter(memberships::Column::UserEmail.gte(email.clone())).filter(
            Condition::any()
                .add(memberships::Column::UserEmail.gt(email.clone()))
                .add(
                    Condition::all()
                        .add(memberships::Column::UserEmail.eq(email))
                        .add(memberships::Column::Id.gt(id)),
                ),
        );
    } else if scope.is_none() && query.q.is_none() && backend == DbBackend::Sqlite {
        // Always true, but with the unary plus in `joined` it is what makes SQLite 3.51 drive
        // the first all-workspaces page from the email index (1 ms) instead of from `roles`
        // (0.9 s) or `tenants` (8 s) at a million users.
        rows = rows.filter(memberships::Column::UserEmail.gte(""));
    }
    let rows = if plan.sort_status_rows {
        // A unary plus keeps SQLite from walking an index in this order (at ten million users,
        // 400 locked members of a workspace: 1.7 ms from the status index against 6.0 walking).
        rows.order_by(Expr::cust(r#"+"memberships"."user_email""#), Order::Asc)
            .order_by(Expr::cust(r#"+"memberships"."id""#), Order::Asc)
    } else {
        rows.order_by_asc(memberships::Column::UserEmail)
            .order_by_asc(memberships::Column::Id)
    };
    let mut page = rows
        .limit(limit + 1)
        .into_model::<ListedMembership>()
        .all(db)
        .await
        .map_err(db_error)?;
    let next_cursor = cursor::split_page(&mut page, limit, |last| (last.email.clone(), last.membership_id));

    let user_ids: Vec<Uuid> = page
        .iter()
        .map(|r| r.user_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let facts = user_facts(db, &user_ids).await?;

    let counts = if !with_counts {
        StatusCounts::default()
    } else if let (true, Some(counts)) = (whole_workspaces, stored_counts) {
        counts
    } else {
        // Only a search may read `users` (not one PostgreSQL workspace's); the workspace and role
        // joins of the page would add a probe per membership. `COUNT(*)` and no other column keep
        // PostgreSQL's count of one workspace inside the covering status index (see the
        // `membership_status_cover` migration).
        let mut counted = memberships::Entity::find()
            .select_only()
            .expr_as(status_expr, "effective_status")
            .expr_as(Func::count(Expr::col(Asterisk)), "n");
        if filters.reads_users {
            counted = counted.join(JoinType::InnerJoin, memberships::Relation::User.def());
        }
        let counted: Vec<(String, i64)> = counted
            .filter(filters.condition)
            // By the alias: PostgreSQL sees the CASE repeated with new parameters as another expression.
            .group_by(Expr::col(Alias::new("effective_status")))
            .into_tuple()
            .all(db)
            .await
            .map_err(db_error)?;
        let mut counts = StatusCounts::default();
        for (status, n) in counted {
            counts.add(
                status.parse().unwrap_or(MembershipStatus::Disabled),
                Ord::max(n, 0) as u64,
            );
        }
        counts
    };

    let users = page
        .into_iter()
        .map(|r| {
            let status = r.status.parse().unwrap_or(MembershipStatus::Disabled);
            let fact = facts.get(&r.user_id);
            let reach = person_reach(
                actor,
                status,
                fact.map_or(1, |f| Ord::max(f.membership_count, 1) as u64),
            );
            (r, status, reach, fact.is_some_and(|f| f.mfa_enrolled))
        })
        .map(|(r, status, reach, mfa_enrolled)| UserRow {
            // As the MFA filter reads it (see `user_filters`).
            mfa_enrolled: mfa_enrolled && reach != PersonReach::Invited,
            reach,
            sso: r.tenant_kind != TenantKind::Operator.as_str() && r.sign_in_mode == SignInMode::Sso.as_str(),
            status,
            user_id: r.user_id,
            email: r.email,
            username: r.username.filter(|_| reach != PersonReach::Invited),
            display_name: r.display_name,
            tenant_id: r.tenant_id,
            tenant_slug: r.tenant_slug,
            tenant_name: r.tenant_name,
            role_id: r.role_id,
            role_name: r.role_name,
            locked_reason: r.locked_reason,
            locked_until: r.locked_until,
            cooldown_until: r.cooldown_until,
            created_at: r.created_at,
        })
        .collect();
    Ok(UserPage {
        users,
        next_cursor,
        counts,
    })
}

#[derive(Debug, FromQueryResult)]
struct StatusCount {
    status: String,
    n: i64,
    /// A count of lockouts and cooldowns that have run out, rather than a stored count.
    ended: bool,
}

/// The status counts of one workspace, or of all, without filters: from `membership_counts`
/// (kept by triggers, see its migration) rather than by counting every membership, with the
/// lockouts and cooldowns that have run out moved to Active.
async fn stored_status_counts(
    db: &impl ConnectionTrait,
    scope: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<StatusCounts, AppError> {
    let table = Alias::new("membership_counts");
    let mut stored = Query::select()
        .column(Alias::new("status"))
        .expr_as(
            Func::cast_as(Func::sum(Expr::col(Alias::new("n"))), Alias::new("bigint")),
            Alias::new("n"),
        )
        .expr_as(Expr::val(false), Alias::new("ended"))
        .from(table)
        .group_by_col(Alias::new("status"))
        .to_owned();
    let mut ended = Query::select()
        .column(memberships::Column::Status)
        .expr_as(Func::count(Expr::col(memberships::Column::Id)), Alias::new("n"))
        .expr_as(Expr::val(true), Alias::new("ended"))
        .from(memberships::Entity)
        .cond_where(memberships::ended_hold(now))
        .group_by_col(memberships::Column::Status)
        .to_owned();
    if let Some(tenant_id) = scope {
        stored.and_where(Expr::col(Alias::new("tenant_id")).eq(tenant_id));
        ended.and_where(memberships::Column::TenantId.eq(tenant_id));
    }
    let backend = db.get_database_backend();
    let rows = StatusCount::find_by_statement(backend.build(stored.union(UnionType::All, ended)))
        .all(db)
        .await
        .map_err(db_error)?;
    let mut by_status: HashMap<MembershipStatus, i64> = HashMap::new();
    for row in rows {
        let status = row.status.parse().unwrap_or(MembershipStatus::Disabled);
        if row.ended {
            *by_status.entry(status).or_default() -= row.n;
            *by_status.entry(MembershipStatus::Active).or_default() += row.n;
        } else {
            *by_status.entry(status).or_default() += row.n;
        }
    }
    let mut counts = StatusCounts::default();
    for (status, n) in by_status {
        counts.add(status, Ord::max(n, 0) as u64);
    }
    Ok(counts)
}

/// Members by workspace (every status), from `membership_counts`: one workspace's, or all.
pub(super) async fn member_counts(
    db: &impl ConnectionTrait,
    scope: Option<Uuid>,
) -> Result<HashMap<Uuid, i64>, AppError> {
    let mut query = Query::select()
        .column(Alias::new("tenant_id"))
        .expr(Func::cast_as(
            Func::sum(Expr::col(Alias::new("n"))),
            Alias::new("bigint"),
        ))
        .from(Alias::new("membership_counts"))
        .group_by_col(Alias::new("tenant_id"))
        .to_owned();
    if let Some(tenant_id) = scope {
        query.and_where(Expr::col(Alias::new("tenant_id")).eq(tenant_id));
    }
    let rows = db.query_all(&query).await.map_err(db_error)?;
    rows.iter()
        .map(|row| Ok((row.try_get_by_index::<Uuid>(0)?, row.try_get_by_index::<i64>(1)?)))
        .collect::<Result<_, sea_orm::DbErr>>()
        .map_err(db_error)
}

/// Folds the rows the `membership_counts` triggers appended into one per workspace and status,
/// so reading the counts stays cheap. Safe to run from several processes at once: every row is
/// removed once and its count moved into exactly one folded row.
pub async fn compact_membership_counts(db: &sea_orm::DatabaseConnection) -> Result<(), AppError> {
    let pending = Query::select()
        .expr(Expr::val(1))
        .from(Alias::new("membership_counts"))
        .and_where(Expr::col(Alias::new("pending")).eq(true))
        .limit(1)
        .to_owned();
    let backend = db.get_database_backend();
    if db.query_one(&pending).await.map_err(db_error)?.is_none() {
        return Ok(());
    }
    if backend == DbBackend::Postgres {
        db.execute_unprepared(
            "WITH folded AS ( \
               DELETE FROM membership_counts WHERE (tenant_id, status) IN \
                 (SELECT tenant_id, status FROM membership_counts WHERE pending) \
               RETURNING tenant_id, status, n) \
             INSERT INTO membership_counts (tenant_id, status, n, pending) \
             SELECT tenant_id, status, SUM(n), false FROM folded GROUP BY tenant_id, status HAVING SUM(n) <> 0",
        )
        .await
        .map_err(db_error)?;
        return Ok(());
    }
    // SQLite has one writer at a time: under BEGIN IMMEDIATE nothing is appended meanwhile, and
    // the folded rows get rowids above the last one folded.
    let txn = super::begin(db).await?;
    txn.execute_unprepared(
        "CREATE TEMP TABLE IF NOT EXISTS membership_counts_folded AS SELECT * FROM membership_counts WHERE 0",
    )
    .await
    .map_err(db_error)?;
    for statement in [
        "DELETE FROM membership_counts_folded",
        "INSERT INTO membership_counts_folded SELECT tenant_id, status, SUM(n), 0 FROM membership_counts \
         WHERE (tenant_id, status) IN (SELECT tenant_id, status FROM membership_counts WHERE pending) \
         GROUP BY tenant_id, status HAVING SUM(n) <> 0",
        "DELETE FROM membership_counts \
         WHERE (tenant_id, status) IN (SELECT tenant_id, status FROM membership_counts WHERE pending)",
        "INSERT INTO membership_counts SELECT * FROM membership_counts_folded",
    ] {
        txn.execute_unprepared(statement).await.map_err(db_error)?;
    }
    txn.commit().await.map_err(db_error)?;
    Ok(())
}

/// Holds released by one statement: small enough that no write waits long on the rows it locks.
const RELEASE_BATCH: u64 = 1_000;

/// Stores the cooldowns and lockouts that ran out by `now` as Active, in batches; returns how
/// many. They already read as Active, but until written they cost every status count a look at
/// each of them, and a status filter a planner's guess that they are still held. (A cooldown is
/// otherwise cleared only at that user's next MFA step, and many users never come back.)
pub async fn release_ended_holds(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, AppError> {
    let mut released = 0;
    loop {
        let batch = memberships::Entity::find()
            .select_only()
            .column(memberships::Column::Id)
            .filter(memberships::ended_hold(now))
            .limit(RELEASE_BATCH)
            .into_query();
        // The hold is checked again on the row being written, so one that started meanwhile
        // (a new cooldown) is left alone.
        let written = memberships::Entity::update_many()
            .col_expr(
                memberships::Column::Status,
                Expr::value(MembershipStatus::Active.as_str()),
            )
            .col_expr(
                memberships::Column::CooldownUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(
                memberships::Column::LockedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(memberships::Column::LockedReason, Expr::value(Option::<String>::None))
            .filter(memberships::Column::Id.in_subquery(batch))
            .filter(memberships::ended_hold(now))
            .exec(db)
            .await
            .map_err(db_error)?
            .rows_affected;
        released += written;
        if written < RELEASE_BATCH {
            return Ok(released);
        }
    }
}

/// Which of `user_ids` have at least one confirmed factor.
#[derive(Debug, FromQueryResult)]
struct UserFacts {
    user_id: Uuid,
    membership_count: i64,
    mfa_enrolled: bool,
}

/// A confirmed second factor of the membership's user, for `EXISTS`.
fn member_has_confirmed_factor() -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .expr(Expr::val(1))
        .from(mfa_factors::Entity)
        .and_where(
            Expr::col((mfa_factors::Entity, mfa_factors::Column::UserId))
                .equals((memberships::Entity, memberships::Column::UserId)),
        )
        .and_where(Expr::col((mfa_factors::Entity, mfa_factors::Column::ConfirmedAt)).is_not_null())
        .to_owned()
}

/// For each listed user: how many workspaces they belong to, and whether they have a confirmed
/// second factor. One query for the page.
async fn user_facts(db: &impl ConnectionTrait, user_ids: &[Uuid]) -> Result<HashMap<Uuid, UserFacts>, AppError> {
    if user_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let facts = memberships::Entity::find()
        .select_only()
        .column(memberships::Column::UserId)
        .column_as(memberships::Column::Id.count(), "membership_count")
        .expr_as(Expr::exists(member_has_confirmed_factor()), "mfa_enrolled")
        .filter(memberships::Column::UserId.is_in(user_ids.iter().copied()))
        .group_by(memberships::Column::UserId)
        .into_model::<UserFacts>()
        .all(db)
        .await
        .map_err(db_error)?;
    Ok(facts.into_iter().map(|f| (f.user_id, f)).collect())
}

/// The memberships of `user_id` the caller may see, with their workspace and role.
async fn visible_memberships(
    db: &impl ConnectionTrait,
    actor: &Actor,
    user_id: Uuid,
    permission: &str,
) -> Result<Vec<(memberships::Model, tenants::Model, roles::Model)>, AppError> {
    let rows = memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(user_id))
        .find_also_related(tenants::Entity)
        .all(db)
        .await
        .map_err(db_error)?;
    let role_ids: Vec<Uuid> = rows.iter().map(|(m, _)| m.role_id).collect();
    let roles = roles::Entity::find()
        .filter(roles::Column::Id.is_in(role_ids))
        .all(db)
        .await
        .map_err(db_error)?;
    let mut visible = Vec::new();
    let mut refused = None;
    for (membership, tenant) in rows {
        let Some(tenant) = tenant else { continue };
        let Some(role) = roles.iter().find(|r| r.id == membership.role_id).cloned() else {
            continue;
        };
        match require(actor, permission, tenant.id) {
            Ok(()) => visible.push((membership, tenant, role)),
            // Out of scope answers 404 below; a permission refusal within scope says so.
            Err(error @ AppError::Forbidden { .. }) => refused = Some(error),
            Err(_) => {}
        }
    }
    if visible.is_empty() {
        return Err(refused.unwrap_or_else(|| AppError::not_found("No such user.")));
    }
    visible.sort_by(|a, b| a.1.name.cmp(&b.1.name));
    Ok(visible)
}

/// A user as the Edit User page and `GET /api/v1/users/{id}` show them.
pub async fn detail(state: &AppState, actor: &Actor, user_id: Uuid) -> Result<UserDetail, AppError> {
    let db = &state.db;
    let now = state.clock.now();
    let user = users::Entity::find_by_id(user_id)
        .one(db)
        .await
        .map_err(db_error)?
        .ok_or_else(|| AppError::not_found("No such user."))?;
    let visible = visible_memberships(db, actor, user_id, USERS_READ).await?;
    let all_memberships = memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(user.id))
        .count(db)
        .await
        .map_err(db_error)?;
    // A tenant admin sees one membership; an operator admin sees them all.
    let reach = person_reach(actor, visible[0].0.status_at(now), all_memberships);
    let whole = reach.refusal().is_none();
    let confirmed_factors = mfa_factors::Entity::find()
        .filter(mfa_factors::Column::UserId.eq(user.id))
        .filter(mfa_factors::Column::ConfirmedAt.is_not_null())
        .order_by_asc(mfa_factors::Column::CreatedAt)
        .all(db)
        .await
        .map_err(db_error)?;
    // Sign-in here asks for any factor of the person, so the diagnosis counts them all.
    let has_factor = !confirmed_factors.is_empty() && reach != PersonReach::Invited;
    let factors: Vec<MfaFactorSummary> = confirmed_factors
        .into_iter()
        .filter(|f| whole || f.enrolled_tenant_id == Some(actor.tenant.id))
        .map(|f| MfaFactorSummary {
            id: f.id,
            kind: f.kind,
            label: f.label,
            created_at: f.created_at,
        })
        .collect();
    // The person's own facts, told to an admin of every workspace of theirs; a pending invitee
    // reads as a new account to the workspace that invited them.
    let invited = reach == PersonReach::Invited;
    let sign_in_lock = diagnosis::identifier_lock(db, user.id, now).await?;
    let mut memberships = Vec::with_capacity(visible.len());
    let mut access = Vec::new();
    for (membership, tenant, role) in &visible {
        let status = membership.status_at(now);
        let invite_expires_at = if status == MembershipStatus::Pending {
            let mut newest = None;
            for purpose in [SecretPurpose::Invite, SecretPurpose::AccessLink] {
                if let Some(secret) = one_time::newest(db, user.id, tenant.id, purpose).await? {
                    newest = Ord::max(newest, Some(secret.expires_at));
                }
            }
            newest
        } else {
            None
        };
        let facts = diagnosis::Facts {
            tenant,
            sign_in_url: state.config.workspace_url(&tenant.slug),
            status,
            locked_reason: membership.locked_reason.as_deref(),
            locked_until: membership.locked_until,
            cooldown_until: membership.cooldown_until,
            invite_expires_at,
            identifier_locked_until: sign_in_lock,
            has_password: user.password_hash.is_some() && !invited,
            must_change_password: user.must_change_password && !invited,
            temporary_password_expired: temporary_passwords::expired(db, &user, tenant.id, now).await?,
            several_workspaces: reach.several_workspaces(),
            has_factor,
            mfa_enrollment_required: membership.mfa_enrollment_required,
        };
        access.extend(diagnosis::problems(&facts, now));
        memberships.push(MembershipDetail {
            sso: tenant.kind != TenantKind::Operator.as_str() && tenant.sign_in_mode == SignInMode::Sso.as_str(),
            is_mfa_enforced: tenant.is_mfa_enforced,
            tenant_id: tenant.id,
            tenant_slug: tenant.slug.clone(),
            tenant_name: tenant.name.clone(),
            role_id: role.id,
            role_name: role.name.clone(),
            status,
            locked_reason: membership.locked_reason.clone(),
            locked_until: membership.locked_until,
            cooldown_until: membership.cooldown_until.filter(|u| *u > now),
            mfa_failed_attempts: membership.mfa_failed_attempts,
            invite_expires_at,
            created_at: membership.created_at,
        });
    }
    if let Some((tried_id, at)) = diagnosis::wrong_host(db, user.id, now).await?
        && let Some((_, home, _)) = visible.iter().find(|(m, t, _)| {
            m.status_at(now) == MembershipStatus::Active && t.status == crate::types::TenantStatus::Active.as_str()
        })
    {
        let tried = match tried_id {
            Some(id) => tenants::Entity::find_by_id(id).one(db).await.map_err(db_error)?,
            None => None,
        };
        let url = state.config.workspace_url(&home.slug);
        // Another workspace is named only to an admin of it.
        let tried = tried.filter(|t| require(actor, USERS_READ, t.id).is_ok());
        access.push(diagnosis::wrong_host_problem(home, url, tried.as_ref(), at));
    }
    let recovery_codes_left = match whole {
        true => Some(
            recovery_codes::Entity::find()
                .filter(recovery_codes::Column::UserId.eq(user.id))
                .filter(recovery_codes::Column::UsedAt.is_null())
                .count(db)
                .await
                .map_err(db_error)?,
        ),
        false => None,
    };
    let live_sessions = sessions::list_for_user(db, user.id, now).await?;
    let sessions = session_rows(db, &visible, live_sessions).await?;
    let pending_email = match whole {
        true => email_change::pending(db, user.id, now).await?,
        false => None,
    };
    Ok(UserDetail {
        id: user.id,
        email: user.email,
        username: user.username.filter(|_| !invited),
        display_name: user.display_name,
        secondary_email: user.secondary_email.filter(|_| !invited),
        phone: user.phone.filter(|_| !invited),
        has_password: user.password_hash.is_some() && !invited,
        password_changed_at: user.password_changed_at.filter(|_| whole),
        must_change_password: user.must_change_password && !invited,
        memberships,
        factors,
        recovery_codes_left,
        active_sessions: sessions.len() as u64,
        reach,
        sessions,
        access,
        pending_email,
        created_at: user.created_at,
    })
}

/// The sessions on workspaces the caller may see, with who opened them when an admin did.
async fn session_rows(
    db: &impl ConnectionTrait,
    visible: &[(memberships::Model, tenants::Model, roles::Model)],
    live: Vec<crate::server::entities::sessions::Model>,
) -> Result<Vec<UserSessionRow>, AppError> {
    let admin_ids: Vec<Uuid> = live.iter().filter_map(|s| s.impersonator_user_id).collect();
    let admins: HashMap<Uuid, String> = if admin_ids.is_empty() {
        HashMap::new()
    } else {
        users::Entity::find()
            .filter(users::Column::Id.is_in(admin_ids))
            .all(db)
            .await
            .map_err(db_error)?
            .into_iter()
            .map(|u| (u.id, u.email))
            .collect()
    };
    Ok(live
        .into_iter()
        .filter_map(|s| {
            let (_, tenant, _) = visible.iter().find(|(_, t, _)| t.id == s.tenant_id)?;
            Some(UserSessionRow {
                id: s.id,
                tenant_id: tenant.id,
                tenant_name: tenant.name.clone(),
                created_at: s.created_at,
                last_seen_at: s.last_seen_at,
                ip: s.ip,
                user_agent: s.user_agent,
                impersonated_by: s.impersonator_user_id.and_then(|id| admins.get(&id).cloned()),
            })
        })
        .collect())
}

/// "Revoke" on the Edit User page: ends one of the user's sessions on a workspace the caller
/// supports.
pub async fn revoke_session(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    user_id: Uuid,
    session_id: Uuid,
) -> Result<(), AppError> {
    use crate::server::entities::sessions as session_rows;
    let session = session_rows::Entity::find_by_id(session_id)
        .filter(session_rows::Column::UserId.eq(user_id))
        .filter(session_rows::Column::RevokedAt.is_null())
        .one(&state.db)
        .await
        .map_err(db_error)?
        .ok_or_else(|| AppError::not_found("No such session."))?;
    require(actor, USERS_SUPPORT, session.tenant_id).map_err(|error| match error {
        AppError::NotFound { .. } => AppError::not_found("No such session."),
        other => other,
    })?;
    let txn = super::begin(&state.db).await?;
    sessions::delete(&txn, session.id).await?;
    audit::record(
        &txn,
        state.clock.as_ref(),
        actor,
        meta,
        audit::Change {
            action: "session.revoked",
            target_type: "user",
            target_id: Some(user_id.to_string()),
            tenant_id: Some(session.tenant_id),
            before: Some(json!({ "session_id": session.id, "created_at": session.created_at, "ip": session.ip })),
            after: None,
        },
    )
    .await?;
    txn.commit().await.map_err(db_error)?;
    Ok(())
}

/// Removes the user with `email` from every workspace the caller manages, and deletes the user
/// when no membership is left. Their sessions there end; one audit row per workspace.
pub async fn remove_by_email(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    email: &str,
) -> Result<RemovedUser, AppError> {
    let email = Email::parse(email, "email")?;
    let db = &state.db;
    let user = users::Entity::find()
        .filter(users::Column::Email.eq(email.as_str()))
        .one(db)
        .await
        .map_err(db_error)?
        .ok_or_else(|| AppError::not_found("No such user."))?;
    if user.id == actor.user.id {
        return Err(AppError::conflict(
            "You cannot remove yourself. Ask another administrator.",
        ));
    }
    let removable = visible_memberships(db, actor, user.id, USERS_MANAGE).await?;
    let txn = super::begin(db).await?;
    let mut removed_from = Vec::with_capacity(removable.len());
    for (membership, tenant, role) in &removable {
        memberships::Entity::delete_by_id(membership.id)
            .exec(&txn)
            .await
            .map_err(db_error)?;
        sessions::revoke_for_user_in_tenant(&txn, user.id, tenant.id).await?;
        audit::record(
            &txn,
            state.clock.as_ref(),
            actor,
            meta,
            audit::Change {
                action: "user.removed",
                target_type: "user",
                target_id: Some(user.id.to_string()),
                tenant_id: Some(tenant.id),
                before: Some(json!({ "email": user.email, "role": role.name, "status": membership.status })),
                after: None,
            },
        )
        .await?;
        removed_from.push(TenantRef {
            id: tenant.id,
            slug: tenant.slug.clone(),
            name: tenant.name.clone(),
        });
    }
    let left = memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(user.id))
        .count(&txn)
        .await
        .map_err(db_error)?;
    let user_deleted = left == 0;
    if user_deleted {
        users::Entity::delete_by_id(user.id)
            .exec(&txn)
            .await
            .map_err(db_error)?;
    }
    txn.commit().await.map_err(db_error)?;
    Ok(RemovedUser {
        user_id: user.id,
        email: user.email,
        removed_from,
        user_deleted: Some(user_deleted).filter(|_| actor.tenant.kind == TenantKind::Operator.as_str()),
    })
}

/// The roles that may be held in a workspace (every role for the operator without one), with
/// how many memberships in the caller's scope hold each when `with_member_counts` (across every
/// workspace that is a count of every membership: 200 ms and more at a million).
pub async fn roles(
    state: &AppState,
    actor: &Actor,
    tenant_id: Option<Uuid>,
    with_member_counts: bool,
) -> Result<Vec<RoleSummary>, AppError> {
    let scope = list_scope(actor, tenant_id, USERS_READ)?;
    let db = &state.db;
    let tenant = match scope {
        Some(id) => Some(
            tenants::Entity::find_by_id(id)
                .one(db)
                .await
                .map_err(db_error)?
                .ok_or_else(|| AppError::not_found("No such workspace."))?,
        ),
        None => None,
    };
    let counts: Option<HashMap<Uuid, i64>> = if with_member_counts {
        let mut counted = memberships::Entity::find()
            .select_only()
            .column(memberships::Column::RoleId)
            .column_as(memberships::Column::Id.count(), "n")
            .group_by(memberships::Column::RoleId);
        if let Some(id) = scope {
            counted = counted.filter(memberships::Column::TenantId.eq(id));
        }
        Some(
            counted
                .into_tuple::<(Uuid, i64)>()
                .all(db)
                .await
                .map_err(db_error)?
                .into_iter()
                .collect(),
        )
    } else {
        None
    };
    let all = roles::Entity::find()
        .order_by_desc(roles::Column::IsBuiltin)
        .order_by_asc(roles::Column::Name)
        .all(db)
        .await
        .map_err(db_error)?;
    let owners: HashMap<Uuid, String> = tenants::Entity::find()
        .filter(tenants::Column::Id.is_in(all.iter().filter_map(|r| r.tenant_id)))
        .all(db)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    Ok(all
        .into_iter()
        .filter(|role| tenant.as_ref().is_none_or(|t| super::roles::may_hold(role, t)))
        .map(|role| RoleSummary {
            workspace: role.tenant_id.and_then(|id| owners.get(&id).cloned()),
            member_count: counts
                .as_ref()
                .map(|counts| Ord::max(counts.get(&role.id).copied().unwrap_or(0), 0) as u64),
            permissions: role
                .permissions
                .as_array()
                .map(|list| list.iter().filter_map(|p| p.as_str().map(str::to_owned)).collect())
                .unwrap_or_default(),
            id: role.id,
            key: role.key,
            name: role.name,
            builtin: role.is_builtin,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    #[test]
    fn search_text_is_taken_literally() {
        assert_eq!(
            contains_pattern(Some(" 50%_a\\ ")).unwrap().as_deref(),
            Some("%50\\%\\_a\\\\%")
        );
        assert_eq!(contains_pattern(Some("  ")).unwrap(), None);
        assert!(contains_pattern(Some(&"x".repeat(101))).is_err());
        assert!(contains_pattern(Some("a\u{0}b")).is_err());
    }

    #[test]
    fn sqlite_search_pattern_matches_either_case_and_nothing_else() {
        assert_eq!(sqlite_contains_glob("élo ü"), "*[éÉ]lo [üÜ]*");
        assert_eq!(sqlite_contains_glob("σς"), "*[σΣ][ςΣ]*");
        // No one-letter capital for `ß`; digits and ASCII are themselves.
        assert_eq!(sqlite_contains_glob("ß9a"), "*ß9a*");
        assert_eq!(sqlite_contains_glob("*?[]%_"), "*[*][?][[]]%_*");
    }

    #[test]
    fn cursors_round_trip_and_refuse_forgeries() {
        let key = ("a@example.com".to_owned(), Uuid::nil());
        let encoded = cursor::encode(&key);
        assert_eq!(cursor::decode::<(String, Uuid)>(Some(&encoded)).unwrap(), Some(key));
        assert!(cursor::decode::<(String, Uuid)>(Some("not-a-cursor")).is_err());
        assert!(cursor::decode::<(String, Uuid)>(Some(&URL_SAFE_NO_PAD.encode(b"[1,2]"))).is_err());
    }

    #[test]
    fn page_size_is_bounded() {
        assert_eq!(page_size(None).unwrap(), 50);
        assert!(page_size(Some(0)).is_err());
        assert!(page_size(Some(201)).is_err());
    }

    #[test]
    fn the_counts_choose_the_sqlite_plan() {
        let million = StatusCounts {
            pending: 60_000,
            active: 850_000,
            locked: 40_000,
            cooldown: 200,
            disabled: 49_800,
        };
        let query = |status: Option<MembershipStatus>, q: Option<&str>| UserListQuery {
            status,
            q: q.map(str::to_owned),
            ..UserListQuery::default()
        };
        let plan = |counts: &StatusCounts, scope: Option<Uuid>, query: &UserListQuery| {
            let plan = SqlitePlan::new(counts, scope, query, 50);
            (plan.walk_emails_for_status, plan.small_scope)
        };
        // 40,000 locked of a million: a page is about 1,300 rows along the email index.
        assert_eq!(
            plan(&million, None, &query(Some(MembershipStatus::Locked), None)),
            (true, false)
        );
        assert_eq!(
            plan(&million, None, &query(Some(MembershipStatus::Active), None)),
            (true, false)
        );
        // 200 in cooldown: reading them all by the status index is cheaper than 250,000 rows.
        assert_eq!(
            plan(&million, None, &query(Some(MembershipStatus::Cooldown), None)),
            (false, false)
        );
        // A search or a workspace drives the query by its own index.
        assert_eq!(
            plan(&million, None, &query(Some(MembershipStatus::Locked), Some("ada"))),
            (false, false)
        );
        let workspace = Some(Uuid::nil());
        assert_eq!(
            plan(&million, workspace, &query(Some(MembershipStatus::Locked), None)),
            (false, false)
        );
        let small = StatusCounts {
            active: SMALL_SCOPE - 1,
            locked: 1,
            ..StatusCounts::default()
        };
        assert_eq!(plan(&small, workspace, &query(None, Some("ada"))), (false, true));
        assert_eq!(plan(&small, None, &query(None, Some("ada"))), (false, false));
        let large = StatusCounts {
            active: SMALL_SCOPE + 1,
            ..StatusCounts::default()
        };
        assert_eq!(plan(&large, workspace, &query(None, Some("ada"))), (false, false));
    }
}
