//! The commands `kubectl exec` runs inside a simulated container.
//!
//! [`run`] takes the argv a client sent and executes it against the container's
//! [`MountTable`], its environment and the cluster's DNS and HTTP, printing what busybox
//! (or coreutils, for `getent` and `curl`) would print, so students can compare the
//! output with a real cluster. The README lists the supported commands; they are
//! registered in one table in [`commands`]. `sh -c` runs a small POSIX-shell interpreter
//! ([`lexer`] → [`parser`] → [`interp`]).
//!
//! Nothing here sleeps, blocks or panics on user input: every exec has a [`Budget`] of
//! CPU work and output, counted inside the interpreter and the pattern matchers, and
//! time comes from the cluster's clock ([`ShellContext::now`]), never the system's.

mod budget;
mod commands;
mod interp;
mod lexer;
mod parser;
mod pattern;
#[cfg(test)]
mod tests;

use std::net::Ipv4Addr;

use jiff::Timestamp;

use super::fs::{self, FsError, MountTable};
use budget::Budget;

/// What a command printed and how it exited.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOutput {
    /// Bytes written to standard output.
    pub stdout: Vec<u8>,
    /// Bytes written to standard error.
    pub stderr: Vec<u8>,
    /// The exit status (127: command not found).
    pub exit_code: i32,
}

impl ExecOutput {
    /// Standard output as text (lossy UTF-8).
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Standard error as text (lossy UTF-8).
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    fn out(&mut self, text: &str) {
        self.stdout.extend_from_slice(text.as_bytes());
    }

    fn err(&mut self, text: &str) {
        self.stderr.extend_from_slice(text.as_bytes());
    }

    fn fail(code: i32, stderr: &str) -> Self {
        ExecOutput { stdout: Vec::new(), stderr: stderr.as_bytes().to_vec(), exit_code: code }
    }

    fn with_stdout(stdout: impl Into<Vec<u8>>) -> Self {
        ExecOutput { stdout: stdout.into(), stderr: Vec::new(), exit_code: 0 }
    }

    fn append(&mut self, other: ExecOutput) {
        self.stdout.extend_from_slice(&other.stdout);
        self.stderr.extend_from_slice(&other.stderr);
        self.exit_code = other.exit_code;
    }
}

/// Cluster DNS as seen from the pod.
pub trait Resolver {
    /// The IPv4 addresses `name` resolves to, trying the pod's DNS `search` domains
    /// (e.g. `default.svc.cluster.local`) as the caller sees fit. Empty if unknown.
    fn lookup(&self, name: &str, search: &[String]) -> Vec<Ipv4Addr>;
    /// The fully qualified name that answered for `name`, e.g.
    /// `web-0.web.default.svc.cluster.local` for `web-0.web`; `None` if unknown.
    fn fqdn(&self, name: &str, search: &[String]) -> Option<String>;
    /// The cluster DNS server's address, e.g. `10.96.0.10`.
    fn nameserver(&self) -> Ipv4Addr;
}

/// HTTP from the pod to other pods and services.
pub trait HttpClient {
    /// `GET path` from `host:port` (`host` as written in the URL, unresolved). Returns
    /// the status code and body, or the connection error text such as
    /// `Connection refused`.
    fn get(&self, host: &str, port: u16, path: &str) -> Result<(u16, Vec<u8>), String>;
}

/// Everything a command can see of its container.
#[derive(Clone, Copy)]
pub struct ShellContext<'a> {
    /// The container's filesystems.
    pub fs: &'a MountTable,
    /// The working directory (absolute).
    pub cwd: &'a str,
    /// The pod's hostname.
    pub hostname: &'a str,
    /// The container's environment, in order.
    pub env: &'a [(String, String)],
    /// Cluster DNS.
    pub resolver: &'a dyn Resolver,
    /// HTTP to other pods.
    pub http: &'a dyn HttpClient,
    /// The pod's DNS search domains.
    pub search: &'a [String],
    /// The cluster's time when the exec started (`date` adds what `sleep` let pass).
    pub now: Timestamp,
}

/// Longest string an expansion or variable may hold.
const MAX_STRING: usize = 1 << 20;
/// Deepest nesting of shells and command substitutions.
const MAX_DEPTH: usize = 16;
/// Deepest syntactic nesting the parsers accept.
const MAX_NESTING: usize = 32;
/// Deepest nesting of executing shell constructs, across nested shells; keeps the
/// interpreter's recursion well inside a 2 MiB thread stack.
const MAX_EXEC_DEPTH: usize = 48;

/// Runs `argv` in the container, as `kubectl exec POD -- argv...` does, with empty
/// standard input.
pub fn run(argv: &[String], ctx: &ShellContext) -> ExecOutput {
    run_with_stdin(argv, &[], ctx)
}

/// Runs `argv` in the container with `stdin` as standard input (`kubectl exec -i`).
pub fn run_with_stdin(argv: &[String], stdin: &[u8], ctx: &ShellContext) -> ExecOutput {
    let budget = Budget::default();
    let call = Call { ctx, stdin, depth: 0, budget: &budget };
    let name = argv.first().map(String::as_str).unwrap_or_default();
    let mut out = match commands::exec_argv(argv, &call) {
        Ok(output) => output,
        Err(missing) => {
            let reason = match missing {
                commands::Missing::NotFound if name.contains('/') => {
                    format!("exec: \"{name}\": stat {name}: no such file or directory")
                }
                commands::Missing::NotFound => format!("exec: \"{name}\": executable file not found in $PATH"),
                commands::Missing::NotExecutable => format!("exec: \"{name}\": permission denied"),
            };
            let code = if missing == commands::Missing::NotExecutable { 126 } else { 127 };
            ExecOutput::fail(code, &format!("OCI runtime exec failed: exec failed: unable to start container process: {reason}: unknown\n"))
        }
    };
    // The budget notes an overrun; `settle` reports it.
    let _ = budget.output(out.stdout.len().saturating_add(out.stderr.len()));
    budget.settle(fs::file_name(name), &mut out);
    out
}

/// One command invocation: its context, standard input and nesting depth.
struct Call<'c, 'a> {
    ctx: &'c ShellContext<'a>,
    stdin: &'c [u8],
    depth: usize,
    budget: &'c Budget,
}

impl Call<'_, '_> {
    fn fs(&self) -> &MountTable {
        self.ctx.fs
    }

    fn path(&self, arg: &str) -> String {
        fs::resolve(self.ctx.cwd, arg)
    }

    fn env(&self, name: &str) -> Option<&str> {
        self.ctx.env.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The container's clock: the cluster's time at the start plus what `sleep` let pass.
    fn now(&self) -> Timestamp {
        self.ctx.now.checked_add(self.budget.slept()).unwrap_or(self.ctx.now)
    }

    /// Reads a file as a command would, with `/dev/null` always empty.
    fn read(&self, arg: &str) -> Result<Vec<u8>, FsError> {
        if arg.is_empty() {
            return Err(FsError::NotFound);
        }
        let path = self.path(arg);
        if is_dev_null(&path) {
            return Ok(Vec::new());
        }
        self.fs().read(&path)
    }

    /// Writes a file as a command would, discarding writes to `/dev/null`.
    fn write(&self, arg: &str, data: &[u8]) -> Result<(), FsError> {
        if arg.is_empty() {
            return Err(FsError::NotFound);
        }
        let path = self.path(arg);
        if is_dev_null(&path) {
            return Ok(());
        }
        self.fs().write(&path, data.to_vec())
    }
}

fn is_dev_null(path: &str) -> bool {
    path == "/dev/null"
}

/// Whether `text` is a shell variable name.
fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_') && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
