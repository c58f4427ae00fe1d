//! Installation pages: jobs, system logs with their chart, system settings and statistics.

use super::view::{Ctx, WebError};
use crate::error::AppError;
use axum::response::Response;

pub async fn jobs(ctx: Ctx) -> Result<Response, WebError> {
    Err(ctx.fail(AppError::NotFound))
}
pub async fn retry_job(ctx: Ctx) -> Result<Response, WebError> {
    Err(ctx.fail(AppError::NotFound))
}
pub async fn cancel_job(ctx: Ctx) -> Result<Response, WebError> {
    Err(ctx.fail(AppError::NotFound))
}
pub async fn logs(ctx: Ctx) -> Result<Response, WebError> {
    Err(ctx.fail(AppError::NotFound))
}
pub async fn settings(ctx: Ctx) -> Result<Response, WebError> {
    Err(ctx.fail(AppError::NotFound))
}
pub async fn save_settings(ctx: Ctx) -> Result<Response, WebError> {
    Err(ctx.fail(AppError::NotFound))
}
