//! E-mail sequences (issue 15 §3), the pure part: a sequence as an admin writes it (ordered
//! steps, the window its messages go out in, what stops an enrollment), checked into a
//! [`Sequence`], and the calendar arithmetic its scheduler needs — business days and the next
//! instant inside a send window, in the company's time zone. Storing, enrolling and running
//! steps are `rivet_store::sequences`.

use crate::FieldErrors;
use crate::ids::EmailTemplateId;
use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// The most steps a sequence has.
pub const MAX_STEPS: usize = 30;
/// The longest wait of one step, in business days.
pub const MAX_WAIT_DAYS: u32 = 365;
pub const MAX_NAME: usize = 200;

/// What a sequence enrolls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Enrolls {
    Lead,
    Contact,
}

/// One step as an admin writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum StepInput {
    /// Send an e-mail template to the enrolled record.
    Email { template_id: EmailTemplateId },
    /// Wait this many business days (Monday to Friday in the company's time zone).
    Wait { business_days: u32 },
    /// Create a task for the record's owner, due after this many business days.
    Task {
        subject: String,
        #[serde(default)]
        due_in_business_days: u32,
    },
    /// Send an approved WhatsApp template to the enrolled record (it needs WhatsApp consent
    /// and a phone number), inside the send window.
    Whatsapp {
        /// The template's name as approved in WhatsApp Manager (lower case, digits, `_`).
        template: String,
        /// Its language code, e.g. `en` or `en_US`.
        language: String,
        /// The values of its `{{1}}`, `{{2}}`, … in order (literal text).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        parameters: Vec<String>,
    },
}

impl StepInput {
    /// A WhatsApp step's message, as its validation read it.
    pub fn whatsapp_message(&self) -> Option<crate::whatsapp::Outgoing> {
        match self {
            Self::Whatsapp {
                template,
                language,
                parameters,
            } => Some(crate::whatsapp::Outgoing::Template {
                name: template.trim().to_owned(),
                language: language.trim().to_owned(),
                parameters: parameters.iter().map(|p| p.trim().to_owned()).collect(),
            }),
            _ => None,
        }
    }
}

/// The days and hours a sequence's messages go out in, in the company's time zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendWindow {
    /// `mon` … `sun`; default Monday to Friday.
    #[serde(default = "weekdays")]
    pub days: Vec<String>,
    /// `HH:MM`, default `09:00`.
    #[serde(default = "nine")]
    pub start: String,
    /// `HH:MM`, default `17:00`; after `start`.
    #[serde(default = "five")]
    pub end: String,
}

fn weekdays() -> Vec<String> {
    ["mon", "tue", "wed", "thu", "fri"]
        .map(String::from)
        .to_vec()
}
fn nine() -> String {
    "09:00".to_owned()
}
fn five() -> String {
    "17:00".to_owned()
}

impl Default for SendWindow {
    fn default() -> Self {
        Self {
            days: weekdays(),
            start: nine(),
            end: five(),
        }
    }
}

/// What ends an enrollment early, besides an unsubscribe (which always does).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StopRules {
    #[serde(default = "yes")]
    pub on_reply: bool,
    #[serde(default = "yes")]
    pub on_bounce: bool,
    #[serde(default = "yes")]
    pub on_meeting: bool,
    /// Statuses of the record that end it (a lead converted or unqualified).
    #[serde(default = "stop_statuses")]
    pub on_status: Vec<String>,
}

fn yes() -> bool {
    true
}
fn stop_statuses() -> Vec<String> {
    vec!["converted".to_owned(), "unqualified".to_owned()]
}

impl Default for StopRules {
    fn default() -> Self {
        Self {
            on_reply: true,
            on_bounce: true,
            on_meeting: true,
            on_status: stop_statuses(),
        }
    }
}

/// A sequence as an admin writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SequenceInput {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default = "yes")]
    pub active: bool,
    pub enrolls: Enrolls,
    pub steps: Vec<StepInput>,
    #[serde(default)]
    pub window: SendWindow,
    /// Most messages this sequence sends a day (the mailbox's own limit still applies).
    #[serde(default)]
    pub daily_limit: Option<u32>,
    #[serde(default)]
    pub stop: StopRules,
}

/// A checked send window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Monday = bit 0 … Sunday = bit 6.
    days: u8,
    start: NaiveTime,
    end: NaiveTime,
}

/// A checked sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct Sequence {
    pub input: SequenceInput,
    pub window: Window,
}

fn weekday_of(name: &str) -> Option<Weekday> {
    Some(match name {
        "mon" => Weekday::Mon,
        "tue" => Weekday::Tue,
        "wed" => Weekday::Wed,
        "thu" => Weekday::Thu,
        "fri" => Weekday::Fri,
        "sat" => Weekday::Sat,
        "sun" => Weekday::Sun,
        _ => return None,
    })
}

impl SequenceInput {
    pub fn validate(self) -> Result<Sequence, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME {
            errors.add("name", format!("must be 1 to {MAX_NAME} characters"));
        }
        if self.steps.is_empty() || self.steps.len() > MAX_STEPS {
            errors.add("steps", format!("must hold 1 to {MAX_STEPS} steps"));
        }
        if !self
            .steps
            .iter()
            .any(|s| matches!(s, StepInput::Email { .. } | StepInput::Whatsapp { .. }))
        {
            errors.add("steps", "must send at least one e-mail or WhatsApp message");
        }
        for (i, step) in self.steps.iter().enumerate() {
            match step {
                StepInput::Wait { business_days }
                    if *business_days == 0 || *business_days > MAX_WAIT_DAYS =>
                {
                    errors.add(
                        &format!("steps[{i}].business_days"),
                        format!("must be 1 to {MAX_WAIT_DAYS}"),
                    );
                }
                StepInput::Task {
                    subject,
                    due_in_business_days,
                } => {
                    if subject.trim().is_empty() || subject.chars().count() > MAX_NAME {
                        errors.add(
                            &format!("steps[{i}].subject"),
                            format!("must be 1 to {MAX_NAME} characters"),
                        );
                    }
                    if *due_in_business_days > MAX_WAIT_DAYS {
                        errors.add(
                            &format!("steps[{i}].due_in_business_days"),
                            format!("must be at most {MAX_WAIT_DAYS}"),
                        );
                    }
                }
                StepInput::Whatsapp {
                    template,
                    language,
                    parameters,
                } => {
                    let fields = [
                        format!("steps[{i}].template"),
                        format!("steps[{i}].language"),
                        format!("steps[{i}].parameters"),
                    ];
                    crate::whatsapp::template(template, language, parameters, &fields, &mut errors);
                }
                _ => {}
            }
        }
        let mut days = 0u8;
        for day in &self.window.days {
            match weekday_of(day) {
                Some(d) => days |= 1 << d.num_days_from_monday(),
                None => errors.add(
                    "window.days",
                    format!("{day:?} is not one of mon, tue, wed, thu, fri, sat, sun"),
                ),
            }
        }
        if self.window.days.is_empty() {
            errors.add("window.days", "must name at least one day");
        }
        let time = |field: &str, text: &str, errors: &mut FieldErrors| {
            NaiveTime::parse_from_str(text, "%H:%M")
                .map_err(|_| errors.add(field, "must be HH:MM"))
                .ok()
        };
        let start = time("window.start", &self.window.start, &mut errors);
        let end = time("window.end", &self.window.end, &mut errors);
        if let (Some(s), Some(e)) = (start, end)
            && s >= e
        {
            errors.add("window.end", "must be after window.start");
        }
        if self.daily_limit == Some(0) {
            errors.add("daily_limit", "must be at least 1, or left out");
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let window = Window {
            days,
            start: start.unwrap_or(NaiveTime::MIN),
            end: end.unwrap_or(NaiveTime::MIN),
        };
        Ok(Sequence {
            input: SequenceInput {
                name: name.to_owned(),
                ..self
            },
            window,
        })
    }
}

pub(crate) fn is_business_day(day: Weekday) -> bool {
    !matches!(day, Weekday::Sat | Weekday::Sun)
}

/// `from` plus `days` business days (Monday to Friday in `tz`), at the same local time; a
/// start on a weekend counts from the next Monday.
pub fn add_business_days(from: DateTime<Utc>, days: u32, tz: Tz) -> DateTime<Utc> {
    let local = from.with_timezone(&tz);
    let mut date = local.date_naive();
    let mut left = days;
    while left > 0 {
        date = date.succ_opt().unwrap_or(date);
        if is_business_day(date.weekday()) {
            left -= 1;
        }
    }
    local_instant(tz, date.and_time(local.time())).unwrap_or(from + Duration::days(i64::from(days)))
}

/// The instant of a local time, the earlier one where clocks go back and the first after the
/// gap where they go forward.
pub(crate) fn local_instant(tz: Tz, local: chrono::NaiveDateTime) -> Option<DateTime<Utc>> {
    tz.from_local_datetime(&local)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(local + Duration::hours(1)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
}

impl Window {
    fn open_on(&self, day: Weekday) -> bool {
        self.days & (1 << day.num_days_from_monday()) != 0
    }

    /// The first instant at or after `at` inside the window, in `tz`.
    pub fn next_open(&self, at: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        let local = at.with_timezone(&tz);
        let mut date = local.date_naive();
        for offset in 0..8 {
            if self.open_on(date.weekday()) {
                let opens = date.and_time(self.start);
                let closes = date.and_time(self.end);
                let now = local.naive_local();
                if offset == 0 && now >= opens && now < closes {
                    return at;
                }
                if (offset > 0 || now < opens)
                    && let Some(t) = local_instant(tz, opens)
                {
                    return t;
                }
            }
            date = date.succ_opt().unwrap_or(date);
        }
        at
    }
}

/// The most records one enrollment request names.
pub const MAX_ENROLL: usize = 1000;
/// A step whose e-mail fails this many times in a row stops the enrollment (`send_failed`).
pub const MAX_ATTEMPTS: i32 = 8;

impl Sequence {
    /// Whether a step sends an e-mail: then an enrolled record needs an address; a sequence
    /// that only sends WhatsApp messages (with waits and tasks) needs a phone number instead.
    pub fn sends_email(&self) -> bool {
        self.input
            .steps
            .iter()
            .any(|s| matches!(s, StepInput::Email { .. }))
    }

    /// The template ids of its e-mail steps, with the field each is named by.
    pub fn templates(&self) -> Vec<(String, EmailTemplateId)> {
        self.input
            .steps
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match s {
                StepInput::Email { template_id } => {
                    Some((format!("steps[{i}].template_id"), *template_id))
                }
                _ => None,
            })
            .collect()
    }

    /// Where an enrollment goes after finishing step `done` at `at`: the next step that is not
    /// a wait and when it is due (each wait in between adds its business days), or `None` when
    /// the sequence is over. An e-mail step is due at the window's next opening.
    pub fn after_step(
        &self,
        done: usize,
        at: DateTime<Utc>,
        tz: Tz,
    ) -> Option<(usize, DateTime<Utc>)> {
        self.step_from(done + 1, at, tz)
    }

    /// Where a new enrollment starts, as [`Self::after_step`] (a first wait counts too).
    pub fn first_step(&self, at: DateTime<Utc>, tz: Tz) -> Option<(usize, DateTime<Utc>)> {
        self.step_from(0, at, tz)
    }

    fn step_from(
        &self,
        mut next: usize,
        at: DateTime<Utc>,
        tz: Tz,
    ) -> Option<(usize, DateTime<Utc>)> {
        let mut due = at;
        while let Some(StepInput::Wait { business_days }) = self.input.steps.get(next) {
            due = add_business_days(due, *business_days, tz);
            next += 1;
        }
        match self.input.steps.get(next)? {
            StepInput::Email { .. } | StepInput::Whatsapp { .. } => {
                Some((next, self.window.next_open(due, tz)))
            }
            _ => Some((next, due)),
        }
    }
}

/// Where an enrollment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EnrollmentStatus {
    /// Its next step runs at `next_step_at`.
    Active,
    /// Held by a person; resuming runs the step it was at.
    Paused,
    /// Every step ran.
    Finished,
    /// Ended early: `stop_reason` says why.
    Stopped,
}

impl EnrollmentStatus {
    pub const LIVE: [&'static str; 2] = ["active", "paused"];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Paused => "paused",
            Self::Finished => "finished",
            Self::Stopped => "stopped",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "active" => Self::Active,
            "paused" => Self::Paused,
            "finished" => Self::Finished,
            "stopped" => Self::Stopped,
            _ => return None,
        })
    }
}

/// Why a record was not enrolled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Not a record of the sequence's type the caller may read.
    NotFound,
    /// The record has no e-mail address (a sequence with an e-mail step).
    NoEmail,
    /// The record has no valid phone number (a sequence whose messages are all WhatsApp ones).
    NoPhone,
    /// The person withdrew their e-mail consent (or their address belongs to a contact who did).
    ConsentWithdrawn,
    /// It is in the sequence already (active or paused).
    AlreadyEnrolled,
}

#[cfg(test)]
mod step_tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn waits_are_folded_into_the_next_steps_time() {
        let input = SequenceInput {
            name: "Nurture".into(),
            description: None,
            active: true,
            enrolls: Enrolls::Lead,
            steps: vec![
                StepInput::Email {
                    template_id: EmailTemplateId::new(),
                },
                StepInput::Wait { business_days: 2 },
                StepInput::Email {
                    template_id: EmailTemplateId::new(),
                },
            ],
            window: SendWindow::default(),
            daily_limit: None,
            stop: StopRules::default(),
        };
        let Ok(sequence) = input.validate() else {
            panic!("valid")
        };
        // Thursday 10:00 UTC + 2 business days = Monday 10:00, inside the window.
        assert_eq!(
            sequence.after_step(0, at("2026-12-03T10:00:00Z"), Tz::UTC),
            Some((2, at("2026-12-07T10:00:00Z")))
        );
        // Thursday 18:00 + 2 = Monday 18:00: the window's next opening, Tuesday 09:00.
        assert_eq!(
            sequence.after_step(0, at("2026-12-03T18:00:00Z"), Tz::UTC),
            Some((2, at("2026-12-08T09:00:00Z")))
        );
        assert_eq!(
            sequence.after_step(2, at("2026-12-03T18:00:00Z"), Tz::UTC),
            None
        );
        // A Saturday enrollment's first e-mail waits for Monday 09:00.
        assert_eq!(
            sequence.first_step(at("2026-12-05T12:00:00Z"), Tz::UTC),
            Some((0, at("2026-12-07T09:00:00Z")))
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    fn input(steps: Vec<StepInput>) -> SequenceInput {
        SequenceInput {
            name: "Welcome".into(),
            description: None,
            active: true,
            enrolls: Enrolls::Lead,
            steps,
            window: SendWindow::default(),
            daily_limit: None,
            stop: StopRules::default(),
        }
    }

    fn email() -> StepInput {
        StepInput::Email {
            template_id: EmailTemplateId::new(),
        }
    }

    #[test]
    fn business_days_skip_weekends_in_the_company_zone() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap_or(Tz::UTC);
        // Friday 10:00 Berlin + 1 business day = Monday 10:00 Berlin.
        assert_eq!(
            add_business_days(at("2026-12-04T09:00:00Z"), 1, berlin),
            at("2026-12-07T09:00:00Z")
        );
        // Saturday + 1 = Monday; + 0 = itself.
        assert_eq!(
            add_business_days(at("2026-12-05T09:00:00Z"), 1, berlin),
            at("2026-12-07T09:00:00Z")
        );
        assert_eq!(
            add_business_days(at("2026-12-05T09:00:00Z"), 0, berlin),
            at("2026-12-05T09:00:00Z")
        );
        // Ten business days are two weeks.
        assert_eq!(
            add_business_days(at("2026-12-02T09:00:00Z"), 10, berlin),
            at("2026-12-16T09:00:00Z")
        );
    }

    #[test]
    fn the_window_opens_at_its_next_start() {
        let sequence = input(vec![email()]).validate();
        let Ok(sequence) = sequence else {
            panic!("valid")
        };
        let ny: Tz = "America/New_York".parse().unwrap_or(Tz::UTC);
        let w = sequence.window;
        // Wednesday 12:00 New York (17:00Z) is inside: now.
        assert_eq!(
            w.next_open(at("2026-12-02T17:00:00Z"), ny),
            at("2026-12-02T17:00:00Z")
        );
        // Wednesday 18:00 New York: Thursday 09:00 New York (14:00Z).
        assert_eq!(
            w.next_open(at("2026-12-02T23:00:00Z"), ny),
            at("2026-12-03T14:00:00Z")
        );
        // Friday 17:30: Monday 09:00.
        assert_eq!(
            w.next_open(at("2026-12-04T22:30:00Z"), ny),
            at("2026-12-07T14:00:00Z")
        );
        // Early Tuesday: Tuesday 09:00.
        assert_eq!(
            w.next_open(at("2026-12-08T10:00:00Z"), ny),
            at("2026-12-08T14:00:00Z")
        );
    }

    #[test]
    fn bad_sequences_name_every_mistake() {
        let mut bad = input(vec![
            StepInput::Wait { business_days: 0 },
            StepInput::Task {
                subject: " ".into(),
                due_in_business_days: 1,
            },
        ]);
        bad.name = " ".into();
        bad.window.days = vec!["mon".into(), "someday".into()];
        bad.window.start = "18:00".into();
        bad.daily_limit = Some(0);
        let Err(errors) = bad.validate() else {
            panic!("invalid")
        };
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        for field in [
            "name",
            "steps",
            "steps[0].business_days",
            "steps[1].subject",
            "window.days",
            "window.end",
            "daily_limit",
        ] {
            assert!(fields.contains(&field), "{field} in {fields:?}");
        }
    }

    #[test]
    fn a_sequence_sends_an_email_or_a_whatsapp_message() {
        let whatsapp = StepInput::Whatsapp {
            template: "hello_there".into(),
            language: "en".into(),
            parameters: Vec::new(),
        };
        let Ok(only_whatsapp) =
            input(vec![whatsapp, StepInput::Wait { business_days: 2 }]).validate()
        else {
            panic!("WhatsApp messages alone are a sequence")
        };
        assert!(!only_whatsapp.sends_email());
        let Err(errors) = input(vec![StepInput::Task {
            subject: "Call".into(),
            due_in_business_days: 0,
        }])
        .validate() else {
            panic!("a task alone sends nothing")
        };
        assert_eq!(errors.0[0].field, "steps");
    }
}
