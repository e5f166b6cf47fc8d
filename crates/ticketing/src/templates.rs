//! Text modules (Textbausteine) per tenant for answers. Editors and admins keep them; everyone
//! who works the tenant's tickets reads them.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use verbund_tenant::db::Db;
use verbund_tenant::db::{begin_write, now};
use verbund_tenant::directory::find_tenant;
use verbund_tenant::{Actor, Error, Permission, Result};

use verbund_schema::text_template;

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateInput {
    pub name: String,
    pub body: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TemplateView {
    pub id: Uuid,
    pub tenant: String,
    pub name: String,
    pub body: String,
    pub updated_at: DateTime<Utc>,
}

fn check(input: &TemplateInput) -> Result<(String, String)> {
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(Error::invalid("name", "must have 1-200 characters"));
    }
    let body = input.body.trim();
    if body.is_empty() || body.chars().count() > 20_000 {
        return Err(Error::invalid("body", "must have 1-20000 characters"));
    }
    Ok((name.to_owned(), body.to_owned()))
}

fn view(t: text_template::Model, slug: &str) -> TemplateView {
    TemplateView {
        id: t.id,
        tenant: slug.to_owned(),
        name: t.name,
        body: t.body,
        updated_at: t.updated_at,
    }
}

pub async fn list(db: &Db, actor: &Actor, slug: &str) -> Result<Vec<TemplateView>> {
    let t = find_tenant(db, slug).await?;
    // Those who work the tickets use them, editors write them.
    let scope = actor
        .authorize(Permission::ViewTickets, t.id)
        .or_else(|_| actor.authorize(Permission::EditKnowledge, t.id))?;
    Ok(crate::repo::templates(db, &scope)
        .await?
        .into_iter()
        .map(|m| view(m, &t.slug))
        .collect())
}

pub async fn create(
    db: &Db,
    actor: &Actor,
    slug: &str,
    input: TemplateInput,
) -> Result<TemplateView> {
    let t = find_tenant(db, slug).await?;
    let scope = actor.authorize(Permission::EditKnowledge, t.id)?;
    let (name, body) = check(&input)?;
    let txn = begin_write(db).await?;
    let at = now();
    let model = text_template::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(scope.tenant_id()),
        name: Set(name),
        body: Set(body),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&txn)
    .await
    .map_err(|e| Error::from_db_unique(e, "a text module with this name"))?;
    txn.commit().await?;
    Ok(view(model, &t.slug))
}

pub async fn update(
    db: &Db,
    actor: &Actor,
    slug: &str,
    id: Uuid,
    input: TemplateInput,
) -> Result<TemplateView> {
    let t = find_tenant(db, slug).await?;
    let scope = actor.authorize(Permission::EditKnowledge, t.id)?;
    let (name, body) = check(&input)?;
    let txn = begin_write(db).await?;
    let current = crate::repo::template(&txn, &scope, id)
        .await?
        .ok_or(Error::NotFound("text module"))?;
    let mut a: text_template::ActiveModel = current.into();
    a.name = Set(name);
    a.body = Set(body);
    a.updated_at = Set(now());
    let model = a
        .update(&txn)
        .await
        .map_err(|e| Error::from_db_unique(e, "a text module with this name"))?;
    txn.commit().await?;
    Ok(view(model, &t.slug))
}

pub async fn delete(db: &Db, actor: &Actor, slug: &str, id: Uuid) -> Result<()> {
    let t = find_tenant(db, slug).await?;
    let scope = actor.authorize(Permission::EditKnowledge, t.id)?;
    if !crate::repo::delete_template(db, &scope, id).await? {
        return Err(Error::NotFound("text module"));
    }
    Ok(())
}
