//! Loop protection: recognising mail that a machine sent, so that it gets no automatic receipt.

use serde::Serialize;

/// Why a mail counts as sent by a machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoReason {
    /// `Auto-Submitted` with any value but `no` (RFC 3834).
    AutoSubmitted,
    /// `Precedence: bulk`, `junk` or `list`.
    Precedence,
    /// A `List-Id` header: mailing-list traffic.
    ListId,
    /// `X-Autoreply`, `X-Autorespond`, `X-Autoresponse`, or Exchange's
    /// `X-Auto-Response-Suppress` with `All`, `OOF` or `AutoReply`.
    XAutoreply,
    /// `Return-Path: <>`: the null sender of bounces and many auto-replies.
    EmptyReturnPath,
    /// The sender's local part is `mailer-daemon` or `postmaster`.
    MailerDaemon,
    /// A `List-Unsubscribe` header: newsletters and other bulk mail.
    ListUnsubscribe,
    /// The sender says it reads no answers: `noreply@`, `no-reply@`, `donotreply@`, ….
    NoReplySender,
}

impl AutoReason {
    /// A stable snake_case name, e.g. for storage and logs.
    pub fn as_str(&self) -> &'static str {
        match self {
            AutoReason::AutoSubmitted => "auto_submitted",
            AutoReason::Precedence => "precedence",
            AutoReason::ListId => "list_id",
            AutoReason::XAutoreply => "x_autoreply",
            AutoReason::EmptyReturnPath => "empty_return_path",
            AutoReason::MailerDaemon => "mailer_daemon",
            AutoReason::ListUnsubscribe => "list_unsubscribe",
            AutoReason::NoReplySender => "no_reply_sender",
        }
    }
}

impl std::fmt::Display for AutoReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Decides from the top-level headers (lower-case name, unfolded value) and the sender
/// addresses whether a machine sent the mail. The first reason in declaration order wins.
pub fn detect(
    headers: &[(String, String)],
    return_path: Option<&str>,
    senders: &[&str],
) -> Option<AutoReason> {
    fn values<'a>(
        headers: &'a [(String, String)],
        name: &'a str,
    ) -> impl Iterator<Item = &'a str> + 'a {
        headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.trim())
    }

    if values(headers, "auto-submitted").any(|v| {
        let keyword = v.split(';').next().unwrap_or("").trim();
        !keyword.eq_ignore_ascii_case("no")
    }) {
        return Some(AutoReason::AutoSubmitted);
    }
    if values(headers, "precedence").any(|v| {
        let v = v.to_ascii_lowercase();
        matches!(v.as_str(), "bulk" | "junk" | "list")
    }) {
        return Some(AutoReason::Precedence);
    }
    if values(headers, "list-id").next().is_some() {
        return Some(AutoReason::ListId);
    }
    if values(headers, "x-autoreply")
        .chain(values(headers, "x-autorespond"))
        .chain(values(headers, "x-autoresponse"))
        .next()
        .is_some()
        || values(headers, "x-auto-response-suppress").any(|v| {
            v.split([',', ' ', '\t', ';']).map(str::trim).any(|t| {
                t.eq_ignore_ascii_case("all")
                    || t.eq_ignore_ascii_case("oof")
                    || t.eq_ignore_ascii_case("autoreply")
            })
        })
    {
        return Some(AutoReason::XAutoreply);
    }
    if return_path == Some("") {
        return Some(AutoReason::EmptyReturnPath);
    }
    if senders.iter().any(|a| is_daemon_address(a)) {
        return Some(AutoReason::MailerDaemon);
    }
    if values(headers, "list-unsubscribe").next().is_some() {
        return Some(AutoReason::ListUnsubscribe);
    }
    if senders.iter().any(|a| is_noreply_address(a)) {
        return Some(AutoReason::NoReplySender);
    }
    None
}

/// `noreply@`, `no-reply@`, `no_reply@`, `donotreply@`, `do-not-reply@`, `nicht-antworten@`,
/// also with a suffix (`noreply-billing@`, `no-reply+x@`), compared case-insensitively.
pub fn is_noreply_address(address: &str) -> bool {
    let local = address.rsplit_once('@').map_or(address, |(l, _)| l);
    let squeezed: String = local
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | '.'))
        .collect::<String>()
        .to_lowercase();
    ["noreply", "donotreply", "nichtantworten", "keineantwort"]
        .iter()
        .any(|p| squeezed.starts_with(p))
}

/// `MAILER-DAEMON@…` or `postmaster@…`, compared case-insensitively.
pub fn is_daemon_address(address: &str) -> bool {
    let local = address.rsplit_once('@').map_or(address, |(l, _)| l).trim();
    local.eq_ignore_ascii_case("mailer-daemon") || local.eq_ignore_ascii_case("postmaster")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn each_reason() {
        type Case<'a> = (&'a [(&'a str, &'a str)], Option<AutoReason>);
        let cases: [Case<'_>; 12] = [
            (
                &[("auto-submitted", "auto-replied")],
                Some(AutoReason::AutoSubmitted),
            ),
            (
                &[("auto-submitted", "Auto-Generated; owner-email=x@y")],
                Some(AutoReason::AutoSubmitted),
            ),
            (&[("auto-submitted", "No")], None),
            (&[("auto-submitted", "no ; comment")], None),
            (&[("precedence", "Bulk")], Some(AutoReason::Precedence)),
            (&[("precedence", "list")], Some(AutoReason::Precedence)),
            (&[("precedence", "first-class")], None),
            (
                &[("list-id", "Newsletter <news.example>")],
                Some(AutoReason::ListId),
            ),
            (&[("x-autoreply", "yes")], Some(AutoReason::XAutoreply)),
            (&[("x-autorespond", "")], Some(AutoReason::XAutoreply)),
            (
                &[("x-auto-response-suppress", "DR, RN, NRN, OOF, AutoReply")],
                Some(AutoReason::XAutoreply),
            ),
            (&[("x-auto-response-suppress", "DR, RN")], None),
        ];
        for (headers, expected) in cases {
            assert_eq!(
                detect(&h(headers), Some("anna@web.example"), &["anna@web.example"]),
                expected,
                "{headers:?}"
            );
        }
    }

    #[test]
    fn envelope_and_sender() {
        assert_eq!(
            detect(&[], Some(""), &["anna@web.example"]),
            Some(AutoReason::EmptyReturnPath)
        );
        assert_eq!(
            detect(&[], None, &["MAILER-DAEMON@mx.web.example"]),
            Some(AutoReason::MailerDaemon)
        );
        assert_eq!(
            detect(&[], None, &["PostMaster@gmx.example"]),
            Some(AutoReason::MailerDaemon)
        );
        assert_eq!(detect(&[], None, &["postmaster.anna@gmx.example"]), None);
        for a in [
            "noreply@amt.example",
            "no-reply@amt.example",
            "No_Reply@amt.example",
            "donotreply@shop.example",
            "do-not-reply@shop.example",
            "noreply-rechnung@shop.example",
            "nicht-antworten@stadt.example",
        ] {
            assert_eq!(
                detect(&[], Some(a), &[a]),
                Some(AutoReason::NoReplySender),
                "{a}"
            );
        }
        assert_eq!(detect(&[], None, &["norbert@web.example"]), None);
        assert_eq!(detect(&[], None, &["reply@web.example"]), None);
        assert_eq!(
            detect(
                &h(&[("list-unsubscribe", "<mailto:leave@news.example>")]),
                None,
                &["info@news.example"]
            ),
            Some(AutoReason::ListUnsubscribe)
        );
        assert_eq!(detect(&[], None, &[]), None);
        // Declaration order decides when several apply.
        assert_eq!(
            detect(
                &h(&[("precedence", "bulk"), ("auto-submitted", "auto-generated")]),
                Some(""),
                &[]
            ),
            Some(AutoReason::AutoSubmitted)
        );
    }

    #[test]
    fn names_are_stable() {
        assert_eq!(AutoReason::XAutoreply.as_str(), "x_autoreply");
        assert_eq!(AutoReason::EmptyReturnPath.to_string(), "empty_return_path");
    }
}
