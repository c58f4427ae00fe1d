//! The string enums of the domain (a lead's status, a stage's outcome, a permission's scope, …),
//! declared once each with [`choice_enum!`]: the variants and the text the API, the database and the
//! forms know them by. A list field of a record type ([`spec`]) is declared here too.

use crate::query::{FieldKind, FieldSpec, Op};

/// Declares a string enum: serialized (and documented) as its texts — each the variant's name in
/// snake_case — with `NAMES` (the texts, in order), `ALL`
/// (the variants), `as_str`, `Display`, and `FromStr` whose error lists the texts. Attributes
/// given before the name (documentation, more derives, `schema(as = …)`) go on the enum.
macro_rules! choice_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash,
            ::serde::Serialize, ::serde::Deserialize, ::utoipa::ToSchema,
        )]
        // The texts are the variants in snake_case (a test checks each enum): utoipa does not
        // read a `rename` whose text comes from a macro's argument, so the enum says it once.
        #[serde(rename_all = "snake_case")]
        $(#[$meta])*
        pub enum $name {
            $($(#[$vmeta])* $variant),+
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

    /// What serde writes and the OpenAPI document lists for every variant are its text.
    fn agrees<T>()
    where
        T: Copy + serde::Serialize + utoipa::PartialSchema + 'static,
        T: ChoiceTexts,
    {
        let written: Vec<String> = T::all()
            .iter()
            .map(|v| {
                serde_json::to_value(v)
                    .ok()
                    .and_then(|j| j.as_str().map(str::to_owned))
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(written, T::names(), "{}", std::any::type_name::<T>());
        let schema = serde_json::to_value(T::schema()).unwrap_or_default();
        let documented: Vec<String> = schema["enum"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(documented, T::names(), "{}", std::any::type_name::<T>());
    }

    trait ChoiceTexts: Sized + 'static {
        fn all() -> &'static [Self];
        fn names() -> &'static [&'static str];
    }

    macro_rules! texts {
        ($($t:ty),+) => {
            $(impl ChoiceTexts for $t {
                fn all() -> &'static [Self] { <$t>::ALL }
                fn names() -> &'static [&'static str] { <$t>::NAMES }
            })+
        };
    }

    texts!(
        Colour,
        crate::leads::LeadStatus,
        crate::accounts::LifecycleStage,
        crate::deals::ContactRole,
        crate::jobs::JobState,
        crate::permissions::Resource,
        crate::permissions::Action,
        crate::permissions::Scope,
        crate::permissions::BuiltinRole,
        crate::pipelines::ForecastCategory,
        crate::pipelines::StageOutcome,
        crate::activities::RecordType,
        crate::activities::ActivityKind,
        crate::activities::Direction,
        crate::tasks::TaskStatus,
        crate::tasks::TaskPriority,
        crate::duplicates::MatchRuleKind,
        crate::duplicates::MatchAction,
        crate::duplicates::MatchEntity
    );

    #[test]
    fn every_choice_is_written_and_documented_as_its_texts() {
        agrees::<Colour>();
        agrees::<crate::leads::LeadStatus>();
        agrees::<crate::accounts::LifecycleStage>();
        agrees::<crate::deals::ContactRole>();
        agrees::<crate::jobs::JobState>();
        agrees::<crate::permissions::Resource>();
        agrees::<crate::permissions::Action>();
        agrees::<crate::permissions::Scope>();
        agrees::<crate::permissions::BuiltinRole>();
        agrees::<crate::pipelines::ForecastCategory>();
        agrees::<crate::pipelines::StageOutcome>();
        agrees::<crate::activities::RecordType>();
        agrees::<crate::activities::ActivityKind>();
        agrees::<crate::activities::Direction>();
        agrees::<crate::tasks::TaskStatus>();
        agrees::<crate::tasks::TaskPriority>();
        agrees::<crate::duplicates::MatchRuleKind>();
        agrees::<crate::duplicates::MatchAction>();
        agrees::<crate::duplicates::MatchEntity>();
    }

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
