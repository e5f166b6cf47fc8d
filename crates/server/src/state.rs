use std::sync::Arc;

use sea_orm::DatabaseConnection;
use verbund_tenant::auth::Authenticator;

use crate::settings::Settings;

/// Shared by every worker. Built once, outside the `HttpServer::new` closure.
pub struct AppState {
    pub db: DatabaseConnection,
    pub auth: Arc<Authenticator>,
    pub settings: Arc<Settings>,
    /// This instance's search index; it follows the knowledge change feed.
    pub search: verbund_knowledge::search::SearchIndex,
}
