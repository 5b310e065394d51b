//! The commands in the container's `/bin`: [`COMMANDS`] is the one table that
//! registers them, and [`exec_argv`] runs one argv against it. Commands are grouped by
//! concern: [`files`], [`text`] (and its [`regex`]), [`dns`], [`http`] and [`system`].
//! A new command is a function `fn(&[String], &Call) -> ExecOutput` and one row below.

mod dns;
mod files;
mod http;
mod regex;
mod system;
mod text;

use super::{Call, ExecOutput, fs};

/// A command's implementation: its arguments (without its own name) and the call.
type Command = fn(&[String], &Call) -> ExecOutput;

/// One command in `/bin`.
pub(super) struct Applet {
    /// Its name, e.g. `cat`.
    pub(super) name: &'static str,
    /// What it does.
    run: Command,
    /// Whether it reads standard input (in a shell, it then consumes what is left).
    pub(super) reads_stdin: bool,
}

const fn applet(name: &'static str, run: Command, reads_stdin: bool) -> Applet {
    Applet { name, run, reads_stdin }
}

/// Every command [`exec_argv`] knows, sorted by name.
pub(super) const COMMANDS: &[Applet] = &[
    applet("[", system::bracket, false),
    applet("cat", files::cat, true),
    applet("curl", http::curl, false),
    applet("date", system::date, false),
    applet("echo", text::echo, false),
    applet("env", system::env, true),
    applet("false", system::false_, false),
    applet("getent", dns::getent, false),
    applet("grep", text::grep, true),
    applet("head", text::head, true),
    applet("hostname", dns::hostname, false),
    applet("ls", files::ls, false),
    applet("mkdir", files::mkdir, false),
    applet("nslookup", dns::nslookup, false),
    applet("printenv", system::printenv, false),
    applet("pwd", system::pwd, false),
    applet("rm", files::rm, false),
    applet("sh", super::interp::sh, true),
    applet("sleep", system::sleep, false),
    applet("tail", text::tail, true),
    applet("tar", files::tar, true),
    applet("test", system::test, false),
    applet("touch", files::touch, false),
    applet("true", system::true_, false),
    applet("wc", text::wc, true),
    applet("wget", http::wget, false),
];

/// The command called `name`, if there is one.
pub(super) fn find(name: &str) -> Option<&'static Applet> {
    COMMANDS.iter().find(|a| a.name == name)
}

/// Why a command could not be started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Missing {
    /// No such command.
    NotFound,
    /// A directory, or a file that is not executable (everything a student writes).
    NotExecutable,
}

/// Directories whose commands are the built-in applets.
const BIN_DIRS: &[&str] = &["/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"];

/// Runs one argv: a command by name or by its path in a `bin` directory.
pub(super) fn exec_argv(argv: &[String], call: &Call) -> Result<ExecOutput, Missing> {
    let Some((name, args)) = argv.split_first() else {
        return Err(Missing::NotFound);
    };
    let name = if name.contains('/') {
        let path = call.path(name);
        let dir = fs::parent(&path).unwrap_or("/");
        match call.fs().stat(&path) {
            // Files written in the container are never executable (`ls -l` shows 644).
            Ok(_) => return Err(Missing::NotExecutable),
            Err(_) if BIN_DIRS.contains(&dir) => fs::file_name(name),
            Err(_) => return Err(Missing::NotFound),
        }
    } else {
        name.as_str()
    };
    // The shell charges the budget for each command it runs; so does `run` for the one it runs.
    let applet = find(name).ok_or(Missing::NotFound)?;
    Ok((applet.run)(args, call))
}

/// A short usage error in busybox's style.
fn usage(synopsis: &str) -> ExecOutput {
    ExecOutput::fail(1, &format!("BusyBox v1.36.1 (2023-05-18 22:34:17 UTC) multi-call binary.\n\nUsage: {synopsis}\n"))
}

/// Parsed command-line options.
#[derive(Debug, Default)]
struct Opts {
    flags: Vec<(char, Option<String>)>,
    operands: Vec<String>,
}

impl Opts {
    fn has(&self, flag: char) -> bool {
        self.flags.iter().any(|(f, _)| *f == flag)
    }

    fn value(&self, flag: char) -> Option<&str> {
        self.flags.iter().rev().find(|(f, _)| *f == flag).and_then(|(_, v)| v.as_deref())
    }
}

/// A long option: its name, the short flag it stands for, and whether it takes a value.
type LongOpt = (&'static str, char, bool);

/// Parses options getopt-style: clustered short flags (`-qO-`), values attached or in
/// the next argument, long options, `--`, and options after operands.
fn getopt(cmd: &str, args: &[String], flags: &str, with_value: &str, longs: &[LongOpt]) -> Result<Opts, ExecOutput> {
    let mut opts = Opts::default();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "--" {
            opts.operands.extend(iter.by_ref().cloned());
            break;
        }
        if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let Some(&(_, flag, takes)) = longs.iter().find(|(n, _, _)| *n == name) else {
                return Err(ExecOutput::fail(1, &format!("{cmd}: unrecognized option '--{name}'\n")));
            };
            let value = if takes {
                match inline.or_else(|| iter.next().cloned()) {
                    Some(v) => Some(v),
                    None => {
                        return Err(ExecOutput::fail(1, &format!("{cmd}: option '--{name}' requires an argument\n")));
                    }
                }
            } else {
                None
            };
            opts.flags.push((flag, value));
            continue;
        }
        let Some(cluster) = arg.strip_prefix('-').filter(|c| !c.is_empty()) else {
            opts.operands.push(arg.clone());
            continue;
        };
        for (i, c) in cluster.char_indices() {
            if with_value.contains(c) {
                let rest = cluster.get(i + c.len_utf8()..).unwrap_or_default();
                let value = if rest.is_empty() {
                    match iter.next() {
                        Some(v) => v.clone(),
                        None => {
                            return Err(ExecOutput::fail(1, &format!("{cmd}: option requires an argument -- '{c}'\n")));
                        }
                    }
                } else {
                    rest.to_string()
                };
                opts.flags.push((c, Some(value)));
                break;
            } else if flags.contains(c) {
                opts.flags.push((c, None));
            } else {
                return Err(ExecOutput::fail(1, &format!("{cmd}: invalid option -- '{c}'\n")));
            }
        }
    }
    Ok(opts)
}

/// The options, or returns the usage error from the command.
macro_rules! opts_or_return {
    ($e:expr) => {
        match $e {
            Ok(opts) => opts,
            Err(output) => return output,
        }
    };
}
use opts_or_return;

/// Reads each operand (or stdin for none or `-`), reporting errors as `cmd: FILE: ...`.
fn read_inputs(cmd: &str, operands: &[String], call: &Call, out: &mut ExecOutput) -> Vec<(String, Vec<u8>)> {
    if operands.is_empty() {
        return vec![("-".to_string(), call.stdin.to_vec())];
    }
    let mut inputs = Vec::new();
    for file in operands {
        if file == "-" {
            inputs.push((file.clone(), call.stdin.to_vec()));
            continue;
        }
        match call.read(file) {
            Ok(data) => inputs.push((file.clone(), data)),
            Err(err) => {
                out.err(&format!("{cmd}: {file}: {err}\n"));
                out.exit_code = 1;
            }
        }
    }
    inputs
}

/// Splits into lines, each keeping its `\n` (the last may lack one).
fn split_lines(data: &[u8]) -> Vec<&[u8]> {
    data.split_inclusive(|b| *b == b'\n').collect()
}
