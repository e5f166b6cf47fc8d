//! Per-tenant settings. Stored as JSON on the tenant; every key has a default so that older rows
//! stay readable when keys are added.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TenantSettings {
    /// Service hours that make up one working day for the answer deadline (115: 10 h).
    pub service_day_hours: u32,
    /// Service hours before `due_at` at which a ticket counts as at risk.
    pub at_risk_hours: u32,
    /// Failed call attempts after which a callback ticket is flagged for another channel.
    pub callback_max_attempts: u32,
    /// Receipts sent to one sender per hour at most.
    pub receipts_per_sender_per_hour: u32,
    /// Largest attachment kept from inbound mail, in bytes.
    pub max_attachment_bytes: u64,
    /// Attachments kept from one inbound mail; the rest are listed as omitted (they stay in the
    /// raw message) and the ticket says that the mail was cut.
    pub max_attachments_per_mail: u32,
    /// Characters of an inbound mail's text taken into the ticket; a longer text is cut and
    /// the ticket says so (the raw message keeps all of it).
    pub max_mail_body_chars: u32,
    /// Days after closing a ticket before the citizen's personal data is anonymised.
    pub anonymize_after_days: u32,
    /// Service hours of the 115 line for this tenant (default Mon–Fri 08:00–18:00).
    pub service_hours: crate::calendar::WeeklyHours,
    /// Extra closing days besides the state's public holidays.
    #[schema(value_type = Vec<String>)]
    pub closing_days: Vec<chrono::NaiveDate>,
    /// Sender address of the tenant's mail; default: the first of its inbound addresses.
    pub mail_from: Option<String>,
    /// Display name of the sender (default: the tenant's name).
    pub mail_from_name: Option<String>,
    /// Subject of the receipt for a new e-mail ticket. Placeholders: `{nummer}`, `{betreff}`,
    /// `{frist}`, `{behoerde}`.
    pub receipt_subject: String,
    /// Text of the receipt, same placeholders.
    pub receipt_body: String,
    /// Signature under every reply to a citizen (placeholder `{behoerde}`, `{nummer}`).
    pub reply_signature: String,
    /// Where escalation notices go by mail, besides the in-app notification.
    pub escalation_mail_to: Option<String>,
    /// Delivery attempts before an outbound mail counts as failed.
    pub outbox_max_attempts: u32,
    /// Service hours (of this tenant's calendar) a forward to this tenant may wait for
    /// acceptance; past it, this tenant's admins and the forwarding tenant are told (1–240).
    pub forward_accept_hours: u32,
    /// What happens to a forward to this tenant that was not accepted in time: `notify` (the
    /// notices only) or `return` (also sent back to the forwarding tenant, reason
    /// "nicht rechtzeitig angenommen"; the deadline stays).
    pub forward_unaccepted: ForwardUnaccepted,
    /// Who of this tenant is told when a ticket it holds, or forwarded, is at risk.
    pub escalation_at_risk: Vec<EscalationTarget>,
    /// Who of this tenant is told when a ticket it holds, or forwarded, is overdue.
    pub escalation_overdue: Vec<EscalationTarget>,
    /// Whether escalation notices to this tenant wait outside its service hours until the next
    /// opening (default true).
    pub escalation_quiet_hours: bool,
}

/// Who an escalation notice goes to.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum EscalationTarget {
    /// The assignee (for a tenant that forwarded the ticket: the agent who forwarded it), in
    /// the app and by mail; the queue when there is nobody.
    Assignee,
    /// The queue the ticket lies in (for a tenant that forwarded it: its front office), in the
    /// app.
    Queue,
    /// The tenant's admins, in the app.
    Admins,
    /// The tenant's escalation address (`escalation_mail_to`), by mail.
    EscalationAddress,
}

/// What becomes of a forward that was not accepted in time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ForwardUnaccepted {
    /// Only the notices.
    #[default]
    Notify,
    /// The notices, and the ticket goes back to the forwarding tenant.
    Return,
}

/// The reason recorded on a forward returned because nobody accepted it in time.
pub const UNACCEPTED_RETURN_REASON: &str = "nicht rechtzeitig angenommen";

pub const DEFAULT_RECEIPT_SUBJECT: &str = "Eingangsbestätigung: {betreff} [{nummer}]";
pub const DEFAULT_RECEIPT_BODY: &str = "Guten Tag,\n\n\
vielen Dank für Ihre Nachricht. Wir haben Ihr Anliegen unter der Vorgangsnummer {nummer} \
erfasst und antworten Ihnen bis spätestens {frist}.\n\n\
Bitte lassen Sie die Vorgangsnummer im Betreff stehen, wenn Sie uns dazu erneut schreiben.\n\n\
Mit freundlichen Grüßen\n\
Ihr Bürgerservice {behoerde}\n\n\
Diese Nachricht wurde automatisch erstellt.";
pub const DEFAULT_REPLY_SIGNATURE: &str = "Mit freundlichen Grüßen\n\
Ihr Bürgerservice {behoerde}\n\n\
Vorgangsnummer: {nummer} – bitte bei Rückfragen im Betreff angeben.";

impl Default for TenantSettings {
    fn default() -> Self {
        Self {
            service_day_hours: 10,
            at_risk_hours: 2,
            callback_max_attempts: 3,
            receipts_per_sender_per_hour: 5,
            max_attachment_bytes: 10 * 1024 * 1024,
            max_attachments_per_mail: 100,
            max_mail_body_chars: 20_000,
            anonymize_after_days: 30,
            service_hours: crate::calendar::WeeklyHours::default(),
            closing_days: Vec::new(),
            mail_from: None,
            mail_from_name: None,
            receipt_subject: DEFAULT_RECEIPT_SUBJECT.to_owned(),
            receipt_body: DEFAULT_RECEIPT_BODY.to_owned(),
            reply_signature: DEFAULT_REPLY_SIGNATURE.to_owned(),
            escalation_mail_to: None,
            outbox_max_attempts: 8,
            forward_accept_hours: 2,
            forward_unaccepted: ForwardUnaccepted::Notify,
            escalation_at_risk: vec![
                EscalationTarget::Assignee,
                EscalationTarget::EscalationAddress,
            ],
            escalation_overdue: vec![
                EscalationTarget::Assignee,
                EscalationTarget::Admins,
                EscalationTarget::EscalationAddress,
            ],
            escalation_quiet_hours: true,
        }
    }
}

impl TenantSettings {
    pub fn validate(&self) -> Result<(), crate::Error> {
        use crate::Error;
        if !(1..=24).contains(&self.service_day_hours) {
            return Err(Error::invalid(
                "settings.service_day_hours",
                "must be 1..=24",
            ));
        }
        if self.at_risk_hours > 24 {
            return Err(Error::invalid("settings.at_risk_hours", "must be 0..=24"));
        }
        if !(1..=20).contains(&self.callback_max_attempts) {
            return Err(Error::invalid(
                "settings.callback_max_attempts",
                "must be 1..=20",
            ));
        }
        if self.receipts_per_sender_per_hour > 1000 {
            return Err(Error::invalid(
                "settings.receipts_per_sender_per_hour",
                "must be 0..=1000",
            ));
        }
        if self.max_attachment_bytes > 100 * 1024 * 1024 {
            return Err(Error::invalid(
                "settings.max_attachment_bytes",
                "must be at most 100 MiB",
            ));
        }
        if !(1..=1000).contains(&self.max_attachments_per_mail) {
            return Err(Error::invalid(
                "settings.max_attachments_per_mail",
                "must be 1..=1000",
            ));
        }
        // A ticket's question holds at most 20,000 characters.
        if !(1_000..=20_000).contains(&self.max_mail_body_chars) {
            return Err(Error::invalid(
                "settings.max_mail_body_chars",
                "must be 1000..=20000",
            ));
        }
        if !(1..=3650).contains(&self.anonymize_after_days) {
            return Err(Error::invalid(
                "settings.anonymize_after_days",
                "must be 1..=3650",
            ));
        }
        self.service_hours
            .validate()
            .map_err(|e| Error::invalid("settings.service_hours", e.to_string()))?;
        if self.service_hours.is_always_closed() {
            return Err(Error::invalid(
                "settings.service_hours",
                "must have service hours on at least one day",
            ));
        }
        if self.closing_days.len() > 366 {
            return Err(Error::invalid("settings.closing_days", "at most 366 days"));
        }
        for (i, day) in self.closing_days.iter().enumerate() {
            crate::text::check_date(&format!("settings.closing_days[{i}]"), *day)?;
        }
        for (field, value) in [
            ("settings.mail_from", &self.mail_from),
            ("settings.escalation_mail_to", &self.escalation_mail_to),
        ] {
            if let Some(v) = value {
                crate::domain::EmailAddress::parse(field, v)?;
            }
        }
        for (field, value, max) in [
            ("settings.receipt_subject", &self.receipt_subject, 300),
            ("settings.receipt_body", &self.receipt_body, 10_000),
            ("settings.reply_signature", &self.reply_signature, 2_000),
        ] {
            if value.trim().is_empty() || value.chars().count() > max {
                return Err(Error::invalid(
                    field,
                    format!("must have 1-{max} characters"),
                ));
            }
        }
        if self.receipt_subject.contains(['\r', '\n']) {
            return Err(Error::invalid(
                "settings.receipt_subject",
                "must be a single line",
            ));
        }
        if let Some(n) = &self.mail_from_name
            && (n.chars().count() > 200 || n.contains(['\r', '\n']))
        {
            return Err(Error::invalid(
                "settings.mail_from_name",
                "must be one line of at most 200 characters",
            ));
        }
        if !(1..=50).contains(&self.outbox_max_attempts) {
            return Err(Error::invalid(
                "settings.outbox_max_attempts",
                "must be 1..=50",
            ));
        }
        if !(1..=240).contains(&self.forward_accept_hours) {
            return Err(Error::invalid(
                "settings.forward_accept_hours",
                "must be 1..=240",
            ));
        }
        for (field, targets) in [
            ("settings.escalation_at_risk", &self.escalation_at_risk),
            ("settings.escalation_overdue", &self.escalation_overdue),
        ] {
            let mut seen = targets.clone();
            seen.sort();
            seen.dedup();
            if seen.len() != targets.len() {
                return Err(Error::invalid(field, "names a recipient twice"));
            }
        }
        Ok(())
    }

    /// Reads stored settings, falling back to defaults for a damaged value. It reads the value
    /// in place (no copy of it first): every ticket creation reads its tenant's settings.
    pub fn from_json(value: &serde_json::Value) -> Self {
        Self::deserialize(value).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_missing_keys_and_unknown_keys_are_refused() {
        let s: TenantSettings =
            serde_json::from_value(serde_json::json!({"at_risk_hours": 3})).unwrap_or_default();
        assert_eq!(s.at_risk_hours, 3);
        assert_eq!(s.service_day_hours, 10);
        assert!(serde_json::from_value::<TenantSettings>(serde_json::json!({"nope": 1})).is_err());
        assert!(TenantSettings::default().validate().is_ok());
        let bad = TenantSettings {
            service_day_hours: 0,
            ..Default::default()
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn escalation_settings_parse_and_validate() {
        let d = TenantSettings::default();
        assert_eq!(d.forward_accept_hours, 2);
        assert_eq!(d.forward_unaccepted, ForwardUnaccepted::Notify);
        assert!(d.escalation_quiet_hours);
        let s: TenantSettings = serde_json::from_value(serde_json::json!({
            "forward_accept_hours": 4,
            "forward_unaccepted": "return",
            "escalation_at_risk": ["queue"],
            "escalation_overdue": ["admins", "escalation_address"],
        }))
        .unwrap_or_default();
        assert_eq!(s.forward_accept_hours, 4);
        assert_eq!(s.forward_unaccepted, ForwardUnaccepted::Return);
        assert_eq!(s.escalation_at_risk, [EscalationTarget::Queue]);
        assert!(s.validate().is_ok());
        for bad in [
            serde_json::json!({"forward_unaccepted": "ignore"}),
            serde_json::json!({"escalation_at_risk": ["boss"]}),
            serde_json::json!({"forward_accept_hours": -1}),
        ] {
            assert!(serde_json::from_value::<TenantSettings>(bad).is_err());
        }
        for bad in [
            TenantSettings {
                forward_accept_hours: 0,
                ..Default::default()
            },
            TenantSettings {
                forward_accept_hours: 241,
                ..Default::default()
            },
            TenantSettings {
                escalation_overdue: vec![EscalationTarget::Admins, EscalationTarget::Admins],
                ..Default::default()
            },
        ] {
            assert!(bad.validate().is_err());
        }
    }
}
