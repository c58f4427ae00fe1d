//! The typed list query every record list shares: filters and sort parsed once from the query
//! string (`status[in]=a,b`, `created_at[gte]=…`, `sort=-created_at,last_name`) into values the
//! store turns into SQL without looking at strings again.
//!
//! A record type describes its list fields as a table of [`FieldSpec`]s over its own field enum;
//! an unknown field or operator is a [`QueryError`] whose message lists what is allowed. Cursors
//! and SQL live in the store; this module is pure.
//!
//! A company's custom fields ([`crate::custom_fields`]) are list fields too, named `cf.<key>`:
//! [`ListQuery::parse_with_custom`] takes their [`CustomSpec`]s and keeps their filters and sort
//! keys in [`ListQuery::custom`]; [`ListQuery::order`] gives the whole sort in order.

use crate::custom_fields::{CustomFieldKind, parse_date};
use chrono::{DateTime, Utc};
use std::fmt;
use uuid::Uuid;

/// What kind of value a field holds, which decides how a filter value is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    Id,
    Time,
    Int,
    /// An amount of money, stored in micros (an integer); the query string gives it as a
    /// decimal (`1500.50`).
    Money,
    /// Text restricted to these values.
    Choice(&'static [&'static str]),
    /// A JSON array of strings.
    Tags,
}

/// A filter operator as written in the query string: `field=`, `field[in]=`, ….
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    In,
    Gte,
    Lte,
    Empty,
    Contains,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::In => "in",
            Self::Gte => "gte",
            Self::Lte => "lte",
            Self::Empty => "empty",
            Self::Contains => "contains",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [
            Self::Eq,
            Self::In,
            Self::Gte,
            Self::Lte,
            Self::Empty,
            Self::Contains,
        ]
        .into_iter()
        .find(|op| op.as_str() == text)
    }
}

/// One list field of a record type: its name in the API, its field enum value, and what may be
/// done with it.
#[derive(Debug, Clone, Copy)]
pub struct FieldSpec<F> {
    pub name: &'static str,
    pub field: F,
    pub kind: FieldKind,
    pub ops: &'static [Op],
    pub sortable: bool,
}

/// A typed value taken from the query string or a cursor.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterValue {
    Text(String),
    Id(Uuid),
    Time(DateTime<Utc>),
    Int(i64),
    /// A custom number field's value.
    Number(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Eq(FilterValue),
    In(Vec<FilterValue>),
    Gte(FilterValue),
    Lte(FilterValue),
    /// `true`: the field is empty (null); `false`: it has a value.
    Empty(bool),
    /// A tag list holds this tag.
    Contains(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Filter<F> {
    pub field: F,
    pub condition: Condition,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortKey<F> {
    pub field: F,
    pub descending: bool,
}

/// A company-defined field as a list sees it (`cf.<key>`).
#[derive(Debug, Clone, PartialEq)]
pub struct CustomSpec {
    pub key: String,
    pub kind: CustomFieldKind,
    /// The options of a select or multi-select field.
    pub options: Vec<String>,
}

impl CustomSpec {
    /// The filter operators of this kind of field. On a multi-select field `cf.x=a` means "holds
    /// a" and `cf.x[in]=a,b` "holds a or b".
    pub fn ops(&self) -> &'static [Op] {
        match self.kind {
            CustomFieldKind::Number | CustomFieldKind::Date => {
                &[Op::Eq, Op::In, Op::Gte, Op::Lte, Op::Empty]
            }
            CustomFieldKind::Boolean => &[Op::Eq, Op::Empty],
            CustomFieldKind::Text
            | CustomFieldKind::Url
            | CustomFieldKind::Email
            | CustomFieldKind::Select
            | CustomFieldKind::MultiSelect => &[Op::Eq, Op::In, Op::Empty],
        }
    }

    /// Every kind sorts but multi-select (a list has no single value to order by).
    pub fn sortable(&self) -> bool {
        self.kind != CustomFieldKind::MultiSelect
    }

    /// Parse one filter value: numbers as numbers, dates as `YYYY-MM-DD` text, booleans as 1
    /// or 0, select values checked against the options, e-mails lower-cased.
    pub fn parse_value(&self, text: &str) -> Result<FilterValue, String> {
        let text = text.trim();
        match self.kind {
            CustomFieldKind::Number => text
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(FilterValue::Number)
                .ok_or_else(|| "must be a number".to_owned()),
            CustomFieldKind::Date => parse_date(text)
                .map(FilterValue::Text)
                .ok_or_else(|| "must be a date (YYYY-MM-DD)".to_owned()),
            CustomFieldKind::Boolean => match text {
                "true" => Ok(FilterValue::Int(1)),
                "false" => Ok(FilterValue::Int(0)),
                _ => Err("must be true or false".to_owned()),
            },
            CustomFieldKind::Select | CustomFieldKind::MultiSelect => {
                if self.options.iter().any(|o| o == text) {
                    Ok(FilterValue::Text(text.to_owned()))
                } else {
                    Err(format!("must be one of: {}", self.options.join(", ")))
                }
            }
            CustomFieldKind::Email => Ok(FilterValue::Text(text.to_lowercase())),
            CustomFieldKind::Text | CustomFieldKind::Url => Ok(FilterValue::Text(text.to_owned())),
        }
    }
}

/// A filter on a custom field.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomFilter {
    pub key: String,
    pub kind: CustomFieldKind,
    pub condition: Condition,
}

/// A sort key on a custom field, and its place among all the sort keys.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomSortKey {
    pub key: String,
    pub kind: CustomFieldKind,
    pub descending: bool,
    /// 0-based index in the whole sort ([`ListQuery::order`]).
    pub position: usize,
}

/// The custom-field part of a list request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomQuery {
    pub filters: Vec<CustomFilter>,
    pub sort: Vec<CustomSortKey>,
}

/// One key of a list's whole sort: a field of the record type or a custom field.
#[derive(Debug, Clone, PartialEq)]
pub enum OrderKey<'a, F> {
    Field(SortKey<F>),
    Custom(&'a CustomSortKey),
}

impl<F> OrderKey<'_, F> {
    pub fn descending(&self) -> bool {
        match self {
            Self::Field(k) => k.descending,
            Self::Custom(k) => k.descending,
        }
    }
}

/// A parsed list request, minus pagination (the HTTP layer validates `limit` and `cursor`).
#[derive(Debug, Clone)]
pub struct ListQuery<F> {
    pub filters: Vec<Filter<F>>,
    /// Never empty: the record type's default sort when none was asked for (after the custom
    /// sort keys when only those were asked for).
    pub sort: Vec<SortKey<F>>,
    /// Case-insensitive substring search.
    pub q: Option<String>,
    /// Filters and sort keys on custom fields (`cf.<key>`).
    pub custom: CustomQuery,
}

/// A query string the list cannot answer; the message names what is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError(pub String);

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for QueryError {}

/// At most this many values in one `[in]` filter.
pub const MAX_IN_VALUES: usize = 100;

fn allowed_filters<F>(specs: &[FieldSpec<F>]) -> String {
    specs
        .iter()
        .filter(|s| !s.ops.is_empty())
        .map(|s| {
            let ops: Vec<String> = s
                .ops
                .iter()
                .map(|op| match op {
                    Op::Eq => s.name.to_owned(),
                    other => format!("{}[{}]", s.name, other.as_str()),
                })
                .collect();
            ops.join(", ")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn allowed_sorts<F>(specs: &[FieldSpec<F>]) -> String {
    specs
        .iter()
        .filter(|s| s.sortable)
        .map(|s| s.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The prefix of a custom field's list name.
pub const CUSTOM_PREFIX: &str = "cf.";

fn allowed_custom_filters(custom: &[CustomSpec]) -> String {
    custom
        .iter()
        .map(|c| {
            c.ops()
                .iter()
                .map(|op| match op {
                    Op::Eq => format!("{CUSTOM_PREFIX}{}", c.key),
                    other => format!("{CUSTOM_PREFIX}{}[{}]", c.key, other.as_str()),
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .map(|s| format!(", {s}"))
        .collect()
}

fn allowed_custom_sorts(custom: &[CustomSpec]) -> String {
    custom
        .iter()
        .filter(|c| c.sortable())
        .map(|c| format!(", {CUSTOM_PREFIX}{}", c.key))
        .collect()
}

/// Parse one value of `kind`; the error says what was expected.
pub fn parse_value(kind: FieldKind, text: &str) -> Result<FilterValue, String> {
    match kind {
        FieldKind::Text | FieldKind::Tags => Ok(FilterValue::Text(text.to_owned())),
        FieldKind::Choice(options) => {
            if options.contains(&text) {
                Ok(FilterValue::Text(text.to_owned()))
            } else {
                Err(format!("must be one of: {}", options.join(", ")))
            }
        }
        FieldKind::Id => Uuid::parse_str(text)
            .map(FilterValue::Id)
            .map_err(|_| "must be an id".to_owned()),
        FieldKind::Time => DateTime::parse_from_rfc3339(text)
            .map(|t| FilterValue::Time(t.with_timezone(&Utc)))
            .map_err(|_| "must be an RFC 3339 time".to_owned()),
        FieldKind::Int => text
            .parse::<i64>()
            .map(FilterValue::Int)
            .map_err(|_| "must be an integer".to_owned()),
        FieldKind::Money => {
            crate::values::Money::parse(text, String::new()).map(|m| FilterValue::Int(m.micros))
        }
    }
}

fn parse_condition(
    key: &str,
    op: Op,
    value: &str,
    parse: impl Fn(&str) -> Result<FilterValue, String>,
) -> Result<Condition, QueryError> {
    let bad = |message: String| QueryError(format!("{key}: {message}"));
    Ok(match op {
        Op::Eq => Condition::Eq(parse(value).map_err(bad)?),
        Op::Gte => Condition::Gte(parse(value).map_err(bad)?),
        Op::Lte => Condition::Lte(parse(value).map_err(bad)?),
        Op::In => {
            let values = value
                .split(',')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(&parse)
                .collect::<Result<Vec<_>, _>>()
                .map_err(bad)?;
            if values.is_empty() || values.len() > MAX_IN_VALUES {
                return Err(bad(format!("must list 1 to {MAX_IN_VALUES} values")));
            }
            Condition::In(values)
        }
        Op::Empty => match value {
            "true" => Condition::Empty(true),
            "false" => Condition::Empty(false),
            _ => return Err(bad("must be true or false".into())),
        },
        Op::Contains => Condition::Contains(value.to_owned()),
    })
}

impl<F: Copy> ListQuery<F> {
    /// Parse the query-string pairs against `specs`. `limit` and `cursor` are skipped (they are
    /// the caller's); any other unknown parameter is an error listing the allowed ones.
    pub fn parse(
        pairs: &[(String, String)],
        specs: &[FieldSpec<F>],
        default_sort: &[SortKey<F>],
    ) -> Result<Self, QueryError> {
        Self::parse_with_custom(pairs, specs, default_sort, &[])
    }

    /// As [`ListQuery::parse`], with the company's custom fields of this record type as
    /// `cf.<key>` filters and sort fields.
    pub fn parse_with_custom(
        pairs: &[(String, String)],
        specs: &[FieldSpec<F>],
        default_sort: &[SortKey<F>],
        custom: &[CustomSpec],
    ) -> Result<Self, QueryError> {
        let mut filters = Vec::new();
        let mut custom_filters = Vec::new();
        let mut sort: Option<(Vec<SortKey<F>>, Vec<CustomSortKey>)> = None;
        let mut q = None;
        for (key, value) in pairs {
            match key.as_str() {
                "limit" | "cursor" => continue,
                "q" => {
                    let text = value.trim();
                    q = (!text.is_empty()).then(|| text.to_owned());
                    continue;
                }
                "sort" => {
                    sort = Some(parse_sort(value, specs, custom)?);
                    continue;
                }
                _ => {}
            }
            let (name, op) = match key.split_once('[') {
                Some((name, rest)) => {
                    let op = rest
                        .strip_suffix(']')
                        .and_then(Op::parse)
                        .filter(|op| *op != Op::Eq);
                    (name, op)
                }
                None => (key.as_str(), Some(Op::Eq)),
            };
            let allowed = || {
                format!(
                    "{}{}",
                    allowed_filters(specs),
                    allowed_custom_filters(custom)
                )
            };
            if let Some(cf_key) = name.strip_prefix(CUSTOM_PREFIX) {
                let spec = custom.iter().find(|c| c.key == cf_key);
                let (Some(spec), Some(op)) = (spec, op) else {
                    return Err(QueryError(format!(
                        "unknown filter {key}; allowed filters: {}, and sort, q, limit, cursor",
                        allowed()
                    )));
                };
                if !spec.ops().contains(&op) {
                    return Err(QueryError(format!(
                        "filter {key} is not supported; allowed filters: {}",
                        allowed()
                    )));
                }
                let condition = parse_condition(key, op, value, |v| spec.parse_value(v))?;
                custom_filters.push(CustomFilter {
                    key: spec.key.clone(),
                    kind: spec.kind,
                    condition,
                });
                continue;
            }
            let spec = specs.iter().find(|s| s.name == name && !s.ops.is_empty());
            let (Some(spec), Some(op)) = (spec, op) else {
                return Err(QueryError(format!(
                    "unknown filter {key}; allowed filters: {}, and sort, q, limit, cursor",
                    allowed()
                )));
            };
            if !spec.ops.contains(&op) {
                return Err(QueryError(format!(
                    "filter {key} is not supported; allowed filters: {}",
                    allowed()
                )));
            }
            let condition = parse_condition(key, op, value, |v| parse_value(spec.kind, v))?;
            filters.push(Filter {
                field: spec.field,
                condition,
            });
        }
        let (mut sort, custom_sort) = sort.unwrap_or_else(|| (default_sort.to_vec(), Vec::new()));
        if sort.is_empty() {
            // Only custom keys: ties fall back to the default order.
            sort = default_sort.to_vec();
        }
        Ok(Self {
            filters,
            sort,
            q,
            custom: CustomQuery {
                filters: custom_filters,
                sort: custom_sort,
            },
        })
    }

    /// The whole sort in order: the record type's keys with the custom ones in their places.
    pub fn order(&self) -> Vec<OrderKey<'_, F>> {
        let total = self.sort.len() + self.custom.sort.len();
        let mut fields = self.sort.iter();
        let mut out = Vec::with_capacity(total);
        for i in 0..total {
            if let Some(key) = self.custom.sort.iter().find(|k| k.position == i) {
                out.push(OrderKey::Custom(key));
            } else if let Some(key) = fields.next() {
                out.push(OrderKey::Field(*key));
            }
        }
        out
    }
}

type ParsedSort<F> = (Vec<SortKey<F>>, Vec<CustomSortKey>);

fn parse_sort<F: Copy>(
    text: &str,
    specs: &[FieldSpec<F>],
    custom: &[CustomSpec],
) -> Result<ParsedSort<F>, QueryError> {
    let mut keys: Vec<SortKey<F>> = Vec::new();
    let mut custom_keys: Vec<CustomSortKey> = Vec::new();
    let mut seen = Vec::new();
    let allowed = || format!("{}{}", allowed_sorts(specs), allowed_custom_sorts(custom));
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, descending) = match part.strip_prefix('-') {
            Some(name) => (name, true),
            None => (part.strip_prefix('+').unwrap_or(part), false),
        };
        if seen.contains(&name) {
            return Err(QueryError(format!("sort names {name} twice")));
        }
        let position = seen.len();
        seen.push(name);
        if let Some(cf_key) = name.strip_prefix(CUSTOM_PREFIX) {
            let Some(spec) = custom.iter().find(|c| c.key == cf_key && c.sortable()) else {
                return Err(QueryError(format!(
                    "cannot sort by {name}; allowed sort fields: {}",
                    allowed()
                )));
            };
            custom_keys.push(CustomSortKey {
                key: spec.key.clone(),
                kind: spec.kind,
                descending,
                position,
            });
            continue;
        }
        let Some(spec) = specs.iter().find(|s| s.name == name && s.sortable) else {
            return Err(QueryError(format!(
                "cannot sort by {name}; allowed sort fields: {}",
                allowed()
            )));
        };
        keys.push(SortKey {
            field: spec.field,
            descending,
        });
    }
    if keys.is_empty() && custom_keys.is_empty() {
        return Err(QueryError(format!(
            "sort must name a field; allowed sort fields: {}",
            allowed()
        )));
    }
    Ok((keys, custom_keys))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum F {
        Name,
        At,
    }

    const SPECS: &[FieldSpec<F>] = &[
        FieldSpec {
            name: "name",
            field: F::Name,
            kind: FieldKind::Text,
            ops: &[Op::Eq, Op::In, Op::Empty],
            sortable: true,
        },
        FieldSpec {
            name: "at",
            field: F::At,
            kind: FieldKind::Time,
            ops: &[Op::Gte, Op::Lte],
            sortable: true,
        },
    ];

    fn parse(pairs: &[(&str, &str)]) -> Result<ListQuery<F>, QueryError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ListQuery::parse(
            &pairs,
            SPECS,
            &[SortKey {
                field: F::At,
                descending: true,
            }],
        )
    }

    #[test]
    fn filters_and_sort_are_parsed_into_types() {
        let q = parse(&[
            ("name[in]", "a,b"),
            ("at[gte]", "2026-01-01T00:00:00Z"),
            ("sort", "-name,at"),
            ("limit", "5"),
        ])
        .map_err(|e| e.0);
        let q = q.as_ref().map(|q| (q.filters.len(), q.sort.clone()));
        assert_eq!(
            q,
            Ok((
                2,
                vec![
                    SortKey {
                        field: F::Name,
                        descending: true
                    },
                    SortKey {
                        field: F::At,
                        descending: false
                    }
                ]
            ))
        );
    }

    #[test]
    fn unknown_fields_and_operators_list_the_allowed_ones() {
        let err = parse(&[("colour", "red")]).err().map(|e| e.0);
        assert!(err.is_some_and(|e| e.contains("name[in]") && e.contains("at[gte]")));
        assert!(parse(&[("at", "2026-01-01T00:00:00Z")]).is_err());
        assert!(parse(&[("name[like]", "x")]).is_err());
        let err = parse(&[("sort", "colour")]).err().map(|e| e.0);
        assert!(err.is_some_and(|e| e.contains("name, at")));
        assert!(parse(&[("at[gte]", "yesterday")]).is_err());
        assert!(parse(&[("name[empty]", "maybe")]).is_err());
    }

    fn custom() -> Vec<CustomSpec> {
        vec![
            CustomSpec {
                key: "size".into(),
                kind: CustomFieldKind::Number,
                options: Vec::new(),
            },
            CustomSpec {
                key: "areas".into(),
                kind: CustomFieldKind::MultiSelect,
                options: vec!["north".into()],
            },
        ]
    }

    fn parse_custom(pairs: &[(&str, &str)]) -> Result<ListQuery<F>, QueryError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ListQuery::parse_with_custom(
            &pairs,
            SPECS,
            &[SortKey {
                field: F::At,
                descending: true,
            }],
            &custom(),
        )
    }

    #[test]
    fn custom_fields_filter_and_sort_in_their_place() {
        let q = parse_custom(&[
            ("cf.size[gte]", "1.5"),
            ("cf.areas", "north"),
            ("sort", "name,-cf.size"),
        ])
        .map_err(|e| e.0);
        let Ok(q) = q else {
            panic!("{q:?}");
        };
        assert_eq!(
            q.custom.filters[0].condition,
            Condition::Gte(FilterValue::Number(1.5))
        );
        assert_eq!(q.custom.filters.len(), 2);
        let order: Vec<String> = q
            .order()
            .iter()
            .map(|k| match k {
                OrderKey::Field(k) => format!("{:?}{}", k.field, k.descending),
                OrderKey::Custom(k) => format!("{}{}", k.key, k.descending),
            })
            .collect();
        assert_eq!(order, ["Namefalse", "sizetrue"]);
        // Only custom keys: the default sort breaks ties.
        let q = parse_custom(&[("sort", "cf.size")]).map_err(|e| e.0);
        assert_eq!(q.map(|q| q.order().len()), Ok(2));
    }

    #[test]
    fn unknown_custom_fields_list_the_allowed_ones() {
        let err = parse_custom(&[("cf.colour", "red")]).err().map(|e| e.0);
        assert!(err.is_some_and(|e| e.contains("cf.size[gte]") && e.contains("name[in]")));
        let err = parse_custom(&[("sort", "cf.colour")]).err().map(|e| e.0);
        assert!(err.is_some_and(|e| e.contains("cf.size") && !e.contains("cf.areas")));
        assert!(parse_custom(&[("sort", "cf.areas")]).is_err());
        assert!(parse_custom(&[("cf.size", "big")]).is_err());
        assert!(parse_custom(&[("cf.areas", "south")]).is_err());
        assert!(parse_custom(&[("cf.areas[gte]", "north")]).is_err());
        assert!(parse(&[("cf.size", "1")]).is_err());
    }
}
