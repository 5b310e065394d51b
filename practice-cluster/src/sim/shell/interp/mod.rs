//! `sh`: runs a parsed script. This file holds the shell's state and its control flow
//! (lists, `&&`/`||`, pipelines, `if`, `for`, `while`); [`expand`] does expansions,
//! [`arith`] `$((...))`, [`redirect`] redirections, [`simple`] simple commands and
//! [`builtins`] the commands a shell runs itself (`cd`, `export`, `exit`, `read`...).
//!
//! Every command and loop turn is charged to the exec's budget; once it runs out,
//! everything returns at once and the exec reports why.

mod arith;
mod builtins;
mod expand;
mod redirect;
mod simple;

use super::parser::{Node, parse_script};
use super::{Call, ExecOutput, MAX_DEPTH, MAX_EXEC_DEPTH, ShellContext, budget::Budget, fs};
use crate::sim::shell::lexer::Word;

/// `sh [-e] [-c SCRIPT [NAME [ARG]...] | FILE [ARG]...]`; with neither, the script is
/// standard input.
pub(super) fn sh(args: &[String], call: &Call) -> ExecOutput {
    let mut command_mode = false;
    let mut errexit = false;
    let mut rest = args;
    while let Some((first, tail)) = rest.split_first() {
        if first == "--" {
            rest = tail;
            break;
        }
        let Some(flags) = first.strip_prefix('-').filter(|f| !f.is_empty()) else {
            break;
        };
        for flag in flags.chars() {
            match flag {
                'c' => command_mode = true,
                'e' => errexit = true,
                other => return ExecOutput::fail(2, &format!("sh: -{other}: invalid option\n")),
            }
        }
        rest = tail;
    }
    let mut positional = vec!["sh".to_string()];
    let mut script = None;
    if command_mode {
        let Some((text, params)) = rest.split_first() else {
            return ExecOutput::fail(2, "sh: -c requires an argument\n");
        };
        script = Some(text.clone());
        if let Some((zero, params)) = params.split_first() {
            positional = vec![zero.clone()];
            positional.extend(params.iter().cloned());
        }
    } else if let Some((file, params)) = rest.split_first() {
        match call.read(file) {
            Ok(data) => script = Some(String::from_utf8_lossy(&data).into_owned()),
            Err(err) => return ExecOutput::fail(2, &format!("sh: can't open '{file}': {err}\n")),
        }
        positional = vec![file.clone()];
        positional.extend(params.iter().cloned());
    }
    let (text, stdin) = match script {
        Some(text) => (text, call.stdin.to_vec()),
        // No script: read commands from standard input, then exit.
        None => (String::from_utf8_lossy(call.stdin).into_owned(), Vec::new()),
    };
    if call.depth >= MAX_DEPTH {
        return ExecOutput::fail(2, "sh: too many nested shells\n");
    }
    let mut shell = Shell::new(call, positional, stdin);
    shell.errexit = errexit;
    shell.run_text(&text)
}

/// A shell variable.
#[derive(Debug, Clone)]
struct Var {
    name: String,
    value: String,
    exported: bool,
}

/// Loop control requested by `break` or `continue`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LoopControl {
    Break(u32),
    Continue(u32),
}

/// One running shell (or subshell).
struct Shell<'c, 'a> {
    ctx: &'c ShellContext<'a>,
    budget: &'c Budget,
    depth: usize,
    cwd: String,
    vars: Vec<Var>,
    /// `$0`, `$1`...
    positional: Vec<String>,
    /// `$?`
    status: i32,
    /// `set -e`
    errexit: bool,
    /// Conditions being evaluated (where `set -e` does not apply).
    condition: usize,
    exit: Option<i32>,
    loop_control: Option<LoopControl>,
    loops: u32,
    stdin: Vec<u8>,
    stdin_pos: usize,
    /// Standard error of command substitutions, shown with the command they were in.
    pending_stderr: Vec<u8>,
    /// Exit status of the last command substitution.
    substitution_status: Option<i32>,
    /// Nesting of operand expansions such as `${A:-${B:-...}}`.
    expand_depth: usize,
}

impl<'c, 'a> Shell<'c, 'a> {
    fn new(call: &Call<'c, 'a>, positional: Vec<String>, stdin: Vec<u8>) -> Self {
        let mut vars: Vec<Var> = Vec::new();
        for (k, v) in call.ctx.env {
            match vars.iter_mut().find(|var| var.name == *k) {
                Some(existing) => existing.value = v.clone(),
                None => vars.push(Var { name: k.clone(), value: v.clone(), exported: true }),
            }
        }
        let cwd = fs::normalize(call.ctx.cwd);
        let mut shell = Shell {
            ctx: call.ctx,
            budget: call.budget,
            depth: call.depth + 1,
            cwd: cwd.clone(),
            vars,
            positional,
            status: 0,
            errexit: false,
            condition: 0,
            exit: None,
            loop_control: None,
            loops: 0,
            stdin,
            stdin_pos: 0,
            pending_stderr: Vec::new(),
            substitution_status: None,
            expand_depth: 0,
        };
        if shell.var("PWD").is_none() {
            shell.set_var("PWD", cwd);
        }
        shell
    }

    /// A copy of this shell for `( ... )` and `$( ... )`.
    fn subshell(&self) -> Shell<'c, 'a> {
        Shell {
            ctx: self.ctx,
            budget: self.budget,
            depth: self.depth + 1,
            cwd: self.cwd.clone(),
            vars: self.vars.clone(),
            positional: self.positional.clone(),
            status: self.status,
            errexit: self.errexit,
            condition: self.condition,
            exit: None,
            loop_control: None,
            loops: 0,
            stdin: Vec::new(),
            stdin_pos: 0,
            pending_stderr: Vec::new(),
            substitution_status: None,
            expand_depth: self.expand_depth,
        }
    }

    fn var(&self, name: &str) -> Option<&str> {
        self.vars.iter().find(|v| v.name == name).map(|v| v.value.as_str())
    }

    fn set_var(&mut self, name: &str, value: String) {
        match self.vars.iter_mut().find(|v| v.name == name) {
            Some(var) => var.value = value,
            None => self.vars.push(Var { name: name.to_string(), value, exported: false }),
        }
    }

    /// Parses and runs a script, reporting syntax errors as the shell would.
    fn run_text(&mut self, text: &str) -> ExecOutput {
        let node = match parse_script(text) {
            Ok(node) => node,
            Err(err) => return ExecOutput::fail(2, &format!("sh: {err}\n")),
        };
        let mut out = self.exec(&node);
        if let Some(code) = self.exit {
            out.exit_code = code;
        }
        out
    }

    fn stopped(&self) -> bool {
        self.exit.is_some() || self.loop_control.is_some()
    }

    /// Stops this shell because the exec's budget ran out (the exec reports it).
    fn out_of_budget(&mut self) -> ExecOutput {
        self.exit = Some(1);
        ExecOutput::fail(1, "")
    }

    fn exec(&mut self, node: &Node) -> ExecOutput {
        if self.budget.check().is_err() {
            return self.out_of_budget();
        }
        let depth = self.budget.depth.get().saturating_add(1);
        if depth > MAX_EXEC_DEPTH {
            self.exit.get_or_insert(2);
            return ExecOutput::fail(2, "sh: nesting too deep\n");
        }
        self.budget.depth.set(depth);
        let out = self.exec_node(node);
        self.budget.depth.set(depth - 1);
        self.status = out.exit_code;
        out
    }

    fn exec_node(&mut self, node: &Node) -> ExecOutput {
        match node {
            Node::Simple { assigns, words, redirs } => self.exec_simple(assigns, words, redirs),
            Node::List(items) => self.exec_list(items),
            Node::AndOr { first, rest } => self.exec_and_or(first, rest),
            Node::Pipeline { negate, stages } => self.exec_pipeline(*negate, stages),
            Node::If { branches, otherwise } => self.exec_if(branches, otherwise.as_deref()),
            Node::For { var, items, body } => self.exec_for(var, items.as_deref(), body),
            Node::While { cond, body } => self.exec_while(cond, body),
            Node::Group(body) => self.exec(body),
            Node::Subshell(body) => {
                let mut sub = self.subshell();
                sub.stdin = self.stdin.get(self.stdin_pos..).unwrap_or_default().to_vec();
                let mut out = sub.exec(body);
                self.stdin_pos = self.stdin_pos.saturating_add(sub.stdin_pos);
                if let Some(code) = sub.exit {
                    out.exit_code = code;
                }
                out
            }
            Node::Redirected { node, redirs } => self.exec_redirected(node, redirs),
        }
    }

    fn exec_list(&mut self, items: &[Node]) -> ExecOutput {
        let mut out = ExecOutput { exit_code: self.status, ..ExecOutput::default() };
        for item in items {
            let result = self.exec(item);
            out.append(result);
            self.status = out.exit_code;
            if self.stopped() {
                break;
            }
            let guarded = matches!(item, Node::AndOr { .. }) || matches!(item, Node::Pipeline { negate: true, .. });
            if self.errexit && self.condition == 0 && out.exit_code != 0 && !guarded {
                self.exit = Some(out.exit_code);
                break;
            }
        }
        if items.is_empty() {
            out.exit_code = 0;
        }
        out
    }

    fn exec_and_or(&mut self, first: &Node, rest: &[(bool, Node)]) -> ExecOutput {
        self.condition += 1;
        let mut out = self.exec(first);
        self.condition -= 1;
        let last = rest.len();
        let mut ran_last = rest.is_empty();
        for (i, (is_and, node)) in rest.iter().enumerate() {
            if self.stopped() {
                break;
            }
            if (out.exit_code == 0) != *is_and {
                continue;
            }
            let final_one = i + 1 == last;
            if !final_one {
                self.condition += 1;
            }
            let result = self.exec(node);
            if !final_one {
                self.condition -= 1;
            }
            out.append(result);
            ran_last = final_one;
        }
        if ran_last && self.errexit && self.condition == 0 && out.exit_code != 0 && !self.stopped() {
            self.exit = Some(out.exit_code);
        }
        out
    }

    /// Runs the stages one after another, each reading the previous one's output.
    fn exec_pipeline(&mut self, negate: bool, stages: &[Node]) -> ExecOutput {
        let mut out = ExecOutput::default();
        let saved_stdin = std::mem::take(&mut self.stdin);
        let saved_pos = self.stdin_pos;
        self.stdin = saved_stdin.clone();
        let mut piped: Option<Vec<u8>> = None;
        let count = stages.len();
        for (i, stage) in stages.iter().enumerate() {
            if let Some(data) = piped.take() {
                self.stdin = data;
                self.stdin_pos = 0;
            }
            let result = self.exec(stage);
            if i == 0 {
                // Commands after the pipeline see what the first stage left of stdin.
                let used = self.stdin_pos;
                self.stdin = saved_stdin.clone();
                self.stdin_pos = used.max(saved_pos);
            }
            out.stderr.extend_from_slice(&result.stderr);
            out.exit_code = result.exit_code;
            if i + 1 == count {
                out.stdout = result.stdout;
            } else {
                piped = Some(result.stdout);
            }
            if self.exit.is_some() {
                break;
            }
        }
        let remaining = self.stdin_pos;
        self.stdin = saved_stdin;
        self.stdin_pos = remaining;
        if negate {
            out.exit_code = i32::from(out.exit_code == 0);
        }
        out
    }

    fn exec_if(&mut self, branches: &[(Node, Node)], otherwise: Option<&Node>) -> ExecOutput {
        let mut out = ExecOutput::default();
        for (cond, body) in branches {
            self.condition += 1;
            let test = self.exec(cond);
            self.condition -= 1;
            let passed = test.exit_code == 0;
            out.stdout.extend_from_slice(&test.stdout);
            out.stderr.extend_from_slice(&test.stderr);
            if self.stopped() {
                out.exit_code = test.exit_code;
                return out;
            }
            if passed {
                out.append(self.exec(body));
                return out;
            }
        }
        match otherwise {
            Some(body) => out.append(self.exec(body)),
            None => out.exit_code = 0,
        }
        out
    }

    /// Handles `break`/`continue` after one iteration; true if the loop must end.
    fn loop_done(&mut self) -> bool {
        match self.loop_control {
            Some(LoopControl::Break(n)) => {
                self.loop_control = (n > 1).then(|| LoopControl::Break(n - 1));
                true
            }
            Some(LoopControl::Continue(n)) if n > 1 => {
                self.loop_control = Some(LoopControl::Continue(n - 1));
                true
            }
            Some(LoopControl::Continue(_)) => {
                self.loop_control = None;
                false
            }
            None => self.exit.is_some(),
        }
    }

    fn exec_for(&mut self, var: &str, items: Option<&[Word]>, body: &Node) -> ExecOutput {
        let mut out = ExecOutput::default();
        let values = match items {
            None => self.positional.iter().skip(1).cloned().collect(),
            Some(words) => match self.expand_words(words) {
                Ok(values) => values,
                Err(err) => return self.expansion_failure(&err),
            },
        };
        self.loops += 1;
        for value in values {
            if self.budget.command().is_err() {
                out.append(self.out_of_budget());
                break;
            }
            self.set_var(var, value);
            out.append(self.exec(body));
            if self.loop_done() {
                break;
            }
        }
        self.loops -= 1;
        out
    }

    fn exec_while(&mut self, cond: &Node, body: &Node) -> ExecOutput {
        let mut out = ExecOutput::default();
        self.loops += 1;
        loop {
            if self.budget.command().is_err() {
                out.append(self.out_of_budget());
                break;
            }
            self.condition += 1;
            let test = self.exec(cond);
            self.condition -= 1;
            out.stdout.extend_from_slice(&test.stdout);
            out.stderr.extend_from_slice(&test.stderr);
            if self.stopped() {
                if self.loop_done() {
                    break;
                }
                continue;
            }
            if test.exit_code != 0 {
                break;
            }
            out.append(self.exec(body));
            if self.loop_done() {
                break;
            }
        }
        self.loops -= 1;
        out
    }

    /// A non-interactive shell exits on expansion errors.
    fn expansion_failure(&mut self, message: &str) -> ExecOutput {
        self.exit = Some(2);
        let mut out = ExecOutput::fail(2, &format!("sh: {message}\n"));
        let pending = std::mem::take(&mut self.pending_stderr);
        out.stderr.splice(0..0, pending);
        out
    }
}
