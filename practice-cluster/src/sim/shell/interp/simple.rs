//! Simple commands: expand the words, apply assignments and redirections, then run a
//! builtin or a command from `/bin`.

use super::Shell;
use crate::sim::shell::commands::{self, Missing};
use crate::sim::shell::lexer::Word;
use crate::sim::shell::parser::Redir;
use crate::sim::shell::{Call, ExecOutput, ShellContext};

impl Shell<'_, '_> {
    /// The environment a command started from this shell gets.
    fn command_env(&self, assigns: &[(String, String)]) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> =
            self.vars.iter().filter(|v| v.exported && !assigns.iter().any(|(n, _)| *n == v.name)).map(|v| (v.name.clone(), v.value.clone())).collect();
        env.extend(assigns.iter().cloned());
        env
    }

    /// Standard input for a command: what is left of the shell's, consumed if the
    /// command reads it.
    fn take_stdin(&mut self, command: &str) -> Vec<u8> {
        let reads = commands::find(command).is_some_and(|a| a.reads_stdin);
        if !reads {
            return Vec::new();
        }
        let rest = self.stdin.get(self.stdin_pos..).unwrap_or_default().to_vec();
        self.stdin_pos = self.stdin.len();
        rest
    }

    pub(super) fn exec_simple(&mut self, assigns: &[(String, Word)], words: &[Word], redirs: &[Redir]) -> ExecOutput {
        if self.budget.command().is_err() {
            return self.out_of_budget();
        }
        self.substitution_status = None;
        let argv = match self.expand_words(words) {
            Ok(argv) => argv,
            Err(err) => return self.expansion_failure(&err),
        };
        let mut values = Vec::new();
        for (name, word) in assigns {
            match self.expand_single(word) {
                Ok(value) => values.push((name.clone(), value)),
                Err(err) => return self.expansion_failure(&err),
            }
        }
        // Pattern matching in the expansions may have used up the budget.
        if self.budget.check().is_err() {
            return self.out_of_budget();
        }
        let pending = std::mem::take(&mut self.pending_stderr);
        let setup = match self.redirections(redirs) {
            Ok(setup) => setup,
            Err(message) => {
                let mut out = ExecOutput::fail(1, &message);
                out.stderr.splice(0..0, pending);
                return out;
            }
        };
        let result = if argv.is_empty() {
            for (name, value) in values {
                self.set_var(&name, value);
            }
            ExecOutput { exit_code: self.substitution_status.unwrap_or(0), ..ExecOutput::default() }
        } else {
            let stdin = match &setup.input {
                Some(input) => input.clone(),
                None => self.take_stdin(argv.first().map(String::as_str).unwrap_or_default()),
            };
            let mut result = match self.builtin(&argv) {
                Some(result) => result,
                None => self.external(&argv, &values, &stdin),
            };
            let trace = std::mem::take(&mut self.pending_stderr);
            result.stderr.splice(0..0, trace);
            result
        };
        let mut out = self.route(result, &setup);
        out.stderr.splice(0..0, pending);
        if self.budget.output(out.stdout.len().saturating_add(out.stderr.len())).is_err() {
            self.exit = Some(1);
        }
        out
    }

    /// Runs a command from `/bin`, with `assigns` added to its environment.
    fn external(&mut self, argv: &[String], assigns: &[(String, String)], stdin: &[u8]) -> ExecOutput {
        let env = self.command_env(assigns);
        let ctx = ShellContext { cwd: &self.cwd, env: &env, ..*self.ctx };
        let call = Call { ctx: &ctx, stdin, depth: self.depth, budget: self.budget };
        let name = argv.first().map(String::as_str).unwrap_or_default();
        match commands::exec_argv(argv, &call) {
            Ok(out) => out,
            Err(Missing::NotFound) => ExecOutput::fail(127, &format!("sh: {name}: not found\n")),
            Err(Missing::NotExecutable) => ExecOutput::fail(126, &format!("sh: {name}: Permission denied\n")),
        }
    }
}
