//! The cluster's clock: wall time for a live demo, or a manual clock that tests move.
//!
//! Every controller asks this clock for "now", so a test can step through a 30 s grace
//! period or ten 10 s probe periods in microseconds and get the same result every run.

use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};

/// Source of the current time for the whole cluster.
#[derive(Clone, Debug)]
pub enum Clock {
    /// The system's wall clock.
    Real,
    /// A clock that only moves when [`Clock::advance`] or [`Clock::set`] is called.
    Manual(Arc<Mutex<Timestamp>>),
}

impl Default for Clock {
    /// The system's wall clock.
    fn default() -> Self {
        Clock::Real
    }
}

impl Clock {
    /// A manual clock starting at `start`.
    pub fn manual(start: Timestamp) -> Self {
        Clock::Manual(Arc::new(Mutex::new(start)))
    }

    /// The current instant.
    pub fn now(&self) -> Timestamp {
        match self {
            Clock::Real => Timestamp::now(),
            Clock::Manual(t) => *t.lock().unwrap_or_else(|p| p.into_inner()),
        }
    }

    /// Whether this clock only moves when told to.
    pub fn is_manual(&self) -> bool {
        matches!(self, Clock::Manual(_))
    }

    /// Moves a manual clock to `to` (never backwards); a no-op on the real clock.
    pub fn set(&self, to: Timestamp) {
        if let Clock::Manual(t) = self {
            let mut t = t.lock().unwrap_or_else(|p| p.into_inner());
            if to > *t {
                *t = to;
            }
        }
    }

    /// Moves a manual clock forward by `by`; a no-op on the real clock.
    pub fn advance(&self, by: SignedDuration) {
        if let Clock::Manual(t) = self {
            let mut t = t.lock().unwrap_or_else(|p| p.into_inner());
            if let Ok(next) = t.checked_add(by) {
                *t = next;
            }
        }
    }
}
