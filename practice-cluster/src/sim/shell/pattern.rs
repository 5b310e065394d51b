//! Shell patterns (`*`, `?`, `[...]`, `\x`) for globs and `${VAR#pattern}`, and the
//! bracket expressions grep shares. Matching charges the exec's [`Budget`] one step per
//! character compared, so a pathological pattern ends like a runaway loop.

use super::budget::{Budget, Exhausted};

/// A bracket expression such as `[a-z]`, `[!0-9]` or `[[:digit:]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Class {
    ranges: Vec<(char, char)>,
    negated: bool,
}

impl Class {
    pub(super) fn new(ranges: Vec<(char, char)>) -> Class {
        Class { ranges, negated: false }
    }

    pub(super) fn matches(&self, c: char) -> bool {
        self.ranges.iter().any(|(lo, hi)| *lo <= c && c <= *hi) != self.negated
    }

    /// Parses a bracket expression starting at `chars[open] == '['`: the class and the
    /// index just past its `]`, or `None` for a `[` without one (a literal).
    pub(super) fn parse(chars: &[char], open: usize) -> Option<(Class, usize)> {
        let mut i = open + 1;
        let mut negated = false;
        if matches!(chars.get(i), Some('^' | '!')) {
            negated = true;
            i += 1;
        }
        let mut ranges = Vec::new();
        let mut first = true;
        loop {
            let &c = chars.get(i)?;
            if c == ']' && !first {
                return Some((Class { ranges, negated }, i + 1));
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
}

fn named_class(name: &str) -> Vec<(char, char)> {
    match name {
        "digit" => vec![('0', '9')],
        "alpha" => vec![('a', 'z'), ('A', 'Z')],
        "alnum" => vec![('a', 'z'), ('A', 'Z'), ('0', '9')],
        "upper" => vec![('A', 'Z')],
        "lower" => vec![('a', 'z')],
        "space" => vec![(' ', ' '), ('\t', '\r')],
        _ => Vec::new(),
    }
}

/// Whether `pattern` has an unescaped `*`, `?` or `[`.
pub(super) fn has_glob_chars(pattern: &str) -> bool {
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

/// `pattern` with its escapes removed: the literal text it matches.
pub(super) fn unescape_pattern(pattern: &str) -> String {
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

/// Matches all of `text` against a shell pattern, iteratively (backtracking to the last
/// `*` only), charging one step per character compared.
pub(super) fn glob_match(pattern: &str, text: &str, budget: &Budget) -> Result<bool, Exhausted> {
    // Reading both strings costs a step per character too.
    budget.charge((pattern.len() + text.len()) as u64)?;
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    let mut steps = 0u64;
    while let Some(&c) = t.get(ti) {
        steps += 1;
        if steps.is_multiple_of(1024) {
            budget.charge(1024)?;
        }
        let step = match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
                continue;
            }
            Some('?') => Some(1),
            Some('[') => match Class::parse(&p, pi) {
                Some((class, next)) => class.matches(c).then_some(next - pi),
                None => (c == '[').then_some(1),
            },
            Some('\\') => match p.get(pi + 1) {
                Some(&e) => (e == c).then_some(2),
                None => (c == '\\').then_some(1),
            },
            Some(&x) => (x == c).then_some(1),
            None => None,
        };
        match (step, star) {
            (Some(n), _) => {
                pi += n;
                ti += 1;
            }
            (None, Some((sp, st))) => {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            (None, None) => break,
        }
    }
    budget.charge(steps % 1024)?;
    while p.get(pi) == Some(&'*') {
        pi += 1;
    }
    Ok(ti == t.len() && pi == p.len())
}

/// `${X#pat}` and `${X##pat}` (prefix) or `${X%pat}` and `${X%%pat}` (`suffix`), the
/// shortest match unless `longest`.
pub(super) fn trim_pattern(value: &str, pattern: &str, suffix: bool, longest: bool, budget: &Budget) -> Result<String, Exhausted> {
    let mut bounds: Vec<usize> = value.char_indices().map(|(i, _)| i).collect();
    bounds.push(value.len());
    // Prefixes value[..i] grow with i, suffixes value[i..] shrink: try the shortest first.
    if suffix {
        bounds.reverse();
    }
    if longest {
        bounds.reverse();
    }
    for i in bounds {
        let (matched, rest) = if suffix { (value.get(i..), value.get(..i)) } else { (value.get(..i), value.get(i..)) };
        if glob_match(pattern, matched.unwrap_or_default(), budget)? {
            return Ok(rest.unwrap_or_default().to_string());
        }
    }
    Ok(value.to_string())
}
