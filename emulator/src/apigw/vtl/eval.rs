//! Rendering a parsed template.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use regex::Regex;

use super::input;
use super::methods;
use super::parse::{BinOp, Expr, Node, Reference, Seg};
use super::value::{MapKind, Value, java_equals};
use super::{RenderContext, Rendered, RequestOverrides, VtlError};

/// Loop iterations allowed in one render, so that `#foreach` over large ranges cannot hang the emulator.
const MAX_STEPS: usize = 1_000_000;
/// The longest text a render may produce or build in a string.
pub(super) const MAX_TEXT: usize = 32 << 20;
/// The longest list a range such as `[1..n]` may produce.
const MAX_RANGE: i64 = 100_000;

/// A failure inside an expression; the statement that ran it adds the line.
pub(super) enum Fault {
    Render(String),
    Json(String),
}

impl From<String> for Fault {
    fn from(message: String) -> Fault {
        Fault::Render(message)
    }
}

impl From<&str> for Fault {
    fn from(message: &str) -> Fault {
        Fault::Render(message.to_string())
    }
}

impl Fault {
    fn at(self, line: usize) -> VtlError {
        match self {
            Fault::Render(message) => VtlError::Render { line, message },
            Fault::Json(message) => VtlError::InvalidJson { line, message },
        }
    }
}

pub(super) type R<T> = Result<T, Fault>;

enum Flow {
    Normal,
    Break,
    Stop,
}

pub(super) struct Renderer<'a> {
    pub cx: &'a RenderContext,
    vars: HashMap<String, Value>,
    out: String,
    body_json: Option<Result<Value, String>>,
    regexes: HashMap<String, Regex>,
    steps: usize,
}

pub(super) fn render(nodes: &[Node], cx: &RenderContext) -> Result<Rendered, VtlError> {
    let mut r = Renderer {
        cx,
        vars: HashMap::new(),
        out: String::new(),
        body_json: None,
        regexes: HashMap::new(),
        steps: 0,
    };
    r.vars.insert("context".into(), context_value(&cx.context));
    r.vars.insert(
        "stageVariables".into(),
        Value::map(
            cx.stage_variables
                .iter()
                .map(|(k, v)| (k.clone(), Value::str(v.as_str())))
                .collect(),
        ),
    );
    r.nodes(nodes)?;
    let mut rendered = Rendered {
        body: std::mem::take(&mut r.out),
        ..Rendered::default()
    };
    if let Some(context) = r.vars.get("context") {
        read_overrides(context, &mut rendered)?;
    }
    Ok(rendered)
}

/// `$context` as given, with `responseOverride` and `requestOverride` maps ready to be set.
fn context_value(json: &serde_json::Value) -> Value {
    let context = match Value::from_json(json) {
        m @ Value::Map(_) => m,
        _ => Value::map(Vec::new()),
    };
    let response = child_map(&context, "responseOverride");
    child_map(&response, "header");
    let request = child_map(&context, "requestOverride");
    for key in ["header", "path", "querystring"] {
        child_map(&request, key);
    }
    context
}

/// The map under `key`, created when missing.
fn child_map(parent: &Value, key: &str) -> Value {
    let Value::Map(map) = parent else {
        return Value::Null;
    };
    if let Some(existing @ Value::Map(_)) = map.borrow().get(key) {
        return existing.clone();
    }
    let child = Value::map(Vec::new());
    map.borrow_mut().put(key.to_string(), child.clone());
    child
}

fn get(value: &Value, key: &str) -> Value {
    match value {
        Value::Map(map) => map.borrow().get(key).cloned().unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

fn string_map(value: &Value) -> Result<BTreeMap<String, String>, VtlError> {
    let mut out = BTreeMap::new();
    if let Value::Map(map) = value {
        for (k, v) in &map.borrow().entries {
            if !v.is_null() {
                let text = v
                    .java_string()
                    .map_err(|message| VtlError::Render { line: 0, message })?;
                out.insert(k.clone(), text);
            }
        }
    }
    Ok(out)
}

fn read_overrides(context: &Value, rendered: &mut Rendered) -> Result<(), VtlError> {
    let response = get(context, "responseOverride");
    rendered.status_override = match get(&response, "status") {
        Value::Null => None,
        status => {
            let text = status.java_string().unwrap_or_default();
            let code = match &status {
                Value::Int(i) => u16::try_from(*i).ok(),
                Value::Float(f) if f.fract() == 0.0 && (0.0..=65535.0).contains(f) => {
                    Some(*f as u16)
                }
                Value::String(s) => s.trim().parse::<u16>().ok(),
                _ => None,
            };
            match code {
                Some(code @ 100..=599) => Some(code),
                _ => return Err(VtlError::BadStatusOverride(text)),
            }
        }
    };
    rendered.header_overrides = string_map(&get(&response, "header"))?;
    let request = get(context, "requestOverride");
    rendered.request_overrides = RequestOverrides {
        header: string_map(&get(&request, "header"))?,
        path: string_map(&get(&request, "path"))?,
        querystring: string_map(&get(&request, "querystring"))?,
    };
    Ok(())
}

impl Renderer<'_> {
    fn push(&mut self, text: &str, line: usize) -> Result<(), VtlError> {
        if self.out.len() + text.len() > MAX_TEXT {
            return Err(VtlError::Render {
                line,
                message: format!("the output is longer than {MAX_TEXT} bytes"),
            });
        }
        self.out.push_str(text);
        Ok(())
    }

    fn nodes(&mut self, nodes: &[Node]) -> Result<Flow, VtlError> {
        for node in nodes {
            match node {
                Node::Text(text) => self.push(text, 0)?,
                Node::Ref(reference) | Node::Escaped { reference, .. } => {
                    let text = self.inline(node).map_err(|f| f.at(reference.line))?;
                    self.push(&text, reference.line)?;
                }
                Node::Set {
                    target,
                    value,
                    line,
                } => self.set(target, value).map_err(|f| f.at(*line))?,
                Node::If {
                    branches,
                    otherwise,
                    line,
                } => {
                    let mut chosen = otherwise;
                    for (cond, body) in branches {
                        if self.eval(cond).map_err(|f| f.at(*line))?.truthy() {
                            chosen = body;
                            break;
                        }
                    }
                    match self.nodes(chosen)? {
                        Flow::Normal => {}
                        flow => return Ok(flow),
                    }
                }
                Node::Foreach {
                    var,
                    iter,
                    body,
                    line,
                } => {
                    if let Flow::Stop = self.foreach(var, iter, body, *line)? {
                        return Ok(Flow::Stop);
                    }
                }
                Node::Break => return Ok(Flow::Break),
                Node::Stop => return Ok(Flow::Stop),
            }
        }
        Ok(Flow::Normal)
    }

    /// The text of a text, reference or escaped-reference node.
    fn inline(&mut self, node: &Node) -> R<String> {
        match node {
            Node::Text(text) => Ok(text.clone()),
            Node::Ref(reference) => self.ref_text(reference),
            Node::Escaped {
                backslashes,
                reference,
            } => {
                // Velocity: `\$x` prints `$x` when `$x` is defined and `\$x` when it is not; an even number of
                // backslashes is halved and the reference rendered.
                let n = *backslashes;
                if !self.is_defined(&reference.root) {
                    return Ok(format!("{}{}", "\\".repeat(n), reference.src));
                }
                let half = "\\".repeat(n / 2);
                if n % 2 == 1 {
                    Ok(format!("{half}{}", reference.src))
                } else {
                    Ok(format!("{half}{}", self.ref_text(reference)?))
                }
            }
            _ => Ok(String::new()),
        }
    }

    fn ref_text(&mut self, reference: &Reference) -> R<String> {
        match self.eval_chain(&reference.root, &reference.chain)? {
            None if reference.quiet => Ok(String::new()),
            None => Ok(reference.src.clone()),
            Some(Value::Null) => Ok(String::new()),
            Some(value) => Ok(value.java_string()?),
        }
    }

    fn is_defined(&self, root: &str) -> bool {
        self.vars.contains_key(root) || root == "input" || root == "util"
    }

    /// The value of `$root.chain...`, or `None` when `$root` was never set.
    fn eval_chain(&mut self, root: &str, chain: &[Seg]) -> R<Option<Value>> {
        let mut chain = chain;
        let mut value = if let Some(v) = self.vars.get(root) {
            v.clone()
        } else if root == "input" || root == "util" {
            let Some((first, rest)) = chain.split_first() else {
                return Err(format!("${root} cannot be used on its own").into());
            };
            chain = rest;
            self.builtin(root, first)?
        } else {
            return Ok(None);
        };
        for seg in chain {
            value = match seg {
                Seg::Prop(name) => methods::property(&value, name),
                Seg::Index(expr) => {
                    let index = self.eval(expr)?;
                    methods::index(&value, &index)?
                }
                Seg::Method(name, args) => {
                    let args = self.args(args)?;
                    methods::call(self, &value, name, args)?
                }
            };
        }
        Ok(Some(value))
    }

    fn builtin(&mut self, root: &str, seg: &Seg) -> R<Value> {
        let (name, args) = match seg {
            Seg::Prop(name) => (name, Vec::new()),
            Seg::Method(name, args) => (name, self.args(args)?),
            Seg::Index(_) => return Err(format!("${root}[...] is not supported").into()),
        };
        if root == "input" {
            input::input(self, name, &args)
        } else {
            input::util(name, &args)
        }
    }

    fn args(&mut self, args: &[Expr]) -> R<Vec<Value>> {
        args.iter().map(|a| self.eval(a)).collect()
    }

    /// The request body as JSON, parsed on first use.
    pub(super) fn body_json(&mut self) -> R<Value> {
        let parsed = self
            .body_json
            .get_or_insert_with(|| input::parse_json(input::body_text(&self.cx.body)));
        match parsed {
            Ok(value) => Ok(value.clone()),
            Err(message) => Err(Fault::Json(message.clone())),
        }
    }

    pub(super) fn regex(&mut self, pattern: &str) -> R<Regex> {
        if let Some(re) = self.regexes.get(pattern) {
            return Ok(re.clone());
        }
        let re = Regex::new(pattern).map_err(|e| {
            format!("the regular expression {pattern:?} is not supported by Offcloud: {e}")
        })?;
        self.regexes.insert(pattern.to_string(), re.clone());
        Ok(re)
    }

    fn set(&mut self, target: &Reference, value: &Expr) -> R<()> {
        let value = self.eval(value)?;
        let Some((last, init)) = target.chain.split_last() else {
            self.vars.insert(target.root.clone(), value);
            return Ok(());
        };
        // Velocity logs and skips a #set whose left side cannot be reached; so does this.
        let Some(base) = self.eval_chain(&target.root, init)? else {
            return Ok(());
        };
        match (last, &base) {
            (Seg::Prop(name), Value::Map(map)) => {
                map.borrow_mut().put(name.clone(), value);
            }
            (Seg::Index(expr), Value::Map(map)) => {
                let key = self.eval(expr)?.java_string()?;
                map.borrow_mut().put(key, value);
            }
            (Seg::Index(expr), Value::List(list, _)) => {
                let index = self.eval(expr)?;
                let mut list = list.borrow_mut();
                let i = methods::list_index(&index, list.len())?;
                list[i] = value;
            }
            _ => {}
        }
        Ok(())
    }

    fn foreach(
        &mut self,
        var: &str,
        iter: &Expr,
        body: &[Node],
        line: usize,
    ) -> Result<Flow, VtlError> {
        let items: Vec<Value> = match self.eval(iter).map_err(|f| f.at(line))? {
            Value::List(list, _) => list.borrow().clone(),
            // Velocity iterates over a map's values.
            Value::Map(map) => map
                .borrow()
                .entries
                .iter()
                .map(|(_, v)| v.clone())
                .collect(),
            // Velocity skips a loop over null or over something it cannot iterate.
            _ => Vec::new(),
        };
        let names = [var, "foreach", "velocityCount", "velocityHasNext"];
        let saved: Vec<Option<Value>> = names.iter().map(|n| self.vars.get(*n).cloned()).collect();
        let n = items.len();
        let mut flow = Flow::Normal;
        for (i, item) in items.into_iter().enumerate() {
            self.steps += 1;
            if self.steps > MAX_STEPS {
                return Err(VtlError::Render {
                    line,
                    message: format!("the template loops more than {MAX_STEPS} times"),
                });
            }
            let has_next = i + 1 < n;
            let scope = Value::map_of(
                vec![
                    ("index".into(), Value::Int(i as i64)),
                    ("count".into(), Value::Int(i as i64 + 1)),
                    ("hasNext".into(), Value::Bool(has_next)),
                    ("first".into(), Value::Bool(i == 0)),
                    ("last".into(), Value::Bool(!has_next)),
                ],
                MapKind::Scope,
            );
            self.vars.insert(var.to_string(), item);
            self.vars.insert("foreach".into(), scope);
            self.vars
                .insert("velocityCount".into(), Value::Int(i as i64 + 1));
            self.vars
                .insert("velocityHasNext".into(), Value::Bool(has_next));
            match self.nodes(body)? {
                Flow::Normal => {}
                Flow::Break => break,
                Flow::Stop => {
                    flow = Flow::Stop;
                    break;
                }
            }
        }
        for (name, old) in names.iter().zip(saved) {
            match old {
                Some(v) => self.vars.insert(name.to_string(), v),
                None => self.vars.remove(*name),
            };
        }
        Ok(flow)
    }

    pub(super) fn eval(&mut self, expr: &Expr) -> R<Value> {
        Ok(match expr {
            Expr::Bool(b) => Value::Bool(*b),
            Expr::Int(i) => Value::Int(*i),
            Expr::Float(f) => Value::Float(*f),
            Expr::Str(s) => Value::str(s.as_str()),
            Expr::Interp(nodes) => {
                let mut text = String::new();
                for node in nodes {
                    text.push_str(&self.inline(node)?);
                    check_len(&text)?;
                }
                Value::String(text)
            }
            Expr::Ref(reference) => self
                .eval_chain(&reference.root, &reference.chain)?
                .unwrap_or(Value::Null),
            Expr::List(items) => Value::list(self.args(items)?, super::ListStyle::Java),
            Expr::Map(entries) => {
                let mut map = super::Map {
                    entries: Vec::with_capacity(entries.len()),
                    kind: MapKind::Plain,
                };
                for (k, v) in entries {
                    let key = self.eval(k)?.java_string()?;
                    let value = self.eval(v)?;
                    map.put(key, value);
                }
                Value::Map(std::rc::Rc::new(std::cell::RefCell::new(map)))
            }
            Expr::Range(from, to) => {
                let from = range_bound(&self.eval(from)?)?;
                let to = range_bound(&self.eval(to)?)?;
                if (to - from).abs() >= MAX_RANGE {
                    return Err(format!(
                        "the range [{from}..{to}] has more than {MAX_RANGE} items"
                    )
                    .into());
                }
                let items: Vec<Value> = if from <= to {
                    (from..=to).map(Value::Int).collect()
                } else {
                    (to..=from).rev().map(Value::Int).collect()
                };
                Value::list(items, super::ListStyle::Java)
            }
            Expr::Not(e) => Value::Bool(!self.eval(e)?.truthy()),
            Expr::Neg(e) => match self.eval(e)? {
                Value::Int(i) => i
                    .checked_neg()
                    .map_or(Value::Float(-(i as f64)), Value::Int),
                Value::Float(f) => Value::Float(-f),
                Value::Null => Value::Null,
                other => return Err(format!("cannot negate a {}", other.type_name()).into()),
            },
            Expr::Bin(BinOp::Or, a, b) => {
                Value::Bool(self.eval(a)?.truthy() || self.eval(b)?.truthy())
            }
            Expr::Bin(BinOp::And, a, b) => {
                Value::Bool(self.eval(a)?.truthy() && self.eval(b)?.truthy())
            }
            Expr::Bin(op, a, b) => {
                let a = self.eval(a)?;
                let b = self.eval(b)?;
                match op {
                    BinOp::Eq => Value::Bool(velocity_equals(&a, &b)?),
                    BinOp::Ne => Value::Bool(!velocity_equals(&a, &b)?),
                    BinOp::Lt => Value::Bool(compare(&a, &b) == Some(Ordering::Less)),
                    BinOp::Gt => Value::Bool(compare(&a, &b) == Some(Ordering::Greater)),
                    BinOp::Le => Value::Bool(matches!(
                        compare(&a, &b),
                        Some(Ordering::Less | Ordering::Equal)
                    )),
                    BinOp::Ge => Value::Bool(matches!(
                        compare(&a, &b),
                        Some(Ordering::Greater | Ordering::Equal)
                    )),
                    _ => arithmetic(*op, &a, &b)?,
                }
            }
        })
    }
}

pub(super) fn check_len(text: &str) -> R<()> {
    if text.len() > MAX_TEXT {
        return Err(format!("a string is longer than {MAX_TEXT} bytes").into());
    }
    Ok(())
}

fn range_bound(v: &Value) -> R<i64> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => Ok(*f as i64),
        Value::String(s) if s.trim().parse::<i64>().is_ok() => {
            Ok(s.trim().parse::<i64>().unwrap_or(0))
        }
        other => Err(format!(
            "a range bound must be an integer, not a {}",
            other.type_name()
        )
        .into()),
    }
}

/// Velocity 1.7's `==`, plus API Gateway's `null == ""` (recorded, notes §8.1).
fn velocity_equals(a: &Value, b: &Value) -> R<bool> {
    Ok(match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Null, Value::String(s)) | (Value::String(s), Value::Null) => s.is_empty(),
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            a.as_f64() == b.as_f64()
        }
        _ if std::mem::discriminant(a) == std::mem::discriminant(b) => java_equals(a, b),
        _ => a.java_string()? == b.java_string()?,
    })
}

/// `<` and friends on numbers and on strings; anything else compares as false, as Velocity logs and does.
fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

fn arithmetic(op: BinOp, a: &Value, b: &Value) -> R<Value> {
    let symbol = match op {
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Mul => "*",
        BinOp::Div => "/",
        _ => "%",
    };
    if matches!((a, b), (Value::Null, _) | (_, Value::Null)) {
        // Velocity gives null, and logs, when an operand is null.
        return Ok(Value::Null);
    }
    if op == BinOp::Add && (matches!(a, Value::String(_)) || matches!(b, Value::String(_))) {
        let text = a.java_string()? + &b.java_string()?;
        check_len(&text)?;
        return Ok(Value::String(text));
    }
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => {
            let (x, y) = (*x, *y);
            let exact = match op {
                BinOp::Add => x.checked_add(y),
                BinOp::Sub => x.checked_sub(y),
                BinOp::Mul => x.checked_mul(y),
                // Velocity gives null for a division by zero.
                BinOp::Div if y == 0 => return Ok(Value::Null),
                BinOp::Mod if y == 0 => return Ok(Value::Null),
                BinOp::Div => x.checked_div(y),
                _ => Some(x.checked_rem(y).unwrap_or(0)),
            };
            Ok(exact.map_or_else(|| float_op(op, x as f64, y as f64), Value::Int))
        }
        _ => match (a.as_f64(), b.as_f64()) {
            (Some(_), Some(y)) if y == 0.0 && matches!(op, BinOp::Div | BinOp::Mod) => {
                Ok(Value::Null)
            }
            (Some(x), Some(y)) => Ok(float_op(op, x, y)),
            _ => Err(format!(
                "cannot apply {symbol} to a {} and a {}",
                a.type_name(),
                b.type_name()
            )
            .into()),
        },
    }
}

fn float_op(op: BinOp, x: f64, y: f64) -> Value {
    Value::Float(match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mul => x * y,
        BinOp::Div => x / y,
        _ => x % y,
    })
}
