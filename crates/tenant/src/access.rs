//! Access control: the one place that decides "may this actor do X for tenant T".
//!
//! An [`Actor`] can only be built by [`crate::auth::Authenticator::authenticate`], from a
//! verified token and the role assignments stored for its session's user. A [`TenantScope`] is
//! the proof that the actor may do one thing for one tenant (it records the [`Permission`]); it
//! can only be obtained from [`Actor::authorize`]. Tables are queried only in the repository
//! module of each domain crate (`src/repo.rs`), whose functions take a scope (or a
//! [`Visibility`] for lists, a [`SystemScope`] for background jobs) and add the tenant
//! condition themselves; `clippy.toml` makes a raw `find`/`find_by_id`/`update_many`/
//! `delete_many` elsewhere fail the build. A query that forgets the tenant cannot be written
//! outside a repository, and inside one every function's signature names its proof.
//!
//! Every rule lives here, the knowledge read rule included (section "Knowledge" below).

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::sea_query::SimpleExpr;
use sea_orm::{ColumnTrait, Condition};
use uuid::Uuid;
use verbund_schema::ids::TenantId;

use crate::error::{Error, Result};

/// A role a user can hold, each scoped to a tenant or a center (operator: the whole Verbund).
/// The type lives in the schema crate beside its column (`role_assignments.role`); its access
/// rules are here ([`RoleRules`]).
pub use verbund_schema::types::Role;

/// What a [`Role`] may be granted on and what it permits: the rules of the roles, here with
/// every other access rule (a trait because the type is the schema crate's).
pub trait RoleRules: Copy {
    /// Which scopes a role may be granted on.
    fn allows_scope(self, scope: &GrantScope) -> bool;
    /// The permissions a role grants on the tenants of its scope.
    fn grants(self, permission: Permission) -> bool;
    /// Whether the role sees the Verbund's cross-tenant forwarding traffic (counts, numbers,
    /// tenants, due dates and states; no citizen data).
    fn sees_verbund_traffic(self) -> bool;
}

impl RoleRules for Role {
    fn allows_scope(self, scope: &GrantScope) -> bool {
        match (self, scope) {
            (Role::Operator, GrantScope::Verbund) => true,
            (Role::Operator, _) => false,
            (Role::Coordinator, GrantScope::Verbund) => true,
            (Role::Coordinator, _) => false,
            (Role::Agent, GrantScope::Center(_) | GrantScope::Tenant(_)) => true,
            (_, GrantScope::Tenant(_)) => true,
            _ => false,
        }
    }

    fn grants(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Operator => true,
            Role::TenantAdmin => matches!(
                permission,
                ViewTenant
                    | ManageTenant
                    | ViewUsers
                    | ManageUsers
                    | EditKnowledge
                    | ReadKnowledge
                    | ManageOrgUnits
                    | ViewReports
                    | ManageCoverage
                    | ViewTickets
                    | WorkOutbox
            ),
            Role::Editor => matches!(
                permission,
                ViewTenant | EditKnowledge | ReadKnowledge | ManageOrgUnits
            ),
            Role::Agent => matches!(
                permission,
                ViewTenant | ReadKnowledge | HandleContacts | HandleTickets | ViewTickets
            ),
            Role::Responder => matches!(
                permission,
                ViewTenant
                    | ReadKnowledge
                    | HandleTickets
                    | ViewTickets
                    | WorkMailQueue
                    | WorkOutbox
            ),
            // No permission on any tenant: the Verbund traffic is its own proof
            // ([`Actor::authorize_verbund_traffic`]).
            Role::Coordinator => false,
        }
    }

    fn sees_verbund_traffic(self) -> bool {
        matches!(self, Role::Operator | Role::Coordinator)
    }
}

/// Something an actor may want to do for a tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Read the tenant's master data.
    ViewTenant,
    /// Change the tenant's master data and settings.
    ManageTenant,
    ViewUsers,
    ManageUsers,
    /// Create and change the tenant's service descriptions.
    EditKnowledge,
    /// Read the tenant's knowledge, drafts included.
    ReadKnowledge,
    ManageOrgUnits,
    /// Log contacts answered for the tenant.
    HandleContacts,
    /// Work and answer the tenant's tickets.
    HandleTickets,
    ViewTickets,
    WorkMailQueue,
    ViewReports,
    /// Let another center act for the tenant for a while.
    ManageCoverage,
    /// Platform administration: create tenants and centers.
    Operate,
    /// See the tenant's outbox (every outbound mail with its delivery state) and put a failed
    /// or bounced mail back into the queue: the tenant's responders, who answer the mail, and
    /// its admins.
    WorkOutbox,
}

/// Where a role assignment applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GrantScope {
    Verbund,
    Tenant(TenantId),
    Center(Uuid),
}

/// One role assignment with the tenants it reaches, resolved when the actor was built.
#[derive(Clone, Debug)]
pub struct Grant {
    pub role: Role,
    pub scope: GrantScope,
    tenants: BTreeSet<TenantId>,
}

impl Grant {
    pub(crate) fn new(role: Role, scope: GrantScope, tenants: BTreeSet<TenantId>) -> Self {
        Self {
            role,
            scope,
            tenants,
        }
    }

    pub fn reaches(&self, tenant_id: TenantId) -> bool {
        self.scope == GrantScope::Verbund || self.tenants.contains(&tenant_id)
    }
}

/// What the actor's roles look like to a person: role assignments by slug, and the tenants the
/// actor can act for. Resolved together with the grants, so `GET /me` needs no further query.
#[derive(Clone, Debug, Default, serde::Serialize, utoipa::ToSchema)]
pub struct ActorProfile {
    /// The tenant that owns the account.
    pub tenant: Option<String>,
    pub roles: Vec<crate::users::RoleSpec>,
    /// Every active tenant the user can act for, with the roles that reach it.
    pub tenants: Vec<crate::directory::ActingTenant>,
}

/// The authenticated user on whose behalf a request runs.
#[derive(Clone, Debug)]
pub struct Actor {
    user_id: Uuid,
    session_id: Uuid,
    email: String,
    display_name: String,
    grants: Vec<Grant>,
    profile: ActorProfile,
    /// When the grants change by themselves (a coverage between centers starts or ends).
    valid_until: Option<chrono::DateTime<chrono::Utc>>,
    /// The tenants the grants name, as loaded with them (see [`Actor::tenant`]).
    tenants: std::sync::Arc<Vec<verbund_schema::tenant::Model>>,
}

impl Actor {
    pub(crate) fn new(
        user_id: Uuid,
        session_id: Uuid,
        email: String,
        display_name: String,
        grants: Vec<Grant>,
    ) -> Self {
        Self {
            user_id,
            session_id,
            email,
            display_name,
            grants,
            profile: ActorProfile::default(),
            valid_until: None,
            tenants: Default::default(),
        }
    }

    pub(crate) fn with_tenants(mut self, tenants: Vec<verbund_schema::tenant::Model>) -> Self {
        self.tenants = std::sync::Arc::new(tenants);
        self
    }

    /// A tenant the actor's grants name (active or not), as it was when the grants were
    /// loaded. The grants are reloaded after every change of a tenant (the same epoch), so this
    /// is as fresh as the permission check it goes with, without a query per request.
    pub fn tenant(&self, slug: &str) -> Option<&verbund_schema::tenant::Model> {
        self.tenants.iter().find(|t| t.slug == slug)
    }

    pub(crate) fn valid_until(mut self, at: Option<chrono::DateTime<chrono::Utc>>) -> Self {
        self.valid_until = at;
        self
    }

    /// Until when the grants hold without a change in the database (None: no end).
    pub fn grants_valid_until(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.valid_until
    }

    pub(crate) fn with_profile(mut self, profile: ActorProfile) -> Self {
        self.profile = profile;
        self
    }

    pub fn profile(&self) -> &ActorProfile {
        &self.profile
    }

    pub fn user_id(&self) -> Uuid {
        self.user_id
    }
    pub fn session_id(&self) -> Uuid {
        self.session_id
    }
    pub fn email(&self) -> &str {
        &self.email
    }
    pub fn display_name(&self) -> &str {
        &self.display_name
    }
    pub fn grants(&self) -> &[Grant] {
        &self.grants
    }

    pub fn is_operator(&self) -> bool {
        self.grants.iter().any(|g| g.role == Role::Operator)
    }

    /// May this actor do `permission` for `tenant_id`?
    pub fn may(&self, permission: Permission, tenant_id: TenantId) -> bool {
        self.grants
            .iter()
            .any(|g| g.role.grants(permission) && g.reaches(tenant_id))
    }

    /// The proof that this actor may do `permission` for `tenant_id`, or `Forbidden`.
    ///
    /// The tenant is a [`TenantId`]: a ticket's id, or a plain `Uuid` from a request, does not
    /// compile here, so a scope is never made for the wrong kind of id:
    ///
    /// ```compile_fail,E0308
    /// use verbund_tenant::{Actor, Permission, TenantScope};
    /// use verbund_schema::ids::TicketId;
    ///
    /// fn scope_of(actor: &Actor, ticket: TicketId) -> verbund_tenant::Result<TenantScope> {
    ///     actor.authorize(Permission::ViewTickets, ticket)
    /// }
    /// ```
    ///
    /// ```compile_fail,E0308
    /// use verbund_tenant::{Actor, Permission, TenantScope};
    ///
    /// fn scope_of(actor: &Actor, id: uuid::Uuid) -> verbund_tenant::Result<TenantScope> {
    ///     actor.authorize(Permission::ViewTickets, id)
    /// }
    /// ```
    ///
    /// while the same call with a tenant's id compiles (a `Uuid` from a DTO becomes one with
    /// `.into()`, stating that it is a tenant's):
    ///
    /// ```
    /// use verbund_tenant::{Actor, Permission, TenantScope};
    /// use verbund_schema::ids::TenantId;
    ///
    /// fn scope_of(actor: &Actor, tenant: TenantId) -> verbund_tenant::Result<TenantScope> {
    ///     actor.authorize(Permission::ViewTickets, tenant)
    /// }
    ///
    /// fn scope_of_dto(actor: &Actor, id: uuid::Uuid) -> verbund_tenant::Result<TenantScope> {
    ///     actor.authorize(Permission::ViewTickets, id.into())
    /// }
    /// ```
    pub fn authorize(&self, permission: Permission, tenant_id: TenantId) -> Result<TenantScope> {
        if self.may(permission, tenant_id) {
            Ok(TenantScope {
                tenant_id,
                actor_id: self.user_id,
                operator: self.is_operator(),
                permission,
            })
        } else {
            Err(Error::Forbidden("not permitted for this tenant"))
        }
    }

    /// The proof that this actor sees the Verbund's cross-tenant forwarding traffic
    /// (operators and coordinators), or `Forbidden`.
    pub fn authorize_verbund_traffic(&self) -> Result<VerbundTrafficScope> {
        if self
            .grants
            .iter()
            .any(|g| g.scope == GrantScope::Verbund && g.role.sees_verbund_traffic())
        {
            Ok(VerbundTrafficScope {
                actor_id: self.user_id,
            })
        } else {
            Err(Error::Forbidden(
                "only operators and coordinators see the Verbund's forwarding traffic",
            ))
        }
    }

    /// Platform administration (create tenants and centers).
    pub fn authorize_operator(&self) -> Result<OperatorScope> {
        if self.is_operator() {
            Ok(OperatorScope {
                actor_id: self.user_id,
            })
        } else {
            Err(Error::Forbidden("only operators may do this"))
        }
    }

    /// The proof that this actor manages the accounts of `tenant_id`, with the tenants it
    /// administers for the account rule (see [`AccountScope`]).
    pub fn authorize_accounts(&self, tenant_id: TenantId) -> Result<AccountScope> {
        Ok(AccountScope {
            tenant: self.authorize(Permission::ManageUsers, tenant_id)?,
            administered: self.visibility(Permission::ManageUsers),
        })
    }

    /// The tenants for which this actor may do `permission`.
    pub fn visibility(&self, permission: Permission) -> Visibility {
        let mut tenants = BTreeSet::new();
        for grant in self.grants.iter().filter(|g| g.role.grants(permission)) {
            if grant.scope == GrantScope::Verbund {
                return Visibility {
                    all: true,
                    tenants: BTreeSet::new(),
                };
            }
            tenants.extend(grant.tenants.iter().copied());
        }
        Visibility {
            all: false,
            tenants,
        }
    }

    /// Every tenant the actor can act for at all, with the roles that reach it.
    pub fn tenant_roles(&self) -> BTreeMap<TenantId, BTreeSet<Role>> {
        let mut out: BTreeMap<TenantId, BTreeSet<Role>> = BTreeMap::new();
        for grant in &self.grants {
            for tenant in &grant.tenants {
                out.entry(*tenant).or_default().insert(grant.role);
            }
        }
        out
    }
}

/// Proof that an actor may do one thing for one tenant. Only [`Actor::authorize`] makes one.
#[derive(Clone, Debug)]
pub struct TenantScope {
    tenant_id: TenantId,
    actor_id: Uuid,
    operator: bool,
    /// What the scope proves the actor may do for the tenant.
    permission: Permission,
}

impl TenantScope {
    pub fn tenant_id(&self) -> TenantId {
        self.tenant_id
    }
    pub fn actor_id(&self) -> Uuid {
        self.actor_id
    }
    pub fn is_operator(&self) -> bool {
        self.operator
    }
    /// The permission this scope proves.
    pub fn permission(&self) -> Permission {
        self.permission
    }
    /// `tenant_id = <scope tenant>` for the given column: AND it into every query.
    pub fn filter<C: ColumnTrait>(&self, column: C) -> SimpleExpr {
        column.eq(self.tenant_id)
    }
}

/// Proof that the actor is an operator.
#[derive(Clone, Debug)]
pub struct OperatorScope {
    actor_id: Uuid,
}

impl OperatorScope {
    /// The built-in system actor, for set-up that runs without a logged-in user.
    pub(crate) fn system() -> Self {
        Self {
            actor_id: Uuid::nil(),
        }
    }

    pub fn actor_id(&self) -> Uuid {
        self.actor_id
    }
}

/// Proof that the actor sees the cross-tenant forwarding traffic of the whole Verbund: counts
/// per pair of tenants and the forwarded tickets at risk, without citizen data. Only
/// [`Actor::authorize_verbund_traffic`] makes one.
#[derive(Clone, Debug)]
pub struct VerbundTrafficScope {
    actor_id: Uuid,
}

impl VerbundTrafficScope {
    pub fn actor_id(&self) -> Uuid {
        self.actor_id
    }
}

/// One role assignment of some account, as the account rule sees it: where it applies and the
/// tenants it lies in. A tenant role lies in its tenant; a center role in every tenant the
/// center serves (its standing list and the tenants of coverages in force or still to come);
/// the operator role, and a stored row that cannot be read, in the whole Verbund.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    scope: GrantScope,
    tenants: BTreeSet<TenantId>,
}

impl Assignment {
    /// The operator role, or a stored row that is not understood: it lies in the whole Verbund.
    pub fn verbund() -> Self {
        Self {
            scope: GrantScope::Verbund,
            tenants: BTreeSet::new(),
        }
    }

    pub fn tenant(tenant_id: TenantId) -> Self {
        Self {
            scope: GrantScope::Tenant(tenant_id),
            tenants: BTreeSet::from([tenant_id]),
        }
    }

    /// A role on a center that serves `served` (every tenant linked to it, active or not, and
    /// every tenant it covers now or later).
    pub fn center(center_id: Uuid, served: BTreeSet<TenantId>) -> Self {
        Self {
            scope: GrantScope::Center(center_id),
            tenants: served,
        }
    }

    pub fn scope(&self) -> GrantScope {
        self.scope
    }

    /// Whether the assignment lies in (among others) this tenant.
    pub fn lies_in(&self, tenant_id: TenantId) -> bool {
        self.tenants.contains(&tenant_id)
    }
}

/// Proof that the actor manages accounts for one tenant (`ManageUsers`), together with the
/// tenants it administers. Only [`Actor::authorize_accounts`] makes one.
///
/// **The account rule** (the one place it is decided; every path that creates or changes an
/// account, its password, name, activity, roles or sessions asks [`AccountScope::may_change`]
/// and [`AccountScope::may_grant`]):
/// - an operator may change every account and grant every role;
/// - anyone else may change an account only if **every** role the account holds lies inside
///   the tenants the actor administers (holds `tenant_admin` on, active), and grant only roles
///   that lie inside them;
/// - a tenant role lies inside when its tenant is administered; a center role only when the
///   center serves at least one tenant and **every** tenant it serves is administered (an agent
///   of a center shared by Trier and Trier-Saarburg answers for both, so the admin of only one of
///   them must not take the account over). A coverage counts while it is in force or still to
///   come: while `sc-koblenz` acts for Mainz its agents reach Mainz's tickets, so the admin of
///   Koblenz alone must neither take such an account over nor make new ones (an operator can);
/// - the operator role lies inside nobody's tenants.
///
/// An account without roles is changed by the admins of the tenant that owns it (the path
/// already confines the account to that tenant).
#[derive(Clone, Debug)]
pub struct AccountScope {
    tenant: TenantScope,
    administered: Visibility,
}

impl AccountScope {
    /// The tenant whose accounts are managed.
    pub fn tenant(&self) -> &TenantScope {
        &self.tenant
    }

    pub fn is_operator(&self) -> bool {
        self.tenant.operator
    }

    /// Whether one role assignment lies inside the tenants the actor administers.
    pub fn covers(&self, assignment: &Assignment) -> bool {
        if self.tenant.operator {
            return true;
        }
        match assignment.scope {
            GrantScope::Verbund => false,
            GrantScope::Tenant(t) => self.administered.contains(t),
            GrantScope::Center(_) => {
                !assignment.tenants.is_empty()
                    && assignment
                        .tenants
                        .iter()
                        .all(|t| self.administered.contains(*t))
            }
        }
    }

    /// May the actor change an account holding `roles` (password, name, activity, roles,
    /// sessions)? `Forbidden` unless every role lies inside the actor's tenants.
    pub fn may_change(&self, roles: &[Assignment]) -> Result<()> {
        if roles.iter().all(|r| self.covers(r)) {
            Ok(())
        } else {
            Err(Error::Forbidden(
                "this account has roles outside the tenants you administer; only an operator may change it",
            ))
        }
    }

    /// May the actor grant every one of `roles`?
    pub fn may_grant(&self, roles: &[Assignment]) -> Result<()> {
        if roles.iter().all(|r| self.covers(r)) {
            Ok(())
        } else {
            Err(Error::Forbidden(
                "you may grant only roles inside the tenants you administer",
            ))
        }
    }
}

/// The set of tenants an actor may see for a permission, for list queries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Visibility {
    all: bool,
    tenants: BTreeSet<TenantId>,
}

impl Visibility {
    pub fn is_all(&self) -> bool {
        self.all
    }
    pub fn contains(&self, tenant_id: TenantId) -> bool {
        self.all || self.tenants.contains(&tenant_id)
    }
    pub fn tenants(&self) -> Option<&BTreeSet<TenantId>> {
        (!self.all).then_some(&self.tenants)
    }
    /// A condition to AND into list queries: the tenant column is one of the visible tenants.
    pub fn condition<C: ColumnTrait>(&self, column: C) -> Condition {
        if self.all {
            Condition::all()
        } else {
            Condition::all().add(column.is_in(self.tenants.iter().copied()))
        }
    }
}

/// Proof for background work that runs without a user: SLA escalation, deadlines, mail intake
/// and outbox delivery, privacy retention. Repository functions that take it are named
/// `system_*`, so every place where the tenant is not checked against a user is easy to find.
///
/// Not a value anyone may make: [`SystemScope::job`] is a `disallowed-methods` entry in
/// `clippy.toml` (`cargo clippy -- -D warnings` fails on a new caller), and each of the few
/// callers states why with `#[expect(clippy::disallowed_methods, reason = ..)]`:
/// - `verbund_server::workers::spawn_jobs`: the periodic jobs of the application
///   ([`Job::Escalation`], [`Job::PrivacyRetention`]), which hand the scope to
///   `verbund_ticketing::escalation::run_once` and `verbund_ticketing::privacy::run_due_anonymization`;
/// - the search index follower started by the application (`verbund_knowledge::search`,
///   [`Job::SearchIndex`]);
/// - `verbund import` on the server's own machine (`verbund_knowledge::store::import_unchecked`,
///   [`Job::Import`]);
/// - mail intake, which saves a ticket for the tenant the mail was routed to
///   (`verbund_ticketing::tickets::reopen_for_mail`, [`Job::MailIntake`]).
///
/// Request handlers never make one; tests may, saying so.
#[derive(Clone, Copy, Debug)]
pub struct SystemScope {
    job: Job,
}

/// The background jobs that act without a user: the closed set a [`SystemScope`] names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Job {
    Escalation,
    PrivacyRetention,
    MailIntake,
    SearchIndex,
    Import,
    /// The ticket change feed's follower (live queues).
    TicketFeed,
}

impl Job {
    pub fn name(self) -> &'static str {
        match self {
            Self::Escalation => "escalation",
            Self::PrivacyRetention => "privacy-retention",
            Self::MailIntake => "mail-intake",
            Self::SearchIndex => "search-index",
            Self::Import => "import",
            Self::TicketFeed => "ticket-feed",
        }
    }
}

impl SystemScope {
    /// The scope of the background job `job`. Only at a job's entry point (see the type's
    /// documentation); `clippy.toml` refuses every other caller.
    pub fn job(job: Job) -> Self {
        Self { job }
    }

    pub fn name(&self) -> &'static str {
        self.job.name()
    }
}

// ---------------------------------------------------------------------------------------------
// Knowledge: who may read which descriptions and offices
// ---------------------------------------------------------------------------------------------

/// Who may read which knowledge: the rule, here with every other access rule.
///
/// - Drafts and archived descriptions are visible only inside the owning tenant: to users
///   with a `ReadKnowledge` role granted on that tenant itself (editors, admins, responders,
///   agents of the tenant), to agents of a center for the tenant that owns their account, and
///   to operators. An agent of a shared center does not see the drafts of the other tenants
///   the center serves, nor those of a tenant it covers for.
/// - Published descriptions of every tenant are readable by every authenticated user who has
///   `ReadKnowledge` on at least one tenant, so any center can answer for any participant.
/// - Changes need `EditKnowledge` (descriptions) or `ManageOrgUnits` (offices) on the owning
///   tenant.
pub mod knowledge {
    use std::collections::BTreeSet;

    use sea_orm::{ColumnTrait, Condition};
    use verbund_schema::ids::TenantId;
    use verbund_schema::service;

    use super::{Actor, GrantScope, Permission, RoleRules};
    use crate::error::{Error, Result};

    /// The stored status of a published description (`knowledge_services.status`).
    const PUBLISHED: &str = "published";

    /// True if the actor may read knowledge of at least one tenant (any agent, responder,
    /// editor, admin or operator).
    pub fn reads_any(actor: &Actor) -> bool {
        let vis = actor.visibility(Permission::ReadKnowledge);
        vis.is_all() || vis.tenants().is_some_and(|t| !t.is_empty())
    }

    /// `Forbidden` unless the actor reads knowledge somewhere.
    pub fn require_reader(actor: &Actor) -> Result<()> {
        if reads_any(actor) {
            Ok(())
        } else {
            Err(Error::Forbidden("reading knowledge is not permitted"))
        }
    }

    /// Whose drafts (and archived descriptions) an actor sees.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum DraftTenants {
        /// Every tenant's (operators).
        All,
        /// Only these tenants'.
        Of(BTreeSet<TenantId>),
    }

    impl DraftTenants {
        pub fn contains(&self, tenant_id: TenantId) -> bool {
            match self {
                Self::All => true,
                Self::Of(set) => set.contains(&tenant_id),
            }
        }
    }

    /// The tenants the actor belongs to for knowledge: a `ReadKnowledge` role granted on the
    /// tenant itself, or on a center for the tenant that owns the account.
    pub fn draft_tenants(actor: &Actor) -> DraftTenants {
        let profile = actor.profile();
        let home: Option<TenantId> = profile.tenant.as_deref().and_then(|slug| {
            profile
                .tenants
                .iter()
                .find(|t| t.slug == slug)
                .map(|t| TenantId::from(t.id))
        });
        let mut out = BTreeSet::new();
        for grant in actor
            .grants()
            .iter()
            .filter(|g| g.role.grants(Permission::ReadKnowledge))
        {
            match grant.scope {
                GrantScope::Verbund => return DraftTenants::All,
                GrantScope::Tenant(t) => {
                    if grant.reaches(t) {
                        out.insert(t);
                    }
                }
                GrantScope::Center(_) => {
                    if let Some(h) = home.filter(|h| grant.reaches(*h)) {
                        out.insert(h);
                    }
                }
            }
        }
        DraftTenants::Of(out)
    }

    /// The published-or-own-tenant condition for description queries: AND it into every
    /// query that reads `knowledge_services`.
    pub fn readable_services(actor: &Actor) -> Condition {
        let own = match draft_tenants(actor) {
            DraftTenants::All => return Condition::all(),
            DraftTenants::Of(set) => set,
        };
        // An empty set matches nothing.
        let mut any = Condition::any().add(service::Column::TenantId.is_in(own));
        if reads_any(actor) {
            any = any.add(service::Column::Status.eq(PUBLISHED));
        }
        any
    }

    /// The same rule for one loaded row.
    pub fn can_read_service(actor: &Actor, tenant_id: TenantId, status: &str) -> bool {
        sees_drafts_of(actor, tenant_id) || (status == PUBLISHED && reads_any(actor))
    }

    /// Whether drafts (and archived descriptions) of `tenant_id` are visible to the actor.
    pub fn sees_drafts_of(actor: &Actor, tenant_id: TenantId) -> bool {
        draft_tenants(actor).contains(tenant_id)
    }

    /// Org units (offices, addresses, opening hours) are public information: every reader of
    /// knowledge may see those of every tenant.
    pub fn can_read_org_units(actor: &Actor, tenant_id: TenantId) -> bool {
        actor.may(Permission::ReadKnowledge, tenant_id) || reads_any(actor)
    }

    /// Proof that the actor reads knowledge (`ReadKnowledge` on some tenant), with whose
    /// drafts it sees. The knowledge repository takes it for every read of descriptions and
    /// offices and applies the rule above itself. Only [`reader`] makes one.
    #[derive(Clone, Debug)]
    pub struct KnowledgeReader {
        drafts: DraftTenants,
    }

    /// The reader proof, or `Forbidden` (as [`require_reader`]).
    pub fn reader(actor: &Actor) -> Result<KnowledgeReader> {
        require_reader(actor)?;
        Ok(KnowledgeReader {
            drafts: draft_tenants(actor),
        })
    }

    impl KnowledgeReader {
        /// The published-or-own-drafts condition on `knowledge_services` (see
        /// [`readable_services`]).
        pub fn services(&self) -> Condition {
            match &self.drafts {
                DraftTenants::All => Condition::all(),
                DraftTenants::Of(own) => Condition::any()
                    .add(service::Column::TenantId.is_in(own.iter().copied()))
                    .add(service::Column::Status.eq(PUBLISHED)),
            }
        }

        /// Whether drafts (and archived descriptions) of `tenant_id` are visible.
        pub fn sees_drafts_of(&self, tenant_id: TenantId) -> bool {
            self.drafts.contains(tenant_id)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> (TenantId, TenantId, TenantId, Uuid) {
        (
            TenantId::now_v7(),
            TenantId::now_v7(),
            TenantId::now_v7(),
            Uuid::now_v7(),
        )
    }

    fn actor(grants: Vec<Grant>) -> Actor {
        Actor::new(
            Uuid::now_v7(),
            Uuid::now_v7(),
            "a@b.de".into(),
            "A".into(),
            grants,
        )
    }

    #[test]
    fn center_agent_acts_for_served_tenants_only() {
        let (trier, kreis, koblenz, center) = ids();
        let agent = actor(vec![Grant::new(
            Role::Agent,
            GrantScope::Center(center),
            [trier, kreis].into(),
        )]);
        assert!(agent.may(Permission::HandleTickets, trier));
        assert!(agent.may(Permission::HandleTickets, kreis));
        assert!(!agent.may(Permission::HandleTickets, koblenz));
        assert!(!agent.may(Permission::ManageUsers, trier));
        assert!(!agent.may(Permission::EditKnowledge, trier));
        let vis = agent.visibility(Permission::ViewTickets);
        assert!(vis.contains(trier) && vis.contains(kreis) && !vis.contains(koblenz));
        assert!(agent.authorize_operator().is_err());
    }

    #[test]
    fn tenant_admin_is_confined_to_its_tenant() {
        let (koblenz, mainz, _, _) = ids();
        let admin = actor(vec![Grant::new(
            Role::TenantAdmin,
            GrantScope::Tenant(koblenz),
            [koblenz].into(),
        )]);
        assert!(admin.authorize(Permission::ManageUsers, koblenz).is_ok());
        assert!(matches!(
            admin.authorize(Permission::ManageUsers, mainz),
            Err(Error::Forbidden(_))
        ));
        assert!(!admin.may(Permission::ViewUsers, mainz));
        assert!(!admin.may(Permission::HandleContacts, koblenz));
    }

    #[test]
    fn operator_reaches_everything() {
        let (t, _, _, _) = ids();
        let op = actor(vec![Grant::new(
            Role::Operator,
            GrantScope::Verbund,
            BTreeSet::new(),
        )]);
        assert!(op.may(Permission::ManageUsers, t));
        assert!(op.visibility(Permission::ViewTenant).is_all());
        assert!(op.authorize_operator().is_ok());
    }

    #[test]
    fn roles_on_scopes() {
        let t = GrantScope::Tenant(TenantId::from(Uuid::nil()));
        let c = GrantScope::Center(Uuid::nil());
        assert!(Role::Agent.allows_scope(&c));
        assert!(Role::Editor.allows_scope(&t));
        assert!(!Role::Editor.allows_scope(&c));
        assert!(!Role::Operator.allows_scope(&t));
        assert!(!Role::TenantAdmin.allows_scope(&GrantScope::Verbund));
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(*r));
        }
    }

    #[test]
    fn account_rule_needs_every_role_inside_the_administered_tenants() {
        let (trier, kreis, koblenz, center) = ids();
        let trier_admin = actor(vec![Grant::new(
            Role::TenantAdmin,
            GrantScope::Tenant(trier),
            [trier].into(),
        )]);
        let scope = match trier_admin.authorize_accounts(trier) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        assert!(trier_admin.authorize_accounts(koblenz).is_err());
        // Own tenant's roles: inside.
        assert!(scope.may_change(&[Assignment::tenant(trier)]).is_ok());
        assert!(scope.may_change(&[]).is_ok());
        // A role in another tenant, the operator role, an unreadable row: outside.
        for outside in [
            vec![Assignment::tenant(trier), Assignment::tenant(koblenz)],
            vec![Assignment::verbund()],
        ] {
            assert!(matches!(
                scope.may_change(&outside),
                Err(Error::Forbidden(_))
            ));
            assert!(scope.may_grant(&outside).is_err());
        }
        // A center serving Trier and Trier-Saarburg is inside only for an admin of both.
        let shared = Assignment::center(center, [trier, kreis].into());
        assert!(scope.may_change(std::slice::from_ref(&shared)).is_err());
        assert!(scope.may_grant(std::slice::from_ref(&shared)).is_err());
        let both = actor(vec![
            Grant::new(Role::TenantAdmin, GrantScope::Tenant(trier), [trier].into()),
            Grant::new(Role::TenantAdmin, GrantScope::Tenant(kreis), [kreis].into()),
        ]);
        let both = match both.authorize_accounts(trier) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        assert!(both.may_change(std::slice::from_ref(&shared)).is_ok());
        assert!(both.may_grant(std::slice::from_ref(&shared)).is_ok());
        // A center serving no tenant is nobody's but the operators'.
        assert!(
            both.may_change(&[Assignment::center(center, BTreeSet::new())])
                .is_err()
        );
        // An agent's center grant gives no account rights at all.
        let agent = actor(vec![Grant::new(
            Role::Agent,
            GrantScope::Center(center),
            [trier, kreis].into(),
        )]);
        assert!(agent.authorize_accounts(trier).is_err());
        // Operators change everyone.
        let op = actor(vec![Grant::new(
            Role::Operator,
            GrantScope::Verbund,
            BTreeSet::new(),
        )]);
        let op = match op.authorize_accounts(koblenz) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        assert!(
            op.may_change(&[Assignment::verbund(), shared, Assignment::tenant(trier)])
                .is_ok()
        );
    }

    #[test]
    fn no_grants_no_access() {
        let (t, _, _, _) = ids();
        let nobody = actor(vec![]);
        assert!(!nobody.may(Permission::ViewTenant, t));
        assert!(
            nobody
                .visibility(Permission::ViewTenant)
                .tenants()
                .is_some_and(|s| s.is_empty())
        );
    }

    #[test]
    fn coordinator_sees_the_verbund_traffic_and_no_tenant() {
        let (t, _, _, _) = ids();
        let coordinator = actor(vec![Grant::new(
            Role::Coordinator,
            GrantScope::Verbund,
            BTreeSet::new(),
        )]);
        assert!(coordinator.authorize_verbund_traffic().is_ok());
        assert!(coordinator.authorize_operator().is_err());
        assert!(!coordinator.is_operator());
        for p in [
            Permission::ViewTenant,
            Permission::ViewTickets,
            Permission::HandleTickets,
            Permission::ViewReports,
            Permission::ReadKnowledge,
            Permission::ManageTenant,
        ] {
            assert!(!coordinator.may(p, t), "{p:?}");
            assert!(
                coordinator
                    .visibility(p)
                    .tenants()
                    .is_some_and(|s| s.is_empty())
            );
        }
        assert!(Role::Coordinator.allows_scope(&GrantScope::Verbund));
        assert!(!Role::Coordinator.allows_scope(&GrantScope::Tenant(t)));
        let op = actor(vec![Grant::new(
            Role::Operator,
            GrantScope::Verbund,
            BTreeSet::new(),
        )]);
        assert!(op.authorize_verbund_traffic().is_ok());
        let admin = actor(vec![Grant::new(
            Role::TenantAdmin,
            GrantScope::Tenant(t),
            [t].into(),
        )]);
        assert!(matches!(
            admin.authorize_verbund_traffic(),
            Err(Error::Forbidden(_))
        ));
    }
}
