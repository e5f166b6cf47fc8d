//! Full-text search for agents, with tantivy.
//!
//! - [`engine`]: the index (German stemming, synonyms, one typo on longer words, prefix
//!   matching of the last word, snippets with highlights). Pure, no database.
//! - [`SearchIndex::start`]: builds the index from the database (the source of truth) and
//!   spawns the one task that writes with the `IndexWriter`. That task follows the change feed
//!   (`knowledge_changes`): it wakes at once on a change of this process
//!   ([`crate::changes::notify`]) and polls for changes of other instances.
//! - [`search`]: the access rules (published descriptions of every tenant, drafts only of
//!   the tenants the actor belongs to, see [`crate::access`]) and the tenant defaults of an
//!   agent.

mod collector;
mod compound;
pub mod engine;
pub mod synonyms;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};
use verbund_tenant::db::Db;

use sea_orm::{ColumnTrait, Condition, ConnectionTrait};
use serde::Serialize;
use tracing::instrument;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use verbund_tenant::access::{Job, SystemScope};
use verbund_tenant::{Actor, Error, Permission, Result};

use crate::catalog::indexed_content;
use crate::leika::LeikaKey;
use crate::model::{ModuleField, ModuleValue, Modules};
use crate::status::ServiceStatus;
pub use engine::{IndexedService, RawHit, SearchEngine, SearchRequest, TenantFilter};
use verbund_schema::{base_text, change, service};

/// How often an index looks for changes made by other instances, unless configured
/// (`VERBUND_SEARCH_FEED_POLL_MS`).
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(500);
/// The shortest poll interval accepted.
pub const MIN_POLL_INTERVAL: Duration = Duration::from_millis(10);
/// How long a missing change id is waited for (a transaction that has not committed yet).
const GAP_TIMEOUT: Duration = Duration::from_secs(60);
/// Most missing change ids waited for at once; beyond, the oldest are given up (with a
/// warning). Each is looked up by id on every poll.
const MAX_GAPS: usize = 1_000;
/// At start, the change ids below the newest one that are looked at for missing ones.
const START_GAP_WINDOW: i64 = 10_000;
/// Rows read from the database per batch.
const BATCH: u64 = 2_000;

/// The plain text of all modules, in display order, for the index.
pub fn body_text(modules: &Modules) -> String {
    let mut out = String::new();
    for (field, value) in modules.iter() {
        // The online service is a URL: not useful as text.
        if field == ModuleField::OnlineDienst {
            continue;
        }
        match value {
            ModuleValue::Text(t) => out.push_str(t),
            ModuleValue::List(items) => out.push_str(&items.join("\n")),
            ModuleValue::Costs(c) => {
                if let Some(t) = &c.text {
                    out.push_str(t);
                }
                for a in &c.amounts {
                    out.push('\n');
                    if let Some(label) = &a.label {
                        out.push_str(label);
                        out.push_str(": ");
                    }
                    out.push_str(&crate::model::format_eur_cents(a.eur_cents));
                }
            }
            ModuleValue::Links(links) => {
                for l in links {
                    if let Some(t) = &l.title {
                        out.push_str(t);
                        out.push('\n');
                    }
                }
            }
        }
        out.push('\n');
    }
    out
}

/// The index document of a stored description, `None` if it is not searchable (archived).
pub fn indexed(
    s: &service::Model,
    tenant_slug: &str,
    base: Option<&base_text::Model>,
    leika_keys: Vec<String>,
) -> Option<IndexedService> {
    let status = s.status;
    if status == ServiceStatus::Archived {
        return None;
    }
    let (synonyms, modules) = indexed_content(s, base);
    Some(IndexedService {
        id: s.id.uuid(),
        tenant_id: s.tenant_id.uuid(),
        tenant: tenant_slug.to_owned(),
        leika_keys,
        status: status.as_str().to_owned(),
        title: s.title.clone(),
        synonyms,
        body: body_text(&modules),
    })
}

/// The search index of this instance, shared by all workers.
#[derive(Clone)]
pub struct SearchIndex {
    engine: Arc<SearchEngine>,
    applied: Arc<AtomicI64>,
}

async fn tenant_slugs(db: &impl ConnectionTrait) -> Result<HashMap<Uuid, String>> {
    Ok(crate::repo::tenant_slugs(db)
        .await?
        .into_iter()
        .map(|(id, slug)| (id.uuid(), slug))
        .collect())
}

async fn base_texts(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = Uuid>,
) -> Result<HashMap<Uuid, base_text::Model>> {
    let ids: BTreeSet<Uuid> = ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(crate::repo::base_texts_by_id(db, ids.into_iter().collect())
        .await?
        .into_iter()
        .map(|b| (b.id, b))
        .collect())
}

/// Documents for a batch of rows.
async fn documents(
    db: &impl ConnectionTrait,
    rows: &[service::Model],
    slugs: &HashMap<Uuid, String>,
) -> Result<Vec<(Uuid, Option<IndexedService>)>> {
    let bases = base_texts(db, rows.iter().filter_map(|s| s.base_id)).await?;
    let mut keys = crate::repo::leika_keys_of(db, rows).await?;
    Ok(rows
        .iter()
        .map(|s| {
            let slug = slugs.get(&s.tenant_id.uuid()).map_or("", String::as_str);
            let base = s.base_id.and_then(|id| bases.get(&id));
            let leika_keys = keys.remove(&s.id).unwrap_or_default();
            (s.id.uuid(), indexed(s, slug, base, leika_keys))
        })
        .collect())
}

fn internal(e: impl Into<verbund_tenant::error::BoxError>) -> Error {
    Error::internal("search index", e)
}

/// How [`apply`] treats a batch of documents.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Apply {
    /// Into the empty index at start: add, nothing to replace, no commit yet.
    Build,
    /// Replace the documents, commit and reload the readers.
    Commit,
    /// Commit the built index and merge it into one segment.
    Merge,
}

/// The one `IndexWriter` of an index. It stays here, not inside the blocking task that uses
/// it: a task that is cancelled before it runs (the runtime shuts down) or that panics loses
/// nothing, and the process goes on.
type Writer = Arc<std::sync::Mutex<tantivy::IndexWriter>>;

/// Why [`apply`] did not apply a batch.
#[derive(Debug)]
enum ApplyError {
    /// The blocking task was cancelled: the runtime is shutting down, the follower stops.
    Cancelled,
    /// Tantivy failed, or the task panicked; the batch is retried.
    Failed(Error),
}

impl From<ApplyError> for Error {
    fn from(e: ApplyError) -> Self {
        match e {
            ApplyError::Cancelled => internal("the runtime is shutting down"),
            ApplyError::Failed(e) => e,
        }
    }
}

/// Applies documents with the writer on a blocking thread.
async fn apply(
    engine: Arc<SearchEngine>,
    writer: Writer,
    docs: Vec<(Uuid, Option<IndexedService>)>,
    mode: Apply,
) -> std::result::Result<(), ApplyError> {
    let result = tokio::task::spawn_blocking(move || {
        // A panic while the lock was held (below) leaves the writer usable: tantivy's own
        // state is behind its own locks, and uncommitted documents are dropped by `rollback`.
        let mut writer = writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let outcome = (|| -> tantivy::Result<()> {
            for (id, doc) in &docs {
                match (mode, doc) {
                    (Apply::Build, Some(doc)) => engine.add(&writer, doc)?,
                    (Apply::Build, None) => {}
                    (Apply::Commit | Apply::Merge, doc) => {
                        engine.upsert(&writer, *id, doc.as_ref())?;
                    }
                }
            }
            match mode {
                Apply::Build => {}
                Apply::Commit => {
                    writer.commit()?;
                    engine.reload()?;
                }
                Apply::Merge => {
                    writer.commit()?;
                    engine.merge_all(&mut writer)?;
                }
            }
            Ok(())
        })();
        if outcome.is_err() && mode == Apply::Commit {
            // Nothing half-applied stays for the next commit; the batch is retried whole.
            let _ = writer.rollback();
        }
        outcome
    })
    .await;
    match result {
        Ok(outcome) => outcome.map_err(|e| ApplyError::Failed(internal(e))),
        Err(join) if join.is_cancelled() => Err(ApplyError::Cancelled),
        Err(join) => {
            tracing::error!(error = %join, "search index writer task panicked; retrying the batch");
            Err(ApplyError::Failed(internal(join)))
        }
    }
}

/// Follows the change feed: ids above the watermark, plus ids below it that were missing
/// (transactions that committed after a later one).
///
/// On PostgreSQL an id is taken from the sequence when the row is inserted, so id `N + 1` can
/// commit before id `N`: the feed then notes `N` as a gap and asks for it by id on every poll,
/// until it comes or [`GAP_TIMEOUT`] has passed (an id of a rolled-back transaction never
/// comes). On SQLite, with its one writer, ids commit in order.
struct Feed {
    watermark: i64,
    gaps: BTreeMap<i64, Instant>,
}

impl Feed {
    /// The feed of an index built from the database after `watermark` (the newest id) was
    /// read. The ids below it that are missing now may belong to transactions that are still
    /// open, and whose changes the build may not see: they are gaps from the start. (Ids of
    /// the last [`START_GAP_WINDOW`] only: a transaction that stays open while that many
    /// later changes commit is not waited for.)
    async fn starting_at(db: &impl ConnectionTrait, watermark: i64) -> Result<Self> {
        let from = watermark.saturating_sub(START_GAP_WINDOW).max(0);
        let present: BTreeSet<i64> =
            crate::repo::system_change_ids(db, &follower(), from, watermark)
                .await?
                .into_iter()
                .collect();
        let mut feed = Self {
            watermark,
            gaps: BTreeMap::new(),
        };
        let now = Instant::now();
        feed.note_gaps(
            (from + 1..=watermark).filter(|id| !present.contains(id)),
            now,
        );
        Ok(feed)
    }

    fn note_gaps(&mut self, ids: impl IntoIterator<Item = i64>, now: Instant) {
        for id in ids {
            self.gaps.insert(id, now);
        }
        while self.gaps.len() > MAX_GAPS {
            if let Some((id, _)) = self.gaps.pop_first() {
                tracing::warn!(
                    change = id,
                    "search index: too many missing changes; giving up the oldest"
                );
            }
        }
    }

    async fn next(&mut self, db: &impl ConnectionTrait) -> Result<Vec<change::Model>> {
        let now = Instant::now();
        self.gaps
            .retain(|_, since| now.duration_since(*since) < GAP_TIMEOUT);
        // The new ids, and the missing ones by id: a range from the oldest gap would read
        // every change since, and with a full batch of them never reach the new ones.
        let mut wanted = Condition::any().add(change::Column::Id.gt(self.watermark));
        if !self.gaps.is_empty() {
            wanted = wanted.add(
                change::Column::Id.is_in(self.gaps.keys().filter_map(|id| i32::try_from(*id).ok())),
            );
        }
        let rows = crate::repo::system_changes(db, &follower(), wanted, BATCH * 5).await?;
        let mut fresh = Vec::new();
        for row in rows {
            let id = i64::from(row.id);
            if id <= self.watermark {
                if self.gaps.remove(&id).is_some() {
                    fresh.push(row);
                }
                continue;
            }
            // Of a jump longer than `MAX_GAPS`, `note_gaps` keeps only the newest ids anyway.
            let missing = (self.watermark + 1).max(id - MAX_GAPS as i64)..id;
            self.watermark = id;
            self.note_gaps(missing, now);
            fresh.push(row);
        }
        Ok(fresh)
    }
}

impl SearchIndex {
    /// Builds the index from the database and starts the task that keeps it current. The task
    /// wakes at once on a change of this process, and every `poll_interval` (at least
    /// [`MIN_POLL_INTERVAL`]) for changes of other instances, until `stop` is cancelled.
    /// Returns the index and the task (the application awaits it on shutdown).
    pub async fn start(
        db: Db,
        poll_interval: Duration,
        stop: tokio_util::sync::CancellationToken,
    ) -> Result<(Self, tokio::task::JoinHandle<()>)> {
        let poll_interval = poll_interval.max(MIN_POLL_INTERVAL);
        let engine = Arc::new(SearchEngine::in_ram().map_err(internal)?);
        let writer: Writer = Arc::new(std::sync::Mutex::new(engine.writer().map_err(internal)?));
        // Wake-ups from here on reach the task.
        let local = crate::changes::subscribe(&db);
        // Changes from here on are applied again by the task: applying twice is harmless.
        let watermark: i64 = crate::repo::system_last_change(&db, &follower())
            .await?
            .map_or(0, |c| i64::from(c.id));
        // Before the build: a change that commits after this is either in the build or a gap.
        let feed = Feed::starting_at(&db, watermark).await?;
        Self::rebuild(&db, engine.clone(), writer.clone()).await?;
        let index = Self {
            engine,
            applied: Arc::new(AtomicI64::new(watermark)),
        };
        let task = index.clone();
        let follower = tokio::spawn(async move {
            task.follow(db, writer, feed, local, poll_interval, stop)
                .await;
        });
        Ok((index, follower))
    }

    async fn rebuild(db: &Db, engine: Arc<SearchEngine>, writer: Writer) -> Result<()> {
        let slugs = tenant_slugs(db).await?;
        let mut after: Option<Uuid> = None;
        let mut count = 0;
        // Batch by batch into the writer, one commit at the end: only a batch of rows is in
        // memory at a time.
        loop {
            let rows = crate::repo::system_services_after(
                db,
                &follower(),
                ServiceStatus::Archived.as_str(),
                after,
                BATCH,
            )
            .await?;
            let Some(last) = rows.last() else { break };
            after = Some(last.id.uuid());
            let docs = documents(db, &rows, &slugs).await?;
            drop(rows);
            count += docs.iter().filter(|(_, d)| d.is_some()).count();
            apply(engine.clone(), writer.clone(), docs, Apply::Build).await?;
        }
        apply(engine, writer, Vec::new(), Apply::Merge).await?;
        tracing::info!(descriptions = count, "search index built");
        Ok(())
    }

    async fn follow(
        &self,
        db: Db,
        writer: Writer,
        mut feed: Feed,
        mut local: tokio::sync::watch::Receiver<u64>,
        poll_interval: Duration,
        stop: tokio_util::sync::CancellationToken,
    ) {
        loop {
            tokio::select! {
                () = stop.cancelled() => {
                    tracing::info!("search index follower stops: the application stops");
                    return;
                }
                changed = local.changed() => {
                    if changed.is_err() {
                        tokio::time::sleep(poll_interval).await;
                    }
                }
                () = tokio::time::sleep(poll_interval) => {}
            }
            match self.catch_up(&db, &writer, &mut feed).await {
                Ok(()) => {}
                Err(ApplyError::Cancelled) => {
                    tracing::info!("search index follower stops: the runtime is shutting down");
                    return;
                }
                Err(ApplyError::Failed(e)) => {
                    tracing::warn!(error = %e, "search index update failed; retrying");
                }
            }
        }
    }

    async fn catch_up(
        &self,
        db: &Db,
        writer: &Writer,
        feed: &mut Feed,
    ) -> std::result::Result<(), ApplyError> {
        let before = (feed.watermark, feed.gaps.clone());
        let changes = match feed.next(db).await {
            Ok(c) => c,
            Err(e) => return Err(ApplyError::Failed(e)),
        };
        if changes.is_empty() {
            return Ok(());
        }
        let ids: BTreeSet<Uuid> = changes.iter().map(|c| c.service_id.uuid()).collect();
        let loaded = async {
            let rows = crate::repo::system_services(db, &follower(), ids.iter().copied()).await?;
            let slugs = tenant_slugs(db).await?;
            let mut docs = documents(db, &rows, &slugs).await?;
            for id in &ids {
                if !rows.iter().any(|r| r.id == *id) {
                    docs.push((*id, None));
                }
            }
            Ok::<_, Error>(docs)
        }
        .await;
        let docs = match loaded {
            Ok(d) => d,
            Err(e) => {
                (feed.watermark, feed.gaps) = before;
                return Err(ApplyError::Failed(e));
            }
        };
        let result = apply(self.engine.clone(), writer.clone(), docs, Apply::Commit).await;
        match result {
            Ok(()) => {
                self.applied.store(feed.watermark, Ordering::Release);
                Ok(())
            }
            Err(e) => {
                (feed.watermark, feed.gaps) = before;
                Err(e)
            }
        }
    }

    /// The id of the last change feed row applied.
    pub fn applied_change(&self) -> i64 {
        self.applied.load(Ordering::Acquire)
    }

    pub fn engine(&self) -> &SearchEngine {
        &self.engine
    }
}

/// `GET /api/v1/search` parameters. `tenant` may be repeated or comma-separated.
#[derive(Clone, Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// The words to search for.
    pub q: String,
    /// Tenant slugs, or `all`. Default: the tenants the user works for (an agent: those
    /// of the center), ranked first.
    pub tenant: Vec<String>,
    /// A LeiKa key: only descriptions that have it (among their keys).
    pub leika: Option<String>,
    /// 1-50, default 10.
    pub limit: Option<usize>,
}

impl SearchParams {
    /// Reads query string pairs; unknown parameters are refused.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Result<Self> {
        let mut out = Self::default();
        for (key, value) in pairs {
            match key.as_str() {
                "q" => out.q = value,
                "tenant" => out.tenant.extend(
                    value
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned),
                ),
                "leika" => out.leika = Some(value),
                "limit" => {
                    out.limit = Some(
                        value
                            .trim()
                            .parse()
                            .map_err(|_| Error::invalid("limit", "must be a number 1..=50"))?,
                    );
                }
                other => {
                    return Err(Error::invalid(
                        crate::shorten(other, 40),
                        "is not a search parameter",
                    ));
                }
            }
        }
        Ok(out)
    }
}

/// One search hit.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SearchHit {
    pub id: Uuid,
    pub tenant: String,
    /// The LeiKa keys of the description, sorted (may be empty).
    pub leika_keys: Vec<String>,
    /// The first of `leika_keys`, `null` without a key.
    pub leika: Option<String>,
    pub title: String,
    /// The title, HTML-escaped, with `<mark>` around matching words.
    pub title_html: String,
    /// A part of the text, HTML-escaped, with `<mark>` around matching words.
    pub snippet: String,
    pub status: ServiceStatus,
    /// From a tenant the user works for (ranked first).
    pub own_tenant: bool,
    pub score: f32,
    /// Where to read the whole description.
    pub href: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SearchResults {
    pub query: String,
    pub items: Vec<SearchHit>,
}

/// Searches the descriptions the actor may read.
#[instrument(skip_all)]
pub async fn search(
    db: &Db,
    index: &SearchIndex,
    actor: &Actor,
    params: SearchParams,
) -> Result<SearchResults> {
    crate::access::require_reader(actor)?;
    let text = params.q.trim().to_owned();
    if text.is_empty() {
        return Err(Error::invalid("q", "is required"));
    }
    if text.chars().count() > 200 {
        return Err(Error::invalid("q", "must have at most 200 characters"));
    }
    let limit = params.limit.unwrap_or(10);
    if !(1..=50).contains(&limit) {
        return Err(Error::invalid("limit", "must be 1..=50"));
    }
    let leika = match params
        .leika
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(raw) => Some(
            LeikaKey::parse(raw)
                .map_err(|e| Error::invalid("leika", e.problem()))?
                .into_string(),
        ),
        None => None,
    };
    let visibility = actor.visibility(Permission::ReadKnowledge);
    let own: BTreeSet<Uuid> = match visibility.tenants() {
        Some(set) => set.iter().map(|t| t.uuid()).collect(),
        None => crate::repo::tenant_slugs(db)
            .await?
            .into_iter()
            .map(|(id, _)| id.uuid())
            .collect(),
    };
    let all = params.tenant.iter().any(|t| t == "all");
    let (primary, secondary) = if all {
        (
            TenantFilter::Only(own.clone()),
            Some(TenantFilter::AllExcept(own.clone())),
        )
    } else if params.tenant.is_empty() {
        (TenantFilter::Only(own.clone()), None)
    } else {
        let wanted: BTreeSet<&str> = params.tenant.iter().map(String::as_str).collect();
        let found = crate::repo::tenants_by_slug(db, wanted.iter().copied()).await?;
        if let Some(missing) = wanted
            .iter()
            .find(|slug| !found.iter().any(|t| t.slug == **slug))
        {
            return Err(Error::invalid(
                "tenant",
                format!("unknown tenant {}", crate::shorten(missing, 60)),
            ));
        }
        let ids: BTreeSet<Uuid> = found.iter().map(|t| t.id.uuid()).collect();
        (
            TenantFilter::Only(ids.intersection(&own).copied().collect()),
            Some(TenantFilter::Only(ids.difference(&own).copied().collect())),
        )
    };
    let drafts_of = match crate::access::draft_tenants(actor) {
        crate::access::DraftTenants::All => own,
        crate::access::DraftTenants::Of(set) => set.iter().map(|t| t.uuid()).collect(),
    };
    let request = SearchRequest {
        text: text.clone(),
        primary,
        secondary,
        drafts_of,
        leika,
        limit,
    };
    let hits = index.engine.search(&request).map_err(internal)?;
    Ok(SearchResults {
        query: text,
        items: hits
            .into_iter()
            .map(|h| SearchHit {
                href: format!("/api/v1/tenants/{}/services/{}", h.tenant, h.id),
                id: h.id,
                tenant: h.tenant,
                leika: h.leika_keys.first().cloned(),
                leika_keys: h.leika_keys,
                title: h.title,
                title_html: h.title_html,
                snippet: h.snippet_html,
                status: ServiceStatus::parse(&h.status).unwrap_or(ServiceStatus::Draft),
                own_tenant: h.primary,
                score: h.score,
            })
            .collect(),
    })
}

/// The proof of the index follower: background work that reads every tenant's descriptions
/// to keep this instance's index current (search results are filtered per reader).
#[expect(
    clippy::disallowed_methods,
    reason = "the search index follower: a job of every instance, started by the application (SearchIndex::start)"
)]
fn follower() -> SystemScope {
    SystemScope::job(Job::SearchIndex)
}

#[cfg(test)]
mod quality_tests;

#[cfg(test)]
mod writer_tests {
    use super::*;

    fn doc(title: &str) -> (Uuid, Option<IndexedService>) {
        let id = Uuid::new_v4();
        let doc = IndexedService {
            id,
            tenant_id: Uuid::from_u128(7),
            tenant: "t".into(),
            leika_keys: vec!["99000000000000".into()],
            status: "published".into(),
            title: title.into(),
            synonyms: vec![],
            body: String::new(),
        };
        (id, Some(doc))
    }

    /// A runtime that shuts down cancels a blocking task that has not run yet. That used to
    /// abort the process (the writer was inside the task); now the batch is not applied, the
    /// caller hears `Cancelled`, and the writer is still there for the next batch.
    #[tokio::test]
    async fn a_cancelled_writer_task_loses_nothing_and_does_not_abort() {
        let engine = Arc::new(SearchEngine::in_ram().unwrap());
        let writer: Writer = Arc::new(std::sync::Mutex::new(engine.writer().unwrap()));
        let gone = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let gone_handle = gone.handle().clone();
        gone.shutdown_background();

        let batch = apply(
            engine.clone(),
            writer.clone(),
            vec![doc("Personalausweis beantragen")],
            Apply::Commit,
        );
        let outcome = {
            // `spawn_blocking` inside goes to the runtime that has shut down.
            let _inside = gone_handle.enter();
            batch.await
        };
        assert!(matches!(outcome, Err(ApplyError::Cancelled)), "{outcome:?}");
        assert_eq!(engine.num_docs(), 0);

        // The same writer applies the next batch on a live runtime.
        apply(
            engine.clone(),
            writer,
            vec![doc("Reisepass beantragen")],
            Apply::Commit,
        )
        .await
        .unwrap();
        assert_eq!(engine.num_docs(), 1);
    }
}
