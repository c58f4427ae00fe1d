//! The qualification workflow on a lead's page (issue 14 §2): its status and since when, the
//! time in each status, a "move to" form and what each status still needs. Moving goes through
//! the API's function (`crate::api::qualification::move_lead`): a gate the lead does not pass
//! comes back as a message listing each unmet requirement.

use super::view::{Ctx, WebError, WebForm};
use crate::http::error::AppError;
use axum::extract::Path;
use axum::response::Response;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TransitionForm {
    to: String,
    reason: String,
}

/// `3 d 4 h`, `2 h 5 min`, `40 s`.
pub fn duration(seconds: i64) -> String {
    let (d, h, m) = (
        seconds / 86_400,
        seconds % 86_400 / 3_600,
        seconds % 3_600 / 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{seconds} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

/// `POST /leads/{id}/transition`.
pub async fn transition(
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(form): WebForm<TransitionForm>,
) -> Result<Response, WebError> {
    let back = format!("/leads/{id}");
    let reason = Some(form.reason.as_str());
    match crate::api::qualification::move_lead(&ctx.app, &ctx.actor, &id, &form.to, reason).await {
        Ok(lead) => Ok(ctx.done(&back, format!("Moved to {}.", lead.status))),
        Err(AppError::Validation(errors)) => {
            let unmet: Vec<String> = errors
                .0
                .iter()
                .map(|e| format!("{} {}", e.field.replace('_', " "), e.message))
                .collect();
            Ok(ctx.refused(
                &back,
                format!("Not moved to {}: {}.", form.to.trim(), unmet.join("; ")),
            ))
        }
        Err(other) => Err(ctx.fail(other)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(super::duration(40), "40 s");
        assert_eq!(super::duration(300), "5 min");
        assert_eq!(super::duration(7_500), "2 h 5 min");
        assert_eq!(super::duration(273_600), "3 d 4 h");
    }
}
