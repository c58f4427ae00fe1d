//! What every record's page shares: its sections of labelled values and the address of a
//! record's page.

use rivet_domain::activities::RecordType;
use uuid::Uuid;

pub struct Item {
    pub label: &'static str,
    pub value: String,
}

pub struct Section {
    pub title: &'static str,
    pub items: Vec<Item>,
}

pub(super) fn items(list: &[(&'static str, &Option<String>)]) -> Vec<Item> {
    list.iter()
        .map(|(label, value)| Item {
            label,
            value: value.as_deref().unwrap_or_default().to_owned(),
        })
        .collect()
}

pub(super) fn record_path(record_type: RecordType, id: Uuid) -> String {
    let list = match record_type {
        RecordType::Lead => "leads",
        RecordType::Contact => "contacts",
        RecordType::Account => "accounts",
        RecordType::Deal => "deals",
    };
    format!("/{list}/{id}")
}
