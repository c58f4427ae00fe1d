//! Amounts of money as people read them: thousands grouped, the currency's usual decimals, a
//! symbol in front for the common currencies (`$7,605,090.00`, `€12.50`, `¥1,500`) and the ISO
//! code after the number for the rest (`1,250.00 CHF`). One rule everywhere the UI shows an
//! amount, and the same rule in the board's script (`rivet.js`, from [`MoneyStyle`]).
//!
//! Locale-neutral on purpose (comma groups, point decimals): the API keeps its decimal strings,
//! and this is only how a page prints them. Arithmetic is on integer micros, never a float.

use rivet_domain::values::Money;

/// How one currency is printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoneyStyle {
    /// Put in front of the number (`$`), or empty.
    pub symbol: &'static str,
    /// Put after the number when there is no symbol (`CHF`), or empty.
    pub code: String,
    /// Digits after the decimal point: the currency's minor unit.
    pub decimals: u32,
}

/// Currencies printed with a symbol: the symbol is unambiguous for these alone (`$` is the US
/// dollar; the Canadian and Australian ones keep their code).
const SYMBOLS: &[(&str, &str)] = &[
    ("USD", "$"),
    ("EUR", "€"),
    ("GBP", "£"),
    ("INR", "₹"),
    ("JPY", "¥"),
];

/// ISO 4217 currencies whose minor unit is not the cent.
const NO_DECIMALS: &[&str] = &[
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV",
    "XAF", "XOF", "XPF",
];
const THREE_DECIMALS: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];

impl MoneyStyle {
    pub fn of(currency: &str) -> Self {
        let code = currency.trim().to_ascii_uppercase();
        let symbol = SYMBOLS
            .iter()
            .find(|(c, _)| *c == code)
            .map_or("", |(_, s)| s);
        let decimals = if NO_DECIMALS.contains(&code.as_str()) {
            0
        } else if THREE_DECIMALS.contains(&code.as_str()) {
            3
        } else {
            2
        };
        Self {
            symbol,
            code: if symbol.is_empty() {
                code
            } else {
                String::new()
            },
            decimals,
        }
    }

    /// Print an amount in micros, rounded half away from zero to the minor unit.
    pub fn format_micros(&self, micros: i64) -> String {
        let micros = i128::from(micros);
        let decimals = self.decimals.min(6);
        let unit = 10_i128.pow(6 - decimals);
        let minor = (micros.abs() + unit / 2) / unit;
        let scale = 10_i128.pow(decimals);
        let mut number = group(minor / scale);
        if decimals > 0 {
            let width = usize::try_from(decimals).unwrap_or(2);
            number.push_str(&format!(".{:0width$}", minor % scale));
        }
        let sign = if micros < 0 && minor != 0 { "-" } else { "" };
        match (self.symbol, self.code.as_str()) {
            ("", "") => format!("{sign}{number}"),
            ("", code) => format!("{sign}{number} {code}"),
            (symbol, _) => format!("{sign}{symbol}{number}"),
        }
    }
}

/// Digits with a comma between each group of three.
fn group(whole: i128) -> String {
    let digits = whole.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// An amount (the API's decimal string) in `currency` for a page: `"7605090"`, `"USD"` →
/// `"$7,605,090.00"`. Text that is not an amount is shown as it is, with its currency.
pub fn money(amount: &str, currency: &str) -> String {
    match Money::parse(amount, String::new()) {
        Ok(parsed) => MoneyStyle::of(currency).format_micros(parsed.micros),
        Err(_) => format!("{amount} {currency}").trim().to_owned(),
    }
}

/// [`money`] of an optional amount; nothing when there is none.
pub fn money_opt(amount: Option<&str>, currency: &str) -> String {
    amount.map(|a| money(a, currency)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_grouped_with_the_currency() {
        for (amount, currency, shown) in [
            ("7605090", "USD", "$7,605,090.00"),
            ("168970400.00", "USD", "$168,970,400.00"),
            ("0", "USD", "$0.00"),
            ("999.5", "EUR", "€999.50"),
            ("1000", "GBP", "£1,000.00"),
            ("100000", "INR", "₹100,000.00"),
            ("1250.5", "CHF", "1,250.50 CHF"),
            ("1250.5", "chf", "1,250.50 CHF"),
            ("12", "", "12.00"),
            ("123456", "", "123,456.00"),
            ("1500", "JPY", "¥1,500"),
            ("1500.5", "JPY", "¥1,501"),
            ("1.2345", "KWD", "1.235 KWD"),
        ] {
            assert_eq!(money(amount, currency), shown, "{amount} {currency}");
        }
    }

    #[test]
    fn negative_amounts_keep_their_sign_before_the_symbol() {
        assert_eq!(money("-1500", "USD"), "-$1,500.00");
        assert_eq!(money("-1234567.891", "CAD"), "-1,234,567.89 CAD");
        // Rounds to nothing: no negative zero.
        assert_eq!(money("-0.004", "USD"), "$0.00");
    }

    #[test]
    fn rounding_is_exact_half_away_from_zero() {
        assert_eq!(money("0.005", "USD"), "$0.01");
        assert_eq!(money("0.004999", "USD"), "$0.00");
        assert_eq!(money("-0.005", "EUR"), "-€0.01");
        // A float would print 0.285 as 0.28.
        assert_eq!(money("2.285", "USD"), "$2.29");
    }

    #[test]
    fn the_largest_amounts_do_not_overflow() {
        assert_eq!(
            MoneyStyle::of("USD").format_micros(i64::MAX),
            "$9,223,372,036,854.78"
        );
        assert_eq!(
            MoneyStyle::of("USD").format_micros(i64::MIN),
            "-$9,223,372,036,854.78"
        );
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
    }

    #[test]
    fn text_that_is_not_an_amount_is_shown_as_it_is() {
        assert_eq!(money("lots", "USD"), "lots USD");
        assert_eq!(money_opt(None, "USD"), "");
        assert_eq!(money_opt(Some("1"), "USD"), "$1.00");
    }
}
