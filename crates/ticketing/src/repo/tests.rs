//! Isolation of the repository itself: a function given another tenant's proof finds and
//! changes nothing. Each test runs on SQLite and on PostgreSQL (`VERBUND_TEST_PG_URL`).

use verbund_tenant::db::Db;

use sea_orm::Set;
use verbund_tenant::{Actor, Permission};

use super::*;
use crate::model::AnswerChannel;
use crate::tickets::NewTicket;

pub(crate) use verbund_tenant::testing::{Backend, database, login};

async fn tenant_id(db: &Db, slug: &str) -> verbund_schema::ids::TenantId {
    verbund_tenant::directory::find_tenant(db, slug)
        .await
        .expect("tenant")
        .id
}

async fn koblenz_ticket(db: &Db, agent: &Actor) -> ticket::Model {
    let view = crate::tickets::create_ticket(
        db,
        agent,
        "stadt-koblenz",
        NewTicket {
            subject: "Wohnsitz ummelden".into(),
            question: "Welche Unterlagen brauche ich?".into(),
            citizen: crate::tickets::Citizen {
                email: Some("buerger@example.org".into()),
                ..Default::default()
            },
            answer_channel: AnswerChannel::Email,
            callback_windows: Vec::new(),
            service_id: None,
            priority: None,
            queue: None,
        },
    )
    .await
    .expect("create ticket");
    let vis = agent.visibility(Permission::ViewTickets);
    ticket_visible(db, &vis, view.id.into())
        .await
        .expect("load")
        .expect("own ticket visible")
        .0
}

/// A ticket of Koblenz: not found with Mainz's visibility, not changed with Mainz's scope.
async fn ticket_of_another_tenant_is_not_found_nor_saved(backend: Backend) {
    let (db, _dir) = database(backend).await;
    let koblenz = login(&db, "agent@sc-koblenz.demo").await;
    let mainz = login(&db, "agent@sc-mainz.demo").await;
    let t = koblenz_ticket(&db, &koblenz).await;

    let own = koblenz.visibility(Permission::ViewTickets);
    let other = mainz.visibility(Permission::ViewTickets);
    assert!(matches!(
        ticket_visible(&db, &own, t.id).await.expect("query"),
        Some((_, Access::Full))
    ));
    assert!(
        ticket_visible(&db, &other, t.id)
            .await
            .expect("query")
            .is_none()
    );
    let page = ticket_page(&db, &other, Condition::all(), 100)
        .await
        .expect("query");
    assert!(page.iter().all(|row| row.id != t.id));

    let mainz_id = tenant_id(&db, "stadt-mainz").await;
    let scope = mainz
        .authorize(Permission::HandleTickets, mainz_id)
        .expect("mainz agent works mainz");
    let mut changes = <ticket::ActiveModel as sea_orm::ActiveModelTrait>::default();
    changes.subject = Set("übernommen".into());
    changes.version = Set(t.version + 1);
    let saved = save_ticket(&db, &scope, &t, t.version, changes).await;
    assert!(matches!(saved, Err(Error::Conflict(_, _))), "{saved:?}");
    let after = ticket_visible(&db, &own, t.id)
        .await
        .expect("query")
        .expect("still there")
        .0;
    assert_eq!(after.subject, "Wohnsitz ummelden");
    assert_eq!(after.version, t.version);
}

/// Text modules and the access log of Koblenz stay Koblenz's under a Mainz scope.
async fn templates_and_access_log_of_another_tenant_stay_hidden(backend: Backend) {
    let (db, _dir) = database(backend).await;
    let koblenz_editor = login(&db, "editor@stadt-koblenz.demo").await;
    let koblenz_admin = login(&db, "admin@stadt-koblenz.demo").await;
    let koblenz_agent = login(&db, "agent@sc-koblenz.demo").await;
    let mainz_admin = login(&db, "admin@stadt-mainz.demo").await;
    let (koblenz_id, mainz_id) = (
        tenant_id(&db, "stadt-koblenz").await,
        tenant_id(&db, "stadt-mainz").await,
    );
    let created = crate::templates::create(
        &db,
        &koblenz_editor,
        "stadt-koblenz",
        crate::templates::TemplateInput {
            name: "Gruß".into(),
            body: "Mit freundlichen Grüßen".into(),
        },
    )
    .await
    .expect("create template");
    let t = koblenz_ticket(&db, &koblenz_agent).await;
    crate::tickets::get_ticket(&db, &koblenz_agent, t.id)
        .await
        .expect("read: logged");

    let mainz = mainz_admin
        .authorize(Permission::EditKnowledge, mainz_id)
        .expect("admin edits own knowledge");
    assert!(
        template(&db, &mainz, created.id)
            .await
            .expect("q")
            .is_none()
    );
    assert!(templates(&db, &mainz).await.expect("q").is_empty());
    assert!(!delete_template(&db, &mainz, created.id).await.expect("q"));
    let koblenz = koblenz_admin
        .authorize(Permission::EditKnowledge, koblenz_id)
        .expect("admin edits own knowledge");
    assert!(
        template(&db, &koblenz, created.id)
            .await
            .expect("q")
            .is_some()
    );

    let mainz = mainz_admin
        .authorize(Permission::ManageTenant, mainz_id)
        .expect("admin manages own tenant");
    assert!(
        access_log(&db, &mainz, None, None, (None, None), 0, 100)
            .await
            .expect("q")
            .is_empty()
    );
    assert!(
        access_log(&db, &mainz, Some(t.id), None, (None, None), 0, 100)
            .await
            .expect("q")
            .is_empty()
    );
    assert!(
        outbox_page(&db, &mainz, None, None, 100)
            .await
            .expect("q")
            .is_empty()
    );
    let koblenz = koblenz_admin
        .authorize(Permission::ManageTenant, koblenz_id)
        .expect("admin manages own tenant");
    let log = access_log(&db, &koblenz, None, None, (None, None), 0, 100)
        .await
        .expect("q");
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].ticket_id, t.id);
}

macro_rules! both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::Backend::Postgres).await;
                }
            )*
        }
    };
}

both_backends!(
    ticket_of_another_tenant_is_not_found_nor_saved,
    templates_and_access_log_of_another_tenant_stay_hidden,
);
