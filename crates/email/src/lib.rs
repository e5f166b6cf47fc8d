//! The e-mail channel: inbound mail from IMAP mailboxes and the MTA, parsing, routing to
//! tenants, threading onto tickets, receipts with loop protection, and delivery of the
//! outbox over SMTP.

pub mod address;
pub mod delivery;
mod disposition;
pub mod imap;
pub mod ingest;
pub mod mailboxes;
pub mod parse;
pub mod queue;
pub mod repo;
pub mod subject;

/// `localhost` or a loopback IP literal (IPv6 with or without brackets): the only hosts that
/// plain, unencrypted IMAP or SMTP may talk to.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim().trim_end_matches('.');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let literal = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    literal
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}
