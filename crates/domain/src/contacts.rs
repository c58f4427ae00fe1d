//! Contacts (people at accounts): the list fields and the input a client sends, validated once
//! into [`ContactData`]. Consent times are the store's (set when a flag changes).

use crate::accounts::{MAX_TEXT, clean, clean_tags};
use crate::choices::spec;
use crate::ids::{AccountId, UserId};
use crate::query::{FieldKind, FieldSpec, Op, SortKey};
use crate::validate::{Email, FieldErrors};
use crate::values::parse_phone;
use serde::Deserialize;
use serde_json::{Map, Value};

/// The fields of a contact a list can filter or sort on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactField {
    AccountId,
    OwnerId,
    Email,
    LastName,
    FirstName,
    IsPrimary,
    EmailConsent,
    WhatsappConsent,
    Tags,
    CreatedAt,
    UpdatedAt,
}

const BOOL: FieldKind = FieldKind::Choice(&["true", "false"]);

/// Every list field of contacts, in the order error messages list them.
pub const CONTACT_FIELDS: &[FieldSpec<ContactField>] = &[
    spec(
        "account_id",
        ContactField::AccountId,
        FieldKind::Id,
        &[Op::Eq, Op::In, Op::Empty],
        true,
    ),
    spec(
        "owner_id",
        ContactField::OwnerId,
        FieldKind::Id,
        &[Op::Eq, Op::In],
        true,
    ),
    spec(
        "email",
        ContactField::Email,
        FieldKind::Text,
        &[Op::Eq, Op::Empty],
        true,
    ),
    spec(
        "last_name",
        ContactField::LastName,
        FieldKind::Text,
        &[Op::Eq],
        true,
    ),
    spec(
        "first_name",
        ContactField::FirstName,
        FieldKind::Text,
        &[],
        true,
    ),
    spec("is_primary", ContactField::IsPrimary, BOOL, &[Op::Eq], true),
    spec(
        "email_consent",
        ContactField::EmailConsent,
        BOOL,
        &[Op::Eq],
        true,
    ),
    spec(
        "whatsapp_consent",
        ContactField::WhatsappConsent,
        BOOL,
        &[Op::Eq],
        true,
    ),
    spec(
        "tags",
        ContactField::Tags,
        FieldKind::Tags,
        &[Op::Contains],
        false,
    ),
    spec(
        "created_at",
        ContactField::CreatedAt,
        FieldKind::Time,
        &[Op::Gte, Op::Lte],
        true,
    ),
    spec(
        "updated_at",
        ContactField::UpdatedAt,
        FieldKind::Time,
        &[Op::Gte, Op::Lte],
        true,
    ),
];

/// Newest first.
pub const CONTACT_DEFAULT_SORT: &[SortKey<ContactField>] = &[SortKey {
    field: ContactField::CreatedAt,
    descending: true,
}];

/// A contact as a client writes it (create, or the merged result of a patch).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub title: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub account_id: Option<AccountId>,
    /// The account's primary contact; setting it un-sets the account's previous one.
    pub is_primary: Option<bool>,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub owner_id: Option<UserId>,
    pub email_consent: Option<bool>,
    /// Where the e-mail consent came from (a form, an import, a call …).
    pub email_consent_source: Option<String>,
    pub whatsapp_consent: Option<bool>,
    pub whatsapp_consent_source: Option<String>,
    pub street: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub tags: Option<Vec<String>>,
    /// Stored as given for now; checked against custom field definitions once they exist.
    #[schema(value_type = Option<Object>)]
    pub custom_fields: Option<Map<String, Value>>,
}

/// The plain text fields of a contact.
pub const TEXT_FIELDS: &[&str] = &[
    "first_name",
    "last_name",
    "title",
    "phone",
    "mobile",
    "email_consent_source",
    "whatsapp_consent_source",
    "street",
    "city",
    "region",
    "postal_code",
    "country",
];

/// A valid contact.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactData {
    /// `(field, value)` for each of [`TEXT_FIELDS`], in that order.
    pub text: Vec<(&'static str, Option<String>)>,
    pub email: Option<Email>,
    pub account_id: Option<AccountId>,
    pub is_primary: bool,
    pub owner_id: Option<UserId>,
    pub email_consent: bool,
    pub whatsapp_consent: bool,
    pub tags: Vec<String>,
    pub custom_fields: Map<String, Value>,
}

impl ContactInput {
    fn text(&self, field: &str) -> Option<&String> {
        match field {
            "first_name" => self.first_name.as_ref(),
            "last_name" => self.last_name.as_ref(),
            "title" => self.title.as_ref(),
            "phone" => self.phone.as_ref(),
            "mobile" => self.mobile.as_ref(),
            "email_consent_source" => self.email_consent_source.as_ref(),
            "whatsapp_consent_source" => self.whatsapp_consent_source.as_ref(),
            "street" => self.street.as_ref(),
            "city" => self.city.as_ref(),
            "region" => self.region.as_ref(),
            "postal_code" => self.postal_code.as_ref(),
            "country" => self.country.as_ref(),
            _ => None,
        }
    }

    /// Check every field, naming each invalid one.
    pub fn validate(self) -> Result<ContactData, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut text = Vec::with_capacity(TEXT_FIELDS.len());
        for field in TEXT_FIELDS {
            let mut value = clean(self.text(field).cloned());
            if let Some(v) = &value {
                if v.chars().count() > MAX_TEXT {
                    errors.add(
                        field,
                        format!("is too long (at most {MAX_TEXT} characters)"),
                    );
                } else if *field == "phone" || *field == "mobile" {
                    value = errors.check(field, parse_phone(v));
                }
            }
            text.push((*field, value));
        }
        let has_name = text
            .iter()
            .any(|(f, v)| matches!(*f, "first_name" | "last_name") && v.is_some());
        let email = match clean(self.email) {
            Some(e) => errors.check("email", Email::parse(&e)),
            None => None,
        };
        if !has_name && email.is_none() && !errors.0.iter().any(|e| e.field == "email") {
            errors.add("last_name", "a contact needs a name or an e-mail");
        }
        let is_primary = self.is_primary.unwrap_or(false);
        if is_primary && self.account_id.is_none() {
            errors.add("is_primary", "needs an account_id");
        }
        let tags = clean_tags(self.tags, &mut errors);
        errors.into_result()?;
        Ok(ContactData {
            text,
            email,
            account_id: self.account_id,
            is_primary,
            owner_id: self.owner_id,
            email_consent: self.email_consent.unwrap_or(false),
            whatsapp_consent: self.whatsapp_consent.unwrap_or(false),
            tags,
            custom_fields: self.custom_fields.unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_contact_needs_a_name_or_email_and_a_primary_needs_an_account() {
        let fields: Vec<String> = ContactInput {
            is_primary: Some(true),
            phone: Some("call me".into()),
            ..ContactInput::default()
        }
        .validate()
        .err()
        .map(|e| e.0.into_iter().map(|f| f.field).collect())
        .unwrap_or_default();
        assert_eq!(fields, ["phone", "last_name", "is_primary"]);
    }
}
