//! Deal risk on the pages (issue 14 §4): the risk panel of a deal's page (score, level, each
//! reason with its points, and the buying committee — who fills each role and which are
//! missing) and the risk badge of a board card and a list row. The numbers are
//! `rivet_store::risk`'s; the settings page is `web::risk_settings`.

use super::record_list::{Badge, Cell};
use super::view::{Ctx, OrPage, WebError, capitalise};
use rivet_domain::deals::ContactRole;
use rivet_domain::ids::DealId;
use rivet_domain::risk::RiskLevel;
use rivet_store::deals::Deal;
use rivet_store::risk;
use uuid::Uuid;

/// A score with its level, as a badge.
pub struct RiskBadge {
    pub score: i32,
    /// `low`, `medium` or `high` (the badge's colour).
    pub level: &'static str,
    pub label: &'static str,
}

fn label(level: RiskLevel) -> &'static str {
    match level {
        RiskLevel::Low => "Low risk",
        RiskLevel::Medium => "Medium risk",
        RiskLevel::High => "High risk",
    }
}

fn role_label(role: ContactRole) -> String {
    capitalise(&role.as_str().replace('_', " "))
}

/// The stored risk of a deal as a badge (none for a closed deal or one not yet computed).
pub fn badge(deal: &Deal) -> Option<RiskBadge> {
    Some(RiskBadge {
        score: deal.risk_score?,
        level: deal.risk_level?.as_str(),
        label: label(deal.risk_level?),
    })
}

/// The list's risk cell.
pub fn cell(deal: &Deal) -> Cell {
    match badge(deal) {
        Some(b) => Cell::badge(Badge::new(
            format!("risk-badge risk-{}", b.level),
            b.score.to_string(),
        )),
        None => Cell::text(String::new()),
    }
}

pub struct ReasonRow {
    pub points: i32,
    pub message: String,
}

pub struct SeatRow {
    pub role: String,
    pub contacts: Vec<(Uuid, String)>,
}

/// The risk panel of a deal's page.
pub struct RiskPanel {
    pub open: bool,
    pub badge: Option<RiskBadge>,
    pub reasons: Vec<ReasonRow>,
    pub seats: Vec<SeatRow>,
    pub missing: Vec<String>,
    pub contacts: usize,
}

/// The panel of a deal the caller may read, as of now.
pub async fn panel(ctx: &Ctx, id: DealId) -> Result<RiskPanel, WebError> {
    let r = risk::deal_risk(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(ctx)?;
    Ok(RiskPanel {
        open: r.open,
        badge: match (r.score, r.level) {
            (Some(score), Some(level)) => Some(RiskBadge {
                score,
                level: level.as_str(),
                label: label(level),
            }),
            _ => None,
        },
        reasons: r
            .reasons
            .into_iter()
            .map(|x| ReasonRow {
                points: x.points,
                message: capitalise(&x.message),
            })
            .collect(),
        seats: r
            .coverage
            .roles
            .into_iter()
            .map(|seat| SeatRow {
                role: role_label(seat.role),
                contacts: seat
                    .contacts
                    .into_iter()
                    .map(|c| (c.contact_id.uuid(), c.name))
                    .collect(),
            })
            .collect(),
        missing: r.coverage.missing.into_iter().map(role_label).collect(),
        contacts: r.coverage.contacts,
    })
}
