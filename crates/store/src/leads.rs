//! Leads as a record type: the row, the list fields and the columns a lead's data writes. List,
//! get, create, update, delete and the bulk actions are the generic record layer's
//! ([`crate::record`]).

use crate::query::{self, ListField, iden};
use crate::record::{self, Record, Write};
use crate::tables::Leads;
use crate::{Result, Tx};
use chrono::{DateTime, Utc};
use rivet_domain::ids::{AccountId, ContactId, DealId, LeadId, UserId, kind};
use rivet_domain::leads::{LEAD_FIELDS, LeadData, LeadField, LeadStatus};
use rivet_domain::query::{FieldSpec, Filter, FilterValue};
use rivet_domain::values::Money;
use rivet_domain::{Actor, Resource};
use sea_orm::sea_query::{Cond, DynIden, Expr, Value};
use serde::Serialize;

crate::checklist::checklist_row! {
/// A lead as the API shows it. Money is a decimal string; field names are those a client sends.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Lead in Leads::Table {
    #[schema(value_type = uuid::Uuid)]
    pub id: LeadId,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub title: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub company_name: Option<String>,
    pub website: Option<String>,
    pub industry: Option<String>,
    pub employee_count: Option<i64>,
    /// Decimal string, e.g. `"12500.10"`.
    pub annual_revenue: Option<String> = annual_revenue_micros => record::amount_of,
    pub annual_revenue_currency: Option<String>,
    pub street: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub source: Option<String>,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub utm_term: Option<String>,
    pub utm_content: Option<String>,
    pub status: LeadStatus => record::choice_or(LeadStatus::New),
    #[schema(value_type = uuid::Uuid)]
    pub owner_id: UserId,
    pub tags: Vec<String> => record::tags_of,
    pub fit_score: i32,
    pub engagement_score: i32,
    pub total_score: i32,
    #[schema(value_type = Object)]
    pub custom_fields: serde_json::Value => record::custom_fields_of,
    #[schema(value_type = uuid::Uuid)]
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the lead was converted (`POST /leads/{id}/convert`); empty until then.
    pub converted_at: Option<DateTime<Utc>>,
    /// The account the conversion made or chose.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub converted_account_id: Option<AccountId>,
    /// The contact the conversion made or chose.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub converted_contact_id: Option<ContactId>,
    /// The deal the conversion made, if it made one.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub converted_deal_id: Option<DealId>,
    /// Why the lead is in its status (a gate may require it).
    pub status_reason: Option<String>,
    /// When the status last changed (empty: not since the lead was created).
    pub status_changed_at: Option<DateTime<Utc>>,
    /// Agreed to be messaged on WhatsApp (nothing is sent to a lead without it).
    pub whatsapp_consent: bool,
    pub whatsapp_consent_source: Option<String>,
    /// When `whatsapp_consent` last changed.
    pub whatsapp_consent_at: Option<DateTime<Utc>>,
}
}

impl Lead {
    /// What a person calls the lead: its person, else its company, else its e-mail.
    pub fn display_name(&self) -> String {
        let person = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        if !person.is_empty() {
            return person;
        }
        self.company_name
            .clone()
            .or_else(|| self.email.clone())
            .unwrap_or_else(|| "Unnamed lead".into())
    }

    /// One of the BANT or MEDDICC notes by its field name.
    fn qualification(&self, name: &str) -> Option<&String> {
        match name {
            "budget" => self.budget.as_ref(),
            "authority" => self.authority.as_ref(),
            "need" => self.need.as_ref(),
            "timeline" => self.timeline.as_ref(),
            "metrics" => self.metrics.as_ref(),
            "economic_buyer" => self.economic_buyer.as_ref(),
            "decision_criteria" => self.decision_criteria.as_ref(),
            "decision_process" => self.decision_process.as_ref(),
            "identified_pain" => self.identified_pain.as_ref(),
            "champion" => self.champion.as_ref(),
            "competition" => self.competition.as_ref(),
            "status_reason" => self.status_reason.as_ref(),
            _ => None,
        }
    }
}

impl ListField for LeadField {
    fn specs() -> &'static [FieldSpec<Self>] {
        LEAD_FIELDS
    }

    fn table() -> DynIden {
        iden(Leads::Table)
    }

    fn id_column() -> DynIden {
        iden(Leads::Id)
    }

    fn column(self) -> DynIden {
        if let Self::Checklist(name) = self {
            return iden(sea_orm::sea_query::Alias::new(name));
        }
        iden(match self {
            Self::Status => Leads::Status,
            Self::OwnerId => Leads::OwnerId,
            Self::CreatedAt => Leads::CreatedAt,
            Self::UpdatedAt => Leads::UpdatedAt,
            Self::Email => Leads::EmailNorm,
            Self::FirstName => Leads::FirstName,
            Self::LastName => Leads::LastName,
            Self::Title => Leads::Title,
            Self::CompanyName => Leads::CompanyName,
            Self::Industry => Leads::Industry,
            Self::EmployeeCount => Leads::EmployeeCount,
            Self::AnnualRevenue => Leads::AnnualRevenueMicros,
            Self::City => Leads::City,
            Self::Region => Leads::Region,
            Self::Country => Leads::Country,
            Self::Source => Leads::Source,
            Self::UtmSource => Leads::UtmSource,
            Self::UtmMedium => Leads::UtmMedium,
            Self::UtmCampaign => Leads::UtmCampaign,
            Self::UtmTerm => Leads::UtmTerm,
            Self::UtmContent => Leads::UtmContent,
            Self::Tags => Leads::Tags,
            Self::FitScore => Leads::FitScore,
            Self::EngagementScore => Leads::EngagementScore,
            Self::TotalScore => Leads::TotalScore,
            // Every qualification name is one of TEXT_FIELDS (a test checks it).
            Self::Qualification(name) => text_column(name).unwrap_or(Leads::Budget),
            Self::Checklist(_) => Leads::TotalScore,
        })
    }

    /// NULLs sort as `''` (text) or -1 (numbers, which are never negative), the value the
    /// cursor records for them.
    fn sort_expr(self) -> Expr {
        let col = Expr::col((Leads::Table, self.column()));
        match self {
            Self::Status
            | Self::OwnerId
            | Self::CreatedAt
            | Self::UpdatedAt
            | Self::Tags
            | Self::FitScore
            | Self::EngagementScore
            | Self::TotalScore
            | Self::Checklist(_) => col,
            Self::EmployeeCount | Self::AnnualRevenue => query::number_or_minus_one(col),
            _ => query::text_or_empty(col),
        }
    }
}

/// A lead's value of a sort field, as its cursor records it (matching `sort_expr`).
fn sort_value(lead: &Lead, field: LeadField) -> FilterValue {
    let text = |v: &Option<String>| FilterValue::Text(v.clone().unwrap_or_default());
    match field {
        LeadField::Status => FilterValue::Text(lead.status.as_str().to_owned()),
        LeadField::OwnerId => FilterValue::Id(lead.owner_id.uuid()),
        LeadField::CreatedAt => FilterValue::Time(lead.created_at),
        LeadField::UpdatedAt => FilterValue::Time(lead.updated_at),
        LeadField::Email => text(&lead.email.as_ref().map(|e| e.to_lowercase())),
        LeadField::FirstName => text(&lead.first_name),
        LeadField::LastName => text(&lead.last_name),
        LeadField::Title => text(&lead.title),
        LeadField::CompanyName => text(&lead.company_name),
        LeadField::Industry => text(&lead.industry),
        LeadField::EmployeeCount => FilterValue::Int(lead.employee_count.unwrap_or(-1)),
        LeadField::AnnualRevenue => FilterValue::Int(
            lead.annual_revenue
                .as_deref()
                .and_then(|a| Money::parse(a, String::new()).ok())
                .map_or(-1, |m| m.micros),
        ),
        LeadField::City => text(&lead.city),
        LeadField::Region => text(&lead.region),
        LeadField::Country => text(&lead.country),
        LeadField::Source => text(&lead.source),
        LeadField::UtmSource => text(&lead.utm_source),
        LeadField::UtmMedium => text(&lead.utm_medium),
        LeadField::UtmCampaign => text(&lead.utm_campaign),
        LeadField::UtmTerm => text(&lead.utm_term),
        LeadField::UtmContent => text(&lead.utm_content),
        LeadField::Tags => FilterValue::Text(String::new()),
        LeadField::FitScore => FilterValue::Int(i64::from(lead.fit_score)),
        LeadField::EngagementScore => FilterValue::Int(i64::from(lead.engagement_score)),
        LeadField::TotalScore => FilterValue::Int(i64::from(lead.total_score)),
        LeadField::Qualification(name) => text(&lead.qualification(name).cloned()),
        LeadField::Checklist(name) => {
            FilterValue::Int(i64::from(crate::checklist::checklist_score(
                name,
                [
                    lead.bant_score,
                    lead.meddicc_completeness,
                    lead.meddicc_strength,
                ],
            )))
        }
    }
}

fn text_column(field: &str) -> Option<Leads> {
    Some(match field {
        "first_name" => Leads::FirstName,
        "last_name" => Leads::LastName,
        "title" => Leads::Title,
        "phone" => Leads::Phone,
        "mobile" => Leads::Mobile,
        "company_name" => Leads::CompanyName,
        "website" => Leads::Website,
        "industry" => Leads::Industry,
        "street" => Leads::Street,
        "city" => Leads::City,
        "region" => Leads::Region,
        "postal_code" => Leads::PostalCode,
        "country" => Leads::Country,
        "source" => Leads::Source,
        "utm_source" => Leads::UtmSource,
        "utm_medium" => Leads::UtmMedium,
        "utm_campaign" => Leads::UtmCampaign,
        "utm_term" => Leads::UtmTerm,
        "utm_content" => Leads::UtmContent,
        "budget" => Leads::Budget,
        "authority" => Leads::Authority,
        "need" => Leads::Need,
        "timeline" => Leads::Timeline,
        "metrics" => Leads::Metrics,
        "economic_buyer" => Leads::EconomicBuyer,
        "decision_criteria" => Leads::DecisionCriteria,
        "decision_process" => Leads::DecisionProcess,
        "identified_pain" => Leads::IdentifiedPain,
        "champion" => Leads::Champion,
        "competition" => Leads::Competition,
        "status_reason" => Leads::StatusReason,
        "whatsapp_consent_source" => Leads::WhatsappConsentSource,
        _ => return None,
    })
}

/// The columns a [`LeadData`] writes (everything but ids, creator and times).
fn data_columns(data: &LeadData, owner_id: UserId) -> Vec<(Leads, Value)> {
    let mut cols: Vec<(Leads, Value)> = data
        .text
        .iter()
        .filter_map(|(field, value)| text_column(field).map(|c| (c, value.clone().into())))
        .collect();
    let email = data.email.as_ref().map(|e| e.as_str().to_owned());
    cols.extend([
        (Leads::Email, email.clone().into()),
        (Leads::EmailNorm, email.map(|e| e.to_lowercase()).into()),
        (Leads::EmployeeCount, data.employee_count.into()),
        (
            Leads::AnnualRevenueMicros,
            data.annual_revenue.as_ref().map(|m| m.micros).into(),
        ),
        (
            Leads::AnnualRevenueCurrency,
            data.annual_revenue
                .as_ref()
                .map(|m| m.currency.clone())
                .into(),
        ),
        (Leads::Status, data.status.as_str().into()),
        (Leads::OwnerId, owner_id.into()),
        (Leads::WhatsappConsent, data.whatsapp_consent.into()),
        (Leads::Tags, serde_json::json!(data.tags).into()),
        (
            Leads::CustomFields,
            serde_json::Value::Object(data.custom_fields.clone()).into(),
        ),
    ]);
    cols
}

impl Record for Lead {
    type Kind = kind::Lead;
    type Row = Self;
    type Field = LeadField;
    const RESOURCE: Resource = Resource::Leads;
    /// What a conversion writes is not a client's to write either.
    const READ_ONLY: &'static [&'static str] = &[
        "id",
        "created_by",
        "created_at",
        "updated_at",
        "converted_at",
        "converted_account_id",
        "converted_contact_id",
        "converted_deal_id",
        "status_changed_at",
        "whatsapp_consent_at",
        "fit_score",
        "engagement_score",
        "total_score",
        "bant_score",
        "meddicc_completeness",
        "meddicc_strength",
    ];

    fn id(&self) -> LeadId {
        self.id
    }
    fn owner(&self) -> UserId {
        self.owner_id
    }
    fn custom_fields(&self) -> &serde_json::Value {
        &self.custom_fields
    }
    fn sort_value(&self, field: LeadField) -> FilterValue {
        sort_value(self, field)
    }

    /// What `q=` matches, case-insensitively, as a substring.
    fn text_columns() -> Vec<DynIden> {
        vec![
            iden(Leads::FirstName),
            iden(Leads::LastName),
            iden(Leads::EmailNorm),
            iden(Leads::CompanyName),
        ]
    }

    /// With the scores, which a client cannot write but the trail shows changing.
    fn audit_json(&self) -> serde_json::Value {
        let mut map = self.as_input();
        map.insert("id".into(), serde_json::json!(self.id));
        for (field, score) in [
            ("fit_score", self.fit_score),
            ("engagement_score", self.engagement_score),
            ("total_score", self.total_score),
        ] {
            map.insert(field.into(), score.into());
        }
        serde_json::Value::Object(map)
    }

    /// E-mails are compared in their normalised (lower-case) form.
    fn own_filter(filter: &mut Filter<LeadField>) -> Option<Cond> {
        if filter.field == LeadField::Email {
            query::lowercase_text(filter);
        }
        None
    }
}

impl Write for Lead {
    type Data = LeadData;

    fn data_owner(data: &LeadData) -> Option<UserId> {
        data.owner_id
    }

    /// The scores are computed here, from the company's rules and the lead's signals, whatever
    /// the data says.
    async fn write_columns(
        tx: &Tx,
        actor: &Actor,
        id: LeadId,
        data: &LeadData,
        owner: UserId,
        before: Option<&Self>,
        at: DateTime<Utc>,
    ) -> Result<Vec<(DynIden, Value)>> {
        let mut columns: Vec<(DynIden, Value)> = data_columns(data, owner)
            .into_iter()
            .map(|(c, v)| (iden(c), v))
            .collect();
        if before.map_or(data.whatsapp_consent, |b| {
            b.whatsapp_consent != data.whatsapp_consent
        }) {
            columns.push((iden(Leads::WhatsappConsentAt), Some(at).into()));
        }
        let fields = data.fields();
        let (fit, engagement, total) =
            crate::scoring::scores_of(tx, actor.company_id, &fields, before.map(|_| id)).await?;
        let has_note = |name: &str| rivet_domain::leads::has_text(&data.text, name);
        crate::checklist::check_contacts(
            tx,
            actor,
            &data.checklist,
            before.map(crate::checklist::Checked::checklist).as_ref(),
        )
        .await?;
        columns.extend(crate::checklist::columns(&data.checklist, &has_note));
        columns.extend([
            (iden(Leads::FitScore), fit.into()),
            (iden(Leads::EngagementScore), engagement.into()),
            (iden(Leads::TotalScore), total.into()),
        ]);
        // The company's gates, on every door; the scores are the ones just computed.
        let from = before.map(|b| b.status);
        crate::qualification::check(tx, actor.company_id, from, data.status, &fields, total)
            .await?;
        if from.is_some_and(|from| from != data.status) {
            columns.push((iden(Leads::StatusChangedAt), Some(at).into()));
        }
        columns.extend(crate::duplicates::person_key_columns(
            &data.text,
            data.email.as_ref().map(|e| e.as_str()),
            (None, None),
            crate::duplicates::settings_tx(tx, actor.company_id)
                .await?
                .country(),
        ));
        Ok(columns)
    }

    /// A change of scores is kept in the history and fires the thresholds it crossed.
    async fn after_write(
        tx: &Tx,
        actor: &Actor,
        _data: &LeadData,
        before: Option<&Self>,
        after: &mut Self,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let Some(before) = before else {
            // New leads: `after_create`, for the batch at once.
            return Ok(());
        };
        if before.status != after.status {
            crate::qualification::entered(tx, actor.company_id, &[&*after], at, false).await?;
        }
        crate::qualification::queue_auto_convert(tx, actor.company_id, &[&*after]).await?;
        let was = (
            before.fit_score,
            before.engagement_score,
            before.total_score,
        );
        crate::scoring::after_scored(tx, actor, &mut [(after, Some(was))], "updated").await
    }

    /// Leads whose fields the conversion model reads changed are scored by it again (a bulk
    /// update's at once).
    async fn after_update(tx: &Tx, actor: &Actor, changed: &[(&Self, &Self)]) -> Result<()> {
        let moved: Vec<&Self> = changed
            .iter()
            .filter(|(before, after)| crate::scoring_model::features_changed(before, after))
            .map(|(_, after)| *after)
            .collect();
        crate::scoring_model::refresh(tx, actor.company_id, &moved).await
    }

    async fn after_create(tx: &Tx, actor: &Actor, created: &mut [&mut Self]) -> Result<()> {
        if let Some(at) = created.first().map(|l| l.created_at) {
            let leads: Vec<&Self> = created.iter().map(|l| &**l).collect();
            crate::qualification::entered(tx, actor.company_id, &leads, at, true).await?;
            crate::qualification::queue_auto_convert(tx, actor.company_id, &leads).await?;
        }
        let mut written: Vec<(&mut Self, Option<crate::scoring::Scores>)> =
            created.iter_mut().map(|l| (&mut **l, None)).collect();
        crate::scoring::after_scored(tx, actor, &mut written, "created").await
    }
}

impl crate::intake::Screened for Lead {
    async fn assign(
        tx: &Tx,
        actor: &Actor,
        data: &mut [&mut LeadData],
    ) -> Result<Vec<Option<crate::assignment::Assignment>>> {
        let unowned: Vec<usize> = (0..data.len())
            .filter(|&i| data[i].owner_id.is_none())
            .collect();
        // Rules may test the scores: they are what the lead will be saved with.
        for d in data.iter_mut() {
            let (fit, engagement, total) =
                crate::scoring::scores_of(tx, actor.company_id, &d.fields(), None).await?;
            d.fit_score = fit;
            d.engagement_score = engagement;
            d.total_score = total;
        }
        let mut assignments: Vec<Option<crate::assignment::Assignment>> =
            data.iter().map(|_| None).collect();
        if unowned.is_empty() {
            return Ok(assignments);
        }
        let fields: Vec<_> = unowned.iter().map(|&i| data[i].fields()).collect();
        let found = crate::assignment::assign_in(
            tx,
            actor,
            rivet_domain::assignment::AssignmentEntity::Leads,
            &fields,
        )
        .await?;
        for (i, assignment) in unowned.into_iter().zip(found) {
            if let Some(a) = &assignment {
                data[i].owner_id = Some(a.owner_id);
            }
            assignments[i] = assignment;
        }
        Ok(assignments)
    }

    async fn after_assign(
        tx: &Tx,
        actor: &Actor,
        lead: &Lead,
        assignment: &crate::assignment::Assignment,
    ) -> Result<()> {
        if assignment.task_title.is_some() {
            crate::assignment::create_assignment_tasks_in(tx, actor, &[(lead.id, assignment)])
                .await?;
        }
        Ok(())
    }

    async fn match_keys(
        _tx: &Tx,
        _actor: &Actor,
        data: &LeadData,
        country: Option<rivet_domain::normalize::Country>,
    ) -> Result<rivet_domain::duplicates::MatchKeys> {
        Ok(crate::duplicates::person_keys(
            &data.text,
            data.email.as_ref().map(|e| e.as_str()),
            (None, None),
            country,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::now;
    use rivet_domain::checklist::ElementStatus;

    #[test]
    fn every_text_field_of_a_lead_has_a_column() {
        for field in rivet_domain::leads::TEXT_FIELDS {
            assert!(text_column(field).is_some(), "{field} has no column");
        }
    }

    #[test]
    fn every_writable_field_of_a_lead_is_an_input_field() {
        let lead = Lead {
            id: LeadId::nil(),
            first_name: None,
            last_name: Some("Doe".into()),
            title: None,
            email: None,
            phone: None,
            mobile: None,
            company_name: None,
            website: None,
            industry: None,
            employee_count: None,
            annual_revenue: None,
            annual_revenue_currency: None,
            street: None,
            city: None,
            region: None,
            postal_code: None,
            country: None,
            source: None,
            utm_source: None,
            utm_medium: None,
            utm_campaign: None,
            utm_term: None,
            utm_content: None,
            status: LeadStatus::New,
            owner_id: UserId::nil(),
            tags: Vec::new(),
            fit_score: 0,
            engagement_score: 0,
            total_score: 0,
            budget: None,
            authority: None,
            need: None,
            timeline: None,
            metrics: None,
            economic_buyer: None,
            decision_criteria: None,
            decision_process: None,
            identified_pain: None,
            champion: None,
            competition: None,
            budget_status: ElementStatus::Identified,
            authority_status: ElementStatus::Identified,
            need_status: ElementStatus::Identified,
            timeline_status: ElementStatus::Identified,
            metrics_status: ElementStatus::Identified,
            economic_buyer_status: ElementStatus::Identified,
            decision_criteria_status: ElementStatus::Identified,
            decision_process_status: ElementStatus::Identified,
            identified_pain_status: ElementStatus::Identified,
            champion_status: ElementStatus::Identified,
            competition_status: ElementStatus::Identified,
            budget_amount: Some("100.00".into()),
            budget_currency: Some("EUR".into()),
            timeline_date: Some("2027-01-31".into()),
            economic_buyer_contact_id: Some(ContactId::nil()),
            champion_contact_id: None,
            bant_score: 40,
            meddicc_completeness: 100,
            meddicc_strength: 50,
            custom_fields: serde_json::json!({}),
            created_by: UserId::nil(),
            created_at: now(),
            updated_at: now(),
            converted_at: Some(now()),
            converted_account_id: Some(AccountId::nil()),
            converted_contact_id: None,
            converted_deal_id: None,
            status_reason: Some("budget frozen".into()),
            status_changed_at: None,
            whatsapp_consent: true,
            whatsapp_consent_source: Some("a call".into()),
            whatsapp_consent_at: None,
        };
        let input: std::result::Result<rivet_domain::leads::LeadInput, _> =
            serde_json::from_value(serde_json::Value::Object(lead.as_input()));
        assert!(input.is_ok(), "{input:?}");
    }
}
