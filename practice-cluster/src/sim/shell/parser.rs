//! The shell's parser: tokens into a syntax tree of lists, `&&`/`||`, pipelines,
//! simple commands, `if`, `for`, `while`, `{ }` and `( )`.

use super::lexer::{Lexer, Op, Part, RedirOp, Tok, Word, describe};
use super::{MAX_NESTING, is_name};

/// A redirection: `[fd]op target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Redir {
    pub(super) fd: Option<u32>,
    pub(super) op: RedirOp,
    pub(super) target: Word,
}

/// A parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Node {
    Simple { assigns: Vec<(String, Word)>, words: Vec<Word>, redirs: Vec<Redir> },
    Pipeline { negate: bool, stages: Vec<Node> },
    AndOr { first: Box<Node>, rest: Vec<(bool, Node)> },
    List(Vec<Node>),
    If { branches: Vec<(Node, Node)>, otherwise: Option<Box<Node>> },
    For { var: String, items: Option<Vec<Word>>, body: Box<Node> },
    While { cond: Box<Node>, body: Box<Node> },
    Group(Box<Node>),
    Subshell(Box<Node>),
    Redirected { node: Box<Node>, redirs: Vec<Redir> },
}

/// Recursive descent over the tokens, with a depth bound.
struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
}

const RESERVED: &[&str] = &["then", "else", "elif", "fi", "do", "done", "}", "in", "esac"];

/// Parses a whole script.
pub(super) fn parse_script(text: &str) -> Result<Node, String> {
    let toks = Lexer::new(text).tokens()?;
    let mut parser = Parser { toks, pos: 0, depth: 0 };
    let list = parser.list(&[])?;
    if parser.pos < parser.toks.len() {
        return Err(format!("syntax error: unexpected {}", describe(parser.toks.get(parser.pos))));
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
            return Err(format!("syntax error: unexpected end of file (expecting \"{keyword}\")"));
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
                Some(Tok::Op(Op::Semi | Op::Newline)) => self.pos += 1,
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
                return Err(format!("syntax error: unexpected end of file (expecting \"{}\")", stops.first().copied().unwrap_or("done")));
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
        if rest.is_empty() { Ok(first) } else { Ok(Node::AndOr { first: Box::new(first), rest }) }
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
                        return Err("syntax error: unexpected end of file (expecting \")\")".to_string());
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
                Some("while") => {
                    self.pos += 1;
                    let cond = self.body(&["do"])?;
                    self.expect("do")?;
                    let body = self.body(&["done"])?;
                    self.expect("done")?;
                    Node::While { cond: Box::new(cond), body: Box::new(body) }
                }
                Some("{") => {
                    self.pos += 1;
                    let body = self.body(&["}"])?;
                    self.expect("}")?;
                    Node::Group(Box::new(body))
                }
                Some(kw @ ("case" | "until" | "function" | "select")) => {
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
        if redirs.is_empty() { Ok(compound) } else { Ok(Node::Redirected { node: Box::new(compound), redirs }) }
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
        Ok(Node::Simple { assigns, words, redirs })
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
        Ok(Node::If { branches, otherwise })
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
        Ok(Node::For { var, items, body: Box::new(body) })
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
