//! Process and system commands: `env`, `printenv`, `pwd`, `date`, `sleep`, `true`,
//! `false`, `test` and `[`.

use std::fmt::Write as _;

use jiff::SignedDuration;
use jiff::fmt::strtime;
use jiff::tz::TimeZone;

use super::{exec_argv, usage};
use crate::sim::fs;
use crate::sim::shell::{Call, ExecOutput, MAX_NESTING, ShellContext, is_dev_null};

/// `env [-i] [-u NAME] [NAME=VALUE]... [COMMAND [ARG]...]`
pub(super) fn env(args: &[String], call: &Call) -> ExecOutput {
    let mut env: Vec<(String, String)> = call.ctx.env.to_vec();
    let mut rest = args;
    while let Some((first, tail)) = rest.split_first() {
        if first == "-i" || first == "-" {
            env.clear();
        } else if first == "-u" {
            let Some((name, tail2)) = tail.split_first() else {
                return ExecOutput::fail(1, "env: option requires an argument -- 'u'\n");
            };
            env.retain(|(k, _)| k != name);
            rest = tail2;
            continue;
        } else if first == "--" {
            rest = tail;
            break;
        } else if let Some((name, value)) = first.split_once('=')
            && !name.is_empty()
        {
            env.retain(|(k, _)| k != name);
            env.push((name.to_string(), value.to_string()));
        } else {
            break;
        }
        rest = tail;
    }
    if rest.is_empty() {
        let mut text = String::new();
        for (k, v) in &env {
            let _ = writeln!(text, "{k}={v}");
        }
        return ExecOutput::with_stdout(text);
    }
    let ctx = ShellContext { env: &env, ..*call.ctx };
    let sub = Call { ctx: &ctx, stdin: call.stdin, depth: call.depth + 1, budget: call.budget };
    match exec_argv(rest, &sub) {
        Ok(output) => output,
        Err(_) => ExecOutput::fail(127, &format!("env: can't execute '{}': No such file or directory\n", rest.first().map(String::as_str).unwrap_or_default())),
    }
}

/// `printenv [NAME]...`
pub(super) fn printenv(args: &[String], call: &Call) -> ExecOutput {
    if args.is_empty() {
        return env(&[], call);
    }
    let mut out = ExecOutput::default();
    for name in args {
        match call.env(name) {
            Some(value) => out.out(&format!("{value}\n")),
            None => out.exit_code = 1,
        }
    }
    out
}

/// `sleep N[smhd]...`: returns at once, but moves the exec's clock (what `date` shows)
/// by the time it would have slept.
pub(super) fn sleep(args: &[String], call: &Call) -> ExecOutput {
    if args.is_empty() {
        return usage("sleep [N]...");
    }
    let mut total = SignedDuration::ZERO;
    for arg in args {
        if arg == "inf" || arg == "infinity" {
            continue;
        }
        let (number, unit) = match arg.strip_suffix(['s', 'm', 'h', 'd']) {
            Some(number) => (number, arg.chars().last().unwrap_or('s')),
            None => (arg.as_str(), 's'),
        };
        let scale = match unit {
            'm' => 60.0,
            'h' => 3600.0,
            'd' => 86_400.0,
            _ => 1.0,
        };
        let seconds = number.parse::<f64>().ok().filter(|n| n.is_finite() && *n >= 0.0);
        let Some(seconds) = seconds else {
            return ExecOutput::fail(1, &format!("sleep: invalid number '{arg}'\n"));
        };
        let by = SignedDuration::try_from_secs_f64(seconds * scale).unwrap_or(SignedDuration::MAX);
        total = total.saturating_add(by);
    }
    call.budget.sleep(total);
    ExecOutput::default()
}

/// `test EXPRESSION`
pub(super) fn test(args: &[String], call: &Call) -> ExecOutput {
    test_with(args, false, &|op, operand| file_test(call, op, operand))
}

/// `[ EXPRESSION ]`
pub(super) fn bracket(args: &[String], call: &Call) -> ExecOutput {
    test_with(args, true, &|op, operand| file_test(call, op, operand))
}

/// `test` and `[`: file tests (answered by `file`), string and integer comparisons, `!`,
/// `-a`, `-o` and parentheses.
fn test_with(args: &[String], bracket: bool, file: &dyn Fn(&str, &str) -> bool) -> ExecOutput {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let args = if bracket {
        match args.split_last() {
            Some((&"]", rest)) => rest.to_vec(),
            _ => return ExecOutput::fail(2, "[: missing ]\n"),
        }
    } else {
        args
    };
    let mut parser = TestParser { args: &args, pos: 0, file, error: None, depth: 0 };
    let result = if args.is_empty() { false } else { parser.or() };
    let name = if bracket { "[" } else { "test" };
    if let Some(err) = parser.error {
        return ExecOutput::fail(2, &format!("sh: {name}: {err}\n"));
    }
    if parser.pos < args.len() {
        let extra = args.get(parser.pos).copied().unwrap_or_default();
        return ExecOutput::fail(2, &format!("sh: {name}: {extra}: unknown operand\n"));
    }
    ExecOutput { exit_code: i32::from(!result), ..ExecOutput::default() }
}

struct TestParser<'t> {
    args: &'t [&'t str],
    pos: usize,
    file: &'t dyn Fn(&str, &str) -> bool,
    error: Option<String>,
    depth: usize,
}

impl<'t> TestParser<'t> {
    fn peek(&self, offset: usize) -> Option<&'t str> {
        self.args.get(self.pos + offset).copied()
    }

    fn or(&mut self) -> bool {
        let mut value = self.and();
        while self.peek(0) == Some("-o") {
            self.pos += 1;
            let rhs = self.and();
            value = value || rhs;
        }
        value
    }

    fn and(&mut self) -> bool {
        let mut value = self.not();
        while self.peek(0) == Some("-a") {
            self.pos += 1;
            let rhs = self.not();
            value = value && rhs;
        }
        value
    }

    fn not(&mut self) -> bool {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            self.error.get_or_insert_with(|| "expression too deep".to_string());
            return false;
        }
        let value = if self.peek(0) == Some("!") && self.peek(1).is_some() {
            self.pos += 1;
            !self.not()
        } else {
            self.primary()
        };
        self.depth -= 1;
        value
    }

    fn primary(&mut self) -> bool {
        let Some(first) = self.peek(0) else {
            self.error.get_or_insert_with(|| "argument expected".to_string());
            return false;
        };
        if first == "(" && self.peek(1).is_some() {
            self.pos += 1;
            let value = self.or();
            if self.peek(0) == Some(")") {
                self.pos += 1;
            } else {
                self.error.get_or_insert_with(|| "missing )".to_string());
            }
            return value;
        }
        if let Some(op) = self.peek(1)
            && self.peek(2).is_some()
            && is_binary_test(op)
        {
            let lhs = first;
            let rhs = self.peek(2).unwrap_or_default();
            self.pos += 3;
            return self.binary(lhs, op, rhs);
        }
        if is_unary_test(first)
            && let Some(operand) = self.peek(1)
        {
            self.pos += 2;
            return match first {
                "-n" => !operand.is_empty(),
                "-z" => operand.is_empty(),
                "-t" => false,
                op => (self.file)(op, operand),
            };
        }
        self.pos += 1;
        !first.is_empty()
    }

    fn binary(&mut self, lhs: &str, op: &str, rhs: &str) -> bool {
        match op {
            "=" | "==" => lhs == rhs,
            "!=" => lhs != rhs,
            "<" => lhs < rhs,
            ">" => lhs > rhs,
            _ => {
                let parse = |s: &str| s.trim().parse::<i64>().ok();
                let (Some(a), Some(b)) = (parse(lhs), parse(rhs)) else {
                    let bad = if parse(lhs).is_none() { lhs } else { rhs };
                    self.error.get_or_insert_with(|| format!("{bad}: bad number"));
                    return false;
                };
                match op {
                    "-eq" => a == b,
                    "-ne" => a != b,
                    "-lt" => a < b,
                    "-le" => a <= b,
                    "-gt" => a > b,
                    _ => a >= b,
                }
            }
        }
    }
}

fn is_binary_test(op: &str) -> bool {
    matches!(op, "=" | "==" | "!=" | "<" | ">" | "-eq" | "-ne" | "-lt" | "-le" | "-gt" | "-ge")
}

fn is_unary_test(op: &str) -> bool {
    matches!(op, "-n" | "-z" | "-e" | "-f" | "-d" | "-s" | "-r" | "-w" | "-x" | "-L" | "-h" | "-t" | "-p" | "-S" | "-b" | "-c")
}

/// Answers a `test` file operator against the container's filesystem.
fn file_test(call: &Call, op: &str, operand: &str) -> bool {
    if operand.is_empty() {
        return false;
    }
    let path = call.path(operand);
    let entry = call.fs().stat(&path);
    match op {
        "-e" | "-r" => entry.is_ok(),
        "-w" => entry.is_ok() && !call.fs().locate(&path).read_only,
        "-f" => entry.is_ok_and(|e| !e.is_dir),
        "-d" | "-x" => entry.is_ok_and(|e| e.is_dir),
        "-s" => entry.is_ok_and(|e| e.size > 0),
        "-c" => is_dev_null(&path),
        _ => false,
    }
}

/// `date [-uRI] [+FORMAT]`: the cluster's time (plus what `sleep` let pass), in UTC.
pub(super) fn date(args: &[String], call: &Call) -> ExecOutput {
    let mut format = "%a %b %e %H:%M:%S %Z %Y";
    for arg in args {
        if let Some(f) = arg.strip_prefix('+') {
            format = f;
        } else if arg == "-u" || arg == "--utc" {
        } else if arg == "-R" {
            format = "%a, %d %b %Y %H:%M:%S %z";
        } else if arg == "-I" || arg == "--iso-8601" {
            format = "%F";
        } else if arg.starts_with('-') {
            return ExecOutput::fail(1, &format!("date: invalid option -- '{}'\n", arg.chars().nth(1).unwrap_or('-')));
        } else {
            return ExecOutput::fail(1, "date: can't set date: Operation not permitted\n");
        }
    }
    let now = call.now().to_zoned(TimeZone::UTC);
    match strtime::format(format, &now) {
        Ok(text) => ExecOutput::with_stdout(format!("{text}\n")),
        Err(_) => ExecOutput::fail(1, &format!("date: invalid format '{format}'\n")),
    }
}

/// `pwd`
pub(super) fn pwd(_args: &[String], call: &Call) -> ExecOutput {
    ExecOutput::with_stdout(format!("{}\n", fs::normalize(call.ctx.cwd)))
}

/// `true`
pub(super) fn true_(_args: &[String], _call: &Call) -> ExecOutput {
    ExecOutput::default()
}

/// `false`
pub(super) fn false_(_args: &[String], _call: &Call) -> ExecOutput {
    ExecOutput::fail(1, "")
}
