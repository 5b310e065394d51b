//! Redirections: `>`, `>>`, `<`, `2>`, `2>&1`, `>&2`, and `/dev/null`.

use super::Shell;
use crate::sim::fs::{self, FsError};
use crate::sim::shell::lexer::RedirOp;
use crate::sim::shell::parser::{Node, Redir};
use crate::sim::shell::{ExecOutput, is_dev_null};

/// Where a file descriptor's output goes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Sink {
    Stdout,
    Stderr,
    Null,
    File(String),
}

/// Redirections in effect for one command.
pub(super) struct Redirections {
    out: Sink,
    err: Sink,
    /// Standard input from `<`, if any.
    pub(super) input: Option<Vec<u8>>,
}

impl Shell<'_, '_> {
    pub(super) fn exec_redirected(&mut self, node: &Node, redirs: &[Redir]) -> ExecOutput {
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
    pub(super) fn route(&mut self, result: ExecOutput, setup: &Redirections) -> ExecOutput {
        let mut out = ExecOutput { exit_code: result.exit_code, ..ExecOutput::default() };
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
                        out.err(&format!("sh: write error: {err}\n"));
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
            Err(err) => {
                let reason = match err {
                    FsError::NotFound | FsError::NotADirectory => "nonexistent directory".to_string(),
                    other => other.to_string(),
                };
                Err(format!("sh: can't create {target}: {reason}\n"))
            }
        }
    }

    pub(super) fn redirections(&mut self, redirs: &[Redir]) -> Result<Redirections, String> {
        let mut setup = Redirections { out: Sink::Stdout, err: Sink::Stderr, input: None };
        for redir in redirs {
            let target = match self.expand_single(&redir.target) {
                Ok(target) => target,
                Err(err) => return Err(format!("sh: {err}\n")),
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
                RedirOp::DupOut => {
                    let sink = match target.as_str() {
                        "1" => setup.out.clone(),
                        "2" => setup.err.clone(),
                        _ => return Err(format!("sh: {target}: bad file descriptor\n")),
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
                            return Err(if err == FsError::NotFound {
                                format!("sh: can't open {target}: no such file\n")
                            } else {
                                format!("sh: can't open {target}: {err}\n")
                            });
                        }
                    }
                }
            }
        }
        Ok(setup)
    }
}
