//! `$((...))`: decimal integers, variables, `+ - * / %`, comparisons, `!`, `&&`, `||`
//! and parentheses, with C precedence and wrapping 64-bit arithmetic — enough for
//! `$((100 + ordinal))` and counters. No assignments inside the expression.

use crate::sim::shell::MAX_NESTING;

const SYNTAX_ERROR: &str = "arithmetic syntax error";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Num(i64),
    Name(String),
    Op(&'static str),
}

/// Operators, longest first so `<=` is not read as `<`.
const OPS: &[&str] = &["<=", ">=", "==", "!=", "&&", "||", "+", "-", "*", "/", "%", "<", ">", "!", "(", ")"];

fn tokens(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let start = i;
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_alphanumeric() || c == '_' {
            while chars.get(i).is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_') {
                i += 1;
            }
            let word: String = chars.get(start..i).unwrap_or_default().iter().collect();
            tokens.push(if c.is_ascii_digit() { Token::Num(word.parse().map_err(|_| SYNTAX_ERROR.to_string())?) } else { Token::Name(word) });
        } else {
            let rest: String = chars.get(i..(i + 2).min(chars.len())).unwrap_or_default().iter().collect();
            let op = OPS.iter().find(|op| rest.starts_with(**op)).ok_or_else(|| SYNTAX_ERROR.to_string())?;
            tokens.push(Token::Op(op));
            i += op.len();
        }
    }
    Ok(tokens)
}

/// Evaluates `text`, reading variables through `var` (unset or empty is 0).
pub(super) fn evaluate(text: &str, var: &dyn Fn(&str) -> Option<String>) -> Result<i64, String> {
    let mut parser = Arith { tokens: tokens(text)?, pos: 0, depth: 0, var };
    if parser.tokens.is_empty() {
        return Ok(0);
    }
    let value = parser.binary(1)?;
    if parser.pos < parser.tokens.len() {
        return Err(SYNTAX_ERROR.to_string());
    }
    Ok(value)
}

/// Precedence climbing over the tokens.
struct Arith<'v> {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
    var: &'v dyn Fn(&str) -> Option<String>,
}

impl Arith<'_> {
    fn peek_op(&self) -> Option<&'static str> {
        match self.tokens.get(self.pos) {
            Some(Token::Op(op)) => Some(op),
            _ => None,
        }
    }

    /// Binary operators binding at least as tightly as `min` (left-associative).
    fn binary(&mut self, min: u8) -> Result<i64, String> {
        let mut value = self.unary()?;
        while let Some(op) = self.peek_op() {
            let Some(precedence) = precedence(op).filter(|p| *p >= min) else { break };
            self.pos += 1;
            let rhs = self.binary(precedence + 1)?;
            value = apply(op, value, rhs)?;
        }
        Ok(value)
    }

    fn unary(&mut self) -> Result<i64, String> {
        self.depth += 1;
        if self.depth > MAX_NESTING * 2 {
            return Err("arithmetic expression too deep".to_string());
        }
        let value = match self.tokens.get(self.pos).cloned() {
            Some(Token::Op(op @ ("-" | "+" | "!"))) => {
                self.pos += 1;
                let value = self.unary()?;
                match op {
                    "-" => value.wrapping_neg(),
                    "+" => value,
                    _ => i64::from(value == 0),
                }
            }
            Some(Token::Op("(")) => {
                self.pos += 1;
                let value = self.binary(1)?;
                if self.peek_op() != Some(")") {
                    return Err(SYNTAX_ERROR.to_string());
                }
                self.pos += 1;
                value
            }
            Some(Token::Num(n)) => {
                self.pos += 1;
                n
            }
            Some(Token::Name(name)) => {
                self.pos += 1;
                let text = (self.var)(&name).unwrap_or_default();
                let text = text.trim();
                if text.is_empty() { 0 } else { text.parse().map_err(|_| SYNTAX_ERROR.to_string())? }
            }
            _ => return Err(SYNTAX_ERROR.to_string()),
        };
        self.depth -= 1;
        Ok(value)
    }
}

/// Binding strength of a binary operator (higher binds tighter).
fn precedence(op: &str) -> Option<u8> {
    Some(match op {
        "||" => 1,
        "&&" => 2,
        "==" | "!=" => 3,
        "<" | "<=" | ">" | ">=" => 4,
        "+" | "-" => 5,
        "*" | "/" | "%" => 6,
        _ => return None,
    })
}

fn apply(op: &str, a: i64, b: i64) -> Result<i64, String> {
    Ok(match op {
        "+" => a.wrapping_add(b),
        "-" => a.wrapping_sub(b),
        "*" => a.wrapping_mul(b),
        "/" | "%" if b == 0 => return Err("divide by zero".to_string()),
        "/" => a.wrapping_div(b),
        "%" => a.wrapping_rem(b),
        "<" => i64::from(a < b),
        "<=" => i64::from(a <= b),
        ">" => i64::from(a > b),
        ">=" => i64::from(a >= b),
        "==" => i64::from(a == b),
        "!=" => i64::from(a != b),
        "&&" => i64::from(a != 0 && b != 0),
        "||" => i64::from(a != 0 || b != 0),
        _ => return Err(SYNTAX_ERROR.to_string()),
    })
}
