//! What one exec may cost, counted inside the interpreter so that no script can hang
//! the cluster (execs and probes run while controllers wait).
//!
//! Work is counted in steps: each command and each loop turn costs [`COMMAND_STEPS`],
//! and pattern matching (globs, `${VAR##pattern}`, grep) one step per character it
//! compares. `while true; do :; done`, a pathological pattern and an output flood all
//! end the same way: the exec stops, its output is cut at [`MAX_OUTPUT`], and it exits
//! 1 with a message naming the limit (see [`Budget::settle`]).

use std::cell::Cell;

use jiff::SignedDuration;

use super::ExecOutput;

/// Steps one exec may take: 20,000 commands, or the same CPU in pattern matching
/// (about a tenth of a second on a laptop).
pub(super) const MAX_STEPS: u64 = 20_000_000;
/// What a command or a loop turn costs, in steps.
pub(super) const COMMAND_STEPS: u64 = 1_000;
/// Most bytes of output one exec may produce in total.
pub(super) const MAX_OUTPUT: u64 = 16 << 20;

/// Which limit stopped an exec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Limit {
    /// Too many steps.
    Work,
    /// Too much output.
    Output,
}

/// The budget ran out: whatever was running stops and returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Exhausted;

/// Work done so far by one exec, shared by every nested shell and command.
#[derive(Default)]
pub(super) struct Budget {
    steps: Cell<u64>,
    output: Cell<u64>,
    /// The first limit reached; once set, every further charge fails.
    hit: Cell<Option<Limit>>,
    /// Shell constructs being executed right now, across nested shells.
    pub(super) depth: Cell<usize>,
    /// Time `sleep` let pass: it returns at once but moves this exec's clock.
    slept: Cell<SignedDuration>,
}

impl Budget {
    /// Counts `steps` of work.
    pub(super) fn charge(&self, steps: u64) -> Result<(), Exhausted> {
        let total = self.steps.get().saturating_add(steps);
        self.steps.set(total);
        if total > MAX_STEPS {
            self.stop(Limit::Work);
        }
        self.check()
    }

    /// Counts one command or loop turn.
    pub(super) fn command(&self) -> Result<(), Exhausted> {
        self.charge(COMMAND_STEPS)
    }

    /// Counts `bytes` of output.
    pub(super) fn output(&self, bytes: usize) -> Result<(), Exhausted> {
        let total = self.output.get().saturating_add(bytes as u64);
        self.output.set(total);
        if total > MAX_OUTPUT {
            self.stop(Limit::Output);
        }
        self.check()
    }

    /// `Err` once any limit was reached.
    pub(super) fn check(&self) -> Result<(), Exhausted> {
        match self.hit.get() {
            Some(_) => Err(Exhausted),
            None => Ok(()),
        }
    }

    fn stop(&self, limit: Limit) {
        if self.hit.get().is_none() {
            self.hit.set(Some(limit));
        }
    }

    /// Lets `by` pass on this exec's clock.
    pub(super) fn sleep(&self, by: SignedDuration) {
        self.slept.set(self.slept.get().saturating_add(by));
    }

    /// The time `sleep` has let pass.
    pub(super) fn slept(&self) -> SignedDuration {
        self.slept.get()
    }

    /// Finishes an exec run as `program`: if a limit was reached, its output is cut to
    /// the limit and it fails with a message saying which limit.
    pub(super) fn settle(&self, program: &str, out: &mut ExecOutput) {
        let Some(limit) = self.hit.get() else { return };
        let max = usize::try_from(MAX_OUTPUT).unwrap_or(usize::MAX);
        out.stdout.truncate(max);
        out.stderr.truncate(max);
        let program = if program.is_empty() { "sh" } else { program };
        let why = match limit {
            Limit::Work => format!("used its CPU budget (about {} commands)", MAX_STEPS / COMMAND_STEPS),
            Limit::Output => format!("wrote more than its {} MiB output budget", MAX_OUTPUT >> 20),
        };
        out.err(&format!("{program}: stopped: this exec {why}\n"));
        out.exit_code = 1;
    }
}
