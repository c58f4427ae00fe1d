//! Value parsers every record type shares: money (exact micros, never a float), ISO 4217
//! currency codes, web addresses and phone numbers. Each returns a message fit for a 422.

use std::fmt;

/// Active ISO 4217 codes.
const CURRENCIES: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND \
BOB BRL BSD BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB \
EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY \
KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR \
MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF \
SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS \
UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG";

/// Every currency code [`parse_currency`] accepts, in alphabetical order (the OpenAPI document's
/// enum is this list).
pub fn currency_codes() -> Vec<&'static str> {
    CURRENCIES.split_ascii_whitespace().collect()
}

/// An ISO 4217 currency code, upper-cased.
pub fn parse_currency(input: &str) -> Result<String, String> {
    let code = input.trim().to_ascii_uppercase();
    if code.len() == 3 && currency_codes().contains(&code.as_str()) {
        Ok(code)
    } else {
        Err("must be an ISO 4217 currency code (e.g. EUR)".into())
    }
}

/// An exact amount of money: micros (amount × 10⁶) and its currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Money {
    pub micros: i64,
    pub currency: String,
}

const MICROS: i64 = 1_000_000;

/// Most digits before the decimal point: a trillion is more than any deal, and every such amount
/// fits the micros column (an `i64` holds about 9.2 × 10¹² whole units).
pub const MONEY_WHOLE_DIGITS: usize = 12;
/// Most digits after the decimal point (micros).
pub const MONEY_DECIMALS: usize = 6;

/// What [`Money::parse`] accepts, as a JSON Schema pattern: an optional sign (`-` only where
/// `signed`), 1 to [`MONEY_WHOLE_DIGITS`] digits, and 1 to [`MONEY_DECIMALS`] decimals after a
/// point, with white space around it.
pub fn money_pattern(signed: bool) -> String {
    let sign = if signed { "[+-]?" } else { "[+]?" };
    let ws = crate::validate::WS;
    format!(
        "^[{ws}]*{sign}[0-9]{{1,{MONEY_WHOLE_DIGITS}}}(\\.[0-9]{{1,{MONEY_DECIMALS}}})?[{ws}]*$"
    )
}
impl Money {
    /// Parse a decimal string (`"12500.10"`, `"-3"`, at most 6 decimals) exactly.
    pub fn parse(input: &str, currency: String) -> Result<Self, String> {
        let micros = parse_micros(input.trim()).ok_or_else(|| {
            format!(
                "must be a decimal number with at most {MONEY_WHOLE_DIGITS} digits before \
                     the point and {MONEY_DECIMALS} after it"
            )
        })?;
        Ok(Self { micros, currency })
    }

    /// The amount as a decimal string with at least two decimals.
    pub fn amount(&self) -> String {
        format_micros(self.micros)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.amount())
    }
}

fn parse_micros(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole)
        || !all_digits(fraction)
        || whole.len() > MONEY_WHOLE_DIGITS
        || fraction.len() > MONEY_DECIMALS
    {
        return None;
    }
    if digits.contains('.') && (whole.is_empty() || fraction.is_empty()) {
        return None;
    }
    let mut value: i64 = 0;
    for b in whole.bytes() {
        value = value.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    value = value.checked_mul(MICROS)?;
    let mut frac: i64 = 0;
    for (i, b) in fraction.bytes().enumerate() {
        let place = 10_i64.pow(5 - u32::try_from(i).ok()?);
        frac += i64::from(b - b'0') * place;
    }
    let total = value.checked_add(frac)?;
    Some(if negative { -total } else { total })
}

fn format_micros(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let abs = micros.unsigned_abs();
    let whole = abs / 1_000_000;
    let frac = format!("{:06}", abs % 1_000_000);
    let mut frac = frac.trim_end_matches('0').to_owned();
    while frac.len() < 2 {
        frac.push('0');
    }
    format!("{sign}{whole}.{frac}")
}

/// The longest web address, scheme included: one given without a scheme has at most this
/// less `https://` (8) characters once trimmed, and so has one given with a scheme.
pub const URL_MAX: usize = 2000;

/// An `http` or `https` address with a host name of ASCII letters, digits, `-` and `.` (at least
/// one dot; an international name is written in its `xn--` form). A bare `example.com` gets
/// `https://`.
pub fn parse_url(input: &str) -> Result<String, String> {
    let value = input.trim();
    let with_scheme = if value.contains("://") {
        value.to_owned()
    } else {
        format!("https://{value}")
    };
    let lower = with_scheme.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    let host = rest
        .map(|r| r.split(['/', '?', '#']).next().unwrap_or(""))
        .unwrap_or("");
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host_name = host.split(':').next().unwrap_or("");
    let ok = !host_name.is_empty()
        && host_name.contains('.')
        && !host_name.starts_with('.')
        && !host_name.ends_with('.')
        && host_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        && !with_scheme.contains(char::is_whitespace)
        && value.chars().count() <= URL_MAX - "https://".len();
    if ok {
        Ok(with_scheme)
    } else {
        Err("must be a web address (http or https)".into())
    }
}

/// What [`parse_url`] accepts, as JSON Schema patterns (a value matches both): white space
/// around it, an optional `http://` or `https://`, optional user information, the host name, an
/// optional port, then a path, query or fragment; no white space inside, and at most
/// [`URL_MAX`] − 8 characters once trimmed.
pub fn url_patterns() -> [String; 2] {
    let ws = crate::validate::WS;
    [
        format!(
            "^[{ws}]*([Hh][Tt][Tt][Pp][Ss]?://)?([^{ws}/?#]*@)?[A-Za-z0-9-]+(\\.+[A-Za-z0-9-]+)+\
             (:[^{ws}/?#@]*)?([/?#][^{ws}]*)?[{ws}]*$"
        ),
        format!(
            "^[{ws}]*[^{ws}]{{1,{}}}[{ws}]*$",
            URL_MAX - "https://".len()
        ),
    ]
}

/// Most digits in a phone number, and fewest.
pub const PHONE_DIGITS: (usize, usize) = (5, 20);
/// The longest phone number as written.
pub const PHONE_MAX: usize = 40;
/// What a phone number may hold besides digits.
const PHONE_SEPARATORS: &str = " +-().x/";

/// A phone number as people write it: digits with optional `+`, spaces, dots, dashes and
/// parentheses, 5 to 20 digits. Kept as written.
pub fn parse_phone(input: &str) -> Result<String, String> {
    let value = input.trim();
    let digits = value.chars().filter(char::is_ascii_digit).count();
    let allowed = value
        .chars()
        .all(|c| c.is_ascii_digit() || PHONE_SEPARATORS.contains(c));
    if allowed && (PHONE_DIGITS.0..=PHONE_DIGITS.1).contains(&digits) && value.len() <= PHONE_MAX {
        Ok(value.to_owned())
    } else {
        Err("must be a phone number".into())
    }
}

/// What [`parse_phone`] accepts, as JSON Schema patterns (a value matches both): separators and
/// 5 to 20 digits, at most [`PHONE_MAX`] characters once trimmed, white space around them.
pub fn phone_patterns() -> [String; 2] {
    let ws = crate::validate::WS;
    let sep = "[ +\\-().x/]*";
    let (min, max) = PHONE_DIGITS;
    [
        format!("^[{ws}]*{sep}([0-9]{sep}){{{min},{max}}}[{ws}]*$"),
        format!("^[{ws}]*[0-9 +\\-().x/]{{1,{PHONE_MAX}}}[{ws}]*$"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_round_trips_exactly() {
        for (input, micros, text) in [
            ("12500.10", 12_500_100_000, "12500.10"),
            ("0.000001", 1, "0.000001"),
            ("-3", -3_000_000, "-3.00"),
            ("7.5", 7_500_000, "7.50"),
            (
                "999999999999.999999",
                999_999_999_999_999_999,
                "999999999999.999999",
            ),
        ] {
            let money = Money::parse(input, "EUR".into());
            assert_eq!(
                money.map(|m| (m.micros, m.amount())),
                Ok((micros, text.to_owned())),
                "{input}"
            );
        }
        for bad in [
            "",
            "1.2345678",
            "1e5",
            "abc",
            ".5",
            "5.",
            "9223372036855",
            "1000000000000",
            "1,5",
            "--1",
        ] {
            assert!(Money::parse(bad, "EUR".into()).is_err(), "{bad}");
        }
    }

    #[test]
    fn currencies_urls_and_phones() {
        assert_eq!(parse_currency("eur"), Ok("EUR".into()));
        assert!(parse_currency("XYZ").is_err());
        assert_eq!(parse_url("acme.com"), Ok("https://acme.com".into()));
        assert!(parse_url("http://acme.com/x?y").is_ok());
        assert!(parse_url("ftp://acme.com").is_err());
        assert!(parse_url("not a url").is_err());
        assert!(parse_url("https://").is_err());
        assert!(parse_phone("+49 (30) 123-456").is_ok());
        assert!(parse_phone("call me").is_err());
    }

    /// Whether `text` matches every pattern, as a JSON Schema validator reads them.
    fn matches_all(patterns: &[String], text: &str) -> bool {
        patterns.iter().all(|p| {
            regex::Regex::new(p)
                .map(|r| r.is_match(text))
                .unwrap_or_else(|e| panic!("{p}: {e}"))
        })
    }

    #[test]
    fn the_documented_patterns_accept_what_the_parsers_accept() {
        let phones = [
            "+49 (30) 123-456",
            " 12345 ",
            "1234",
            "123456789012345678901",
            "12345\u{3000}",
            "12a45",
            "(0)30 12 34 56 x12",
            "1-2-3-4-5-6-7-8-9-0-1-2-3-4-5-6-7-8-9-0",
            "1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1",
        ];
        for phone in phones {
            let parsed = !phone.trim().is_empty() && parse_phone(phone).is_ok();
            assert_eq!(matches_all(&phone_patterns(), phone), parsed, "{phone:?}");
        }
        let urls = [
            "acme.com",
            "https://acme.com/x?y#z",
            "HTTP://user:pw@acme.co.uk:8080/path",
            "ftp://acme.com",
            "https://acme",
            "https://.acme.com",
            "https://bücher.de",
            "https://xn--bcher-kva.de",
            " acme.com\t",
            "acme.com/a b",
            "a..b",
        ];
        for url in urls {
            assert_eq!(
                matches_all(&url_patterns(), url),
                parse_url(url).is_ok(),
                "{url:?}"
            );
        }
        let amounts = [
            "12500.10",
            "-3",
            "+7.5",
            " 1 ",
            "1.2345678",
            "1e5",
            ".5",
            "5.",
            "999999999999",
            "1000000000000",
            "--1",
        ];
        for amount in amounts {
            assert_eq!(
                matches_all(&[money_pattern(true)], amount),
                Money::parse(amount, "EUR".into()).is_ok(),
                "{amount:?}"
            );
        }
        assert!(!matches_all(&[money_pattern(false)], "-3"));
    }
}
