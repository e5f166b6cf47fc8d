//! Pages of the ticket detail and the mail desk that have a route of their own: the
//! confirmation step before a ticket is anonymised. (Registered by [`routes`], one line in
//! `lib.rs`.) The action itself is `POST /vorgaenge/{id}/anonymisieren` in
//! [`super::ticket::action`], which calls the API's domain function
//! (`verbund_ticketing::privacy::anonymize_on_request`: tenant admins of the holding tenant).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use verbund_ticketing::tickets::{self, TicketView};

use super::{Chrome, domain_error, html};
use crate::WebState;
use crate::session::{Session, to_login};

/// The routes of this module, mounted inside the UI's scope.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/vorgaenge/{id}/anonymisieren", web::get().to(confirm));
}

#[derive(Template)]
#[template(path = "ticket_anonymize.html")]
struct ConfirmPage<'a> {
    c: Chrome,
    t: TicketView,
    grund: &'a str,
    error: Option<&'a str>,
}

/// `GET /vorgaenge/{id}/anonymisieren`: what anonymising removes, a reason, and the final
/// button. Only for users who may (the domain's rule: `ManageTenant` on the holding tenant);
/// others get the 403 page the action would give, before they type anything.
pub async fn confirm(
    req: HttpRequest,
    state: web::Data<WebState>,
    path: web::Path<String>,
) -> HttpResponse {
    let s = match Session::load(&req, &state).await {
        Ok(s) => s,
        Err(why) => return to_login(&req, why),
    };
    confirm_page(&req, &state, &s, &path, "", None, StatusCode::OK).await
}

/// Whether the anonymise link and page are offered: the domain's rule for
/// `anonymize_on_request` (`ManageTenant` on the tenant holding the ticket), which decides
/// again when the action is posted.
pub(crate) fn may_anonymize(s: &Session, t: &TicketView) -> bool {
    s.actor.is_operator()
        || s.actor
            .tenant(&t.tenant)
            .is_some_and(|x| s.actor.may(verbund_tenant::Permission::ManageTenant, x.id))
}

/// Renders the confirmation page (also again after a refused reason).
pub(crate) async fn confirm_page(
    req: &HttpRequest,
    state: &WebState,
    s: &Session,
    key: &str,
    grund: &str,
    error: Option<&str>,
    status: StatusCode,
) -> HttpResponse {
    let loaded = async {
        let id = tickets::resolve(&state.db, key).await?;
        tickets::get_ticket(&state.db, &s.actor, id).await
    }
    .await;
    let t = match loaded {
        Ok(t) => t,
        Err(e) => return domain_error(req, s, &e),
    };
    if !may_anonymize(s, &t) {
        return domain_error(
            req,
            s,
            &verbund_tenant::Error::Forbidden("only the tenant's admins anonymise a ticket"),
        );
    }
    let page = ConfirmPage {
        c: Chrome::new(
            req,
            Some(s),
            &format!("Vorgang {} anonymisieren", t.number),
            "queue",
        ),
        t,
        grund,
        error,
    };
    s.finish(req, html(status, &page))
}
