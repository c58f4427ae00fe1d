//! Duplicate detection's model: a company's ordered match rules, the keys of a person record
//! that the rules compare, and the verdict on a new record against candidate records.
//!
//! Called by the intake pipeline of issue 13 (not built yet): every path that creates a lead or
//! a contact computes the new record's [`MatchKeys`], asks the store for the candidates that
//! share an indexed key with it (see [`MatchKeys`]), and hands both to [`find_duplicates`],
//! whose [`Verdict`] says whether the create goes on quietly, goes on with a warning listing the
//! matches, or is refused. The normalization itself is [`crate::normalize`]; the store's
//! columns and the HTTP answers live in their own crates.

use crate::choices::choice_enum;
use crate::normalize::{self, Country};
use crate::validate::FieldErrors;
use serde::{Deserialize, Serialize};

choice_enum!(
    /// What a rule compares, in the order a new company's admin usually ranks them.
    MatchRuleKind {
        /// The same e-mail key ([`normalize::email`]).
        ExactEmail => "exact_email",
        /// The same phone number in E.164 ([`normalize::phone`]).
        ExactPhone => "exact_phone",
        /// The same registrable domain (never a free-mail one) and person names at least
        /// `threshold` alike.
        DomainAndName => "domain_and_name",
        /// Person names and company names each at least `threshold` alike.
        FuzzyNameAndCompany => "fuzzy_name_and_company",
    }
);

impl MatchRuleKind {
    /// Whether the rule compares for equality, so that a threshold means nothing to it.
    pub fn is_exact(self) -> bool {
        matches!(self, Self::ExactEmail | Self::ExactPhone)
    }
}

choice_enum!(
    /// What a match does to the create, weakest first (the order compares them).
    #[derive(PartialOrd, Ord)]
    MatchAction {
        /// Nothing: the match is known (a duplicate scan lists it) but the create goes on quietly.
        Allow => "allow",
        /// The create goes on and its answer lists the matches.
        Warn => "warn",
        /// The create is refused (409) with the matches.
        Block => "block",
    }
);

choice_enum!(
    /// The records a new record is compared with.
    MatchEntity {
        Leads => "leads",
        Contacts => "contacts",
    }
);

/// The threshold of a similarity rule that does not give one.
pub const DEFAULT_THRESHOLD: f64 = 0.9;
/// The most rules a company may have.
pub const MAX_RULES: usize = 20;

/// One of a company's match rules. The rules are an ordered list: the first that matches a pair
/// of records decides the match ([`evaluate`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchRule {
    pub kind: MatchRuleKind,
    pub action: MatchAction,
    /// The least Jaro-Winkler similarity (0 to 1) of the names a similarity rule compares;
    /// [`DEFAULT_THRESHOLD`] when left out. An exact rule takes none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub threshold: Option<f64>,
    /// The records the rule compares a new record with.
    pub against: Vec<MatchEntity>,
}

impl MatchRule {
    /// The threshold a similarity rule applies.
    pub fn threshold(&self) -> f64 {
        self.threshold.unwrap_or(DEFAULT_THRESHOLD)
    }

    /// How sure the rule is that `new` and `candidate` are the same person, if it matches them:
    /// 1 for an exact rule, the (weaker) similarity for a similarity rule. A key missing on
    /// either side never matches.
    fn confidence(&self, new: &MatchKeys, candidate: &MatchKeys) -> Option<f64> {
        match self.kind {
            MatchRuleKind::ExactEmail => same(&new.email, &candidate.email).then_some(1.0),
            MatchRuleKind::ExactPhone => same(&new.phone, &candidate.phone).then_some(1.0),
            MatchRuleKind::DomainAndName => {
                if !same(&new.domain, &candidate.domain) {
                    return None;
                }
                similarity(&new.name, &candidate.name).filter(|s| *s >= self.threshold())
            }
            MatchRuleKind::FuzzyNameAndCompany => {
                let names = similarity(&new.name, &candidate.name)?;
                let companies = similarity(&new.company, &candidate.company)?;
                let weaker = names.min(companies);
                (weaker >= self.threshold()).then_some(weaker)
            }
        }
    }
}

/// Both present and equal.
fn same(a: &Option<String>, b: &Option<String>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if a == b)
}

/// Jaro-Winkler similarity of two present keys.
fn similarity(a: &Option<String>, b: &Option<String>) -> Option<f64> {
    Some(strsim::jaro_winkler(a.as_deref()?, b.as_deref()?))
}

/// The rules a new company starts with: exact e-mail, then exact phone, each a warning, against
/// leads and contacts.
pub fn default_rules() -> Vec<MatchRule> {
    [MatchRuleKind::ExactEmail, MatchRuleKind::ExactPhone]
        .into_iter()
        .map(|kind| MatchRule {
            kind,
            action: MatchAction::Warn,
            threshold: None,
            against: vec![MatchEntity::Leads, MatchEntity::Contacts],
        })
        .collect()
}

/// Checks a company's rules, naming each bad field as `rules[i].field`.
pub fn validate_rules(rules: &[MatchRule]) -> Result<(), FieldErrors> {
    let mut errors = FieldErrors::new();
    if rules.len() > MAX_RULES {
        errors.add("rules", format!("must have at most {MAX_RULES} rules"));
    }
    for (i, rule) in rules.iter().enumerate() {
        if let Some(threshold) = rule.threshold {
            if rule.kind.is_exact() {
                errors.add(
                    &format!("rules[{i}].threshold"),
                    format!("does not apply to {} (leave it out)", rule.kind),
                );
            } else if !(0.0..=1.0).contains(&threshold) {
                errors.add(&format!("rules[{i}].threshold"), "must be between 0 and 1");
            }
        }
        if rule.against.is_empty() {
            errors.add(
                &format!("rules[{i}].against"),
                format!(
                    "must name at least one of: {}",
                    MatchEntity::NAMES.join(", ")
                ),
            );
        }
        let repeated = rule
            .against
            .iter()
            .enumerate()
            .any(|(j, entity)| rule.against[..j].contains(entity));
        if repeated {
            errors.add(
                &format!("rules[{i}].against"),
                "must not repeat a record type",
            );
        }
    }
    errors.into_result()
}

/// A company's duplicate detection: its ordered rules, and the country a phone number written
/// without `+` is read in (none: such a number gives no phone key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DuplicateSettings {
    /// ISO 3166-1 alpha-2 code, e.g. `GB`; null for none.
    #[schema(example = "GB")]
    pub default_country: Option<String>,
    /// The rules in order: the first that matches a pair decides.
    pub rules: Vec<MatchRule>,
}

impl Default for DuplicateSettings {
    /// What a new company starts with: [`default_rules`] and no default country.
    fn default() -> Self {
        Self {
            default_country: None,
            rules: default_rules(),
        }
    }
}

impl DuplicateSettings {
    /// Checks the rules and the country; the country comes back upper-case.
    pub fn validate(mut self) -> Result<Self, FieldErrors> {
        let mut errors = validate_rules(&self.rules).err().unwrap_or_default();
        if let Some(code) = self.default_country.take() {
            match Country::parse(&code) {
                Ok(country) => self.default_country = Some(country.as_str().to_owned()),
                Err(_) => errors.add(
                    "default_country",
                    "must be an ISO 3166-1 alpha-2 country code such as GB or US",
                ),
            }
        }
        errors.into_result().map(|()| self)
    }

    /// The country phone numbers are read in.
    pub fn country(&self) -> Option<Country> {
        self.default_country
            .as_deref()
            .and_then(|c| Country::parse(c).ok())
    }
}

/// The fields of a person record (a lead or a contact) that duplicate detection reads, as
/// entered.
#[derive(Debug, Clone, Copy, Default)]
pub struct Person<'a> {
    pub first_name: Option<&'a str>,
    pub last_name: Option<&'a str>,
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
    /// A lead's company name, a contact's account name.
    pub company: Option<&'a str>,
    pub website: Option<&'a str>,
}

/// The normalized keys of a person record, each `None` when the record gives nothing usable.
///
/// A store keeps them in indexed columns and finds a new record's candidates with equality
/// lookups only, one per rule kind, so that checking one record against a million stays a few
/// index probes:
///
/// | rule | candidates where |
/// |---|---|
/// | exact e-mail | `email = ?` |
/// | exact phone | `phone = ?` |
/// | domain and name | `domain = ? AND name_block = ?` |
/// | fuzzy name and company | `company = ? AND name_block = ?` |
///
/// The last two are *blocking* lookups: they fetch the few records that could pass the
/// similarity test, which [`evaluate`] then applies. The price is that a typo in the first
/// letter of a surname (which changes `name_block`), or for the last rule any difference in the
/// company key, is not found by them; a full scan may block more loosely.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatchKeys {
    /// [`normalize::email`].
    pub email: Option<String>,
    /// [`normalize::phone`] in the company's default country.
    pub phone: Option<String>,
    /// The registrable domain of the website, else of the e-mail address; never a free-mail
    /// domain, so a lookup by domain never fetches every Gmail user.
    pub domain: Option<String>,
    /// [`normalize::person_name`] of the first and last name together.
    pub name: Option<String>,
    /// [`normalize::company_name`].
    pub company: Option<String>,
    /// The blocking key of the name: the Soundex code of its last word (`smith` and `smyth`
    /// are both `S530`), or the word itself when it has no Latin letter.
    pub name_block: Option<String>,
}

impl MatchKeys {
    /// The keys of `person`, a phone without `+` read in `default_country`.
    pub fn of(person: &Person<'_>, default_country: Option<Country>) -> Self {
        let email = person.email.and_then(normalize::email);
        let phone = person
            .phone
            .and_then(|p| normalize::phone(p, default_country));
        let domain = [person.website, email.as_deref()]
            .into_iter()
            .flatten()
            .filter_map(normalize::registrable_domain)
            .find(|d| !normalize::is_free_mail(d));
        let full_name = [person.first_name, person.last_name]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let name = normalize::person_name(&full_name);
        let name_block = name
            .as_deref()
            .and_then(|n| n.rsplit(' ').next())
            .map(soundex);
        Self {
            email,
            phone,
            domain,
            name,
            company: person.company.and_then(normalize::company_name),
            name_block,
        }
    }
}

/// American Soundex of a word's Latin letters: the first letter, then up to three digits for the
/// consonant sounds that follow (`robert` → `R163`). A word without a Latin letter is its own
/// code.
fn soundex(word: &str) -> String {
    fn digit(c: char) -> Option<char> {
        Some(match c {
            'b' | 'f' | 'p' | 'v' => '1',
            'c' | 'g' | 'j' | 'k' | 'q' | 's' | 'x' | 'z' => '2',
            'd' | 't' => '3',
            'l' => '4',
            'm' | 'n' => '5',
            'r' => '6',
            _ => return None,
        })
    }
    let mut letters = word.chars().filter(char::is_ascii_lowercase);
    let Some(first) = letters.next() else {
        return word.to_owned();
    };
    let mut code = String::from(first.to_ascii_uppercase());
    let mut last = digit(first);
    for c in letters {
        if code.len() == 4 {
            break;
        }
        match digit(c) {
            Some(d) if last != Some(d) => {
                code.push(d);
                last = Some(d);
            }
            Some(_) => {}
            // `h` and `w` do not separate two equal codes; vowels do.
            None if matches!(c, 'h' | 'w') => {}
            None => last = None,
        }
    }
    while code.len() < 4 {
        code.push('0');
    }
    code
}

/// One pair of records matched by a rule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Match {
    /// The matching rule's place in the company's list, from 0.
    pub rule_index: usize,
    pub kind: MatchRuleKind,
    pub action: MatchAction,
    /// How sure the rule is, 0 to 1: 1 for an exact rule, the similarity for the others.
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub confidence: f64,
}

/// The first of `rules` that applies to `entity` and matches `new` with `candidate`, if any: the
/// order of the rules is the company's, so a rule above decides over one below (an `allow`
/// above a `block` lets the pairs it matches through).
pub fn evaluate(
    rules: &[MatchRule],
    new: &MatchKeys,
    entity: MatchEntity,
    candidate: &MatchKeys,
) -> Option<Match> {
    rules
        .iter()
        .enumerate()
        .filter(|(_, rule)| rule.against.contains(&entity))
        .find_map(|(rule_index, rule)| {
            rule.confidence(new, candidate).map(|confidence| Match {
                rule_index,
                kind: rule.kind,
                action: rule.action,
                confidence,
            })
        })
}

/// An existing record the store found for a new one; `record` is whatever identifies it to the
/// caller (an id, a row).
#[derive(Debug, Clone)]
pub struct Candidate<R> {
    pub record: R,
    pub entity: MatchEntity,
    pub keys: MatchKeys,
}

/// A candidate that a rule matched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Found<R> {
    pub record: R,
    pub entity: MatchEntity,
    #[serde(flatten)]
    pub matched: Match,
}

/// What the rules say about a new record.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict<R> {
    /// The strongest action of the matches (`block` over `warn` over `allow`); `allow` when
    /// nothing matched.
    pub action: MatchAction,
    /// The matches, surest first (then the stronger action, then the rule higher in the list).
    pub matches: Vec<Found<R>>,
}

/// Compares `new` with every candidate under `rules`. The caller leaves the new record itself
/// out of the candidates (an update compares a record with the others).
pub fn find_duplicates<R>(
    rules: &[MatchRule],
    new: &MatchKeys,
    candidates: impl IntoIterator<Item = Candidate<R>>,
) -> Verdict<R> {
    let mut matches: Vec<Found<R>> = candidates
        .into_iter()
        .filter_map(|c| {
            evaluate(rules, new, c.entity, &c.keys).map(|matched| Found {
                record: c.record,
                entity: c.entity,
                matched,
            })
        })
        .collect();
    matches.sort_by(|a, b| {
        b.matched
            .confidence
            .total_cmp(&a.matched.confidence)
            .then(b.matched.action.cmp(&a.matched.action))
            .then(a.matched.rule_index.cmp(&b.matched.rule_index))
    });
    let action = matches
        .iter()
        .map(|m| m.matched.action)
        .max()
        .unwrap_or(MatchAction::Allow);
    Verdict { action, matches }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gb() -> Option<Country> {
        Country::parse("GB").ok()
    }

    fn person<'a>(first: &'a str, last: &'a str) -> Person<'a> {
        Person {
            first_name: Some(first),
            last_name: Some(last),
            ..Person::default()
        }
    }

    fn keys(person: Person<'_>) -> MatchKeys {
        MatchKeys::of(&person, gb())
    }

    fn rule(kind: MatchRuleKind, action: MatchAction) -> MatchRule {
        MatchRule {
            kind,
            action,
            threshold: None,
            against: vec![MatchEntity::Leads, MatchEntity::Contacts],
        }
    }

    fn all_rules() -> Vec<MatchRule> {
        vec![
            rule(MatchRuleKind::ExactEmail, MatchAction::Block),
            rule(MatchRuleKind::ExactPhone, MatchAction::Warn),
            rule(MatchRuleKind::DomainAndName, MatchAction::Warn),
            rule(MatchRuleKind::FuzzyNameAndCompany, MatchAction::Warn),
        ]
    }

    fn kind_of(new: &MatchKeys, candidate: &MatchKeys) -> Option<MatchRuleKind> {
        evaluate(&all_rules(), new, MatchEntity::Leads, candidate).map(|m| m.kind)
    }

    #[test]
    fn keys_are_the_normalized_fields() {
        let keys = keys(Person {
            first_name: Some(" José "),
            last_name: Some("Smith-Núñez"),
            email: Some("Jose.Smith+crm@Acme.co.uk"),
            phone: Some("020 7946 0958"),
            company: Some("ACME Ltd."),
            website: Some("https://www.acme.co.uk/about"),
        });
        assert_eq!(
            keys,
            MatchKeys {
                email: Some("jose.smith+crm@acme.co.uk".into()),
                phone: Some("+442079460958".into()),
                domain: Some("acme.co.uk".into()),
                name: Some("jose smith nunez".into()),
                company: Some("acme".into()),
                name_block: Some("N520".into()),
            }
        );
        assert_eq!(keys_of_nothing(), MatchKeys::default());
    }

    fn keys_of_nothing() -> MatchKeys {
        keys(Person {
            first_name: Some("  "),
            email: Some("not an address"),
            phone: Some("12"),
            company: Some("..."),
            website: Some("localhost"),
            ..Person::default()
        })
    }

    #[test]
    fn the_domain_comes_from_the_website_else_a_business_address() {
        let from_email = keys(Person {
            email: Some("ann@mail.example.com"),
            ..Person::default()
        });
        assert_eq!(from_email.domain.as_deref(), Some("example.com"));
        let free = keys(Person {
            email: Some("ann@gmail.com"),
            website: Some("yahoo.com"),
            ..Person::default()
        });
        assert_eq!(free.domain, None);
        let both = keys(Person {
            email: Some("ann@gmail.com"),
            website: Some("www.example.org"),
            ..Person::default()
        });
        assert_eq!(both.domain.as_deref(), Some("example.org"));
    }

    #[test]
    fn the_name_block_is_the_soundex_of_the_last_word() {
        for (word, code) in [
            ("robert", "R163"),
            ("rupert", "R163"),
            ("smith", "S530"),
            ("smyth", "S530"),
            ("ashcraft", "A261"),
            ("tymczak", "T522"),
            ("pfister", "P236"),
            ("lee", "L000"),
            ("小龍", "小龍"),
        ] {
            assert_eq!(soundex(word), code, "{word}");
        }
        let keys = keys(person("John", ""));
        assert_eq!(keys.name_block.as_deref(), Some("J500"));
    }

    #[test]
    fn the_same_email_matches_exactly() {
        let new = keys(Person {
            email: Some("J.Smith+x@gmail.com"),
            ..person("John", "Smith")
        });
        let old = keys(Person {
            email: Some("jsmith@googlemail.com"),
            ..person("Jack", "Jones")
        });
        let found = evaluate(&all_rules(), &new, MatchEntity::Contacts, &old);
        assert_eq!(
            found,
            Some(Match {
                rule_index: 0,
                kind: MatchRuleKind::ExactEmail,
                action: MatchAction::Block,
                confidence: 1.0,
            })
        );
    }

    #[test]
    fn the_same_phone_matches_exactly() {
        let new = keys(Person {
            phone: Some("020 7946 0958"),
            ..person("Ann", "Lee")
        });
        let old = keys(Person {
            phone: Some("+44 (0)20 7946-0958"),
            ..person("Bob", "Stone")
        });
        assert_eq!(kind_of(&new, &old), Some(MatchRuleKind::ExactPhone));
        let other = keys(Person {
            phone: Some("020 7946 0959"),
            ..person("Bob", "Stone")
        });
        assert_eq!(kind_of(&new, &other), None);
    }

    #[test]
    fn a_missing_key_matches_nothing() {
        let empty = keys_of_nothing();
        assert_eq!(kind_of(&empty, &empty), None);
    }

    #[test]
    fn the_same_business_domain_and_a_similar_name_match() {
        let new = keys(Person {
            email: Some("jon.smith@acme.com"),
            ..person("Jon", "Smith")
        });
        let old = keys(Person {
            website: Some("https://www.acme.com"),
            ..person("John", "Smith")
        });
        let found = evaluate(&all_rules(), &new, MatchEntity::Leads, &old);
        assert_eq!(found.map(|m| m.kind), Some(MatchRuleKind::DomainAndName));
        assert!(found.is_some_and(|m| m.confidence > 0.9 && m.confidence < 1.0));
        // A colleague at the same domain is not the same person.
        let colleague = keys(Person {
            email: Some("mary.jones@acme.com"),
            ..person("Mary", "Jones")
        });
        assert_eq!(kind_of(&new, &colleague), None);
    }

    #[test]
    fn two_gmail_users_do_not_share_a_domain() {
        let new = keys(Person {
            email: Some("jon.smith@gmail.com"),
            ..person("Jon", "Smith")
        });
        let old = keys(Person {
            email: Some("john.smith.1980@gmail.com"),
            ..person("John", "Smith")
        });
        assert_eq!(new.domain, None);
        let rules = [rule(MatchRuleKind::DomainAndName, MatchAction::Block)];
        assert_eq!(evaluate(&rules, &new, MatchEntity::Leads, &old), None);
    }

    #[test]
    fn a_name_typo_at_the_same_company_matches_the_fuzzy_rule() {
        let new = keys(Person {
            company: Some("Acme, Inc."),
            ..person("Jon", "Smith")
        });
        let old = keys(Person {
            company: Some("ACME Incorporated"),
            ..person("John", "Smith")
        });
        assert_eq!(
            new.name_block, old.name_block,
            "found by the blocking lookup"
        );
        let found = evaluate(&all_rules(), &new, MatchEntity::Leads, &old);
        assert_eq!(
            found.map(|m| m.kind),
            Some(MatchRuleKind::FuzzyNameAndCompany)
        );
        assert!(found.is_some_and(|m| m.confidence > 0.9));
    }

    #[test]
    fn different_people_at_the_same_company_do_not_match() {
        let new = keys(Person {
            company: Some("Acme Inc"),
            ..person("John", "Smith")
        });
        for (first, last) in [("Jane", "Smith"), ("Mary", "Jones"), ("Peter", "Smith")] {
            let old = keys(Person {
                company: Some("Acme Inc"),
                ..person(first, last)
            });
            assert_eq!(kind_of(&new, &old), None, "{first} {last}");
        }
        // The same name at another company is not a match either.
        let elsewhere = keys(Person {
            company: Some("Globex Corporation"),
            ..person("John", "Smith")
        });
        assert_eq!(kind_of(&new, &elsewhere), None);
    }

    #[test]
    fn the_threshold_decides_a_similarity_rule() {
        let new = keys(Person {
            company: Some("Acme"),
            ..person("Jon", "Smith")
        });
        let old = keys(Person {
            company: Some("Acme"),
            ..person("John", "Smith")
        });
        let with = |threshold| {
            let rules = [MatchRule {
                threshold: Some(threshold),
                ..rule(MatchRuleKind::FuzzyNameAndCompany, MatchAction::Warn)
            }];
            evaluate(&rules, &new, MatchEntity::Leads, &old).is_some()
        };
        assert!(with(0.9));
        assert!(!with(0.99));
        assert!(with(0.0));
    }

    #[test]
    fn a_rule_checks_only_the_records_it_names() {
        let new = keys(Person {
            email: Some("ann@example.com"),
            ..Person::default()
        });
        let rules = [MatchRule {
            against: vec![MatchEntity::Contacts],
            ..rule(MatchRuleKind::ExactEmail, MatchAction::Block)
        }];
        assert_eq!(evaluate(&rules, &new, MatchEntity::Leads, &new), None);
        assert!(evaluate(&rules, &new, MatchEntity::Contacts, &new).is_some());
    }

    #[test]
    fn the_first_matching_rule_decides() {
        let new = keys(Person {
            email: Some("ann@example.com"),
            phone: Some("020 7946 0958"),
            ..Person::default()
        });
        let rules = [
            rule(MatchRuleKind::ExactPhone, MatchAction::Allow),
            rule(MatchRuleKind::ExactEmail, MatchAction::Block),
        ];
        let found = evaluate(&rules, &new, MatchEntity::Leads, &new);
        assert_eq!(
            found.map(|m| (m.rule_index, m.action)),
            Some((0, MatchAction::Allow))
        );
    }

    #[test]
    fn matches_come_surest_first_with_the_strongest_action() {
        let rules = all_rules();
        let new = keys(Person {
            email: Some("jon@acme.com"),
            phone: Some("020 7946 0958"),
            company: Some("Acme"),
            ..person("Jon", "Smith")
        });
        let candidate = |record: u32, entity, person| Candidate {
            record,
            entity,
            keys: keys(person),
        };
        let verdict = find_duplicates(
            &rules,
            &new,
            [
                // Fuzzy: warn, below 1.
                candidate(
                    1,
                    MatchEntity::Leads,
                    Person {
                        company: Some("Acme Ltd"),
                        ..person("John", "Smith")
                    },
                ),
                // Nothing in common.
                candidate(2, MatchEntity::Leads, person("Mary", "Jones")),
                // Phone: warn, 1.
                candidate(
                    3,
                    MatchEntity::Contacts,
                    Person {
                        phone: Some("+442079460958"),
                        ..person("Ann", "Lee")
                    },
                ),
                // E-mail: block, 1.
                candidate(
                    4,
                    MatchEntity::Leads,
                    Person {
                        email: Some("JON@acme.com"),
                        ..Person::default()
                    },
                ),
            ],
        );
        assert_eq!(verdict.action, MatchAction::Block);
        let order: Vec<(u32, MatchRuleKind)> = verdict
            .matches
            .iter()
            .map(|f| (f.record, f.matched.kind))
            .collect();
        assert_eq!(
            order,
            [
                (4, MatchRuleKind::ExactEmail),
                (3, MatchRuleKind::ExactPhone),
                (1, MatchRuleKind::FuzzyNameAndCompany),
            ]
        );
        assert_eq!(verdict.matches[1].entity, MatchEntity::Contacts);

        let nothing = find_duplicates(&rules, &new, Vec::<Candidate<u32>>::new());
        assert_eq!(nothing.action, MatchAction::Allow);
        assert!(nothing.matches.is_empty());
    }

    #[test]
    fn actions_order_block_over_warn_over_allow() {
        assert!(MatchAction::Block > MatchAction::Warn);
        assert!(MatchAction::Warn > MatchAction::Allow);
    }

    #[test]
    fn a_new_company_warns_on_the_same_email_or_phone() {
        let rules = default_rules();
        assert_eq!(validate_rules(&rules), Ok(()));
        let kinds: Vec<_> = rules.iter().map(|r| (r.kind, r.action)).collect();
        assert_eq!(
            kinds,
            [
                (MatchRuleKind::ExactEmail, MatchAction::Warn),
                (MatchRuleKind::ExactPhone, MatchAction::Warn),
            ]
        );
        assert!(
            rules
                .iter()
                .all(|r| r.against == [MatchEntity::Leads, MatchEntity::Contacts])
        );
    }

    #[test]
    fn rules_read_and_write_their_texts() {
        let json = serde_json::json!([
            {"kind": "exact_email", "action": "block", "against": ["leads"]},
            {"kind": "fuzzy_name_and_company", "action": "warn", "threshold": 0.92,
             "against": ["leads", "contacts"]},
        ]);
        let rules: Vec<MatchRule> = serde_json::from_value(json.clone()).unwrap_or_default();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[1].threshold(), 0.92);
        assert_eq!(rules[0].threshold(), DEFAULT_THRESHOLD);
        assert_eq!(serde_json::to_value(&rules).ok(), Some(json));
        let unknown = serde_json::json!({"kind": "exact_email", "action": "warn",
            "against": ["leads"], "score": 1});
        assert!(serde_json::from_value::<MatchRule>(unknown).is_err());
        let found = Found {
            record: 7,
            entity: MatchEntity::Leads,
            matched: Match {
                rule_index: 0,
                kind: MatchRuleKind::ExactEmail,
                action: MatchAction::Warn,
                confidence: 1.0,
            },
        };
        assert_eq!(
            serde_json::to_value(found).ok(),
            Some(
                serde_json::json!({"record": 7, "entity": "leads", "rule_index": 0,
                "kind": "exact_email", "action": "warn", "confidence": 1.0})
            )
        );
    }

    #[test]
    fn a_rule_is_documented_as_it_is_read() {
        use utoipa::PartialSchema;
        let schema = serde_json::to_value(MatchRule::schema()).unwrap_or_default();
        assert_eq!(
            schema["required"],
            serde_json::json!(["kind", "action", "against"])
        );
        assert_eq!(schema["properties"]["threshold"]["minimum"], 0.0);
        assert_eq!(schema["properties"]["threshold"]["maximum"], 1.0);
        assert_eq!(schema["additionalProperties"], false);
    }

    #[test]
    fn bad_rules_name_their_fields() {
        let fuzzy = |threshold| MatchRule {
            threshold,
            ..rule(MatchRuleKind::DomainAndName, MatchAction::Warn)
        };
        let cases: Vec<(Vec<MatchRule>, Vec<&str>)> = vec![
            (vec![fuzzy(Some(1.5))], vec!["rules[0].threshold"]),
            (vec![fuzzy(Some(-0.1))], vec!["rules[0].threshold"]),
            (vec![fuzzy(Some(f64::NAN))], vec!["rules[0].threshold"]),
            (
                vec![
                    fuzzy(Some(0.0)),
                    MatchRule {
                        threshold: Some(0.5),
                        ..rule(MatchRuleKind::ExactEmail, MatchAction::Warn)
                    },
                ],
                vec!["rules[1].threshold"],
            ),
            (
                vec![MatchRule {
                    against: vec![],
                    ..fuzzy(Some(1.0))
                }],
                vec!["rules[0].against"],
            ),
            (
                vec![MatchRule {
                    against: vec![MatchEntity::Leads, MatchEntity::Leads],
                    ..fuzzy(None)
                }],
                vec!["rules[0].against"],
            ),
            (vec![fuzzy(None); MAX_RULES + 1], vec!["rules"]),
        ];
        for (rules, fields) in cases {
            let errors = validate_rules(&rules).err().unwrap_or_default();
            let named: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
            assert_eq!(named, fields, "{rules:?}");
        }
        assert_eq!(validate_rules(&[]), Ok(()));
        assert_eq!(validate_rules(&all_rules()), Ok(()));
    }
}
