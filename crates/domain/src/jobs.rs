//! Rules of the job queue that need no database: states, retry backoff, cron schedules.

use crate::choices::choice_enum;
use chrono::{DateTime, Duration, Utc};

choice_enum!(
    /// Where a job stands.
    JobState {
        /// Waiting for its run time or a free worker.
        Queued => "queued",
        /// Leased by a worker.
        Running => "running",
        Succeeded => "succeeded",
        /// Failed `max_attempts` times; only a manual retry runs it again.
        Dead => "dead",
        Cancelled => "cancelled",
    }
);

impl JobState {
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Dead | Self::Cancelled)
    }
}

/// Delay before attempt `attempt + 1` after `attempt` failures: exponential from `base`, capped
/// at one hour, with `jitter` (0.0..1.0, supplied by the caller) spreading up to half of it so
/// that jobs failing together do not retry together.
pub fn backoff(attempt: u32, base: Duration, jitter: f64) -> Duration {
    let cap = Duration::hours(1);
    let factor = 2_i64.saturating_pow(attempt.saturating_sub(1).min(30));
    let delay = base
        .num_milliseconds()
        .saturating_mul(factor)
        .min(cap.num_milliseconds());
    let spread = (delay as f64 * 0.5 * jitter.clamp(0.0, 1.0)) as i64;
    Duration::milliseconds(delay - spread / 2 + spread)
}

/// A parsed cron expression (five fields, or six with seconds).
#[derive(Debug, Clone)]
pub struct Schedule(croner::Cron);

impl Schedule {
    pub fn parse(expression: &str) -> Result<Self, String> {
        croner::Cron::new(expression)
            .with_seconds_optional()
            .parse()
            .map(Self)
            .map_err(|e| format!("is not a valid cron expression: {e}"))
    }

    /// The first run time strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.0.find_next_occurrence(&after, false).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let base = Duration::seconds(10);
        assert_eq!(backoff(1, base, 0.0), Duration::seconds(10));
        assert_eq!(backoff(3, base, 0.0), Duration::seconds(40));
        assert_eq!(backoff(40, base, 0.0), Duration::hours(1));
        let jittered = backoff(3, base, 1.0);
        assert!(jittered > Duration::seconds(40) && jittered <= Duration::seconds(50));
    }

    #[test]
    fn cron_finds_the_next_minute() {
        let schedule = Schedule::parse("*/5 * * * *").ok();
        let start = DateTime::parse_from_rfc3339("2026-01-01T10:02:00Z")
            .map(|d| d.with_timezone(&Utc))
            .ok();
        let next = schedule.zip(start).and_then(|(s, t)| s.next_after(t));
        assert_eq!(
            next.map(|n| n.to_rfc3339()),
            Some("2026-01-01T10:05:00+00:00".into())
        );
        assert!(Schedule::parse("not cron").is_err());
    }
}
