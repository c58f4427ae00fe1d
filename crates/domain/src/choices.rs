//! The string enums of the domain (a lead's status, a stage's outcome, a permission's scope, …),
//! declared once each with [`choice_enum!`]: the variants and the text the API, the database and the
//! forms know them by. A list field of a record type ([`spec`]) is declared here too.

use crate::query::{FieldKind, FieldSpec, Op};

/// Declares a string enum: serialized as its texts, with `NAMES` (the texts, in order), `ALL`
/// (the variants), `as_str`, `Display`, and `FromStr` whose error lists the texts. Attributes
/// given before the name (documentation, more derives, `schema(as = …)`) go on the enum.
macro_rules! choice_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash,
            ::serde::Serialize, ::serde::Deserialize, ::utoipa::ToSchema,
        )]
        $(#[$meta])*
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const NAMES: &'static [&'static str] = &[$($text),+];
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    _ => Err(format!("must be one of: {}", Self::NAMES.join(", "))),
                }
            }
        }
    };
}

pub(crate) use choice_enum;

/// One list field of a record type: its name in the API, its field, kind, operators and
/// whether a list sorts by it.
pub const fn spec<F>(
    name: &'static str,
    field: F,
    kind: FieldKind,
    ops: &'static [Op],
    sortable: bool,
) -> FieldSpec<F> {
    FieldSpec {
        name,
        field,
        kind,
        ops,
        sortable,
    }
}

#[cfg(test)]
mod tests {
    choice_enum!(
        /// A test enum.
        Colour {
            Red => "red",
            DarkBlue => "dark_blue",
        }
    );

    #[test]
    fn a_choice_reads_and_writes_its_texts() {
        assert_eq!(Colour::NAMES, ["red", "dark_blue"]);
        assert_eq!(Colour::ALL, [Colour::Red, Colour::DarkBlue]);
        assert_eq!(Colour::DarkBlue.to_string(), "dark_blue");
        assert_eq!("dark_blue".parse::<Colour>(), Ok(Colour::DarkBlue));
        assert_eq!(
            "blue".parse::<Colour>(),
            Err("must be one of: red, dark_blue".to_owned())
        );
        assert_eq!(
            serde_json::to_value(Colour::DarkBlue).ok(),
            Some(serde_json::json!("dark_blue"))
        );
        assert_eq!(
            serde_json::from_value::<Colour>(serde_json::json!("red")).ok(),
            Some(Colour::Red)
        );
    }
}
