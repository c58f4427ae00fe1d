//! Installation-wide settings, stored as one JSON document under the key `system`.

use crate::tables::SystemSettings as Table;
use crate::{Result, Store, exec, fetch_optional, now};
use rivet_domain::Actor;
use rivet_domain::settings::SystemSettings;
use sea_orm::FromQueryResult;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use serde_json::Value;

const KEY: &str = "system";

#[derive(FromQueryResult)]
struct Row {
    value: Value,
}

/// The stored settings, or the defaults; fields added by a newer version take their default.
pub async fn get_system(store: &Store) -> Result<SystemSettings> {
    let row: Option<Row> = fetch_optional(
        store.system(),
        Query::select()
            .column(Table::Value)
            .from(Table::Table)
            .and_where(Expr::col(Table::Key).eq(KEY)),
    )
    .await?;
    let mut merged = serde_json::to_value(SystemSettings::default()).unwrap_or(Value::Null);
    if let (Some(row), Some(target)) = (row, merged.as_object_mut())
        && let Some(stored) = row.value.as_object()
    {
        for (k, v) in stored {
            if target.contains_key(k) {
                target.insert(k.clone(), v.clone());
            }
        }
    }
    Ok(serde_json::from_value(merged).unwrap_or_default())
}

/// Replace the settings (already validated); audited in the caller's company.
pub async fn put_system(
    store: &Store,
    actor: &Actor,
    settings: &SystemSettings,
) -> Result<SystemSettings> {
    let before = get_system(store).await?;
    let value = serde_json::to_value(settings).unwrap_or(Value::Null);
    let tx = store.write(actor).await?;
    exec(
        tx.conn(),
        Query::insert()
            .into_table(Table::Table)
            .columns([Table::Key, Table::Value, Table::UpdatedAt])
            .values_panic([KEY.into(), value.clone().into(), now().into()])
            .on_conflict(
                OnConflict::column(Table::Key)
                    .update_columns([Table::Value, Table::UpdatedAt])
                    .to_owned(),
            ),
    )
    .await?;
    let before = serde_json::to_value(before).ok();
    tx.audit_in(
        actor.company_id,
        "system_settings",
        KEY,
        "update",
        before.as_ref(),
        Some(&value),
    )
    .await?;
    tx.commit().await?;
    Ok(settings.clone())
}

const JWT_KEY: &str = "jwt_secret";

/// The secret that signs access tokens: generated on first use and kept in the database, so
/// every instance sharing the database agrees. Never returned by any route.
pub async fn jwt_secret(store: &Store) -> Result<String> {
    let candidate = Value::from(crate::sessions::random_token());
    exec(
        store.system(),
        Query::insert()
            .into_table(Table::Table)
            .columns([Table::Key, Table::Value, Table::UpdatedAt])
            .values_panic([JWT_KEY.into(), candidate.into(), now().into()])
            .on_conflict(OnConflict::column(Table::Key).do_nothing().to_owned()),
    )
    .await?;
    let row: Option<Row> = fetch_optional(
        store.system(),
        Query::select()
            .column(Table::Value)
            .from(Table::Table)
            .and_where(Expr::col(Table::Key).eq(JWT_KEY)),
    )
    .await?;
    row.and_then(|r| r.value.as_str().map(str::to_owned))
        .ok_or_else(|| crate::StoreError::invalid("jwt_secret", "could not be stored"))
}
