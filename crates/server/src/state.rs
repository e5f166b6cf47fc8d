use std::sync::Arc;

use verbund_tenant::auth::Authenticator;
use verbund_tenant::db::Db;

use crate::settings::Settings;

/// Shared by every worker. Built once, outside the `HttpServer::new` closure.
pub struct AppState {
    pub db: Db,
    pub auth: Arc<Authenticator>,
    pub settings: Arc<Settings>,
    /// This instance's search index; it follows the knowledge change feed.
    pub search: verbund_knowledge::search::SearchIndex,
}
