//! The commands the shell runs itself because they change its state: `:`, `cd`, `pwd`,
//! `export`, `exit`, `break`, `continue`, `set -e` and `read`.

use super::{LoopControl, Shell, Var};
use crate::sim::fs;
use crate::sim::shell::{ExecOutput, is_name};

impl Shell<'_, '_> {
    /// Runs a shell builtin, or returns `None` if `argv` is not one.
    pub(super) fn builtin(&mut self, argv: &[String]) -> Option<ExecOutput> {
        let (name, args) = argv.split_first()?;
        let out = match name.as_str() {
            ":" => ExecOutput::default(),
            "cd" => self.cd(args),
            "pwd" => ExecOutput::with_stdout(format!("{}\n", self.cwd)),
            "export" => self.export(args),
            "exit" => {
                let code = match args.first() {
                    None => self.status,
                    Some(arg) => match arg.parse::<i64>() {
                        Ok(n) => i32::try_from(n.rem_euclid(256)).unwrap_or(0),
                        Err(_) => {
                            self.exit = Some(2);
                            return Some(ExecOutput::fail(2, &format!("sh: exit: Illegal number: {arg}\n")));
                        }
                    },
                };
                self.exit = Some(code);
                ExecOutput { exit_code: code, ..ExecOutput::default() }
            }
            "break" | "continue" => {
                if self.loops == 0 {
                    return Some(ExecOutput::default());
                }
                let n = args.first().and_then(|a| a.parse::<u32>().ok()).filter(|n| *n > 0).unwrap_or(1);
                self.loop_control = Some(if name == "break" { LoopControl::Break(n) } else { LoopControl::Continue(n) });
                ExecOutput::default()
            }
            "set" => self.set(args),
            "read" => self.read(args),
            _ => return None,
        };
        Some(out)
    }

    fn cd(&mut self, args: &[String]) -> ExecOutput {
        let target = match args.first().map(String::as_str) {
            None => self.var("HOME").unwrap_or("/root").to_string(),
            Some("-") => self.var("OLDPWD").unwrap_or(&self.cwd).to_string(),
            Some(dir) => dir.to_string(),
        };
        let path = fs::resolve(&self.cwd, &target);
        match self.ctx.fs.stat(&path) {
            Ok(entry) if entry.is_dir && !target.is_empty() => {
                let old = std::mem::replace(&mut self.cwd, path.clone());
                self.set_var("OLDPWD", old);
                self.set_var("PWD", path.clone());
                if args.first().is_some_and(|a| a == "-") { ExecOutput::with_stdout(format!("{path}\n")) } else { ExecOutput::default() }
            }
            Ok(_) => ExecOutput::fail(2, &format!("sh: cd: can't cd to {target}: Not a directory\n")),
            Err(err) => ExecOutput::fail(2, &format!("sh: cd: can't cd to {target}: {err}\n")),
        }
    }

    /// `export [NAME[=VALUE]]...`; with no names, lists the exported variables.
    fn export(&mut self, args: &[String]) -> ExecOutput {
        let mut out = ExecOutput::default();
        if args.is_empty() {
            for var in self.vars.iter().filter(|v| v.exported) {
                out.out(&format!("export {}='{}'\n", var.name, var.value));
            }
        }
        for arg in args {
            let (name, value) = match arg.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (arg.as_str(), None),
            };
            if !is_name(name) {
                out.err(&format!("sh: export: {arg}: bad variable name\n"));
                out.exit_code = 1;
                continue;
            }
            if let Some(value) = value {
                self.set_var(name, value);
            }
            match self.vars.iter_mut().find(|v| v.name == name) {
                Some(var) => var.exported = true,
                None => self.vars.push(Var { name: name.to_string(), value: String::new(), exported: true }),
            }
        }
        out
    }

    /// `set -e` / `set +e`; the shell has no other options.
    fn set(&mut self, args: &[String]) -> ExecOutput {
        for arg in args {
            match arg.as_str() {
                "-e" => self.errexit = true,
                "+e" => self.errexit = false,
                other => return ExecOutput::fail(2, &format!("sh: set: {other}: invalid option (only -e and +e are supported)\n")),
            }
        }
        ExecOutput::default()
    }

    /// `read [NAME]...`: one line of standard input, split into the names (`REPLY` by
    /// default); fails at the end of input.
    fn read(&mut self, args: &[String]) -> ExecOutput {
        let names: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
        let rest = self.stdin.get(self.stdin_pos..).unwrap_or_default();
        if rest.is_empty() {
            for name in &names {
                self.set_var(name, String::new());
            }
            return ExecOutput::fail(1, "");
        }
        let (line, consumed, complete) = match rest.iter().position(|b| *b == b'\n') {
            Some(i) => (rest.get(..i).unwrap_or_default(), i + 1, true),
            None => (rest, rest.len(), false),
        };
        let line = String::from_utf8_lossy(line).into_owned();
        self.stdin_pos += consumed;
        let names: Vec<String> = if names.is_empty() { vec!["REPLY".to_string()] } else { names.into_iter().cloned().collect() };
        let mut fields = line.split_whitespace();
        let count = names.len();
        for (i, name) in names.iter().enumerate() {
            let value = if i + 1 == count { fields.by_ref().collect::<Vec<_>>().join(" ") } else { fields.next().unwrap_or_default().to_string() };
            self.set_var(name, value);
        }
        ExecOutput { exit_code: i32::from(!complete), ..ExecOutput::default() }
    }
}
