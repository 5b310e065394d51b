//! Word expansion: parameters (`$X`, `${X:-word}`, `${X##pattern}`...), `$(...)`,
//! `$((...))`, `~`, field splitting and pathname expansion (globs).

use super::Shell;
use super::arith;
use crate::sim::fs;
use crate::sim::shell::lexer::{Lexed, Lexer, ParamOp, Part, Word};
use crate::sim::shell::pattern::{glob_match, has_glob_chars, trim_pattern, unescape_pattern};
use crate::sim::shell::{MAX_DEPTH, MAX_NESTING, MAX_STRING};

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

impl Shell<'_, '_> {
    /// The value of a special or named parameter.
    pub(super) fn param(&self, name: &str) -> Option<String> {
        match name {
            "?" => Some(self.status.to_string()),
            "#" => Some(self.positional.len().saturating_sub(1).to_string()),
            "@" | "*" => Some(self.positional.get(1..).unwrap_or_default().join(" ")),
            _ if name.chars().all(|c| c.is_ascii_digit()) => {
                let index = name.parse::<usize>().ok()?;
                self.positional.get(index).cloned()
            }
            "PWD" => Some(self.var("PWD").unwrap_or(&self.cwd).to_string()),
            _ => self.var(name).map(str::to_string),
        }
    }

    /// Expands words into fields: parameter, command and arithmetic expansion, field
    /// splitting and pathname expansion.
    pub(super) fn expand_words(&mut self, words: &[Word]) -> Result<Vec<String>, String> {
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
    pub(super) fn expand_single(&mut self, word: &Word) -> Result<String, String> {
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
                Part::Param { name, op, arg, quoted } => {
                    if name == "@" && *quoted && *op == ParamOp::Plain {
                        let args: Vec<String> = self.positional.get(1..).unwrap_or_default().to_vec();
                        for (j, arg) in args.into_iter().enumerate() {
                            if j > 0 {
                                pieces.push(Piece::Break);
                            }
                            pieces.push(Piece::Quoted(arg));
                        }
                        continue;
                    }
                    let value = self.expand_param(name, *op, arg)?;
                    if *quoted { Piece::Quoted(value) } else { Piece::Expanded(value) }
                }
                Part::Command { script, quoted } => {
                    let output = self.command_substitution(script)?;
                    if *quoted { Piece::Quoted(output) } else { Piece::Expanded(output) }
                }
                Part::Arith { expr, quoted } => {
                    let text = self.expand_text(expr, false)?;
                    let value = self.arithmetic(&text)?.to_string();
                    if *quoted { Piece::Quoted(value) } else { Piece::Expanded(value) }
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
            ParamOp::Plain => Ok(value.unwrap_or_default()),
            ParamOp::Default { colon } => {
                if unset_or_empty(colon, &value) {
                    self.expand_text(arg, false)
                } else {
                    Ok(value.unwrap_or_default())
                }
            }
            ParamOp::TrimPrefix { longest } | ParamOp::TrimSuffix { longest } => {
                let value = value.unwrap_or_default();
                let pattern = self.expand_text(arg, true)?;
                let suffix = matches!(op, ParamOp::TrimSuffix { .. });
                // Out of budget: any value will do, the exec stops and reports it.
                Ok(trim_pattern(&value, &pattern, suffix, longest, self.budget).unwrap_or_default())
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
        arith::evaluate(text, &|name| self.param(name))
    }

    /// Pathname expansion of `pattern` (quoted characters escaped); sorted matches.
    fn glob(&self, pattern: &str) -> Vec<String> {
        const MAX_MATCHES: usize = 10_000;
        let absolute = pattern.starts_with('/');
        let mut candidates: Vec<(String, String)> =
            vec![(if absolute { "/".to_string() } else { String::new() }, if absolute { "/".to_string() } else { self.cwd.clone() })];
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
                        match glob_match(component, &entry.name, self.budget) {
                            Ok(true) => next.push((shown(display, &entry.name), fs::join(real, &entry.name))),
                            Ok(false) => {}
                            // Out of budget: the exec stops and reports it.
                            Err(_) => return Vec::new(),
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
        let mut matches: Vec<String> = candidates.into_iter().filter(|(_, real)| self.ctx.fs.exists(real)).map(|(display, _)| display).collect();
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
