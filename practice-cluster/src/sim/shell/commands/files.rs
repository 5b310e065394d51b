//! File commands: `cat`, `ls`, `touch`, `rm`, `mkdir`, `tar`, with busybox's wording.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::{getopt, opts_or_return, split_lines, usage};
use crate::sim::fs::{self, Entry, FsError};
use crate::sim::shell::{Call, ExecOutput, is_dev_null};

pub(super) fn cat(args: &[String], call: &Call) -> ExecOutput {
    let opts = opts_or_return!(getopt("cat", args, "unbveEtA", "", &[]));
    let number = opts.has('n') || opts.has('b');
    let mut out = ExecOutput::default();
    let mut data = Vec::new();
    let files = if opts.operands.is_empty() { vec!["-".to_string()] } else { opts.operands.clone() };
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

pub(super) fn ls(args: &[String], call: &Call) -> ExecOutput {
    let opts = opts_or_return!(getopt("ls", args, "aAl1dhrFpC", "", &[("all", 'a', false), ("almost-all", 'A', false)]));
    let long = opts.has('l');
    let human = opts.has('h');
    let all = opts.has('a');
    let almost = opts.has('A') || all;
    let dir_itself = opts.has('d');
    let reverse = opts.has('r');
    let classify = opts.has('F') || opts.has('p');
    let mut out = ExecOutput::default();
    let operands = if opts.operands.is_empty() { vec![".".to_string()] } else { opts.operands.clone() };
    let mut files: Vec<(String, Entry)> = Vec::new();
    let mut dirs: Vec<(String, Entry)> = Vec::new();
    for operand in &operands {
        let stat = if operand.is_empty() { Err(FsError::NotFound) } else { call.fs().stat(&call.path(operand)) };
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
        if long { long_line(entry, &format!("{name}{suffix}"), human) } else { format!("{name}{suffix}\n") }
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
    let mode = if entry.is_dir { "drwxr-xr-x" } else { "-rw-r--r--" };
    let links = if entry.is_dir { 2 } else { 1 };
    let size = if human { human_size(entry.size) } else { entry.size.to_string() };
    let time = Timestamp::try_from(entry.modified).unwrap_or(Timestamp::UNIX_EPOCH).to_zoned(TimeZone::UTC);
    format!("{mode} {links:>4} {:<8} {:<8} {size:>9} {} {name}\n", "root", "root", time.strftime("%b %e %H:%M"))
}

pub(super) fn human_size(size: u64) -> String {
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

pub(super) fn touch(args: &[String], call: &Call) -> ExecOutput {
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

pub(super) fn rm(args: &[String], call: &Call) -> ExecOutput {
    let opts = opts_or_return!(getopt("rm", args, "frRiv", "", &[("force", 'f', false), ("recursive", 'r', false), ("verbose", 'v', false),]));
    let force = opts.has('f');
    let recursive = opts.has('r') || opts.has('R');
    if opts.operands.is_empty() {
        return if force { ExecOutput::default() } else { usage("rm [-irf] FILE...") };
    }
    let mut out = ExecOutput::default();
    for file in &opts.operands {
        let path = call.path(file);
        let base = file.trim_end_matches('/').rsplit('/').next().unwrap_or_default();
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
                out.err(&format!("rm: can't remove '{file}': No such file or directory\n"));
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

pub(super) fn mkdir(args: &[String], call: &Call) -> ExecOutput {
    let opts = opts_or_return!(getopt("mkdir", args, "pv", "m", &[("parents", 'p', false), ("mode", 'm', true)]));
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

/// `tar`: the subset `kubectl cp` runs (`tar cf -`, `tar xmf - -C DIR`); the archive
/// format lives in `sim::tar`.
pub(super) fn tar(args: &[String], call: &Call) -> ExecOutput {
    crate::sim::tar::run(args, call.fs(), call.ctx.cwd, call.stdin)
}
