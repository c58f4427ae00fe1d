//! The typed list query every record list shares: filters and sort parsed once from the query
//! string (`status[in]=a,b`, `created_at[gte]=…`, `sort=-created_at,last_name`) into values the
//! store turns into SQL without looking at strings again.
//!
//! A record type describes its list fields as a table of [`FieldSpec`]s over its own field enum;
//! an unknown field or operator is a [`QueryError`] whose message lists what is allowed. Cursors
//! and SQL live in the store; this module is pure.

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

/// A parsed list request, minus pagination (the HTTP layer validates `limit` and `cursor`).
#[derive(Debug, Clone)]
pub struct ListQuery<F> {
    pub filters: Vec<Filter<F>>,
    /// Never empty: the record type's default sort when none was asked for.
    pub sort: Vec<SortKey<F>>,
    /// Case-insensitive substring search.
    pub q: Option<String>,
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
    }
}

impl<F: Copy> ListQuery<F> {
    /// Parse the query-string pairs against `specs`. `limit` and `cursor` are skipped (they are
    /// the caller's); any other unknown parameter is an error listing the allowed ones.
    pub fn parse(
        pairs: &[(String, String)],
        specs: &[FieldSpec<F>],
        default_sort: &[SortKey<F>],
    ) -> Result<Self, QueryError> {
        let mut filters = Vec::new();
        let mut sort = None;
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
                    sort = Some(parse_sort(value, specs)?);
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
            let spec = specs.iter().find(|s| s.name == name && !s.ops.is_empty());
            let (Some(spec), Some(op)) = (spec, op) else {
                return Err(QueryError(format!(
                    "unknown filter {key}; allowed filters: {}, and sort, q, limit, cursor",
                    allowed_filters(specs)
                )));
            };
            if !spec.ops.contains(&op) {
                return Err(QueryError(format!(
                    "filter {key} is not supported; allowed filters: {}",
                    allowed_filters(specs)
                )));
            }
            let bad = |message: String| QueryError(format!("{key}: {message}"));
            let condition = match op {
                Op::Eq => Condition::Eq(parse_value(spec.kind, value).map_err(bad)?),
                Op::Gte => Condition::Gte(parse_value(spec.kind, value).map_err(bad)?),
                Op::Lte => Condition::Lte(parse_value(spec.kind, value).map_err(bad)?),
                Op::In => {
                    let values = value
                        .split(',')
                        .map(str::trim)
                        .filter(|v| !v.is_empty())
                        .map(|v| parse_value(spec.kind, v))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(bad)?;
                    if values.is_empty() || values.len() > MAX_IN_VALUES {
                        return Err(bad(format!("must list 1 to {MAX_IN_VALUES} values")));
                    }
                    Condition::In(values)
                }
                Op::Empty => match value.as_str() {
                    "true" => Condition::Empty(true),
                    "false" => Condition::Empty(false),
                    _ => return Err(bad("must be true or false".into())),
                },
                Op::Contains => Condition::Contains(value.clone()),
            };
            filters.push(Filter {
                field: spec.field,
                condition,
            });
        }
        Ok(Self {
            filters,
            sort: sort.unwrap_or_else(|| default_sort.to_vec()),
            q,
        })
    }
}

fn parse_sort<F: Copy>(text: &str, specs: &[FieldSpec<F>]) -> Result<Vec<SortKey<F>>, QueryError> {
    let mut keys: Vec<SortKey<F>> = Vec::new();
    let mut seen = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, descending) = match part.strip_prefix('-') {
            Some(name) => (name, true),
            None => (part.strip_prefix('+').unwrap_or(part), false),
        };
        let Some(spec) = specs.iter().find(|s| s.name == name && s.sortable) else {
            return Err(QueryError(format!(
                "cannot sort by {name}; allowed sort fields: {}",
                allowed_sorts(specs)
            )));
        };
        if seen.contains(&name) {
            return Err(QueryError(format!("sort names {name} twice")));
        }
        seen.push(name);
        keys.push(SortKey {
            field: spec.field,
            descending,
        });
    }
    if keys.is_empty() {
        return Err(QueryError(format!(
            "sort must name a field; allowed sort fields: {}",
            allowed_sorts(specs)
        )));
    }
    Ok(keys)
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
}
