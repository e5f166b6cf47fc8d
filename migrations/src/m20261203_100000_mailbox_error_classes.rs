//! A mailbox's `last_error` holds a fixed class of failure from now on ("connection refused",
//! "timeout", ...). Texts stored by earlier versions may quote what a remote port answered:
//! they are replaced by a neutral one until the next poll writes a class.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Mailboxes {
    Table,
    LastError,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let stmt = Query::update()
            .table(Mailboxes::Table)
            .value(Mailboxes::LastError, "the last poll failed")
            .and_where(Expr::col(Mailboxes::LastError).is_not_null())
            .to_owned();
        m.exec_stmt(stmt).await
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        // The earlier texts are gone; nothing to restore.
        Ok(())
    }
}
