//! `tar` in a simulated container: the subset `kubectl cp` runs.
//!
//! `kubectl cp POD:/data/visits ./visits` runs `tar cf - /data/visits` and reads the
//! archive from stdout; `kubectl cp ./f POD:/data/f` runs `tar -xmf - -C /data` (with
//! `--no-same-permissions --no-same-owner` under `--no-preserve`) and writes the
//! archive to stdin. Archives are USTAR, as busybox writes them; reading also accepts
//! the PAX and GNU long-name records other writers (Go's archive/tar among them) may
//! add. The archive must be `-` (stdin or stdout).

use std::time::UNIX_EPOCH;

use super::fs::{self, FsError, MountTable};
use super::shell::ExecOutput;

const BLOCK: usize = 512;
/// Deepest directory nesting archived.
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Create,
    Extract,
}

/// What the command line asked for.
#[derive(Debug, Default, PartialEq, Eq)]
struct Args {
    mode: Option<Mode>,
    archive: Option<String>,
    dir: Option<String>,
    operands: Vec<String>,
}

/// A failure reported as `tar: ...` with exit status 1.
#[derive(Debug, thiserror::Error)]
#[error("tar: {0}")]
struct TarError(String);

fn fail(message: impl Into<String>) -> TarError {
    TarError(message.into())
}

/// Runs `tar ARGS` in a container whose files are `files`, in directory `cwd`.
pub fn run(args: &[String], files: &MountTable, cwd: &str, stdin: &[u8]) -> ExecOutput {
    let mut out = ExecOutput::default();
    let result = parse(args).and_then(|a| {
        if a.archive.as_deref() != Some("-") {
            return Err(fail("only '-f -' (the archive on stdin or stdout) is supported in this container"));
        }
        let base = fs::resolve(cwd, a.dir.as_deref().unwrap_or("."));
        if !files.is_dir(&base) {
            return Err(fail(format!("can't change directory to '{}': No such file or directory", a.dir.as_deref().unwrap_or("."))));
        }
        match a.mode {
            Some(Mode::Create) => create(files, &base, &a.operands, &mut out),
            Some(Mode::Extract) => extract(files, &base, stdin, &mut out),
            None => Err(fail("need at least one of -c or -x")),
        }
    });
    if let Err(e) = result {
        out.stderr.extend_from_slice(format!("{e}\n").as_bytes());
        out.exit_code = 1;
    }
    out
}

/// Parses both `tar cf - X` (bundled first argument) and `tar -xmf - -C DIR`.
fn parse(args: &[String]) -> Result<Args, TarError> {
    let mut a = Args::default();
    let mut rest: std::collections::VecDeque<String> = args.iter().cloned().collect();
    let flag = |c: char, value: &mut dyn FnMut() -> Option<String>, a: &mut Args| -> Result<(), TarError> {
        match c {
            'c' => a.mode = Some(Mode::Create),
            'x' => a.mode = Some(Mode::Extract),
            'f' => a.archive = Some(value().ok_or_else(|| fail("option requires an argument -- 'f'"))?),
            'C' => a.dir = Some(value().ok_or_else(|| fail("option requires an argument -- 'C'"))?),
            // Keep extracted files' times as now, and owners as the extracting user: what happens anyway.
            'm' | 'o' => {}
            other => return Err(fail(format!("invalid option -- '{other}'"))),
        }
        Ok(())
    };
    if let Some(first) = rest.front().filter(|f| !f.starts_with('-') && !f.is_empty()).cloned() {
        rest.pop_front();
        for c in first.chars() {
            // Old style: each letter taking a value takes the next argument.
            let mut next = || rest.pop_front();
            flag(c, &mut next, &mut a)?;
        }
    }
    while let Some(arg) = rest.pop_front() {
        if arg == "--" {
            a.operands.extend(rest.drain(..));
        } else if let Some(long) = arg.strip_prefix("--") {
            match long.split_once('=') {
                Some(("directory", d)) => a.dir = Some(d.to_owned()),
                Some(("file", f)) => a.archive = Some(f.to_owned()),
                _ if matches!(long, "no-same-permissions" | "no-same-owner") => {}
                _ if matches!(long, "directory" | "file") => {
                    let v = rest.pop_front().ok_or_else(|| fail(format!("option '--{long}' requires an argument")))?;
                    if long == "directory" { a.dir = Some(v) } else { a.archive = Some(v) }
                }
                _ => return Err(fail(format!("unrecognized option '--{long}'"))),
            }
        } else if let Some(short) = arg.strip_prefix('-').filter(|s| !s.is_empty()) {
            for (i, c) in short.char_indices() {
                let attached = &short[i + c.len_utf8()..];
                if matches!(c, 'f' | 'C') {
                    let mut value = || if attached.is_empty() { rest.pop_front() } else { Some(attached.to_owned()) };
                    flag(c, &mut value, &mut a)?;
                    break;
                }
                flag(c, &mut || None, &mut a)?;
            }
        } else {
            a.operands.push(arg);
        }
    }
    Ok(a)
}

/// Writes the archive of `operands` (relative to `base`) to stdout.
fn create(files: &MountTable, base: &str, operands: &[String], out: &mut ExecOutput) -> Result<(), TarError> {
    if operands.is_empty() {
        return Err(fail("empty archive"));
    }
    let mut archive = Vec::new();
    let mut missing = false;
    if operands.iter().any(|o| o.starts_with('/')) {
        out.stderr.extend_from_slice(b"tar: removing leading '/' from member names\n");
    }
    for operand in operands {
        let path = fs::resolve(base, operand);
        let name = operand.trim_start_matches('/');
        let name = if name.is_empty() { "." } else { name };
        let added = files.stat(&path).map_err(|e| fail(format!("{operand}: {e}"))).and_then(|_| add(files, &path, name, &mut archive, 0));
        if let Err(e) = added {
            out.stderr.extend_from_slice(format!("{e}\n").as_bytes());
            missing = true;
        }
    }
    archive.resize(archive.len() + 2 * BLOCK, 0);
    out.stdout = archive;
    if missing {
        out.exit_code = 1;
    }
    Ok(())
}

/// Appends `path`, stored as `name`, and (for a directory) everything below it.
fn add(files: &MountTable, path: &str, name: &str, archive: &mut Vec<u8>, depth: usize) -> Result<(), TarError> {
    let entry = files.stat(path).map_err(|e| fail(format!("{name}: {e}")))?;
    let mtime = entry.modified.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
    if !entry.is_dir {
        let data = files.read(path).map_err(|e| fail(format!("{name}: {e}")))?;
        archive.extend_from_slice(&header(name, b'0', 0o644, data.len() as u64, mtime)?);
        archive.extend_from_slice(&data);
        archive.resize(archive.len().next_multiple_of(BLOCK), 0);
        return Ok(());
    }
    if depth >= MAX_DEPTH {
        return Err(fail(format!("{name}: directory nesting too deep")));
    }
    let dir_name = format!("{}/", name.trim_end_matches('/'));
    archive.extend_from_slice(&header(&dir_name, b'5', 0o755, 0, mtime)?);
    for child in files.list(path).map_err(|e| fail(format!("{name}: {e}")))? {
        add(files, &fs::join(path, &child.name), &format!("{dir_name}{}", child.name), archive, depth + 1)?;
    }
    Ok(())
}

/// One USTAR header block.
fn header(name: &str, kind: u8, mode: u32, size: u64, mtime: u64) -> Result<[u8; BLOCK], TarError> {
    let mut h = [0u8; BLOCK];
    let (prefix, short) = split_name(name).ok_or_else(|| fail(format!("{name}: file name is too long")))?;
    let mut put = |at: usize, bytes: &[u8]| h[at..at + bytes.len()].copy_from_slice(bytes);
    put(0, short.as_bytes());
    put(100, format!("{mode:07o}\0").as_bytes());
    put(108, b"0000000\0");
    put(116, b"0000000\0");
    put(124, format!("{size:011o}\0").as_bytes());
    put(136, format!("{mtime:011o}\0").as_bytes());
    put(148, b"        ");
    put(156, &[kind]);
    put(257, b"ustar\x0000");
    put(265, b"root");
    put(297, b"root");
    put(345, prefix.as_bytes());
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    Ok(h)
}

/// Splits a member name into USTAR's 155-byte prefix and 100-byte name.
fn split_name(name: &str) -> Option<(&str, &str)> {
    if name.len() <= 100 {
        return Some(("", name));
    }
    let cut = name.get(..=155.min(name.len() - 1))?.rfind('/')?;
    let (prefix, rest) = (&name[..cut], &name[cut + 1..]);
    (rest.len() <= 100 && !rest.is_empty()).then_some((prefix, rest))
}

/// A NUL-terminated field as text.
fn text(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// An octal numeric field (space or NUL padded).
fn octal(field: &[u8]) -> Option<u64> {
    let t = text(field);
    let t = t.trim_matches(|c: char| c == ' ' || c == '\0');
    if t.is_empty() { Some(0) } else { u64::from_str_radix(t, 8).ok() }
}

/// Unpacks the archive on stdin into `base`.
fn extract(files: &MountTable, base: &str, archive: &[u8], out: &mut ExecOutput) -> Result<(), TarError> {
    let mut at = 0;
    // A name from a PAX `path` record or a GNU long-name entry, for the next member.
    let mut long_name: Option<String> = None;
    let mut failed = false;
    while at + BLOCK <= archive.len() {
        let h = &archive[at..at + BLOCK];
        if h.iter().all(|&b| b == 0) {
            break;
        }
        let expected = octal(&h[148..156]).ok_or_else(|| fail("invalid tar header checksum"))?;
        let sum: u64 = h.iter().enumerate().map(|(i, &b)| if (148..156).contains(&i) { 32 } else { u64::from(b) }).sum();
        if sum != expected {
            return Err(fail("invalid tar header checksum"));
        }
        let size = usize::try_from(octal(&h[124..136]).ok_or_else(|| fail("invalid tar header"))?).map_err(|_| fail("invalid tar header"))?;
        let data_at = at + BLOCK;
        let data = archive.get(data_at..data_at.saturating_add(size)).ok_or_else(|| fail("short read"))?;
        at = data_at + size.next_multiple_of(BLOCK);
        let mut name = text(&h[0..100]);
        let prefix = text(&h[345..500]);
        if &h[257..262] == b"ustar" && !prefix.is_empty() {
            name = format!("{prefix}/{name}");
        }
        if let Some(n) = long_name.take() {
            name = n;
        }
        match h[156] {
            b'x' => {
                long_name = pax_path(data);
                continue;
            }
            b'L' => {
                long_name = Some(text(data));
                continue;
            }
            b'g' => continue,
            _ => {}
        }
        // Members land below `base`, whatever `..` or `/` their names hold.
        let relative = fs::normalize(&format!("/{name}"));
        let target = fs::resolve(base, relative.trim_start_matches('/'));
        let written = match h[156] {
            b'0' | b'\0' | b'7' => write_file(files, &target, data),
            b'5' => files.create_dir_all(&target),
            _ => {
                out.stderr.extend_from_slice(format!("tar: {name}: skipping: only files and directories are supported\n").as_bytes());
                continue;
            }
        };
        if let Err(e) = written {
            out.stderr.extend_from_slice(format!("tar: can't create '{name}': {e}\n").as_bytes());
            failed = true;
        }
    }
    if failed {
        out.exit_code = 1;
    }
    Ok(())
}

fn write_file(files: &MountTable, target: &str, data: &[u8]) -> Result<(), FsError> {
    if let Some(parent) = fs::parent(target) {
        files.create_dir_all(parent)?;
    }
    files.write(target, data.to_vec())
}

/// The `path` record of a PAX extended header (`"<len> path=<value>\n"` records).
fn pax_path(data: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(data);
    text.lines().find_map(|record| record.split_once(' ').and_then(|(_, kv)| kv.strip_prefix("path=")).map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::fs::Fs;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    fn container() -> MountTable {
        let t = MountTable::new(Fs::new()).with_mount("/data", Fs::new(), false);
        t.write("/data/visits", "3\n").expect("write");
        t.create_dir_all("/data/logs/old").expect("mkdir");
        t.write("/data/logs/old/a.log", "a\n").expect("write");
        t
    }

    #[test]
    fn kubectl_cp_command_lines_parse() {
        let a = parse(&argv("cf - /data/visits")).expect("old style");
        assert_eq!(a, Args { mode: Some(Mode::Create), archive: Some("-".into()), dir: None, operands: vec!["/data/visits".into()] });
        let a = parse(&argv("--no-same-permissions --no-same-owner -xmf - -C /data")).expect("new style");
        assert_eq!(a, Args { mode: Some(Mode::Extract), archive: Some("-".into()), dir: Some("/data".into()), operands: vec![] });
        assert!(parse(&argv("-xzf -")).is_err(), "no compression here");
    }

    #[test]
    fn a_file_and_a_tree_round_trip() {
        let from = container();
        let out = run(&argv("cf - /data"), &from, "/", &[]);
        assert_eq!(out.exit_code, 0, "{}", out.stderr_text());
        assert_eq!(out.stderr_text(), "tar: removing leading '/' from member names\n");
        assert_eq!(out.stdout.len() % BLOCK, 0);
        assert_eq!(&out.stdout[0..5], b"data/");
        let to = MountTable::new(Fs::new());
        to.create_dir_all("/restore").expect("mkdir");
        let back = run(&argv("-xmf - -C /restore"), &to, "/", &out.stdout);
        assert_eq!(back.exit_code, 0, "{}", back.stderr_text());
        assert_eq!(to.read("/restore/data/visits").expect("file"), b"3\n");
        assert_eq!(to.read("/restore/data/logs/old/a.log").expect("nested file"), b"a\n");
    }

    #[test]
    fn names_cannot_escape_the_target_directory() {
        let from = MountTable::new(Fs::new());
        from.write("/f", "x").expect("write");
        let mut archive = header("../../etc/passwd", b'0', 0o644, 1, 0).expect("header").to_vec();
        archive.push(b'x');
        archive.resize(3 * BLOCK, 0);
        let to = MountTable::new(Fs::new());
        to.create_dir_all("/data").expect("mkdir");
        assert_eq!(run(&argv("xf - -C /data"), &to, "/", &archive).exit_code, 0);
        assert!(to.exists("/data/etc/passwd") && !to.exists("/etc/passwd"));
    }

    #[test]
    fn errors_read_like_tar() {
        let t = container();
        let out = run(&argv("cf - nope"), &t, "/data", &[]);
        assert_eq!((out.exit_code, out.stderr_text()), (1, "tar: nope: No such file or directory\n".to_owned()));
        let out = run(&argv("xf - -C /missing"), &t, "/", &[]);
        assert_eq!(out.stderr_text(), "tar: can't change directory to '/missing': No such file or directory\n");
        let mut bad = header("f", b'0', 0o644, 0, 0).expect("header").to_vec();
        bad[0] = b'g';
        assert_eq!(run(&argv("xf -"), &t, "/data", &bad).stderr_text(), "tar: invalid tar header checksum\n");
        let long = "d/".repeat(150) + "f";
        assert!(header(&long, b'0', 0, 0, 0).is_err());
    }
}
