//! Text commands: `echo`, `head`, `tail`, `wc`, `grep`.

use std::fmt::Write as _;

use super::regex::Matcher;
use super::{getopt, opts_or_return, read_inputs, split_lines, usage};
use crate::sim::shell::{Call, ExecOutput};

/// `head [-n N] [-c N] [FILE]...`
pub(super) fn head(args: &[String], call: &Call) -> ExecOutput {
    head_tail(args, call, false)
}

/// `tail [-n [+]N] [-c [+]N] [FILE]...`
pub(super) fn tail(args: &[String], call: &Call) -> ExecOutput {
    head_tail(args, call, true)
}

/// `head` or `tail` (`-n N`, `-n +N` for tail, `-c N`, `-N`).
fn head_tail(args: &[String], call: &Call, tail: bool) -> ExecOutput {
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
    let opts = opts_or_return!(getopt(cmd, &args, "fFqvs", "nc", &[("lines", 'n', true), ("bytes", 'c', true)]));
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
            out.out(&format!("{}==> {name} <==\n", if i > 0 { "\n" } else { "" }));
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

/// `wc [-lwcm] [FILE]...`
pub(super) fn wc(args: &[String], call: &Call) -> ExecOutput {
    let opts = opts_or_return!(getopt("wc", args, "lwcmL", "", &[("lines", 'l', false), ("words", 'w', false), ("bytes", 'c', false)]));
    let mut which: Vec<char> = ['l', 'w', 'c', 'm'].into_iter().filter(|c| opts.has(*c)).collect();
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
/// `grep [-icnqvEF] [-e PATTERN]... PATTERN [FILE]...`
pub(super) fn grep(args: &[String], call: &Call) -> ExecOutput {
    let longs = [("ignore-case", 'i', false), ("invert-match", 'v', false), ("count", 'c', false), ("quiet", 'q', false), ("regexp", 'e', true)];
    let opts = match getopt("grep", args, "icnqvEF", "e", &longs) {
        Ok(opts) => opts,
        Err(mut output) => {
            output.exit_code = 2;
            return output;
        }
    };
    let mut operands = opts.operands.clone();
    let mut patterns: Vec<String> = opts.flags.iter().filter(|(f, _)| *f == 'e').filter_map(|(_, v)| v.clone()).collect();
    if patterns.is_empty() {
        if operands.is_empty() {
            let mut out = usage("grep [-icnqvEF] { PATTERN | -e PATTERN... } [FILE]...");
            out.exit_code = 2;
            return out;
        }
        patterns.push(operands.remove(0));
    }
    let matchers: Vec<Matcher> = patterns.iter().flat_map(|p| p.split('\n')).map(|p| Matcher::new(p, opts.has('F'), opts.has('E'), opts.has('i'))).collect();
    let mut out = ExecOutput::default();
    let inputs = read_inputs("grep", &operands, call, &mut out);
    let error = out.exit_code != 0;
    let prefix = inputs.len() > 1;
    let mut any = false;
    let mut text = String::new();
    for (name, data) in &inputs {
        let shown = if name == "-" { "(standard input)" } else { name };
        let mut count = 0usize;
        for (i, raw) in split_lines(data).iter().enumerate() {
            let line = String::from_utf8_lossy(raw);
            let line = line.strip_suffix('\n').unwrap_or(&line);
            let mut hit = false;
            for m in &matchers {
                match m.is_match(line, call.budget) {
                    Ok(true) => hit = true,
                    Ok(false) => continue,
                    // Out of budget: stop here; the exec's end reports why.
                    Err(_) => return ExecOutput { stdout: text.into_bytes(), stderr: out.stderr, exit_code: 2 },
                }
                break;
            }
            if hit == opts.has('v') {
                continue;
            }
            count += 1;
            any = true;
            if opts.has('q') {
                return ExecOutput::default();
            }
            if opts.has('c') {
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
    }
    out.out(&text);
    out.exit_code = if error {
        2
    } else if any {
        0
    } else {
        1
    };
    out
}

/// `echo [-neE] [ARG]...`
pub(super) fn echo(args: &[String], _call: &Call) -> ExecOutput {
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
        let (text, stop) = unescape(&joined);
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

/// Interprets the backslash escapes of `echo -e` (`\n`, `\t`, `\r`, `\\`); `\c` stops
/// output (the second value is true then). Others stay as written.
pub(super) fn unescape(text: &str) -> (String, bool) {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            Some('c') => return (out, true),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    (out, false)
}
