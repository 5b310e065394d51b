//! The shell's lexer: script text into tokens (words with their quoting and `$`
//! expansions kept apart, operators, redirections).

/// One piece of a shell word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Part {
    /// Unquoted text: subject to globbing.
    Lit(String),
    /// Quoted or escaped text: taken as is.
    Quoted(String),
    /// `$NAME` or `${NAME...}`.
    Param { name: String, op: ParamOp, arg: String, quoted: bool },
    /// `$(...)` or `` `...` ``.
    Command { script: String, quoted: bool },
    /// `$((...))`.
    Arith { expr: String, quoted: bool },
}

/// The operator of a `${NAME<op>WORD}` expansion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ParamOp {
    /// `$NAME`, `${NAME}`.
    Plain,
    /// `${NAME:-WORD}` (or `-` without the colon: only when unset).
    Default { colon: bool },
    /// `${NAME%PATTERN}`, `${NAME%%PATTERN}`.
    TrimSuffix { longest: bool },
    /// `${NAME#PATTERN}`, `${NAME##PATTERN}` (e.g. the ordinal: `${HOSTNAME##*-}`).
    TrimPrefix { longest: bool },
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Word {
    pub(super) parts: Vec<Part>,
}

impl Word {
    /// The word's text if it is a single unquoted literal (how keywords are spotted).
    pub(super) fn plain(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [Part::Lit(text)] => Some(text),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Semi,
    Newline,
    And,
    Or,
    Pipe,
    LParen,
    RParen,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RedirOp {
    /// `>` or `>|`
    Out,
    /// `>>`
    Append,
    /// `<`
    In,
    /// `>&`, as in `2>&1`
    DupOut,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Tok {
    Word(Word),
    Op(Op),
    Redir { fd: Option<u32>, op: RedirOp },
}

pub(super) fn describe(tok: Option<&Tok>) -> String {
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
            }
        ),
    }
}

pub(super) struct Lexer {
    chars: Vec<char>,
    pos: usize,
}

/// What lexing a word produced: a word, or an IO number before a redirection.
pub(super) enum Lexed {
    Word(Word),
    Fd(u32),
}

const UNTERMINATED: &str = "syntax error: unterminated quoted string";

impl Lexer {
    pub(super) fn new(text: &str) -> Lexer {
        Lexer { chars: text.chars().collect(), pos: 0 }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    pub(super) fn tokens(mut self) -> Result<Vec<Tok>, String> {
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
                '&' => {
                    if self.peek_at(1) != Some('&') {
                        return Err("syntax error: background jobs (&) are not supported".to_string());
                    }
                    self.pos += 2;
                    toks.push(Tok::Op(Op::And));
                }
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
                _ => match self.word(&|c| matches!(c, ' ' | '\t' | '\r' | '\n' | ';' | '&' | '|' | '(' | ')' | '<' | '>'))? {
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
            (Some('>'), _) => (RedirOp::Out, 1),
            (Some('<'), Some('<' | '&' | '>')) => {
                return Err(format!("syntax error: \"<{}\" is not supported", second.unwrap_or_default()));
            }
            _ => (RedirOp::In, 1),
        };
        self.pos += len;
        Ok(Tok::Redir { fd, op })
    }

    /// Lexes one word up to an unquoted character for which `stop` holds.
    pub(super) fn word(&mut self, stop: &dyn Fn(char) -> bool) -> Result<Lexed, String> {
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
                    parts.push(Part::Command { script, quoted: false });
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
                    parts.push(Part::Command { script, quoted: true });
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
        self.chars.get(from..to).unwrap_or_default().iter().collect()
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
                Ok(Some(Part::Param { name, op: ParamOp::Plain, arg: String::new(), quoted }))
            }
            Some(c) if c.is_ascii_digit() || matches!(c, '?' | '#' | '@' | '*') => {
                self.pos = start + 2;
                Ok(Some(Part::Param { name: c.to_string(), op: ParamOp::Plain, arg: String::new(), quoted }))
            }
            _ => {
                self.pos = start + 1;
                Ok(None)
            }
        }
    }
}

/// Parses the inside of `${...}`.
fn parse_braced(inner: &str, quoted: bool) -> Result<Part, String> {
    const BAD: &str = "syntax error: bad substitution";
    let name_len = match inner.chars().next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => inner.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(inner.len()),
        Some(c) if c.is_ascii_digit() => inner.find(|c: char| !c.is_ascii_digit()).unwrap_or(inner.len()),
        Some('?' | '#' | '@' | '*') => 1,
        _ => return Err(BAD.to_string()),
    };
    let name = inner.get(..name_len).unwrap_or_default().to_string();
    let rest = inner.get(name_len..).unwrap_or_default();
    let ops = [
        (":-", ParamOp::Default { colon: true }),
        ("%%", ParamOp::TrimSuffix { longest: true }),
        ("##", ParamOp::TrimPrefix { longest: true }),
        ("-", ParamOp::Default { colon: false }),
        ("%", ParamOp::TrimSuffix { longest: false }),
        ("#", ParamOp::TrimPrefix { longest: false }),
    ];
    if rest.is_empty() {
        return Ok(Part::Param { name, op: ParamOp::Plain, arg: String::new(), quoted });
    }
    for (prefix, op) in ops {
        if let Some(arg) = rest.strip_prefix(prefix) {
            return Ok(Part::Param { name, op, arg: arg.to_string(), quoted });
        }
    }
    Err(BAD.to_string())
}
