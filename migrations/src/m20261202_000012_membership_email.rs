//! The users list's sort key on the membership itself: `memberships.user_email`, a copy of the
//! user's email, with indexes on `(user_email, id)` and `(tenant_id, user_email, id)`.
//!
//! A list of one workspace sorted by an email that lives only in `users` has two plans, both bad
//! at ten million users: walk the users email index and probe each user's memberships for the
//! workspace (a page of a 10,000-member workspace meets one member per thousand users: 600 ms),
//! or read the whole workspace and sort it. With the key on the membership, a page of one
//! workspace or of all is an index range that stops after the page.
//!
//! The application writes the copy with each new membership; a trigger carries an email change
//! to every membership of the user, whichever code path changes it.

use sea_orm_migration::prelude::*;

use crate::m20261123_000001_core::Memberships;
use crate::{index, run_for_backend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MembershipEmail {
    UserEmail,
}

const BACKFILL: &str =
    "UPDATE memberships SET user_email = (SELECT users.email FROM users WHERE users.id = memberships.user_id)";

const POSTGRES_UP: &[&str] = &[
    "CREATE FUNCTION memberships_follow_email() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       UPDATE memberships SET user_email = NEW.email WHERE user_id = NEW.id;
       RETURN NULL;
     END $$",
    "CREATE TRIGGER memberships_follow_email AFTER UPDATE OF email ON users
     FOR EACH ROW WHEN (OLD.email IS DISTINCT FROM NEW.email) EXECUTE FUNCTION memberships_follow_email()",
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP TRIGGER memberships_follow_email ON users",
    "DROP FUNCTION memberships_follow_email()",
];

const SQLITE_UP: &[&str] = &["CREATE TRIGGER memberships_follow_email AFTER UPDATE OF email ON users
     WHEN old.email IS NOT new.email BEGIN
       UPDATE memberships SET user_email = new.email WHERE user_id = new.id;
     END"];

const SQLITE_DOWN: &[&str] = &["DROP TRIGGER memberships_follow_email"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Memberships::Table)
                    .add_column(ColumnDef::new(MembershipEmail::UserEmail).text().not_null().default(""))
                    .to_owned(),
            )
            .await?;
        let connection = manager.get_connection();
        connection.execute_unprepared(BACKFILL).await?;
        manager
            .create_index(index(
                "idx_memberships_user_email",
                Memberships::Table,
                [MembershipEmail::UserEmail.into_iden(), Memberships::Id.into_iden()],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_memberships_tenant_user_email",
                Memberships::Table,
                [
                    Memberships::TenantId.into_iden(),
                    MembershipEmail::UserEmail.into_iden(),
                    Memberships::Id.into_iden(),
                ],
            ))
            .await?;
        run_for_backend(manager, POSTGRES_UP, SQLITE_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_for_backend(manager, POSTGRES_DOWN, SQLITE_DOWN).await?;
        for name in ["idx_memberships_tenant_user_email", "idx_memberships_user_email"] {
            manager
                .drop_index(Index::drop().name(name).table(Memberships::Table).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Memberships::Table)
                    .drop_column(MembershipEmail::UserEmail)
                    .to_owned(),
            )
            .await
    }
}
