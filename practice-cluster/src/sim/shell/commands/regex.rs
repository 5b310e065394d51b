//! The patterns `grep` understands: fixed strings, or a small regular expression (`.`,
//! `*`, `+`, `?`, `[...]`, `^`, `$`, groups and `|` as alternatives), matched by
//! simulating its automaton (linear in the line), charging the exec's budget per step.

use crate::sim::shell::MAX_NESTING;
use crate::sim::shell::budget::{Budget, Exhausted};
use crate::sim::shell::pattern::Class;

/// A grep pattern, ready to match lines.
pub(super) struct Matcher {
    alternatives: Vec<Regex>,
    fixed: Option<String>,
    icase: bool,
}

#[derive(Debug, Clone)]
enum Atom {
    Char(char),
    Any,
    Class(Class),
}

impl Atom {
    fn matches(&self, c: char) -> bool {
        match self {
            Atom::Char(x) => *x == c,
            Atom::Any => true,
            Atom::Class(class) => class.matches(c),
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
        if stop > i && chars.last() == Some(&'$') && !(stop >= 2 && chars.get(stop - 2) == Some(&'\\')) {
            end = true;
            stop -= 1;
        }
        while i < stop {
            let Some(&c) = chars.get(i) else { break };
            i += 1;
            let atom = match c {
                '.' => Atom::Any,
                '[' => match Class::parse(&chars, i - 1) {
                    Some((class, next)) => {
                        i = next;
                        Atom::Class(class)
                    }
                    None => Atom::Char('['),
                },
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
                        'd' => Atom::Class(Class::new(vec![('0', '9')])),
                        'w' => Atom::Class(Class::new(vec![('a', 'z'), ('A', 'Z'), ('0', '9'), ('_', '_')])),
                        's' => Atom::Class(Class::new(vec![(' ', ' '), ('\t', '\t')])),
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
    fn is_match(&self, text: &[char], budget: &Budget) -> Result<bool, Exhausted> {
        let n = self.items.len();
        // Every character visits each of the automaton's states once.
        budget.charge((text.len() as u64 + 1).saturating_mul(n as u64 + 1))?;
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
            return Ok(true);
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
                return Ok(true);
            }
            if !current.iter().any(|a| *a) {
                return Ok(false);
            }
        }
        Ok(false)
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
                let next = Class::parse(&chars, i - 1).map_or(i, |(_, next)| next);
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

impl Matcher {
    /// A matcher for one grep pattern: `fixed` (`-F`) text, or a basic (`extended`:
    /// `-E`) regular expression; `icase` (`-i`) ignores case.
    pub(super) fn new(pattern: &str, fixed: bool, extended: bool, icase: bool) -> Matcher {
        let pattern = if icase { pattern.to_lowercase() } else { pattern.to_string() };
        if fixed {
            return Matcher { alternatives: Vec::new(), fixed: Some(pattern), icase };
        }
        let alternatives = regex_alternatives(&pattern, extended).iter().map(|p| Regex::parse(p, extended)).collect();
        Matcher { alternatives, fixed: None, icase }
    }

    /// Whether the pattern matches somewhere in `line`.
    pub(super) fn is_match(&self, line: &str, budget: &Budget) -> Result<bool, Exhausted> {
        let line = if self.icase { line.to_lowercase() } else { line.to_string() };
        if let Some(fixed) = &self.fixed {
            budget.charge(line.len() as u64)?;
            return Ok(line.contains(fixed.as_str()));
        }
        let chars: Vec<char> = line.chars().collect();
        for regex in &self.alternatives {
            if regex.is_match(&chars, budget)? {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
