//! Base texts (Stammtexte): the operator's catalogue keyed by LeiKa, adopted by tenants that
//! add or override modules locally.
//!
//! Agents see the merged view: for every module the tenant's own value if it has one, else
//! the base text's, each with its source. When the operator changes a base text its revision
//! goes up; every adopting description shows "base changed" until an editor of its tenant
//! confirms it ([`crate::services::review_base`]).

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use serde::{Deserialize, Serialize};
use tracing::instrument;
use utoipa::ToSchema;
use uuid::Uuid;
use verbund_tenant::ProblemKind;
use verbund_tenant::db::Db;
use verbund_tenant::db::{begin_write, now};
use verbund_tenant::{Actor, Error, Result};

use crate::access;
use crate::changes;
use crate::leika::LeikaKey;
use crate::model::{ModuleField, ModuleValue, Modules, ServiceContent};
use crate::services::{invalid_content, parse_modules, parse_synonyms, to_json};
use verbund_schema::{base_text, service};

/// Where a module of the merged view comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ModuleSource {
    /// The adopted base text.
    Base,
    /// The tenant's own text.
    Local,
}

/// One module of the merged view.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct MergedModule {
    pub field: ModuleField,
    /// LeiKa text module code, if the module has one.
    pub code: Option<String>,
    /// German label.
    pub label: String,
    pub source: ModuleSource,
    /// A text, a list of texts, a costs object or a list of links.
    pub value: serde_json::Value,
}

/// A short reference to a base text.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct BaseRef {
    pub id: Uuid,
    pub leika: String,
    pub title: String,
    pub level: BaseLevel,
    pub revision: i32,
}

pub use verbund_schema::types::BaseLevel;

/// A base text as the API shows it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct BaseTextView {
    pub id: Uuid,
    pub leika: String,
    pub level: BaseLevel,
    pub title: String,
    pub synonyms: Vec<String>,
    pub modules: Modules,
    /// Goes up with every change.
    pub revision: i32,
    pub demo: bool,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBaseText {
    pub leika: String,
    #[serde(default = "default_level")]
    pub level: BaseLevel,
    pub title: String,
    #[serde(default)]
    pub synonyms: Vec<String>,
    #[serde(default)]
    pub modules: Modules,
}

fn default_level() -> BaseLevel {
    BaseLevel::Bund
}

/// Changes to a base text; absent fields stay. `modules` replaces all modules.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BaseTextPatch {
    /// The revision the change is based on; a stale one gives 409.
    pub revision: i32,
    pub level: Option<BaseLevel>,
    pub title: Option<String>,
    pub synonyms: Option<Vec<String>>,
    pub modules: Option<Modules>,
}

pub(crate) fn base_ref(b: &base_text::Model) -> BaseRef {
    BaseRef {
        id: b.id,
        leika: b.leika.clone(),
        title: b.title.clone(),
        level: b.level,
        revision: b.revision,
    }
}

fn view(b: base_text::Model) -> BaseTextView {
    BaseTextView {
        level: b.level,
        synonyms: parse_synonyms(&b.synonyms),
        modules: parse_modules(&b.modules),
        id: b.id,
        leika: b.leika,
        title: b.title,
        revision: b.revision,
        demo: b.demo,
        updated_at: b.updated_at,
    }
}

/// The JSON value of one module, `null` when it is empty.
pub fn module_json(modules: &Modules, field: ModuleField) -> serde_json::Value {
    match modules.get(field) {
        None => serde_json::Value::Null,
        Some(ModuleValue::Text(t)) => t.into(),
        Some(ModuleValue::List(l)) => serde_json::json!(l),
        Some(ModuleValue::Costs(c)) => serde_json::to_value(c).unwrap_or_default(),
        Some(ModuleValue::Links(l)) => serde_json::to_value(l).unwrap_or_default(),
    }
}

fn copy_module(dst: &mut Modules, src: &Modules, field: ModuleField) {
    match field {
        ModuleField::Unterlagen => dst.unterlagen = src.unterlagen.clone(),
        ModuleField::Formulare => dst.formulare = src.formulare.clone(),
        ModuleField::Kosten => dst.kosten = src.kosten.clone(),
        text_field => {
            if let (Some(slot), Some(value)) = (dst.text_mut(text_field), src.text(text_field)) {
                *slot = value.map(str::to_owned);
            }
        }
    }
}

/// The merged modules: the local value of each module where it has one, else the base's.
pub fn merge_modules(base: Option<&Modules>, local: &Modules) -> Modules {
    let Some(base) = base else {
        return local.clone();
    };
    let mut out = local.clone();
    for field in ModuleField::ALL {
        if local.get(field).is_none() && base.get(field).is_some() {
            copy_module(&mut out, base, field);
        }
    }
    out
}

/// The merged view with each module's source.
pub fn merged_view(base: Option<&base_text::Model>, local: &Modules) -> Vec<MergedModule> {
    let base_modules = base.map(|b| parse_modules(&b.modules));
    let mut out = Vec::new();
    for field in ModuleField::ALL {
        let (source, value) = if local.get(field).is_some() {
            (ModuleSource::Local, module_json(local, field))
        } else if let Some(b) = base_modules.as_ref().filter(|b| b.get(field).is_some()) {
            (ModuleSource::Base, module_json(b, field))
        } else {
            continue;
        };
        out.push(MergedModule {
            field,
            code: field.leika_code().map(str::to_owned),
            label: field.label().to_owned(),
            source,
            value,
        });
    }
    out
}

/// True when the adopted base text has a newer revision than the one last confirmed.
pub fn base_changed(s: &service::Model, base: Option<&base_text::Model>) -> bool {
    match base {
        Some(b) => s.base_reviewed_revision.is_none_or(|r| b.revision > r),
        None => false,
    }
}

/// Everything a search index needs of a description: merged modules and synonyms.
pub(crate) fn indexed_content(
    s: &service::Model,
    base: Option<&base_text::Model>,
) -> (Vec<String>, Modules) {
    let mut synonyms = parse_synonyms(&s.synonyms);
    let local = parse_modules(&s.modules);
    let base_modules = base.map(|b| parse_modules(&b.modules));
    if let Some(b) = base {
        for synonym in parse_synonyms(&b.synonyms) {
            if !synonyms.iter().any(|s| s.eq_ignore_ascii_case(&synonym)) {
                synonyms.push(synonym);
            }
        }
    }
    (synonyms, merge_modules(base_modules.as_ref(), &local))
}

fn validate(
    leika: &str,
    title: String,
    synonyms: Vec<String>,
    modules: Modules,
) -> Result<ServiceContent> {
    let leika = LeikaKey::parse(leika).map_err(|e| Error::invalid("leika", e.problem()))?;
    ServiceContent {
        leika_keys: vec![leika],
        title,
        synonyms,
        modules,
    }
    .normalized()
    .map_err(invalid_content)
}

/// The catalogue, readable by everybody who reads knowledge (editors adopt from it).
#[instrument(skip_all)]
pub async fn list_base_texts(db: &Db, actor: &Actor) -> Result<Vec<BaseTextView>> {
    let reader = access::reader(actor)?;
    Ok(crate::repo::base_texts(db, &reader)
        .await?
        .into_iter()
        .map(view)
        .collect())
}

#[instrument(skip_all, fields(base = %id))]
pub async fn get_base_text(db: &Db, actor: &Actor, id: Uuid) -> Result<BaseTextView> {
    access::require_reader(actor)?;
    crate::repo::base_text(db, id)
        .await?
        .map(view)
        .ok_or(Error::NotFound("base text"))
}

/// Adds a base text (operators only).
#[instrument(skip_all)]
pub async fn create_base_text(db: &Db, actor: &Actor, input: NewBaseText) -> Result<BaseTextView> {
    let scope = actor.authorize_operator()?;
    let content = validate(&input.leika, input.title, input.synonyms, input.modules)?;
    let txn = begin_write(db).await?;
    let model = insert_base_text(&txn, content, input.level, Some(scope.actor_id()), false).await?;
    txn.commit().await?;
    Ok(view(model))
}

pub(crate) async fn insert_base_text(
    db: &impl ConnectionTrait,
    content: ServiceContent,
    level: BaseLevel,
    author: Option<Uuid>,
    demo: bool,
) -> Result<base_text::Model> {
    let at = now();
    // A base text has exactly one key (the catalogue is keyed by it).
    let leika = match content.leika_keys.as_slice() {
        [key] => key.as_str().to_owned(),
        _ => {
            return Err(Error::invalid(
                "leika",
                "a base text needs exactly one LeiKa key",
            ));
        }
    };
    let exists = crate::repo::base_text_by_leika(db, &leika).await?;
    if exists.is_some() {
        return Err(Error::Conflict(
            ProblemKind::Duplicate,
            format!("a base text with LeiKa key {leika} already exists"),
        ));
    }
    let model = base_text::ActiveModel {
        id: Set(Uuid::now_v7()),
        leika: Set(leika.clone()),
        level: Set(level),
        title: Set(content.title),
        synonyms: Set(to_json(&content.synonyms)?),
        modules: Set(to_json(&content.modules)?),
        revision: Set(1),
        demo: Set(demo),
        created_at: Set(at),
        updated_at: Set(at),
        updated_by: Set(author),
    }
    .insert(db)
    .await
    .map_err(|e| Error::from_db_unique(e, &format!("a base text with LeiKa key {leika}")))?;
    record_revision(db, &model).await?;
    Ok(model)
}

/// Keeps the content of a base text's revision (in the transaction that wrote it), so an
/// editor can see what changed since the revision last confirmed.
async fn record_revision(db: &impl ConnectionTrait, b: &base_text::Model) -> Result<()> {
    verbund_schema::base_text_revision::ActiveModel {
        base_id: Set(b.id),
        revision: Set(b.revision),
        title: Set(b.title.clone()),
        synonyms: Set(b.synonyms.clone()),
        modules: Set(b.modules.clone()),
        created_at: Set(b.updated_at),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Changes a base text (operators only). Its revision goes up, and every adopting
/// description is flagged and re-indexed in the same transaction.
#[instrument(skip_all, fields(base = %id))]
pub async fn update_base_text(
    db: &Db,
    actor: &Actor,
    id: Uuid,
    patch: BaseTextPatch,
) -> Result<BaseTextView> {
    let scope = actor.authorize_operator()?;
    let txn = begin_write(db).await?;
    let current = crate::repo::base_text(&txn, id)
        .await?
        .ok_or(Error::NotFound("base text"))?;
    let content = validate(
        &current.leika,
        patch.title.unwrap_or_else(|| current.title.clone()),
        patch
            .synonyms
            .unwrap_or_else(|| parse_synonyms(&current.synonyms)),
        patch
            .modules
            .unwrap_or_else(|| parse_modules(&current.modules)),
    )?;
    if current.revision != patch.revision {
        return Err(Error::Conflict(
            ProblemKind::StaleVersion,
            format!(
                "the base text was changed meanwhile (revision {} instead of {}); reload it",
                current.revision, patch.revision
            ),
        ));
    }
    let level = patch.level.unwrap_or(current.level);
    let unchanged = content.title == current.title
        && to_json(&content.synonyms)? == current.synonyms
        && content.modules == parse_modules(&current.modules)
        && level == current.level;
    if unchanged {
        txn.commit().await?;
        return Ok(view(current));
    }
    let mut changes = <base_text::ActiveModel as ActiveModelTrait>::default();
    changes.title = Set(content.title);
    changes.synonyms = Set(to_json(&content.synonyms)?);
    changes.modules = Set(to_json(&content.modules)?);
    changes.level = Set(level);
    changes.revision = Set(current.revision + 1);
    changes.updated_at = Set(now());
    changes.updated_by = Set(Some(scope.actor_id()));
    if !crate::repo::save_base_text(&txn, &scope, &current, changes).await? {
        return Err(Error::Conflict(
            ProblemKind::StaleVersion,
            "the base text was changed meanwhile; reload it".into(),
        ));
    }
    // Adopting descriptions show the new base content: re-index them everywhere.
    let adopters = crate::repo::adopters_of(&txn, &scope, &current).await?;
    for s in &adopters {
        changes::record(&txn, s.tenant_id, s.id).await?;
    }
    let saved = crate::repo::base_text(&txn, current.id)
        .await?
        .ok_or(Error::NotFound("base text"))?;
    record_revision(&txn, &saved).await?;
    txn.commit().await?;
    changes::notify(db);
    Ok(view(saved))
}
