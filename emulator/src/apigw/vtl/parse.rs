//! Lexing and parsing a template into a tree, once, so that rendering never meets a syntax error.

use super::{VtlError, block};

/// How deep expressions and blocks may nest. Deeper input is refused rather than risking the stack.
pub(super) const MAX_NESTING: usize = 64;

#[derive(Debug, Clone)]
pub(super) enum Node {
    Text(String),
    Ref(Reference),
    /// A reference preceded by `backslashes` backslashes (`\$x`, `\\$x`).
    Escaped {
        backslashes: usize,
        reference: Reference,
    },
    Set {
        target: Reference,
        value: Expr,
        line: usize,
    },
    If {
        branches: Vec<(Expr, Vec<Node>)>,
        otherwise: Vec<Node>,
        line: usize,
    },
    Foreach {
        var: String,
        iter: Expr,
        body: Vec<Node>,
        line: usize,
    },
    Break,
    Stop,
}

#[derive(Debug, Clone)]
pub(super) struct Reference {
    pub quiet: bool,
    pub root: String,
    pub chain: Vec<Seg>,
    /// The reference as written, which is what an undefined reference renders as.
    pub src: String,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub(super) enum Seg {
    Prop(String),
    Method(String, Vec<Expr>),
    Index(Expr),
}

#[derive(Debug, Clone)]
pub(super) enum Expr {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// A double-quoted string holding references, rendered like template text.
    Interp(Vec<Node>),
    Ref(Box<Reference>),
    List(Vec<Expr>),
    Map(Vec<(Expr, Expr)>),
    Range(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Bin(BinOp, Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

/// The flat form the lexer produces, before whitespace gobbling and block building.
#[derive(Debug)]
pub(super) enum Item {
    Text(String),
    Ref(Reference),
    Escaped(usize, Reference),
    Set(Reference, Expr, usize),
    If(Expr, usize),
    ElseIf(Expr, usize),
    Else(usize),
    End(usize),
    Foreach(String, Expr, usize),
    Break,
    Stop,
    /// A `##` or `#* *#` comment; `true` when it ran to the end of its line and took the newline with it.
    Comment(bool),
}

impl Item {
    pub(super) fn is_directive(&self) -> bool {
        !matches!(self, Item::Text(_) | Item::Ref(_) | Item::Escaped(..))
    }
}

/// Directives Velocity knows that Offcloud refuses, so that a template using them fails at parse time
/// instead of rendering something else.
const REFUSED: [&str; 6] = ["macro", "include", "parse", "evaluate", "define", "literal"];
const SUPPORTED: [&str; 8] = [
    "set", "if", "elseif", "else", "end", "foreach", "break", "stop",
];

pub(super) fn parse_template(source: &str) -> Result<Vec<Node>, VtlError> {
    let mut lexer = Lexer::new(source, 1, 0);
    let items = lexer.items(false)?;
    block::build(block::gobble(items))
}

/// A cursor over the template. Names (`$name`, `#name`) are ASCII letters, digits and `_`, starting with a
/// letter or `_`: Velocity 2's rule. Velocity 1.7 also allowed `-`, so `$a.X-Y` there is one name; here it is
/// `$a.X` followed by the text `-Y`, and a hyphenated key needs `$a['X-Y']`.
pub(super) struct Lexer {
    pub(super) chars: Vec<char>,
    pub(super) pos: usize,
    newlines: Vec<usize>,
    base_line: usize,
    pub(super) depth: usize,
}

pub(super) fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

pub(super) fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl Lexer {
    pub(super) fn new(source: &str, base_line: usize, depth: usize) -> Lexer {
        let chars: Vec<char> = source.chars().collect();
        let newlines = chars
            .iter()
            .enumerate()
            .filter(|(_, c)| **c == '\n')
            .map(|(i, _)| i)
            .collect();
        Lexer {
            chars,
            pos: 0,
            newlines,
            base_line,
            depth,
        }
    }

    pub(super) fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    pub(super) fn at(&self, i: usize) -> Option<char> {
        self.chars.get(i).copied()
    }

    fn line_at(&self, pos: usize) -> usize {
        self.base_line + self.newlines.partition_point(|&n| n < pos)
    }

    pub(super) fn line(&self) -> usize {
        self.line_at(self.pos)
    }

    pub(super) fn syntax(&self, message: impl Into<String>) -> VtlError {
        VtlError::Syntax {
            line: self.line(),
            message: message.into(),
        }
    }

    pub(super) fn starts_with(&self, s: &str) -> bool {
        s.chars()
            .enumerate()
            .all(|(i, c)| self.at(self.pos + i) == Some(c))
    }

    pub(super) fn ident_at(&self, start: usize) -> Option<(String, usize)> {
        if !self.at(start).is_some_and(is_ident_start) {
            return None;
        }
        let mut end = start;
        while self.at(end).is_some_and(is_ident_char) {
            end += 1;
        }
        Some((self.chars[start..end].iter().collect(), end))
    }

    /// The directive name after a `#` at `hash`, plain or braced (`#{else}`), and the position after it.
    fn directive_at(&self, hash: usize) -> Option<(String, usize)> {
        if self.at(hash + 1) == Some('{') {
            let (name, end) = self.ident_at(hash + 2)?;
            (self.at(end) == Some('}')).then_some((name, end + 1))
        } else {
            self.ident_at(hash + 1)
        }
    }

    /// Template text (or the inside of a double-quoted string when `in_string`) as flat items.
    pub(super) fn items(&mut self, in_string: bool) -> Result<Vec<Item>, VtlError> {
        let mut items = Vec::new();
        let mut text = String::new();
        let flush = |text: &mut String, items: &mut Vec<Item>| {
            if !text.is_empty() {
                items.push(Item::Text(std::mem::take(text)));
            }
        };
        while let Some(c) = self.peek() {
            match c {
                '\\' => {
                    let start = self.pos;
                    let mut after = start;
                    while self.at(after) == Some('\\') {
                        after += 1;
                    }
                    let n = after - start;
                    if self.at(after) == Some('$') {
                        self.pos = after;
                        if let Some(reference) = self.reference()? {
                            flush(&mut text, &mut items);
                            items.push(Item::Escaped(n, reference));
                            continue;
                        }
                    } else if self.at(after) == Some('#')
                        && self.directive_at(after).is_some_and(|(name, _)| {
                            SUPPORTED.contains(&name.as_str()) || REFUSED.contains(&name.as_str())
                        })
                    {
                        // `\#if` is the text `#if`; `\\#if` is a backslash and then the directive.
                        text.extend(std::iter::repeat_n('\\', n / 2));
                        self.pos = after;
                        if n % 2 == 1 {
                            text.push('#');
                            self.pos += 1;
                        }
                        continue;
                    }
                    text.extend(std::iter::repeat_n('\\', n));
                    self.pos = after;
                }
                '$' => match self.reference()? {
                    Some(reference) => {
                        flush(&mut text, &mut items);
                        items.push(Item::Ref(reference));
                    }
                    None => {
                        text.push('$');
                        self.pos += 1;
                    }
                },
                '#' if in_string => {
                    // Velocity renders directives and comments inside a double-quoted string; Offcloud
                    // refuses them rather than print them as text.
                    let known = self.directive_at(self.pos).is_some_and(|(name, _)| {
                        SUPPORTED.contains(&name.as_str()) || REFUSED.contains(&name.as_str())
                    });
                    if known || matches!(self.at(self.pos + 1), Some('#' | '*')) {
                        return Err(self.syntax(
                            "directives and comments inside a double-quoted string are not supported by Offcloud's VTL",
                        ));
                    }
                    text.push('#');
                    self.pos += 1;
                }
                '#' => {
                    if let Some(item) = self.hash(&mut text)? {
                        flush(&mut text, &mut items);
                        items.push(item);
                    }
                }
                c => {
                    text.push(c);
                    self.pos += 1;
                }
            }
        }
        flush(&mut text, &mut items);
        Ok(items)
    }

    /// Handles a `#`: a comment, unparsed content, a directive, or plain text (appended to `text`).
    fn hash(&mut self, text: &mut String) -> Result<Option<Item>, VtlError> {
        let start = self.pos;
        let line = self.line();
        match self.at(start + 1) {
            Some('#') => {
                while let Some(c) = self.peek() {
                    self.pos += 1;
                    if c == '\n' {
                        return Ok(Some(Item::Comment(true)));
                    }
                }
                return Ok(Some(Item::Comment(false)));
            }
            Some('*') => {
                self.pos += 2;
                while self.pos < self.chars.len() {
                    if self.starts_with("*#") {
                        self.pos += 2;
                        return Ok(Some(Item::Comment(false)));
                    }
                    self.pos += 1;
                }
                return Err(VtlError::Syntax {
                    line,
                    message: "the #* comment is never closed with *#".into(),
                });
            }
            Some('[') if self.at(start + 2) == Some('[') => {
                self.pos += 3;
                while self.pos < self.chars.len() {
                    if self.starts_with("]]#") {
                        self.pos += 3;
                        return Ok(None);
                    }
                    text.push(self.chars[self.pos]);
                    self.pos += 1;
                }
                return Err(VtlError::Syntax {
                    line,
                    message: "the #[[ unparsed block is never closed with ]]#".into(),
                });
            }
            _ => {}
        }
        let Some((name, end)) = self.directive_at(start) else {
            text.push('#');
            self.pos += 1;
            return Ok(None);
        };
        if REFUSED.contains(&name.as_str()) {
            return Err(VtlError::Unsupported {
                line,
                directive: name,
            });
        }
        if !SUPPORTED.contains(&name.as_str()) {
            // Velocity prints `#name` as text when no directive or macro has that name, as in `#fff`.
            text.push('#');
            self.pos += 1;
            return Ok(None);
        }
        self.pos = end;
        let item = match name.as_str() {
            "else" => Item::Else(line),
            "end" => Item::End(line),
            "break" => Item::Break,
            "stop" => Item::Stop,
            "set" => {
                self.open_paren(&name)?;
                self.skip_ws();
                if self.peek() != Some('$') {
                    return Err(self.syntax("#set must assign to a reference such as $x"));
                }
                let Some(target) = self.reference()? else {
                    return Err(self.syntax("#set must assign to a reference such as $x"));
                };
                if target.chain.iter().any(|s| matches!(s, Seg::Method(..))) {
                    return Err(VtlError::Syntax {
                        line,
                        message: format!("#set cannot assign to a method call ({})", target.src),
                    });
                }
                self.skip_ws();
                if self.peek() != Some('=') {
                    return Err(self.syntax("#set needs `=` after the reference"));
                }
                self.pos += 1;
                let value = self.expr()?;
                self.close_paren(&name)?;
                Item::Set(target, value, line)
            }
            "if" | "elseif" => {
                self.open_paren(&name)?;
                let cond = self.expr()?;
                self.close_paren(&name)?;
                if name == "if" {
                    Item::If(cond, line)
                } else {
                    Item::ElseIf(cond, line)
                }
            }
            _ => {
                self.open_paren(&name)?;
                self.skip_ws();
                let var = self.loop_var()?;
                self.skip_ws();
                if !self.word("in") {
                    return Err(self.syntax("#foreach needs `in`, as in #foreach($item in $list)"));
                }
                let iter = self.expr()?;
                self.close_paren(&name)?;
                Item::Foreach(var, iter, line)
            }
        };
        Ok(Some(item))
    }

    fn loop_var(&mut self) -> Result<String, VtlError> {
        let bad =
            |l: &Lexer| l.syntax("#foreach needs a loop variable, as in #foreach($item in $list)");
        if self.peek() != Some('$') {
            return Err(bad(self));
        }
        let braced = self.at(self.pos + 1) == Some('{');
        let start = self.pos + 1 + usize::from(braced);
        let Some((name, mut end)) = self.ident_at(start) else {
            return Err(bad(self));
        };
        if braced {
            if self.at(end) != Some('}') {
                return Err(bad(self));
            }
            end += 1;
        }
        self.pos = end;
        Ok(name)
    }

    fn open_paren(&mut self, name: &str) -> Result<(), VtlError> {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.pos += 1;
        }
        if self.peek() != Some('(') {
            return Err(self.syntax(format!("#{name} must be followed by `(`")));
        }
        self.pos += 1;
        Ok(())
    }

    fn close_paren(&mut self, name: &str) -> Result<(), VtlError> {
        self.skip_ws();
        if self.peek() != Some(')') {
            return Err(self.syntax(format!("#{name}(...) is missing its closing `)`")));
        }
        self.pos += 1;
        Ok(())
    }

    pub(super) fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// Consumes `w` when it is a whole word at the current position.
    pub(super) fn word(&mut self, w: &str) -> bool {
        if self.starts_with(w) && !self.at(self.pos + w.len()).is_some_and(is_ident_char) {
            self.pos += w.len();
            true
        } else {
            false
        }
    }
}
