//! The commands `kubectl exec` runs inside a simulated container.
//!
//! [`run`] takes the argv a client sent and executes it against the container's
//! [`MountTable`], its environment and the cluster's DNS and HTTP, printing what busybox
//! (or coreutils, for `getent` and `curl`) would print, so students can compare the
//! output with a real cluster. `sh -c` and `bash -c` run a small POSIX-shell interpreter:
//! `;`, `&&`, `||`, pipes, quoting, `$VAR`/`${VAR...}`, `$(...)`, `$((...))`, globs,
//! `>`/`>>`/`<`/`2>&1` redirections, and `if`/`for`/`while`.
//!
//! Nothing here sleeps, blocks or panics on user input: loops, recursion, output and
//! expansions are bounded, and `sleep` returns at once.

use std::cell::Cell;
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::time::{SystemTime, UNIX_EPOCH};

use super::fs::{self, Entry, FsError, MountTable};

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
        ExecOutput {
            stdout: Vec::new(),
            stderr: stderr.as_bytes().to_vec(),
            exit_code: code,
        }
    }

    fn with_stdout(stdout: impl Into<Vec<u8>>) -> Self {
        ExecOutput {
            stdout: stdout.into(),
            stderr: Vec::new(),
            exit_code: 0,
        }
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
}

/// The commands [`run`] knows, as found in a busybox image's `/bin`.
pub const COMMANDS: &[&str] = &[
    "[", "basename", "bash", "busybox", "cat", "cp", "curl", "date", "dirname", "echo", "env",
    "false", "getent", "grep", "head", "hostname", "id", "ls", "mkdir", "mount", "mv", "nslookup",
    "printenv", "printf", "pwd", "rm", "rmdir", "seq", "sh", "sleep", "tail", "tar", "tee", "test",
    "touch", "true", "uname", "wc", "wget", "which", "whoami",
];

/// Most simple commands one exec may run (loops included).
const MAX_STEPS: u64 = 20_000;
/// Most bytes of output one exec may produce in total.
const MAX_OUTPUT: u64 = 64 << 20;
/// Longest string an expansion or variable may hold.
const MAX_STRING: usize = 1 << 20;
/// Deepest nesting of shells, `eval` and command substitutions.
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
    let call = Call {
        ctx,
        stdin,
        depth: 0,
        budget: &budget,
    };
    let name = argv.first().map(String::as_str).unwrap_or_default();
    match exec_argv(argv, &call) {
        Ok(output) => output,
        Err(missing) => {
            let reason = match missing {
                Missing::NotFound if name.contains('/') => {
                    format!("exec: \"{name}\": stat {name}: no such file or directory")
                }
                Missing::NotFound => {
                    format!("exec: \"{name}\": executable file not found in $PATH")
                }
                Missing::IsDir => format!("exec: \"{name}\": permission denied"),
            };
            ExecOutput::fail(
                if missing == Missing::IsDir { 126 } else { 127 },
                &format!(
                    "OCI runtime exec failed: exec failed: unable to start container process: {reason}: unknown\n"
                ),
            )
        }
    }
}

/// Work done so far by one exec, shared by every nested shell.
#[derive(Default)]
struct Budget {
    steps: Cell<u64>,
    output: Cell<u64>,
    /// Shell constructs being executed right now, across nested shells.
    depth: Cell<usize>,
}

impl Budget {
    /// Counts one command; false once the exec has run too many.
    fn tick(&self) -> bool {
        let steps = self.steps.get().saturating_add(1);
        self.steps.set(steps);
        steps <= MAX_STEPS
    }

    /// Counts output bytes; false once the exec has produced too much.
    fn spend(&self, bytes: usize) -> bool {
        let total = self.output.get().saturating_add(bytes as u64);
        self.output.set(total);
        total <= MAX_OUTPUT
    }

    fn exhausted(&self) -> bool {
        self.steps.get() > MAX_STEPS || self.output.get() > MAX_OUTPUT
    }
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
        self.ctx
            .env
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
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
    fn write(&self, arg: &str, data: &[u8], append: bool) -> Result<(), FsError> {
        if arg.is_empty() {
            return Err(FsError::NotFound);
        }
        let path = self.path(arg);
        if is_dev_null(&path) {
            return Ok(());
        }
        if append {
            self.fs().append(&path, data)
        } else {
            self.fs().write(&path, data.to_vec())
        }
    }
}

fn is_dev_null(path: &str) -> bool {
    path == "/dev/null"
}

/// Why a command could not be started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Missing {
    NotFound,
    IsDir,
}

/// Directories whose commands are the built-in applets.
const BIN_DIRS: &[&str] = &[
    "/bin",
    "/sbin",
    "/usr/bin",
    "/usr/sbin",
    "/usr/local/bin",
    "/usr/local/sbin",
];

fn is_command(name: &str) -> bool {
    COMMANDS.contains(&name)
}

/// Commands that read standard input when given no files.
fn reads_stdin(name: &str) -> bool {
    matches!(
        name,
        "cat" | "head" | "tail" | "wc" | "grep" | "tee" | "sh" | "bash"
    )
}

/// Runs one command line: an applet, an applet by path, or a script file.
fn exec_argv(argv: &[String], call: &Call) -> Result<ExecOutput, Missing> {
    let Some((name, args)) = argv.split_first() else {
        return Err(Missing::NotFound);
    };
    if !call.budget.tick() {
        return Ok(ExecOutput::fail(1, "sh: too many commands\n"));
    }
    let applet = if name.contains('/') {
        let path = call.path(name);
        let dir = fs::parent(&path).unwrap_or("/");
        let base = fs::file_name(&path);
        if BIN_DIRS.contains(&dir) && is_command(base) && !call.fs().exists(&path) {
            base.to_string()
        } else {
            return match call.fs().stat(&path) {
                Ok(entry) if entry.is_dir => Err(Missing::IsDir),
                Ok(_) => Ok(run_script_file(&path, name, args, call)),
                Err(_) => Err(Missing::NotFound),
            };
        }
    } else {
        name.clone()
    };
    let output = match applet.as_str() {
        "[" => test_with(args, true, &|op, operand| file_test(call, op, operand)),
        "basename" => cmd_basename(args),
        "bash" => cmd_sh(args, call, "bash"),
        "busybox" => match args.first() {
            Some(_) => return exec_argv(args, call),
            None => ExecOutput::with_stdout(
                "BusyBox v1.36.1 (2023-05-18 22:34:17 UTC) multi-call binary.\n",
            ),
        },
        "cat" => cmd_cat(args, call),
        "cp" => cmd_cp(args, call, false),
        "curl" => cmd_curl(args, call),
        "date" => cmd_date(args),
        "dirname" => cmd_dirname(args),
        "echo" => cmd_echo(args),
        "env" => cmd_env(args, call),
        "false" => ExecOutput::fail(1, ""),
        "getent" => cmd_getent(args, call),
        "grep" => cmd_grep(args, call),
        "head" => cmd_head_tail(args, call, false),
        "hostname" => cmd_hostname(args, call),
        "id" => cmd_id(args),
        "ls" => cmd_ls(args, call),
        "mkdir" => cmd_mkdir(args, call),
        "mount" => cmd_mount(call),
        "mv" => cmd_cp(args, call, true),
        "nslookup" => cmd_nslookup(args, call),
        "printenv" => cmd_printenv(args, call),
        "printf" => cmd_printf(args),
        "pwd" => ExecOutput::with_stdout(format!("{}\n", fs::normalize(call.ctx.cwd))),
        "rm" => cmd_rm(args, call),
        "rmdir" => cmd_rmdir(args, call),
        "seq" => cmd_seq(args),
        "sh" => cmd_sh(args, call, "sh"),
        "sleep" => cmd_sleep(args),
        "tail" => cmd_head_tail(args, call, true),
        "tar" => super::tar::run(args, call.fs(), call.ctx.cwd, call.stdin),
        "tee" => cmd_tee(args, call),
        "test" => test_with(args, false, &|op, operand| file_test(call, op, operand)),
        "touch" => cmd_touch(args, call),
        "true" => ExecOutput::default(),
        "uname" => cmd_uname(args, call),
        "wc" => cmd_wc(args, call),
        "wget" => cmd_wget(args, call),
        "which" => cmd_which(args),
        "whoami" => ExecOutput::with_stdout("root\n"),
        _ => return Err(Missing::NotFound),
    };
    call.budget
        .spend(output.stdout.len().saturating_add(output.stderr.len()));
    Ok(output)
}

/// A short usage error in busybox's style.
fn usage(synopsis: &str) -> ExecOutput {
    ExecOutput::fail(
        1,
        &format!(
            "BusyBox v1.36.1 (2023-05-18 22:34:17 UTC) multi-call binary.\n\nUsage: {synopsis}\n"
        ),
    )
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
        self.flags
            .iter()
            .rev()
            .find(|(f, _)| *f == flag)
            .and_then(|(_, v)| v.as_deref())
    }
}

/// A long option: its name, the short flag it stands for, and whether it takes a value.
type LongOpt = (&'static str, char, bool);

/// Parses options getopt-style: clustered short flags (`-qO-`), values attached or in
/// the next argument, long options, `--`, and options after operands.
fn getopt(
    cmd: &str,
    args: &[String],
    flags: &str,
    with_value: &str,
    longs: &[LongOpt],
) -> Result<Opts, ExecOutput> {
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
                return Err(ExecOutput::fail(
                    1,
                    &format!("{cmd}: unrecognized option '--{name}'\n"),
                ));
            };
            let value = if takes {
                match inline.or_else(|| iter.next().cloned()) {
                    Some(v) => Some(v),
                    None => {
                        return Err(ExecOutput::fail(
                            1,
                            &format!("{cmd}: option '--{name}' requires an argument\n"),
                        ));
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
                            return Err(ExecOutput::fail(
                                1,
                                &format!("{cmd}: option requires an argument -- '{c}'\n"),
                            ));
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
                return Err(ExecOutput::fail(
                    1,
                    &format!("{cmd}: invalid option -- '{c}'\n"),
                ));
            }
        }
    }
    Ok(opts)
}

macro_rules! opts_or_return {
    ($e:expr) => {
        match $e {
            Ok(opts) => opts,
            Err(output) => return output,
        }
    };
}

// ---------------------------------------------------------------------------------------
// File commands
// ---------------------------------------------------------------------------------------

fn cmd_cat(args: &[String], call: &Call) -> ExecOutput {
    let opts = opts_or_return!(getopt("cat", args, "unbveEtA", "", &[]));
    let number = opts.has('n') || opts.has('b');
    let mut out = ExecOutput::default();
    let mut data = Vec::new();
    let files = if opts.operands.is_empty() {
        vec!["-".to_string()]
    } else {
        opts.operands.clone()
    };
    for file in &files {
        if file == "-" {
            data.extend_from_slice(call.stdin);
            continue;
        }
        match call.read(file) {
            Ok(content) => data.extend_from_slice(&content),
            Err(FsError::IsADirectory) => {
                out.err("cat: read error: Is a directory\n");
                out.exit_code = 1;
            }
            Err(err) => {
                out.err(&format!("cat: can't open '{file}': {err}\n"));
                out.exit_code = 1;
            }
        }
    }
    if number {
        let skip_blank = opts.has('b');
        let mut numbered = Vec::with_capacity(data.len());
        let mut n = 0u64;
        for line in split_lines(&data) {
            if skip_blank && (line.is_empty() || line == b"\n") {
                numbered.extend_from_slice(line);
                continue;
            }
            n += 1;
            numbered.extend_from_slice(format!("{n:>6}\t").as_bytes());
            numbered.extend_from_slice(line);
        }
        data = numbered;
    }
    out.stdout = data;
    out
}

/// Splits into lines, each keeping its `\n` (the last may lack one).
fn split_lines(data: &[u8]) -> Vec<&[u8]> {
    data.split_inclusive(|b| *b == b'\n').collect()
}

fn cmd_ls(args: &[String], call: &Call) -> ExecOutput {
    let opts = opts_or_return!(getopt(
        "ls",
        args,
        "aAl1dhrFpC",
        "",
        &[("all", 'a', false), ("almost-all", 'A', false)]
    ));
    let long = opts.has('l');
    let human = opts.has('h');
    let all = opts.has('a');
    let almost = opts.has('A') || all;
    let dir_itself = opts.has('d');
    let reverse = opts.has('r');
    let classify = opts.has('F') || opts.has('p');
    let mut out = ExecOutput::default();
    let operands = if opts.operands.is_empty() {
        vec![".".to_string()]
    } else {
        opts.operands.clone()
    };
    let mut files: Vec<(String, Entry)> = Vec::new();
    let mut dirs: Vec<(String, Entry)> = Vec::new();
    for operand in &operands {
        let stat = if operand.is_empty() {
            Err(FsError::NotFound)
        } else {
            call.fs().stat(&call.path(operand))
        };
        match stat {
            Ok(entry) if entry.is_dir && !dir_itself => dirs.push((operand.clone(), entry)),
            Ok(entry) => files.push((operand.clone(), entry)),
            Err(err) => {
                out.err(&format!("ls: {operand}: {err}\n"));
                out.exit_code = 1;
            }
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    dirs.sort_by(|a, b| a.0.cmp(&b.0));
    if reverse {
        files.reverse();
        dirs.reverse();
    }
    let line = |name: &str, entry: &Entry| -> String {
        let suffix = if classify && entry.is_dir { "/" } else { "" };
        if long {
            long_line(entry, &format!("{name}{suffix}"), human)
        } else {
            format!("{name}{suffix}\n")
        }
    };
    let mut text = String::new();
    for (name, entry) in &files {
        text.push_str(&line(name, entry));
    }
    let headers = operands.len() > 1;
    for (i, (name, _)) in dirs.iter().enumerate() {
        if i > 0 || !files.is_empty() {
            text.push('\n');
        }
        if headers {
            text.push_str(&format!("{name}:\n"));
        }
        let path = call.path(name);
        let mut entries = match call.fs().list(&path) {
            Ok(entries) => entries,
            Err(err) => {
                out.err(&format!("ls: {name}: {err}\n"));
                out.exit_code = 1;
                continue;
            }
        };
        entries.retain(|e| almost || !e.name.starts_with('.'));
        if all {
            let here = call.fs().stat(&path);
            let up = call.fs().stat(fs::parent(&path).unwrap_or("/"));
            let mut dots = Vec::new();
            if let Ok(mut e) = here {
                e.name = ".".to_string();
                dots.push(e);
            }
            if let Ok(mut e) = up {
                e.name = "..".to_string();
                dots.push(e);
            }
            dots.extend(entries);
            entries = dots;
        }
        if reverse {
            entries.reverse();
        }
        if long {
            let blocks: u64 = entries.iter().map(|e| e.size.div_ceil(4096) * 4).sum();
            text.push_str(&format!("total {blocks}\n"));
        }
        for entry in &entries {
            text.push_str(&line(&entry.name, entry));
        }
    }
    out.out(&text);
    out
}

/// One `ls -l` line, busybox layout.
fn long_line(entry: &Entry, name: &str, human: bool) -> String {
    let mode = if entry.is_dir {
        "drwxr-xr-x"
    } else {
        "-rw-r--r--"
    };
    let links = if entry.is_dir { 2 } else { 1 };
    let size = if human {
        human_size(entry.size)
    } else {
        entry.size.to_string()
    };
    let time = Civil::from_system(entry.modified);
    format!(
        "{mode} {links:>4} {:<8} {:<8} {size:>9} {} {:>2} {:02}:{:02} {name}\n",
        "root",
        "root",
        pick(&MONTHS, time.month_index()),
        time.day,
        time.hour,
        time.minute
    )
}

fn human_size(size: u64) -> String {
    if size < 1024 {
        return size.to_string();
    }
    let mut value = size as f64;
    for unit in ["K", "M", "G", "T"] {
        value /= 1024.0;
        if value < 1024.0 {
            return format!("{value:.1}{unit}");
        }
    }
    format!("{value:.1}P")
}

fn cmd_touch(args: &[String], call: &Call) -> ExecOutput {
    let opts = opts_or_return!(getopt("touch", args, "cam", "dtr", &[]));
    if opts.operands.is_empty() {
        return usage("touch [-c] [-d DATE] [-t DATE] [-r FILE] FILE...");
    }
    let mut out = ExecOutput::default();
    for file in &opts.operands {
        let path = call.path(file);
        if opts.has('c') && !call.fs().exists(&path) {
            continue;
        }
        let result = if file.is_empty() {
            Err(FsError::NotFound)
        } else if is_dev_null(&path) {
            Ok(())
        } else {
            call.fs().touch(&path)
        };
        if let Err(err) = result {
            out.err(&format!("touch: {file}: {err}\n"));
            out.exit_code = 1;
        }
    }
    out
}

fn cmd_rm(args: &[String], call: &Call) -> ExecOutput {
    let opts = opts_or_return!(getopt(
        "rm",
        args,
        "frRiv",
        "",
        &[
            ("force", 'f', false),
            ("recursive", 'r', false),
            ("verbose", 'v', false),
        ]
    ));
    let force = opts.has('f');
    let recursive = opts.has('r') || opts.has('R');
    if opts.operands.is_empty() {
        return if force {
            ExecOutput::default()
        } else {
            usage("rm [-irf] FILE...")
        };
    }
    let mut out = ExecOutput::default();
    for file in &opts.operands {
        let path = call.path(file);
        let base = file
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default();
        if base == "." || base == ".." {
            out.err("rm: can't remove '.' or '..'\n");
            out.exit_code = 1;
            continue;
        }
        if path == "/" && recursive {
            out.err("rm: it is dangerous to operate recursively on '/'\nrm: use --no-preserve-root to override this failsafe\n");
            out.exit_code = 1;
            continue;
        }
        let entry = match call.fs().stat(&path) {
            Ok(entry) if !file.is_empty() => entry,
            Ok(_) | Err(_) if force => continue,
            Ok(_) => {
                out.err(&format!(
                    "rm: can't remove '{file}': No such file or directory\n"
                ));
                out.exit_code = 1;
                continue;
            }
            Err(err) => {
                out.err(&format!("rm: can't remove '{file}': {err}\n"));
                out.exit_code = 1;
                continue;
            }
        };
        let result = if entry.is_dir {
            if !recursive {
                out.err(&format!("rm: '{file}' is a directory\n"));
                out.exit_code = 1;
                continue;
            }
            call.fs().remove_all(&path)
        } else {
            call.fs().remove_file(&path)
        };
        match result {
            Ok(()) => {
                if opts.has('v') {
                    out.out(&format!("removed '{file}'\n"));
                }
            }
            Err(err) => {
                out.err(&format!("rm: can't remove '{file}': {err}\n"));
                out.exit_code = 1;
            }
        }
    }
    out
}

fn cmd_mkdir(args: &[String], call: &Call) -> ExecOutput {
    let opts = opts_or_return!(getopt(
        "mkdir",
        args,
        "pv",
        "m",
        &[("parents", 'p', false), ("mode", 'm', true)]
    ));
    if opts.operands.is_empty() {
        return usage("mkdir [-m MODE] [-p] DIRECTORY...");
    }
    let mut out = ExecOutput::default();
    for dir in &opts.operands {
        let path = call.path(dir);
        let result = if dir.is_empty() {
            Err(FsError::NotFound)
        } else if opts.has('p') {
            match call.fs().stat(&path) {
                Ok(entry) if !entry.is_dir => {
                    out.err(&format!("mkdir: '{dir}' exists but is not a directory\n"));
                    out.exit_code = 1;
                    continue;
                }
                _ => call.fs().create_dir_all(&path),
            }
        } else {
            call.fs().create_dir(&path)
        };
        if let Err(err) = result {
            out.err(&format!("mkdir: can't create directory '{dir}': {err}\n"));
            out.exit_code = 1;
        }
    }
    out
}

fn cmd_rmdir(args: &[String], call: &Call) -> ExecOutput {
    let opts = opts_or_return!(getopt("rmdir", args, "pv", "", &[]));
    if opts.operands.is_empty() {
        return usage("rmdir [-p] DIRECTORY...");
    }
    let mut out = ExecOutput::default();
    for dir in &opts.operands {
        if let Err(err) = call.fs().remove_dir(&call.path(dir)) {
            out.err(&format!("rmdir: '{dir}': {err}\n"));
            out.exit_code = 1;
        }
    }
    out
}

/// `cp` (or `mv` when `moving`): files, and directories with `-r` (always for `mv`).
fn cmd_cp(args: &[String], call: &Call, moving: bool) -> ExecOutput {
    let cmd = if moving { "mv" } else { "cp" };
    let opts = opts_or_return!(getopt(
        cmd,
        args,
        "rRafpvinT",
        "",
        &[("recursive", 'r', false), ("force", 'f', false)]
    ));
    let recursive = moving || opts.has('r') || opts.has('R') || opts.has('a');
    let Some((dest, sources)) = opts.operands.split_last() else {
        return usage(if moving {
            "mv [-fin] SOURCE DEST"
        } else {
            "cp [-arRfp] SOURCE... DEST"
        });
    };
    if sources.is_empty() {
        return usage(if moving {
            "mv [-fin] SOURCE DEST"
        } else {
            "cp [-arRfp] SOURCE... DEST"
        });
    }
    let dest_path = call.path(dest);
    let dest_is_dir = call.fs().is_dir(&dest_path);
    let mut out = ExecOutput::default();
    if sources.len() > 1 && !dest_is_dir {
        return ExecOutput::fail(1, &format!("{cmd}: '{dest}' is not a directory\n"));
    }
    for source in sources {
        let src_path = call.path(source);
        let entry = match call.fs().stat(&src_path) {
            Ok(entry) if !source.is_empty() => entry,
            _ => {
                let verb = if moving { "can't rename" } else { "can't stat" };
                out.err(&format!(
                    "{cmd}: {verb} '{source}': No such file or directory\n"
                ));
                out.exit_code = 1;
                continue;
            }
        };
        let target = if dest_is_dir {
            fs::join(&dest_path, fs::file_name(&src_path))
        } else {
            dest_path.clone()
        };
        if target == src_path {
            out.err(&format!(
                "{cmd}: '{source}' and '{}' are the same file\n",
                if dest_is_dir { &target } else { dest }
            ));
            out.exit_code = 1;
            continue;
        }
        if entry.is_dir && !recursive {
            out.err(&format!("cp: omitting directory '{source}'\n"));
            out.exit_code = 1;
            continue;
        }
        if entry.is_dir && (target.starts_with(&format!("{src_path}/")) || src_path == "/") {
            out.err(&format!(
                "{cmd}: can't {} '{source}': Invalid argument\n",
                if moving { "rename" } else { "copy" }
            ));
            out.exit_code = 1;
            continue;
        }
        let result = copy_tree(call.fs(), &src_path, &target).and_then(|()| {
            if moving {
                call.fs().remove_all(&src_path)
            } else {
                Ok(())
            }
        });
        if let Err((path, err)) = result.map_err(|e| (target.clone(), e)) {
            if moving {
                out.err(&format!("mv: can't rename '{source}': {err}\n"));
            } else {
                out.err(&format!("cp: can't create '{path}': {err}\n"));
            }
            out.exit_code = 1;
        }
    }
    out
}

/// Copies a file or directory tree, without recursion on the call stack.
fn copy_tree(table: &MountTable, from: &str, to: &str) -> Result<(), FsError> {
    let mut stack = vec![(from.to_string(), to.to_string())];
    while let Some((src, dst)) = stack.pop() {
        let entry = table.stat(&src)?;
        if entry.is_dir {
            table.create_dir_all(&dst)?;
            for child in table.list(&src)? {
                stack.push((fs::join(&src, &child.name), fs::join(&dst, &child.name)));
            }
        } else {
            let data = table.read(&src)?;
            table.write(&dst, data)?;
        }
    }
    Ok(())
}

/// Reads each operand (or stdin for none or `-`), reporting errors as `cmd: FILE: ...`.
fn read_inputs(
    cmd: &str,
    operands: &[String],
    call: &Call,
    out: &mut ExecOutput,
) -> Vec<(String, Vec<u8>)> {
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

/// `head` or `tail` (`-n N`, `-n +N` for tail, `-c N`, `-N`).
fn cmd_head_tail(args: &[String], call: &Call, tail: bool) -> ExecOutput {
    let cmd = if tail { "tail" } else { "head" };
    let args: Vec<String> = args
        .iter()
        .map(|a| match a.strip_prefix('-') {
            Some(n) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                format!("-n{n}")
            }
            _ => a.clone(),
        })
        .collect();
    let opts = opts_or_return!(getopt(
        cmd,
        &args,
        "fFqvs",
        "nc",
        &[("lines", 'n', true), ("bytes", 'c', true)]
    ));
    let (count_text, bytes) = match (opts.value('n'), opts.value('c')) {
        (_, Some(c)) => (c.to_string(), true),
        (Some(n), None) => (n.to_string(), false),
        (None, None) => ("10".to_string(), false),
    };
    let from_start = tail && count_text.starts_with('+');
    let digits = count_text.trim_start_matches(['+', '-']);
    let Ok(count) = digits.parse::<usize>() else {
        return ExecOutput::fail(1, &format!("{cmd}: invalid number '{count_text}'\n"));
    };
    let mut out = ExecOutput::default();
    let inputs = read_inputs(cmd, &opts.operands, call, &mut out);
    let headers = (inputs.len() > 1 && !opts.has('q')) || opts.has('v');
    for (i, (name, data)) in inputs.iter().enumerate() {
        if headers {
            let name = if name == "-" { "standard input" } else { name };
            out.out(&format!(
                "{}==> {name} <==\n",
                if i > 0 { "\n" } else { "" }
            ));
        }
        let slice: Vec<u8> = if bytes {
            let len = data.len();
            let range = match (tail, from_start) {
                (false, _) => 0..count.min(len),
                (true, true) => count.saturating_sub(1).min(len)..len,
                (true, false) => len.saturating_sub(count)..len,
            };
            data.get(range).unwrap_or_default().to_vec()
        } else {
            let lines = split_lines(data);
            let len = lines.len();
            let range = match (tail, from_start) {
                (false, _) => 0..count.min(len),
                (true, true) => count.saturating_sub(1).min(len)..len,
                (true, false) => len.saturating_sub(count)..len,
            };
            lines.get(range).unwrap_or_default().concat()
        };
        out.stdout.extend_from_slice(&slice);
    }
    out
}

fn cmd_wc(args: &[String], call: &Call) -> ExecOutput {
    let opts = opts_or_return!(getopt(
        "wc",
        args,
        "lwcmL",
        "",
        &[
            ("lines", 'l', false),
            ("words", 'w', false),
            ("bytes", 'c', false)
        ]
    ));
    let mut which: Vec<char> = ['l', 'w', 'c', 'm']
        .into_iter()
        .filter(|c| opts.has(*c))
        .collect();
    if which.is_empty() {
        which = vec!['l', 'w', 'c'];
    }
    let mut out = ExecOutput::default();
    let inputs = read_inputs("wc", &opts.operands, call, &mut out);
    let mut totals = vec![0usize; which.len()];
    let mut text = String::new();
    for (name, data) in &inputs {
        let counts: Vec<usize> = which
            .iter()
            .map(|c| match c {
                'l' => data.iter().filter(|b| **b == b'\n').count(),
                'w' => String::from_utf8_lossy(data).split_whitespace().count(),
                'm' => String::from_utf8_lossy(data).chars().count(),
                _ => data.len(),
            })
            .collect();
        for (t, c) in totals.iter_mut().zip(&counts) {
            *t += c;
        }
        text.push_str(&wc_line(&counts, name, opts.operands.is_empty()));
    }
    if inputs.len() > 1 {
        text.push_str(&wc_line(&totals, "total", false));
    }
    out.out(&text);
    out
}

fn wc_line(counts: &[usize], name: &str, stdin: bool) -> String {
    let mut line = String::new();
    if counts.len() == 1 {
        line.push_str(&counts.iter().map(ToString::to_string).collect::<String>());
    } else {
        let cols: Vec<String> = counts.iter().map(|c| format!("{c:>7}")).collect();
        line.push_str(&cols.join(" "));
    }
    if !stdin {
        line.push(' ');
        line.push_str(name);
    }
    line.push('\n');
    line
}

fn cmd_tee(args: &[String], call: &Call) -> ExecOutput {
    let opts = opts_or_return!(getopt("tee", args, "ai", "", &[("append", 'a', false)]));
    let mut out = ExecOutput::with_stdout(call.stdin.to_vec());
    for file in &opts.operands {
        if let Err(err) = call.write(file, call.stdin, opts.has('a')) {
            out.err(&format!("tee: {file}: {err}\n"));
            out.exit_code = 1;
        }
    }
    out
}

fn cmd_grep(args: &[String], call: &Call) -> ExecOutput {
    let opts = match getopt(
        "grep",
        args,
        "ivcnqlLsEFwxhHro",
        "em",
        &[
            ("ignore-case", 'i', false),
            ("invert-match", 'v', false),
            ("count", 'c', false),
            ("quiet", 'q', false),
            ("regexp", 'e', true),
        ],
    ) {
        Ok(opts) => opts,
        Err(mut output) => {
            output.exit_code = 2;
            return output;
        }
    };
    let mut operands = opts.operands.clone();
    let patterns: Vec<String> = {
        let given: Vec<String> = opts
            .flags
            .iter()
            .filter(|(f, _)| *f == 'e')
            .filter_map(|(_, v)| v.clone())
            .collect();
        if given.is_empty() {
            if operands.is_empty() {
                return ExecOutput::fail(
                    2,
                    "BusyBox v1.36.1 (2023-05-18 22:34:17 UTC) multi-call binary.\n\nUsage: grep [-HhnlLoqvsrRiwFE] [-m N] [-A|B|C N] { PATTERN | -e PATTERN... | -f FILE... } [FILE]...\n",
                );
            }
            vec![operands.remove(0)]
        } else {
            given
        }
    };
    let icase = opts.has('i');
    let fixed = opts.has('F');
    let extended = opts.has('E');
    let whole_line = opts.has('x');
    let matchers: Vec<Matcher> = patterns
        .iter()
        .flat_map(|p| p.split('\n').map(str::to_string).collect::<Vec<_>>())
        .map(|p| Matcher::new(&p, fixed, extended, icase, whole_line, opts.has('w')))
        .collect();
    let mut out = ExecOutput::default();
    let inputs = read_inputs("grep", &operands, call, &mut out);
    if out.exit_code != 0 {
        out.exit_code = 2;
    }
    let error = out.exit_code == 2;
    let prefix = (inputs.len() > 1 || opts.has('H')) && !opts.has('h');
    let max = opts.value('m').and_then(|m| m.parse::<usize>().ok());
    let mut any = false;
    let mut text = String::new();
    for (name, data) in &inputs {
        let shown = if name == "-" {
            "(standard input)"
        } else {
            name
        };
        let mut count = 0usize;
        for (i, raw) in split_lines(data).iter().enumerate() {
            if max.is_some_and(|m| count >= m) {
                break;
            }
            let line = String::from_utf8_lossy(raw);
            let line = line.strip_suffix('\n').unwrap_or(&line);
            let hit = matchers.iter().any(|m| m.is_match(line)) != opts.has('v');
            if !hit {
                continue;
            }
            count += 1;
            any = true;
            if opts.has('q') || opts.has('c') || opts.has('l') || opts.has('L') {
                continue;
            }
            if prefix {
                text.push_str(shown);
                text.push(':');
            }
            if opts.has('n') {
                let _ = write!(text, "{}:", i + 1);
            }
            text.push_str(line);
            text.push('\n');
        }
        if opts.has('c') {
            if prefix {
                let _ = writeln!(text, "{shown}:{count}");
            } else {
                let _ = writeln!(text, "{count}");
            }
        }
        if opts.has('l') && count > 0 {
            let _ = writeln!(text, "{shown}");
        }
        if opts.has('L') && count == 0 {
            let _ = writeln!(text, "{shown}");
        }
        if opts.has('q') && any {
            return ExecOutput::default();
        }
    }
    out.out(&text);
    out.exit_code = if error && !opts.has('s') {
        2
    } else if any {
        0
    } else {
        1
    };
    if opts.has('s') {
        out.stderr.clear();
    }
    out
}

/// A grep pattern: fixed string or a small regular expression (`.`, `*`, `+`, `?`,
/// `[...]`, `^`, `$`, top-level `|`), matched by simulating its automaton.
struct Matcher {
    alternatives: Vec<Regex>,
    fixed: Option<String>,
    icase: bool,
    whole_line: bool,
    word: bool,
}

#[derive(Debug, Clone)]
enum Atom {
    Char(char),
    Any,
    Class {
        ranges: Vec<(char, char)>,
        negated: bool,
    },
}

impl Atom {
    fn matches(&self, c: char) -> bool {
        match self {
            Atom::Char(x) => *x == c,
            Atom::Any => true,
            Atom::Class { ranges, negated } => {
                ranges.iter().any(|(lo, hi)| *lo <= c && c <= *hi) != *negated
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rep {
    One,
    Star,
    Optional,
}

#[derive(Debug, Clone)]
struct Regex {
    items: Vec<(Atom, Rep)>,
    start: bool,
    end: bool,
}

impl Regex {
    fn parse(pattern: &str, extended: bool) -> Regex {
        let chars: Vec<char> = pattern.chars().collect();
        let mut items: Vec<(Atom, Rep)> = Vec::new();
        let mut start = false;
        let mut end = false;
        let mut i = 0;
        if chars.first() == Some(&'^') {
            start = true;
            i = 1;
        }
        let mut stop = chars.len();
        if stop > i
            && chars.last() == Some(&'$')
            && !(stop >= 2 && chars.get(stop - 2) == Some(&'\\'))
        {
            end = true;
            stop -= 1;
        }
        while i < stop {
            let Some(&c) = chars.get(i) else { break };
            i += 1;
            let atom = match c {
                '.' => Atom::Any,
                '[' => {
                    let (atom, next) = parse_class(&chars, i - 1);
                    i = next;
                    atom
                }
                '\\' => {
                    let Some(&e) = chars.get(i) else {
                        items.push((Atom::Char('\\'), Rep::One));
                        break;
                    };
                    i += 1;
                    match e {
                        '+' | '?' if !extended => {
                            apply_rep(&mut items, if e == '+' { '+' } else { '?' });
                            continue;
                        }
                        'd' => Atom::Class {
                            ranges: vec![('0', '9')],
                            negated: false,
                        },
                        'w' => Atom::Class {
                            ranges: vec![('a', 'z'), ('A', 'Z'), ('0', '9'), ('_', '_')],
                            negated: false,
                        },
                        's' => Atom::Class {
                            ranges: vec![(' ', ' '), ('\t', '\t')],
                            negated: false,
                        },
                        other => Atom::Char(other),
                    }
                }
                '*' if !items.is_empty() => {
                    apply_rep(&mut items, '*');
                    continue;
                }
                '+' | '?' if extended && !items.is_empty() => {
                    apply_rep(&mut items, c);
                    continue;
                }
                other => Atom::Char(other),
            };
            items.push((atom, Rep::One));
        }
        Regex { items, start, end }
    }

    /// Whether the pattern matches somewhere in `text` (anchors respected).
    fn is_match(&self, text: &[char]) -> bool {
        let n = self.items.len();
        let add = |set: &mut Vec<bool>, from: usize| {
            let mut j = from;
            while j <= n {
                if let Some(slot) = set.get_mut(j) {
                    *slot = true;
                }
                match self.items.get(j) {
                    Some((_, Rep::Star | Rep::Optional)) => j += 1,
                    _ => break,
                }
            }
        };
        let accepted = |set: &[bool]| set.get(n).copied().unwrap_or(false);
        let mut current = vec![false; n + 1];
        add(&mut current, 0);
        if accepted(&current) && (!self.end || text.is_empty()) {
            return true;
        }
        for (pos, &c) in text.iter().enumerate() {
            let mut next = vec![false; n + 1];
            for (state, active) in current.iter().enumerate() {
                if !active {
                    continue;
                }
                if let Some((atom, rep)) = self.items.get(state)
                    && atom.matches(c)
                {
                    match rep {
                        Rep::Star => add(&mut next, state),
                        Rep::One | Rep::Optional => add(&mut next, state + 1),
                    }
                }
            }
            if !self.start {
                add(&mut next, 0);
            }
            current = next;
            let at_end = pos + 1 == text.len();
            if accepted(&current) && (!self.end || at_end) {
                return true;
            }
            if !current.iter().any(|a| *a) {
                return false;
            }
        }
        false
    }
}

/// A piece of a regular expression as far as grouping and alternation go.
#[derive(Debug, Clone, PartialEq, Eq)]
enum GroupTok {
    Text(String),
    Open,
    Close,
    Bar,
}

/// Rewrites a pattern with groups and `|` into plain alternatives without them, e.g.
/// `^(1|3)$` into `^1$` and `^3$` (a quantifier after a group applies to its last atom).
fn regex_alternatives(pattern: &str, extended: bool) -> Vec<String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        i += 1;
        let tok = match c {
            '\\' => match chars.get(i).copied() {
                Some(e) => {
                    i += 1;
                    match e {
                        '(' if !extended => GroupTok::Open,
                        ')' if !extended => GroupTok::Close,
                        '|' if !extended => GroupTok::Bar,
                        _ => GroupTok::Text(format!("\\{e}")),
                    }
                }
                None => GroupTok::Text("\\".to_string()),
            },
            '[' => {
                let (_, next) = parse_class(&chars, i - 1);
                let text: String = chars.get(i - 1..next).unwrap_or_default().iter().collect();
                i = next;
                GroupTok::Text(text)
            }
            '(' if extended => GroupTok::Open,
            ')' if extended => GroupTok::Close,
            '|' if extended => GroupTok::Bar,
            other => GroupTok::Text(other.to_string()),
        };
        toks.push(tok);
    }
    let literal = |open: bool| -> String {
        match (open, extended) {
            (true, true) => "\\(".to_string(),
            (false, true) => "\\)".to_string(),
            (true, false) => "(".to_string(),
            (false, false) => ")".to_string(),
        }
    };
    expand_groups(&toks, &literal, 0)
}

/// Expands tokens into alternatives (at most 256), recursing into groups.
fn expand_groups(toks: &[GroupTok], literal: &dyn Fn(bool) -> String, depth: usize) -> Vec<String> {
    const MAX_ALTERNATIVES: usize = 256;
    let mut branches: Vec<Vec<String>> = Vec::new();
    let mut current: Vec<String> = vec![String::new()];
    let mut i = 0;
    while let Some(tok) = toks.get(i) {
        i += 1;
        match tok {
            GroupTok::Text(text) => current.iter_mut().for_each(|c| c.push_str(text)),
            GroupTok::Close => {
                let text = literal(false);
                current.iter_mut().for_each(|c| c.push_str(&text));
            }
            GroupTok::Bar => branches.push(std::mem::replace(&mut current, vec![String::new()])),
            GroupTok::Open => {
                // Find the matching close.
                let mut level = 1usize;
                let mut j = i;
                while let Some(t) = toks.get(j) {
                    match t {
                        GroupTok::Open => level += 1,
                        GroupTok::Close => {
                            level -= 1;
                            if level == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
                let inner = toks.get(i..j).unwrap_or_default();
                if level != 0 || depth >= MAX_NESTING {
                    let text = literal(true);
                    current.iter_mut().for_each(|c| c.push_str(&text));
                    continue;
                }
                let options = expand_groups(inner, literal, depth + 1);
                let mut next = Vec::new();
                for prefix in &current {
                    for option in &options {
                        if next.len() < MAX_ALTERNATIVES {
                            next.push(format!("{prefix}{option}"));
                        }
                    }
                }
                current = next;
                i = j + 1;
            }
        }
    }
    branches.push(current);
    let mut all: Vec<String> = branches.into_iter().flatten().collect();
    all.truncate(MAX_ALTERNATIVES);
    all
}

fn apply_rep(items: &mut Vec<(Atom, Rep)>, op: char) {
    let Some((atom, rep)) = items.pop() else {
        return;
    };
    match op {
        '*' => items.push((atom, Rep::Star)),
        '?' => items.push((atom, Rep::Optional)),
        _ => {
            items.push((atom.clone(), rep));
            items.push((atom, Rep::Star));
        }
    }
}

/// Parses a bracket expression starting at `chars[open] == '['`; a `[` without a closing
/// `]` is a literal.
fn parse_class(chars: &[char], open: usize) -> (Atom, usize) {
    let mut i = open + 1;
    let mut negated = false;
    if matches!(chars.get(i), Some('^' | '!')) {
        negated = true;
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let Some(&c) = chars.get(i) else {
            return (Atom::Char('['), open + 1);
        };
        if c == ']' && !first {
            return (Atom::Class { ranges, negated }, i + 1);
        }
        first = false;
        if c == '[' && chars.get(i + 1) == Some(&':') {
            let rest: String = chars.get(i + 2..).unwrap_or_default().iter().collect();
            if let Some(end) = rest.find(":]") {
                let name = rest.get(..end).unwrap_or_default();
                ranges.extend(named_class(name));
                i += 2 + name.chars().count() + 2;
                continue;
            }
        }
        if chars.get(i + 1) == Some(&'-')
            && let Some(&hi) = chars.get(i + 2)
            && hi != ']'
        {
            ranges.push((c, hi));
            i += 3;
        } else {
            ranges.push((c, c));
            i += 1;
        }
    }
}

fn named_class(name: &str) -> Vec<(char, char)> {
    match name {
        "digit" => vec![('0', '9')],
        "alpha" => vec![('a', 'z'), ('A', 'Z')],
        "alnum" => vec![('a', 'z'), ('A', 'Z'), ('0', '9')],
        "upper" => vec![('A', 'Z')],
        "lower" => vec![('a', 'z')],
        "space" => vec![(' ', ' '), ('\t', '\r')],
        "xdigit" => vec![('0', '9'), ('a', 'f'), ('A', 'F')],
        "punct" => vec![('!', '/'), (':', '@'), ('[', '`'), ('{', '~')],
        _ => Vec::new(),
    }
}

impl Matcher {
    fn new(
        pattern: &str,
        fixed: bool,
        extended: bool,
        icase: bool,
        whole_line: bool,
        word: bool,
    ) -> Matcher {
        let pattern = if icase {
            pattern.to_lowercase()
        } else {
            pattern.to_string()
        };
        if fixed {
            return Matcher {
                alternatives: Vec::new(),
                fixed: Some(pattern),
                icase,
                whole_line,
                word,
            };
        }
        let parts = regex_alternatives(&pattern, extended);
        let alternatives = parts
            .iter()
            .map(|p| {
                let mut regex = Regex::parse(p, extended);
                if whole_line {
                    regex.start = true;
                    regex.end = true;
                }
                regex
            })
            .collect();
        Matcher {
            alternatives,
            fixed: None,
            icase,
            whole_line,
            word,
        }
    }

    fn is_match(&self, line: &str) -> bool {
        let line = if self.icase {
            line.to_lowercase()
        } else {
            line.to_string()
        };
        if let Some(fixed) = &self.fixed {
            if self.whole_line {
                return line == *fixed;
            }
            if self.word {
                let is_word = |c: char| c.is_alphanumeric() || c == '_';
                return line.match_indices(fixed.as_str()).any(|(i, m)| {
                    let before = line.get(..i).and_then(|s| s.chars().next_back());
                    let after = line.get(i + m.len()..).and_then(|s| s.chars().next());
                    !before.is_some_and(is_word) && !after.is_some_and(is_word)
                });
            }
            return line.contains(fixed.as_str());
        }
        let chars: Vec<char> = line.chars().collect();
        self.alternatives.iter().any(|r| r.is_match(&chars))
    }
}

// ---------------------------------------------------------------------------------------
// Text and system commands
// ---------------------------------------------------------------------------------------

fn cmd_echo(args: &[String]) -> ExecOutput {
    let mut newline = true;
    let mut escapes = false;
    let mut rest = args;
    while let Some((first, tail)) = rest.split_first() {
        let Some(flags) = first.strip_prefix('-') else {
            break;
        };
        if flags.is_empty() || !flags.chars().all(|c| matches!(c, 'n' | 'e' | 'E')) {
            break;
        }
        for c in flags.chars() {
            match c {
                'n' => newline = false,
                'e' => escapes = true,
                _ => escapes = false,
            }
        }
        rest = tail;
    }
    let joined = rest.join(" ");
    let mut text = if escapes {
        let (text, stop) = unescape(&joined, true);
        if stop {
            return ExecOutput::with_stdout(text);
        }
        text
    } else {
        joined
    };
    if newline {
        text.push('\n');
    }
    ExecOutput::with_stdout(text)
}

/// Interprets backslash escapes as `echo -e` and `printf` do; `\c` stops output (the
/// second value is true then). `echo` takes octal as `\0NNN`, printf as `\NNN`.
fn unescape(text: &str, echo_style: bool) -> (String, bool) {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(e) = chars.next() else {
            out.push('\\');
            break;
        };
        match e {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'e' => out.push('\u{1b}'),
            'f' => out.push('\u{c}'),
            'v' => out.push('\u{b}'),
            '\\' => out.push('\\'),
            'c' => return (out, true),
            '0'..='7' => {
                let mut value = if echo_style && e == '0' {
                    0
                } else {
                    e.to_digit(8).unwrap_or(0)
                };
                let max = if echo_style && e == '0' { 3 } else { 2 };
                for _ in 0..max {
                    match chars.peek().and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            value = value * 8 + d;
                            chars.next();
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(value & 0xff).unwrap_or('?'));
            }
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    (out, false)
}

fn cmd_printf(args: &[String]) -> ExecOutput {
    let Some((format, mut rest)) = args.split_first() else {
        return usage("printf FORMAT [ARG]...");
    };
    let mut out = ExecOutput::default();
    let mut text = String::new();
    loop {
        let before = rest.len();
        let stop = printf_once(format, &mut rest, &mut text, &mut out);
        if stop || rest.is_empty() || rest.len() == before || text.len() > MAX_STRING {
            break;
        }
    }
    out.out(&text);
    out
}

/// Applies `format` once, consuming arguments; returns true if `\c` stopped output.
fn printf_once(
    format: &str,
    args: &mut &[String],
    text: &mut String,
    out: &mut ExecOutput,
) -> bool {
    let mut next_arg = || -> Option<String> {
        let (first, tail) = args.split_first()?;
        *args = tail;
        Some(first.clone())
    };
    let chars: Vec<char> = format.chars().collect();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        i += 1;
        if c == '\\' {
            let mut escape = String::from("\\");
            if let Some(&e) = chars.get(i) {
                escape.push(e);
                i += 1;
                if e.is_digit(8) {
                    for _ in 0..2 {
                        match chars.get(i) {
                            Some(&d) if d.is_digit(8) => {
                                escape.push(d);
                                i += 1;
                            }
                            _ => break,
                        }
                    }
                }
            }
            let (s, stop) = unescape(&escape, false);
            text.push_str(&s);
            if stop {
                return true;
            }
            continue;
        }
        if c != '%' {
            text.push(c);
            continue;
        }
        if chars.get(i) == Some(&'%') {
            text.push('%');
            i += 1;
            continue;
        }
        let mut flags = String::new();
        while let Some(&f) = chars.get(i) {
            if matches!(f, '-' | '0' | ' ' | '+' | '#') {
                flags.push(f);
                i += 1;
            } else {
                break;
            }
        }
        let mut width = String::new();
        while let Some(&d) = chars.get(i) {
            if d.is_ascii_digit() {
                width.push(d);
                i += 1;
            } else if d == '*' {
                width = next_arg().unwrap_or_default();
                i += 1;
            } else {
                break;
            }
        }
        let mut precision: Option<usize> = None;
        if chars.get(i) == Some(&'.') {
            i += 1;
            let mut digits = String::new();
            while let Some(&d) = chars.get(i) {
                if d.is_ascii_digit() {
                    digits.push(d);
                    i += 1;
                } else {
                    break;
                }
            }
            precision = Some(digits.parse::<usize>().unwrap_or(0).min(4096));
        }
        let Some(&conv) = chars.get(i) else {
            text.push('%');
            text.push_str(&flags);
            text.push_str(&width);
            break;
        };
        i += 1;
        let width: usize = width.parse::<usize>().unwrap_or(0).min(4096);
        let left = flags.contains('-');
        let zero = flags.contains('0') && !left;
        let body = match conv {
            's' => {
                let mut s = next_arg().unwrap_or_default();
                if let Some(p) = precision {
                    s = s.chars().take(p).collect();
                }
                s
            }
            'b' => {
                let (s, stop) = unescape(&next_arg().unwrap_or_default(), true);
                if stop {
                    text.push_str(&s);
                    return true;
                }
                s
            }
            'c' => next_arg()
                .and_then(|s| s.chars().next())
                .map(String::from)
                .unwrap_or_default(),
            'd' | 'i' | 'u' | 'x' | 'X' | 'o' => {
                let arg = next_arg().unwrap_or_default();
                let value = parse_printf_int(&arg).unwrap_or_else(|| {
                    out.err(&format!("printf: invalid number '{arg}'\n"));
                    out.exit_code = 1;
                    0
                });
                let s = match conv {
                    'x' => format!("{value:x}"),
                    'X' => format!("{value:X}"),
                    'o' => format!("{value:o}"),
                    _ if flags.contains('+') && value >= 0 => format!("+{value}"),
                    _ => value.to_string(),
                };
                if zero && s.len() < width {
                    let (sign, digits) = match s.strip_prefix('-') {
                        Some(d) => ("-", d.to_string()),
                        None => ("", s.clone()),
                    };
                    format!("{sign}{digits:0>w$}", w = width - sign.len())
                } else {
                    s
                }
            }
            'f' | 'e' | 'g' | 'F' | 'E' | 'G' => {
                let arg = next_arg().unwrap_or_default();
                let value = arg.trim().parse::<f64>().unwrap_or_else(|_| {
                    if !arg.is_empty() {
                        out.err(&format!("printf: invalid number '{arg}'\n"));
                        out.exit_code = 1;
                    }
                    0.0
                });
                let s = format!("{value:.p$}", p = precision.unwrap_or(6));
                if zero && s.len() < width {
                    format!("{s:0>width$}")
                } else {
                    s
                }
            }
            other => {
                out.err(&format!("printf: %{other}: invalid format\n"));
                out.exit_code = 1;
                return true;
            }
        };
        if left {
            let _ = write!(text, "{body:<width$}");
        } else {
            let _ = write!(text, "{body:>width$}");
        }
    }
    false
}

fn parse_printf_int(arg: &str) -> Option<i64> {
    let trimmed = arg.trim();
    if trimmed.is_empty() {
        return Some(0);
    }
    if let Some(c) = trimmed
        .strip_prefix('\'')
        .or_else(|| trimmed.strip_prefix('"'))
    {
        return Some(c.chars().next().map_or(0, |c| i64::from(u32::from(c))));
    }
    parse_int(trimmed)
}

/// Parses a decimal, `0x` hex or leading-`0` octal integer with optional sign.
fn parse_int(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let magnitude = if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        u64::from_str_radix(hex, 16).ok()?
    } else if digits.len() > 1 && digits.starts_with('0') {
        u64::from_str_radix(digits.get(1..)?, 8).ok()?
    } else {
        digits.parse::<u64>().ok()?
    };
    let value = magnitude as i64;
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

fn cmd_env(args: &[String], call: &Call) -> ExecOutput {
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
    let ctx = ShellContext {
        env: &env,
        ..*call.ctx
    };
    let sub = Call {
        ctx: &ctx,
        stdin: call.stdin,
        depth: call.depth + 1,
        budget: call.budget,
    };
    match exec_argv(rest, &sub) {
        Ok(output) => output,
        Err(_) => ExecOutput::fail(
            127,
            &format!(
                "env: can't execute '{}': No such file or directory\n",
                rest.first().map(String::as_str).unwrap_or_default()
            ),
        ),
    }
}

fn cmd_printenv(args: &[String], call: &Call) -> ExecOutput {
    if args.is_empty() {
        return cmd_env(&[], call);
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

fn cmd_seq(args: &[String]) -> ExecOutput {
    let opts = opts_or_return!(getopt("seq", args, "w", "s", &[]));
    let numbers: Result<Vec<i64>, &String> = opts
        .operands
        .iter()
        .map(|a| a.trim().parse::<i64>().map_err(|_| a))
        .collect();
    let numbers = match numbers {
        Ok(n) => n,
        Err(bad) => return ExecOutput::fail(1, &format!("seq: invalid number '{bad}'\n")),
    };
    let (first, step, last) = match numbers.as_slice() {
        [last] => (1, 1, *last),
        [first, last] => (*first, 1, *last),
        [first, step, last] => (*first, *step, *last),
        _ => return usage("seq [-w] [-s SEP] [FIRST [INC]] LAST"),
    };
    if step == 0 {
        return ExecOutput::fail(1, "seq: invalid increment '0'\n");
    }
    let separator = opts.value('s').unwrap_or("\n");
    let width = if opts.has('w') {
        first.to_string().len().max(last.to_string().len())
    } else {
        0
    };
    let mut text = String::new();
    let mut current = first;
    let mut count = 0u32;
    while (step > 0 && current <= last) || (step < 0 && current >= last) {
        if count > 0 {
            text.push_str(separator);
        }
        let _ = write!(text, "{current:0width$}");
        count += 1;
        if count >= 1_000_000 {
            break;
        }
        match current.checked_add(step) {
            Some(next) => current = next,
            None => break,
        }
    }
    if count > 0 {
        text.push('\n');
    }
    ExecOutput::with_stdout(text)
}

fn cmd_sleep(args: &[String]) -> ExecOutput {
    if args.is_empty() {
        return usage("sleep [N]...");
    }
    for arg in args {
        let number = arg.trim_end_matches(['s', 'm', 'h', 'd']);
        let valid = arg == "inf"
            || arg == "infinity"
            || (!number.is_empty() && number.parse::<f64>().is_ok_and(|n| n >= 0.0));
        if !valid {
            return ExecOutput::fail(1, &format!("sleep: invalid number '{arg}'\n"));
        }
    }
    ExecOutput::default()
}

fn cmd_id(args: &[String]) -> ExecOutput {
    let opts = opts_or_return!(getopt("id", args, "ugGnr", "", &[]));
    let name = opts.has('n');
    let text = if opts.has('u') || opts.has('g') {
        if name { "root" } else { "0" }
    } else if opts.has('G') {
        if name { "root wheel" } else { "0 10" }
    } else {
        "uid=0(root) gid=0(root) groups=0(root),10(wheel)"
    };
    ExecOutput::with_stdout(format!("{text}\n"))
}

fn cmd_uname(args: &[String], call: &Call) -> ExecOutput {
    let opts = opts_or_return!(getopt("uname", args, "asnrvmpio", "", &[]));
    let fields = [
        ('s', "Linux"),
        ('n', call.ctx.hostname),
        ('r', "6.8.0-practice"),
        ('v', "#1 SMP PREEMPT_DYNAMIC"),
        ('m', "x86_64"),
        ('o', "GNU/Linux"),
    ];
    let chosen: Vec<&str> = fields
        .iter()
        .filter(|(f, _)| opts.has('a') || opts.has(*f))
        .map(|(_, v)| *v)
        .collect();
    let text = if chosen.is_empty() {
        "Linux".to_string()
    } else {
        chosen.join(" ")
    };
    ExecOutput::with_stdout(format!("{text}\n"))
}

fn cmd_which(args: &[String]) -> ExecOutput {
    let mut out = ExecOutput::default();
    for name in args.iter().filter(|a| !a.starts_with('-')) {
        if is_command(name) {
            out.out(&format!("/bin/{name}\n"));
        } else {
            out.exit_code = 1;
        }
    }
    out
}

fn cmd_basename(args: &[String]) -> ExecOutput {
    let Some(path) = args.first() else {
        return usage("basename FILE [SUFFIX]");
    };
    let trimmed = path.trim_end_matches('/');
    let mut base = if trimmed.is_empty() && !path.is_empty() {
        "/".to_string()
    } else {
        trimmed.rsplit('/').next().unwrap_or_default().to_string()
    };
    if let Some(suffix) = args.get(1)
        && base != *suffix
        && let Some(stripped) = base.strip_suffix(suffix.as_str())
    {
        base = stripped.to_string();
    }
    ExecOutput::with_stdout(format!("{base}\n"))
}

fn cmd_dirname(args: &[String]) -> ExecOutput {
    let Some(path) = args.first() else {
        return usage("dirname FILENAME");
    };
    let trimmed = path.trim_end_matches('/');
    let dir = if trimmed.is_empty() {
        if path.is_empty() { "." } else { "/" }
    } else {
        match trimmed.rfind('/') {
            None => ".",
            Some(i) => {
                let d = trimmed.get(..i).unwrap_or_default().trim_end_matches('/');
                if d.is_empty() { "/" } else { d }
            }
        }
    };
    ExecOutput::with_stdout(format!("{dir}\n"))
}

fn cmd_hostname(args: &[String], call: &Call) -> ExecOutput {
    let opts = opts_or_return!(getopt(
        "hostname",
        args,
        "sfdi",
        "F",
        &[("fqdn", 'f', false), ("short", 's', false)]
    ));
    if !opts.operands.is_empty() || opts.has('F') {
        return ExecOutput::fail(1, "hostname: sethostname: Operation not permitted\n");
    }
    let name = call.ctx.hostname;
    let hosts = hosts_entries(call);
    let mine = hosts
        .iter()
        .find(|(_, names)| names.iter().any(|n| n == name));
    let text = if opts.has('s') {
        name.split('.').next().unwrap_or(name).to_string()
    } else if opts.has('f') || opts.has('d') {
        let fqdn = mine
            .and_then(|(_, names)| names.first().cloned())
            .unwrap_or_else(|| name.to_string());
        if opts.has('d') {
            fqdn.split_once('.')
                .map(|(_, d)| d.to_string())
                .unwrap_or_default()
        } else {
            fqdn
        }
    } else if opts.has('i') {
        match mine {
            Some((ip, _)) => ip.to_string(),
            None => match call.ctx.resolver.lookup(name, call.ctx.search).first() {
                Some(ip) => ip.to_string(),
                None => {
                    return ExecOutput::fail(1, &format!("hostname: {name}: Unknown host\n"));
                }
            },
        }
    } else {
        name.to_string()
    };
    ExecOutput::with_stdout(format!("{text}\n"))
}

fn cmd_mount(call: &Call) -> ExecOutput {
    let mut text = format!(
        "overlay on / type overlay ({},relatime)\n",
        if call.fs().root_read_only() {
            "ro"
        } else {
            "rw"
        }
    );
    text.push_str("proc on /proc type proc (rw,nosuid,nodev,noexec,relatime)\n");
    for (i, mount) in call.fs().mounts().iter().enumerate() {
        let _ = writeln!(
            text,
            "/dev/sda{} on {} type ext4 ({},relatime)",
            i + 1,
            mount.path,
            if mount.read_only { "ro" } else { "rw" }
        );
    }
    ExecOutput::with_stdout(text)
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
    let mut parser = TestParser {
        args: &args,
        pos: 0,
        file,
        error: None,
        depth: 0,
    };
    let result = if args.is_empty() { false } else { parser.or() };
    let name = if bracket { "[" } else { "test" };
    if let Some(err) = parser.error {
        return ExecOutput::fail(2, &format!("sh: {name}: {err}\n"));
    }
    if parser.pos < args.len() {
        let extra = args.get(parser.pos).copied().unwrap_or_default();
        return ExecOutput::fail(2, &format!("sh: {name}: {extra}: unknown operand\n"));
    }
    ExecOutput {
        exit_code: i32::from(!result),
        ..ExecOutput::default()
    }
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
            self.error
                .get_or_insert_with(|| "expression too deep".to_string());
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
            self.error
                .get_or_insert_with(|| "argument expected".to_string());
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
                    self.error
                        .get_or_insert_with(|| format!("{bad}: bad number"));
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
    matches!(
        op,
        "=" | "==" | "!=" | "<" | ">" | "-eq" | "-ne" | "-lt" | "-le" | "-gt" | "-ge"
    )
}

fn is_unary_test(op: &str) -> bool {
    matches!(
        op,
        "-n" | "-z"
            | "-e"
            | "-f"
            | "-d"
            | "-s"
            | "-r"
            | "-w"
            | "-x"
            | "-L"
            | "-h"
            | "-t"
            | "-p"
            | "-S"
            | "-b"
            | "-c"
    )
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

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const WEEKDAY_NAMES: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// `table[index]`, or `?` out of range.
fn pick(table: &[&'static str], index: usize) -> &'static str {
    table.get(index).copied().unwrap_or("?")
}

/// A UTC calendar time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    weekday: u32,
    yday: u32,
    epoch: i64,
}

impl Civil {
    fn from_system(time: SystemTime) -> Civil {
        let epoch = match time.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 2),
            Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(0),
        };
        Civil::from_epoch(epoch)
    }

    fn from_epoch(epoch: i64) -> Civil {
        let days = epoch.div_euclid(86_400);
        let secs = epoch.rem_euclid(86_400);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let cumulative = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
        let month_u = u32::try_from(month).unwrap_or(1);
        let before = cumulative
            .get(usize::try_from(month - 1).unwrap_or(0))
            .copied()
            .unwrap_or(0);
        let yday = before + u32::try_from(day).unwrap_or(1) + u32::from(leap && month > 2);
        Civil {
            year,
            month: month_u,
            day: u32::try_from(day).unwrap_or(1),
            hour: u32::try_from(secs / 3600).unwrap_or(0),
            minute: u32::try_from(secs % 3600 / 60).unwrap_or(0),
            second: u32::try_from(secs % 60).unwrap_or(0),
            weekday: u32::try_from((days + 4).rem_euclid(7)).unwrap_or(0),
            yday,
            epoch,
        }
    }

    fn month_index(&self) -> usize {
        usize::try_from(self.month.saturating_sub(1))
            .unwrap_or(0)
            .min(11)
    }

    fn weekday_index(&self) -> usize {
        usize::try_from(self.weekday).unwrap_or(0).min(6)
    }

    /// Formats like `strftime` for the common conversions, in UTC.
    fn format(&self, format: &str) -> String {
        let mut out = String::new();
        let mut chars = format.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            let Some(conv) = chars.next() else {
                out.push('%');
                break;
            };
            let _ = match conv {
                'Y' => write!(out, "{}", self.year),
                'y' => write!(out, "{:02}", self.year.rem_euclid(100)),
                'C' => write!(out, "{:02}", self.year.div_euclid(100)),
                'm' => write!(out, "{:02}", self.month),
                'd' => write!(out, "{:02}", self.day),
                'e' => write!(out, "{:>2}", self.day),
                'H' => write!(out, "{:02}", self.hour),
                'I' => write!(out, "{:02}", (self.hour + 11) % 12 + 1),
                'M' => write!(out, "{:02}", self.minute),
                'S' => write!(out, "{:02}", self.second),
                'p' => write!(out, "{}", if self.hour < 12 { "AM" } else { "PM" }),
                'j' => write!(out, "{:03}", self.yday),
                'a' => write!(out, "{}", pick(&WEEKDAYS, self.weekday_index())),
                'A' => write!(out, "{}", pick(&WEEKDAY_NAMES, self.weekday_index())),
                'b' | 'h' => write!(out, "{}", pick(&MONTHS, self.month_index())),
                'B' => write!(out, "{}", pick(&MONTH_NAMES, self.month_index())),
                'u' => write!(out, "{}", if self.weekday == 0 { 7 } else { self.weekday }),
                'w' => write!(out, "{}", self.weekday),
                's' => write!(out, "{}", self.epoch),
                'T' => write!(
                    out,
                    "{:02}:{:02}:{:02}",
                    self.hour, self.minute, self.second
                ),
                'R' => write!(out, "{:02}:{:02}", self.hour, self.minute),
                'D' => write!(
                    out,
                    "{:02}/{:02}/{:02}",
                    self.month,
                    self.day,
                    self.year.rem_euclid(100)
                ),
                'F' => write!(out, "{}-{:02}-{:02}", self.year, self.month, self.day),
                'Z' => write!(out, "UTC"),
                'z' => write!(out, "+0000"),
                'N' => write!(out, "000000000"),
                'n' => writeln!(out),
                't' => write!(out, "\t"),
                '%' => write!(out, "%"),
                other => write!(out, "%{other}"),
            };
        }
        out
    }
}

fn cmd_date(args: &[String]) -> ExecOutput {
    let mut format = "%a %b %e %H:%M:%S %Z %Y".to_string();
    for arg in args {
        if let Some(f) = arg.strip_prefix('+') {
            format = f.to_string();
        } else if arg == "-u" || arg == "--utc" {
        } else if arg == "-R" {
            format = "%a, %d %b %Y %H:%M:%S %z".to_string();
        } else if arg == "-I" || arg == "--iso-8601" {
            format = "%F".to_string();
        } else if arg.starts_with('-') {
            return ExecOutput::fail(
                1,
                &format!(
                    "date: invalid option -- '{}'\n",
                    arg.chars().nth(1).unwrap_or('-')
                ),
            );
        } else {
            return ExecOutput::fail(1, "date: can't set date: Operation not permitted\n");
        }
    }
    let now = Civil::from_system(SystemTime::now());
    ExecOutput::with_stdout(format!("{}\n", now.format(&format)))
}

// ---------------------------------------------------------------------------------------
// Network commands
// ---------------------------------------------------------------------------------------

/// The container's `/etc/hosts`: each IPv4 address with its names.
fn hosts_entries(call: &Call) -> Vec<(Ipv4Addr, Vec<String>)> {
    let Ok(data) = call.fs().read("/etc/hosts") else {
        return Vec::new();
    };
    String::from_utf8_lossy(&data)
        .lines()
        .filter_map(|line| {
            let line = line.split('#').next().unwrap_or_default();
            let mut fields = line.split_whitespace();
            let ip = fields.next()?.parse::<Ipv4Addr>().ok()?;
            let names: Vec<String> = fields.map(str::to_string).collect();
            (!names.is_empty()).then_some((ip, names))
        })
        .collect()
}

/// A name's lookup key and search list: a trailing dot means fully qualified.
fn query<'s>(name: &'s str, search: &'s [String]) -> (&'s str, &'s [String]) {
    match name.strip_suffix('.') {
        Some(absolute) => (absolute, &[]),
        None => (name, search),
    }
}

/// Resolves a host as libc would: literal address, `localhost`, `/etc/hosts`, DNS.
fn resolve_host(call: &Call, host: &str) -> Option<Ipv4Addr> {
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Some(ip);
    }
    if host.eq_ignore_ascii_case("localhost") {
        return Some(Ipv4Addr::LOCALHOST);
    }
    if let Some((ip, _)) = hosts_entries(call)
        .into_iter()
        .find(|(_, names)| names.iter().any(|n| n.eq_ignore_ascii_case(host)))
    {
        return Some(ip);
    }
    let (name, search) = query(host, call.ctx.search);
    if name.is_empty() {
        return None;
    }
    call.ctx.resolver.lookup(name, search).first().copied()
}

fn cmd_nslookup(args: &[String], call: &Call) -> ExecOutput {
    let operands: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let Some(name) = operands.first() else {
        return usage("nslookup [-type=QUERY_TYPE] [-debug] HOST [DNS_SERVER]");
    };
    let server = operands
        .get(1)
        .and_then(|s| s.parse::<Ipv4Addr>().ok())
        .unwrap_or_else(|| call.ctx.resolver.nameserver());
    let mut text = format!("Server:\t\t{server}\nAddress:\t{server}:53\n\n");
    if let Ok(ip) = name.parse::<Ipv4Addr>() {
        let [a, b, c, d] = ip.octets();
        let _ = write!(
            text,
            "** server can't find {d}.{c}.{b}.{a}.in-addr.arpa: NXDOMAIN\n\n"
        );
        return ExecOutput {
            stdout: text.into_bytes(),
            stderr: Vec::new(),
            exit_code: 1,
        };
    }
    let (qname, search) = query(name, call.ctx.search);
    let addresses = if qname.is_empty() {
        Vec::new()
    } else {
        call.ctx.resolver.lookup(qname, search)
    };
    if addresses.is_empty() {
        let _ = write!(text, "** server can't find {name}: NXDOMAIN\n\n");
        return ExecOutput {
            stdout: text.into_bytes(),
            stderr: Vec::new(),
            exit_code: 1,
        };
    }
    let fqdn = call
        .ctx
        .resolver
        .fqdn(qname, search)
        .unwrap_or_else(|| qname.to_string());
    for ip in addresses {
        let _ = writeln!(text, "Name:\t{fqdn}\nAddress: {ip}");
    }
    text.push('\n');
    ExecOutput::with_stdout(text)
}

fn cmd_getent(args: &[String], call: &Call) -> ExecOutput {
    let Some((database, keys)) = args.split_first() else {
        return ExecOutput::fail(
            1,
            "Usage: getent [OPTION...] database [key ...]\nTry `getent --help' or `getent --usage' for more information.\n",
        );
    };
    let ahosts = matches!(database.as_str(), "ahosts" | "ahostsv4");
    if database != "hosts" && !ahosts {
        if database == "passwd" || database == "group" {
            return getent_user(database, keys);
        }
        return ExecOutput::fail(
            1,
            &format!(
                "Unknown database: {database}\nTry `getent --help' or `getent --usage' for more information.\n"
            ),
        );
    }
    let hosts = hosts_entries(call);
    let mut text = String::new();
    let line = |text: &mut String, ip: Ipv4Addr, names: &str| {
        let ip = ip.to_string();
        if ahosts {
            let _ = writeln!(text, "{ip:<15} STREAM {names}");
            let _ = writeln!(text, "{ip:<15} DGRAM  ");
            let _ = writeln!(text, "{ip:<15} RAW    ");
        } else {
            let _ = writeln!(text, "{ip:<15} {names}");
        }
    };
    if keys.is_empty() {
        for (ip, names) in &hosts {
            line(&mut text, *ip, &names.join(" "));
        }
        return ExecOutput::with_stdout(text);
    }
    let mut exit_code = 0;
    for key in keys {
        if let Ok(ip) = key.parse::<Ipv4Addr>() {
            match hosts.iter().find(|(a, _)| *a == ip) {
                Some((_, names)) => line(&mut text, ip, &names.join(" ")),
                None => exit_code = 2,
            }
            continue;
        }
        if let Some((ip, names)) = hosts
            .iter()
            .find(|(_, names)| names.iter().any(|n| n.eq_ignore_ascii_case(key)))
        {
            line(&mut text, *ip, &names.join(" "));
            continue;
        }
        if key.eq_ignore_ascii_case("localhost") {
            line(&mut text, Ipv4Addr::LOCALHOST, "localhost");
            continue;
        }
        let (name, search) = query(key, call.ctx.search);
        let addresses = if name.is_empty() {
            Vec::new()
        } else {
            call.ctx.resolver.lookup(name, search)
        };
        if addresses.is_empty() {
            exit_code = 2;
            continue;
        }
        let fqdn = call
            .ctx
            .resolver
            .fqdn(name, search)
            .unwrap_or_else(|| name.to_string());
        if ahosts {
            for ip in &addresses {
                let ip = ip.to_string();
                let _ = writeln!(text, "{ip:<15} STREAM {fqdn}");
                let _ = writeln!(text, "{ip:<15} DGRAM  ");
                let _ = writeln!(text, "{ip:<15} RAW    ");
            }
        } else {
            for ip in &addresses {
                line(&mut text, *ip, &fqdn);
            }
        }
    }
    ExecOutput {
        stdout: text.into_bytes(),
        stderr: Vec::new(),
        exit_code,
    }
}

fn getent_user(database: &str, keys: &[String]) -> ExecOutput {
    let entries: &[(&str, &str, &str)] = if database == "passwd" {
        &[
            ("root", "0", "root:x:0:0:root:/root:/bin/sh"),
            (
                "nobody",
                "65534",
                "nobody:x:65534:65534:nobody:/home:/bin/false",
            ),
        ]
    } else {
        &[
            ("root", "0", "root:x:0:"),
            ("wheel", "10", "wheel:x:10:root"),
            ("nogroup", "65534", "nogroup:x:65534:"),
        ]
    };
    let mut text = String::new();
    let mut exit_code = 0;
    if keys.is_empty() {
        for (_, _, line) in entries {
            let _ = writeln!(text, "{line}");
        }
    }
    for key in keys {
        match entries.iter().find(|(n, id, _)| n == key || id == key) {
            Some((_, _, line)) => {
                let _ = writeln!(text, "{line}");
            }
            None => exit_code = 2,
        }
    }
    ExecOutput {
        stdout: text.into_bytes(),
        stderr: Vec::new(),
        exit_code,
    }
}

/// A parsed `http://host:port/path` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Url {
    scheme: String,
    host: String,
    port: u16,
    path: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum UrlError {
    Scheme,
    Port,
    Host,
}

fn parse_url(text: &str) -> Result<Url, UrlError> {
    let (scheme, rest) = match text.split_once("://") {
        Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
        None => ("http".to_string(), text),
    };
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return Err(UrlError::Scheme),
    };
    let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..split).unwrap_or_default();
    let mut path = rest.get(split..).unwrap_or_default().to_string();
    if let Some(hash) = path.find('#') {
        path.truncate(hash);
    }
    if !path.starts_with('/') {
        path.insert(0, '/');
    }
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let (host, port) = match host_port.rsplit_once(':') {
        Some((host, "")) => (host, default_port),
        Some((host, port)) => (host, port.parse::<u16>().map_err(|_| UrlError::Port)?),
        None => (host_port, default_port),
    };
    if host.is_empty() {
        return Err(UrlError::Host);
    }
    Ok(Url {
        scheme,
        host: host.to_string(),
        port,
        path,
    })
}

fn reason_phrase(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

fn cmd_wget(args: &[String], call: &Call) -> ExecOutput {
    let opts = opts_or_return!(getopt(
        "wget",
        args,
        "qcsSn",
        "OTtYUPoeH",
        &[
            ("quiet", 'q', false),
            ("output-document", 'O', true),
            ("timeout", 'T', true),
            ("tries", 't', true),
            ("spider", 's', false),
            ("server-response", 'S', false),
            ("header", 'H', true),
            ("user-agent", 'U', true),
            ("no-check-certificate", 'n', false),
            ("continue", 'c', false),
        ]
    ));
    let quiet = opts.has('q');
    let Some(url_text) = opts.operands.first() else {
        return usage(
            "wget [-cqS] [--spider] [-O FILE] [-o LOGFILE] [--header STR] [-T SEC] URL...",
        );
    };
    let url = match parse_url(url_text) {
        Ok(url) => url,
        Err(UrlError::Scheme) => {
            return ExecOutput::fail(1, &format!("wget: not an http or ftp url: {url_text}\n"));
        }
        Err(UrlError::Port) => {
            return ExecOutput::fail(1, &format!("wget: bad port spec '{url_text}'\n"));
        }
        Err(UrlError::Host) => return ExecOutput::fail(1, "wget: bad address ''\n"),
    };
    let mut out = ExecOutput::default();
    let Some(ip) = resolve_host(call, &url.host) else {
        out.err(&format!("wget: bad address '{}'\n", url.host));
        out.exit_code = 1;
        return out;
    };
    if !quiet {
        out.err(&format!("Connecting to {} ({ip}:{})\n", url.host, url.port));
    }
    let (status, body) = match call.ctx.http.get(&url.host, url.port, &url.path) {
        Ok(response) => response,
        Err(reason) => {
            out.err(&format!(
                "wget: can't connect to remote host ({ip}): {reason}\n"
            ));
            out.exit_code = 1;
            return out;
        }
    };
    if opts.has('S') {
        out.err(&format!("  HTTP/1.1 {status} {}\n", reason_phrase(status)));
    }
    if !(200..300).contains(&status) {
        out.err(&format!(
            "wget: server returned error: HTTP/1.1 {status} {}\n",
            reason_phrase(status)
        ));
        out.exit_code = 1;
        return out;
    }
    if opts.has('s') {
        if !quiet {
            out.err("remote file exists\n");
        }
        return out;
    }
    let target = match opts.value('O') {
        Some(name) => name.to_string(),
        None => {
            let last = url
                .path
                .split(['?', '#'])
                .next()
                .unwrap_or_default()
                .rsplit('/')
                .next()
                .unwrap_or_default();
            if last.is_empty() {
                "index.html".to_string()
            } else {
                last.to_string()
            }
        }
    };
    let progress = format!(
        "{:<20} 100% |********************************| {:>5}  0:00:00 ETA\n",
        if target == "-" { "-" } else { &target },
        human_size(body.len() as u64)
    );
    if target == "-" {
        if !quiet {
            out.err("writing to stdout\n");
            out.err(&progress);
            out.err("written to stdout\n");
        }
        out.stdout = body;
        return out;
    }
    if opts.value('O').is_none() && !opts.has('c') && call.fs().exists(&call.path(&target)) {
        out.err(&format!("wget: can't open '{target}': File exists\n"));
        out.exit_code = 1;
        return out;
    }
    if !quiet {
        out.err(&format!("saving to '{target}'\n"));
    }
    if let Err(err) = call.write(&target, &body, false) {
        out.err(&format!("wget: can't open '{target}': {err}\n"));
        out.exit_code = 1;
        return out;
    }
    if !quiet {
        out.err(&progress);
        out.err(&format!("'{target}' saved\n"));
    }
    out
}

fn cmd_curl(args: &[String], call: &Call) -> ExecOutput {
    let opts = match getopt(
        "curl",
        args,
        "sSfLkviIO#4g",
        "omwXHdAueEr",
        &[
            ("silent", 's', false),
            ("show-error", 'S', false),
            ("fail", 'f', false),
            ("location", 'L', false),
            ("insecure", 'k', false),
            ("verbose", 'v', false),
            ("include", 'i', false),
            ("head", 'I', false),
            ("remote-name", 'O', false),
            ("output", 'o', true),
            ("max-time", 'm', true),
            ("connect-timeout", 'c', true),
            ("write-out", 'w', true),
            ("request", 'X', true),
            ("header", 'H', true),
            ("data", 'd', true),
            ("user-agent", 'A', true),
            ("retry", 'R', true),
        ],
    ) {
        Ok(opts) => opts,
        Err(output) => {
            let text = output.stderr_text();
            let found = text
                .rsplit(['\'', ' '])
                .find(|s| !s.trim().is_empty())
                .unwrap_or_default()
                .trim();
            let option = if found.starts_with('-') {
                found.to_string()
            } else {
                format!("-{found}")
            };
            return ExecOutput::fail(
                2,
                &format!(
                    "curl: option {option}: is unknown\ncurl: try 'curl --help' or 'curl --manual' for more information\n"
                ),
            );
        }
    };
    let silent = opts.has('s');
    let show_errors = !silent || opts.has('S');
    let Some(url_text) = opts.operands.first() else {
        return ExecOutput::fail(
            2,
            "curl: no URL specified!\ncurl: try 'curl --help' or 'curl --manual' for more information\n",
        );
    };
    let mut out = ExecOutput::default();
    let fail = |out: &mut ExecOutput, code: i32, message: &str| {
        if show_errors {
            out.err(&format!("curl: ({code}) {message}\n"));
        }
        out.exit_code = code;
    };
    let url = match parse_url(url_text) {
        Ok(url) => url,
        Err(UrlError::Scheme) => {
            let scheme = url_text.split("://").next().unwrap_or_default();
            fail(
                &mut out,
                1,
                &format!("Protocol \"{scheme}\" not supported or disabled in libcurl"),
            );
            return out;
        }
        Err(UrlError::Port) => {
            fail(
                &mut out,
                3,
                "URL rejected: Port number was not a decimal number between 0 and 65535",
            );
            return out;
        }
        Err(UrlError::Host) => {
            fail(&mut out, 3, "URL rejected: No host part in the URL");
            return out;
        }
    };
    let Some(ip) = resolve_host(call, &url.host) else {
        fail(
            &mut out,
            6,
            &format!("Could not resolve host: {}", url.host),
        );
        return out;
    };
    let verbose = opts.has('v');
    if verbose {
        out.err(&format!("*   Trying {ip}:{}...\n", url.port));
    }
    let (status, body) = match call.ctx.http.get(&url.host, url.port, &url.path) {
        Ok(response) => response,
        Err(reason) => {
            fail(
                &mut out,
                7,
                &format!(
                    "Failed to connect to {} port {} after 0 ms: {reason}",
                    url.host, url.port
                ),
            );
            return out;
        }
    };
    let reason = reason_phrase(status);
    if verbose {
        out.err(&format!(
            "* Connected to {} ({ip}) port {}\n> GET {} HTTP/1.1\n> Host: {}\n> User-Agent: curl/8.5.0\n> Accept: */*\n>\n< HTTP/1.1 {status} {reason}\n< Content-Length: {}\n<\n",
            url.host,
            url.port,
            url.path,
            if url.port == 80 || url.port == 443 {
                url.host.clone()
            } else {
                format!("{}:{}", url.host, url.port)
            },
            body.len()
        ));
    }
    if opts.has('f') && status >= 400 {
        fail(
            &mut out,
            22,
            &format!("The requested URL returned error: {status}"),
        );
        return out;
    }
    let headers = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    let mut document = Vec::new();
    if opts.has('I') {
        document.extend_from_slice(headers.as_bytes());
    } else {
        if opts.has('i') {
            document.extend_from_slice(headers.as_bytes());
        }
        document.extend_from_slice(&body);
    }
    if !silent && !verbose {
        let size = document.len();
        out.err(&format!(
            "  % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current\n                                 Dload  Upload   Total   Spent    Left  Speed\n100 {size:>5}  100 {size:>5}    0     0   {size:>5}      0 --:--:-- --:--:-- --:--:-- {size:>5}\n"
        ));
    }
    let output_file = if opts.has('O') {
        let name = url
            .path
            .split(['?', '#'])
            .next()
            .unwrap_or_default()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        if name.is_empty() {
            fail(&mut out, 23, "Remote file name has no length");
            return out;
        }
        Some(name)
    } else {
        opts.value('o').map(str::to_string)
    };
    match output_file {
        Some(file) if file != "-" => {
            if call.write(&file, &document, false).is_err() {
                fail(
                    &mut out,
                    23,
                    &format!(
                        "Failure writing output to destination, passed {} returned 0",
                        document.len()
                    ),
                );
                return out;
            }
        }
        _ => out.stdout.extend_from_slice(&document),
    }
    if let Some(format) = opts.value('w') {
        let written = format
            .replace("%{http_code}", &format!("{status:03}"))
            .replace("%{response_code}", &format!("{status:03}"))
            .replace("%{size_download}", &body.len().to_string())
            .replace("%{url_effective}", url_text)
            .replace("%{remote_ip}", &ip.to_string())
            .replace("%{remote_port}", &url.port.to_string())
            .replace("%{time_total}", "0.001000")
            .replace("%{scheme}", &url.scheme.to_ascii_uppercase());
        out.out(&unescape(&written, false).0);
    }
    out
}

// ---------------------------------------------------------------------------------------
// sh -c: lexer
// ---------------------------------------------------------------------------------------

/// One piece of a shell word.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// Unquoted text: subject to globbing.
    Lit(String),
    /// Quoted or escaped text: taken as is.
    Quoted(String),
    /// `$NAME` or `${NAME...}`.
    Param {
        name: String,
        op: ParamOp,
        arg: String,
        quoted: bool,
    },
    /// `${#NAME}`.
    Length { name: String, quoted: bool },
    /// `$(...)` or `` `...` ``.
    Command { script: String, quoted: bool },
    /// `$((...))`.
    Arith { expr: String, quoted: bool },
}

/// The operator of a `${NAME<op>WORD}` expansion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ParamOp {
    Plain,
    Default { colon: bool },
    Assign { colon: bool },
    Alternative { colon: bool },
    Error { colon: bool },
    TrimSuffix { longest: bool },
    TrimPrefix { longest: bool },
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Word {
    parts: Vec<Part>,
}

impl Word {
    /// The word's text if it is a single unquoted literal (how keywords are spotted).
    fn plain(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [Part::Lit(text)] => Some(text),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Semi,
    Newline,
    And,
    Or,
    Pipe,
    Amp,
    LParen,
    RParen,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RedirOp {
    /// `>` or `>|`
    Out,
    /// `>>`
    Append,
    /// `<`
    In,
    /// `>&`
    DupOut,
    /// `<&`
    DupIn,
    /// `&>`
    OutErr,
    /// `&>>`
    AppendOutErr,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(Word),
    Op(Op),
    Redir { fd: Option<u32>, op: RedirOp },
}

fn describe(tok: Option<&Tok>) -> String {
    match tok {
        None => "end of file".to_string(),
        Some(Tok::Word(w)) => format!("\"{}\"", w.plain().unwrap_or("word")),
        Some(Tok::Op(op)) => format!(
            "\"{}\"",
            match op {
                Op::Semi => ";",
                Op::Newline => "newline",
                Op::And => "&&",
                Op::Or => "||",
                Op::Pipe => "|",
                Op::Amp => "&",
                Op::LParen => "(",
                Op::RParen => ")",
            }
        ),
        Some(Tok::Redir { op, .. }) => format!(
            "\"{}\"",
            match op {
                RedirOp::Out => ">",
                RedirOp::Append => ">>",
                RedirOp::In => "<",
                RedirOp::DupOut => ">&",
                RedirOp::DupIn => "<&",
                RedirOp::OutErr => "&>",
                RedirOp::AppendOutErr => "&>>",
            }
        ),
    }
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
}

/// What lexing a word produced: a word, or an IO number before a redirection.
enum Lexed {
    Word(Word),
    Fd(u32),
}

const UNTERMINATED: &str = "syntax error: unterminated quoted string";

impl Lexer {
    fn new(text: &str) -> Lexer {
        Lexer {
            chars: text.chars().collect(),
            pos: 0,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn tokens(mut self) -> Result<Vec<Tok>, String> {
        let mut toks = Vec::new();
        loop {
            while matches!(self.peek(), Some(' ' | '\t' | '\r')) {
                self.pos += 1;
            }
            let Some(c) = self.peek() else { break };
            match c {
                '#' => {
                    while !matches!(self.peek(), None | Some('\n')) {
                        self.pos += 1;
                    }
                }
                '\\' if self.peek_at(1) == Some('\n') => self.pos += 2,
                '\n' => {
                    self.pos += 1;
                    toks.push(Tok::Op(Op::Newline));
                }
                ';' => {
                    if self.peek_at(1) == Some(';') {
                        return Err("syntax error: unexpected \";;\"".to_string());
                    }
                    self.pos += 1;
                    toks.push(Tok::Op(Op::Semi));
                }
                '&' => match (self.peek_at(1), self.peek_at(2)) {
                    (Some('&'), _) => {
                        self.pos += 2;
                        toks.push(Tok::Op(Op::And));
                    }
                    (Some('>'), Some('>')) => {
                        self.pos += 3;
                        toks.push(Tok::Redir {
                            fd: None,
                            op: RedirOp::AppendOutErr,
                        });
                    }
                    (Some('>'), _) => {
                        self.pos += 2;
                        toks.push(Tok::Redir {
                            fd: None,
                            op: RedirOp::OutErr,
                        });
                    }
                    _ => {
                        self.pos += 1;
                        toks.push(Tok::Op(Op::Amp));
                    }
                },
                '|' => {
                    if self.peek_at(1) == Some('|') {
                        self.pos += 2;
                        toks.push(Tok::Op(Op::Or));
                    } else {
                        self.pos += 1;
                        toks.push(Tok::Op(Op::Pipe));
                    }
                }
                '(' => {
                    self.pos += 1;
                    toks.push(Tok::Op(Op::LParen));
                }
                ')' => {
                    self.pos += 1;
                    toks.push(Tok::Op(Op::RParen));
                }
                '<' | '>' => toks.push(self.redirect(None)?),
                _ => match self.word(&|c| {
                    matches!(
                        c,
                        ' ' | '\t' | '\r' | '\n' | ';' | '&' | '|' | '(' | ')' | '<' | '>'
                    )
                })? {
                    Lexed::Word(word) => toks.push(Tok::Word(word)),
                    Lexed::Fd(fd) => toks.push(self.redirect(Some(fd))?),
                },
            }
        }
        Ok(toks)
    }

    fn redirect(&mut self, fd: Option<u32>) -> Result<Tok, String> {
        let first = self.peek();
        let second = self.peek_at(1);
        let (op, len) = match (first, second) {
            (Some('>'), Some('>')) => (RedirOp::Append, 2),
            (Some('>'), Some('&')) => (RedirOp::DupOut, 2),
            (Some('>'), Some('|')) => (RedirOp::Out, 2),
            (Some('>'), _) => (RedirOp::Out, 1),
            (Some('<'), Some('<')) => {
                return Err("here-documents are not supported".to_string());
            }
            (Some('<'), Some('&')) => (RedirOp::DupIn, 2),
            (Some('<'), Some('>')) => (RedirOp::In, 2),
            _ => (RedirOp::In, 1),
        };
        self.pos += len;
        Ok(Tok::Redir { fd, op })
    }

    /// Lexes one word up to an unquoted character for which `stop` holds.
    fn word(&mut self, stop: &dyn Fn(char) -> bool) -> Result<Lexed, String> {
        let mut parts: Vec<Part> = Vec::new();
        let mut lit = String::new();
        let flush = |parts: &mut Vec<Part>, lit: &mut String| {
            if !lit.is_empty() {
                parts.push(Part::Lit(std::mem::take(lit)));
            }
        };
        while let Some(c) = self.peek() {
            if stop(c) {
                if matches!(c, '<' | '>')
                    && parts.is_empty()
                    && !lit.is_empty()
                    && lit.len() <= 2
                    && lit.bytes().all(|b| b.is_ascii_digit())
                    && let Ok(fd) = lit.parse::<u32>()
                {
                    return Ok(Lexed::Fd(fd));
                }
                break;
            }
            match c {
                '\'' => {
                    flush(&mut parts, &mut lit);
                    self.pos += 1;
                    let mut text = String::new();
                    loop {
                        match self.peek() {
                            None => return Err(UNTERMINATED.to_string()),
                            Some('\'') => {
                                self.pos += 1;
                                break;
                            }
                            Some(ch) => {
                                text.push(ch);
                                self.pos += 1;
                            }
                        }
                    }
                    parts.push(Part::Quoted(text));
                }
                '"' => {
                    flush(&mut parts, &mut lit);
                    self.pos += 1;
                    let inner = self.double_quoted(true)?;
                    if inner.is_empty() {
                        parts.push(Part::Quoted(String::new()));
                    }
                    parts.extend(inner);
                }
                '\\' => {
                    self.pos += 1;
                    match self.peek() {
                        Some('\n') => self.pos += 1,
                        Some(next) => {
                            flush(&mut parts, &mut lit);
                            parts.push(Part::Quoted(next.to_string()));
                            self.pos += 1;
                        }
                        None => lit.push('\\'),
                    }
                }
                '$' => match self.dollar(false)? {
                    Some(part) => {
                        flush(&mut parts, &mut lit);
                        parts.push(part);
                    }
                    None => lit.push('$'),
                },
                '`' => {
                    flush(&mut parts, &mut lit);
                    let script = self.backquoted()?;
                    parts.push(Part::Command {
                        script,
                        quoted: false,
                    });
                }
                other => {
                    lit.push(other);
                    self.pos += 1;
                }
            }
        }
        flush(&mut parts, &mut lit);
        Ok(Lexed::Word(Word { parts }))
    }

    /// Lexes double-quoted content after the opening quote (up to and including the
    /// closing one when `closing`, else to the end of input).
    fn double_quoted(&mut self, closing: bool) -> Result<Vec<Part>, String> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let flush = |parts: &mut Vec<Part>, text: &mut String| {
            if !text.is_empty() {
                parts.push(Part::Quoted(std::mem::take(text)));
            }
        };
        loop {
            let Some(c) = self.peek() else {
                if closing {
                    return Err(UNTERMINATED.to_string());
                }
                break;
            };
            match c {
                '"' if closing => {
                    self.pos += 1;
                    break;
                }
                '\\' => {
                    self.pos += 1;
                    match self.peek() {
                        Some('\n') => self.pos += 1,
                        Some(e @ ('$' | '`' | '"' | '\\')) => {
                            text.push(e);
                            self.pos += 1;
                        }
                        _ => text.push('\\'),
                    }
                }
                '$' => match self.dollar(true)? {
                    Some(part) => {
                        flush(&mut parts, &mut text);
                        parts.push(part);
                    }
                    None => text.push('$'),
                },
                '`' => {
                    flush(&mut parts, &mut text);
                    let script = self.backquoted()?;
                    parts.push(Part::Command {
                        script,
                        quoted: true,
                    });
                }
                other => {
                    text.push(other);
                    self.pos += 1;
                }
            }
        }
        flush(&mut parts, &mut text);
        Ok(parts)
    }

    fn backquoted(&mut self) -> Result<String, String> {
        self.pos += 1;
        let mut script = String::new();
        loop {
            match self.peek() {
                None => return Err("syntax error: unterminated `...`".to_string()),
                Some('`') => {
                    self.pos += 1;
                    return Ok(script);
                }
                Some('\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(e @ ('`' | '\\' | '$')) => {
                            script.push(e);
                            self.pos += 1;
                        }
                        _ => script.push('\\'),
                    }
                }
                Some(c) => {
                    script.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// Index just past the `close` matching an already consumed `open`, skipping quotes.
    fn matching(&self, from: usize, open: char, close: char) -> Option<usize> {
        let mut depth = 1usize;
        let mut i = from;
        while let Some(&c) = self.chars.get(i) {
            match c {
                '\\' => i += 1,
                '\'' => {
                    i += 1;
                    while self.chars.get(i).is_some_and(|c| *c != '\'') {
                        i += 1;
                    }
                }
                '"' => {
                    i += 1;
                    while let Some(&q) = self.chars.get(i) {
                        if q == '\\' {
                            i += 1;
                        } else if q == '"' {
                            break;
                        }
                        i += 1;
                    }
                }
                c if c == open => depth += 1,
                c if c == close => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                _ => {}
            }
            i += 1;
        }
        None
    }

    fn slice(&self, from: usize, to: usize) -> String {
        self.chars
            .get(from..to)
            .unwrap_or_default()
            .iter()
            .collect()
    }

    /// Lexes a `$` expansion at the cursor, or `None` for a literal `$`.
    fn dollar(&mut self, quoted: bool) -> Result<Option<Part>, String> {
        let start = self.pos;
        match self.peek_at(1) {
            Some('(') if self.peek_at(2) == Some('(') => {
                let body = start + 3;
                let Some(end) = self.matching(body, '(', ')') else {
                    return Err("syntax error: missing '))'".to_string());
                };
                if self.chars.get(end) != Some(&')') {
                    // `$( (...) ...)`: a command substitution starting with a subshell.
                    let Some(end) = self.matching(start + 2, '(', ')') else {
                        return Err("syntax error: missing ')'".to_string());
                    };
                    let script = self.slice(start + 2, end - 1);
                    self.pos = end;
                    return Ok(Some(Part::Command { script, quoted }));
                }
                let expr = self.slice(body, end - 1);
                self.pos = end + 1;
                Ok(Some(Part::Arith { expr, quoted }))
            }
            Some('(') => {
                let Some(end) = self.matching(start + 2, '(', ')') else {
                    return Err("syntax error: missing ')'".to_string());
                };
                let script = self.slice(start + 2, end - 1);
                self.pos = end;
                Ok(Some(Part::Command { script, quoted }))
            }
            Some('{') => {
                let Some(end) = self.matching(start + 2, '{', '}') else {
                    return Err("syntax error: missing '}'".to_string());
                };
                let inner = self.slice(start + 2, end - 1);
                self.pos = end;
                parse_braced(&inner, quoted).map(Some)
            }
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                let mut name = String::new();
                let mut i = start + 1;
                while let Some(&c) = self.chars.get(i) {
                    if c.is_ascii_alphanumeric() || c == '_' {
                        name.push(c);
                        i += 1;
                    } else {
                        break;
                    }
                }
                self.pos = i;
                Ok(Some(Part::Param {
                    name,
                    op: ParamOp::Plain,
                    arg: String::new(),
                    quoted,
                }))
            }
            Some(c)
                if c.is_ascii_digit() || matches!(c, '?' | '#' | '$' | '!' | '@' | '*' | '-') =>
            {
                self.pos = start + 2;
                Ok(Some(Part::Param {
                    name: c.to_string(),
                    op: ParamOp::Plain,
                    arg: String::new(),
                    quoted,
                }))
            }
            _ => {
                self.pos = start + 1;
                Ok(None)
            }
        }
    }
}

fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parses the inside of `${...}`.
fn parse_braced(inner: &str, quoted: bool) -> Result<Part, String> {
    const BAD: &str = "syntax error: bad substitution";
    if let Some(name) = inner.strip_prefix('#')
        && !name.is_empty()
    {
        if is_name(name) || name.chars().all(|c| c.is_ascii_digit()) || matches!(name, "@" | "*") {
            return Ok(Part::Length {
                name: name.to_string(),
                quoted,
            });
        }
        return Err(BAD.to_string());
    }
    let name_len = if inner
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
    {
        inner
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(inner.len())
    } else if inner.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        inner
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(inner.len())
    } else if inner
        .chars()
        .next()
        .is_some_and(|c| matches!(c, '?' | '#' | '$' | '!' | '@' | '*' | '-'))
    {
        1
    } else {
        return Err(BAD.to_string());
    };
    let name = inner.get(..name_len).unwrap_or_default().to_string();
    let rest = inner.get(name_len..).unwrap_or_default();
    let ops: [(&str, ParamOp); 12] = [
        (":-", ParamOp::Default { colon: true }),
        (":=", ParamOp::Assign { colon: true }),
        (":+", ParamOp::Alternative { colon: true }),
        (":?", ParamOp::Error { colon: true }),
        ("%%", ParamOp::TrimSuffix { longest: true }),
        ("##", ParamOp::TrimPrefix { longest: true }),
        ("-", ParamOp::Default { colon: false }),
        ("=", ParamOp::Assign { colon: false }),
        ("+", ParamOp::Alternative { colon: false }),
        ("?", ParamOp::Error { colon: false }),
        ("%", ParamOp::TrimSuffix { longest: false }),
        ("#", ParamOp::TrimPrefix { longest: false }),
    ];
    if rest.is_empty() {
        return Ok(Part::Param {
            name,
            op: ParamOp::Plain,
            arg: String::new(),
            quoted,
        });
    }
    for (prefix, op) in ops {
        if let Some(arg) = rest.strip_prefix(prefix) {
            return Ok(Part::Param {
                name,
                op,
                arg: arg.to_string(),
                quoted,
            });
        }
    }
    Err(BAD.to_string())
}

// ---------------------------------------------------------------------------------------
// sh -c: parser
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
struct Redir {
    fd: Option<u32>,
    op: RedirOp,
    target: Word,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Simple {
        assigns: Vec<(String, Word)>,
        words: Vec<Word>,
        redirs: Vec<Redir>,
    },
    Pipeline {
        negate: bool,
        stages: Vec<Node>,
    },
    AndOr {
        first: Box<Node>,
        rest: Vec<(bool, Node)>,
    },
    List(Vec<Node>),
    If {
        branches: Vec<(Node, Node)>,
        otherwise: Option<Box<Node>>,
    },
    For {
        var: String,
        items: Option<Vec<Word>>,
        body: Box<Node>,
    },
    While {
        cond: Box<Node>,
        body: Box<Node>,
        until: bool,
    },
    Group(Box<Node>),
    Subshell(Box<Node>),
    Redirected {
        node: Box<Node>,
        redirs: Vec<Redir>,
    },
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
}

const RESERVED: &[&str] = &[
    "then", "else", "elif", "fi", "do", "done", "}", "in", "esac",
];

fn parse_script(text: &str) -> Result<Node, String> {
    let toks = Lexer::new(text).tokens()?;
    let mut parser = Parser {
        toks,
        pos: 0,
        depth: 0,
    };
    let list = parser.list(&[])?;
    if parser.pos < parser.toks.len() {
        return Err(format!(
            "syntax error: unexpected {}",
            describe(parser.toks.get(parser.pos))
        ));
    }
    Ok(list)
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn peek_plain(&self) -> Option<&str> {
        match self.peek() {
            Some(Tok::Word(w)) => w.plain(),
            _ => None,
        }
    }

    fn unexpected(&self) -> String {
        format!("syntax error: unexpected {}", describe(self.peek()))
    }

    fn skip_newlines(&mut self) {
        while self.peek() == Some(&Tok::Op(Op::Newline)) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, keyword: &str) -> Result<(), String> {
        if self.peek_plain() == Some(keyword) {
            self.pos += 1;
            return Ok(());
        }
        if self.peek().is_none() {
            return Err(format!(
                "syntax error: unexpected end of file (expecting \"{keyword}\")"
            ));
        }
        Err(self.unexpected())
    }

    fn list(&mut self, stops: &[&str]) -> Result<Node, String> {
        let mut items = Vec::new();
        loop {
            self.skip_newlines();
            match self.peek() {
                None | Some(Tok::Op(Op::RParen)) => break,
                Some(Tok::Word(w)) if w.plain().is_some_and(|p| stops.contains(&p)) => break,
                _ => {}
            }
            items.push(self.and_or()?);
            match self.peek() {
                Some(Tok::Op(Op::Semi | Op::Amp | Op::Newline)) => self.pos += 1,
                _ => break,
            }
        }
        Ok(Node::List(items))
    }

    /// A list that must not be empty, as after `if`, `then`, `do`.
    fn body(&mut self, stops: &[&str]) -> Result<Node, String> {
        let list = self.list(stops)?;
        if matches!(&list, Node::List(items) if items.is_empty()) {
            if self.peek().is_none() {
                return Err(format!(
                    "syntax error: unexpected end of file (expecting \"{}\")",
                    stops.first().copied().unwrap_or("done")
                ));
            }
            return Err(self.unexpected());
        }
        Ok(list)
    }

    fn and_or(&mut self) -> Result<Node, String> {
        let first = self.pipeline()?;
        let mut rest = Vec::new();
        loop {
            let is_and = match self.peek() {
                Some(Tok::Op(Op::And)) => true,
                Some(Tok::Op(Op::Or)) => false,
                _ => break,
            };
            self.pos += 1;
            self.skip_newlines();
            rest.push((is_and, self.pipeline()?));
        }
        if rest.is_empty() {
            Ok(first)
        } else {
            Ok(Node::AndOr {
                first: Box::new(first),
                rest,
            })
        }
    }

    fn pipeline(&mut self) -> Result<Node, String> {
        let negate = self.peek_plain() == Some("!");
        if negate {
            self.pos += 1;
        }
        let mut stages = vec![self.command()?];
        while self.peek() == Some(&Tok::Op(Op::Pipe)) {
            self.pos += 1;
            self.skip_newlines();
            stages.push(self.command()?);
        }
        if stages.len() == 1 && !negate {
            return Ok(stages.pop().unwrap_or(Node::List(Vec::new())));
        }
        Ok(Node::Pipeline { negate, stages })
    }

    fn command(&mut self) -> Result<Node, String> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err("syntax error: nesting too deep".to_string());
        }
        let result = self.command_inner();
        self.depth -= 1;
        result
    }

    fn command_inner(&mut self) -> Result<Node, String> {
        let compound = match self.peek() {
            Some(Tok::Op(Op::LParen)) => {
                self.pos += 1;
                let body = self.body(&[])?;
                if self.peek() != Some(&Tok::Op(Op::RParen)) {
                    if self.peek().is_none() {
                        return Err(
                            "syntax error: unexpected end of file (expecting \")\")".to_string()
                        );
                    }
                    return Err(self.unexpected());
                }
                self.pos += 1;
                Node::Subshell(Box::new(body))
            }
            Some(Tok::Op(_)) | None => return Err(self.unexpected()),
            _ => match self.peek_plain() {
                Some("if") => self.if_clause()?,
                Some("for") => self.for_clause()?,
                Some(kw @ ("while" | "until")) => {
                    let until = kw == "until";
                    self.pos += 1;
                    let cond = self.body(&["do"])?;
                    self.expect("do")?;
                    let body = self.body(&["done"])?;
                    self.expect("done")?;
                    Node::While {
                        cond: Box::new(cond),
                        body: Box::new(body),
                        until,
                    }
                }
                Some("{") => {
                    self.pos += 1;
                    let body = self.body(&["}"])?;
                    self.expect("}")?;
                    Node::Group(Box::new(body))
                }
                Some(kw @ ("case" | "function" | "select")) => {
                    return Err(format!("syntax error: \"{kw}\" is not supported here"));
                }
                Some(kw) if RESERVED.contains(&kw) => return Err(self.unexpected()),
                _ => return self.simple(),
            },
        };
        let mut redirs = Vec::new();
        while let Some(Tok::Redir { .. }) = self.peek() {
            redirs.push(self.redirect()?);
        }
        if redirs.is_empty() {
            Ok(compound)
        } else {
            Ok(Node::Redirected {
                node: Box::new(compound),
                redirs,
            })
        }
    }

    fn redirect(&mut self) -> Result<Redir, String> {
        let Some(Tok::Redir { fd, op }) = self.peek().cloned() else {
            return Err(self.unexpected());
        };
        self.pos += 1;
        match self.peek().cloned() {
            Some(Tok::Word(target)) => {
                self.pos += 1;
                Ok(Redir { fd, op, target })
            }
            _ => Err(self.unexpected()),
        }
    }

    fn simple(&mut self) -> Result<Node, String> {
        let mut assigns = Vec::new();
        let mut words: Vec<Word> = Vec::new();
        let mut redirs = Vec::new();
        loop {
            match self.peek() {
                Some(Tok::Word(word)) => {
                    let word = word.clone();
                    self.pos += 1;
                    if words.is_empty()
                        && let Some(assign) = split_assignment(&word)
                    {
                        assigns.push(assign);
                    } else {
                        words.push(word);
                    }
                }
                Some(Tok::Redir { .. }) => redirs.push(self.redirect()?),
                _ => break,
            }
        }
        if assigns.is_empty() && words.is_empty() && redirs.is_empty() {
            return Err(self.unexpected());
        }
        Ok(Node::Simple {
            assigns,
            words,
            redirs,
        })
    }

    fn if_clause(&mut self) -> Result<Node, String> {
        self.pos += 1;
        let mut branches = Vec::new();
        let cond = self.body(&["then"])?;
        self.expect("then")?;
        let body = self.body(&["elif", "else", "fi"])?;
        branches.push((cond, body));
        let mut otherwise = None;
        loop {
            match self.peek_plain() {
                Some("elif") => {
                    self.pos += 1;
                    let cond = self.body(&["then"])?;
                    self.expect("then")?;
                    let body = self.body(&["elif", "else", "fi"])?;
                    branches.push((cond, body));
                }
                Some("else") => {
                    self.pos += 1;
                    otherwise = Some(Box::new(self.body(&["fi"])?));
                    self.expect("fi")?;
                    break;
                }
                _ => {
                    self.expect("fi")?;
                    break;
                }
            }
        }
        Ok(Node::If {
            branches,
            otherwise,
        })
    }

    fn for_clause(&mut self) -> Result<Node, String> {
        self.pos += 1;
        let var = match self.peek_plain() {
            Some(name) if is_name(name) => name.to_string(),
            _ => return Err("syntax error: bad for loop variable".to_string()),
        };
        self.pos += 1;
        self.skip_newlines();
        let mut items = None;
        if self.peek_plain() == Some("in") {
            self.pos += 1;
            let mut list = Vec::new();
            while let Some(Tok::Word(word)) = self.peek() {
                list.push(word.clone());
                self.pos += 1;
            }
            items = Some(list);
        }
        if matches!(self.peek(), Some(Tok::Op(Op::Semi | Op::Newline))) {
            self.pos += 1;
        }
        self.skip_newlines();
        self.expect("do")?;
        let body = self.body(&["done"])?;
        self.expect("done")?;
        Ok(Node::For {
            var,
            items,
            body: Box::new(body),
        })
    }
}

/// Splits `NAME=value` into its name and value word.
fn split_assignment(word: &Word) -> Option<(String, Word)> {
    let Some(Part::Lit(first)) = word.parts.first() else {
        return None;
    };
    let (name, value) = first.split_once('=')?;
    if !is_name(name) {
        return None;
    }
    let mut parts = Vec::new();
    if !value.is_empty() {
        parts.push(Part::Lit(value.to_string()));
    }
    parts.extend(word.parts.iter().skip(1).cloned());
    Some((name.to_string(), Word { parts }))
}

// ---------------------------------------------------------------------------------------
// sh -c: interpreter
// ---------------------------------------------------------------------------------------

fn cmd_sh(args: &[String], call: &Call, name: &'static str) -> ExecOutput {
    let mut script: Option<String> = None;
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
        if flags.starts_with('-') {
            // Long options such as --login or --norc are accepted and ignored.
            rest = tail;
            continue;
        }
        for flag in flags.chars() {
            match flag {
                'c' => command_mode = true,
                'e' => errexit = true,
                'x' | 'l' | 'i' | 's' | 'u' | 'v' | 'o' => {}
                other => {
                    return ExecOutput::fail(2, &format!("{name}: -{other}: invalid option\n"));
                }
            }
        }
        rest = tail;
    }
    let mut positional = vec![name.to_string()];
    if command_mode {
        let Some((text, params)) = rest.split_first() else {
            return ExecOutput::fail(2, &format!("{name}: -c requires an argument\n"));
        };
        script = Some(text.clone());
        if let Some((zero, params)) = params.split_first() {
            positional = vec![zero.clone()];
            positional.extend(params.iter().cloned());
        }
    } else if let Some((file, params)) = rest.split_first() {
        match call.read(file) {
            Ok(data) => script = Some(String::from_utf8_lossy(&data).into_owned()),
            Err(err) => {
                return if name == "bash" {
                    ExecOutput::fail(127, &format!("bash: {file}: {err}\n"))
                } else {
                    ExecOutput::fail(2, &format!("sh: can't open '{file}': {err}\n"))
                };
            }
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
        return ExecOutput::fail(2, &format!("{name}: too many nested shells\n"));
    }
    let mut shell = Shell::new(call, name, positional, stdin);
    shell.errexit = errexit;
    shell.run_text(&text)
}

/// Runs a script file executed by path (`./run.sh`), as `sh` would.
fn run_script_file(path: &str, shown: &str, args: &[String], call: &Call) -> ExecOutput {
    let mut argv = vec![path.to_string()];
    argv.extend(args.iter().cloned());
    let data = match call.fs().read(path) {
        Ok(data) => data,
        Err(err) => return ExecOutput::fail(126, &format!("sh: {shown}: {err}\n")),
    };
    let text = String::from_utf8_lossy(&data).into_owned();
    let shell_name =
        if text.starts_with("#!") && text.lines().next().is_some_and(|l| l.contains("bash")) {
            "bash"
        } else {
            "sh"
        };
    if call.depth >= MAX_DEPTH {
        return ExecOutput::fail(2, &format!("{shell_name}: too many nested shells\n"));
    }
    let mut positional = vec![shown.to_string()];
    positional.extend(args.iter().cloned());
    let mut shell = Shell::new(call, shell_name, positional, call.stdin.to_vec());
    shell.run_text(&text)
}

/// A shell variable.
#[derive(Debug, Clone)]
struct Var {
    name: String,
    value: String,
    exported: bool,
}

/// Where a file descriptor's output goes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Sink {
    Stdout,
    Stderr,
    Null,
    File(String),
}

/// Redirections in effect for one command.
struct Redirections {
    out: Sink,
    err: Sink,
    input: Option<Vec<u8>>,
}

/// Loop control requested by `break` or `continue`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LoopControl {
    Break(u32),
    Continue(u32),
}

/// A piece of an expanded word, before field splitting.
enum Piece {
    /// Text from an unquoted literal: globbed, not split.
    Literal(String),
    /// Quoted text: neither split nor globbed.
    Quoted(String),
    /// Text from an unquoted expansion: split and globbed.
    Expanded(String),
    /// A field boundary (between the words of `"$@"`).
    Break,
}

/// A field being built: its text and the glob pattern (quoted characters escaped).
#[derive(Default)]
struct Field {
    text: String,
    pattern: String,
    glob: bool,
}

impl Field {
    fn push(&mut self, c: char, quoted: bool) {
        self.text.push(c);
        if quoted && matches!(c, '*' | '?' | '[' | ']' | '\\') {
            self.pattern.push('\\');
        } else if !quoted && matches!(c, '*' | '?' | '[') {
            self.glob = true;
        }
        self.pattern.push(c);
    }
}

struct Shell<'c, 'a> {
    ctx: &'c ShellContext<'a>,
    budget: &'c Budget,
    depth: usize,
    name: &'static str,
    cwd: String,
    vars: Vec<Var>,
    positional: Vec<String>,
    status: i32,
    errexit: bool,
    nounset: bool,
    xtrace: bool,
    pipefail: bool,
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
    fn new(
        call: &Call<'c, 'a>,
        name: &'static str,
        positional: Vec<String>,
        stdin: Vec<u8>,
    ) -> Self {
        let mut vars: Vec<Var> = Vec::new();
        for (k, v) in call.ctx.env {
            if let Some(existing) = vars.iter_mut().find(|var| var.name == *k) {
                existing.value = v.clone();
            } else {
                vars.push(Var {
                    name: k.clone(),
                    value: v.clone(),
                    exported: true,
                });
            }
        }
        let cwd = fs::normalize(call.ctx.cwd);
        let mut shell = Shell {
            ctx: call.ctx,
            budget: call.budget,
            depth: call.depth + 1,
            name,
            cwd: cwd.clone(),
            vars,
            positional,
            status: 0,
            errexit: false,
            nounset: false,
            xtrace: false,
            pipefail: false,
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
            name: self.name,
            cwd: self.cwd.clone(),
            vars: self.vars.clone(),
            positional: self.positional.clone(),
            status: self.status,
            errexit: self.errexit,
            nounset: self.nounset,
            xtrace: self.xtrace,
            pipefail: self.pipefail,
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
        self.vars
            .iter()
            .find(|v| v.name == name)
            .map(|v| v.value.as_str())
    }

    fn set_var(&mut self, name: &str, value: String) {
        match self.vars.iter_mut().find(|v| v.name == name) {
            Some(var) => var.value = value,
            None => self.vars.push(Var {
                name: name.to_string(),
                value,
                exported: false,
            }),
        }
    }

    fn error_prefix(&self) -> String {
        format!("{}: ", self.name)
    }

    /// Parses and runs a script, reporting syntax errors as the shell would.
    fn run_text(&mut self, text: &str) -> ExecOutput {
        let node = match parse_script(text) {
            Ok(node) => node,
            Err(err) => {
                return ExecOutput::fail(2, &format!("{}{err}\n", self.error_prefix()));
            }
        };
        let mut out = self.exec(&node);
        if let Some(code) = self.exit {
            out.exit_code = code;
        }
        out
    }

    /// Runs a script inside this shell (`eval`, `.`), sharing its state.
    fn eval_text(&mut self, text: &str) -> ExecOutput {
        if self.depth >= MAX_DEPTH {
            return ExecOutput::fail(
                2,
                &format!("{}too many nested evals\n", self.error_prefix()),
            );
        }
        match parse_script(text) {
            Ok(node) => {
                self.depth += 1;
                let out = self.exec(&node);
                self.depth -= 1;
                out
            }
            Err(err) => ExecOutput::fail(2, &format!("{}{err}\n", self.error_prefix())),
        }
    }

    fn stopped(&self) -> bool {
        self.exit.is_some() || self.loop_control.is_some()
    }

    fn exec(&mut self, node: &Node) -> ExecOutput {
        if self.budget.exhausted() {
            self.exit.get_or_insert(1);
            return ExecOutput::fail(1, "");
        }
        let depth = self.budget.depth.get().saturating_add(1);
        if depth > MAX_EXEC_DEPTH {
            self.exit.get_or_insert(2);
            return ExecOutput::fail(2, &format!("{}nesting too deep\n", self.error_prefix()));
        }
        self.budget.depth.set(depth);
        let out = self.exec_node(node);
        self.budget.depth.set(depth - 1);
        self.status = out.exit_code;
        out
    }

    fn exec_node(&mut self, node: &Node) -> ExecOutput {
        match node {
            Node::Simple {
                assigns,
                words,
                redirs,
            } => self.exec_simple(assigns, words, redirs),
            Node::List(items) => self.exec_list(items),
            Node::AndOr { first, rest } => self.exec_and_or(first, rest),
            Node::Pipeline { negate, stages } => self.exec_pipeline(*negate, stages),
            Node::If {
                branches,
                otherwise,
            } => self.exec_if(branches, otherwise.as_deref()),
            Node::For { var, items, body } => self.exec_for(var, items.as_deref(), body),
            Node::While { cond, body, until } => self.exec_while(cond, body, *until),
            Node::Group(body) => self.exec(body),
            Node::Subshell(body) => {
                let mut sub = self.subshell();
                sub.stdin = self
                    .stdin
                    .get(self.stdin_pos..)
                    .unwrap_or_default()
                    .to_vec();
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
        let mut out = ExecOutput {
            exit_code: self.status,
            ..ExecOutput::default()
        };
        for item in items {
            let result = self.exec(item);
            out.append(result);
            self.status = out.exit_code;
            if self.stopped() {
                break;
            }
            let guarded = matches!(item, Node::AndOr { .. })
                || matches!(item, Node::Pipeline { negate: true, .. });
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
        if ran_last && self.errexit && self.condition == 0 && out.exit_code != 0 && !self.stopped()
        {
            self.exit = Some(out.exit_code);
        }
        out
    }

    fn exec_pipeline(&mut self, negate: bool, stages: &[Node]) -> ExecOutput {
        let mut out = ExecOutput::default();
        let saved_stdin = std::mem::take(&mut self.stdin);
        let saved_pos = self.stdin_pos;
        self.stdin = saved_stdin.clone();
        let mut piped: Option<Vec<u8>> = None;
        let mut failed = 0;
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
            if result.exit_code != 0 {
                failed = result.exit_code;
            }
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
        if self.pipefail && failed != 0 {
            out.exit_code = failed;
        }
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
                self.loop_control = if n > 1 {
                    Some(LoopControl::Break(n - 1))
                } else {
                    None
                };
                true
            }
            Some(LoopControl::Continue(n)) => {
                if n > 1 {
                    self.loop_control = Some(LoopControl::Continue(n - 1));
                    true
                } else {
                    self.loop_control = None;
                    false
                }
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
            if !self.budget.tick() {
                out.append(self.limit_hit());
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

    fn exec_while(&mut self, cond: &Node, body: &Node, until: bool) -> ExecOutput {
        let mut out = ExecOutput::default();
        self.loops += 1;
        loop {
            if !self.budget.tick() {
                out.append(self.limit_hit());
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
            if (test.exit_code == 0) == until {
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

    fn limit_hit(&mut self) -> ExecOutput {
        self.exit = Some(1);
        ExecOutput::fail(
            1,
            &format!("{}command limit exceeded\n", self.error_prefix()),
        )
    }

    fn expansion_failure(&mut self, message: &str) -> ExecOutput {
        // A non-interactive shell exits on expansion errors.
        self.exit = Some(2);
        let mut out = ExecOutput::fail(2, &format!("{}{message}\n", self.error_prefix()));
        let pending = std::mem::take(&mut self.pending_stderr);
        out.stderr.splice(0..0, pending);
        out
    }

    fn exec_redirected(&mut self, node: &Node, redirs: &[Redir]) -> ExecOutput {
        let setup = match self.redirections(redirs) {
            Ok(setup) => setup,
            Err(message) => return ExecOutput::fail(1, &message),
        };
        let saved = setup.input.as_ref().map(|input| {
            let old = std::mem::replace(&mut self.stdin, input.clone());
            let pos = std::mem::replace(&mut self.stdin_pos, 0);
            (old, pos)
        });
        let result = self.exec(node);
        if let Some((old, pos)) = saved {
            self.stdin = old;
            self.stdin_pos = pos;
        }
        self.route(result, &setup)
    }

    /// Sends a command's output where its redirections say.
    fn route(&mut self, result: ExecOutput, setup: &Redirections) -> ExecOutput {
        let mut out = ExecOutput {
            exit_code: result.exit_code,
            ..ExecOutput::default()
        };
        for (data, sink) in [(result.stdout, &setup.out), (result.stderr, &setup.err)] {
            match sink {
                Sink::Stdout => out.stdout.extend_from_slice(&data),
                Sink::Stderr => out.stderr.extend_from_slice(&data),
                Sink::Null => {}
                Sink::File(path) => {
                    if data.is_empty() {
                        continue;
                    }
                    if let Err(err) = self.ctx.fs.append(path, &data) {
                        out.err(&format!("{}write error: {err}\n", self.error_prefix()));
                    }
                }
            }
        }
        out
    }

    /// Opens a redirection target for writing (truncating unless `append`).
    fn open_sink(&self, target: &str, append: bool) -> Result<Sink, String> {
        let path = fs::resolve(&self.cwd, target);
        match path.as_str() {
            "/dev/null" => return Ok(Sink::Null),
            "/dev/stdout" | "/proc/self/fd/1" => return Ok(Sink::Stdout),
            "/dev/stderr" | "/proc/self/fd/2" => return Ok(Sink::Stderr),
            _ => {}
        }
        let result = if target.is_empty() {
            Err(FsError::NotFound)
        } else if append {
            self.ctx.fs.append(&path, &[])
        } else {
            self.ctx.fs.write(&path, Vec::new())
        };
        match result {
            Ok(()) => Ok(Sink::File(path)),
            Err(err) => Err(if self.name == "bash" {
                format!("bash: {target}: {err}\n")
            } else {
                let reason = match err {
                    FsError::NotFound | FsError::NotADirectory => {
                        "nonexistent directory".to_string()
                    }
                    other => other.to_string(),
                };
                format!("sh: can't create {target}: {reason}\n")
            }),
        }
    }

    fn redirections(&mut self, redirs: &[Redir]) -> Result<Redirections, String> {
        let mut setup = Redirections {
            out: Sink::Stdout,
            err: Sink::Stderr,
            input: None,
        };
        for redir in redirs {
            let target = match self.expand_single(&redir.target) {
                Ok(target) => target,
                Err(err) => return Err(format!("{}{err}\n", self.error_prefix())),
            };
            let fd = redir.fd;
            match redir.op {
                RedirOp::Out | RedirOp::Append => {
                    let sink = self.open_sink(&target, redir.op == RedirOp::Append)?;
                    match fd.unwrap_or(1) {
                        1 => setup.out = sink,
                        2 => setup.err = sink,
                        _ => {}
                    }
                }
                RedirOp::OutErr | RedirOp::AppendOutErr => {
                    let sink = self.open_sink(&target, redir.op == RedirOp::AppendOutErr)?;
                    setup.out = sink.clone();
                    setup.err = sink;
                }
                RedirOp::DupOut => {
                    let sink = match target.as_str() {
                        "1" => setup.out.clone(),
                        "2" => setup.err.clone(),
                        "-" => Sink::Null,
                        _ if fd.is_none() => {
                            let sink = self.open_sink(&target, false)?;
                            setup.out = sink.clone();
                            setup.err = sink;
                            continue;
                        }
                        _ => {
                            return Err(format!(
                                "{}{target}: bad file descriptor\n",
                                self.error_prefix()
                            ));
                        }
                    };
                    match fd.unwrap_or(1) {
                        1 => setup.out = sink,
                        2 => setup.err = sink,
                        _ => {}
                    }
                }
                RedirOp::In => {
                    if fd.unwrap_or(0) != 0 {
                        continue;
                    }
                    let path = fs::resolve(&self.cwd, &target);
                    let data = if is_dev_null(&path) {
                        Ok(Vec::new())
                    } else if target.is_empty() {
                        Err(FsError::NotFound)
                    } else {
                        self.ctx.fs.read(&path)
                    };
                    match data {
                        Ok(data) => setup.input = Some(data),
                        Err(err) => {
                            return Err(if self.name == "bash" {
                                format!("bash: {target}: {err}\n")
                            } else if err == FsError::NotFound {
                                format!("sh: can't open {target}: no such file\n")
                            } else {
                                format!("sh: can't open {target}: {err}\n")
                            });
                        }
                    }
                }
                RedirOp::DupIn => {}
            }
        }
        Ok(setup)
    }

    /// The environment a command started from this shell gets.
    fn command_env(&self, assigns: &[(String, String)]) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = self
            .vars
            .iter()
            .filter(|v| v.exported && !assigns.iter().any(|(n, _)| *n == v.name))
            .map(|v| (v.name.clone(), v.value.clone()))
            .collect();
        env.extend(assigns.iter().cloned());
        env
    }

    /// Standard input for a command: what is left of the shell's, consumed if the
    /// command reads it.
    fn take_stdin(&mut self, command: &str) -> Vec<u8> {
        if !reads_stdin(command) {
            return Vec::new();
        }
        let rest = self
            .stdin
            .get(self.stdin_pos..)
            .unwrap_or_default()
            .to_vec();
        self.stdin_pos = self.stdin.len();
        rest
    }

    fn exec_simple(
        &mut self,
        assigns: &[(String, Word)],
        words: &[Word],
        redirs: &[Redir],
    ) -> ExecOutput {
        if !self.budget.tick() {
            return self.limit_hit();
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
            ExecOutput {
                exit_code: self.substitution_status.unwrap_or(0),
                ..ExecOutput::default()
            }
        } else {
            if self.xtrace {
                let mut trace = String::from("+");
                for (name, value) in &values {
                    let _ = write!(trace, " {name}={value}");
                }
                for arg in &argv {
                    let _ = write!(trace, " {arg}");
                }
                trace.push('\n');
                self.pending_stderr.extend_from_slice(trace.as_bytes());
            }
            let stdin = match &setup.input {
                Some(input) => input.clone(),
                None => self.take_stdin(argv.first().map(String::as_str).unwrap_or_default()),
            };
            let mut result = match self.builtin(&argv, &values, &stdin) {
                Some(result) => result,
                None => self.external(&argv, &values, &stdin),
            };
            let trace = std::mem::take(&mut self.pending_stderr);
            result.stderr.splice(0..0, trace);
            result
        };
        let mut out = self.route(result, &setup);
        out.stderr.splice(0..0, pending);
        if !self
            .budget
            .spend(out.stdout.len().saturating_add(out.stderr.len()))
        {
            self.exit = Some(1);
            out.err(&format!("{}output limit exceeded\n", self.error_prefix()));
        }
        out
    }

    fn external(
        &mut self,
        argv: &[String],
        assigns: &[(String, String)],
        stdin: &[u8],
    ) -> ExecOutput {
        let env = self.command_env(assigns);
        let ctx = ShellContext {
            cwd: &self.cwd,
            env: &env,
            ..*self.ctx
        };
        let call = Call {
            ctx: &ctx,
            stdin,
            depth: self.depth,
            budget: self.budget,
        };
        let name = argv.first().map(String::as_str).unwrap_or_default();
        if matches!(name, "test" | "[") {
            let args = argv.get(1..).unwrap_or_default();
            return test_with(args, name == "[", &|op, operand| {
                file_test(&call, op, operand)
            });
        }
        match exec_argv(argv, &call) {
            Ok(out) => out,
            Err(Missing::NotFound) if self.name == "bash" => {
                if name.contains('/') {
                    ExecOutput::fail(127, &format!("bash: {name}: No such file or directory\n"))
                } else {
                    ExecOutput::fail(127, &format!("bash: {name}: command not found\n"))
                }
            }
            Err(Missing::NotFound) => ExecOutput::fail(127, &format!("sh: {name}: not found\n")),
            Err(Missing::IsDir) => ExecOutput::fail(
                126,
                &format!(
                    "{}{name}: {}\n",
                    self.error_prefix(),
                    if self.name == "bash" {
                        "Is a directory"
                    } else {
                        "Permission denied"
                    }
                ),
            ),
        }
    }

    /// Runs a shell builtin, or returns `None` if `argv` is not one.
    fn builtin(
        &mut self,
        argv: &[String],
        assigns: &[(String, String)],
        stdin: &[u8],
    ) -> Option<ExecOutput> {
        let (name, args) = argv.split_first()?;
        let prefix = self.error_prefix();
        let out = match name.as_str() {
            ":" => ExecOutput::default(),
            "cd" => {
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
                        if args.first().is_some_and(|a| a == "-") {
                            ExecOutput::with_stdout(format!("{path}\n"))
                        } else {
                            ExecOutput::default()
                        }
                    }
                    Ok(_) => ExecOutput::fail(
                        2,
                        &format!("{prefix}cd: can't cd to {target}: Not a directory\n"),
                    ),
                    Err(err) => {
                        ExecOutput::fail(2, &format!("{prefix}cd: can't cd to {target}: {err}\n"))
                    }
                }
            }
            "export" | "readonly" | "local" => {
                let mut out = ExecOutput::default();
                let names: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
                if names.is_empty() {
                    for var in self.vars.iter().filter(|v| v.exported) {
                        out.out(&format!("export {}='{}'\n", var.name, var.value));
                    }
                }
                for arg in names {
                    let (var_name, value) = match arg.split_once('=') {
                        Some((n, v)) => (n, Some(v.to_string())),
                        None => (arg.as_str(), None),
                    };
                    if !is_name(var_name) {
                        out.err(&format!("{prefix}{name}: {arg}: bad variable name\n"));
                        out.exit_code = 1;
                        continue;
                    }
                    if let Some(value) = value {
                        self.set_var(var_name, value);
                    }
                    if name == "export" {
                        match self.vars.iter_mut().find(|v| v.name == var_name) {
                            Some(var) => var.exported = true,
                            None => self.vars.push(Var {
                                name: var_name.to_string(),
                                value: String::new(),
                                exported: true,
                            }),
                        }
                    }
                }
                out
            }
            "unset" => {
                for arg in args.iter().filter(|a| !a.starts_with('-')) {
                    self.vars.retain(|v| v.name != *arg);
                }
                ExecOutput::default()
            }
            "exit" => {
                let code = match args.first() {
                    None => self.status,
                    Some(arg) => match arg.parse::<i64>() {
                        Ok(n) => i32::try_from(n.rem_euclid(256)).unwrap_or(0),
                        Err(_) => {
                            self.exit = Some(2);
                            return Some(ExecOutput::fail(
                                2,
                                &format!("{prefix}exit: Illegal number: {arg}\n"),
                            ));
                        }
                    },
                };
                self.exit = Some(code);
                ExecOutput {
                    exit_code: code,
                    ..ExecOutput::default()
                }
            }
            "return" => {
                let code = args
                    .first()
                    .and_then(|a| a.parse::<i32>().ok())
                    .unwrap_or(self.status);
                self.exit = Some(code);
                ExecOutput {
                    exit_code: code,
                    ..ExecOutput::default()
                }
            }
            "break" | "continue" => {
                if self.loops == 0 {
                    return Some(ExecOutput::default());
                }
                let n = args
                    .first()
                    .and_then(|a| a.parse::<u32>().ok())
                    .filter(|n| *n > 0)
                    .unwrap_or(1);
                self.loop_control = Some(if name == "break" {
                    LoopControl::Break(n)
                } else {
                    LoopControl::Continue(n)
                });
                ExecOutput::default()
            }
            "set" => self.builtin_set(args),
            "shift" => {
                let n = args
                    .first()
                    .and_then(|a| a.parse::<usize>().ok())
                    .unwrap_or(1);
                if n >= self.positional.len() {
                    if n == 0 {
                        return Some(ExecOutput::default());
                    }
                    return Some(ExecOutput::fail(
                        2,
                        &format!("{prefix}shift: can't shift that many\n"),
                    ));
                }
                self.positional.drain(1..=n);
                ExecOutput::default()
            }
            "eval" => {
                let text = args.join(" ");
                self.eval_text(&text)
            }
            "." | "source" => {
                let Some(file) = args.first() else {
                    return Some(ExecOutput::fail(
                        2,
                        &format!("{prefix}.: filename argument required\n"),
                    ));
                };
                let path = fs::resolve(&self.cwd, file);
                match self.ctx.fs.read(&path) {
                    Ok(data) => {
                        let text = String::from_utf8_lossy(&data).into_owned();
                        self.eval_text(&text)
                    }
                    Err(err) => {
                        self.exit = Some(2);
                        ExecOutput::fail(2, &format!("{prefix}.: can't open '{file}': {err}\n"))
                    }
                }
            }
            "exec" => {
                if args.is_empty() {
                    return Some(ExecOutput::default());
                }
                let out = self.external(args, assigns, stdin);
                self.exit = Some(out.exit_code);
                out
            }
            "read" => self.builtin_read(args),
            "command" => {
                let Some((first, rest)) = args.split_first() else {
                    return Some(ExecOutput::default());
                };
                if first == "-v" || first == "-V" {
                    let mut out = ExecOutput::default();
                    for arg in rest {
                        if is_command(arg) {
                            out.out(&format!("/bin/{arg}\n"));
                        } else if is_shell_builtin(arg) {
                            out.out(&format!("{arg}\n"));
                        } else {
                            out.exit_code = 127;
                        }
                    }
                    out
                } else {
                    self.external(args, assigns, stdin)
                }
            }
            "type" => {
                let mut out = ExecOutput::default();
                for arg in args {
                    if is_shell_builtin(arg) {
                        out.out(&format!("{arg} is a shell builtin\n"));
                    } else if is_command(arg) {
                        out.out(&format!("{arg} is /bin/{arg}\n"));
                    } else {
                        out.out(&format!("{arg}: not found\n"));
                        out.exit_code = 127;
                    }
                }
                out
            }
            "pwd" => ExecOutput::with_stdout(format!("{}\n", self.cwd)),
            _ => return None,
        };
        Some(out)
    }

    fn builtin_set(&mut self, args: &[String]) -> ExecOutput {
        if args.is_empty() {
            let mut out = ExecOutput::default();
            let mut vars: Vec<&Var> = self.vars.iter().collect();
            vars.sort_by(|a, b| a.name.cmp(&b.name));
            for var in vars {
                out.out(&format!(
                    "{}='{}'\n",
                    var.name,
                    var.value.replace('\'', "'\\''")
                ));
            }
            return out;
        }
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            if arg == "--" {
                let zero = self.positional.first().cloned().unwrap_or_default();
                self.positional = vec![zero];
                self.positional.extend(iter.by_ref().cloned());
                break;
            }
            let (on, flags) = match (arg.strip_prefix('-'), arg.strip_prefix('+')) {
                (Some(f), _) => (true, f),
                (_, Some(f)) => (false, f),
                _ => {
                    let zero = self.positional.first().cloned().unwrap_or_default();
                    self.positional = vec![zero, arg.clone()];
                    self.positional.extend(iter.by_ref().cloned());
                    break;
                }
            };
            for flag in flags.chars() {
                match flag {
                    'e' => self.errexit = on,
                    'u' => self.nounset = on,
                    'x' => self.xtrace = on,
                    'o' => {
                        if let Some(option) = iter.next() {
                            match option.as_str() {
                                "pipefail" => self.pipefail = on,
                                "errexit" => self.errexit = on,
                                "nounset" => self.nounset = on,
                                "xtrace" => self.xtrace = on,
                                _ => {}
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        ExecOutput::default()
    }

    fn builtin_read(&mut self, args: &[String]) -> ExecOutput {
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
        let names: Vec<String> = if names.is_empty() {
            vec!["REPLY".to_string()]
        } else {
            names.into_iter().cloned().collect()
        };
        let mut fields = line.split_whitespace();
        let count = names.len();
        for (i, name) in names.iter().enumerate() {
            let value = if i + 1 == count {
                fields.by_ref().collect::<Vec<_>>().join(" ")
            } else {
                fields.next().unwrap_or_default().to_string()
            };
            self.set_var(name, value);
        }
        ExecOutput {
            exit_code: i32::from(!complete),
            ..ExecOutput::default()
        }
    }
}

fn is_shell_builtin(name: &str) -> bool {
    matches!(
        name,
        ":" | "cd"
            | "export"
            | "readonly"
            | "local"
            | "unset"
            | "exit"
            | "return"
            | "break"
            | "continue"
            | "set"
            | "shift"
            | "eval"
            | "."
            | "source"
            | "exec"
            | "read"
            | "command"
            | "type"
            | "pwd"
    )
}

// ---------------------------------------------------------------------------------------
// sh -c: expansions
// ---------------------------------------------------------------------------------------

impl Shell<'_, '_> {
    /// The value of a special or named parameter.
    fn param(&self, name: &str) -> Option<String> {
        match name {
            "?" => Some(self.status.to_string()),
            "$" => Some("1".to_string()),
            "!" => Some(String::new()),
            "#" => Some(self.positional.len().saturating_sub(1).to_string()),
            "@" | "*" => Some(self.positional.get(1..).unwrap_or_default().join(" ")),
            "-" => {
                let mut flags = String::new();
                if self.errexit {
                    flags.push('e');
                }
                if self.nounset {
                    flags.push('u');
                }
                if self.xtrace {
                    flags.push('x');
                }
                Some(flags)
            }
            _ if name.chars().all(|c| c.is_ascii_digit()) => {
                let index = name.parse::<usize>().ok()?;
                self.positional.get(index).cloned()
            }
            "PWD" => Some(self.var("PWD").unwrap_or(&self.cwd).to_string()),
            "RANDOM" if self.var("RANDOM").is_none() => {
                let nanos = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.subsec_nanos())
                    .unwrap_or(0);
                Some((nanos / 1000 % 32_768).to_string())
            }
            _ => self.var(name).map(str::to_string),
        }
    }

    /// Expands words into fields: parameter, command and arithmetic expansion, field
    /// splitting and pathname expansion.
    fn expand_words(&mut self, words: &[Word]) -> Result<Vec<String>, String> {
        let mut argv = Vec::new();
        for word in words {
            let pieces = self.expand_parts(&word.parts)?;
            for field in split_fields(pieces) {
                if field.glob {
                    let matches = self.glob(&field.pattern);
                    if !matches.is_empty() {
                        argv.extend(matches);
                        continue;
                    }
                }
                argv.push(field.text);
            }
            if argv.iter().map(String::len).sum::<usize>() > MAX_STRING {
                return Err("out of memory".to_string());
            }
        }
        Ok(argv)
    }

    /// Expands a word into one string, without splitting or globbing.
    fn expand_single(&mut self, word: &Word) -> Result<String, String> {
        let pieces = self.expand_parts(&word.parts)?;
        Ok(join_pieces(pieces, false))
    }

    /// Expands the text of an operand (`${X:-text}`, arithmetic) into one string;
    /// `pattern` escapes quoted glob characters for use as a pattern.
    fn expand_text(&mut self, text: &str, pattern: bool) -> Result<String, String> {
        if self.expand_depth >= MAX_NESTING {
            return Err("syntax error: bad substitution".to_string());
        }
        let mut lexer = Lexer::new(text);
        let word = match lexer.word(&|_| false)? {
            Lexed::Word(word) => word,
            Lexed::Fd(_) => Word::default(),
        };
        self.expand_depth += 1;
        let pieces = self.expand_parts(&word.parts);
        self.expand_depth -= 1;
        Ok(join_pieces(pieces?, pattern))
    }

    fn expand_parts(&mut self, parts: &[Part]) -> Result<Vec<Piece>, String> {
        let mut pieces = Vec::new();
        let mut total = 0usize;
        for (i, part) in parts.iter().enumerate() {
            let piece = match part {
                Part::Lit(text) => {
                    if i == 0
                        && let Some(rest) = text.strip_prefix('~')
                        && (rest.is_empty() || rest.starts_with('/'))
                    {
                        let home = self.var("HOME").unwrap_or("/root").to_string();
                        pieces.push(Piece::Quoted(home));
                        Piece::Literal(rest.to_string())
                    } else {
                        Piece::Literal(text.clone())
                    }
                }
                Part::Quoted(text) => Piece::Quoted(text.clone()),
                Part::Param {
                    name,
                    op,
                    arg,
                    quoted,
                } => {
                    if name == "@" && *quoted && *op == ParamOp::Plain {
                        let args: Vec<String> =
                            self.positional.get(1..).unwrap_or_default().to_vec();
                        for (j, arg) in args.into_iter().enumerate() {
                            if j > 0 {
                                pieces.push(Piece::Break);
                            }
                            pieces.push(Piece::Quoted(arg));
                        }
                        continue;
                    }
                    let value = self.expand_param(name, *op, arg)?;
                    if *quoted {
                        Piece::Quoted(value)
                    } else {
                        Piece::Expanded(value)
                    }
                }
                Part::Length { name, quoted } => {
                    let length = if name == "@" || name == "*" {
                        self.positional.len().saturating_sub(1)
                    } else {
                        match self.param(name) {
                            Some(value) => value.chars().count(),
                            None if self.nounset => {
                                return Err(format!("{name}: parameter not set"));
                            }
                            None => 0,
                        }
                    };
                    if *quoted {
                        Piece::Quoted(length.to_string())
                    } else {
                        Piece::Expanded(length.to_string())
                    }
                }
                Part::Command { script, quoted } => {
                    let output = self.command_substitution(script)?;
                    if *quoted {
                        Piece::Quoted(output)
                    } else {
                        Piece::Expanded(output)
                    }
                }
                Part::Arith { expr, quoted } => {
                    let text = self.expand_text(expr, false)?;
                    let value = self.arithmetic(&text)?.to_string();
                    if *quoted {
                        Piece::Quoted(value)
                    } else {
                        Piece::Expanded(value)
                    }
                }
            };
            total = total.saturating_add(match &piece {
                Piece::Literal(s) | Piece::Quoted(s) | Piece::Expanded(s) => s.len(),
                Piece::Break => 0,
            });
            if total > MAX_STRING {
                return Err("out of memory".to_string());
            }
            pieces.push(piece);
        }
        Ok(pieces)
    }

    fn expand_param(&mut self, name: &str, op: ParamOp, arg: &str) -> Result<String, String> {
        let value = self.param(name);
        let unset_or_empty = |colon: bool, value: &Option<String>| match value {
            None => true,
            Some(v) => colon && v.is_empty(),
        };
        match op {
            ParamOp::Plain => match value {
                Some(value) => Ok(value),
                None if self.nounset && !matches!(name, "@" | "*") => {
                    Err(format!("{name}: parameter not set"))
                }
                None => Ok(String::new()),
            },
            ParamOp::Default { colon } => {
                if unset_or_empty(colon, &value) {
                    self.expand_text(arg, false)
                } else {
                    Ok(value.unwrap_or_default())
                }
            }
            ParamOp::Assign { colon } => {
                if unset_or_empty(colon, &value) {
                    if !is_name(name) {
                        return Err(format!("{name}: bad variable name"));
                    }
                    let new = self.expand_text(arg, false)?;
                    self.set_var(name, new.clone());
                    Ok(new)
                } else {
                    Ok(value.unwrap_or_default())
                }
            }
            ParamOp::Alternative { colon } => {
                if unset_or_empty(colon, &value) {
                    Ok(String::new())
                } else {
                    self.expand_text(arg, false)
                }
            }
            ParamOp::Error { colon } => {
                if unset_or_empty(colon, &value) {
                    let message = self.expand_text(arg, false)?;
                    Err(if message.is_empty() {
                        format!("{name}: parameter not set")
                    } else {
                        format!("{name}: {message}")
                    })
                } else {
                    Ok(value.unwrap_or_default())
                }
            }
            ParamOp::TrimPrefix { longest } | ParamOp::TrimSuffix { longest } => {
                let value = value.unwrap_or_default();
                let pattern = self.expand_text(arg, true)?;
                let suffix = matches!(op, ParamOp::TrimSuffix { .. });
                Ok(trim_pattern(&value, &pattern, suffix, longest))
            }
        }
    }

    fn command_substitution(&mut self, script: &str) -> Result<String, String> {
        if self.depth >= MAX_DEPTH {
            return Err("too many nested command substitutions".to_string());
        }
        let mut sub = self.subshell();
        let output = sub.run_text(script);
        self.pending_stderr.extend_from_slice(&output.stderr);
        self.substitution_status = Some(output.exit_code);
        self.status = output.exit_code;
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        while text.ends_with('\n') {
            text.pop();
        }
        Ok(text)
    }

    fn arithmetic(&mut self, text: &str) -> Result<i64, String> {
        let tokens = arith_tokens(text)?;
        let mut arith = Arith {
            tokens,
            pos: 0,
            depth: 0,
            shell: self,
        };
        if arith.tokens.is_empty() {
            return Ok(0);
        }
        let value = arith.comma()?;
        if arith.pos < arith.tokens.len() {
            return Err("arithmetic syntax error".to_string());
        }
        Ok(value)
    }

    /// Pathname expansion of `pattern` (quoted characters escaped); sorted matches.
    fn glob(&self, pattern: &str) -> Vec<String> {
        const MAX_MATCHES: usize = 10_000;
        let absolute = pattern.starts_with('/');
        let mut candidates: Vec<(String, String)> = vec![(
            if absolute {
                "/".to_string()
            } else {
                String::new()
            },
            if absolute {
                "/".to_string()
            } else {
                self.cwd.clone()
            },
        )];
        let components: Vec<&str> = pattern.split('/').filter(|c| !c.is_empty()).collect();
        let shown = |dir: &str, name: &str| -> String {
            if dir.is_empty() {
                name.to_string()
            } else if dir.ends_with('/') {
                format!("{dir}{name}")
            } else {
                format!("{dir}/{name}")
            }
        };
        for component in components {
            let mut next = Vec::new();
            if has_glob_chars(component) {
                for (display, real) in &candidates {
                    let Ok(entries) = self.ctx.fs.list(real) else {
                        continue;
                    };
                    for entry in entries {
                        if entry.name.starts_with('.') && !component.starts_with('.') {
                            continue;
                        }
                        if glob_match(component, &entry.name) {
                            next.push((shown(display, &entry.name), fs::join(real, &entry.name)));
                        }
                    }
                }
            } else {
                let literal = unescape_pattern(component);
                for (display, real) in &candidates {
                    next.push((shown(display, &literal), fs::resolve(real, &literal)));
                }
            }
            next.truncate(MAX_MATCHES);
            candidates = next;
            if candidates.is_empty() {
                break;
            }
        }
        let mut matches: Vec<String> = candidates
            .into_iter()
            .filter(|(_, real)| self.ctx.fs.exists(real))
            .map(|(display, _)| display)
            .collect();
        matches.sort();
        matches
    }
}

/// Splits expanded pieces into fields at unquoted whitespace from expansions.
fn split_fields(pieces: Vec<Piece>) -> Vec<Field> {
    let mut fields = Vec::new();
    let mut current = Field::default();
    let mut started = false;
    for piece in pieces {
        match piece {
            Piece::Break => {
                fields.push(std::mem::take(&mut current));
                started = false;
            }
            Piece::Quoted(text) => {
                for c in text.chars() {
                    current.push(c, true);
                }
                started = true;
            }
            Piece::Literal(text) => {
                for c in text.chars() {
                    current.push(c, false);
                }
                started = true;
            }
            Piece::Expanded(text) => {
                for c in text.chars() {
                    if matches!(c, ' ' | '\t' | '\n') {
                        if started {
                            fields.push(std::mem::take(&mut current));
                            started = false;
                        }
                    } else {
                        current.push(c, false);
                        started = true;
                    }
                }
            }
        }
    }
    if started {
        fields.push(current);
    }
    fields
}

/// Joins pieces into one string; with `pattern`, quoted glob characters are escaped.
fn join_pieces(pieces: Vec<Piece>, pattern: bool) -> String {
    let mut field = Field::default();
    for piece in pieces {
        match piece {
            Piece::Break => field.push(' ', true),
            Piece::Quoted(text) => text.chars().for_each(|c| field.push(c, true)),
            Piece::Literal(text) | Piece::Expanded(text) => {
                text.chars().for_each(|c| field.push(c, false));
            }
        }
    }
    if pattern { field.pattern } else { field.text }
}

fn has_glob_chars(pattern: &str) -> bool {
    let mut escaped = false;
    for c in pattern.chars() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if matches!(c, '*' | '?' | '[') {
            return true;
        }
    }
    false
}

fn unescape_pattern(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Matches `text` against a shell glob (`*`, `?`, `[...]`, `\x`), iteratively.
fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        let c = t.get(ti).copied().unwrap_or_default();
        let step = match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
                continue;
            }
            Some('?') => Some(1),
            Some('[') => match parse_class(&p, pi) {
                (Atom::Class { ranges, negated }, next) => {
                    let hit = ranges.iter().any(|(lo, hi)| *lo <= c && c <= *hi) != negated;
                    hit.then_some(next - pi)
                }
                (_, _) => (c == '[').then_some(1),
            },
            Some('\\') => match p.get(pi + 1) {
                Some(&e) => (e == c).then_some(2),
                None => (c == '\\').then_some(1),
            },
            Some(&x) => (x == c).then_some(1),
            None => None,
        };
        match step {
            Some(n) => {
                pi += n;
                ti += 1;
            }
            None => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    while p.get(pi) == Some(&'*') {
        pi += 1;
    }
    pi == p.len()
}

/// `${X#pat}`, `${X##pat}`, `${X%pat}`, `${X%%pat}`.
fn trim_pattern(value: &str, pattern: &str, suffix: bool, longest: bool) -> String {
    let mut bounds: Vec<usize> = value.char_indices().map(|(i, _)| i).collect();
    bounds.push(value.len());
    if suffix {
        // Candidate suffixes value[i..], shortest first unless `longest`.
        let mut order: Vec<usize> = bounds.iter().rev().copied().collect();
        if longest {
            order.reverse();
        }
        for i in order {
            if glob_match(pattern, value.get(i..).unwrap_or_default()) {
                return value.get(..i).unwrap_or_default().to_string();
            }
        }
    } else {
        let mut order = bounds;
        if longest {
            order.reverse();
        }
        for i in order {
            if glob_match(pattern, value.get(..i).unwrap_or_default()) {
                return value.get(i..).unwrap_or_default().to_string();
            }
        }
    }
    value.to_string()
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum ArithTok {
    Num(i64),
    Name(String),
    Op(&'static str),
}

const ARITH_OPS: &[&str] = &[
    "<<=", ">>=", "**", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "+=", "-=", "*=", "/=",
    "%=", "&=", "|=", "^=", "++", "--", "+", "-", "*", "/", "%", "<", ">", "&", "|", "^", "!", "~",
    "(", ")", "?", ":", "=", ",",
];

fn arith_tokens(text: &str) -> Result<Vec<ArithTok>, String> {
    const SYNTAX: &str = "arithmetic syntax error";
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let start = i;
            while chars.get(i).is_some_and(|c| c.is_ascii_alphanumeric()) {
                i += 1;
            }
            let literal: String = chars.get(start..i).unwrap_or_default().iter().collect();
            let value = parse_int(&literal).ok_or_else(|| SYNTAX.to_string())?;
            tokens.push(ArithTok::Num(value));
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while chars
                .get(i)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_')
            {
                i += 1;
            }
            tokens.push(ArithTok::Name(
                chars.get(start..i).unwrap_or_default().iter().collect(),
            ));
        } else {
            let rest: String = chars
                .get(i..(i + 3).min(chars.len()))
                .unwrap_or_default()
                .iter()
                .collect();
            let Some(op) = ARITH_OPS.iter().find(|op| rest.starts_with(**op)) else {
                return Err(SYNTAX.to_string());
            };
            tokens.push(ArithTok::Op(op));
            i += op.chars().count();
        }
    }
    Ok(tokens)
}

/// A recursive-descent evaluator for `$((...))`, with C precedence and wrapping i64.
struct Arith<'s, 'c, 'a> {
    tokens: Vec<ArithTok>,
    pos: usize,
    depth: usize,
    shell: &'s mut Shell<'c, 'a>,
}

const SYNTAX_ERROR: &str = "arithmetic syntax error";

impl Arith<'_, '_, '_> {
    fn peek_op(&self) -> Option<&'static str> {
        match self.tokens.get(self.pos) {
            Some(ArithTok::Op(op)) => Some(op),
            _ => None,
        }
    }

    fn eat(&mut self, op: &str) -> bool {
        if self.peek_op() == Some(op) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_NESTING * 2 {
            return Err("arithmetic expression too deep".to_string());
        }
        Ok(())
    }

    fn variable(&self, name: &str) -> Result<i64, String> {
        let value = self.shell.param(name).unwrap_or_default();
        let trimmed = value.trim();
        if trimmed.is_empty() {
            return Ok(0);
        }
        parse_int(trimmed).ok_or_else(|| SYNTAX_ERROR.to_string())
    }

    fn comma(&mut self) -> Result<i64, String> {
        let mut value = self.assign()?;
        while self.eat(",") {
            value = self.assign()?;
        }
        Ok(value)
    }

    fn assign(&mut self) -> Result<i64, String> {
        if let (Some(ArithTok::Name(name)), Some(ArithTok::Op(op))) = (
            self.tokens.get(self.pos).cloned(),
            self.tokens.get(self.pos + 1).cloned(),
        ) && matches!(
            op,
            "=" | "+=" | "-=" | "*=" | "/=" | "%=" | "<<=" | ">>=" | "&=" | "|=" | "^="
        ) {
            self.pos += 2;
            self.enter()?;
            let rhs = self.assign()?;
            self.depth -= 1;
            let current = if op == "=" { 0 } else { self.variable(&name)? };
            let value = match op {
                "=" => rhs,
                _ => binary(op.trim_end_matches('='), current, rhs)?,
            };
            self.shell.set_var(&name, value.to_string());
            return Ok(value);
        }
        self.ternary()
    }

    fn ternary(&mut self) -> Result<i64, String> {
        let cond = self.binary_expr(1)?;
        if !self.eat("?") {
            return Ok(cond);
        }
        self.enter()?;
        let yes = self.comma()?;
        if !self.eat(":") {
            return Err(SYNTAX_ERROR.to_string());
        }
        let no = self.assign()?;
        self.depth -= 1;
        Ok(if cond != 0 { yes } else { no })
    }

    /// Binary operators by precedence climbing (left-associative).
    fn binary_expr(&mut self, min_precedence: u8) -> Result<i64, String> {
        let mut value = self.power()?;
        while let Some(op) = self.peek_op() {
            let Some(precedence) = precedence(op).filter(|p| *p >= min_precedence) else {
                break;
            };
            self.pos += 1;
            let rhs = self.binary_expr(precedence + 1)?;
            value = binary(op, value, rhs)?;
        }
        Ok(value)
    }

    fn power(&mut self) -> Result<i64, String> {
        let base = self.unary()?;
        if self.eat("**") {
            self.enter()?;
            let exponent = self.power()?;
            self.depth -= 1;
            return binary("**", base, exponent);
        }
        Ok(base)
    }

    fn unary(&mut self) -> Result<i64, String> {
        self.enter()?;
        let result = match self.peek_op() {
            Some(op @ ("-" | "+" | "!" | "~")) => {
                self.pos += 1;
                let value = self.unary()?;
                Ok(match op {
                    "-" => value.wrapping_neg(),
                    "+" => value,
                    "!" => i64::from(value == 0),
                    _ => !value,
                })
            }
            Some(op @ ("++" | "--")) => {
                self.pos += 1;
                let Some(ArithTok::Name(name)) = self.tokens.get(self.pos).cloned() else {
                    return Err(SYNTAX_ERROR.to_string());
                };
                self.pos += 1;
                let value = self.variable(&name)?;
                let new = if op == "++" {
                    value.wrapping_add(1)
                } else {
                    value.wrapping_sub(1)
                };
                self.shell.set_var(&name, new.to_string());
                Ok(new)
            }
            _ => self.primary(),
        };
        self.depth -= 1;
        result
    }

    fn primary(&mut self) -> Result<i64, String> {
        match self.tokens.get(self.pos).cloned() {
            Some(ArithTok::Num(n)) => {
                self.pos += 1;
                Ok(n)
            }
            Some(ArithTok::Name(name)) => {
                self.pos += 1;
                let value = self.variable(&name)?;
                if let Some(op @ ("++" | "--")) = self.peek_op() {
                    self.pos += 1;
                    let new = if op == "++" {
                        value.wrapping_add(1)
                    } else {
                        value.wrapping_sub(1)
                    };
                    self.shell.set_var(&name, new.to_string());
                }
                Ok(value)
            }
            Some(ArithTok::Op("(")) => {
                self.pos += 1;
                self.enter()?;
                let value = self.comma()?;
                self.depth -= 1;
                if !self.eat(")") {
                    return Err(SYNTAX_ERROR.to_string());
                }
                Ok(value)
            }
            _ => Err(SYNTAX_ERROR.to_string()),
        }
    }
}

/// Binding strength of a binary arithmetic operator (higher binds tighter).
fn precedence(op: &str) -> Option<u8> {
    Some(match op {
        "||" => 1,
        "&&" => 2,
        "|" => 3,
        "^" => 4,
        "&" => 5,
        "==" | "!=" => 6,
        "<" | "<=" | ">" | ">=" => 7,
        "<<" | ">>" => 8,
        "+" | "-" => 9,
        "*" | "/" | "%" => 10,
        _ => return None,
    })
}

fn binary(op: &str, a: i64, b: i64) -> Result<i64, String> {
    Ok(match op {
        "+" => a.wrapping_add(b),
        "-" => a.wrapping_sub(b),
        "*" => a.wrapping_mul(b),
        "/" | "%" => {
            if b == 0 {
                return Err("divide by zero".to_string());
            }
            if op == "/" {
                a.wrapping_div(b)
            } else {
                a.wrapping_rem(b)
            }
        }
        "**" => {
            if b < 0 {
                return Err("exponent less than 0".to_string());
            }
            let mut result: i64 = 1;
            let mut base = a;
            let mut exponent = b;
            while exponent > 0 {
                if exponent & 1 == 1 {
                    result = result.wrapping_mul(base);
                }
                base = base.wrapping_mul(base);
                exponent >>= 1;
            }
            result
        }
        "<<" => a.wrapping_shl(u32::try_from(b & 63).unwrap_or(0)),
        ">>" => a.wrapping_shr(u32::try_from(b & 63).unwrap_or(0)),
        "<" => i64::from(a < b),
        "<=" => i64::from(a <= b),
        ">" => i64::from(a > b),
        ">=" => i64::from(a >= b),
        "==" => i64::from(a == b),
        "!=" => i64::from(a != b),
        "&" => a & b,
        "|" => a | b,
        "^" => a ^ b,
        "&&" => i64::from(a != 0 && b != 0),
        "||" => i64::from(a != 0 || b != 0),
        _ => return Err(SYNTAX_ERROR.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::fs::Fs;

    /// Cluster DNS with a few records; applies the search list like resolv.conf.
    struct FakeDns;

    const RECORDS: &[(&str, &[[u8; 4]])] = &[
        ("web-0.web.default.svc.cluster.local", &[[10, 244, 0, 6]]),
        ("web-1.web.default.svc.cluster.local", &[[10, 244, 0, 7]]),
        (
            "web.default.svc.cluster.local",
            &[[10, 244, 0, 6], [10, 244, 0, 7]],
        ),
        ("down.default.svc.cluster.local", &[[10, 244, 0, 9]]),
        ("notfound.default.svc.cluster.local", &[[10, 244, 0, 10]]),
        ("kubernetes.default.svc.cluster.local", &[[10, 96, 0, 1]]),
    ];

    impl Resolver for FakeDns {
        fn lookup(&self, name: &str, search: &[String]) -> Vec<Ipv4Addr> {
            let Some(fqdn) = self.fqdn(name, search) else {
                return Vec::new();
            };
            RECORDS
                .iter()
                .find(|(n, _)| *n == fqdn)
                .map(|(_, ips)| ips.iter().map(|o| Ipv4Addr::from(*o)).collect())
                .unwrap_or_default()
        }

        fn fqdn(&self, name: &str, search: &[String]) -> Option<String> {
            let mut candidates: Vec<String> =
                search.iter().map(|d| format!("{name}.{d}")).collect();
            candidates.push(name.to_string());
            candidates
                .into_iter()
                .find(|c| RECORDS.iter().any(|(n, _)| n == c))
        }

        fn nameserver(&self) -> Ipv4Addr {
            Ipv4Addr::new(10, 96, 0, 10)
        }
    }

    /// Pods answering HTTP: `down` refuses, `/missing` is a 404.
    struct FakeHttp;

    impl HttpClient for FakeHttp {
        fn get(&self, host: &str, port: u16, path: &str) -> Result<(u16, Vec<u8>), String> {
            if host.starts_with("down") || host == "10.244.0.9" || port != 80 {
                return Err("Connection refused".to_string());
            }
            match path {
                "/" => Ok((200, format!("hello from {host}\n").into_bytes())),
                "/missing" => Ok((404, b"404 page not found\n".to_vec())),
                other => Ok((200, format!("path {other}\n").into_bytes())),
            }
        }
    }

    struct Pod {
        table: MountTable,
        data: Fs,
        env: Vec<(String, String)>,
        search: Vec<String>,
        cwd: String,
    }

    impl Pod {
        fn new() -> Pod {
            let root = Fs::new();
            root.create_dir_all("/etc").expect("mkdir");
            root.create_dir_all("/tmp").expect("mkdir");
            root.create_dir_all("/root").expect("mkdir");
            root.write(
                "/etc/hosts",
                "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n10.244.0.6\tweb-0.web.default.svc.cluster.local\tweb-0\n",
            )
            .expect("write");
            root.write("/etc/hostname", "web-0\n").expect("write");
            let data = Fs::new();
            let config = Fs::new();
            config.write("/app.conf", "color=blue\n").expect("write");
            let table = MountTable::new(root)
                .with_mount("/data", data.clone(), false)
                .with_mount("/etc/config", config, true);
            Pod {
                table,
                data,
                env: vec![
                    (
                        "PATH".to_string(),
                        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
                    ),
                    ("HOSTNAME".to_string(), "web-0".to_string()),
                    ("POD_NAME".to_string(), "web-0".to_string()),
                    ("HOME".to_string(), "/root".to_string()),
                ],
                search: vec![
                    "default.svc.cluster.local".to_string(),
                    "svc.cluster.local".to_string(),
                    "cluster.local".to_string(),
                ],
                cwd: "/".to_string(),
            }
        }

        fn in_dir(mut self, cwd: &str) -> Pod {
            self.cwd = cwd.to_string();
            self
        }

        fn run_stdin(&self, argv: &[&str], stdin: &[u8]) -> ExecOutput {
            let argv: Vec<String> = argv.iter().map(|a| a.to_string()).collect();
            let ctx = ShellContext {
                fs: &self.table,
                cwd: &self.cwd,
                hostname: "web-0",
                env: &self.env,
                resolver: &FakeDns,
                http: &FakeHttp,
                search: &self.search,
            };
            run_with_stdin(&argv, stdin, &ctx)
        }

        fn run(&self, argv: &[&str]) -> ExecOutput {
            self.run_stdin(argv, b"")
        }

        fn sh(&self, script: &str) -> ExecOutput {
            self.run(&["sh", "-c", script])
        }
    }

    fn ok(out: &ExecOutput) -> String {
        assert_eq!(out.exit_code, 0, "stderr: {}", out.stderr_text());
        out.stdout_text()
    }

    #[test]
    fn cat_relative_to_cwd() {
        let pod = Pod::new().in_dir("/data");
        pod.data.write("/visits", "5\n").expect("write");
        assert_eq!(ok(&pod.run(&["cat", "visits"])), "5\n");
        assert_eq!(ok(&pod.run(&["cat", "./visits", "/data/visits"])), "5\n5\n");
        assert_eq!(ok(&pod.run(&["cat", "../etc/hostname"])), "web-0\n");
    }

    #[test]
    fn cat_errors_are_busybox_style() {
        let pod = Pod::new().in_dir("/data");
        let out = pod.run(&["cat", "visits"]);
        assert_eq!(out.exit_code, 1);
        assert_eq!(
            out.stderr_text(),
            "cat: can't open 'visits': No such file or directory\n"
        );
        let out = pod.run(&["cat", "/data"]);
        assert_eq!(out.exit_code, 1);
        assert_eq!(out.stderr_text(), "cat: read error: Is a directory\n");
        let out = pod.run(&["cat", "/etc/hostname", "nope"]);
        assert_eq!(out.exit_code, 1);
        assert_eq!(out.stdout_text(), "web-0\n");
    }

    #[test]
    fn cat_without_arguments_reads_stdin() {
        let pod = Pod::new();
        assert_eq!(pod.run(&["cat"]), ExecOutput::default());
        assert_eq!(ok(&pod.run_stdin(&["cat"], b"piped\n")), "piped\n");
        assert_eq!(
            ok(&pod.run(&["cat", "-n", "/etc/hostname"])),
            "     1\tweb-0\n"
        );
    }

    #[test]
    fn commands_by_path_and_busybox() {
        let pod = Pod::new();
        assert_eq!(ok(&pod.run(&["/bin/cat", "/etc/hostname"])), "web-0\n");
        assert_eq!(
            ok(&pod.run(&["/usr/bin/env", "printenv", "POD_NAME"])),
            "web-0\n"
        );
        assert_eq!(
            ok(&pod.run(&["busybox", "cat", "/etc/hostname"])),
            "web-0\n"
        );
    }

    #[test]
    fn unknown_command_exits_127() {
        let pod = Pod::new();
        let out = pod.run(&["foo", "bar"]);
        assert_eq!(out.exit_code, 127);
        assert!(out.stdout.is_empty());
        assert!(
            out.stderr_text()
                .contains("exec: \"foo\": executable file not found in $PATH"),
            "{}",
            out.stderr_text()
        );
        let out = pod.run(&["/opt/app"]);
        assert_eq!(out.exit_code, 127);
        assert!(
            out.stderr_text()
                .contains("stat /opt/app: no such file or directory")
        );
        let out = pod.sh("foo");
        assert_eq!(out.exit_code, 127);
        assert_eq!(out.stderr_text(), "sh: foo: not found\n");
        let out = pod.run(&["bash", "-c", "foo"]);
        assert_eq!(out.exit_code, 127);
        assert_eq!(out.stderr_text(), "bash: foo: command not found\n");
        assert_eq!(pod.run(&[]).exit_code, 127);
    }

    #[test]
    fn writes_land_on_the_longest_mount() {
        let pod = Pod::new();
        let nested = Fs::new();
        let mut pod = pod;
        pod.table.mount("/data/cache", nested.clone(), false);
        ok(&pod.sh("echo 1 > /data/a; echo 2 > /data/cache/b; echo 3 > /tmp/c"));
        assert_eq!(pod.data.read("/a").expect("read"), b"1\n");
        assert_eq!(nested.read("/b").expect("read"), b"2\n");
        assert!(!pod.data.exists("/cache/b"));
        assert_eq!(pod.table.root().read("/tmp/c").expect("read"), b"3\n");
        assert_eq!(ok(&pod.run(&["ls", "/data"])), "a\ncache\n");
    }

    #[test]
    fn read_only_mount_refuses_writes() {
        let pod = Pod::new();
        assert_eq!(
            ok(&pod.run(&["cat", "/etc/config/app.conf"])),
            "color=blue\n"
        );
        let out = pod.sh("echo red > /etc/config/app.conf");
        assert_eq!(out.exit_code, 1);
        assert_eq!(
            out.stderr_text(),
            "sh: can't create /etc/config/app.conf: Read-only file system\n"
        );
        let out = pod.run(&["touch", "/etc/config/new"]);
        assert_eq!(out.exit_code, 1);
        assert_eq!(
            out.stderr_text(),
            "touch: /etc/config/new: Read-only file system\n"
        );
        let out = pod.run(&["rm", "/etc/config/app.conf"]);
        assert_eq!(
            out.stderr_text(),
            "rm: can't remove '/etc/config/app.conf': Read-only file system\n"
        );
        let out = pod.run(&["mkdir", "/etc/config/d"]);
        assert_eq!(
            out.stderr_text(),
            "mkdir: can't create directory '/etc/config/d': Read-only file system\n"
        );
        assert_eq!(
            ok(&pod.run(&["cat", "/etc/config/app.conf"])),
            "color=blue\n"
        );
    }

    #[test]
    fn ls_lists_sorted_and_long() {
        let pod = Pod::new().in_dir("/data");
        pod.data.write("/b.txt", "12345").expect("write");
        pod.data.write("/a.txt", "1").expect("write");
        pod.data.write("/.hidden", "1").expect("write");
        pod.data.create_dir("/sub").expect("mkdir");
        assert_eq!(ok(&pod.run(&["ls"])), "a.txt\nb.txt\nsub\n");
        assert_eq!(
            ok(&pod.run(&["ls", "-a"])),
            ".\n..\n.hidden\na.txt\nb.txt\nsub\n"
        );
        assert_eq!(ok(&pod.run(&["ls", "/"])), "data\netc\nroot\ntmp\n");
        assert_eq!(ok(&pod.run(&["ls", "b.txt"])), "b.txt\n");
        let long = ok(&pod.run(&["ls", "-l"]));
        let lines: Vec<&str> = long.lines().collect();
        assert_eq!(lines.first().copied(), Some("total 12"));
        let b = lines.get(2).copied().unwrap_or_default();
        assert!(
            b.starts_with("-rw-r--r--    1 root     root             5 "),
            "{b}"
        );
        assert!(b.ends_with(" b.txt"), "{b}");
        let sub = lines.get(3).copied().unwrap_or_default();
        assert!(
            sub.starts_with("drwxr-xr-x    2 root     root          4096 "),
            "{sub}"
        );
        let out = pod.run(&["ls", "x"]);
        assert_eq!(out.exit_code, 1);
        assert_eq!(out.stderr_text(), "ls: x: No such file or directory\n");
        assert_eq!(
            ok(&pod.run(&["ls", "/etc/config", "sub"])),
            "/etc/config:\napp.conf\n\nsub:\n"
        );
        let out = pod.run(&["ls", "-z"]);
        assert_eq!(out.exit_code, 1);
        assert_eq!(out.stderr_text(), "ls: invalid option -- 'z'\n");
    }

    #[test]
    fn simple_commands() {
        let pod = Pod::new().in_dir("/data");
        assert_eq!(ok(&pod.run(&["echo", "hello", "world"])), "hello world\n");
        assert_eq!(ok(&pod.run(&["echo", "-n", "x"])), "x");
        assert_eq!(ok(&pod.run(&["echo", "-e", "a\\tb"])), "a\tb\n");
        assert_eq!(ok(&pod.run(&["echo", "a\\tb"])), "a\\tb\n");
        assert_eq!(ok(&pod.run(&["echo"])), "\n");
        assert_eq!(ok(&pod.run(&["hostname"])), "web-0\n");
        assert_eq!(
            ok(&pod.run(&["hostname", "-f"])),
            "web-0.web.default.svc.cluster.local\n"
        );
        assert_eq!(ok(&pod.run(&["hostname", "-i"])), "10.244.0.6\n");
        assert_eq!(ok(&pod.run(&["pwd"])), "/data\n");
        assert!(ok(&pod.run(&["env"])).contains("POD_NAME=web-0\n"));
        assert_eq!(ok(&pod.run(&["printenv", "POD_NAME"])), "web-0\n");
        assert_eq!(pod.run(&["printenv", "NOPE"]).exit_code, 1);
        assert_eq!(ok(&pod.run(&["env", "A=1", "printenv", "A"])), "1\n");
        assert_eq!(pod.run(&["true"]).exit_code, 0);
        assert_eq!(pod.run(&["false"]).exit_code, 1);
        assert_eq!(pod.run(&["sleep", "3600"]), ExecOutput::default());
        assert_eq!(pod.run(&["sleep", "1.5s"]).exit_code, 0);
        assert_eq!(
            pod.run(&["sleep", "soon"]).stderr_text(),
            "sleep: invalid number 'soon'\n"
        );
        assert_eq!(
            ok(&pod.run(&["id"])),
            "uid=0(root) gid=0(root) groups=0(root),10(wheel)\n"
        );
        assert_eq!(ok(&pod.run(&["whoami"])), "root\n");
        assert_eq!(ok(&pod.run(&["uname", "-n"])), "web-0\n");
        assert_eq!(ok(&pod.run(&["which", "nslookup"])), "/bin/nslookup\n");
        assert_eq!(ok(&pod.run(&["basename", "/data/x.txt", ".txt"])), "x\n");
        assert_eq!(ok(&pod.run(&["dirname", "/data/x.txt"])), "/data\n");
        assert_eq!(ok(&pod.run(&["seq", "3"])), "1\n2\n3\n");
        assert_eq!(ok(&pod.run(&["seq", "-s", ",", "2", "2", "6"])), "2,4,6\n");
        assert_eq!(
            ok(&pod.run(&["printf", "%s=%03d\\n", "a", "7", "b", "42"])),
            "a=007\nb=042\n"
        );
        assert_eq!(
            ok(&pod.run(&["printf", "%-4s|%5s|\\n", "ab", "cd"])),
            "ab  |   cd|\n"
        );
    }

    #[test]
    fn date_looks_like_busybox() {
        let pod = Pod::new();
        let text = ok(&pod.run(&["date"]));
        assert!(text.ends_with('\n'));
        let fields: Vec<&str> = text.split_whitespace().collect();
        assert_eq!(fields.len(), 6, "{text}");
        assert_eq!(fields.get(4).copied(), Some("UTC"));
        assert_eq!(ok(&pod.run(&["date", "+%Y"])).trim().len(), 4);
        let civil = Civil::from_epoch(1_700_000_000);
        assert_eq!(civil.format("%F %T %a"), "2023-11-14 22:13:20 Tue");
        assert_eq!(
            Civil::from_epoch(951_782_400).format("%F %j"),
            "2000-02-29 060"
        );
    }

    #[test]
    fn touch_mkdir_rm() {
        let pod = Pod::new().in_dir("/data");
        ok(&pod.run(&["touch", "a", "b"]));
        assert_eq!(ok(&pod.run(&["ls"])), "a\nb\n");
        ok(&pod.run(&["mkdir", "-p", "x/y/z"]));
        assert!(pod.data.is_dir("/x/y/z"));
        let out = pod.run(&["mkdir", "x"]);
        assert_eq!(
            out.stderr_text(),
            "mkdir: can't create directory 'x': File exists\n"
        );
        let out = pod.run(&["mkdir", "q/r"]);
        assert_eq!(
            out.stderr_text(),
            "mkdir: can't create directory 'q/r': No such file or directory\n"
        );
        let out = pod.run(&["touch", "q/r"]);
        assert_eq!(out.stderr_text(), "touch: q/r: No such file or directory\n");
        let out = pod.run(&["rm", "x"]);
        assert_eq!(out.exit_code, 1);
        assert_eq!(out.stderr_text(), "rm: 'x' is a directory\n");
        ok(&pod.run(&["rm", "-rf", "x", "missing"]));
        assert!(!pod.data.exists("/x"));
        let out = pod.run(&["rm", "missing"]);
        assert_eq!(
            out.stderr_text(),
            "rm: can't remove 'missing': No such file or directory\n"
        );
        let out = pod.run(&["rm", "-r", "/data"]);
        assert_eq!(
            out.stderr_text(),
            "rm: can't remove '/data': Device or resource busy\n"
        );
        assert!(pod.data.list("/").expect("list").is_empty());
    }

    #[test]
    fn rm_then_cat_fails() {
        let pod = Pod::new().in_dir("/data");
        ok(&pod.sh("echo 5 > visits"));
        assert_eq!(ok(&pod.run(&["cat", "visits"])), "5\n");
        ok(&pod.run(&["rm", "visits"]));
        let out = pod.run(&["cat", "visits"]);
        assert_eq!(out.exit_code, 1);
        assert_eq!(
            out.stderr_text(),
            "cat: can't open 'visits': No such file or directory\n"
        );
    }

    #[test]
    fn cp_and_mv() {
        let pod = Pod::new().in_dir("/data");
        ok(&pod.sh("echo hi > a; mkdir d; cp a b; cp a d; mv b c"));
        assert_eq!(ok(&pod.run(&["ls", ".", "d"])), ".:\na\nc\nd\n\nd:\na\n");
        let out = pod.run(&["cp", "d", "e"]);
        assert_eq!(out.stderr_text(), "cp: omitting directory 'd'\n");
        ok(&pod.run(&["cp", "-r", "d", "e"]));
        ok(&pod.run(&["mv", "e", "/tmp/e"]));
        assert_eq!(ok(&pod.run(&["cat", "/tmp/e/a"])), "hi\n");
        assert!(!pod.data.exists("/e"));
        let out = pod.run(&["mv", "nope", "x"]);
        assert_eq!(
            out.stderr_text(),
            "mv: can't rename 'nope': No such file or directory\n"
        );
        assert_eq!(pod.run(&["cp", "d", "d/inner", "-r"]).exit_code, 1);
    }

    #[test]
    fn nslookup_found() {
        let pod = Pod::new();
        let out = pod.run(&["nslookup", "web-0.web"]);
        assert_eq!(
            ok(&out),
            "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\nName:\tweb-0.web.default.svc.cluster.local\nAddress: 10.244.0.6\n\n"
        );
        let out = pod.run(&["nslookup", "web"]);
        assert_eq!(
            ok(&out),
            "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\nName:\tweb.default.svc.cluster.local\nAddress: 10.244.0.6\nName:\tweb.default.svc.cluster.local\nAddress: 10.244.0.7\n\n"
        );
        let out = pod.run(&["nslookup", "web-1.web.default.svc.cluster.local."]);
        assert!(ok(&out).contains("Address: 10.244.0.7\n"));
    }

    #[test]
    fn nslookup_not_found() {
        let pod = Pod::new();
        let out = pod.run(&["nslookup", "web-5.web"]);
        assert_eq!(out.exit_code, 1);
        assert_eq!(
            out.stdout_text(),
            "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\n** server can't find web-5.web: NXDOMAIN\n\n"
        );
        assert_eq!(pod.run(&["nslookup"]).exit_code, 1);
        let out = pod.run(&["nslookup", "10.244.0.6"]);
        assert!(
            out.stdout_text()
                .contains("6.0.244.10.in-addr.arpa: NXDOMAIN")
        );
    }

    #[test]
    fn getent_hosts() {
        let pod = Pod::new();
        assert_eq!(
            ok(&pod.run(&["getent", "hosts", "web-1.web"])),
            "10.244.0.7      web-1.web.default.svc.cluster.local\n"
        );
        assert_eq!(
            ok(&pod.run(&["getent", "hosts", "web"])),
            "10.244.0.6      web.default.svc.cluster.local\n10.244.0.7      web.default.svc.cluster.local\n"
        );
        assert_eq!(
            ok(&pod.run(&["getent", "hosts", "web-0"])),
            "10.244.0.6      web-0.web.default.svc.cluster.local web-0\n"
        );
        let out = pod.run(&["getent", "hosts", "web-9.web"]);
        assert_eq!(
            out,
            ExecOutput {
                exit_code: 2,
                ..ExecOutput::default()
            }
        );
        assert_eq!(pod.run(&["getent", "nope", "x"]).exit_code, 1);
        assert!(
            ok(&pod.run(&["getent", "ahosts", "web-1.web"]))
                .starts_with("10.244.0.7      STREAM web-1")
        );
    }

    #[test]
    fn wget_fetches_and_reports_errors() {
        let pod = Pod::new().in_dir("/data");
        assert_eq!(
            ok(&pod.run(&["wget", "-qO-", "http://web-1.web"])),
            "hello from web-1.web\n"
        );
        assert_eq!(
            ok(&pod.run(&["wget", "-q", "-O", "-", "web-1.web/x?y=1"])),
            "path /x?y=1\n"
        );
        let out = pod.run(&["wget", "-O-", "http://web-1.web/"]);
        assert_eq!(out.stdout_text(), "hello from web-1.web\n");
        assert!(
            out.stderr_text()
                .starts_with("Connecting to web-1.web (10.244.0.7:80)\nwriting to stdout\n")
        );
        let out = pod.run(&["wget", "-qO-", "http://down"]);
        assert_eq!(out.exit_code, 1);
        assert_eq!(
            out.stderr_text(),
            "wget: can't connect to remote host (10.244.0.9): Connection refused\n"
        );
        let out = pod.run(&["wget", "-qO-", "http://nosuch"]);
        assert_eq!(out.exit_code, 1);
        assert_eq!(out.stderr_text(), "wget: bad address 'nosuch'\n");
        let out = pod.run(&["wget", "-qO-", "http://web-1.web/missing"]);
        assert_eq!(out.exit_code, 1);
        assert_eq!(
            out.stderr_text(),
            "wget: server returned error: HTTP/1.1 404 Not Found\n"
        );
        ok(&pod.run(&["wget", "-q", "http://web-1.web/"]));
        assert_eq!(
            pod.data.read("/index.html").expect("saved"),
            b"hello from web-1.web\n"
        );
        let out = pod.run(&["wget", "-q", "http://web-1.web/"]);
        assert_eq!(
            out.stderr_text(),
            "wget: can't open 'index.html': File exists\n"
        );
    }

    #[test]
    fn curl_fetches_and_reports_errors() {
        let pod = Pod::new().in_dir("/data");
        assert_eq!(
            ok(&pod.run(&["curl", "-s", "http://web-1.web"])),
            "hello from web-1.web\n"
        );
        assert_eq!(
            ok(&pod.run(&["curl", "-sS", "10.244.0.6:80/"])),
            "hello from 10.244.0.6\n"
        );
        let out = pod.run(&["curl", "web-1.web"]);
        assert_eq!(out.stdout_text(), "hello from web-1.web\n");
        assert!(out.stderr_text().contains("% Total"));
        let out = pod.run(&["curl", "http://down"]);
        assert_eq!(out.exit_code, 7);
        assert!(
            out.stderr_text()
                .contains("curl: (7) Failed to connect to down port 80"),
            "{}",
            out.stderr_text()
        );
        let out = pod.run(&["curl", "-s", "http://down"]);
        assert_eq!(
            out,
            ExecOutput {
                exit_code: 7,
                ..ExecOutput::default()
            }
        );
        let out = pod.run(&["curl", "-sS", "http://nosuch"]);
        assert_eq!(out.exit_code, 6);
        assert_eq!(
            out.stderr_text(),
            "curl: (6) Could not resolve host: nosuch\n"
        );
        let out = pod.run(&["curl", "-s", "http://web-1.web/missing"]);
        assert_eq!(ok(&out), "404 page not found\n");
        let out = pod.run(&["curl", "-sf", "http://web-1.web/missing"]);
        assert_eq!(out.exit_code, 22);
        let out = pod.run(&[
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}\\n",
            "web-1.web/missing",
        ]);
        assert_eq!(ok(&out), "404\n");
        ok(&pod.run(&["curl", "-s", "-o", "page", "web-1.web"]));
        assert_eq!(
            pod.data.read("/page").expect("saved"),
            b"hello from web-1.web\n"
        );
        let out = pod.run(&["curl"]);
        assert_eq!(out.exit_code, 2);
        assert!(out.stderr_text().starts_with("curl: no URL specified!"));
        let out = pod.run(&["curl", "-z", "x"]);
        assert_eq!(out.exit_code, 2);
        assert!(
            out.stderr_text().starts_with("curl: option -z: is unknown"),
            "{}",
            out.stderr_text()
        );
    }

    #[test]
    fn sh_redirection_and_and() {
        let pod = Pod::new().in_dir("/data");
        assert_eq!(ok(&pod.sh("echo 5 > visits && cat visits")), "5\n");
        assert_eq!(pod.data.read("/visits").expect("read"), b"5\n");
        ok(&pod.sh("echo 6 >> visits; echo 7 >>visits"));
        assert_eq!(ok(&pod.run(&["cat", "visits"])), "5\n6\n7\n");
        ok(&pod.sh("echo 1 >visits"));
        assert_eq!(ok(&pod.run(&["cat", "visits"])), "1\n");
        assert_eq!(
            ok(&pod.sh("false && echo no; true || echo no; false || echo yes")),
            "yes\n"
        );
        let out = pod.sh("cat nope && echo after");
        assert_eq!(out.exit_code, 1);
        assert_eq!(out.stdout_text(), "");
        let out = pod.sh("echo hi > /nodir/x");
        assert_eq!(
            out.stderr_text(),
            "sh: can't create /nodir/x: nonexistent directory\n"
        );
        assert_eq!(out.exit_code, 1);
        let out = pod.sh("cat < nope");
        assert_eq!(out.stderr_text(), "sh: can't open nope: no such file\n");
        assert_eq!(ok(&pod.sh("cat < visits")), "1\n");
    }

    #[test]
    fn sh_stderr_redirection() {
        let pod = Pod::new().in_dir("/data");
        let out = pod.sh("cat nope 2>&1");
        assert_eq!(
            out.stdout_text(),
            "cat: can't open 'nope': No such file or directory\n"
        );
        assert!(out.stderr.is_empty());
        let out = pod.sh("cat nope 2>/dev/null; echo $?");
        assert_eq!(out.stdout_text(), "1\n");
        assert!(out.stderr.is_empty());
        ok(&pod.sh("cat nope > log 2>&1; echo done >&2"));
        assert_eq!(
            pod.data.read("/log").expect("read"),
            b"cat: can't open 'nope': No such file or directory\n"
        );
        let out = pod.sh("echo oops >&2");
        assert_eq!(out.stderr_text(), "oops\n");
        ok(&pod.sh("echo both &> all"));
        assert_eq!(pod.data.read("/all").expect("read"), b"both\n");
    }

    #[test]
    fn sh_quoting_and_variables() {
        let pod = Pod::new();
        assert_eq!(
            ok(&pod.sh("echo $POD_NAME ${POD_NAME}-x \"$POD_NAME\" '$POD_NAME'")),
            "web-0 web-0-x web-0 $POD_NAME\n"
        );
        assert_eq!(ok(&pod.sh("echo \"a   b\" a   b")), "a   b a b\n");
        assert_eq!(
            ok(&pod.sh("X='one two'; echo $X; set -- $X; echo $#")),
            "one two\n2\n"
        );
        assert_eq!(
            ok(&pod.sh("echo \"${UNSET:-default}\" ${#POD_NAME} ${POD_NAME%-0}")),
            "default 5 web\n"
        );
        assert_eq!(
            ok(&pod.sh("F=/a/b/c.txt; echo ${F##*/} ${F%.*} ${F#/a}")),
            "c.txt /a/b/c /b/c.txt\n"
        );
        assert_eq!(ok(&pod.sh("echo \\$HOME ~ ~/x")), "$HOME /root /root/x\n");
        assert_eq!(ok(&pod.sh("A=1; B=$A$A; echo $B")), "11\n");
        assert_eq!(ok(&pod.sh("A=1 printenv A; echo \"[$A]\"")), "1\n[]\n");
        assert_eq!(ok(&pod.sh("export A=2; printenv A")), "2\n");
        assert_eq!(ok(&pod.sh("B=3; printenv B; echo $?")), "1\n");
        assert_eq!(ok(&pod.sh("false; echo $?; true; echo $?")), "1\n0\n");
        assert_eq!(ok(&pod.sh("echo \"$(hostname)\" `echo hi`")), "web-0 hi\n");
        assert_eq!(
            ok(&pod.run(&["sh", "-c", "echo $0 $1 \"$2\"", "me", "a", "b c"])),
            "me a b c\n"
        );
        assert_eq!(
            ok(&pod.run(&[
                "sh",
                "-c",
                "for a in \"$@\"; do echo \"<$a>\"; done",
                "sh",
                "1",
                "2 3"
            ])),
            "<1>\n<2 3>\n"
        );
        assert_eq!(ok(&pod.sh("echo a\\ b \"q\\\"uote\"")), "a b q\"uote\n");
    }

    #[test]
    fn sh_arithmetic_counter() {
        let pod = Pod::new().in_dir("/data");
        ok(&pod.sh("echo 5 > visits"));
        ok(&pod.sh("echo $(( $(cat visits) + 1 )) > visits"));
        assert_eq!(ok(&pod.run(&["cat", "visits"])), "6\n");
        assert_eq!(
            ok(&pod
                .sh("i=0; i=$((i+1)); echo $((i * 10 % 7)) $((2**10)) $((7/2)) $((1<2 && 3>2))")),
            "3 1024 3 1\n"
        );
        assert_eq!(
            ok(&pod.sh("echo $(( (1 + 2) * -3 )) $((0x10)) $((010)) $((5 > 3 ? 10 : 20))")),
            "-9 16 8 10\n"
        );
        let out = pod.sh("echo $((1/0)); echo after");
        assert_eq!(out.exit_code, 2);
        assert_eq!(out.stderr_text(), "sh: divide by zero\n");
        assert_eq!(out.stdout_text(), "");
        let out = pod.sh("echo $((1 +))");
        assert_eq!(out.stderr_text(), "sh: arithmetic syntax error\n");
    }

    #[test]
    fn sh_control_flow() {
        let pod = Pod::new().in_dir("/data");
        assert_eq!(
            ok(&pod.sh("if [ -f /etc/hostname ]; then echo yes; else echo no; fi")),
            "yes\n"
        );
        assert_eq!(
            ok(&pod.sh("if test -d /nope; then echo yes; elif [ 1 -lt 2 ]; then echo elif; fi")),
            "elif\n"
        );
        assert_eq!(ok(&pod.sh("for i in 1 2 3; do echo $i; done")), "1\n2\n3\n");
        assert_eq!(
            ok(&pod.sh("i=0; while [ $i -lt 3 ]; do i=$((i+1)); echo $i; done")),
            "1\n2\n3\n"
        );
        assert_eq!(
            ok(&pod.sh("for i in 1 2 3 4; do [ $i = 3 ] && break; echo $i; done")),
            "1\n2\n"
        );
        assert_eq!(
            ok(&pod.sh("for i in 1 2 3; do [ $i = 2 ] && continue; echo $i; done")),
            "1\n3\n"
        );
        assert_eq!(
            ok(&pod.sh("until false; do echo once; break; done")),
            "once\n"
        );
        assert_eq!(ok(&pod.sh("{ echo a; echo b; } > f; cat f")), "a\nb\n");
        assert_eq!(ok(&pod.sh("(cd /etc; pwd); pwd")), "/etc\n/data\n");
        assert_eq!(ok(&pod.sh("cd /etc && cat hostname")), "web-0\n");
        assert_eq!(ok(&pod.sh("! false && echo negated")), "negated\n");
        assert_eq!(pod.sh("exit 3").exit_code, 3);
        assert_eq!(pod.sh("echo a; exit 4; echo b").stdout_text(), "a\n");
        let out = pod.sh("set -e; false; echo unreachable");
        assert_eq!(out.exit_code, 1);
        assert_eq!(out.stdout_text(), "");
        assert_eq!(
            ok(&pod.sh("set -e; false || true; if false; then :; fi; echo reached")),
            "reached\n"
        );
        let out = pod.sh("cd /nope");
        assert_eq!(
            out.stderr_text(),
            "sh: cd: can't cd to /nope: No such file or directory\n"
        );
    }

    #[test]
    fn sh_pipes() {
        let pod = Pod::new().in_dir("/data");
        ok(&pod.sh("printf 'a\\nb\\nc\\n' > lines"));
        assert_eq!(ok(&pod.sh("cat lines | wc -l")), "3\n");
        assert_eq!(ok(&pod.sh("cat lines | grep -v b | head -n 1")), "a\n");
        assert_eq!(ok(&pod.sh("grep -c '^[ab]$' lines")), "2\n");
        assert_eq!(
            ok(&pod.sh("tail -n 2 lines | tr 2>/dev/null; tail -1 lines")),
            "c\n"
        );
        assert_eq!(
            ok(&pod.sh("echo hi | tee copy > /dev/null; cat copy")),
            "hi\n"
        );
        assert_eq!(
            ok(&pod.sh("printf 'x y\\nz w\\n' | while read a b; do echo \"$b-$a\"; done")),
            "y-x\nw-z\n"
        );
        assert_eq!(pod.sh("echo x | grep -q y").exit_code, 1);
        assert_eq!(ok(&pod.sh("seq 10 | grep -E '^(1|3)$'")), "1\n3\n");
        assert_eq!(ok(&pod.sh("ls /etc | grep host")), "hostname\nhosts\n");
        assert_eq!(ok(&pod.sh("wc -c < lines")), "6\n");
        assert_eq!(ok(&pod.sh("wc -l lines")), "3 lines\n");
    }

    #[test]
    fn sh_globs() {
        let pod = Pod::new().in_dir("/data");
        ok(&pod.sh("touch a.txt b.txt c.log .hidden"));
        assert_eq!(ok(&pod.sh("echo *.txt")), "a.txt b.txt\n");
        assert_eq!(
            ok(&pod.sh("echo /data/*")),
            "/data/a.txt /data/b.txt /data/c.log\n"
        );
        assert_eq!(
            ok(&pod.sh("echo [ab].* '*.txt' nomatch*")),
            "a.txt b.txt *.txt nomatch*\n"
        );
        assert_eq!(ok(&pod.sh("rm *.txt; ls")), "c.log\n");
        assert!(glob_match("web-?", "web-0"));
        assert!(glob_match("*.t[xX]t", "notes.tXt"));
        assert!(!glob_match("*.txt", "notes.log"));
        assert!(glob_match("a\\*", "a*"));
        assert!(!glob_match("a\\*", "ab"));
    }

    #[test]
    fn sh_syntax_errors() {
        let pod = Pod::new();
        let out = pod.sh("echo 'unterminated");
        assert_eq!(out.exit_code, 2);
        assert_eq!(
            out.stderr_text(),
            "sh: syntax error: unterminated quoted string\n"
        );
        let out = pod.sh("if true; then echo x");
        assert_eq!(
            out.stderr_text(),
            "sh: syntax error: unexpected end of file (expecting \"fi\")\n"
        );
        let out = pod.sh("fi");
        assert_eq!(out.stderr_text(), "sh: syntax error: unexpected \"fi\"\n");
        let out = pod.sh("echo a && ; echo b");
        assert_eq!(out.exit_code, 2);
        let out = pod.sh("echo ${x");
        assert_eq!(out.exit_code, 2);
        let out = pod.run(&["sh", "-c"]);
        assert_eq!(out.stderr_text(), "sh: -c requires an argument\n");
    }

    #[test]
    fn sh_reads_scripts_and_stdin() {
        let pod = Pod::new().in_dir("/data");
        ok(&pod.sh("echo 'echo from script $1' > run.sh"));
        assert_eq!(ok(&pod.run(&["sh", "run.sh", "arg"])), "from script arg\n");
        assert_eq!(ok(&pod.run(&["/data/run.sh", "x"])), "from script x\n");
        assert_eq!(
            ok(&pod.run_stdin(&["sh"], b"echo via stdin\n")),
            "via stdin\n"
        );
        ok(&pod.run_stdin(&["sh", "-c", "cat > uploaded"], b"payload"));
        assert_eq!(pod.data.read("/uploaded").expect("read"), b"payload");
        let out = pod.run(&["sh", "missing.sh"]);
        assert_eq!(out.exit_code, 2);
        assert_eq!(
            out.stderr_text(),
            "sh: can't open 'missing.sh': No such file or directory\n"
        );
        let out = pod.run(&["/data"]);
        assert_eq!(out.exit_code, 126);
    }

    #[test]
    fn test_builtin() {
        let pod = Pod::new();
        assert_eq!(pod.run(&["test", "-f", "/etc/hosts"]).exit_code, 0);
        assert_eq!(pod.run(&["test", "-d", "/etc/hosts"]).exit_code, 1);
        assert_eq!(pod.run(&["[", "-d", "/data", "]"]).exit_code, 0);
        assert_eq!(pod.run(&["[", "a", "=", "a", "]"]).exit_code, 0);
        assert_eq!(pod.run(&["[", "-n", "", "]"]).exit_code, 1);
        assert_eq!(
            pod.run(&["[", "!", "-e", "/x", "-a", "3", "-ge", "2", "]"])
                .exit_code,
            0
        );
        assert_eq!(pod.run(&["[", "1", "-eq", "1"]).exit_code, 2);
        assert_eq!(pod.run(&["test", "x", "-lt", "2"]).exit_code, 2);
        assert_eq!(pod.run(&["test"]).exit_code, 1);
        assert_eq!(pod.sh("[ -w /etc/config/app.conf ]").exit_code, 1);
    }

    #[test]
    fn runaway_scripts_are_bounded() {
        let pod = Pod::new();
        let out = pod.sh("while true; do :; done");
        assert_eq!(out.exit_code, 1);
        assert!(out.stderr_text().contains("command limit exceeded"));
        let out = pod.sh("while :; do echo 0123456789012345678901234567890123456789; done");
        assert_ne!(out.exit_code, 0);
        let out = pod.sh("x=a; while true; do x=$x$x; done");
        assert_ne!(out.exit_code, 0);
        let out = pod.sh("sh -c 'sh -c \"sh -c true\"'");
        assert_eq!(out.exit_code, 0);
        let deep = format!("{}true{}", "(".repeat(500), ")".repeat(500));
        assert_eq!(pod.sh(&deep).exit_code, 2);
        let deep = format!("echo $(({}1{}))", "(".repeat(5000), ")".repeat(5000));
        assert_eq!(pod.sh(&deep).exit_code, 2);
        let nested = "echo $(".repeat(40) + &")".repeat(40);
        assert!(pod.sh(&nested).stderr_text().contains("too many nested"));
        let braces = "echo ${A:-".repeat(3000) + &"}".repeat(3000);
        assert_eq!(pod.sh(&braces).exit_code, 2);
        let ariths = "echo $((1+".repeat(3000) + &"))".repeat(3000);
        assert_eq!(pod.sh(&ariths).exit_code, 2);
        let evals = "eval ".repeat(200) + "true";
        assert!(
            pod.sh(&evals)
                .stderr_text()
                .contains("too many nested evals")
        );
        let out = pod.sh("echo 'sh /tmp/s' > /tmp/s; sh /tmp/s");
        assert!(out.stderr_text().contains("too many nested shells"));
        let out = pod.sh("echo '{ if true; then echo $(. /tmp/t); fi; }' > /tmp/t; . /tmp/t");
        assert!(
            out.stderr_text().contains("nesting too deep"),
            "{}",
            out.stderr_text()
        );
        assert!(ok(&pod.run(&["seq", "0", "1", "99999999999"])).len() < 8 << 20);
    }

    #[test]
    fn arbitrary_input_never_panics() {
        let pod = Pod::new().in_dir("/data");
        let alphabet: Vec<char> = " \t\n;&|()<>'\"\\$`{}[]*?~#=!-+/:.,%0123456789abcxyz"
            .chars()
            .collect();
        let words = [
            "echo", "cat", "ls", "if", "then", "fi", "for", "in", "do", "done", "while", "$((",
            "$(", "${", "2>&1", ">>", "x", "test", "[", "]", "&&", "||", "rm", "-rf", "case",
        ];
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..3000 {
            let len = (next() % 24) as usize;
            let mut script = String::new();
            for _ in 0..len {
                if next() % 3 == 0 {
                    let w = words[(next() % words.len() as u64) as usize];
                    script.push_str(w);
                    script.push(' ');
                } else {
                    script.push(alphabet[(next() % alphabet.len() as u64) as usize]);
                }
            }
            let _ = pod.sh(&script);
            let argv: Vec<&str> = script.split(' ').collect();
            let _ = pod.run(&argv);
        }
        for cmd in COMMANDS {
            for args in [
                &[][..],
                &["-"][..],
                &["--"][..],
                &["-z"][..],
                &["--bogus"][..],
                &[""][..],
                &["-n"][..],
                &["-n", "-5"][..],
                &["/"][..],
                &["a", "b", "c"][..],
                &["-O"][..],
                &["%"][..],
                &["%99999999999d", "1"][..],
                &["http://"][..],
                &["http://x:99999/"][..],
                &["-c"][..],
            ] {
                let mut argv = vec![*cmd];
                argv.extend_from_slice(args);
                let _ = pod.run(&argv);
            }
        }
    }

    #[test]
    fn parsing_internals() {
        assert_eq!(
            parse_url("http://web-0.web:8080/a?b#c"),
            Ok(Url {
                scheme: "http".to_string(),
                host: "web-0.web".to_string(),
                port: 8080,
                path: "/a?b".to_string()
            })
        );
        assert_eq!(
            parse_url("web").map(|u| (u.port, u.path)),
            Ok((80, "/".to_string()))
        );
        assert_eq!(parse_url("https://x").map(|u| u.port), Ok(443));
        assert_eq!(parse_url("ftp://x"), Err(UrlError::Scheme));
        assert_eq!(parse_url("http://x:y/"), Err(UrlError::Port));
        assert_eq!(parse_url("http:///"), Err(UrlError::Host));
        assert_eq!(parse_int("0x1f"), Some(31));
        assert_eq!(parse_int("-010"), Some(-8));
        assert_eq!(parse_int("abc"), None);
        assert_eq!(trim_pattern("a.b.c", "*.", false, false), "b.c");
        assert_eq!(trim_pattern("a.b.c", "*.", false, true), "c");
        assert_eq!(trim_pattern("a.b.c", ".*", true, false), "a.b");
        assert_eq!(trim_pattern("a.b.c", ".*", true, true), "a");
        let regex = Regex::parse("^ab*c$", false);
        assert!(regex.is_match(&"abbbc".chars().collect::<Vec<_>>()));
        assert!(regex.is_match(&"ac".chars().collect::<Vec<_>>()));
        assert!(!regex.is_match(&"xac".chars().collect::<Vec<_>>()));
        assert_eq!(regex_alternatives("^(1|3)$", true), vec!["^1$", "^3$"]);
        assert_eq!(
            regex_alternatives("a\\(b\\|c\\)d", false),
            vec!["abd", "acd"]
        );
        assert_eq!(regex_alternatives("x|[|]", true), vec!["x", "[|]"]);
        assert_eq!(regex_alternatives("(a", true), vec!["\\(a"]);
        let regex = Regex::parse("o+k", true);
        assert!(regex.is_match(&"look".chars().collect::<Vec<_>>()));
        assert!(!regex.is_match(&"lk".chars().collect::<Vec<_>>()));
    }
}
