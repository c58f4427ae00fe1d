//! The API keys page: the list (never the secrets), a form for a new key whose secret is shown
//! once on the answer page, and revoke buttons. Creating goes through `crate::api::api_keys::create_key`.

use super::view::{Ctx, FormErrors, Layout, Opt, OrPage, WebError, WebForm, ago, date, options};
use crate::api::api_keys::{CreateApiKey, create_key};
use crate::http::extract::parse_id;
use askama::Template;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use rivet_domain::ids::RoleId;
use rivet_domain::{Action, Resource};
use rivet_store::{api_keys, roles};
use serde::Deserialize;
use uuid::Uuid;

pub struct KeyRow {
    pub id: Uuid,
    pub name: String,
    pub prefix: String,
    pub role: String,
    pub created: String,
    pub last_used: String,
    pub revoked: bool,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct KeyForm {
    name: String,
    role_id: String,
}

#[derive(Template)]
#[template(path = "web/api_keys.html")]
struct KeysPage {
    layout: Layout,
    keys: Vec<KeyRow>,
    can_create: bool,
    can_revoke: bool,
    form: KeyForm,
    role_options: Vec<Opt>,
    errors: FormErrors,
}

async fn keys_page(ctx: &Ctx, form: KeyForm, errors: FormErrors) -> Result<KeysPage, WebError> {
    let keys = api_keys::list(&ctx.app.store, &ctx.actor)
        .await
        .or_page(ctx)?;
    let roles = roles::list(&ctx.app.store, &ctx.actor).await.or_page(ctx)?;
    // An integration rarely needs administration; suggest the read-only role first.
    let selected = if form.role_id.is_empty() {
        roles
            .iter()
            .find(|r| r.builtin && r.name == "read_only")
            .map(|r| r.id.to_string())
            .unwrap_or_default()
    } else {
        form.role_id.clone()
    };
    Ok(KeysPage {
        layout: ctx.layout("API keys"),
        keys: keys
            .iter()
            .map(|k| KeyRow {
                id: k.id.uuid(),
                name: k.name.clone(),
                prefix: k.prefix.clone(),
                role: k.role_name.clone(),
                created: date(&k.created_at),
                last_used: k
                    .last_used_at
                    .as_ref()
                    .map(ago)
                    .unwrap_or_else(|| "never".into()),
                revoked: k.revoked_at.is_some(),
            })
            .collect(),
        can_create: ctx.can(Resource::ApiKeys, Action::Create),
        can_revoke: ctx.can(Resource::ApiKeys, Action::Delete),
        role_options: options(
            roles.iter().map(|r| (r.id.to_string(), r.name.clone())),
            &selected,
        ),
        form,
        errors,
    })
}

pub async fn index(ctx: Ctx) -> Result<Response, WebError> {
    let page = keys_page(&ctx, KeyForm::default(), FormErrors::new()).await?;
    Ok(ctx.render(&page))
}

#[derive(Template)]
#[template(path = "web/api_key_created.html")]
struct CreatedPage {
    layout: Layout,
    name: String,
    role: String,
    secret: String,
}

pub async fn create(ctx: Ctx, WebForm(form): WebForm<KeyForm>) -> Result<Response, WebError> {
    let mut errors = FormErrors::new();
    match form.role_id.parse::<RoleId>() {
        Ok(role_id) => {
            let body = CreateApiKey {
                name: form.name.clone(),
                role_id,
            };
            match create_key(&ctx.app, &ctx.actor, body).await {
                Ok(created) => {
                    return Ok(ctx.render(&CreatedPage {
                        layout: ctx.layout("API key created"),
                        name: created.key.name,
                        role: created.key.role_name,
                        secret: created.secret,
                    }));
                }
                Err(err) => errors.absorb(err, &["name", "role_id"]).or_page(&ctx)?,
            }
        }
        Err(_) => errors.add("role_id", "must be chosen"),
    }
    let page = keys_page(&ctx, form, errors).await?;
    Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

pub async fn revoke(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let id = parse_id(&id).or_page(&ctx)?;
    let key = api_keys::revoke(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(&ctx)?;
    Ok(ctx.done(
        "/admin/api-keys",
        format!("Revoked the key {}; it stops working at once.", key.name),
    ))
}
