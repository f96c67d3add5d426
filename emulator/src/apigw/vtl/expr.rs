//! References and expressions: `$a.b(1)[0]`, literals, and Velocity's operators.

use super::VtlError;
use super::parse::{BinOp, Expr, Item, Lexer, MAX_NESTING, Node, Reference, Seg};

impl Lexer {
    /// A reference at `$`. Returns `None`, consuming nothing, when the `$` does not start one; Velocity then
    /// prints the `$` as text.
    pub(super) fn reference(&mut self) -> Result<Option<Reference>, VtlError> {
        let start = self.pos;
        let line = self.line();
        let mut p = start + 1;
        let quiet = self.at(p) == Some('!');
        if quiet {
            p += 1;
        }
        let braced = self.at(p) == Some('{');
        if braced {
            p += 1;
        }
        let Some((root, end)) = self.ident_at(p) else {
            return Ok(None);
        };
        self.pos = end;
        let mut chain = Vec::new();
        loop {
            match self.peek() {
                Some('.') => {
                    let Some((name, end)) = self.ident_at(self.pos + 1) else {
                        break;
                    };
                    self.pos = end;
                    if self.peek() == Some('(') {
                        self.pos += 1;
                        let args = self.args()?;
                        chain.push(Seg::Method(name, args));
                    } else {
                        chain.push(Seg::Prop(name));
                    }
                }
                Some('[') => {
                    let save = self.pos;
                    self.pos += 1;
                    let index = self.expr().and_then(|e| {
                        self.skip_ws();
                        if self.peek() == Some(']') {
                            self.pos += 1;
                            Ok(e)
                        } else {
                            Err(self.syntax("expected `]`"))
                        }
                    });
                    match index {
                        Ok(e) => chain.push(Seg::Index(e)),
                        Err(_) => {
                            // `$x[` that is not an index stays text, as in `$name[draft]`.
                            self.pos = save;
                            break;
                        }
                    }
                }
                _ => break,
            }
        }
        if braced {
            if self.peek() != Some('}') {
                self.pos = start;
                return Ok(None);
            }
            self.pos += 1;
        }
        Ok(Some(Reference {
            quiet,
            root,
            chain,
            src: self.chars[start..self.pos].iter().collect(),
            line,
        }))
    }

    pub(super) fn args(&mut self) -> Result<Vec<Expr>, VtlError> {
        let mut args = Vec::new();
        self.skip_ws();
        if self.peek() == Some(')') {
            self.pos += 1;
            return Ok(args);
        }
        loop {
            args.push(self.expr()?);
            self.skip_ws();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(')') => {
                    self.pos += 1;
                    return Ok(args);
                }
                _ => return Err(self.syntax("expected `,` or `)` in a method call")),
            }
        }
    }

    pub(super) fn expr(&mut self) -> Result<Expr, VtlError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(self.syntax("the expression nests too deeply"));
        }
        let result = self.or_expr();
        self.depth -= 1;
        result
    }

    fn binary(
        &mut self,
        next: fn(&mut Lexer) -> Result<Expr, VtlError>,
        ops: &[(&str, BinOp)],
    ) -> Result<Expr, VtlError> {
        let mut left = next(self)?;
        'outer: loop {
            self.skip_ws();
            for (sym, op) in ops {
                let matched = if sym.chars().all(|c| c.is_ascii_alphabetic()) {
                    self.word(sym)
                } else if self.starts_with(sym) {
                    // `<` must not swallow the start of `<=`, and `=` alone is not `==`.
                    self.pos += sym.len();
                    true
                } else {
                    false
                };
                if matched {
                    let right = next(self)?;
                    left = Expr::Bin(*op, Box::new(left), Box::new(right));
                    continue 'outer;
                }
            }
            return Ok(left);
        }
    }

    fn or_expr(&mut self) -> Result<Expr, VtlError> {
        self.binary(Lexer::and_expr, &[("||", BinOp::Or), ("or", BinOp::Or)])
    }

    fn and_expr(&mut self) -> Result<Expr, VtlError> {
        self.binary(Lexer::eq_expr, &[("&&", BinOp::And), ("and", BinOp::And)])
    }

    fn eq_expr(&mut self) -> Result<Expr, VtlError> {
        self.binary(
            Lexer::rel_expr,
            &[
                ("==", BinOp::Eq),
                ("!=", BinOp::Ne),
                ("eq", BinOp::Eq),
                ("ne", BinOp::Ne),
            ],
        )
    }

    fn rel_expr(&mut self) -> Result<Expr, VtlError> {
        self.binary(
            Lexer::add_expr,
            &[
                ("<=", BinOp::Le),
                (">=", BinOp::Ge),
                ("<", BinOp::Lt),
                (">", BinOp::Gt),
                ("le", BinOp::Le),
                ("ge", BinOp::Ge),
                ("lt", BinOp::Lt),
                ("gt", BinOp::Gt),
            ],
        )
    }

    fn add_expr(&mut self) -> Result<Expr, VtlError> {
        self.binary(Lexer::mul_expr, &[("+", BinOp::Add), ("-", BinOp::Sub)])
    }

    fn mul_expr(&mut self) -> Result<Expr, VtlError> {
        self.binary(
            Lexer::unary,
            &[("*", BinOp::Mul), ("/", BinOp::Div), ("%", BinOp::Mod)],
        )
    }

    fn unary(&mut self) -> Result<Expr, VtlError> {
        self.skip_ws();
        if self.peek() == Some('!') && self.at(self.pos + 1) != Some('=') {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.nested(Lexer::unary)?)));
        }
        if self.word("not") {
            return Ok(Expr::Not(Box::new(self.nested(Lexer::unary)?)));
        }
        if self.peek() == Some('-') {
            self.pos += 1;
            return Ok(Expr::Neg(Box::new(self.nested(Lexer::unary)?)));
        }
        self.primary()
    }

    fn nested(&mut self, f: fn(&mut Lexer) -> Result<Expr, VtlError>) -> Result<Expr, VtlError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(self.syntax("the expression nests too deeply"));
        }
        let result = f(self);
        self.depth -= 1;
        result
    }

    fn primary(&mut self) -> Result<Expr, VtlError> {
        self.skip_ws();
        let Some(c) = self.peek() else {
            return Err(self.syntax("the expression ends too early"));
        };
        match c {
            '$' => match self.reference()? {
                Some(r) => Ok(Expr::Ref(Box::new(r))),
                None => Err(self.syntax("expected a reference after `$`")),
            },
            '"' | '\'' => self.string(c),
            '0'..='9' => self.number(),
            '(' => {
                self.pos += 1;
                let e = self.expr()?;
                self.skip_ws();
                if self.peek() != Some(')') {
                    return Err(self.syntax("expected `)`"));
                }
                self.pos += 1;
                Ok(e)
            }
            '[' => self.list(),
            '{' => self.map(),
            _ if self.word("true") => Ok(Expr::Bool(true)),
            _ if self.word("false") => Ok(Expr::Bool(false)),
            _ => Err(self.syntax(format!("unexpected `{c}` in an expression"))),
        }
    }

    fn number(&mut self) -> Result<Expr, VtlError> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let mut float = false;
        if self.peek() == Some('.') && self.at(self.pos + 1).is_some_and(|c| c.is_ascii_digit()) {
            float = true;
            self.pos += 1;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.pos += 1;
            }
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        if !float && let Ok(i) = text.parse::<i64>() {
            return Ok(Expr::Int(i));
        }
        text.parse::<f64>()
            .map(Expr::Float)
            .map_err(|_| self.syntax(format!("bad number {text}")))
    }

    /// A string literal. Velocity 1.7 does not process backslash escapes in literals (so `"\\'"` is the
    /// three characters `\\'`, which the AWS docs rely on for `replaceAll("\\'","'")`); a doubled quote
    /// stands for one quote.
    fn string(&mut self, quote: char) -> Result<Expr, VtlError> {
        let line = self.line();
        self.pos += 1;
        let mut content = String::new();
        loop {
            match self.peek() {
                None => {
                    return Err(VtlError::Syntax {
                        line,
                        message: "the string literal is never closed".into(),
                    });
                }
                Some(c) if c == quote => {
                    if self.at(self.pos + 1) == Some(quote) {
                        content.push(quote);
                        self.pos += 2;
                    } else {
                        self.pos += 1;
                        break;
                    }
                }
                Some(c) => {
                    content.push(c);
                    self.pos += 1;
                }
            }
        }
        if quote == '\'' || !content.contains(['$', '#']) {
            return Ok(Expr::Str(content));
        }
        let mut inner = Lexer::new(&content, line, self.depth + 1);
        if inner.depth > MAX_NESTING {
            return Err(self.syntax("the expression nests too deeply"));
        }
        let nodes = inner
            .items(true)?
            .into_iter()
            .filter_map(|item| match item {
                Item::Text(t) => Some(Node::Text(t)),
                Item::Ref(r) => Some(Node::Ref(r)),
                Item::Escaped(n, r) => Some(Node::Escaped {
                    backslashes: n,
                    reference: r,
                }),
                _ => None,
            })
            .collect();
        Ok(Expr::Interp(nodes))
    }

    fn list(&mut self) -> Result<Expr, VtlError> {
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(']') {
            self.pos += 1;
            return Ok(Expr::List(Vec::new()));
        }
        let first = self.expr()?;
        self.skip_ws();
        if self.starts_with("..") {
            self.pos += 2;
            let last = self.expr()?;
            self.skip_ws();
            if self.peek() != Some(']') {
                return Err(self.syntax("expected `]` after a range"));
            }
            self.pos += 1;
            return Ok(Expr::Range(Box::new(first), Box::new(last)));
        }
        let mut items = vec![first];
        loop {
            self.skip_ws();
            match self.peek() {
                Some(',') => {
                    self.pos += 1;
                    items.push(self.expr()?);
                }
                Some(']') => {
                    self.pos += 1;
                    return Ok(Expr::List(items));
                }
                _ => return Err(self.syntax("expected `,` or `]` in a list")),
            }
        }
    }

    fn map(&mut self) -> Result<Expr, VtlError> {
        self.pos += 1;
        let mut entries = Vec::new();
        self.skip_ws();
        if self.peek() == Some('}') {
            self.pos += 1;
            return Ok(Expr::Map(entries));
        }
        loop {
            let key = self.expr()?;
            self.skip_ws();
            if self.peek() != Some(':') {
                return Err(self.syntax("expected `:` in a map"));
            }
            self.pos += 1;
            let value = self.expr()?;
            entries.push((key, value));
            self.skip_ws();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some('}') => {
                    self.pos += 1;
                    return Ok(Expr::Map(entries));
                }
                _ => return Err(self.syntax("expected `,` or `}` in a map")),
            }
        }
    }
}
