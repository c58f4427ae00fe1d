//! The normal forms duplicate detection compares: an e-mail address, a phone number in E.164, a
//! company name, a registrable domain and a person's name, each reduced so that two ways of
//! writing the same thing give the same text.
//!
//! Called by the intake pipeline of issue 13 (not built yet) through
//! [`crate::duplicates::MatchKeys`], which the store indexes; nothing here reads a database or
//! the network. The phone metadata (libphonenumber's, via `phonenumber`) and the public suffix
//! list (via `psl`) are compiled into the binary.
//!
//! Every function is idempotent (normalizing its own output gives the output back), never panics
//! on any input, and returns `None` for input that has no normal form (not an address, not a
//! valid number, nothing left after the cleaning), so a key is never the empty string and two
//! pieces of garbage never match each other.

use crate::validate::Email;
use phonenumber::Mode;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

// ---------------------------------------------------------------------------------------------
// E-mail
// ---------------------------------------------------------------------------------------------

/// Domains served by Gmail: the local part ignores dots and everything from a `+` on, and
/// `googlemail.com` is the same mailbox as `gmail.com` (Google's Gmail help, "dots don't matter"
/// and "create task-specific addresses").
const GMAIL_DOMAINS: &[&str] = &["gmail.com", "googlemail.com"];

/// Providers that document plus addressing (`ann+news@` is delivered to `ann@`) but whose dots
/// do matter: Microsoft's consumer mail (Outlook.com help: "plus addressing"), Fastmail and
/// Proton ("+aliases"). Yahoo is deliberately absent: its disposable addresses are
/// `base-keyword@` where `base` is a nickname chosen apart from the account name, so the main
/// address cannot be recovered from them, and a `-` is an ordinary character elsewhere.
const PLUS_TAG_DOMAINS: &[&str] = &[
    "fastmail.com",
    "fastmail.fm",
    "hotmail.com",
    "live.com",
    "msn.com",
    "outlook.com",
    "pm.me",
    "proton.me",
    "protonmail.com",
];

/// The key of an e-mail address: trimmed and lower-cased (as [`Email::parse`] takes it), then the
/// provider's own rules: for Gmail dots and a `+tag` dropped and `googlemail.com` written
/// `gmail.com`, for the providers in `PLUS_TAG_DOMAINS` the `+tag` dropped. `None` when the input
/// is not an address, or when nothing of the mailbox name is left (`+news@gmail.com`).
pub fn email(input: &str) -> Option<String> {
    let parsed = Email::parse(input).ok()?;
    let (local, domain) = parsed.as_str().rsplit_once('@')?;
    let (local, domain) = if GMAIL_DOMAINS.contains(&domain) {
        (without_tag(local).replace('.', ""), "gmail.com")
    } else if PLUS_TAG_DOMAINS.contains(&domain) {
        (without_tag(local).to_owned(), domain)
    } else {
        (local.to_owned(), domain)
    };
    if local.is_empty() {
        return None;
    }
    Some(format!("{local}@{domain}"))
}

/// The local part up to its first `+`.
fn without_tag(local: &str) -> &str {
    local.split('+').next().unwrap_or(local)
}

// ---------------------------------------------------------------------------------------------
// Phone
// ---------------------------------------------------------------------------------------------

/// A country whose numbering plan is known, by its ISO 3166 alpha-2 code: the country a phone
/// number written without `+` is read in (the company's default country).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Country(phonenumber::country::Id);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("must be an ISO 3166 country code such as GB or US")]
pub struct CountryError;

impl Country {
    /// `"GB"`, `"gb"` or `" Gb "`; a code without a numbering plan (`"ZZ"`) is refused.
    pub fn parse(code: &str) -> Result<Self, CountryError> {
        let code = code.trim().to_ascii_uppercase();
        if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(CountryError);
        }
        let id: phonenumber::country::Id = code.parse().map_err(|_| CountryError)?;
        // The parser looks the country up with `unwrap`: only hand it one it knows.
        if phonenumber::metadata::DATABASE.by_id(id.as_ref()).is_none() {
            return Err(CountryError);
        }
        Ok(Self(id))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_ref()
    }
}

/// The longest phone input read: longer text is not a phone number, and the parser's time grows
/// with it.
pub const PHONE_MAX: usize = 40;

/// A phone number in E.164 (`+442079460958`): written with `+` or an international prefix it is
/// read as such, otherwise in `default_country`'s plan. Spaces, dashes, dots, brackets and an
/// extension are formatting and do not change the result. `None` unless the number is valid
/// for its country (a fragment or a made-up number would otherwise match every other copy of it),
/// for non-ASCII text, and for more than [`PHONE_MAX`] bytes.
pub fn phone(input: &str, default_country: Option<Country>) -> Option<String> {
    let input = input.trim();
    if input.is_empty() || input.len() > PHONE_MAX || !input.is_ascii() {
        return None;
    }
    let number = phonenumber::parse(default_country.map(|c| c.0), input).ok()?;
    if !phonenumber::is_valid(&number) {
        return None;
    }
    Some(number.format().mode(Mode::E164).to_string())
}

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

/// The key of a person's name: lower-case, accents folded (`José` → `jose`), apostrophes and
/// dots dropped (`O'Brien` → `obrien`), every other punctuation a space, spaces collapsed.
/// `None` when no letter or digit is left.
pub fn person_name(input: &str) -> Option<String> {
    let words = words(input);
    (!words.is_empty()).then(|| words.join(" "))
}

/// Legal forms dropped from the end of a company name, as they read once dots are dropped
/// (`S.A.` → `sa`, `Pty. Ltd.` → `pty ltd`). Several may follow each other (`GmbH & Co. KG`,
/// `Private Limited`, `Sdn Bhd`).
const LEGAL_SUFFIXES: &[&str] = &[
    "ab",
    "ag",
    "as",
    "asa",
    "bhd",
    "bv",
    "bvba",
    "co",
    "company",
    "corp",
    "corporation",
    "gmbh",
    "inc",
    "incorporated",
    "kg",
    "kk",
    "limited",
    "llc",
    "llp",
    "lp",
    "ltd",
    "ltda",
    "nv",
    "ohg",
    "oy",
    "oyj",
    "plc",
    "pllc",
    "private",
    "pte",
    "pty",
    "pvt",
    "sa",
    "sarl",
    "sas",
    "sdn",
    "se",
    "sl",
    "spa",
    "srl",
    "ug",
];

/// The key of a company name: the words of [`person_name`] with `&` read as `and`, then a
/// leading `The` and the legal forms at the end (`LEGAL_SUFFIXES`, with an `and` they leave
/// behind as in `Smith & Co`) dropped — only while another word remains, so `The Company` is
/// `company`, not nothing. `Acme, Inc.`, `ACME Incorporated` and `The Acme Corp` are all `acme`.
pub fn company_name(input: &str) -> Option<String> {
    let mut words = words(input);
    // Until nothing changes, so that the result is its own key.
    loop {
        let before = words.len();
        while words.len() > 1 && words[0] == "the" {
            words.remove(0);
        }
        while words.len() > 1
            && words
                .last()
                .is_some_and(|w| w == "and" || LEGAL_SUFFIXES.contains(&w.as_str()))
        {
            words.pop();
        }
        if words.len() == before {
            break;
        }
    }
    (!words.is_empty()).then(|| words.join(" "))
}

/// The words of a name: lower-cased and folded ([`fold`]), split on anything that is not a
/// letter or digit, except that apostrophes and dots join (`O'Brien`, `S.A.`) and `&` is the word
/// `and`.
fn words(input: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    for c in fold(input).chars() {
        if c.is_alphanumeric() {
            word.push(c);
        } else if matches!(c, '.' | '\'' | '\u{2019}') {
            // Joins: the word goes on.
        } else {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            if c == '&' {
                words.push("and".to_owned());
            }
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// Lower case without accents: compatibility decomposition (so `ﬁ` is `fi` and a full-width `Ａ`
/// is `a`), combining marks removed, and the Latin letters that do not decompose spelled out
/// (`ß` → `ss`, `ø` → `o`, `æ` → `ae`, `ł` → `l`). Lower-cased before (`İ` decomposes only in
/// lower case) and after (a decomposition may be a capital, `ℌ` → `H`).
fn fold(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for c in input.to_lowercase().nfkd() {
        if is_combining_mark(c) {
            continue;
        }
        for c in c.to_lowercase() {
            match c {
                'ß' => out.push_str("ss"),
                'æ' => out.push_str("ae"),
                'œ' => out.push_str("oe"),
                'þ' => out.push_str("th"),
                'ø' => out.push('o'),
                'ł' => out.push('l'),
                'đ' | 'ð' => out.push('d'),
                'ı' => out.push('i'),
                c => out.push(c),
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Domains
// ---------------------------------------------------------------------------------------------

/// The registrable domain (the public suffix and one label before it) of a website, a host name
/// or an e-mail address: `https://www.Example.co.uk/path?x` and `ann@mail.example.co.uk` are both
/// `example.co.uk`. Scheme, user, port, path, query and fragment are ignored; an international
/// name is given in its ASCII (punycode) form. `None` for an IP address, a bare public suffix
/// (`co.uk`), a name whose suffix is not on the public suffix list (`intranet.local`) and anything
/// that is not a host name.
pub fn registrable_domain(input: &str) -> Option<String> {
    let input = input.trim();
    let rest = input.split_once("://").map_or(input, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    // After the last `@`: a URL's user, or an e-mail address's mailbox.
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    let host = host_port.split(':').next().unwrap_or(host_port);
    let host = host.trim_end_matches('.');
    if host.is_empty() {
        return None;
    }
    let url::Host::Domain(ascii) = url::Host::parse(host).ok()? else {
        return None;
    };
    let labels_ok = ascii.split('.').all(|label| {
        !label.is_empty()
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    });
    if !labels_ok {
        return None;
    }
    let domain = psl::domain(ascii.as_bytes())?;
    if !domain.suffix().is_known() {
        return None;
    }
    std::str::from_utf8(domain.as_bytes())
        .ok()
        .map(str::to_owned)
}

/// Free mail services whose every registrable domain is one (`yahoo.co.uk`, `hotmail.fr`,
/// `gmx.de`): matched on the label before the public suffix.
const FREE_MAIL_BRANDS: &[&str] = &["gmx", "hotmail", "outlook", "yahoo", "yandex"];

/// Other free mail domains, as registrable domains.
const FREE_MAIL_DOMAINS: &[&str] = &[
    "126.com",
    "163.com",
    "aol.com",
    "fastmail.com",
    "fastmail.fm",
    "gmail.com",
    "googlemail.com",
    "hey.com",
    "icloud.com",
    "live.ca",
    "live.co.uk",
    "live.com",
    "live.com.au",
    "live.de",
    "live.fr",
    "live.it",
    "live.nl",
    "mac.com",
    "mail.com",
    "mail.ru",
    "me.com",
    "msn.com",
    "naver.com",
    "pm.me",
    "proton.me",
    "protonmail.com",
    "qq.com",
    "rediffmail.com",
    "rocketmail.com",
    "tutanota.com",
    "web.de",
    "ymail.com",
    "zoho.com",
];

/// Whether a domain (or a website or e-mail address, read as [`registrable_domain`] reads it)
/// belongs to a free mail service, where sharing the domain says nothing about sharing an
/// employer: a "same domain" rule must not match two Gmail users.
pub fn is_free_mail(domain: &str) -> bool {
    let Some(registrable) = registrable_domain(domain) else {
        return false;
    };
    if FREE_MAIL_DOMAINS.contains(&registrable.as_str()) {
        return true;
    }
    registrable
        .split('.')
        .next()
        .is_some_and(|label| FREE_MAIL_BRANDS.contains(&label))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn gb() -> Option<Country> {
        Country::parse("GB").ok()
    }

    #[test]
    fn emails_follow_their_providers_rules() {
        let cases = [
            ("  Ann.Lee@Example.COM ", Some("ann.lee@example.com")),
            ("ann+news@example.com", Some("ann+news@example.com")),
            ("A.n.N+news@GMail.com", Some("ann@gmail.com")),
            ("ann@googlemail.com", Some("ann@gmail.com")),
            ("ann.lee+x+y@outlook.com", Some("ann.lee@outlook.com")),
            ("ann+crm@hotmail.com", Some("ann@hotmail.com")),
            ("ann+crm@proton.me", Some("ann@proton.me")),
            // Yahoo's `-` keywords are not undone: the base name is not the account's.
            ("ann-crm@yahoo.com", Some("ann-crm@yahoo.com")),
            ("ann.lee@yahoo.com", Some("ann.lee@yahoo.com")),
            ("+news@gmail.com", None),
            ("...@gmail.com", None),
            ("", None),
            ("ann", None),
            ("ann@", None),
            ("a b@example.com", None),
            ("ann@exa mple.com", None),
        ];
        for (input, expected) in cases {
            assert_eq!(email(input).as_deref(), expected, "{input:?}");
        }
    }

    #[test]
    fn countries_are_iso_codes_with_a_numbering_plan() {
        assert_eq!(
            Country::parse(" gb ").map(|c| c.as_str().to_owned()),
            Ok("GB".into())
        );
        assert!(Country::parse("US").is_ok());
        for bad in ["", "G", "GBR", "ZZ", "1A", "ÉÉ"] {
            assert_eq!(Country::parse(bad), Err(CountryError), "{bad:?}");
        }
    }

    #[test]
    fn phone_variants_of_one_number_give_one_e164() {
        for input in [
            "+44 20 7946 0958",
            "020 7946 0958",
            "(020) 7946-0958",
            "020.7946.0958",
            "+44 (0)20 7946 0958",
            "0044 20 7946 0958",
            "+442079460958",
            "020 7946 0958 ext. 12",
        ] {
            assert_eq!(
                phone(input, gb()).as_deref(),
                Some("+442079460958"),
                "{input:?}"
            );
        }
        let us = Country::parse("US").ok();
        assert_eq!(phone("(201) 555-0123", us).as_deref(), Some("+12015550123"));
        assert_eq!(
            phone("+1 201-555-0123", gb()).as_deref(),
            Some("+12015550123")
        );
    }

    #[test]
    fn a_phone_needs_a_country_and_a_valid_number() {
        // Without `+`, the default country is needed.
        assert_eq!(phone("020 7946 0958", None), None);
        assert_eq!(
            phone("+44 20 7946 0958", None).as_deref(),
            Some("+442079460958")
        );
        for bad in [
            "",
            "12",
            "123456",
            "020 7946",
            "not a number",
            "+999 123 456 789",
            "+44 20 7946 0958 0958 0958 0958 0958 0958",
            "０２０ ７９４６ ０９５８",
        ] {
            assert_eq!(phone(bad, gb()), None, "{bad:?}");
        }
    }

    #[test]
    fn company_names_lose_case_punctuation_and_legal_forms() {
        let cases = [
            ("Acme", "acme"),
            ("ACME, Inc.", "acme"),
            ("Acme Incorporated", "acme"),
            ("The Acme Corp", "acme"),
            ("Acme Corporation", "acme"),
            ("Acme LLC", "acme"),
            ("Acme Ltd.", "acme"),
            ("Acme Limited", "acme"),
            ("Acme GmbH & Co. KG", "acme"),
            ("Acme AG", "acme"),
            ("Acme S.A.", "acme"),
            ("Acme SARL", "acme"),
            ("Acme B.V.", "acme"),
            ("Acme N.V.", "acme"),
            ("Acme Pvt Ltd", "acme"),
            ("Acme Private Limited", "acme"),
            ("Acme Pty. Ltd.", "acme"),
            ("Acme PLC", "acme"),
            ("Acme LLP", "acme"),
            ("Smith & Co", "smith"),
            ("Johnson & Johnson", "johnson and johnson"),
            ("Johnson and Johnson Inc", "johnson and johnson"),
            ("  Société   Générale  S.A. ", "societe generale"),
            ("Nestlé", "nestle"),
            ("Müller-Lüdenscheid GmbH", "muller ludenscheid"),
            ("McDonald's Corporation", "mcdonalds"),
            ("Incorporated Television Co", "incorporated television"),
            ("The Company", "company"),
            ("The The", "the"),
            ("Co", "co"),
        ];
        for (input, expected) in cases {
            assert_eq!(company_name(input).as_deref(), Some(expected), "{input:?}");
        }
        for empty in ["", "   ", "- / -", "..."] {
            assert_eq!(company_name(empty), None, "{empty:?}");
        }
    }

    #[test]
    fn person_names_are_folded_and_collapsed() {
        let cases = [
            ("  John   SMITH ", "john smith"),
            ("José Núñez", "jose nunez"),
            ("O'Brien", "obrien"),
            ("O’Brien", "obrien"),
            ("Jean-Luc Picard", "jean luc picard"),
            ("Jürgen Groß", "jurgen gross"),
            ("Łukasz Søren", "lukasz soren"),
            ("Dr. J. Smith", "dr j smith"),
            ("李 小龍", "李 小龍"),
        ];
        for (input, expected) in cases {
            assert_eq!(person_name(input).as_deref(), Some(expected), "{input:?}");
        }
        assert_eq!(person_name(" - "), None);
    }

    #[test]
    fn websites_and_addresses_give_their_registrable_domain() {
        let cases = [
            ("https://www.Example.co.uk/path?x", Some("example.co.uk")),
            ("sub.example.com", Some("example.com")),
            ("example.com", Some("example.com")),
            (
                "http://user:pw@shop.example.com:8080/a@b",
                Some("example.com"),
            ),
            ("ann@mail.example.com", Some("example.com")),
            ("www.example.com.", Some("example.com")),
            ("EXAMPLE.COM/", Some("example.com")),
            ("https://bücher.de", Some("xn--bcher-kva.de")),
            ("a.b.c.example.com.au", Some("example.com.au")),
            ("co.uk", None),
            ("com", None),
            ("localhost", None),
            ("intranet.local", None),
            ("http://192.168.1.1/", None),
            ("http://[::1]/", None),
            ("", None),
            ("https://", None),
            ("not a domain", None),
            ("exa_mple.com", None),
        ];
        for (input, expected) in cases {
            assert_eq!(registrable_domain(input).as_deref(), expected, "{input:?}");
        }
    }

    #[test]
    fn free_mail_domains_are_known() {
        for free in [
            "gmail.com",
            "googlemail.com",
            "yahoo.com",
            "yahoo.co.uk",
            "mail.yahoo.co.jp",
            "outlook.com",
            "hotmail.fr",
            "icloud.com",
            "gmx.de",
            "ann@GMAIL.com",
        ] {
            assert!(is_free_mail(free), "{free}");
        }
        for business in ["example.com", "acme.co.uk", "gmailer.com", "co.uk", ""] {
            assert!(!is_free_mail(business), "{business}");
        }
    }

    /// Plausible addresses: mixed case, dots, tags and some of the providers with rules.
    fn address() -> impl Strategy<Value = String> {
        (
            "[a-zA-Z0-9][a-zA-Z0-9._+-]{0,15}",
            prop_oneof![
                Just("gmail.com"),
                Just("GoogleMail.com"),
                Just("outlook.com"),
                Just("yahoo.com"),
                Just("example.co.uk"),
            ],
        )
            .prop_map(|(local, domain)| format!("{local}@{domain}"))
    }

    /// Ways of writing a number: digits with the formatting people add.
    fn formatting() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop_oneof![Just(""), Just(" "), Just("-"), Just("."), Just("  ")],
            11,
        )
        .prop_map(|seps| {
            "02079460958"
                .chars()
                .zip(seps)
                .map(|(digit, sep)| format!("{digit}{sep}"))
                .collect()
        })
    }

    fn country() -> impl Strategy<Value = Option<Country>> {
        prop_oneof![
            Just(None),
            Just(Country::parse("GB").ok()),
            Just(Country::parse("US").ok()),
            Just(Country::parse("DE").ok()),
            Just(Country::parse("IN").ok()),
            Just(Country::parse("FR").ok()),
        ]
    }

    /// A lower-case word that is neither a legal form nor `the` or `and`.
    fn plain_word() -> impl Strategy<Value = String> {
        "[a-z]{2,8}".prop_filter("a word the company key drops", |w| {
            w != "the" && w != "and" && !LEGAL_SUFFIXES.contains(&w.as_str())
        })
    }

    /// Phone-like text: digits and the characters people type around them, some of them
    /// numbers of real plans.
    fn phone_like() -> impl Strategy<Value = String> {
        prop_oneof![
            "[+]?[0-9 ().x/-]{0,30}",
            "(\\+|00)?(1|33|44|49|91)[ -]?[0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{2,5}",
            "0[1-9][0-9 ]{8,11}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn email_is_idempotent(input in any::<String>()) {
            if let Some(once) = email(&input) {
                prop_assert_eq!(email(&once), Some(once));
            }
        }

        #[test]
        fn email_ignores_case_and_surrounding_space(
            address in address(),
            pad in "[ \t\n]{0,3}",
        ) {
            let once = email(&address);
            prop_assert_eq!(email(&address.to_uppercase()), once.clone());
            prop_assert_eq!(email(&address.to_lowercase()), once.clone());
            prop_assert_eq!(email(&format!("{pad}{address}{pad}")), once.clone());
            if let Some(once) = once {
                prop_assert_eq!(email(&once), Some(once.clone()));
            }
        }

        #[test]
        fn phone_never_panics_and_is_idempotent(
            input in prop_oneof![any::<String>(), "[ -~]{0,45}", phone_like()],
            country in country(),
        ) {
            if let Some(e164) = phone(&input, country) {
                prop_assert!(e164.starts_with('+'));
                prop_assert_eq!(phone(&e164, country), Some(e164.clone()));
                // E.164 carries its country: another default does not change it.
                prop_assert_eq!(phone(&e164, None), Some(e164.clone()));
            }
        }

        #[test]
        fn phone_formatting_does_not_change_the_number(written in formatting()) {
            let e164 = phone(&written, gb());
            prop_assert_eq!(e164.as_deref(), Some("+442079460958"));
        }

        #[test]
        fn company_name_is_idempotent(input in any::<String>()) {
            if let Some(once) = company_name(&input) {
                prop_assert_eq!(company_name(&once), Some(once));
            }
        }

        #[test]
        fn company_name_ignores_case_punctuation_and_legal_form(
            name in prop::collection::vec(plain_word(), 1..4),
            the in any::<bool>(),
            upper in any::<bool>(),
            comma in any::<bool>(),
            suffix in prop::sample::select(vec![
                "", "Inc", "Inc.", "Incorporated", "LLC", "L.L.C.", "Ltd", "Ltd.", "Limited",
                "GmbH", "AG", "SA", "S.A.", "SARL", "BV", "B.V.", "NV", "Pvt", "Pvt Ltd",
                "Private Limited", "Corp", "Corp.", "Corporation", "Co", "Co.", "PLC", "LLP",
                "Pty Ltd", "GmbH & Co. KG",
            ]),
        ) {
            let written = name.join(" ");
            let written = if upper { written.to_uppercase() } else { written };
            let dressed = format!(
                "{}{}{} {}",
                if the { "The " } else { "" },
                written,
                if comma { "," } else { "" },
                suffix,
            );
            prop_assert_eq!(company_name(&dressed), Some(name.join(" ")));
        }

        #[test]
        fn person_name_is_idempotent(input in any::<String>()) {
            if let Some(once) = person_name(&input) {
                prop_assert!(!once.is_empty());
                prop_assert_eq!(person_name(&once), Some(once));
            }
        }

        #[test]
        fn registrable_domain_is_idempotent(input in any::<String>()) {
            if let Some(once) = registrable_domain(&input) {
                prop_assert_eq!(registrable_domain(&once), Some(once));
            }
        }

        #[test]
        fn registrable_domain_ignores_case_scheme_subdomains_and_path(
            scheme in "(https?://)?",
            // Labels not starting `xn--`, which would have to be valid punycode.
            subdomains in "([a-wyzA-WYZ0-9][a-zA-Z0-9-]{0,7}\\.){0,3}",
            name in "[a-wyzA-WYZ0-9][a-zA-Z0-9-]{0,7}",
            suffix in prop::sample::select(vec!["com", "co.uk", "de", "com.au", "xn--p1ai"]),
            path in "(/[a-z?#@]{0,5})?",
        ) {
            let expected = format!("{}.{suffix}", name.to_lowercase());
            // Some such names are suffixes themselves (`uk.com`, `hk.com`).
            prop_assume!(psl::suffix_str(&expected) != Some(expected.as_str()));
            let input = format!("{scheme}{subdomains}{name}.{suffix}{path}");
            prop_assert_eq!(registrable_domain(&input), Some(expected.clone()));
            prop_assert_eq!(registrable_domain(&input.to_uppercase()), Some(expected.clone()));
            prop_assert_eq!(registrable_domain(&expected), Some(expected));
        }
    }
}
