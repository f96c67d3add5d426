//! Whitespace gobbling and turning the flat directive stream into nested blocks.

use super::VtlError;
use super::parse::{Item, MAX_NESTING, Node};

/// Velocity 2's default "lines" space gobbling: a line holding only directives, comments and whitespace
/// produces no output at all, not even its newline. Lines that also hold text or references are kept as
/// written. (Velocity 1.7 only ate the newline after a directive and kept the indentation before it.
/// Which one API Gateway runs is not documented, notes §8.3; JSON output is the same either way.)
pub(super) fn gobble(items: Vec<Item>) -> Vec<Item> {
    let mut out = Vec::with_capacity(items.len());
    let mut line: Vec<Item> = Vec::new();
    for item in items {
        match item {
            Item::Text(text) => {
                for piece in text.split_inclusive('\n') {
                    let ends = piece.ends_with('\n');
                    line.push(Item::Text(piece.to_string()));
                    if ends {
                        flush_line(&mut line, &mut out);
                    }
                }
            }
            Item::Comment(true) => {
                line.push(Item::Comment(true));
                flush_line(&mut line, &mut out);
            }
            other => line.push(other),
        }
    }
    flush_line(&mut line, &mut out);
    out
}

fn flush_line(line: &mut Vec<Item>, out: &mut Vec<Item>) {
    let has_directive = line.iter().any(Item::is_directive);
    let blank = line.iter().all(|item| match item {
        Item::Text(t) => t.chars().all(|c| matches!(c, ' ' | '\t' | '\r' | '\n')),
        Item::Ref(_) | Item::Escaped(..) => false,
        _ => true,
    });
    if has_directive && blank {
        out.extend(line.drain(..).filter(|i| !matches!(i, Item::Text(_))));
    } else {
        out.append(line);
    }
}

pub(super) fn build(items: Vec<Item>) -> Result<Vec<Node>, VtlError> {
    let mut iter = items.into_iter();
    let (nodes, end) = block(&mut iter, 0)?;
    let (line, what) = match end {
        None => return Ok(nodes),
        Some(Item::Else(line)) => (line, "#else without a matching #if"),
        Some(Item::ElseIf(_, line)) => (line, "#elseif without a matching #if"),
        Some(Item::End(line)) => (line, "#end without a matching #if or #foreach"),
        Some(_) => (0, "internal parser error"),
    };
    Err(VtlError::Syntax {
        line,
        message: what.into(),
    })
}

/// Nodes up to the next `#else`, `#elseif` or `#end` (returned) or the end of input (`None`).
fn block(
    iter: &mut std::vec::IntoIter<Item>,
    depth: usize,
) -> Result<(Vec<Node>, Option<Item>), VtlError> {
    let mut nodes: Vec<Node> = Vec::new();
    while let Some(item) = iter.next() {
        match item {
            Item::Text(t) => match nodes.last_mut() {
                Some(Node::Text(prev)) => prev.push_str(&t),
                _ => nodes.push(Node::Text(t)),
            },
            Item::Ref(r) => nodes.push(Node::Ref(r)),
            Item::Escaped(n, r) => nodes.push(Node::Escaped {
                backslashes: n,
                reference: r,
            }),
            Item::Comment(_) => {}
            Item::Set(target, value, line) => nodes.push(Node::Set {
                target,
                value,
                line,
            }),
            Item::Break => nodes.push(Node::Break),
            Item::Stop => nodes.push(Node::Stop),
            Item::If(cond, line) => {
                check_depth(depth, line)?;
                let mut branches = Vec::new();
                let mut cond = cond;
                let mut otherwise = Vec::new();
                loop {
                    let (body, end) = block(iter, depth + 1)?;
                    branches.push((cond, body));
                    match end {
                        Some(Item::ElseIf(c, _)) => cond = c,
                        Some(Item::Else(_)) => {
                            let (body, end) = block(iter, depth + 1)?;
                            otherwise = body;
                            match end {
                                Some(Item::End(_)) => break,
                                Some(Item::Else(l) | Item::ElseIf(_, l)) => {
                                    return Err(VtlError::Syntax {
                                        line: l,
                                        message: "#else or #elseif after #else".into(),
                                    });
                                }
                                _ => return Err(unclosed("#if", line)),
                            }
                        }
                        Some(Item::End(_)) => break,
                        _ => return Err(unclosed("#if", line)),
                    }
                }
                nodes.push(Node::If {
                    branches,
                    otherwise,
                    line,
                });
            }
            Item::Foreach(var, iter_expr, line) => {
                check_depth(depth, line)?;
                let (body, end) = block(iter, depth + 1)?;
                match end {
                    Some(Item::End(_)) => nodes.push(Node::Foreach {
                        var,
                        iter: iter_expr,
                        body,
                        line,
                    }),
                    Some(Item::Else(l) | Item::ElseIf(_, l)) => {
                        return Err(VtlError::Syntax {
                            line: l,
                            message: "#else inside #foreach without a matching #if".into(),
                        });
                    }
                    _ => return Err(unclosed("#foreach", line)),
                }
            }
            end @ (Item::Else(_) | Item::ElseIf(..) | Item::End(_)) => {
                return Ok((nodes, Some(end)));
            }
        }
    }
    Ok((nodes, None))
}

fn check_depth(depth: usize, line: usize) -> Result<(), VtlError> {
    if depth >= MAX_NESTING {
        return Err(VtlError::Syntax {
            line,
            message: "blocks nest too deeply".into(),
        });
    }
    Ok(())
}

fn unclosed(what: &str, line: usize) -> VtlError {
    VtlError::Syntax {
        line,
        message: format!("{what} has no matching #end"),
    }
}
