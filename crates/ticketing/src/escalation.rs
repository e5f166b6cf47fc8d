//! Escalation: tickets within the tenant's at-risk window of service hours before `due_at` are
//! marked at risk, tickets past it overdue. The assignee (or the queue) is notified, and for
//! overdue tickets the tenant admins too.
//!
//! Every instance runs the job. Each mark is claimed with a conditional update
//! (`… WHERE at_risk = false`), so whichever instance wins writes the history row and the
//! notifications, in the same transaction, and no ticket is escalated twice.

use std::collections::HashMap;
use verbund_tenant::db::Db;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use uuid::Uuid;
use verbund_schema::tenant;
use verbund_tenant::access::SystemScope;
use verbund_tenant::db::begin_write;
use verbund_tenant::settings::TenantSettings;
use verbund_tenant::{Result, Role};

use crate::deadline::calendar_of;
use crate::model::TicketState;
use crate::tickets::record_event;
use verbund_schema::{notification, ticket};

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub at_risk: usize,
    pub overdue: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    AtRisk,
    Overdue,
}

/// Looks at every open ticket once and marks what is due. `system` is the escalation job's
/// proof, made by the application's worker ([`SystemScope`]).
pub async fn run_once(db: &Db, system: &SystemScope, at: DateTime<Utc>) -> Result<Pass> {
    let open = [
        TicketState::New.as_str(),
        TicketState::InProgress.as_str(),
        TicketState::WaitingBackoffice.as_str(),
    ];
    // Candidates: not yet overdue, due within two weeks (the at-risk window is counted in
    // service hours, which can span weekends and holidays).
    let until = at + chrono::Duration::days(14);
    let candidates = crate::repo::system_open_tickets_due(db, system, &open, until).await?;
    if candidates.is_empty() {
        return Ok(Pass::default());
    }
    let tenants: HashMap<Uuid, tenant::Model> = crate::repo::system_tenants(db, system)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let mut pass = Pass::default();
    for t in candidates {
        let Some(tenant) = tenants.get(&t.tenant_id) else {
            continue;
        };
        let mark = if t.due_at <= at {
            Mark::Overdue
        } else if !t.at_risk {
            let settings = TenantSettings::from_json(&tenant.settings);
            let left = calendar_of(tenant).service_time_between(at, t.due_at);
            if left <= chrono::Duration::hours(i64::from(settings.at_risk_hours)) {
                Mark::AtRisk
            } else {
                continue;
            }
        } else {
            continue;
        };
        if claim_and_notify(db, system, &t, tenant, mark).await? {
            match mark {
                Mark::AtRisk => pass.at_risk += 1,
                Mark::Overdue => pass.overdue += 1,
            }
        }
    }
    Ok(pass)
}

async fn claim_and_notify(
    db: &Db,
    system: &SystemScope,
    t: &ticket::Model,
    tenant: &tenant::Model,
    mark: Mark,
) -> Result<bool> {
    let txn = begin_write(db).await?;
    let (column, kind) = match mark {
        Mark::AtRisk => (ticket::Column::AtRisk, "at_risk"),
        Mark::Overdue => (ticket::Column::Overdue, "overdue"),
    };
    // An overdue ticket is at risk as well.
    let claimed =
        crate::repo::system_flag_ticket(&txn, system, t, column, mark == Mark::Overdue).await?;
    if !claimed {
        txn.rollback().await?;
        return Ok(false);
    }
    record_event(
        &txn,
        t,
        None,
        kind,
        serde_json::json!({ kind: false }),
        serde_json::json!({ kind: true, "due_at": t.due_at }),
    )
    .await?;
    let body = match mark {
        Mark::AtRisk => format!(
            "Anliegen {} „{}“ ist bald fällig (fällig am {}).",
            t.number,
            t.subject,
            local(t.due_at, tenant)
        ),
        Mark::Overdue => format!(
            "Anliegen {} „{}“ ist überfällig (fällig war {}).",
            t.number,
            t.subject,
            local(t.due_at, tenant)
        ),
    };
    let mut recipients: Vec<(Option<Uuid>, Option<String>)> = match t.assignee_user_id {
        Some(user) => vec![(Some(user), None)],
        None => vec![(None, Some(t.queue.clone()))],
    };
    if mark == Mark::Overdue {
        for admin in tenant_admins(&txn, system, tenant.id).await? {
            if Some(admin) != t.assignee_user_id {
                recipients.push((Some(admin), None));
            }
        }
    }
    let at = verbund_tenant::db::now();
    for (user_id, queue) in recipients {
        notification::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(t.tenant_id),
            user_id: Set(user_id),
            queue: Set(queue),
            ticket_id: Set(Some(t.id)),
            kind: Set(format!("ticket_{kind}")),
            body: Set(body.clone()),
            created_at: Set(at),
            read_at: Set(None),
        }
        .insert(&txn)
        .await?;
    }
    let mailed = escalation_mails(&txn, system, t, tenant, mark, &body).await?;
    txn.commit().await?;
    if mailed {
        crate::mail::wake_delivery(db);
    }
    Ok(true)
}

/// Escalation notices by mail, in the escalation's transaction: to the assignee, and for an
/// unassigned or overdue ticket to the tenant's escalation address (setting
/// `escalation_mail_to`). A tenant without a sender address gets only the in-app notices.
async fn escalation_mails(
    db: &impl ConnectionTrait,
    system: &SystemScope,
    t: &ticket::Model,
    tenant: &tenant::Model,
    mark: Mark,
    body: &str,
) -> Result<bool> {
    let settings = TenantSettings::from_json(&tenant.settings);
    let mut to: Vec<String> = Vec::new();
    if let Some(user) = t.assignee_user_id
        && let Some(u) = crate::repo::system_user(db, system, user).await?
        && u.active
    {
        to.push(u.email);
    }
    if (mark == Mark::Overdue || t.assignee_user_id.is_none())
        && let Some(addr) = settings.escalation_mail_to
        && !to.contains(&addr)
    {
        to.push(addr);
    }
    if to.is_empty() || crate::mail::sender_of(db, tenant).await.is_err() {
        return Ok(false);
    }
    let subject = match mark {
        Mark::AtRisk => format!("Bald fällig: {} [{}]", t.subject, t.number),
        Mark::Overdue => format!("Überfällig: {} [{}]", t.subject, t.number),
    };
    for address in to {
        crate::mail::enqueue(
            db,
            tenant,
            crate::mail::NewMail {
                ticket_id: Some(t.id),
                kind: crate::mail::MailKind::Escalation,
                from: None,
                to: address,
                subject: subject.replace(['\r', '\n'], " "),
                body: format!("{body}\n\nDiese Nachricht wurde automatisch erstellt."),
                in_reply_to: None,
                references: Vec::new(),
                created_by: None,
            },
        )
        .await?;
    }
    Ok(true)
}

fn local(at: DateTime<Utc>, tenant: &tenant::Model) -> String {
    let tz: chrono_tz::Tz = tenant
        .time_zone
        .parse()
        .unwrap_or(chrono_tz::Europe::Berlin);
    at.with_timezone(&tz).format("%d.%m.%Y %H:%M").to_string()
}

async fn tenant_admins(
    db: &impl ConnectionTrait,
    system: &SystemScope,
    tenant_id: Uuid,
) -> Result<Vec<Uuid>> {
    crate::repo::system_active_role_holders(db, system, tenant_id, Role::TenantAdmin).await
}
