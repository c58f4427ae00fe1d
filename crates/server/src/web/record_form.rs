//! The one create and edit form of every record type, `templates/web/record_form.html`: the
//! breadcrumbs and header, the error summary, the sections of fields (cards, or folded ones
//! that open when they hold a value or an error), the custom fields, the buttons, and the
//! delete button of the records deleted from their form. A record's module declares its
//! sections and fields with the values of the form as typed ([`Field`], [`FormSection`]);
//! every field kind is rendered once here, with its label, hint and message.
//!
//! What the fields' values become (the API's JSON body) is `web::form`'s and the module's own.

use super::custom_fields::CustomInput;
use super::record_list::LinkView;
use super::view::{Ctx, FormErrors, FormKind, Layout, Opt};
use askama::Template;

/// The options of one group of a grouped select (a pipeline's stages).
pub struct OptGroup {
    pub label: String,
    pub options: Vec<Opt>,
}

pub enum FieldKind {
    /// An `<input>` of this type (`text`, `email`, `url`, `tel`, `date`, `time`, `number`).
    Input {
        kind: &'static str,
        value: String,
    },
    TextArea {
        value: String,
    },
    Select {
        options: Vec<Opt>,
    },
    Check {
        checked: bool,
    },
    /// A text input with suggestions; the message about the field `errors_of` (what the typed
    /// text stands for, e.g. `account_id`) sits next to it.
    Suggest {
        value: String,
        suggestions: Vec<String>,
        errors_of: &'static str,
    },
    /// A select of option groups; the message about `also` (field, label) sits next to it when
    /// there is none about the field itself.
    Groups {
        groups: Vec<OptGroup>,
        also: (&'static str, &'static str),
    },
}

pub struct Field {
    /// The posted name, and the id after the form's prefix.
    pub name: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    pub required: bool,
    pub kind: FieldKind,
}

impl Field {
    fn of(name: &'static str, label: &'static str, kind: FieldKind) -> Self {
        Self {
            name,
            label,
            hint: "",
            required: false,
            kind,
        }
    }

    /// An input of `kind` showing `value`.
    pub fn input(kind: &'static str, name: &'static str, label: &'static str, value: &str) -> Self {
        Self::of(
            name,
            label,
            FieldKind::Input {
                kind,
                value: value.to_owned(),
            },
        )
    }

    pub fn text(name: &'static str, label: &'static str, value: &str) -> Self {
        Self::input("text", name, label, value)
    }

    /// An amount of money, typed as a decimal number.
    pub fn money(name: &'static str, label: &'static str, value: &str) -> Self {
        Self::text(name, label, value)
    }

    pub fn textarea(name: &'static str, label: &'static str, value: &str) -> Self {
        Self::of(
            name,
            label,
            FieldKind::TextArea {
                value: value.to_owned(),
            },
        )
    }

    pub fn select(name: &'static str, label: &'static str, options: Vec<Opt>) -> Self {
        Self::of(name, label, FieldKind::Select { options })
    }

    /// A checkbox, ticked when the form's value is `true`.
    pub fn check(name: &'static str, label: &'static str, value: &str) -> Self {
        Self::of(
            name,
            label,
            FieldKind::Check {
                checked: value == "true",
            },
        )
    }

    pub fn suggest(
        (name, label): (&'static str, &'static str),
        value: &str,
        suggestions: Vec<String>,
        errors_of: &'static str,
    ) -> Self {
        Self::of(
            name,
            label,
            FieldKind::Suggest {
                value: value.to_owned(),
                suggestions,
                errors_of,
            },
        )
    }

    pub fn groups(
        (name, label): (&'static str, &'static str),
        groups: Vec<OptGroup>,
        also: (&'static str, &'static str),
    ) -> Self {
        Self::of(name, label, FieldKind::Groups { groups, also })
    }

    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    pub fn hint(mut self, hint: &'static str) -> Self {
        self.hint = hint;
        self
    }

    /// The field holds a value, or a message about it: its folded section opens.
    fn wants_open(&self, errors: &FormErrors) -> bool {
        let filled = match &self.kind {
            FieldKind::Input { value, .. }
            | FieldKind::TextArea { value }
            | FieldKind::Suggest { value, .. } => !value.trim().is_empty(),
            FieldKind::Check { checked } => *checked,
            FieldKind::Select { .. } | FieldKind::Groups { .. } => false,
        };
        filled || errors.has(self.name)
    }
}

/// A card of fields: in a grid, then any below it at full width, or a list of links.
pub struct FormSection {
    /// The heading's id before `-title`.
    pub id: &'static str,
    pub title: &'static str,
    /// Folded (`<details>`), with this summary after the title; open when a field holds a
    /// value or an error.
    pub fold: Option<&'static str>,
    pub fields: Vec<Field>,
    pub below: Vec<Field>,
    /// Instead of fields: links to records (an activity's), or what says there are none.
    pub links: Option<(Vec<LinkView>, &'static str)>,
}

impl FormSection {
    pub fn card(id: &'static str, title: &'static str, fields: Vec<Field>) -> Self {
        Self {
            id,
            title,
            fold: None,
            fields,
            below: Vec::new(),
            links: None,
        }
    }

    pub fn folded(
        id: &'static str,
        (title, summary): (&'static str, &'static str),
        fields: Vec<Field>,
    ) -> Self {
        Self {
            fold: Some(summary),
            ..Self::card(id, title, fields)
        }
    }

    /// A card listing links, with `none` when there is no link.
    pub fn links(
        id: &'static str,
        title: &'static str,
        links: Vec<LinkView>,
        none: &'static str,
    ) -> Self {
        Self {
            links: Some((links, none)),
            ..Self::card(id, title, Vec::new())
        }
    }

    pub fn below(mut self, field: Field) -> Self {
        self.below.push(field);
        self
    }

    pub fn is_open(&self, errors: &FormErrors) -> bool {
        self.fields.iter().any(|f| f.wants_open(errors))
    }
}

#[derive(Template)]
#[template(path = "web/record_form.html")]
pub(super) struct RecordForm {
    pub layout: Layout,
    /// The prefix of the fields' ids (`lead`).
    pub fid: &'static str,
    /// The list the breadcrumbs lead back to: its address and title.
    pub list: (&'static str, &'static str),
    pub heading: String,
    pub blurb: String,
    pub action: String,
    pub cancel: String,
    pub submit: &'static str,
    pub errors: FormErrors,
    /// Values posted as they are (the page to come back to, ids the form does not show).
    pub hidden: Vec<(&'static str, String)>,
    pub sections: Vec<FormSection>,
    pub custom: Vec<CustomInput>,
    /// The record's delete button under the form, for records without a page of their own:
    /// the address it posts to and what the record is called.
    pub delete: Option<(String, &'static str)>,
    /// Possible duplicates are looked up as the person's e-mail and phone are typed (the
    /// record being edited, left out of its own, or empty for a new one).
    pub duplicate_check: Option<String>,
}

impl RecordForm {
    /// The form `kind` of a record whose fields take the prefix `fid`, under the list `list`.
    pub fn new(
        ctx: &Ctx,
        (fid, list): (&'static str, (&'static str, &'static str)),
        kind: FormKind,
        blurb: impl Into<String>,
        errors: FormErrors,
    ) -> Self {
        Self {
            layout: ctx.layout(kind.heading.clone()),
            fid,
            list,
            heading: kind.heading,
            blurb: blurb.into(),
            action: kind.action,
            cancel: kind.cancel,
            submit: kind.submit,
            errors,
            hidden: Vec::new(),
            sections: Vec::new(),
            custom: Vec::new(),
            delete: None,
            duplicate_check: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::view::options;

    #[test]
    fn a_folded_section_opens_when_a_field_holds_a_value_or_an_error() {
        let section = |budget: &str| {
            FormSection::folded(
                "bant",
                ("BANT", ""),
                vec![
                    Field::textarea("budget", "Budget", budget),
                    Field::check("vip", "VIP", "false"),
                ],
            )
        };
        let mut errors = FormErrors::new();
        assert!(!section(" ").is_open(&errors));
        assert!(section("10k").is_open(&errors));
        errors.add("vip", "is wrong");
        assert!(section("").is_open(&errors));
    }

    #[test]
    fn grouped_selects_and_suggestions_carry_the_messages_of_the_fields_they_stand_for()
    -> askama::Result<()> {
        let mut errors = FormErrors::new();
        errors.add("pipeline_id", "is not one of yours");
        errors.add("account_id", "matches no account");
        let mut page = RecordForm {
            layout: Layout::for_test("New deal"),
            fid: "deal",
            list: ("/deals", "Deals"),
            heading: "New deal".into(),
            blurb: String::new(),
            action: "/deals/new".into(),
            cancel: "/deals".into(),
            submit: "Create deal",
            errors,
            hidden: vec![("account_id", String::new())],
            sections: Vec::new(),
            custom: Vec::new(),
            delete: Some(("/deals/1/delete".into(), "deal")),
            duplicate_check: None,
        };
        let groups = vec![OptGroup {
            label: "Sales".into(),
            options: options([("s1", "Lead in")], "s1"),
        }];
        page.sections = vec![FormSection::card(
            "deal",
            "Deal",
            vec![
                Field::suggest(
                    ("account_name", "Account"),
                    "Acme",
                    vec!["Acme".into()],
                    "account_id",
                )
                .hint("The account's name."),
                Field::groups(("stage_id", "Stage"), groups, ("pipeline_id", "Pipeline")),
                Field::text("name", "Name", "").required(),
            ],
        )];
        let html = page.render()?;
        for needle in [
            r#"<p class="field-error" id="deal-account_id-error">Account matches no account</p>"#,
            r#"aria-describedby="deal-account_id-error deal-account_name-hint""#,
            r#"<datalist id="deal-account_name-suggestions">"#,
            r#"<p class="field-error" id="deal-stage_id-error">Pipeline is not one of yours</p>"#,
            r#"<optgroup label="Sales">"#,
            r#"<option value="s1" selected>Lead in</option>"#,
            r#"<input id="deal-name" name="name" type="text" value="" autocomplete="off" required>"#,
            r#"<input type="hidden" name="account_id" value="">"#,
            r#"<form method="post" action="/deals/1/delete">"#,
            "Delete this deal",
        ] {
            assert!(html.contains(needle), "{needle} in {html}");
        }
        Ok(())
    }
}
