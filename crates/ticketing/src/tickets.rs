//! Tickets (Anliegen): creation with a per-tenant number and a due date from the service
//! calendar, reading with the right level of access, edits with optimistic locking, notes,
//! call attempts and the append-only history.

use std::collections::HashMap;
use verbund_tenant::db::Db;

use chrono::{DateTime, Datelike, Utc};
use sea_orm::sea_query::{Alias, CommonTableExpression, Expr, ExprTrait, Func, Query, WithClause};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait,
    IntoActiveModel, QueryTrait, Set, Statement,
};
use serde::{Deserialize, Serialize};
use tracing::instrument;
use utoipa::ToSchema;
use uuid::Uuid;
use verbund_schema::ids::{ServiceId, TenantId, TicketId};
use verbund_schema::tenant;
use verbund_tenant::ProblemKind;
use verbund_tenant::access::{Job, SystemScope};
use verbund_tenant::db::{WithLocal, begin_write, now, write};
use verbund_tenant::directory::find_tenant_for;
use verbund_tenant::domain::EmailAddress;
use verbund_tenant::{Actor, Error, Permission, Result, TenantScope};

use crate::deadline;
use crate::model::{
    AnswerChannel, CallOutcome, FRONT_QUEUE, ForwardState, NoteKind, Priority, TicketState,
    parse_queue,
};
use crate::ticket_filter::{self, Assignee, Forwarded, TicketFilter};
use verbund_schema::{
    call_attempt, ticket, ticket_counter, ticket_event, ticket_forward, ticket_note,
};

/// The citizen's contact details: only what the answer needs.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Citizen {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// Postal address, for an answer by letter.
    pub address: Option<String>,
}

/// A time window in which the citizen wants to be called back.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallbackWindow {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTicket {
    pub subject: String,
    pub question: String,
    #[serde(default)]
    pub citizen: Citizen,
    pub answer_channel: AnswerChannel,
    #[serde(default)]
    pub callback_windows: Vec<CallbackWindow>,
    /// A published service description, or one of the ticket's tenant's own.
    pub service_id: Option<Uuid>,
    pub priority: Option<Priority>,
    /// `frontoffice` (default) or `backoffice:<unit>`.
    pub queue: Option<String>,
}

/// A ticket as the API shows it. For a tenant that forwarded the ticket (`access` =
/// `forwarder`) the citizen's contact details and the question are left out.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TicketView {
    pub id: Uuid,
    /// The tenant that holds the ticket now.
    pub tenant: String,
    /// The tenant where the ticket was opened; the number belongs to it.
    pub origin_tenant: String,
    pub number: String,
    pub subject: String,
    pub question: Option<String>,
    pub citizen: Option<Citizen>,
    pub answer_channel: AnswerChannel,
    pub callback_windows: Vec<CallbackWindow>,
    pub service_id: Option<Uuid>,
    pub state: TicketState,
    pub assignee_id: Option<Uuid>,
    pub queue: String,
    pub priority: Priority,
    pub due_at: DateTime<Utc>,
    pub at_risk: bool,
    pub overdue: bool,
    pub failed_call_attempts: i32,
    /// Set after too many failed callbacks: answer by e-mail or letter instead.
    pub needs_other_channel: bool,
    pub forward_state: ForwardState,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Send it back with every change (optimistic locking).
    pub version: i32,
    /// `full` or `forwarder`.
    pub access: &'static str,
}

/// What a request may do with a ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Full,
    Forwarder,
}

impl Access {
    /// After a change that may have moved the ticket to another tenant: full access where the
    /// actor may view the tenant's tickets, else what the forwarding side keeps.
    pub(crate) fn after_change(actor: &Actor, tenant_id: TenantId) -> Self {
        if actor.may(Permission::ViewTickets, tenant_id) {
            Self::Full
        } else {
            Self::Forwarder
        }
    }
}

pub(crate) type Slugs = HashMap<TenantId, String>;

/// Tenant slugs by id, one cache per application (in its [`verbund_tenant::db::Local`]). A
/// slug never changes after the tenant is created, so what the application has read once
/// stays true.
#[derive(Default)]
struct KnownSlugs(std::sync::RwLock<Slugs>);

/// The slugs of the given tenants: from this application's memory, the unknown ones from the
/// database (one query).
pub(crate) async fn slugs_of(
    db: &(impl ConnectionTrait + WithLocal),
    ids: impl IntoIterator<Item = TenantId>,
) -> Result<Slugs> {
    let mut out = Slugs::new();
    let mut missing = Vec::new();
    let cache = db.local().get::<KnownSlugs>();
    {
        let known = cache.0.read().unwrap_or_else(|e| e.into_inner());
        for id in ids {
            if out.contains_key(&id) {
                continue;
            }
            match known.get(&id) {
                Some(slug) => {
                    out.insert(id, slug.clone());
                }
                None => missing.push(id),
            }
        }
    }
    if !missing.is_empty() {
        missing.sort();
        missing.dedup();
        let rows = crate::repo::tenant_slugs(db, missing).await?;
        let mut known = cache.0.write().unwrap_or_else(|e| e.into_inner());
        for (id, slug) in rows {
            known.insert(id, slug.clone());
            out.insert(id, slug);
        }
    }
    Ok(out)
}

/// [`view`] of one ticket, with the slugs of its two tenants.
pub(crate) async fn view_with_slugs(
    db: &(impl ConnectionTrait + WithLocal),
    t: ticket::Model,
    access: Access,
) -> Result<TicketView> {
    let slugs = slugs_of(db, [t.tenant_id, t.origin_tenant_id]).await?;
    Ok(view(t, access, &slugs))
}

pub(crate) fn view(t: ticket::Model, access: Access, slugs: &Slugs) -> TicketView {
    let full = access == Access::Full;
    TicketView {
        id: t.id.uuid(),
        tenant: slugs.get(&t.tenant_id).cloned().unwrap_or_default(),
        origin_tenant: slugs.get(&t.origin_tenant_id).cloned().unwrap_or_default(),
        number: t.number,
        subject: t.subject,
        question: full.then_some(t.question),
        citizen: full.then_some(Citizen {
            name: t.citizen_name,
            phone: t.citizen_phone,
            email: t.citizen_email,
            address: t.citizen_address,
        }),
        answer_channel: t.answer_channel,
        callback_windows: if full {
            serde_json::from_value(t.callback_windows).unwrap_or_default()
        } else {
            Vec::new()
        },
        service_id: t.service_id.map(ServiceId::uuid),
        state: t.state,
        assignee_id: t.assignee_user_id,
        queue: t.queue,
        priority: t.priority,
        due_at: t.due_at,
        at_risk: t.at_risk,
        overdue: t.overdue,
        failed_call_attempts: t.failed_call_attempts,
        needs_other_channel: t.needs_other_channel,
        forward_state: t.forward_state,
        created_at: t.created_at,
        updated_at: t.updated_at,
        closed_at: t.closed_at,
        version: t.version,
        access: if full { "full" } else { "forwarder" },
    }
}

fn bounded(field: &str, raw: Option<&str>, max: usize) -> Result<Option<String>> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) if v.chars().count() > max => Err(Error::invalid(
            field,
            format!("must have at most {max} characters"),
        )),
        Some(v)
            if v.chars()
                .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') =>
        {
            Err(Error::invalid(field, "must not contain control characters"))
        }
        Some(v) => Ok(Some(v.to_owned())),
    }
}

fn required(field: &str, raw: &str, max: usize) -> Result<String> {
    bounded(field, Some(raw), max)?.ok_or_else(|| Error::invalid(field, "is required"))
}

fn parse_phone(raw: Option<&str>) -> Result<Option<String>> {
    let Some(v) = bounded("citizen.phone", raw, 50)? else {
        return Ok(None);
    };
    let digits = v.chars().filter(char::is_ascii_digit).count();
    let allowed = v
        .chars()
        .all(|c| c.is_ascii_digit() || " +-/()".contains(c));
    if allowed && (3..=20).contains(&digits) {
        Ok(Some(v))
    } else {
        Err(Error::invalid("citizen.phone", "is not a phone number"))
    }
}

/// A checked new ticket.
#[derive(Clone)]
pub(crate) struct ValidTicket {
    subject: String,
    question: String,
    citizen: Citizen,
    answer_channel: AnswerChannel,
    callback_windows: serde_json::Value,
    service_id: Option<Uuid>,
    priority: Priority,
    queue: String,
}

impl ValidTicket {
    pub(crate) fn service_id(&self) -> Option<Uuid> {
        self.service_id
    }
}

impl NewTicket {
    pub(crate) fn validate(self) -> Result<ValidTicket> {
        let citizen = Citizen {
            name: bounded("citizen.name", self.citizen.name.as_deref(), 200)?,
            phone: parse_phone(self.citizen.phone.as_deref())?,
            email: match bounded("citizen.email", self.citizen.email.as_deref(), 254)? {
                Some(e) => Some(EmailAddress::parse("citizen.email", &e)?.into_inner()),
                None => None,
            },
            address: bounded("citizen.address", self.citizen.address.as_deref(), 1000)?,
        };
        match self.answer_channel {
            AnswerChannel::Callback if citizen.phone.is_none() => {
                return Err(Error::invalid(
                    "citizen.phone",
                    "is required for a callback",
                ));
            }
            AnswerChannel::Email if citizen.email.is_none() => {
                return Err(Error::invalid(
                    "citizen.email",
                    "is required for an answer by e-mail",
                ));
            }
            AnswerChannel::Letter if citizen.address.is_none() => {
                return Err(Error::invalid(
                    "citizen.address",
                    "is required for an answer by letter",
                ));
            }
            _ => {}
        }
        if self.callback_windows.len() > 10 {
            return Err(Error::invalid("callback_windows", "at most 10 windows"));
        }
        for (i, w) in self.callback_windows.iter().enumerate() {
            verbund_tenant::text::check_instant(&format!("callback_windows[{i}].from"), w.from)?;
            verbund_tenant::text::check_instant(&format!("callback_windows[{i}].to"), w.to)?;
        }
        if self.callback_windows.iter().any(|w| w.from >= w.to) {
            return Err(Error::invalid(
                "callback_windows",
                "each window must end after it starts",
            ));
        }
        let queue = match self.queue.as_deref() {
            None => FRONT_QUEUE.to_owned(),
            Some(q) => parse_queue(q).ok_or_else(|| {
                Error::invalid("queue", "must be frontoffice or backoffice:<unit>")
            })?,
        };
        Ok(ValidTicket {
            subject: required("subject", &self.subject, 300)?,
            question: required("question", &self.question, 20_000)?,
            citizen,
            answer_channel: self.answer_channel,
            callback_windows: serde_json::to_value(&self.callback_windows)
                .map_err(|e| Error::internal("callback windows to JSON", e))?,
            service_id: self.service_id,
            priority: self.priority.unwrap_or(Priority::Normal),
            queue,
        })
    }
}

/// The number a new ticket of `t` arriving at `arrival` gets, taken ahead of the ticket's
/// transaction on PostgreSQL (`None` on SQLite).
///
/// On PostgreSQL numbers come from a sequence per tenant and year ([`allocate_number`]): taking
/// one waits for no lock and no commit, and a number whose ticket then fails is skipped (numbers
/// stay unique per tenant and year; see [`next_number`] for their order). Taken here, outside
/// the ticket's transaction, a missing sequence is created without risking that transaction. On SQLite every write
/// transaction is serial anyway, so the number is taken inside it from the tenant's counter row
/// ([`insert_ticket`] with `None`), without gaps and without a second turn of the writer.
pub async fn reserve_number(
    db: &Db,
    t: &tenant::Model,
    arrival: DateTime<Utc>,
) -> Result<Option<String>> {
    if db.get_database_backend() == sea_orm::DbBackend::Sqlite {
        return Ok(None);
    }
    Ok(Some(allocate_number(db, t, number_year(t, arrival)).await?))
}

/// Numbers count per year in the tenant's time zone.
fn number_year(t: &tenant::Model, arrival: DateTime<Utc>) -> i32 {
    let tz: chrono_tz::Tz = t.time_zone.parse().unwrap_or(chrono_tz::Europe::Berlin);
    arrival.with_timezone(&tz).year()
}

/// Allocates the next number of a tenant for a year: `KO-2026-000123`.
async fn allocate_number(
    db: &(impl ConnectionTrait + WithLocal),
    t: &tenant::Model,
    year: i32,
) -> Result<String> {
    if db.get_database_backend() == DbBackend::Postgres {
        let n = next_number(db, t, year).await?;
        return Ok(format!("{}-{year}-{n:06}", t.ticket_prefix));
    }
    // One statement in the common case: the counter row is hot (every ticket of the tenant
    // waits for it), so it is locked as briefly as possible.
    let mut rows = crate::repo::bump_counter(db, t, year).await?;
    if rows.is_empty() {
        // First ticket of the year: create the counter (another writer may have won), bump.
        ticket_counter::Entity::insert(ticket_counter::ActiveModel {
            tenant_id: Set(t.id),
            year: Set(year),
            last_number: Set(0),
        })
        .on_conflict_do_nothing_on([
            ticket_counter::Column::TenantId,
            ticket_counter::Column::Year,
        ])
        .exec_without_returning(db)
        .await?;
        rows = crate::repo::bump_counter(db, t, year).await?;
    }
    let counter = rows
        .into_iter()
        .next()
        .ok_or_else(|| Error::bug("ticket counter missing"))?;
    Ok(format!(
        "{}-{year}-{:06}",
        t.ticket_prefix, counter.last_number
    ))
}

/// How many numbers an instance takes from a sequence at once (PostgreSQL).
const NUMBER_BLOCK: i64 = 8;

/// Numbers this application has taken from each sequence and not used yet (in its
/// [`verbund_tenant::db::Local`]: another application on another database has sequences of
/// the same name).
#[derive(Default)]
struct ReservedNumbers(std::sync::Mutex<HashMap<String, std::collections::VecDeque<i64>>>);

/// PostgreSQL: a number from the tenant's sequence for `year`. Numbers are taken
/// [`NUMBER_BLOCK`] at a time and handed out from memory, so most tickets need no round trip
/// for their number. They stay unique; with several instances they interleave, and the numbers
/// an instance holds when it stops are skipped, as with a sequence's cache.
async fn next_number(
    db: &(impl ConnectionTrait + WithLocal),
    t: &tenant::Model,
    year: i32,
) -> Result<i64> {
    let name = sequence_name(t, year);
    let reserved = db.local().get::<ReservedNumbers>();
    let take = || -> Option<i64> {
        reserved
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(&name)
            .and_then(|numbers| numbers.pop_front())
    };
    if let Some(n) = take() {
        return Ok(n);
    }
    let mut block = next_from_sequence(db, t, year).await?;
    block.sort_unstable();
    let mut numbers = block.into_iter();
    let first = numbers
        .next()
        .ok_or_else(|| Error::bug(format!("number sequence {name} gave nothing")))?;
    reserved
        .0
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(name)
        .or_default()
        .extend(numbers);
    Ok(first)
}

fn sequence_name(t: &tenant::Model, year: i32) -> String {
    // Only hex digits, an underscore and the year: safe to put into a statement.
    format!("ticket_number_{}_{year}", t.id.uuid().simple())
}

/// PostgreSQL: the next [`NUMBER_BLOCK`] values of the tenant's number sequence for `year`
/// (`ticket_number_<tenant id>_<year>`). The first ticket of a year creates it, starting after
/// the tenant's counter row for the year if there is one (numbers taken before sequences).
async fn next_from_sequence(
    db: &impl ConnectionTrait,
    t: &tenant::Model,
    year: i32,
) -> Result<Vec<i64>> {
    let name = sequence_name(t, year);
    // `to_regclass` is NULL for a missing sequence, and so is `nextval` of NULL: no error, which
    // inside a transaction would abort it.
    let next = || {
        Statement::from_string(
            DbBackend::Postgres,
            format!(
                "SELECT nextval(to_regclass('{name}')) AS n FROM generate_series(1, {NUMBER_BLOCK})"
            ),
        )
    };
    let values = |rows: Vec<sea_orm::QueryResult>| -> Result<Option<Vec<i64>>> {
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            match row.try_get::<Option<i64>>("", "n")? {
                Some(n) => out.push(n),
                None => return Ok(None),
            }
        }
        Ok((!out.is_empty()).then_some(out))
    };
    if let Some(block) = values(db.query_all_raw(next()).await?)? {
        return Ok(block);
    }
    let before = crate::repo::last_counted(db, t, year).await?;
    // Another instance may create it at the same moment; then its sequence is used.
    let created = db
        .execute_unprepared(&format!(
            "CREATE SEQUENCE IF NOT EXISTS {name} START WITH {}",
            before + 1
        ))
        .await;
    if let Err(e) = created {
        tracing::debug!(error = %e, sequence = %name, "creating the number sequence");
    }
    values(db.query_all_raw(next()).await?)?
        .ok_or_else(|| Error::bug(format!("number sequence {name} missing")))
}

/// Appends one history row. Call it in the transaction of the change it describes.
pub async fn record_event(
    db: &impl ConnectionTrait,
    t: &ticket::Model,
    actor: Option<Uuid>,
    kind: &str,
    before: serde_json::Value,
    after: serde_json::Value,
) -> Result<()> {
    record_events(db, vec![event(t, actor, kind, before, after)]).await
}

/// One history row, to be written with [`record_events`] in the transaction of its change.
pub fn event(
    t: &ticket::Model,
    actor: Option<Uuid>,
    kind: &str,
    before: serde_json::Value,
    after: serde_json::Value,
) -> ticket_event::ActiveModel {
    ticket_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(t.tenant_id),
        ticket_id: Set(t.id),
        actor_user_id: Set(actor),
        kind: Set(kind.to_owned()),
        before: Set(before),
        after: Set(after),
        created_at: Set(now()),
    }
}

/// Writes history rows in one statement (in the order given: their ids are time-ordered).
pub async fn record_events(
    db: &impl ConnectionTrait,
    events: Vec<ticket_event::ActiveModel>,
) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    // The change feed row of each ticket, in the same transaction (crate::changes).
    let changes = crate::changes::rows_for(&events);
    ticket_event::Entity::insert_many(events)
        .exec_without_returning(db)
        .await?;
    verbund_schema::ticket_change::Entity::insert_many(changes)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Inserts a ticket for `t` with its number (`number` from [`reserve_number`], else taken
/// here), due date and "created" history row.
pub(crate) async fn insert_ticket(
    db: &(impl ConnectionTrait + WithLocal),
    t: &tenant::Model,
    input: ValidTicket,
    actor: Option<Uuid>,
    arrival: DateTime<Utc>,
    number: Option<String>,
) -> Result<ticket::Model> {
    let (model, created) = new_ticket(db, t, input, actor, arrival, number).await?;
    insert_with_history(db, &model, vec![created]).await?;
    Ok(model)
}

/// Writes a new ticket and its history rows with one round trip. On PostgreSQL the ticket's
/// insert is a data-modifying `WITH` of the history insert: one statement, atomic on its own
/// (also outside a transaction). SQLite has no such `WITH`, so both inserts go to the
/// connection as one batch; there it must run inside a transaction.
async fn insert_with_history(
    db: &impl ConnectionTrait,
    model: &ticket::Model,
    events: Vec<ticket_event::ActiveModel>,
) -> Result<()> {
    let backend = db.get_database_backend();
    let ticket_insert =
        ticket::Entity::insert(model.clone().into_active_model().reset_all()).into_query();
    // The change feed row (crate::changes) goes with them, in the same statement (batch).
    let change_insert =
        verbund_schema::ticket_change::Entity::insert_many(crate::changes::rows_for(&events))
            .into_query();
    let events_insert = ticket_event::Entity::insert_many(events).into_query();
    let stmt = match backend {
        DbBackend::Postgres => {
            let new_ticket = CommonTableExpression::new()
                .table_name(Alias::new("new_ticket"))
                .query(ticket_insert)
                .to_owned();
            let new_change = CommonTableExpression::new()
                .table_name(Alias::new("new_change"))
                .query(change_insert)
                .to_owned();
            backend.build(
                &WithClause::new()
                    .cte(new_ticket)
                    .cte(new_change)
                    .to_owned()
                    .query(events_insert),
            )
        }
        _ => {
            let (first, second, third) = (
                backend.build(&ticket_insert),
                backend.build(&events_insert),
                backend.build(&change_insert),
            );
            let values = first
                .values
                .into_iter()
                .chain(second.values)
                .chain(third.values)
                .flat_map(|v| v.0)
                .collect::<Vec<_>>();
            Statement::from_sql_and_values(
                backend,
                format!("{}; {}; {}", first.sql, second.sql, third.sql),
                values,
            )
        }
    };
    db.execute_raw(stmt).await?;
    Ok(())
}

/// A new ticket's row (with its number: `number`, else the next one taken here) and its
/// "created" history row, both still to be written.
async fn new_ticket(
    db: &(impl ConnectionTrait + WithLocal),
    t: &tenant::Model,
    input: ValidTicket,
    actor: Option<Uuid>,
    arrival: DateTime<Utc>,
    number: Option<String>,
) -> Result<(ticket::Model, ticket_event::ActiveModel)> {
    let number = match number {
        Some(n) => n,
        None => allocate_number(db, t, number_year(t, arrival)).await?,
    };
    let due = deadline::due_at(t, arrival)?;
    let model = ticket::Model {
        id: TicketId::now_v7(),
        tenant_id: t.id,
        number,
        subject: input.subject,
        question: input.question,
        citizen_name: input.citizen.name,
        citizen_phone: input.citizen.phone,
        citizen_email: input.citizen.email,
        citizen_address: input.citizen.address,
        answer_channel: input.answer_channel,
        callback_windows: input.callback_windows,
        service_id: input.service_id.map(ServiceId::from),
        state: TicketState::New,
        assignee_user_id: None,
        queue: input.queue,
        priority: input.priority,
        due_at: due,
        at_risk: false,
        overdue: false,
        failed_call_attempts: 0,
        needs_other_channel: false,
        origin_tenant_id: t.id,
        forward_state: ForwardState::None,
        created_by: actor,
        created_at: arrival,
        updated_at: arrival,
        closed_at: None,
        first_answered_at: None,
        anonymized_at: None,
        version: 1,
    };
    let created = event(
        &model,
        actor,
        "created",
        serde_json::Value::Null,
        serde_json::json!({
            "number": model.number, "state": model.state, "queue": model.queue,
            "due_at": model.due_at, "answer_channel": model.answer_channel,
        }),
    );
    Ok((model, created))
}

/// A ticket or contact may refer to a published service description of any tenant, or to
/// any description of `tenant_id` itself (drafts and archived ones stay inside their tenant).
/// Another tenant's draft and an unknown id get the same answer, so the check reveals nothing.
pub(crate) async fn check_service(
    db: &impl ConnectionTrait,
    field: &str,
    service_id: Option<Uuid>,
    tenant_id: TenantId,
) -> Result<()> {
    let Some(id) = service_id else {
        return Ok(());
    };
    let allowed = crate::repo::service_usable_for(db, id, tenant_id).await?;
    if allowed {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            "must be a published service description or one of the tenant's own",
        ))
    }
}

/// Opens a ticket for a tenant (scope: `HandleTickets`).
#[instrument(skip_all, fields(tenant = slug))]
pub async fn create_ticket(
    db: &Db,
    actor: &Actor,
    slug: &str,
    input: NewTicket,
) -> Result<TicketView> {
    let t = find_tenant_for(db, actor, slug).await?;
    actor.authorize(Permission::HandleTickets, t.id)?;
    let valid = input.validate()?;
    check_service(db, "service_id", valid.service_id, t.id).await?;
    let at = now();
    let number = reserve_number(db, &t, at).await?;
    let user = actor.user_id();
    let model = if db.get_database_backend() == DbBackend::Postgres {
        // Ticket and history are one statement there, atomic without a transaction.
        insert_ticket(db, &t, valid, Some(user), at, number).await?
    } else {
        let holder = t.clone();
        write(
            db,
            Box::new(move |txn| {
                // It may run twice (group commit), so it writes copies.
                let (holder, valid, number) = (holder.clone(), valid.clone(), number.clone());
                Box::pin(
                    async move { insert_ticket(txn, &holder, valid, Some(user), at, number).await },
                )
            }),
        )
        .await?
    };
    // A new ticket is held by and comes from its tenant.
    let slugs = Slugs::from([(t.id, t.slug)]);
    Ok(view(model, Access::Full, &slugs))
}

/// Finds a ticket's id by its number (`KO-2026-000123`) or id. Visibility is checked by the
/// function that then loads it; an unknown key is 404 like an invisible one.
pub async fn resolve(db: &impl ConnectionTrait, key: &str) -> Result<TicketId> {
    if let Ok(id) = Uuid::parse_str(key) {
        return Ok(TicketId(id));
    }
    if key.len() > 32 {
        return Err(Error::NotFound("ticket"));
    }
    crate::repo::ticket_id_by_number(db, key)
        .await?
        .ok_or(Error::NotFound("ticket"))
}

/// Loads a ticket the actor can see (`ViewTickets` for a tenant that holds, opened or
/// forwarded it), with how much of it; 404 otherwise, so other tenants learn nothing.
pub(crate) async fn load_visible(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: TicketId,
) -> Result<(ticket::Model, Access)> {
    let vis = actor.visibility(Permission::ViewTickets);
    crate::repo::ticket_visible(db, &vis, id)
        .await?
        .ok_or(Error::NotFound("ticket"))
}

/// Loads a ticket the actor may work on: `HandleTickets` for the tenant holding it, whose
/// scope the changes are saved with ([`save`]).
pub(crate) async fn load_for_work(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: TicketId,
) -> Result<(ticket::Model, TenantScope)> {
    let (t, _) = load_visible(db, actor, id).await?;
    let scope = actor.authorize(Permission::HandleTickets, t.tenant_id)?;
    Ok((t, scope))
}

/// One ticket the actor can see, by its id.
///
/// The id is a [`TicketId`]: a service description's (or a tenant's) id does not compile here:
///
/// ```compile_fail,E0308
/// async fn open(db: &verbund_tenant::db::Db, actor: &verbund_tenant::Actor, id: verbund_schema::ids::ServiceId) {
///     let _ = verbund_ticketing::tickets::get_ticket(db, actor, id).await;
/// }
/// ```
///
/// ```compile_fail,E0308
/// async fn open(db: &verbund_tenant::db::Db, actor: &verbund_tenant::Actor, id: verbund_schema::ids::TenantId) {
///     let _ = verbund_ticketing::tickets::get_ticket(db, actor, id).await;
/// }
/// ```
///
/// while the same call with a ticket's id does:
///
/// ```no_run
/// async fn open(db: &verbund_tenant::db::Db, actor: &verbund_tenant::Actor, id: verbund_schema::ids::TicketId) {
///     let _ = verbund_ticketing::tickets::get_ticket(db, actor, id).await;
/// }
/// ```
#[instrument(skip_all, fields(ticket = %id))]
pub async fn get_ticket(db: &Db, actor: &Actor, id: TicketId) -> Result<TicketView> {
    let (t, access) = load_visible(db, actor, id).await?;
    if access == Access::Full && t.anonymized_at.is_none() {
        crate::privacy::log_access(db, &t, actor.user_id(), "read").await?;
    }
    view_with_slugs(db, t, access).await
}

/// Saves changed fields when nobody else changed the ticket since `expected_version`. The
/// ticket must be held by the scope's tenant ([`load_for_work`]); mail intake, which acts
/// without a user, passes `None` and saves for the holding tenant.
pub(crate) async fn save(
    db: &impl ConnectionTrait,
    scope: Option<&TenantScope>,
    current: &ticket::Model,
    expected_version: i32,
    mut changes: ticket::ActiveModel,
) -> Result<ticket::Model> {
    if current.version != expected_version {
        return Err(Error::Conflict(
            ProblemKind::StaleVersion,
            format!(
                "the ticket was changed meanwhile (version {} instead of {expected_version}); reload it",
                current.version
            ),
        ));
    }
    changes.version = Set(expected_version + 1);
    changes.updated_at = Set(now());
    match scope {
        Some(scope) => {
            crate::repo::save_ticket(db, scope, current, expected_version, changes).await
        }
        None => {
            #[expect(
                clippy::disallowed_methods,
                reason = "mail intake (`reopen_for_mail`, from the inbound mail processing) saves for the tenant the mail was routed to, for no user"
            )]
            let intake = SystemScope::job(Job::MailIntake);
            crate::repo::system_save_ticket(db, &intake, current, expected_version, changes).await
        }
    }
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketPatch {
    /// The version the change is based on.
    pub version: i32,
    pub state: Option<TicketState>,
    /// A user id; `null` removes the assignee.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub assignee_id: Option<Option<Uuid>>,
    pub priority: Option<Priority>,
    pub subject: Option<String>,
    pub answer_channel: Option<AnswerChannel>,
}

fn double_option<'de, D, T>(d: D) -> std::result::Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Changes state, assignee, priority, subject or answer channel; 409 when the version is stale.
#[instrument(skip_all, fields(ticket = %id))]
pub async fn update_ticket(
    db: &Db,
    actor: &Actor,
    id: TicketId,
    patch: TicketPatch,
) -> Result<TicketView> {
    let subject = match patch.subject.as_deref() {
        Some(s) => Some(required("subject", s, 300)?),
        None => None,
    };
    let txn = begin_write(db).await?;
    let (current, scope) = load_for_work(&txn, actor, id).await?;
    let state = current.state;
    let mut changes = <ticket::ActiveModel as sea_orm::ActiveModelTrait>::default();
    let mut before = serde_json::Map::new();
    let mut after = serde_json::Map::new();
    if let Some(next) = patch.state {
        if !state.may_become(next) {
            let kind = if state == TicketState::Closed {
                ProblemKind::TicketClosed
            } else {
                ProblemKind::InvalidStateTransition
            };
            return Err(Error::Conflict(
                kind,
                format!(
                    "a {} ticket cannot become {}",
                    state.as_str(),
                    next.as_str()
                ),
            ));
        }
        if next != state {
            changes.state = Set(next);
            changes.closed_at = Set((next == TicketState::Closed).then(now));
            if next == TicketState::Answered && current.first_answered_at.is_none() {
                changes.first_answered_at = Set(Some(now()));
            }
            before.insert("state".into(), state.as_str().into());
            after.insert("state".into(), next.as_str().into());
        }
    }
    if let Some(assignee) = patch.assignee_id {
        if let Some(user) = assignee {
            crate::people::check_assignee(&txn, user, current.tenant_id).await?;
        }
        if assignee != current.assignee_user_id {
            changes.assignee_user_id = Set(assignee);
            before.insert(
                "assignee_id".into(),
                serde_json::json!(current.assignee_user_id),
            );
            after.insert("assignee_id".into(), serde_json::json!(assignee));
        }
    }
    if let Some(p) = patch.priority
        && p != current.priority
    {
        changes.priority = Set(p);
        before.insert("priority".into(), current.priority.as_str().into());
        after.insert("priority".into(), p.as_str().into());
    }
    if let Some(s) = subject
        && s != current.subject
    {
        before.insert("subject".into(), current.subject.clone().into());
        after.insert("subject".into(), s.clone().into());
        changes.subject = Set(s);
    }
    if let Some(c) = patch.answer_channel
        && c != current.answer_channel
    {
        let ok = match c {
            AnswerChannel::Callback => current.citizen_phone.is_some(),
            AnswerChannel::Email => current.citizen_email.is_some(),
            AnswerChannel::Letter => current.citizen_address.is_some(),
        };
        if !ok {
            return Err(Error::invalid(
                "answer_channel",
                "the ticket has no contact detail for this channel",
            ));
        }
        changes.answer_channel = Set(c);
        before.insert(
            "answer_channel".into(),
            current.answer_channel.as_str().into(),
        );
        after.insert("answer_channel".into(), c.as_str().into());
    }
    let saved = save(&txn, Some(&scope), &current, patch.version, changes).await?;
    if !after.is_empty() {
        record_event(
            &txn,
            &saved,
            Some(actor.user_id()),
            "changed",
            serde_json::Value::Object(before),
            serde_json::Value::Object(after),
        )
        .await?;
    }
    txn.commit().await?;
    view_with_slugs(db, saved, Access::Full).await
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNote {
    pub kind: NoteKind,
    pub body: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct NoteView {
    pub id: Uuid,
    pub kind: NoteKind,
    /// The tenant whose staff wrote it.
    pub tenant: String,
    pub author_id: Uuid,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// Adds an internal note or a message to the citizen (a message to the citizen of a ticket
/// that is not closed marks it answered).
#[instrument(skip_all, fields(ticket = %id))]
pub async fn add_note(db: &Db, actor: &Actor, id: TicketId, input: NewNote) -> Result<NoteView> {
    let body = required("body", &input.body, 20_000)?;
    let txn = begin_write(db).await?;
    let (current, scope) = load_for_work(&txn, actor, id).await?;
    if current.state == TicketState::Closed {
        return Err(Error::Conflict(
            ProblemKind::TicketClosed,
            "the ticket is closed".into(),
        ));
    }
    let note = ticket_note::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(current.tenant_id),
        ticket_id: Set(current.id),
        author_user_id: Set(actor.user_id()),
        kind: Set(input.kind),
        body: Set(body),
        created_at: Set(now()),
    }
    .insert(&txn)
    .await?;
    // The history names the note, not its text: internal notes stay with their tenant.
    record_event(
        &txn,
        &current,
        Some(actor.user_id()),
        if input.kind == NoteKind::Message {
            "message_sent"
        } else {
            "note_added"
        },
        serde_json::Value::Null,
        serde_json::json!({ "note_id": note.id, "kind": note.kind }),
    )
    .await?;
    let mut queued_mail = false;
    if input.kind == NoteKind::Message
        && current.answer_channel == AnswerChannel::Email
        && let Some(mail) =
            crate::mail::queue_reply(&txn, &current, &note.body, actor.user_id()).await?
    {
        record_event(
            &txn,
            &current,
            Some(actor.user_id()),
            "mail_queued",
            serde_json::Value::Null,
            serde_json::json!({ "mail_id": mail.id, "kind": mail.kind, "to": mail.to_address }),
        )
        .await?;
        queued_mail = true;
    }
    if input.kind == NoteKind::Message && current.state != TicketState::Answered {
        let mut changes = <ticket::ActiveModel as sea_orm::ActiveModelTrait>::default();
        changes.state = Set(TicketState::Answered);
        if current.first_answered_at.is_none() {
            changes.first_answered_at = Set(Some(now()));
        }
        let saved = save(&txn, Some(&scope), &current, current.version, changes).await?;
        record_event(
            &txn,
            &saved,
            Some(actor.user_id()),
            "changed",
            serde_json::json!({ "state": current.state }),
            serde_json::json!({ "state": TicketState::Answered.as_str() }),
        )
        .await?;
    }
    txn.commit().await?;
    if queued_mail {
        crate::mail::wake_delivery(db);
    }
    let slugs = slugs_of(db, [note.tenant_id]).await?;
    Ok(note_view(note, &slugs))
}

fn note_view(n: ticket_note::Model, slugs: &Slugs) -> NoteView {
    NoteView {
        id: n.id,
        kind: n.kind,
        tenant: slugs.get(&n.tenant_id).cloned().unwrap_or_default(),
        author_id: n.author_user_id,
        body: n.body,
        created_at: n.created_at,
    }
}

/// The notes the actor may read: messages to the citizen, and internal notes of tenants the
/// actor may view tickets for.
pub async fn list_notes(db: &Db, actor: &Actor, id: TicketId) -> Result<Vec<NoteView>> {
    let (t, _) = load_visible(db, actor, id).await?;
    let notes: Vec<ticket_note::Model> = crate::repo::notes_of(db, &t)
        .await?
        .into_iter()
        .filter(|n| n.kind == NoteKind::Message || actor.may(Permission::ViewTickets, n.tenant_id))
        .collect();
    let slugs = slugs_of(db, notes.iter().map(|n| n.tenant_id)).await?;
    Ok(notes.into_iter().map(|n| note_view(n, &slugs)).collect())
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCallAttempt {
    pub outcome: CallOutcome,
    pub note: Option<String>,
}

/// Logs a callback attempt. After the tenant's limit of failed attempts the ticket is flagged
/// so that another channel can be used.
#[instrument(skip_all, fields(ticket = %id))]
pub async fn record_call(
    db: &Db,
    actor: &Actor,
    id: TicketId,
    input: NewCallAttempt,
) -> Result<TicketView> {
    let note = bounded("note", input.note.as_deref(), 2000)?;
    let txn = begin_write(db).await?;
    let (current, scope) = load_for_work(&txn, actor, id).await?;
    if current.answer_channel != AnswerChannel::Callback {
        return Err(Error::Conflict(
            ProblemKind::NotApplicable,
            "the ticket is not answered by callback".into(),
        ));
    }
    if current.state == TicketState::Closed {
        return Err(Error::Conflict(
            ProblemKind::TicketClosed,
            "the ticket is closed".into(),
        ));
    }
    call_attempt::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(current.tenant_id),
        ticket_id: Set(current.id),
        agent_user_id: Set(actor.user_id()),
        outcome: Set(input.outcome),
        note: Set(note),
        created_at: Set(now()),
    }
    .insert(&txn)
    .await?;
    let tenant = crate::repo::tenant(&txn, current.tenant_id).await?;
    let limit = verbund_tenant::settings::TenantSettings::from_json(&tenant.settings)
        .callback_max_attempts as i32;
    let mut changes = <ticket::ActiveModel as sea_orm::ActiveModelTrait>::default();
    let mut after = serde_json::json!({ "outcome": input.outcome.as_str() });
    if input.outcome == CallOutcome::Reached {
        if current.state.is_open() {
            changes.state = Set(TicketState::Answered);
            after["state"] = TicketState::Answered.as_str().into();
            if current.first_answered_at.is_none() {
                changes.first_answered_at = Set(Some(now()));
            }
        }
    } else {
        let failed = current.failed_call_attempts + 1;
        changes.failed_call_attempts = Set(failed);
        after["failed_call_attempts"] = failed.into();
        if failed >= limit && !current.needs_other_channel {
            changes.needs_other_channel = Set(true);
            after["needs_other_channel"] = true.into();
        }
    }
    let saved = save(&txn, Some(&scope), &current, current.version, changes).await?;
    record_event(
        &txn,
        &saved,
        Some(actor.user_id()),
        "call_attempt",
        serde_json::Value::Null,
        after,
    )
    .await?;
    txn.commit().await?;
    view_with_slugs(db, saved, Access::Full).await
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct EventView {
    pub id: Uuid,
    pub tenant: String,
    pub actor_id: Option<Uuid>,
    pub kind: String,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// The whole history of a ticket, across every tenant it passed through. A tenant that only
/// forwarded the ticket sees its structure, subject and forward reasons, not the personal data
/// in it (mail addresses of later senders, delivery diagnostics; see
/// [`crate::privacy::forwarder_payload`]).
pub async fn history(db: &Db, actor: &Actor, id: TicketId) -> Result<Vec<EventView>> {
    let (t, access) = load_visible(db, actor, id).await?;
    let events = crate::repo::events_of(db, &t).await?;
    let slugs = slugs_of(db, events.iter().map(|e| e.tenant_id)).await?;
    Ok(events
        .into_iter()
        .map(|e| EventView {
            id: e.id,
            tenant: slugs.get(&e.tenant_id).cloned().unwrap_or_default(),
            actor_id: e.actor_user_id,
            kind: e.kind,
            before: match access {
                Access::Full => e.before,
                Access::Forwarder => crate::privacy::forwarder_payload(e.before),
            },
            after: match access {
                Access::Full => e.after,
                Access::Forwarder => crate::privacy::forwarder_payload(e.after),
            },
            created_at: e.created_at,
        })
        .collect())
}

pub use crate::ticket_filter::TicketQuery;

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TicketPage {
    pub items: Vec<TicketView>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The ticket queue, sorted by `due_at`, with cursor pagination.
#[instrument(skip_all)]
pub async fn list_tickets(db: &Db, actor: &Actor, q: TicketQuery) -> Result<TicketPage> {
    let filter = TicketFilter::parse(q, actor.user_id())?;
    let limit = filter.limit;
    let visibility = actor.visibility(Permission::ViewTickets);

    let forwarded_from_visible = Query::select()
        .column(ticket_forward::Column::TicketId)
        .from(ticket_forward::Entity)
        .cond_where(visibility.condition(ticket_forward::Column::FromTenantId))
        .to_owned();
    let everything_visible = Condition::any()
        .add(visibility.condition(ticket::Column::TenantId))
        .add(visibility.condition(ticket::Column::OriginTenantId))
        .add(ticket::Column::Id.in_subquery(forwarded_from_visible.clone()));
    let mut cond = Condition::all();
    match &filter.tenants {
        Some(list) => {
            let wanted: Vec<&str> = list.iter().map(String::as_str).collect();
            // The actor's own tenants are known; others are looked up.
            let others: Vec<&str> = wanted
                .iter()
                .copied()
                .filter(|slug| actor.tenant(slug).is_none())
                .collect();
            let found: HashMap<String, TenantId> = if others.is_empty() {
                HashMap::new()
            } else {
                crate::repo::tenant_ids(db, others)
                    .await?
                    .into_iter()
                    .collect()
            };
            let mut ids = Vec::new();
            for slug in wanted {
                let id = actor
                    .tenant(slug)
                    .map(|t| t.id)
                    .or_else(|| found.get(slug).copied())
                    .ok_or_else(|| Error::invalid("tenant", format!("unknown tenant {slug}")))?;
                ids.push(id);
            }
            // Tickets held by a tenant the actor sees fully need no further visibility check,
            // which keeps the query on the (tenant_id, due_at) index.
            let all_visible = ids.iter().all(|id| visibility.contains(*id));
            cond = cond.add(ticket::Column::TenantId.is_in(ids));
            if !all_visible {
                cond = cond.add(everything_visible);
            }
        }
        None => cond = cond.add(everything_visible),
    }
    if !filter.states.is_empty() {
        let states: Vec<&str> = filter.states.iter().map(|s| s.as_str()).collect();
        cond = cond.add(ticket::Column::State.is_in(states));
    }
    match filter.assignee {
        None => {}
        Some(Assignee::Nobody) => cond = cond.add(ticket::Column::AssigneeUserId.is_null()),
        Some(Assignee::User(id)) => cond = cond.add(ticket::Column::AssigneeUserId.eq(id)),
    }
    if let Some(queue) = filter.queue {
        cond = cond.add(ticket::Column::Queue.eq(queue));
    }
    if let Some(v) = filter.at_risk {
        cond = cond.add(ticket::Column::AtRisk.eq(v));
    }
    if let Some(v) = filter.overdue {
        cond = cond.add(ticket::Column::Overdue.eq(v));
    }
    match filter.forwarded {
        None => {}
        Some(Forwarded::In) => {
            cond = cond
                .add(visibility.condition(ticket::Column::TenantId))
                .add(ticket::Column::ForwardState.is_in([
                    ForwardState::Pending.as_str(),
                    ForwardState::Accepted.as_str(),
                ]));
        }
        Some(Forwarded::Out) => {
            cond = cond.add(ticket::Column::Id.in_subquery(forwarded_from_visible));
            if let Some(tenants) = visibility.tenants() {
                cond = cond.add(ticket::Column::TenantId.is_not_in(tenants.iter().copied()));
            }
        }
    }
    if let Some(pattern) = filter.text_pattern {
        let like = |col: ticket::Column| {
            Expr::expr(Func::lower(Expr::col(col)))
                .like(sea_orm::sea_query::LikeExpr::new(pattern.clone()).escape('\\'))
        };
        // Question and citizen name are searched only where the actor may read them: on a
        // ticket it merely forwarded, a match would tell what it may not see.
        cond = cond.add(
            Condition::any()
                .add(like(ticket::Column::Number))
                .add(like(ticket::Column::Subject))
                .add(
                    Condition::all()
                        .add(visibility.condition(ticket::Column::TenantId))
                        .add(
                            Condition::any()
                                .add(like(ticket::Column::Question))
                                .add(like(ticket::Column::CitizenName)),
                        ),
                ),
        );
    }
    if let Some((due, id)) = filter.after {
        cond = cond.add(
            Condition::any().add(ticket::Column::DueAt.gt(due)).add(
                Condition::all()
                    .add(ticket::Column::DueAt.eq(due))
                    .add(ticket::Column::Id.gt(id)),
            ),
        );
    }
    let mut rows = crate::repo::ticket_page(db, &visibility, cond, limit + 1).await?;
    let next_cursor = if rows.len() as u64 > limit {
        rows.truncate(limit as usize);
        rows.last()
            .map(|t| ticket_filter::cursor(t.due_at, t.id.uuid()))
    } else {
        None
    };
    let slugs = slugs_of(
        db,
        rows.iter().flat_map(|t| [t.tenant_id, t.origin_tenant_id]),
    )
    .await?;
    let mut items = Vec::with_capacity(rows.len());
    for t in rows {
        let access = if visibility.contains(t.tenant_id) {
            Access::Full
        } else {
            Access::Forwarder
        };
        // Lists carry no contact details; reading them is a logged single read.
        let mut item = view(t, access, &slugs);
        item.citizen = None;
        items.push(item);
    }
    Ok(TicketPage { items, next_cursor })
}

/// What an inbound e-mail asks, and who.
pub struct MailQuestion<'a> {
    pub subject: &'a str,
    pub question: &'a str,
    pub citizen_name: Option<String>,
    pub citizen_email: String,
}

/// A ticket opened by an inbound e-mail: answer channel e-mail, due one working day after
/// arrival. Runs inside the caller's transaction (the mail's processing), which also writes
/// the returned "created" history row. `number` as from [`reserve_number`].
pub async fn insert_mail_ticket(
    db: &(impl ConnectionTrait + WithLocal),
    t: &tenant::Model,
    mail: MailQuestion<'_>,
    arrival: DateTime<Utc>,
    number: Option<String>,
) -> Result<(ticket::Model, ticket_event::ActiveModel)> {
    let MailQuestion {
        subject,
        question,
        citizen_name,
        citizen_email,
    } = mail;
    let clip = |s: &str, max: usize| -> String {
        let cleaned: String = s
            .chars()
            .filter(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
            .take(max)
            .collect();
        cleaned.trim().to_owned()
    };
    let subject = match clip(subject, 300) {
        s if s.is_empty() => "(ohne Betreff)".to_owned(),
        s => s,
    };
    let question = match clip(question, 20_000) {
        q if q.is_empty() => "(keine Nachricht)".to_owned(),
        q => q,
    };
    let valid = ValidTicket {
        subject,
        question,
        citizen: Citizen {
            name: citizen_name
                .map(|n| clip(&n, 200))
                .filter(|n| !n.is_empty()),
            phone: None,
            email: Some(citizen_email),
            address: None,
        },
        answer_channel: AnswerChannel::Email,
        callback_windows: serde_json::json!([]),
        service_id: None,
        priority: Priority::Normal,
        queue: FRONT_QUEUE.to_owned(),
    };
    let (model, created) = new_ticket(db, t, valid, None, arrival, number).await?;
    // Written without RETURNING: every value is known here. The caller writes `created`
    // with the mail's other history rows, in the same transaction.
    ticket::Entity::insert(model.clone().into_active_model().reset_all())
        .exec_without_returning(db)
        .await?;
    Ok((model, created))
}

/// A citizen wrote again: an answered ticket opens again with a new deadline. Returns the
/// ticket as it is now.
pub async fn reopen_for_mail(
    db: &impl ConnectionTrait,
    current: &ticket::Model,
    arrival: DateTime<Utc>,
) -> Result<ticket::Model> {
    if current.state != TicketState::Answered {
        return Ok(current.clone());
    }
    let holder = crate::repo::tenant(db, current.tenant_id).await?;
    let due = deadline::due_at(&holder, arrival)?;
    let mut changes = <ticket::ActiveModel as sea_orm::ActiveModelTrait>::default();
    changes.state = Set(TicketState::InProgress);
    changes.due_at = Set(due);
    changes.at_risk = Set(false);
    changes.overdue = Set(false);
    let saved = save(db, None, current, current.version, changes).await?;
    record_event(
        db,
        &saved,
        None,
        "reopened",
        serde_json::json!({ "state": current.state, "due_at": current.due_at }),
        serde_json::json!({ "state": saved.state, "due_at": saved.due_at, "reason": "citizen_mail" }),
    )
    .await?;
    Ok(saved)
}

/// The ticket a person assigns an inbound mail to (the mail desk's "zuordnen"): one the actor
/// works (`HandleTickets` on the tenant holding it, as for every change of a ticket), neither
/// closed (`ticket-closed`) nor anonymised (`personal-data-removed`). `key` is its number or
/// id; a ticket the actor cannot see is not found. Returns its id and its holder tenant's.
pub async fn ticket_to_assign_mail(
    db: &Db,
    actor: &Actor,
    key: &str,
) -> Result<(TicketId, verbund_schema::ids::TenantId)> {
    let id = resolve(db, key).await?;
    let (t, _scope) = load_for_work(db, actor, id).await?;
    if t.state == TicketState::Closed {
        return Err(Error::Conflict(
            ProblemKind::TicketClosed,
            "a closed ticket takes no more mail; assign the mail to a new ticket".into(),
        ));
    }
    if t.anonymized_at.is_some() {
        return Err(Error::Conflict(
            ProblemKind::PersonalDataRemoved,
            "the ticket was anonymised".into(),
        ));
    }
    Ok((t.id, t.tenant_id))
}

/// The last change of a ticket, for "inzwischen von … geändert" after a stale version.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct LastChange {
    /// The history entry's kind (`updated`, `message_added`, `forwarded`, …).
    pub kind: String,
    /// The tenant in which the change was made (slug).
    pub tenant: String,
    /// The name of the person who made it; absent for a change by the system (mail intake,
    /// escalation) and for a tenant that only forwarded the ticket (it sees no staff names).
    pub by: Option<String>,
    /// The change was the caller's own (another window, another device).
    pub by_you: bool,
    pub at: DateTime<Utc>,
}

/// Who changed a ticket last, and when (`ViewTickets`, as the history).
pub async fn last_change(db: &Db, actor: &Actor, id: TicketId) -> Result<Option<LastChange>> {
    let (t, access) = load_visible(db, actor, id).await?;
    let Some(e) = crate::repo::events_of(db, &t).await?.pop() else {
        return Ok(None);
    };
    let slugs = slugs_of(db, [e.tenant_id]).await?;
    let by = match (e.actor_user_id, access) {
        (Some(user), Access::Full) => crate::repo::event_author_name(db, &t, user).await?,
        _ => None,
    };
    Ok(Some(LastChange {
        kind: e.kind,
        tenant: slugs.get(&e.tenant_id).cloned().unwrap_or_default(),
        by,
        by_you: e.actor_user_id == Some(actor.user_id()),
        at: e.created_at,
    }))
}
