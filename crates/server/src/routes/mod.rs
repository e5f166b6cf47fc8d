//! HTTP routes. Handlers parse, call one domain function with the actor, and render.
//!
//! Each operation is declared once: its method and path live only in the handler's
//! `#[utoipa::path]` annotation. [`operations`] lists the handlers, in the order actix tries
//! them; the router ([`configure`]) and the OpenAPI document ([`crate::openapi`]) are both
//! built from that list, so a route cannot be served undocumented or documented unserved
//! (`routes::tests` checks both directions).

pub mod audit;
pub mod auth;
pub mod calendar;
pub mod centers;
pub mod contacts;
pub mod health;
pub mod knowledge;
pub mod mail;
pub mod me;
pub mod operations;
pub mod org_units;
pub mod search;
pub mod tenants;
pub mod tickets;
pub mod users;
pub mod verbund;

use actix_web::http::Method;
use actix_web::{Resource, Route, web};
use utoipa::openapi::path::PathItem;

/// The prefix of the JSON API; its routes are mounted in one actix scope.
const API_PREFIX: &str = "/api/v1";

/// One documented operation and the handler that serves it.
pub struct Operation {
    /// The handler's OpenAPI fragment: its path, method(s) and the schemas it names.
    doc: utoipa::openapi::OpenApi,
    /// A route to the handler (without a method guard).
    route: fn() -> Route,
    /// Resource-level settings, e.g. a larger payload limit for one upload.
    tweak: Option<Box<dyn Fn(Resource) -> Resource>>,
}

/// `operation!(module::handler)`: the handler's OpenAPI fragment (from its `#[utoipa::path]`)
/// and a route to it; `operation!(module::handler, |resource| …)` also adjusts its resource.
macro_rules! operation {
    ($($seg:ident)::+ $(, $tweak:expr)?) => {{
        #[derive(utoipa::OpenApi)]
        #[openapi(paths($($seg)::+))]
        struct Fragment;
        #[allow(unused_mut, unused_assignments)]
        let mut tweak: Option<Box<dyn Fn(Resource) -> Resource>> = None;
        $(tweak = Some(Box::new($tweak));)?
        Operation {
            doc: <Fragment as utoipa::OpenApi>::openapi(),
            route: || web::to($($seg)::+),
            tweak,
        }
    }};
}

/// Every operation of the API, in matching order: actix tries resources in the order they are
/// registered, and each `{…}` pattern is a regular expression to run, so the busiest fixed
/// paths come before the patterns.
pub fn operations(max_inbound_bytes: usize) -> Vec<Operation> {
    vec![
        operation!(health::healthz),
        operation!(health::readyz),
        operation!(crate::openapi::serve),
        operation!(auth::login),
        operation!(auth::logout),
        operation!(auth::refresh),
        operation!(me::me),
        operation!(search::search),
        operation!(tickets::list),
        operation!(contacts::create),
        operation!(tenants::list),
        operation!(tenants::create),
        // The busiest pattern first: a ticket's creation and the tenant queue. Each pattern
        // tried before a request's own costs a regular expression, twice (the router and the
        // request span's route name), which was a fifth of a ticket creation's work. No other
        // pattern matches these paths, so the order changes no answer.
        operation!(tickets::list_for_tenant),
        operation!(tickets::create),
        operation!(tenants::get),
        operation!(tenants::update),
        operation!(tenants::list_mail_domains),
        operation!(tenants::add_mail_domain),
        operation!(tenants::remove_mail_domain),
        operation!(users::list),
        operation!(users::create),
        operation!(users::get),
        operation!(users::update),
        operation!(calendar::due),
        operation!(operations::list_coverages),
        operation!(operations::create_coverage),
        operation!(operations::revoke_coverage),
        operation!(operations::tenant_report),
        operation!(operations::center_report),
        operation!(operations::list_templates),
        operation!(operations::create_template),
        operation!(operations::update_template),
        operation!(operations::delete_template),
        operation!(operations::access_log),
        operation!(operations::list_notifications),
        operation!(operations::read_notification),
        operation!(operations::anonymize),
        operation!(tickets::get),
        operation!(tickets::update),
        operation!(tickets::notes),
        operation!(tickets::add_note),
        operation!(tickets::call_attempt),
        operation!(tickets::history),
        operation!(tickets::forward),
        operation!(tickets::accept),
        operation!(tickets::add_message),
        operation!(tickets::close),
        operation!(tickets::return_ticket),
        operation!(tickets::forward_targets),
        operation!(tickets::last_change),
        operation!(centers::list),
        operation!(centers::create),
        operation!(centers::get),
        operation!(centers::tenants),
        operation!(centers::set_tenants),
        // Knowledge.
        operation!(knowledge::list),
        operation!(knowledge::create),
        operation!(knowledge::get),
        operation!(knowledge::update),
        operation!(knowledge::publish),
        operation!(knowledge::archive),
        operation!(knowledge::review_base),
        operation!(knowledge::versions),
        operation!(knowledge::compare),
        operation!(knowledge::import, |r: Resource| r.app_data(
            web::PayloadConfig::new(verbund_knowledge::store::MAX_IMPORT_BYTES)
        )),
        operation!(knowledge::export),
        operation!(org_units::list),
        operation!(org_units::create),
        operation!(org_units::get),
        operation!(org_units::update),
        operation!(org_units::opening),
        operation!(knowledge::catalog_list),
        operation!(knowledge::catalog_create),
        operation!(knowledge::catalog_get),
        operation!(knowledge::catalog_update),
        // Mail.
        operation!(mail::inbound_raw, move |r: Resource| r
            .app_data(web::PayloadConfig::new(max_inbound_bytes))),
        operation!(mail::inbound_list),
        operation!(mail::inbound_raw_get),
        operation!(mail::inbound_assign),
        operation!(mail::outbox_list),
        operation!(mail::outbox_retry),
        operation!(mail::mailbox_list),
        operation!(mail::mailbox_create),
        operation!(mail::mailbox_update),
        operation!(mail::mailbox_delete),
        operation!(mail::ticket_mails),
        operation!(mail::attachment),
        operation!(verbund::forwards),
        operation!(verbund::forwards_at_risk),
        operation!(audit::audit_log),
        operation!(mail::mailbox_test),
    ]
}

/// The methods an OpenAPI path item documents.
fn methods(item: &PathItem) -> Vec<Method> {
    [
        (item.get.is_some(), Method::GET),
        (item.put.is_some(), Method::PUT),
        (item.post.is_some(), Method::POST),
        (item.delete.is_some(), Method::DELETE),
        (item.options.is_some(), Method::OPTIONS),
        (item.head.is_some(), Method::HEAD),
        (item.patch.is_some(), Method::PATCH),
        (item.trace.is_some(), Method::TRACE),
    ]
    .into_iter()
    .filter_map(|(present, m)| present.then_some(m))
    .collect()
}

/// One resource: a path with the routes of all its methods, so a method the path does not
/// have gets 405 from actix.
struct Entry {
    path: String,
    routes: Vec<(Method, Route)>,
    tweaks: Vec<Box<dyn Fn(Resource) -> Resource>>,
}

/// Groups the operations by path, in order of first appearance.
fn table(ops: Vec<Operation>) -> Vec<Entry> {
    let mut entries: Vec<Entry> = Vec::new();
    for op in ops {
        for (path, item) in &op.doc.paths.paths {
            let at = match entries.iter().position(|e| &e.path == path) {
                Some(at) => at,
                None => {
                    entries.push(Entry {
                        path: path.clone(),
                        routes: Vec::new(),
                        tweaks: Vec::new(),
                    });
                    entries.len() - 1
                }
            };
            let entry = &mut entries[at];
            for method in methods(item) {
                entry
                    .routes
                    .push((method.clone(), (op.route)().method(method)));
            }
        }
        if let (Some(tweak), Some(path)) = (op.tweak, op.doc.paths.paths.keys().next())
            && let Some(entry) = entries.iter_mut().find(|e| &e.path == path)
        {
            entry.tweaks.push(tweak);
        }
    }
    entries
}

fn resource(path: &str, entry: Entry) -> Resource {
    let mut resource = web::resource(path);
    for tweak in entry.tweaks {
        resource = tweak(resource);
    }
    for (_, route) in entry.routes {
        resource = resource.route(route);
    }
    resource
}

/// Mounts every operation of [`operations`]: the API under one `/api/v1` scope, the rest
/// (health checks) at the root.
pub fn configure(cfg: &mut web::ServiceConfig, max_inbound_bytes: usize) {
    let mut api = web::scope(API_PREFIX);
    for entry in table(operations(max_inbound_bytes)) {
        let path = entry.path.clone();
        match path.strip_prefix(API_PREFIX) {
            Some(rest) if rest.starts_with('/') => api = api.service(resource(rest, entry)),
            _ => {
                cfg.service(resource(&path, entry));
            }
        }
    }
    cfg.service(api);
}

/// The paths of the OpenAPI document: the fragments of all operations, merged.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = utoipa::openapi::OpenApiBuilder::new().build();
    for op in operations(0) {
        doc.merge(op.doc);
    }
    doc
}

/// The (path, method) pairs the router serves, as [`configure`] registers them.
pub fn registered() -> Vec<(String, Method)> {
    table(operations(0))
        .into_iter()
        .flat_map(|e| {
            let path = e.path;
            e.routes.into_iter().map(move |(m, _)| (path.clone(), m))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use actix_web::App;
    use actix_web::test as http;
    use utoipa::OpenApi;

    use super::*;

    /// The (path, method) pairs of the served OpenAPI document.
    fn documented() -> BTreeSet<(String, String)> {
        crate::openapi::ApiDoc::openapi()
            .paths
            .paths
            .iter()
            .flat_map(|(path, item)| {
                methods(item)
                    .into_iter()
                    .map(|m| (path.clone(), m.to_string()))
            })
            .collect()
    }

    /// `/api/v1/tickets/{id}/notes` → `/api/v1/tickets/00000000-…/notes`: a value every path
    /// parameter type accepts.
    fn placeholder_url(path: &str) -> String {
        let mut url = String::new();
        let mut in_param = false;
        for c in path.chars() {
            match c {
                '{' => in_param = true,
                '}' => {
                    in_param = false;
                    url.push_str("00000000-0000-0000-0000-000000000000");
                }
                c if !in_param => url.push(c),
                _ => {}
            }
        }
        url
    }

    #[test]
    fn every_registered_route_is_documented_and_every_documented_operation_is_registered() {
        let registered: Vec<(String, String)> = registered()
            .into_iter()
            .map(|(p, m)| (p, m.to_string()))
            .collect();
        let unique: BTreeSet<(String, String)> = registered.iter().cloned().collect();
        assert_eq!(
            unique.len(),
            registered.len(),
            "a path and method are registered twice: {registered:?}"
        );
        let documented = documented();
        let undocumented: Vec<_> = unique.difference(&documented).collect();
        assert!(
            undocumented.is_empty(),
            "routed, not documented: {undocumented:?}"
        );
        let unrouted: Vec<_> = documented.difference(&unique).collect();
        assert!(unrouted.is_empty(), "documented, not routed: {unrouted:?}");
        assert!(documented.len() > 80, "{}", documented.len());
    }

    /// Asks the real router: each documented operation reaches the resource of exactly its
    /// documented path (same pattern, same parameter names), and a method a path does not
    /// document gets 405 from that resource rather than another handler.
    #[actix_web::test]
    async fn the_router_serves_each_documented_operation_at_its_documented_path() {
        let app = http::init_service(App::new().configure(|c| configure(c, 1024))).await;
        let documented = documented();
        for (path, method) in &documented {
            let req = http::TestRequest::default()
                .method(Method::from_bytes(method.as_bytes()).unwrap())
                .uri(&placeholder_url(path))
                .to_request();
            let resp = http::call_service(&app, req).await;
            assert_eq!(
                resp.request().match_pattern().as_deref(),
                Some(path.as_str()),
                "{method} {path}"
            );
            assert_ne!(resp.status(), 405, "{method} {path}");
        }
        let paths: BTreeSet<&String> = documented.iter().map(|(p, _)| p).collect();
        for path in paths {
            let req = http::TestRequest::default()
                .method(Method::TRACE)
                .uri(&placeholder_url(path))
                .to_request();
            let resp = http::call_service(&app, req).await;
            assert_eq!(resp.status(), 405, "TRACE {path}");
        }
    }
}
