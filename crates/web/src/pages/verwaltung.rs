//! Administration of a tenant (tenant admins) and of the platform (operators): the navigation
//! by role, users and roles, the receipt template with its preview, the audit and access logs,
//! tenants and their mail domains.
//!
//! Like every page it calls the API's domain functions with the actor (`users::*`,
//! `directory::*`, `mail_domains::*`, `audit::list`, `privacy::access_log`): a tenant outside
//! the user's reach is a 404 page, a tenant the user sees without the needed role a 403 page,
//! and nothing changes. Bad input shows the form again with German errors next to the fields
//! (linked with `aria-describedby`) and stores nothing.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use verbund_tenant::directory::{self, NewTenant, TenantPatch, TenantView};
use verbund_tenant::mail_domains::{self, NewMailDomain};
use verbund_tenant::users::{self, NewUser, RoleSpec, UserPatch};
use verbund_tenant::{Permission, Role};

use super::admin::managed_tenant;
use super::{Chrome, domain_error, enc, html, see_other};
use crate::WebState;
use crate::format;
use crate::input::Query;
use crate::session::{Form, Session};

/// Registers the pages of this module (called once from [`crate::configure`]).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/verwaltung", web::get().to(index))
        .route("/verwaltung/{slug}/benutzer", web::get().to(users_page))
        .route("/verwaltung/{slug}/benutzer", web::post().to(create_user))
        .route(
            "/verwaltung/{slug}/benutzer/{id}/rolle",
            web::post().to(change_role),
        )
        .route(
            "/verwaltung/{slug}/benutzer/{id}/status",
            web::post().to(change_status),
        )
        .route(
            "/verwaltung/{slug}/eingangsbestaetigung",
            web::get().to(receipt_page_get),
        )
        .route(
            "/verwaltung/{slug}/eingangsbestaetigung",
            web::post().to(save_receipt),
        )
        .route("/verwaltung/{slug}/protokoll", web::get().to(audit_page))
        .route("/verwaltung/{slug}/zugriffe", web::get().to(access_page))
        .route(
            "/verwaltung/{slug}/postfaecher",
            web::get().to(mailboxes_page),
        )
        .route(
            "/verwaltung/{slug}/postfaecher",
            web::post().to(create_mailbox),
        )
        .route(
            "/verwaltung/{slug}/postfaecher/{id}/test",
            web::post().to(test_mailbox),
        )
        .route(
            "/verwaltung/{slug}/postfaecher/{id}/entfernen",
            web::post().to(delete_mailbox),
        )
        .route(
            "/verwaltung/{slug}/textbausteine",
            web::get().to(modules_page),
        )
        .route(
            "/verwaltung/{slug}/textbausteine",
            web::post().to(create_module),
        )
        .route(
            "/verwaltung/{slug}/textbausteine/{id}",
            web::post().to(update_module),
        )
        .route(
            "/verwaltung/{slug}/textbausteine/{id}/loeschen",
            web::post().to(delete_module),
        )
        .route(
            "/verwaltung/{slug}/vertretung",
            web::get().to(coverage_page),
        )
        .route(
            "/verwaltung/{slug}/vertretung",
            web::post().to(create_coverage),
        )
        .route(
            "/verwaltung/{slug}/vertretung/{id}/beenden",
            web::post().to(revoke_coverage),
        )
        .route("/betrieb/zentren", web::get().to(centers_page))
        .route("/betrieb/zentren", web::post().to(create_center))
        .route(
            "/betrieb/zentren/{slug}/mandanten",
            web::post().to(set_center_tenants),
        )
        .route("/betrieb/stammtexte", web::get().to(catalog_page))
        .route("/betrieb/stammtexte", web::post().to(create_base_text))
        .route("/betrieb/stammtexte/{id}", web::post().to(update_base_text))
        .route("/betrieb", web::get().to(operator_page))
        .route("/betrieb/mandanten", web::post().to(create_tenant))
        .route("/betrieb/mandanten/{slug}", web::get().to(tenant_page))
        .route(
            "/betrieb/mandanten/{slug}/domains",
            web::post().to(add_domain),
        )
        .route(
            "/betrieb/mandanten/{slug}/domains/{domain}/entfernen",
            web::post().to(remove_domain),
        );
}

// --- Navigation by role ---------------------------------------------------------------------

/// The main navigation's items the user may use, derived from the roles of the session.
#[derive(Clone, Debug, Default)]
pub struct Nav {
    pub desk: bool,
    pub queue: bool,
    pub mail: bool,
    pub editor: bool,
    pub admin: bool,
    pub reports: bool,
    pub operator: bool,
}

impl Nav {
    pub fn of(s: &Session) -> Self {
        let mut n = Nav::default();
        for g in s.actor.grants() {
            match g.role {
                Role::Agent => {
                    n.desk = true;
                    n.queue = true;
                }
                Role::Responder => {
                    n.mail = true;
                    n.queue = true;
                }
                Role::Editor => n.editor = true,
                Role::TenantAdmin => {
                    n.queue = true;
                    n.mail = true;
                    n.editor = true;
                    n.admin = true;
                    n.reports = true;
                }
                Role::Operator => {
                    n.operator = true;
                    n.reports = true;
                }
                Role::Coordinator => {}
            }
        }
        n
    }
}

/// One item of the administration's own navigation.
pub struct Tab {
    pub href: String,
    pub label: &'static str,
    pub current: bool,
}

/// The sub-navigation of a tenant's administration.
fn tenant_tabs(slug: &str, current: &str) -> Vec<Tab> {
    let s = enc(slug);
    [
        ("benutzer", "Benutzer und Rollen"),
        ("einstellungen", "Einstellungen"),
        ("eingangsbestaetigung", "Eingangsbestätigung"),
        ("postfaecher", "Postfächer"),
        ("textbausteine", "Textbausteine"),
        ("vertretung", "Vertretung"),
        ("protokoll", "Änderungsprotokoll"),
        ("zugriffe", "Zugriffsprotokoll"),
    ]
    .into_iter()
    .map(|(path, label)| Tab {
        href: format!("/verwaltung/{s}/{path}"),
        label,
        current: path == current,
    })
    .collect()
}

/// The tabs of the settings page (used by [`super::admin`]).
pub fn settings_tabs(slug: &str) -> Vec<Tab> {
    tenant_tabs(slug, "einstellungen")
}

/// The tenants the user administers.
fn managed_tenants(s: &Session) -> Vec<super::desk::Choice> {
    s.actor
        .profile()
        .tenants
        .iter()
        .filter(|t| s.actor.may(Permission::ManageTenant, t.id.into()))
        .map(|t| super::desk::Choice {
            slug: t.slug.clone(),
            name: t.name.clone(),
        })
        .collect()
}

/// Field errors of a form: (field, German message).
#[derive(Default)]
pub struct Errors(Vec<(String, String)>);

impl Errors {
    fn add(&mut self, field: &str, msg: impl Into<String>) {
        self.0.push((field.to_owned(), msg.into()));
    }
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
    pub fn any(&self) -> bool {
        !self.0.is_empty()
    }
}

#[derive(Template)]
#[template(path = "verwaltung_index.html")]
struct IndexPage {
    c: Chrome,
    tenants: Vec<super::desk::Choice>,
}

/// `GET /verwaltung`: the administered tenant's users, or a choice among several tenants.
pub async fn index(s: Session, req: HttpRequest) -> HttpResponse {
    let tenants = managed_tenants(&s);
    if tenants.is_empty() {
        if s.actor.is_operator() {
            return see_other(&s, &req, "/betrieb");
        }
        return domain_error(
            &req,
            &s,
            &verbund_tenant::Error::Forbidden("no tenant to administer"),
        );
    }
    if let [only] = tenants.as_slice() {
        return see_other(
            &s,
            &req,
            &format!("/verwaltung/{}/benutzer", enc(&only.slug)),
        );
    }
    let page = IndexPage {
        c: Chrome::new(&req, Some(&s), "Verwaltung", "admin"),
        tenants,
    };
    s.finish(&req, html(StatusCode::OK, &page))
}

// --- Users and roles ------------------------------------------------------------------------

/// A role the form offers: `editor` (in the tenant) or `agent@sc-koblenz` (in a center).
pub struct RoleChoice {
    pub value: String,
    pub label: String,
}

fn role_label(r: Role) -> &'static str {
    match r {
        Role::Operator => "Betrieb",
        Role::TenantAdmin => "Administration",
        Role::Editor => "Redaktion",
        Role::Agent => "Agent/in",
        Role::Responder => "E-Mail-Bearbeitung",
        Role::Coordinator => "Koordination",
    }
}

fn role_value(spec: &RoleSpec) -> String {
    match &spec.center {
        Some(c) => format!("{}@{c}", spec.role.as_str()),
        None => spec.role.as_str().to_owned(),
    }
}

fn role_text(spec: &RoleSpec, centers: &[(String, String)]) -> String {
    let label = role_label(spec.role);
    match (&spec.center, &spec.tenant) {
        (Some(c), _) => {
            let name = centers
                .iter()
                .find(|(s, _)| s == c)
                .map(|(_, n)| n.as_str())
                .unwrap_or(c);
            format!("{label} ({name})")
        }
        (None, Some(t)) => format!("{label} ({t})"),
        (None, None) => label.to_owned(),
    }
}

/// `editor` or `agent@sc-koblenz` → the role spec (scoped to the path's tenant when no
/// center is named).
fn parse_role(raw: &str) -> Option<RoleSpec> {
    let (role, center) = match raw.split_once('@') {
        Some((r, c)) if !c.is_empty() => (r, Some(c.to_owned())),
        Some(_) => return None,
        None => (raw, None),
    };
    let role = match role {
        "tenant_admin" => Role::TenantAdmin,
        "editor" => Role::Editor,
        "responder" => Role::Responder,
        "agent" => Role::Agent,
        _ => return None,
    };
    Some(RoleSpec {
        role,
        tenant: None,
        center,
    })
}

pub struct UserRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub roles: String,
    pub role_value: String,
    pub active: bool,
    pub is_me: bool,
    pub created: String,
}

#[derive(serde::Deserialize, Default, Clone)]
pub struct NewUserForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    passwort: String,
    #[serde(default)]
    rolle: String,
}

#[derive(serde::Deserialize, Default)]
pub struct Notice {
    #[serde(default)]
    ok: String,
}

#[derive(Template)]
#[template(path = "verwaltung_users.html")]
struct UsersPage {
    c: Chrome,
    tabs: Vec<Tab>,
    tenant_name: String,
    slug: String,
    users: Vec<UserRow>,
    roles: Vec<RoleChoice>,
    f: NewUserForm,
    errors: Errors,
    notice: Option<&'static str>,
}

impl UsersPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }
}

fn notice_text(code: &str) -> Option<&'static str> {
    match code {
        "angelegt" => Some("Das Benutzerkonto wurde angelegt."),
        "rolle" => Some("Die Rolle wurde geändert."),
        "deaktiviert" => Some("Das Benutzerkonto wurde deaktiviert. Seine Sitzungen sind beendet."),
        "aktiviert" => Some("Das Benutzerkonto wurde wieder aktiviert."),
        "gespeichert" => Some("Gespeichert."),
        "domain" => Some("Die Mail-Domain wurde zugeordnet."),
        "domain-entfernt" => Some("Die Mail-Domain wurde entfernt."),
        "mandant" => Some("Der Mandant wurde angelegt."),
        "postfach" => Some("Das Postfach wurde angelegt."),
        "baustein" => Some("Der Textbaustein wurde gespeichert."),
        "baustein-geloescht" => Some("Der Textbaustein wurde gelöscht."),
        "vertretung" => Some("Die Vertretung wurde eingerichtet."),
        "zentrum" => Some("Das Servicecenter wurde angelegt."),
        "zentrum-mandanten" => Some("Die betreuten Kommunen wurden gespeichert."),
        "stammtext" => Some("Der Stammtext wurde gespeichert."),
        "vertretung-beendet" => Some("Die Vertretung wurde beendet."),
        "postfach-entfernt" => Some("Das Postfach wurde entfernt."),
        _ => None,
    }
}

#[allow(clippy::too_many_arguments)]
async fn render_users(
    req: &HttpRequest,
    state: &WebState,
    s: &Session,
    t: &TenantView,
    f: NewUserForm,
    errors: Errors,
    notice: Option<&'static str>,
    status: StatusCode,
) -> HttpResponse {
    let scope = match users::tenant_scope(&state.db, &s.actor, &t.slug, Permission::ViewUsers).await
    {
        Ok(sc) => sc,
        Err(e) => return domain_error(req, s, &e),
    };
    let list = match users::list_users(&state.db, &scope).await {
        Ok(l) => l,
        Err(e) => return domain_error(req, s, &e),
    };
    let centers: Vec<(String, String)> = directory::list_centers(&state.db, &s.actor)
        .await
        .map(|cs| {
            cs.into_iter()
                .filter(|c| c.tenants.iter().any(|x| x.slug == t.slug))
                .map(|c| (c.slug, c.name))
                .collect()
        })
        .unwrap_or_default();
    let mut roles: Vec<RoleChoice> = [
        Role::TenantAdmin,
        Role::Editor,
        Role::Responder,
        Role::Agent,
    ]
    .into_iter()
    .map(|r| RoleChoice {
        value: r.as_str().to_owned(),
        label: role_label(r).to_owned(),
    })
    .collect();
    roles.extend(centers.iter().map(|(slug, name)| RoleChoice {
        value: format!("agent@{slug}"),
        label: format!("Agent/in im {name}"),
    }));
    let tz = format::zone(&t.time_zone);
    let users = list
        .into_iter()
        .map(|u| UserRow {
            id: u.id.to_string(),
            roles: if u.roles.is_empty() {
                "keine".into()
            } else {
                u.roles
                    .iter()
                    .map(|r| role_text(r, &centers))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            role_value: u
                .roles
                .iter()
                .find(|r| r.tenant.as_deref() == Some(t.slug.as_str()) || r.center.is_some())
                .map(role_value)
                .unwrap_or_default(),
            is_me: u.id == s.actor.user_id(),
            created: format::date(u.created_at, tz),
            name: u.display_name,
            email: u.email,
            active: u.active,
        })
        .collect();
    let page = UsersPage {
        c: Chrome::new(req, Some(s), "Benutzer und Rollen", "admin"),
        tabs: tenant_tabs(&t.slug, "benutzer"),
        tenant_name: t.name.clone(),
        slug: t.slug.clone(),
        users,
        roles,
        f,
        errors,
        notice,
    };
    s.finish(req, html(status, &page))
}

/// `GET /verwaltung/{slug}/benutzer`
pub async fn users_page(
    s: Session,
    req: HttpRequest,
    state: web::Data<WebState>,
    slug: web::Path<String>,
    q: Query<Notice>,
) -> HttpResponse {
    let t = match managed_tenant(&state, &s, &slug).await {
        Ok(t) => t,
        Err(e) => return domain_error(&req, &s, &e),
    };
    let f = NewUserForm {
        rolle: "agent".into(),
        ..Default::default()
    };
    render_users(
        &req,
        &state,
        &s,
        &t,
        f,
        Errors::default(),
        notice_text(&q.ok),
        StatusCode::OK,
    )
    .await
}

/// The German message for a field the domain refused.
fn german(field: &str, reason: &str) -> (String, String) {
    let (f, m) = match field {
        "email" => ("email", "Bitte geben Sie eine gültige E-Mail-Adresse ein."),
        "display_name" => (
            "name",
            "Bitte geben Sie einen Namen mit 1 bis 200 Zeichen ein.",
        ),
        "password" => (
            "passwort",
            "Das Passwort muss mindestens 12 Zeichen lang sein und darf nicht zu einfach sein.",
        ),
        "roles" | "role" => ("rolle", "Diese Rolle können Sie nicht vergeben."),
        _ => return (field.to_owned(), format!("Ungültige Eingabe ({reason}).")),
    };
    (f.to_owned(), m.to_owned())
}

/// `POST /verwaltung/{slug}/benutzer`: a new account of the tenant with one role.
pub async fn create_user(
    req: HttpRequest,
    state: web::Data<WebState>,
    slug: web::Path<String>,
    form: Form<NewUserForm>,
) -> HttpResponse {
    let Form {
        session: s,
        data: f,
    } = form;
    let t = match managed_tenant(&state, &s, &slug).await {
        Ok(t) => t,
        Err(e) => return domain_error(&req, &s, &e),
    };
    let mut errors = Errors::default();
    if f.name.trim().is_empty() {
        errors.add("name", "Bitte geben Sie den Namen ein.");
    }
    if !f.email.contains('@') || f.email.trim().len() < 3 {
        errors.add(
            "email",
            "Bitte geben Sie eine gültige E-Mail-Adresse ein, etwa name@stadt.de.",
        );
    }
    if f.passwort.chars().count() < 12 {
        errors.add(
            "passwort",
            "Das Passwort muss mindestens 12 Zeichen lang sein.",
        );
    }
    let role = parse_role(&f.rolle);
    if role.is_none() {
        errors.add("rolle", "Bitte wählen Sie eine Rolle.");
    }
    let Some(role) = role.filter(|_| !errors.any()) else {
        return render_users(
            &req,
            &state,
            &s,
            &t,
            f,
            errors,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let scope = match users::account_scope(&state.db, &s.actor, &t.slug).await {
        Ok(sc) => sc,
        Err(e) => return domain_error(&req, &s, &e),
    };
    let input = NewUser {
        email: f.email.trim().to_owned(),
        display_name: f.name.trim().to_owned(),
        password: f.passwort.clone(),
        roles: vec![role],
    };
    match users::create_user(&state.db, &scope, input).await {
        Ok(_) => see_other(
            &s,
            &req,
            &format!("/verwaltung/{}/benutzer?ok=angelegt", enc(&t.slug)),
        ),
        Err(verbund_tenant::Error::Invalid { field, reason }) => {
            let (field, msg) = german(&field, &reason);
            let mut errors = Errors::default();
            errors.add(&field, msg);
            let f = NewUserForm {
                passwort: String::new(),
                ..f
            };
            render_users(
                &req,
                &state,
                &s,
                &t,
                f,
                errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(verbund_tenant::Error::Conflict(verbund_tenant::ProblemKind::Duplicate, _)) => {
            let mut errors = Errors::default();
            errors.add(
                "email",
                "Ein Benutzerkonto mit dieser E-Mail-Adresse gibt es schon.",
            );
            let f = NewUserForm {
                passwort: String::new(),
                ..f
            };
            render_users(&req, &state, &s, &t, f, errors, None, StatusCode::CONFLICT).await
        }
        Err(e) => domain_error(&req, &s, &e),
    }
}

/// The administered tenant of the path and the account id of a user path
/// (`/verwaltung/{slug}/benutzer/{id}/…`); an id that is no UUID is a 404 like an unknown one.
async fn managed_user(
    state: &WebState,
    s: &Session,
    slug: &str,
    id: &str,
) -> Result<(TenantView, uuid::Uuid), verbund_tenant::Error> {
    let t = managed_tenant(state, s, slug).await?;
    let id = uuid::Uuid::parse_str(id).map_err(|_| verbund_tenant::Error::NotFound("user"))?;
    Ok((t, id))
}

#[derive(serde::Deserialize, Default)]
pub struct RoleForm {
    #[serde(default)]
    rolle: String,
}

/// `POST /verwaltung/{slug}/benutzer/{id}/rolle`: replaces the account's roles in this tenant.
pub async fn change_role(
    req: HttpRequest,
    state: web::Data<WebState>,
    path: web::Path<(String, String)>,
    form: Form<RoleForm>,
) -> HttpResponse {
    let Form {
        session: s,
        data: f,
    } = form;
    let (slug, id) = path.into_inner();
    let (t, id) = match managed_user(&state, &s, &slug, &id).await {
        Ok(found) => found,
        Err(e) => return domain_error(&req, &s, &e),
    };
    let Some(role) = parse_role(&f.rolle) else {
        let mut errors = Errors::default();
        errors.add("rolle", "Bitte wählen Sie eine der angebotenen Rollen.");
        return render_users(
            &req,
            &state,
            &s,
            &t,
            NewUserForm::default(),
            errors,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let patch = UserPatch {
        roles: Some(vec![role]),
        ..UserPatch::default()
    };
    update(&req, &state, &s, &t, id, patch, "rolle").await
}

#[derive(serde::Deserialize, Default)]
pub struct StatusForm {
    #[serde(default)]
    aktiv: String,
}

/// `POST /verwaltung/{slug}/benutzer/{id}/status`: deactivates (`aktiv=0`) or reactivates.
pub async fn change_status(
    req: HttpRequest,
    state: web::Data<WebState>,
    path: web::Path<(String, String)>,
    form: Form<StatusForm>,
) -> HttpResponse {
    let Form {
        session: s,
        data: f,
    } = form;
    let (slug, id) = path.into_inner();
    let (t, id) = match managed_user(&state, &s, &slug, &id).await {
        Ok(found) => found,
        Err(e) => return domain_error(&req, &s, &e),
    };
    let active = match f.aktiv.as_str() {
        "0" => false,
        "1" => true,
        _ => {
            return domain_error(
                &req,
                &s,
                &verbund_tenant::Error::invalid("aktiv", "0 oder 1"),
            );
        }
    };
    let patch = UserPatch {
        active: Some(active),
        ..UserPatch::default()
    };
    let done = if active { "aktiviert" } else { "deaktiviert" };
    update(&req, &state, &s, &t, id, patch, done).await
}

async fn update(
    req: &HttpRequest,
    state: &WebState,
    s: &Session,
    t: &TenantView,
    id: uuid::Uuid,
    patch: UserPatch,
    done: &str,
) -> HttpResponse {
    let scope = match users::account_scope(&state.db, &s.actor, &t.slug).await {
        Ok(sc) => sc,
        Err(e) => return domain_error(req, s, &e),
    };
    match users::update_user(&state.db, &scope, id, patch).await {
        Ok(_) => see_other(
            s,
            req,
            &format!("/verwaltung/{}/benutzer?ok={done}", enc(&t.slug)),
        ),
        Err(verbund_tenant::Error::Conflict(verbund_tenant::ProblemKind::OwnAccount, _)) => {
            let mut errors = Errors::default();
            errors.add("konto", "Ihr eigenes Konto können Sie nicht deaktivieren.");
            render_users(
                req,
                state,
                s,
                t,
                NewUserForm::default(),
                errors,
                None,
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(e) => domain_error(req, s, &e),
    }
}

// --- Receipt template -----------------------------------------------------------------------

#[derive(serde::Deserialize, Default, Clone)]
pub struct ReceiptForm {
    #[serde(default)]
    betreff: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    signatur: String,
    /// `vorschau` shows the preview of the typed text without saving.
    #[serde(default)]
    aktion: String,
}

#[derive(Template)]
#[template(path = "verwaltung_receipt.html")]
struct ReceiptPage {
    c: Chrome,
    tabs: Vec<Tab>,
    tenant_name: String,
    action: String,
    f: ReceiptForm,
    errors: Errors,
    notice: Option<&'static str>,
    preview_subject: String,
    preview_body: String,
    preview_signature: String,
}

impl ReceiptPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }
}

/// The placeholders with example values for the preview.
fn example_values(t: &TenantView) -> Vec<(&'static str, String)> {
    let tz = format::zone(&t.time_zone);
    let now = chrono::Utc::now();
    vec![
        (
            "nummer",
            format!(
                "{}-{}-000042",
                t.ticket_prefix,
                now.with_timezone(&tz).format("%Y")
            ),
        ),
        ("betreff", "Frage zum Personalausweis".to_owned()),
        (
            "frist",
            format::date_time(now + chrono::Duration::days(1), tz),
        ),
        ("behoerde", t.name.clone()),
        ("name", "Erika Mustermann".to_owned()),
    ]
}

fn receipt_page(
    req: &HttpRequest,
    s: &Session,
    t: &TenantView,
    f: ReceiptForm,
    errors: Errors,
    notice: Option<&'static str>,
) -> ReceiptPage {
    let values = example_values(t);
    let vars: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let fill = |text: &str| verbund_ticketing::mail::render(text, &vars);
    ReceiptPage {
        c: Chrome::new(req, Some(s), "Eingangsbestätigung", "admin"),
        tabs: tenant_tabs(&t.slug, "eingangsbestaetigung"),
        tenant_name: t.name.clone(),
        action: format!("/verwaltung/{}/eingangsbestaetigung", enc(&t.slug)),
        preview_subject: fill(&f.betreff),
        preview_body: fill(&f.text),
        preview_signature: fill(&f.signatur),
        f,
        errors,
        notice,
    }
}

/// `GET /verwaltung/{slug}/eingangsbestaetigung`
pub async fn receipt_page_get(
    s: Session,
    req: HttpRequest,
    state: web::Data<WebState>,
    slug: web::Path<String>,
    q: Query<Notice>,
) -> HttpResponse {
    let t = match managed_tenant(&state, &s, &slug).await {
        Ok(t) => t,
        Err(e) => return domain_error(&req, &s, &e),
    };
    let f = ReceiptForm {
        betreff: t.settings.receipt_subject.clone(),
        text: t.settings.receipt_body.clone(),
        signatur: t.settings.reply_signature.clone(),
        aktion: String::new(),
    };
    let page = receipt_page(&req, &s, &t, f, Errors::default(), notice_text(&q.ok));
    s.finish(&req, html(StatusCode::OK, &page))
}

/// `POST /verwaltung/{slug}/eingangsbestaetigung`: preview (`aktion=vorschau`) or save.
pub async fn save_receipt(
    req: HttpRequest,
    state: web::Data<WebState>,
    slug: web::Path<String>,
    form: Form<ReceiptForm>,
) -> HttpResponse {
    let Form {
        session: s,
        data: f,
    } = form;
    let t = match managed_tenant(&state, &s, &slug).await {
        Ok(t) => t,
        Err(e) => return domain_error(&req, &s, &e),
    };
    let mut errors = Errors::default();
    let limits = [
        ("betreff", &f.betreff, 200, "den Betreff"),
        ("text", &f.text, 10_000, "den Text"),
        ("signatur", &f.signatur, 2_000, "die Signatur"),
    ];
    for (field, value, max, what) in limits {
        let n = value.trim().chars().count();
        if n == 0 || n > max {
            errors.add(
                field,
                format!("Bitte geben Sie {what} ein (1 bis {max} Zeichen)."),
            );
        }
    }
    if f.betreff.contains('\n') || f.betreff.contains('\r') {
        errors.add("betreff", "Der Betreff muss in eine Zeile passen.");
    }
    if errors.any() {
        let page = receipt_page(&req, &s, &t, f, errors, None);
        return s.finish(&req, html(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    if f.aktion == "vorschau" {
        let page = receipt_page(&req, &s, &t, f, errors, None);
        return s.finish(&req, html(StatusCode::OK, &page));
    }
    let patch = TenantPatch {
        settings: Some(serde_json::json!({
            "receipt_subject": f.betreff.trim(),
            "receipt_body": f.text.trim(),
            "reply_signature": f.signatur.trim(),
        })),
        ..TenantPatch::default()
    };
    match directory::update_tenant(&state.db, &s.actor, &t.slug, patch).await {
        Ok(_) => see_other(
            &s,
            &req,
            &format!(
                "/verwaltung/{}/eingangsbestaetigung?ok=gespeichert",
                enc(&t.slug)
            ),
        ),
        Err(verbund_tenant::Error::Invalid { reason, .. }) => {
            let mut errors = Errors::default();
            errors.add("text", format!("Nicht gespeichert: {reason}"));
            let page = receipt_page(&req, &s, &t, f, errors, None);
            s.finish(&req, html(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => domain_error(&req, &s, &e),
    }
}

// --- Audit log and access log ---------------------------------------------------------------

#[derive(serde::Deserialize, Default)]
pub struct LogParams {
    #[serde(default)]
    von: String,
    #[serde(default)]
    bis: String,
    #[serde(default)]
    seite: String,
    #[serde(default)]
    vorgang: String,
}

pub struct LogRow {
    pub at: String,
    pub who: String,
    pub what: String,
    pub target: String,
}

#[derive(Template)]
#[template(path = "verwaltung_log.html")]
struct LogPage {
    c: Chrome,
    tabs: Vec<Tab>,
    heading: &'static str,
    intro: &'static str,
    tenant_name: String,
    action: String,
    von: String,
    bis: String,
    vorgang: String,
    with_ticket: bool,
    rows: Vec<LogRow>,
    errors: Errors,
    page: u64,
    prev: Option<String>,
    next: Option<String>,
}

impl LogPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }
}

fn audit_action(action: &str) -> String {
    match action {
        "user.create" => "Benutzerkonto angelegt".into(),
        "user.update" => "Benutzerkonto geändert".into(),
        "tenant.create" => "Mandant angelegt".into(),
        "tenant.update" => "Mandant oder Einstellungen geändert".into(),
        "coverage.create" => "Vertretung eingerichtet".into(),
        "coverage.revoke" => "Vertretung beendet".into(),
        "tenant.mail_domain.add" => "Mail-Domain zugeordnet".into(),
        "tenant.mail_domain.remove" => "Mail-Domain entfernt".into(),
        "auth.login" => "Anmeldung".into(),
        "auth.logout" => "Abmeldung".into(),
        "center.create" => "Servicecenter angelegt".into(),
        "center.set_tenants" => "Betreute Kommunen eines Servicecenters geändert".into(),
        other => other.to_owned(),
    }
}

/// A date of the filter: `2026-12-24` (date field) or `24.12.2026`.
fn filter_date(raw: &str) -> Result<Option<chrono::NaiveDate>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .or_else(|_| chrono::NaiveDate::parse_from_str(raw, "%d.%m.%Y"))
        .map(Some)
        .map_err(|_| format!("„{raw}“ ist kein Datum. Bitte etwa 24.12.2026 eingeben."))
}

fn log_filters(
    q: &LogParams,
) -> (
    Option<chrono::NaiveDate>,
    Option<chrono::NaiveDate>,
    u64,
    Errors,
) {
    let mut errors = Errors::default();
    let from = filter_date(&q.von).unwrap_or_else(|m| {
        errors.add("von", m);
        None
    });
    let to = filter_date(&q.bis).unwrap_or_else(|m| {
        errors.add("bis", m);
        None
    });
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        errors.add("bis", "Das Ende darf nicht vor dem Anfang liegen.");
    }
    let page = match q.seite.trim() {
        "" => 1,
        p => match p.parse::<u64>() {
            Ok(n) if (1..=100_000).contains(&n) => n,
            _ => {
                errors.add("seite", "Ungültige Seitenzahl.");
                1
            }
        },
    };
    (from, to, page, errors)
}

fn page_link(base: &str, q: &LogParams, page: u64) -> String {
    let mut pairs = vec![("von", q.von.as_str()), ("bis", q.bis.as_str())];
    if !q.vorgang.is_empty() {
        pairs.push(("vorgang", q.vorgang.as_str()));
    }
    let seite = page.to_string();
    pairs.push(("seite", &seite));
    format!(
        "{base}?{}",
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    )
}

/// `GET /verwaltung/{slug}/protokoll`: the audit log of admin actions, by date, paged.
pub async fn audit_page(
    s: Session,
    req: HttpRequest,
    state: web::Data<WebState>,
    slug: web::Path<String>,
    q: Query<LogParams>,
) -> HttpResponse {
    let t = match managed_tenant(&state, &s, &slug).await {
        Ok(t) => t,
        Err(e) => return domain_error(&req, &s, &e),
    };
    let base = format!("/verwaltung/{}/protokoll", enc(&t.slug));
    let (from, to, page, errors) = log_filters(&q);
    let tz = format::zone(&t.time_zone);
    let (rows, more, status) = if errors.any() {
        (Vec::new(), false, StatusCode::UNPROCESSABLE_ENTITY)
    } else {
        let query = verbund_tenant::audit::AuditQuery {
            from,
            to,
            page: Some(page),
            limit: Some(50),
        };
        match verbund_tenant::audit::list(&state.db, &s.actor, &t.slug, query).await {
            Ok(p) => (
                p.entries
                    .into_iter()
                    .map(|e| LogRow {
                        at: format::date_time(e.at, tz),
                        who: e
                            .actor_email
                            .unwrap_or_else(|| "System (Kommandozeile)".into()),
                        what: audit_action(&e.action),
                        target: audit_target(&e.target_type, &e.detail),
                    })
                    .collect(),
                p.more,
                StatusCode::OK,
            ),
            Err(e) => return domain_error(&req, &s, &e),
        }
    };
    let page_view = LogPage {
        c: Chrome::new(&req, Some(&s), "Änderungsprotokoll", "admin"),
        tabs: tenant_tabs(&t.slug, "protokoll"),
        heading: "Änderungsprotokoll",
        intro: "Wer hat Benutzerkonten, Rollen und Einstellungen geändert? Neueste zuerst.",
        tenant_name: t.name.clone(),
        von: q.von.clone(),
        bis: q.bis.clone(),
        vorgang: String::new(),
        with_ticket: false,
        rows,
        errors,
        page,
        prev: (page > 1).then(|| page_link(&base, &q, page - 1)),
        next: more.then(|| page_link(&base, &q, page + 1)),
        action: base,
    };
    s.finish(&req, html(status, &page_view))
}

fn audit_target(kind: &str, detail: &serde_json::Value) -> String {
    let email = detail.get("email").and_then(|v| v.as_str()).or_else(|| {
        detail
            .get("after")
            .and_then(|a| a.get("display_name"))
            .and_then(|v| v.as_str())
    });
    match (kind, email) {
        ("user", Some(e)) => format!("Benutzerkonto {e}"),
        ("user", None) => "Benutzerkonto".into(),
        ("tenant", _) => "Mandant".into(),
        ("session", _) | ("auth", _) => "Sitzung".into(),
        (other, _) => other.to_owned(),
    }
}

/// `GET /verwaltung/{slug}/zugriffe`: who read which ticket's personal data.
pub async fn access_page(
    s: Session,
    req: HttpRequest,
    state: web::Data<WebState>,
    slug: web::Path<String>,
    q: Query<LogParams>,
) -> HttpResponse {
    let t = match managed_tenant(&state, &s, &slug).await {
        Ok(t) => t,
        Err(e) => return domain_error(&req, &s, &e),
    };
    let base = format!("/verwaltung/{}/zugriffe", enc(&t.slug));
    let (from, to, page, errors) = log_filters(&q);
    let tz = format::zone(&t.time_zone);
    let (rows, more, status) = if errors.any() {
        (Vec::new(), false, StatusCode::UNPROCESSABLE_ENTITY)
    } else {
        let query = verbund_ticketing::privacy::AccessLogQuery {
            ticket: (!q.vorgang.trim().is_empty()).then(|| q.vorgang.trim().to_owned()),
            user: None,
            limit: Some(50),
            from,
            to,
            page: Some(page),
        };
        // One entry past the page tells whether an older page exists.
        let next = verbund_ticketing::privacy::AccessLogQuery {
            limit: Some(1),
            page: Some(page * 50 + 1),
            ..query.clone()
        };
        let result =
            match verbund_ticketing::privacy::access_log(&state.db, &s.actor, &t.slug, query).await
            {
                Ok(entries) => {
                    verbund_ticketing::privacy::access_log(&state.db, &s.actor, &t.slug, next)
                        .await
                        .map(|n| (entries, !n.is_empty()))
                }
                Err(e) => Err(e),
            };
        match result {
            Ok((entries, more)) => (
                entries
                    .into_iter()
                    .map(|e| LogRow {
                        at: format::date_time(e.at, tz),
                        who: e.user_email.unwrap_or_else(|| e.user_id.to_string()),
                        what: match e.action.as_str() {
                            "view" | "read" => "persönliche Daten angesehen".into(),
                            other => other.replace('_', " "),
                        },
                        target: e
                            .ticket_number
                            .map(|n| format!("Vorgang {n}"))
                            .unwrap_or_else(|| "Vorgang".into()),
                    })
                    .collect(),
                more,
                StatusCode::OK,
            ),
            Err(e) => return domain_error(&req, &s, &e),
        }
    };
    let page_view = LogPage {
        c: Chrome::new(&req, Some(&s), "Zugriffsprotokoll", "admin"),
        tabs: tenant_tabs(&t.slug, "zugriffe"),
        heading: "Zugriffsprotokoll",
        intro: "Wer hat die persönlichen Daten welches Vorgangs gelesen? Neueste zuerst.",
        tenant_name: t.name.clone(),
        von: q.von.clone(),
        bis: q.bis.clone(),
        vorgang: q.vorgang.clone(),
        with_ticket: true,
        rows,
        errors,
        page,
        prev: (page > 1).then(|| page_link(&base, &q, page - 1)),
        next: more.then(|| page_link(&base, &q, page + 1)),
        action: base,
    };
    s.finish(&req, html(status, &page_view))
}

// --- Operator: tenants and mail domains -----------------------------------------------------

pub struct TenantRow {
    pub slug: String,
    pub name: String,
    pub ags: String,
    pub prefix: String,
    pub domains: String,
    pub active: bool,
}

#[derive(serde::Deserialize, Default, Clone)]
pub struct NewTenantForm {
    #[serde(default)]
    kennung: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    ags: String,
    #[serde(default)]
    praefix: String,
    #[serde(default)]
    adresse: String,
}

#[derive(Template)]
#[template(path = "betrieb.html")]
struct OperatorPage {
    c: Chrome,
    tabs: Vec<Tab>,
    tenants: Vec<TenantRow>,
    f: NewTenantForm,
    errors: Errors,
    notice: Option<&'static str>,
}

impl OperatorPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }
}

async fn render_operator(
    req: &HttpRequest,
    state: &WebState,
    s: &Session,
    f: NewTenantForm,
    errors: Errors,
    notice: Option<&'static str>,
    status: StatusCode,
) -> HttpResponse {
    if let Err(e) = s.actor.authorize_operator() {
        return domain_error(req, s, &e);
    }
    let tenants = match directory::list_tenants(&state.db, &s.actor).await {
        Ok(t) => t,
        Err(e) => return domain_error(req, s, &e),
    };
    let page = OperatorPage {
        c: Chrome::new(req, Some(s), "Betrieb", "operator"),
        tabs: operator_tabs("mandanten"),
        tenants: tenants
            .into_iter()
            .map(|t| TenantRow {
                domains: t.mail_domains.join(", "),
                slug: t.slug,
                name: t.name,
                ags: t.ags,
                prefix: t.ticket_prefix,
                active: t.active,
            })
            .collect(),
        f,
        errors,
        notice,
    };
    s.finish(req, html(status, &page))
}

/// `GET /betrieb`: the tenants of the platform (operators).
pub async fn operator_page(
    s: Session,
    req: HttpRequest,
    state: web::Data<WebState>,
    q: Query<Notice>,
) -> HttpResponse {
    render_operator(
        &req,
        &state,
        &s,
        NewTenantForm::default(),
        Errors::default(),
        notice_text(&q.ok),
        StatusCode::OK,
    )
    .await
}

fn tenant_field(field: &str) -> (&'static str, &'static str) {
    match field {
        "slug" => (
            "kennung",
            "Bitte eine Kennung aus Kleinbuchstaben, Ziffern und Bindestrichen eingeben, etwa stadt-bonn.",
        ),
        "name" => ("name", "Bitte geben Sie den Namen der Kommune ein."),
        "ags" => (
            "ags",
            "Bitte geben Sie einen Regionalschlüssel (AGS, 8 Ziffern, oder ARS, 12 Ziffern) ein.",
        ),
        "ticket_prefix" => (
            "praefix",
            "Bitte 2 bis 5 Großbuchstaben als Vorgangskürzel eingeben, etwa BN.",
        ),
        "mail_addresses" | "mail_domains" => (
            "adresse",
            "Bitte eine gültige E-Mail-Adresse eingeben, die noch keiner Kommune gehört.",
        ),
        _ => ("kennung", "Die Eingabe ist ungültig."),
    }
}

/// `POST /betrieb/mandanten`: a new tenant (operators).
pub async fn create_tenant(
    req: HttpRequest,
    state: web::Data<WebState>,
    form: Form<NewTenantForm>,
) -> HttpResponse {
    let Form {
        session: s,
        data: f,
    } = form;
    let scope = match s.actor.authorize_operator() {
        Ok(sc) => sc,
        Err(e) => return domain_error(&req, &s, &e),
    };
    let mut errors = Errors::default();
    for (field, value) in [
        ("kennung", &f.kennung),
        ("name", &f.name),
        ("ags", &f.ags),
        ("praefix", &f.praefix),
    ] {
        if value.trim().is_empty() {
            let (_, msg) = tenant_field(match field {
                "kennung" => "slug",
                "praefix" => "ticket_prefix",
                other => other,
            });
            errors.add(field, msg);
        }
    }
    if errors.any() {
        return render_operator(
            &req,
            &state,
            &s,
            f,
            errors,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let input = NewTenant {
        slug: f.kennung.trim().to_owned(),
        name: f.name.trim().to_owned(),
        ags: f.ags.trim().to_owned(),
        state: "RP".into(),
        time_zone: "Europe/Berlin".into(),
        ticket_prefix: f.praefix.trim().to_owned(),
        mail_addresses: if f.adresse.trim().is_empty() {
            Vec::new()
        } else {
            vec![f.adresse.trim().to_owned()]
        },
        mail_domains: Vec::new(),
        settings: None,
    };
    match directory::create_tenant(&state.db, &scope, input).await {
        Ok(t) => see_other(
            &s,
            &req,
            &format!("/betrieb/mandanten/{}?ok=mandant", enc(&t.slug)),
        ),
        Err(verbund_tenant::Error::Invalid { field, .. }) => {
            let (field, msg) = tenant_field(&field);
            let mut errors = Errors::default();
            errors.add(field, msg);
            render_operator(
                &req,
                &state,
                &s,
                f,
                errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(verbund_tenant::Error::Conflict(_, detail)) => {
            let mut errors = Errors::default();
            let field = if detail.contains("address") || detail.contains("domain") {
                "adresse"
            } else {
                "kennung"
            };
            errors.add(
                field,
                if field == "adresse" {
                    "Diese Adresse oder ihre Domain gehört schon einer anderen Kommune."
                } else {
                    "Diese Kennung oder dieses Vorgangskürzel ist schon vergeben."
                },
            );
            render_operator(&req, &state, &s, f, errors, None, StatusCode::CONFLICT).await
        }
        Err(e) => domain_error(&req, &s, &e),
    }
}

#[derive(serde::Deserialize, Default, Clone)]
pub struct DomainForm {
    #[serde(default)]
    domain: String,
}

#[derive(Template)]
#[template(path = "betrieb_mandant.html")]
struct TenantPage {
    c: Chrome,
    tabs: Vec<Tab>,
    slug: String,
    name: String,
    ags: String,
    prefix: String,
    addresses: Vec<String>,
    domains: Vec<String>,
    f: DomainForm,
    errors: Errors,
    notice: Option<&'static str>,
}

impl TenantPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }
}

#[allow(clippy::too_many_arguments)]
async fn render_tenant(
    req: &HttpRequest,
    state: &WebState,
    s: &Session,
    slug: &str,
    f: DomainForm,
    errors: Errors,
    notice: Option<&'static str>,
    status: StatusCode,
) -> HttpResponse {
    if let Err(e) = s.actor.authorize_operator() {
        return domain_error(req, s, &e);
    }
    let t = match directory::get_tenant(&state.db, &s.actor, slug).await {
        Ok(t) => t,
        Err(e) => return domain_error(req, s, &e),
    };
    let domains = match mail_domains::list_domains(&state.db, &s.actor, slug).await {
        Ok(d) => d.into_iter().map(|d| d.domain).collect(),
        Err(e) => return domain_error(req, s, &e),
    };
    let page = TenantPage {
        c: Chrome::new(req, Some(s), &t.name, "operator"),
        tabs: operator_tabs("mandanten"),
        slug: t.slug,
        name: t.name,
        ags: t.ags,
        prefix: t.ticket_prefix,
        addresses: t.mail_addresses,
        domains,
        f,
        errors,
        notice,
    };
    s.finish(req, html(status, &page))
}

/// `GET /betrieb/mandanten/{slug}`: a tenant with its mail domains (operators).
pub async fn tenant_page(
    s: Session,
    req: HttpRequest,
    state: web::Data<WebState>,
    slug: web::Path<String>,
    q: Query<Notice>,
) -> HttpResponse {
    render_tenant(
        &req,
        &state,
        &s,
        &slug,
        DomainForm::default(),
        Errors::default(),
        notice_text(&q.ok),
        StatusCode::OK,
    )
    .await
}

/// `POST /betrieb/mandanten/{slug}/domains`: assigns a mail domain (operators).
pub async fn add_domain(
    req: HttpRequest,
    state: web::Data<WebState>,
    slug: web::Path<String>,
    form: Form<DomainForm>,
) -> HttpResponse {
    let Form {
        session: s,
        data: f,
    } = form;
    let scope = match s.actor.authorize_operator() {
        Ok(sc) => sc,
        Err(e) => return domain_error(&req, &s, &e),
    };
    let input = NewMailDomain {
        domain: f.domain.trim().to_owned(),
    };
    match mail_domains::add_domain(&state.db, &scope, &slug, input).await {
        Ok(_) => see_other(
            &s,
            &req,
            &format!("/betrieb/mandanten/{}?ok=domain", enc(&slug)),
        ),
        Err(verbund_tenant::Error::Invalid { .. }) => {
            let mut errors = Errors::default();
            errors.add(
                "domain",
                "Bitte eine gültige Domain eingeben, etwa stadt-bonn.de.",
            );
            render_tenant(
                &req,
                &state,
                &s,
                &slug,
                f,
                errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(verbund_tenant::Error::Conflict(..)) => {
            let mut errors = Errors::default();
            errors.add("domain", "Diese Domain ist dem Mandanten schon zugeordnet.");
            render_tenant(
                &req,
                &state,
                &s,
                &slug,
                f,
                errors,
                None,
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(e) => domain_error(&req, &s, &e),
    }
}

#[derive(serde::Deserialize, Default)]
pub struct Empty {}

/// `POST /betrieb/mandanten/{slug}/domains/{domain}/entfernen` (operators).
pub async fn remove_domain(
    req: HttpRequest,
    state: web::Data<WebState>,
    path: web::Path<(String, String)>,
    form: Form<Empty>,
) -> HttpResponse {
    let s = form.session;
    let (slug, domain) = path.into_inner();
    let scope = match s.actor.authorize_operator() {
        Ok(sc) => sc,
        Err(e) => return domain_error(&req, &s, &e),
    };
    match mail_domains::remove_domain(&state.db, &scope, &slug, &domain).await {
        Ok(()) => see_other(
            &s,
            &req,
            &format!("/betrieb/mandanten/{}?ok=domain-entfernt", enc(&slug)),
        ),
        Err(verbund_tenant::Error::Conflict(..)) => {
            let mut errors = Errors::default();
            errors.add(
                "domain",
                "Die Domain wird noch von Adressen der Kommune benutzt und bleibt zugeordnet.",
            );
            render_tenant(
                &req,
                &state,
                &s,
                &slug,
                DomainForm::default(),
                errors,
                None,
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(e) => domain_error(&req, &s, &e),
    }
}

// --- Mailboxes ------------------------------------------------------------------------------

use verbund_email::mailboxes::{self, MailboxInput, MailboxSecurity};

pub struct MailboxRow {
    pub id: String,
    pub name: String,
    pub server: String,
    pub security: &'static str,
    pub username: String,
    pub folder: String,
    pub enabled: bool,
    pub last: String,
}

#[derive(serde::Deserialize, Default, Clone)]
pub struct MailboxForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    server: String,
    #[serde(default)]
    port: String,
    #[serde(default)]
    sicherheit: String,
    #[serde(default)]
    benutzer: String,
    #[serde(default)]
    kennwort: String,
    #[serde(default)]
    ordner: String,
}

/// The result of "Verbindung testen" for one mailbox.
pub struct Checked {
    pub id: String,
    pub ok: bool,
    pub message: String,
}

#[derive(Template)]
#[template(path = "verwaltung_mailboxes.html")]
struct MailboxesPage {
    c: Chrome,
    tabs: Vec<Tab>,
    tenant_name: String,
    slug: String,
    mailboxes: Vec<MailboxRow>,
    f: MailboxForm,
    errors: Errors,
    notice: Option<&'static str>,
    checked: Option<Checked>,
}

impl MailboxesPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }
}

fn security_label(s: MailboxSecurity) -> &'static str {
    match s {
        MailboxSecurity::Tls => "TLS",
        MailboxSecurity::StartTls => "STARTTLS",
        MailboxSecurity::Plain => "unverschlüsselt (nur lokal)",
    }
}

#[allow(clippy::too_many_arguments)]
async fn render_mailboxes(
    req: &HttpRequest,
    state: &WebState,
    s: &Session,
    t: &TenantView,
    f: MailboxForm,
    errors: Errors,
    notice: Option<&'static str>,
    checked: Option<Checked>,
    status: StatusCode,
) -> HttpResponse {
    let list = match mailboxes::list(&state.db, &s.actor, &t.slug).await {
        Ok(l) => l,
        Err(e) => return domain_error(req, s, &e),
    };
    let tz = format::zone(&t.time_zone);
    let page = MailboxesPage {
        c: Chrome::new(req, Some(s), "Postfächer", "admin"),
        tabs: tenant_tabs(&t.slug, "postfaecher"),
        tenant_name: t.name.clone(),
        slug: t.slug.clone(),
        mailboxes: list
            .into_iter()
            .map(|m| MailboxRow {
                id: m.id.to_string(),
                server: format!("{}:{}", m.host, m.port),
                security: security_label(m.security),
                last: match (m.last_polled_at, m.last_error) {
                    (_, Some(e)) => format!("Fehler: {e}"),
                    (Some(at), None) => format!("zuletzt abgerufen {}", format::date_time(at, tz)),
                    (None, None) => "noch nicht abgerufen".into(),
                },
                name: m.name,
                username: m.username,
                folder: m.folder,
                enabled: m.enabled,
            })
            .collect(),
        f,
        errors,
        notice,
        checked,
    };
    s.finish(req, html(status, &page))
}

/// `GET /verwaltung/{slug}/postfaecher`
pub async fn mailboxes_page(
    s: Session,
    req: HttpRequest,
    state: web::Data<WebState>,
    slug: web::Path<String>,
    q: Query<Notice>,
) -> HttpResponse {
    let t = match managed_tenant(&state, &s, &slug).await {
        Ok(t) => t,
        Err(e) => return domain_error(&req, &s, &e),
    };
    let f = MailboxForm {
        port: "993".into(),
        sicherheit: "tls".into(),
        ordner: "INBOX".into(),
        ..MailboxForm::default()
    };
    render_mailboxes(
        &req,
        &state,
        &s,
        &t,
        f,
        Errors::default(),
        notice_text(&q.ok),
        None,
        StatusCode::OK,
    )
    .await
}

fn mailbox_field(field: &str) -> (&'static str, &'static str) {
    match field {
        "name" => (
            "name",
            "Bitte geben Sie eine Bezeichnung ein (eine Zeile, höchstens 200 Zeichen).",
        ),
        "host" => (
            "server",
            "Bitte geben Sie einen Servernamen ein, etwa imap.stadt.de.",
        ),
        "security" => (
            "sicherheit",
            "Unverschlüsselt ist nur zu einem Server auf diesem Rechner erlaubt. Bitte TLS oder STARTTLS wählen.",
        ),
        "port" => (
            "port",
            "Bitte einen Port von 1 bis 65535 eingeben, etwa 993.",
        ),
        "username" => ("benutzer", "Bitte geben Sie den Benutzernamen ein."),
        "secret" => ("kennwort", "Bitte geben Sie das Passwort ein."),
        "folder" => ("ordner", "Bitte geben Sie den Ordner ein, etwa INBOX."),
        _ => ("name", "Die Eingabe ist ungültig."),
    }
}

/// `POST /verwaltung/{slug}/postfaecher`: a new IMAP mailbox of the tenant.
pub async fn create_mailbox(
    req: HttpRequest,
    state: web::Data<WebState>,
    slug: web::Path<String>,
    form: Form<MailboxForm>,
) -> HttpResponse {
    let Form {
        session: s,
        data: f,
    } = form;
    let t = match managed_tenant(&state, &s, &slug).await {
        Ok(t) => t,
        Err(e) => return domain_error(&req, &s, &e),
    };
    let mut errors = Errors::default();
    let port = f.port.trim().parse::<u16>().ok().filter(|p| *p > 0);
    if port.is_none() {
        errors.add("port", mailbox_field("port").1);
    }
    let security = match f.sicherheit.as_str() {
        "tls" => Some(MailboxSecurity::Tls),
        "start_tls" => Some(MailboxSecurity::StartTls),
        "plain" => Some(MailboxSecurity::Plain),
        _ => {
            errors.add("sicherheit", "Bitte wählen Sie die Verschlüsselung.");
            None
        }
    };
    for (field, value) in [
        ("name", &f.name),
        ("server", &f.server),
        ("benutzer", &f.benutzer),
        ("kennwort", &f.kennwort),
    ] {
        if value.trim().is_empty() {
            let key = match field {
                "server" => "host",
                "benutzer" => "username",
                "kennwort" => "secret",
                other => other,
            };
            errors.add(field, mailbox_field(key).1);
        }
    }
    let (Some(port), Some(security), false) = (port, security, errors.any()) else {
        let f = MailboxForm {
            kennwort: String::new(),
            ..f
        };
        return render_mailboxes(
            &req,
            &state,
            &s,
            &t,
            f,
            errors,
            None,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let input = MailboxInput {
        name: f.name.clone(),
        host: f.server.clone(),
        port,
        security,
        username: f.benutzer.clone(),
        secret: f.kennwort.clone().into(),
        folder: (!f.ordner.trim().is_empty()).then(|| f.ordner.clone()),
        processed_folder: None,
        interval_seconds: None,
        enabled: Some(true),
    };
    match mailboxes::create(&state.db, &s.actor, &t.slug, input).await {
        Ok(_) => see_other(
            &s,
            &req,
            &format!("/verwaltung/{}/postfaecher?ok=postfach", enc(&t.slug)),
        ),
        Err(verbund_tenant::Error::Invalid { field, .. }) => {
            let (field, msg) = mailbox_field(&field);
            let mut errors = Errors::default();
            errors.add(field, msg);
            let f = MailboxForm {
                kennwort: String::new(),
                ..f
            };
            render_mailboxes(
                &req,
                &state,
                &s,
                &t,
                f,
                errors,
                None,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => domain_error(&req, &s, &e),
    }
}

fn parse_mailbox_id(raw: &str) -> Result<uuid::Uuid, verbund_tenant::Error> {
    uuid::Uuid::parse_str(raw).map_err(|_| verbund_tenant::Error::NotFound("mailbox"))
}

/// `POST /verwaltung/{slug}/postfaecher/{id}/test`: "Verbindung testen" with the stored
/// settings; the page shows the result next to the mailbox. Changes nothing.
pub async fn test_mailbox(
    req: HttpRequest,
    state: web::Data<WebState>,
    path: web::Path<(String, String)>,
    form: Form<Empty>,
) -> HttpResponse {
    let s = form.session;
    let (slug, id) = path.into_inner();
    let t = match managed_tenant(&state, &s, &slug).await {
        Ok(t) => t,
        Err(e) => return domain_error(&req, &s, &e),
    };
    let id = match parse_mailbox_id(&id) {
        Ok(id) => id,
        Err(e) => return domain_error(&req, &s, &e),
    };
    let settings = mailboxes::PollSettings {
        connect_timeout: std::time::Duration::from_secs(10),
        command_timeout: std::time::Duration::from_secs(15),
        ..mailboxes::PollSettings::default()
    };
    let check = match mailboxes::test_connection(&state.db, &s.actor, &t.slug, id, &settings).await
    {
        Ok(c) => c,
        Err(e) => return domain_error(&req, &s, &e),
    };
    let checked = Checked {
        id: id.to_string(),
        ok: check.ok,
        message: check.message,
    };
    render_mailboxes(
        &req,
        &state,
        &s,
        &t,
        MailboxForm {
            port: "993".into(),
            sicherheit: "tls".into(),
            ordner: "INBOX".into(),
            ..MailboxForm::default()
        },
        Errors::default(),
        None,
        Some(checked),
        StatusCode::OK,
    )
    .await
}

/// `POST /verwaltung/{slug}/postfaecher/{id}/entfernen`
pub async fn delete_mailbox(
    req: HttpRequest,
    state: web::Data<WebState>,
    path: web::Path<(String, String)>,
    form: Form<Empty>,
) -> HttpResponse {
    let s = form.session;
    let (slug, id) = path.into_inner();
    let t = match managed_tenant(&state, &s, &slug).await {
        Ok(t) => t,
        Err(e) => return domain_error(&req, &s, &e),
    };
    let id = match parse_mailbox_id(&id) {
        Ok(id) => id,
        Err(e) => return domain_error(&req, &s, &e),
    };
    match mailboxes::delete(&state.db, &s.actor, &t.slug, id).await {
        Ok(()) => see_other(
            &s,
            &req,
            &format!(
                "/verwaltung/{}/postfaecher?ok=postfach-entfernt",
                enc(&t.slug)
            ),
        ),
        Err(e) => domain_error(&req, &s, &e),
    }
}

// --- Text modules ---------------------------------------------------------------------------

use verbund_ticketing::templates::{self, TemplateInput};

pub struct ModuleRow {
    pub id: String,
    pub name: String,
    pub body: String,
    pub updated: String,
}

#[derive(serde::Deserialize, Default, Clone)]
pub struct ModuleForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    text: String,
}

#[derive(serde::Deserialize, Default)]
pub struct ModuleParams {
    #[serde(default)]
    ok: String,
    #[serde(default)]
    bearbeiten: String,
}

#[derive(Template)]
#[template(path = "verwaltung_modules.html")]
struct ModulesPage {
    c: Chrome,
    tabs: Vec<Tab>,
    tenant_name: String,
    slug: String,
    modules: Vec<ModuleRow>,
    /// The module being edited (its id), or none: the form creates one.
    editing: Option<String>,
    f: ModuleForm,
    errors: Errors,
    notice: Option<&'static str>,
}

impl ModulesPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }
    fn form_action(&self) -> String {
        match &self.editing {
            Some(id) => format!("/verwaltung/{}/textbausteine/{id}", self.slug),
            None => format!("/verwaltung/{}/textbausteine", self.slug),
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn render_modules(
    req: &HttpRequest,
    state: &WebState,
    s: &Session,
    t: &TenantView,
    editing: Option<String>,
    f: Option<ModuleForm>,
    errors: Errors,
    notice: Option<&'static str>,
    status: StatusCode,
) -> HttpResponse {
    let list = match templates::list(&state.db, &s.actor, &t.slug).await {
        Ok(l) => l,
        Err(e) => return domain_error(req, s, &e),
    };
    let tz = format::zone(&t.time_zone);
    let editing = editing.filter(|id| list.iter().any(|m| m.id.to_string() == *id));
    let f = f.unwrap_or_else(|| match &editing {
        Some(id) => list
            .iter()
            .find(|m| m.id.to_string() == *id)
            .map(|m| ModuleForm {
                name: m.name.clone(),
                text: m.body.clone(),
            })
            .unwrap_or_default(),
        None => ModuleForm::default(),
    });
    let page = ModulesPage {
        c: Chrome::new(req, Some(s), "Textbausteine", "admin"),
        tabs: tenant_tabs(&t.slug, "textbausteine"),
        tenant_name: t.name.clone(),
        slug: t.slug.clone(),
        modules: list
            .into_iter()
            .map(|m| ModuleRow {
                id: m.id.to_string(),
                updated: format::date_time(m.updated_at, tz),
                name: m.name,
                body: m.body,
            })
            .collect(),
        editing,
        f,
        errors,
        notice,
    };
    s.finish(req, html(status, &page))
}

/// `GET /verwaltung/{slug}/textbausteine` (`?bearbeiten={id}` opens one for editing)
pub async fn modules_page(
    s: Session,
    req: HttpRequest,
    state: web::Data<WebState>,
    slug: web::Path<String>,
    q: Query<ModuleParams>,
) -> HttpResponse {
    let t = match managed_tenant(&state, &s, &slug).await {
        Ok(t) => t,
        Err(e) => return domain_error(&req, &s, &e),
    };
    let editing = (!q.bearbeiten.is_empty()).then(|| q.bearbeiten.clone());
    render_modules(
        &req,
        &state,
        &s,
        &t,
        editing,
        None,
        Errors::default(),
        notice_text(&q.ok),
        StatusCode::OK,
    )
    .await
}

fn module_errors(f: &ModuleForm) -> Errors {
    let mut errors = Errors::default();
    let n = f.name.trim().chars().count();
    if n == 0 || n > 200 {
        errors.add(
            "name",
            "Bitte geben Sie einen Namen mit 1 bis 200 Zeichen ein.",
        );
    }
    let n = f.text.trim().chars().count();
    if n == 0 || n > 20_000 {
        errors.add(
            "text",
            "Bitte geben Sie den Text ein (1 bis 20.000 Zeichen).",
        );
    }
    errors
}

async fn save_module(
    req: &HttpRequest,
    state: &WebState,
    s: &Session,
    slug: &str,
    id: Option<String>,
    f: ModuleForm,
) -> HttpResponse {
    let t = match managed_tenant(state, s, slug).await {
        Ok(t) => t,
        Err(e) => return domain_error(req, s, &e),
    };
    let uuid = match id.as_deref().map(uuid::Uuid::parse_str).transpose() {
        Ok(u) => u,
        Err(_) => return domain_error(req, s, &verbund_tenant::Error::NotFound("text module")),
    };
    let errors = module_errors(&f);
    if errors.any() {
        return render_modules(
            req,
            state,
            s,
            &t,
            id,
            Some(f),
            errors,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let input = TemplateInput {
        name: f.name.clone(),
        body: f.text.clone(),
    };
    let result = match uuid {
        Some(u) => templates::update(&state.db, &s.actor, &t.slug, u, input).await,
        None => templates::create(&state.db, &s.actor, &t.slug, input).await,
    };
    match result {
        Ok(_) => see_other(
            s,
            req,
            &format!("/verwaltung/{}/textbausteine?ok=baustein", enc(&t.slug)),
        ),
        Err(verbund_tenant::Error::Conflict(..)) => {
            let mut errors = Errors::default();
            errors.add("name", "Einen Textbaustein mit diesem Namen gibt es schon.");
            render_modules(
                req,
                state,
                s,
                &t,
                id,
                Some(f),
                errors,
                None,
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(verbund_tenant::Error::Invalid { field, .. }) => {
            let mut errors = Errors::default();
            let field = if field == "body" { "text" } else { "name" };
            errors.add(field, "Die Eingabe ist ungültig.");
            render_modules(
                req,
                state,
                s,
                &t,
                id,
                Some(f),
                errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => domain_error(req, s, &e),
    }
}

/// `POST /verwaltung/{slug}/textbausteine`: a new text module.
pub async fn create_module(
    req: HttpRequest,
    state: web::Data<WebState>,
    slug: web::Path<String>,
    form: Form<ModuleForm>,
) -> HttpResponse {
    let Form {
        session: s,
        data: f,
    } = form;
    save_module(&req, &state, &s, &slug, None, f).await
}

/// `POST /verwaltung/{slug}/textbausteine/{id}`: changes a text module.
pub async fn update_module(
    req: HttpRequest,
    state: web::Data<WebState>,
    path: web::Path<(String, String)>,
    form: Form<ModuleForm>,
) -> HttpResponse {
    let Form {
        session: s,
        data: f,
    } = form;
    let (slug, id) = path.into_inner();
    save_module(&req, &state, &s, &slug, Some(id), f).await
}

/// `POST /verwaltung/{slug}/textbausteine/{id}/loeschen`
pub async fn delete_module(
    req: HttpRequest,
    state: web::Data<WebState>,
    path: web::Path<(String, String)>,
    form: Form<Empty>,
) -> HttpResponse {
    let s = form.session;
    let (slug, id) = path.into_inner();
    let t = match managed_tenant(&state, &s, &slug).await {
        Ok(t) => t,
        Err(e) => return domain_error(&req, &s, &e),
    };
    let Ok(id) = uuid::Uuid::parse_str(&id) else {
        return domain_error(&req, &s, &verbund_tenant::Error::NotFound("text module"));
    };
    match templates::delete(&state.db, &s.actor, &t.slug, id).await {
        Ok(()) => see_other(
            &s,
            &req,
            &format!(
                "/verwaltung/{}/textbausteine?ok=baustein-geloescht",
                enc(&t.slug)
            ),
        ),
        Err(e) => domain_error(&req, &s, &e),
    }
}

// --- Coverage by another center -------------------------------------------------------------

use verbund_tenant::coverage::{self, NewCoverage};

pub struct CoverageRow {
    pub id: String,
    pub center: String,
    pub from: String,
    pub until: String,
    pub reason: String,
    pub state: &'static str,
    pub revocable: bool,
}

#[derive(serde::Deserialize, Default, Clone)]
pub struct CoverageForm {
    #[serde(default)]
    zentrum: String,
    #[serde(default)]
    von: String,
    #[serde(default)]
    bis: String,
    #[serde(default)]
    grund: String,
}

#[derive(Template)]
#[template(path = "verwaltung_coverage.html")]
struct CoveragePage {
    c: Chrome,
    tabs: Vec<Tab>,
    tenant_name: String,
    slug: String,
    rows: Vec<CoverageRow>,
    f: CoverageForm,
    errors: Errors,
    notice: Option<&'static str>,
}

impl CoveragePage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }
}

#[allow(clippy::too_many_arguments)]
async fn render_coverage(
    req: &HttpRequest,
    state: &WebState,
    s: &Session,
    t: &TenantView,
    f: CoverageForm,
    errors: Errors,
    notice: Option<&'static str>,
    status: StatusCode,
) -> HttpResponse {
    let list = match coverage::list_coverages(&state.db, &s.actor, &t.slug).await {
        Ok(l) => l,
        Err(e) => return domain_error(req, s, &e),
    };
    let tz = format::zone(&t.time_zone);
    let now = chrono::Utc::now();
    let page = CoveragePage {
        c: Chrome::new(req, Some(s), "Vertretung", "admin"),
        tabs: tenant_tabs(&t.slug, "vertretung"),
        tenant_name: t.name.clone(),
        slug: t.slug.clone(),
        rows: list
            .into_iter()
            .map(|c| CoverageRow {
                id: c.id.to_string(),
                from: format::date_time(c.from, tz),
                until: format::date_time(c.until, tz),
                state: if c.revoked_at.is_some() {
                    "beendet"
                } else if c.until <= now {
                    "abgelaufen"
                } else if c.from > now {
                    "geplant"
                } else {
                    "gilt jetzt"
                },
                revocable: c.revoked_at.is_none() && c.until > now,
                center: c.center,
                reason: c.reason,
            })
            .collect(),
        f,
        errors,
        notice,
    };
    s.finish(req, html(status, &page))
}

/// `GET /verwaltung/{slug}/vertretung`
pub async fn coverage_page(
    s: Session,
    req: HttpRequest,
    state: web::Data<WebState>,
    slug: web::Path<String>,
    q: Query<Notice>,
) -> HttpResponse {
    let t = match managed_tenant(&state, &s, &slug).await {
        Ok(t) => t,
        Err(e) => return domain_error(&req, &s, &e),
    };
    render_coverage(
        &req,
        &state,
        &s,
        &t,
        CoverageForm::default(),
        Errors::default(),
        notice_text(&q.ok),
        StatusCode::OK,
    )
    .await
}

/// The start of a day in the tenant's zone.
fn start_of(d: chrono::NaiveDate, tz: chrono_tz::Tz) -> Option<chrono::DateTime<chrono::Utc>> {
    d.and_hms_opt(0, 0, 0)
        .and_then(|n| n.and_local_timezone(tz).earliest())
        .map(|at| at.with_timezone(&chrono::Utc))
}

/// `POST /verwaltung/{slug}/vertretung`: another center acts for the tenant from the start of
/// `von` (today when empty) to the end of `bis`.
pub async fn create_coverage(
    req: HttpRequest,
    state: web::Data<WebState>,
    slug: web::Path<String>,
    form: Form<CoverageForm>,
) -> HttpResponse {
    let Form {
        session: s,
        data: f,
    } = form;
    let t = match managed_tenant(&state, &s, &slug).await {
        Ok(t) => t,
        Err(e) => return domain_error(&req, &s, &e),
    };
    let tz = format::zone(&t.time_zone);
    let mut errors = Errors::default();
    if f.zentrum.trim().is_empty() {
        errors.add(
            "zentrum",
            "Bitte geben Sie die Kennung des Servicecenters ein, etwa sc-mainz.",
        );
    }
    let from = filter_date(&f.von).unwrap_or_else(|m| {
        errors.add("von", m);
        None
    });
    let until = match filter_date(&f.bis) {
        Ok(Some(d)) => Some(d),
        Ok(None) => {
            errors.add("bis", "Bitte geben Sie den letzten Tag der Vertretung ein.");
            None
        }
        Err(m) => {
            errors.add("bis", m);
            None
        }
    };
    if f.grund.trim().is_empty() {
        errors.add(
            "grund",
            "Bitte geben Sie einen Grund ein, etwa „Rosenmontag“.",
        );
    }
    let until_at = until
        .and_then(|d| d.succ_opt())
        .and_then(|d| start_of(d, tz));
    let from_at = from.and_then(|d| start_of(d, tz));
    if errors.any() || until_at.is_none() {
        return render_coverage(
            &req,
            &state,
            &s,
            &t,
            f,
            errors,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let Some(until_at) = until_at else {
        return render_coverage(
            &req,
            &state,
            &s,
            &t,
            f,
            errors,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let input = NewCoverage {
        center: f.zentrum.trim().to_owned(),
        from: from_at,
        until: until_at,
        reason: f.grund.trim().to_owned(),
    };
    match coverage::create_coverage(&state.db, &s.actor, &t.slug, input).await {
        Ok(_) => see_other(
            &s,
            &req,
            &format!("/verwaltung/{}/vertretung?ok=vertretung", enc(&t.slug)),
        ),
        Err(verbund_tenant::Error::Invalid { field, .. }) => {
            let mut errors = Errors::default();
            match field.as_str() {
                "center" => errors.add("zentrum", "Dieses Servicecenter gibt es nicht, oder es betreut die Kommune schon."),
                "until" | "from" => errors.add("bis", "Der Zeitraum ist nicht möglich: Das Ende muss in der Zukunft und nach dem Anfang liegen, höchstens 31 Tage danach."),
                "reason" => errors.add("grund", "Bitte geben Sie einen kurzen Grund ein (eine Zeile)."),
                _ => errors.add("zentrum", "Die Vertretung konnte so nicht eingerichtet werden."),
            }
            render_coverage(
                &req,
                &state,
                &s,
                &t,
                f,
                errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => domain_error(&req, &s, &e),
    }
}

/// `POST /verwaltung/{slug}/vertretung/{id}/beenden`
pub async fn revoke_coverage(
    req: HttpRequest,
    state: web::Data<WebState>,
    path: web::Path<(String, String)>,
    form: Form<Empty>,
) -> HttpResponse {
    let s = form.session;
    let (slug, id) = path.into_inner();
    let t = match managed_tenant(&state, &s, &slug).await {
        Ok(t) => t,
        Err(e) => return domain_error(&req, &s, &e),
    };
    let Ok(id) = uuid::Uuid::parse_str(&id) else {
        return domain_error(&req, &s, &verbund_tenant::Error::NotFound("coverage"));
    };
    match coverage::revoke_coverage(&state.db, &s.actor, &t.slug, id).await {
        Ok(_) => see_other(
            &s,
            &req,
            &format!(
                "/verwaltung/{}/vertretung?ok=vertretung-beendet",
                enc(&t.slug)
            ),
        ),
        Err(e) => domain_error(&req, &s, &e),
    }
}

// --- Operator: centers and the base-text catalogue ------------------------------------------

/// The sub-navigation of the operator's area.
fn operator_tabs(current: &str) -> Vec<Tab> {
    [
        ("mandanten", "/betrieb", "Mandanten"),
        ("zentren", "/betrieb/zentren", "Servicecenter"),
        ("stammtexte", "/betrieb/stammtexte", "Stammtexte"),
    ]
    .into_iter()
    .map(|(key, href, label)| Tab {
        href: href.to_owned(),
        label,
        current: key == current,
    })
    .collect()
}

/// A checkbox of a tenant in a center's form.
pub struct TenantCheck {
    pub slug: String,
    pub name: String,
    pub checked: bool,
}

pub struct CenterRow {
    pub slug: String,
    pub name: String,
    pub tenants: Vec<TenantCheck>,
}

#[derive(Template)]
#[template(path = "betrieb_zentren.html")]
struct CentersPage {
    c: Chrome,
    tabs: Vec<Tab>,
    centers: Vec<CenterRow>,
    /// The new-center form: name, slug and the tenants ticked.
    name: String,
    kennung: String,
    new_tenants: Vec<TenantCheck>,
    errors: Errors,
    notice: Option<&'static str>,
}

impl CentersPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }
}

/// Form fields of a center form: `name`, `kennung`, and `mandant_{slug}` per ticked tenant.
type Fields = std::collections::BTreeMap<String, String>;

fn ticked(f: &Fields) -> Vec<String> {
    f.iter()
        .filter(|(k, v)| k.starts_with("mandant_") && v.as_str() == "1")
        .map(|(k, _)| k["mandant_".len()..].to_owned())
        .collect()
}

async fn render_centers(
    req: &HttpRequest,
    state: &WebState,
    s: &Session,
    f: &Fields,
    errors: Errors,
    notice: Option<&'static str>,
    status: StatusCode,
) -> HttpResponse {
    if let Err(e) = s.actor.authorize_operator() {
        return domain_error(req, s, &e);
    }
    let (tenants, centers) = match (
        directory::list_tenants(&state.db, &s.actor).await,
        directory::list_centers(&state.db, &s.actor).await,
    ) {
        (Ok(t), Ok(c)) => (t, c),
        (Err(e), _) | (_, Err(e)) => return domain_error(req, s, &e),
    };
    let chosen = ticked(f);
    let page = CentersPage {
        c: Chrome::new(req, Some(s), "Servicecenter", "operator"),
        tabs: operator_tabs("zentren"),
        centers: centers
            .into_iter()
            .map(|c| CenterRow {
                tenants: tenants
                    .iter()
                    .map(|t| TenantCheck {
                        checked: c.tenants.iter().any(|x| x.slug == t.slug),
                        slug: t.slug.clone(),
                        name: t.name.clone(),
                    })
                    .collect(),
                slug: c.slug,
                name: c.name,
            })
            .collect(),
        name: f.get("name").cloned().unwrap_or_default(),
        kennung: f.get("kennung").cloned().unwrap_or_default(),
        new_tenants: tenants
            .iter()
            .map(|t| TenantCheck {
                checked: chosen.contains(&t.slug),
                slug: t.slug.clone(),
                name: t.name.clone(),
            })
            .collect(),
        errors,
        notice,
    };
    s.finish(req, html(status, &page))
}

/// `GET /betrieb/zentren`: the service centers and the tenants they serve (operators).
pub async fn centers_page(
    s: Session,
    req: HttpRequest,
    state: web::Data<WebState>,
    q: Query<Notice>,
) -> HttpResponse {
    render_centers(
        &req,
        &state,
        &s,
        &Fields::new(),
        Errors::default(),
        notice_text(&q.ok),
        StatusCode::OK,
    )
    .await
}

/// `POST /betrieb/zentren`: a new service center (operators).
pub async fn create_center(
    req: HttpRequest,
    state: web::Data<WebState>,
    form: Form<Fields>,
) -> HttpResponse {
    let Form {
        session: s,
        data: f,
    } = form;
    let scope = match s.actor.authorize_operator() {
        Ok(sc) => sc,
        Err(e) => return domain_error(&req, &s, &e),
    };
    let name = f
        .get("name")
        .map(|v| v.trim().to_owned())
        .unwrap_or_default();
    let slug = f
        .get("kennung")
        .map(|v| v.trim().to_owned())
        .unwrap_or_default();
    let mut errors = Errors::default();
    if name.is_empty() {
        errors.add("name", "Bitte geben Sie den Namen des Servicecenters ein.");
    }
    if slug.is_empty() {
        errors.add("kennung", "Bitte geben Sie eine Kennung ein, etwa sc-bonn.");
    }
    if errors.any() {
        return render_centers(
            &req,
            &state,
            &s,
            &f,
            errors,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let input = directory::NewCenter {
        slug,
        name,
        tenants: ticked(&f),
    };
    match directory::create_center(&state.db, &scope, input).await {
        Ok(_) => see_other(&s, &req, "/betrieb/zentren?ok=zentrum"),
        Err(verbund_tenant::Error::Invalid { field, .. }) => {
            let mut errors = Errors::default();
            match field.as_str() {
                "name" => errors.add("name", "Bitte geben Sie einen gültigen Namen ein."),
                "tenants" => errors.add("kennung", "Eine der gewählten Kommunen gibt es nicht."),
                _ => errors.add(
                    "kennung",
                    "Bitte eine Kennung aus Kleinbuchstaben, Ziffern und Bindestrichen eingeben, etwa sc-bonn.",
                ),
            }
            render_centers(
                &req,
                &state,
                &s,
                &f,
                errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(verbund_tenant::Error::Conflict(..)) => {
            let mut errors = Errors::default();
            errors.add("kennung", "Diese Kennung ist schon vergeben.");
            render_centers(&req, &state, &s, &f, errors, None, StatusCode::CONFLICT).await
        }
        Err(e) => domain_error(&req, &s, &e),
    }
}

/// `POST /betrieb/zentren/{slug}/mandanten`: which tenants a center serves (operators).
pub async fn set_center_tenants(
    req: HttpRequest,
    state: web::Data<WebState>,
    slug: web::Path<String>,
    form: Form<Fields>,
) -> HttpResponse {
    let Form {
        session: s,
        data: f,
    } = form;
    let scope = match s.actor.authorize_operator() {
        Ok(sc) => sc,
        Err(e) => return domain_error(&req, &s, &e),
    };
    let input = directory::CenterTenants {
        tenants: ticked(&f),
    };
    match directory::set_center_tenants(&state.db, &scope, &slug, input).await {
        Ok(_) => see_other(&s, &req, "/betrieb/zentren?ok=zentrum-mandanten"),
        Err(e) => domain_error(&req, &s, &e),
    }
}

use verbund_knowledge::catalog::{self, BaseLevel, BaseTextPatch, NewBaseText};

pub struct BaseRow {
    pub id: String,
    pub leika: String,
    pub title: String,
    pub level: &'static str,
    pub revision: i32,
    pub updated: String,
}

#[derive(serde::Deserialize, Default, Clone)]
pub struct BaseForm {
    #[serde(default)]
    leika: String,
    #[serde(default)]
    titel: String,
    #[serde(default)]
    ebene: String,
    #[serde(default)]
    kurztext: String,
    #[serde(default)]
    volltext: String,
    #[serde(default)]
    revision: String,
}

#[derive(serde::Deserialize, Default)]
pub struct CatalogParams {
    #[serde(default)]
    ok: String,
    #[serde(default)]
    bearbeiten: String,
}

#[derive(Template)]
#[template(path = "betrieb_stammtexte.html")]
struct CatalogPage {
    c: Chrome,
    tabs: Vec<Tab>,
    texts: Vec<BaseRow>,
    editing: Option<String>,
    f: BaseForm,
    errors: Errors,
    notice: Option<&'static str>,
}

impl CatalogPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }
    fn form_action(&self) -> String {
        match &self.editing {
            Some(id) => format!("/betrieb/stammtexte/{id}"),
            None => "/betrieb/stammtexte".to_owned(),
        }
    }
}

fn level_label(l: BaseLevel) -> &'static str {
    match l {
        BaseLevel::Bund => "Bund",
        BaseLevel::Land => "Land",
    }
}

#[allow(clippy::too_many_arguments)]
async fn render_catalog(
    req: &HttpRequest,
    state: &WebState,
    s: &Session,
    editing: Option<String>,
    f: Option<BaseForm>,
    errors: Errors,
    notice: Option<&'static str>,
    status: StatusCode,
) -> HttpResponse {
    if let Err(e) = s.actor.authorize_operator() {
        return domain_error(req, s, &e);
    }
    let list = match catalog::list_base_texts(&state.db, &s.actor).await {
        Ok(l) => l,
        Err(e) => return domain_error(req, s, &e),
    };
    let tz = chrono_tz::Europe::Berlin;
    let editing = editing.filter(|id| list.iter().any(|b| b.id.to_string() == *id));
    let f = f.unwrap_or_else(|| {
        editing
            .as_ref()
            .and_then(|id| list.iter().find(|b| b.id.to_string() == *id))
            .map(|b| BaseForm {
                leika: b.leika.clone(),
                titel: b.title.clone(),
                ebene: b.level.as_str().to_owned(),
                kurztext: b.modules.kurztext.clone().unwrap_or_default(),
                volltext: b.modules.volltext.clone().unwrap_or_default(),
                revision: b.revision.to_string(),
            })
            .unwrap_or_else(|| BaseForm {
                ebene: "bund".into(),
                ..BaseForm::default()
            })
    });
    let page = CatalogPage {
        c: Chrome::new(req, Some(s), "Stammtexte", "operator"),
        tabs: operator_tabs("stammtexte"),
        texts: list
            .into_iter()
            .map(|b| BaseRow {
                id: b.id.to_string(),
                level: level_label(b.level),
                revision: b.revision,
                updated: format::date_time(b.updated_at, tz),
                leika: b.leika,
                title: b.title,
            })
            .collect(),
        editing,
        f,
        errors,
        notice,
    };
    s.finish(req, html(status, &page))
}

/// `GET /betrieb/stammtexte` (`?bearbeiten={id}` opens one for editing; operators)
pub async fn catalog_page(
    s: Session,
    req: HttpRequest,
    state: web::Data<WebState>,
    q: Query<CatalogParams>,
) -> HttpResponse {
    let editing = (!q.bearbeiten.is_empty()).then(|| q.bearbeiten.clone());
    render_catalog(
        &req,
        &state,
        &s,
        editing,
        None,
        Errors::default(),
        notice_text(&q.ok),
        StatusCode::OK,
    )
    .await
}

fn base_errors(f: &BaseForm) -> (Errors, Option<BaseLevel>) {
    let mut errors = Errors::default();
    if f.titel.trim().is_empty() {
        errors.add("titel", "Bitte geben Sie den Titel ein.");
    }
    let level = match f.ebene.as_str() {
        "bund" => Some(BaseLevel::Bund),
        "land" => Some(BaseLevel::Land),
        _ => {
            errors.add("ebene", "Bitte wählen Sie Bund oder Land.");
            None
        }
    };
    (errors, level)
}

fn base_domain_error(field: &str) -> (&'static str, &'static str) {
    match field {
        "leika" => (
            "leika",
            "Bitte einen LeiKa-Schlüssel mit 14 Ziffern eingeben, der mit 99 beginnt.",
        ),
        "title" => ("titel", "Bitte geben Sie einen gültigen Titel ein."),
        f if f.contains("kurztext") => ("kurztext", "Der Kurztext ist ungültig."),
        f if f.contains("volltext") => ("volltext", "Der Volltext ist ungültig."),
        _ => ("titel", "Die Eingabe ist ungültig."),
    }
}

/// `POST /betrieb/stammtexte`: a new base text (operators).
pub async fn create_base_text(
    req: HttpRequest,
    state: web::Data<WebState>,
    form: Form<BaseForm>,
) -> HttpResponse {
    let Form {
        session: s,
        data: f,
    } = form;
    if let Err(e) = s.actor.authorize_operator() {
        return domain_error(&req, &s, &e);
    }
    let (mut errors, level) = base_errors(&f);
    if f.leika.trim().is_empty() {
        errors.add("leika", base_domain_error("leika").1);
    }
    let (Some(level), false) = (level, errors.any()) else {
        return render_catalog(
            &req,
            &state,
            &s,
            None,
            Some(f),
            errors,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let modules = verbund_knowledge::model::Modules {
        kurztext: Some(f.kurztext.trim().to_owned()).filter(|t| !t.is_empty()),
        volltext: Some(f.volltext.trim().to_owned()).filter(|t| !t.is_empty()),
        ..Default::default()
    };
    let input = NewBaseText {
        leika: f.leika.trim().to_owned(),
        level,
        title: f.titel.trim().to_owned(),
        synonyms: Vec::new(),
        modules,
    };
    match catalog::create_base_text(&state.db, &s.actor, input).await {
        Ok(_) => see_other(&s, &req, "/betrieb/stammtexte?ok=stammtext"),
        Err(verbund_tenant::Error::Invalid { field, .. }) => {
            let (field, msg) = base_domain_error(&field);
            let mut errors = Errors::default();
            errors.add(field, msg);
            render_catalog(
                &req,
                &state,
                &s,
                None,
                Some(f),
                errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(verbund_tenant::Error::Conflict(..)) => {
            let mut errors = Errors::default();
            errors.add(
                "leika",
                "Zu diesem LeiKa-Schlüssel gibt es schon einen Stammtext.",
            );
            render_catalog(
                &req,
                &state,
                &s,
                None,
                Some(f),
                errors,
                None,
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(e) => domain_error(&req, &s, &e),
    }
}

/// `POST /betrieb/stammtexte/{id}`: changes title, level, Kurztext and Volltext of a base
/// text (the other modules stay); a stale revision is refused.
pub async fn update_base_text(
    req: HttpRequest,
    state: web::Data<WebState>,
    id: web::Path<String>,
    form: Form<BaseForm>,
) -> HttpResponse {
    let Form {
        session: s,
        data: f,
    } = form;
    if let Err(e) = s.actor.authorize_operator() {
        return domain_error(&req, &s, &e);
    }
    let Ok(uuid) = uuid::Uuid::parse_str(&id) else {
        return domain_error(&req, &s, &verbund_tenant::Error::NotFound("base text"));
    };
    let current = match catalog::get_base_text(&state.db, &s.actor, uuid).await {
        Ok(c) => c,
        Err(e) => return domain_error(&req, &s, &e),
    };
    let editing = Some(id.to_string());
    let (mut errors, level) = base_errors(&f);
    let revision = f.revision.trim().parse::<i32>().ok();
    if revision.is_none() {
        errors.add(
            "titel",
            "Das Formular war unvollständig. Bitte laden Sie die Seite neu.",
        );
    }
    let (Some(level), Some(revision), false) = (level, revision, errors.any()) else {
        return render_catalog(
            &req,
            &state,
            &s,
            editing,
            Some(f),
            errors,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let mut modules = current.modules.clone();
    modules.kurztext = Some(f.kurztext.trim().to_owned()).filter(|t| !t.is_empty());
    modules.volltext = Some(f.volltext.trim().to_owned()).filter(|t| !t.is_empty());
    let patch = BaseTextPatch {
        revision,
        level: Some(level),
        title: Some(f.titel.trim().to_owned()),
        synonyms: None,
        modules: Some(modules),
    };
    match catalog::update_base_text(&state.db, &s.actor, uuid, patch).await {
        Ok(_) => see_other(&s, &req, "/betrieb/stammtexte?ok=stammtext"),
        Err(verbund_tenant::Error::Invalid { field, .. }) => {
            let (field, msg) = base_domain_error(&field);
            let mut errors = Errors::default();
            errors.add(field, msg);
            render_catalog(
                &req,
                &state,
                &s,
                editing,
                Some(f),
                errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(verbund_tenant::Error::Conflict(..)) => {
            let mut errors = Errors::default();
            errors.add(
                "titel",
                "Der Stammtext wurde inzwischen geändert. Ihre Eingaben stehen noch im Formular; bitte laden Sie neu und übernehmen Sie sie.",
            );
            render_catalog(
                &req,
                &state,
                &s,
                editing,
                Some(f),
                errors,
                None,
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(e) => domain_error(&req, &s, &e),
    }
}
