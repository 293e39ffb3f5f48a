//! The parts of a line the subset reads as one value: quoted and plain
//! scalars and one-line flow collections.

use std::borrow::Cow;

use super::{Keys, Reader};
use crate::spec::tree::{Node, NodeKind};

/// Characters that cannot start a plain scalar or a key here (some could
/// in YAML, followed by the right character; the general reader takes
/// those).
pub(super) fn indicator(c: u8) -> bool {
    matches!(
        c,
        b'-' | b'?'
            | b':'
            | b','
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'#'
            | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'\''
            | b'"'
            | b'%'
            | b'@'
            | b'`'
    )
}

pub(super) fn flow_indicator(c: u8) -> bool {
    matches!(c, b',' | b'[' | b']' | b'{' | b'}')
}

impl<'s> Reader<'s> {
    /// A value on the rest of line `i` from byte `at`: a quoted or plain
    /// scalar, or a flow collection, then at most a comment.
    pub(super) fn value(&self, i: usize, at: usize) -> Option<(Node<'s>, usize)> {
        let b = self.bytes(i);
        let (node, to) = match b[at] {
            b'[' | b'{' => self.flow(i, at)?,
            b'"' | b'\'' => self.quoted(i, at)?,
            b'-' if b.get(at + 1).is_some_and(|&c| c != b' ') => self.plain_block(i, at)?,
            c if indicator(c) => return None,
            _ => self.plain_block(i, at)?,
        };
        let mut k = to;
        while b.get(k) == Some(&b' ') {
            k += 1;
        }
        match b.get(k) {
            None => Some((node, to)),
            Some(b'#') if k > to => Some((node, to)),
            _ => None,
        }
    }

    fn quoted(&self, i: usize, at: usize) -> Option<(Node<'s>, usize)> {
        let b = self.bytes(i);
        let (text, to) = if b[at] == b'"' {
            let to = skip_double(b, at)?;
            (double(&b[at + 1..to - 1])?, to)
        } else {
            let to = skip_single(b, at)?;
            (single(&b[at + 1..to - 1])?, to)
        };
        let node = Node {
            kind: NodeKind::Scalar { text, plain: false },
            span: self.span(i, at, to),
        };
        Some((node, to))
    }

    /// The plain scalar from byte `at` to `to` of line `i`.
    fn plain(&self, i: usize, at: usize, to: usize) -> Option<(Node<'s>, usize)> {
        let node = Node {
            kind: NodeKind::Scalar {
                text: str_of(&self.bytes(i)[at..to])?.into(),
                plain: true,
            },
            span: self.span(i, at, to),
        };
        Some((node, to))
    }

    /// A plain scalar in block context: to a comment or the line's end.
    fn plain_block(&self, i: usize, at: usize) -> Option<(Node<'s>, usize)> {
        let b = self.bytes(i);
        let mut k = at;
        let mut to = at;
        while k < b.len() {
            match b[k] {
                b'#' if b[k - 1] == b' ' => break,
                b':' if b.get(k + 1).is_none_or(|&c| c == b' ') => return None,
                b'\t' => return None,
                b' ' => {}
                _ => to = k + 1,
            }
            k += 1;
        }
        self.plain(i, at, to)
    }

    /// A flow collection that closes on its own line.
    fn flow(&self, i: usize, at: usize) -> Option<(Node<'s>, usize)> {
        let b = self.bytes(i);
        let close = if b[at] == b'[' { b']' } else { b'}' };
        let mut k = skip_spaces(b, at + 1);
        let mut seq = Vec::new();
        let mut map: Vec<(Node<'s>, Node<'s>)> = Vec::new();
        let mut keys = Keys::default();
        if b.get(k) == Some(&close) {
            k += 1;
        } else {
            loop {
                let (item, to) = self.flow_node(i, k)?;
                k = skip_spaces(b, to);
                if close == b'}' {
                    if !matches!(item.kind, NodeKind::Scalar { .. })
                        || b.get(k) != Some(&b':')
                        || b.get(k + 1) != Some(&b' ')
                    {
                        return None;
                    }
                    let (value, to) = self.flow_node(i, skip_spaces(b, k + 1))?;
                    k = skip_spaces(b, to);
                    if !keys.fresh(&map, &item) {
                        return None;
                    }
                    map.push((item, value));
                } else {
                    seq.push(item);
                }
                match b.get(k) {
                    Some(b',') => {
                        k = skip_spaces(b, k + 1);
                        // A trailing comma is left to the general reader.
                        if matches!(b.get(k), Some(b']' | b'}')) {
                            return None;
                        }
                    }
                    Some(&c) if c == close => {
                        k += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        let kind = if close == b']' {
            NodeKind::Seq(seq.into_boxed_slice())
        } else {
            NodeKind::Map(map.into_boxed_slice())
        };
        Some((
            Node {
                kind,
                span: self.span(i, at, k),
            },
            k,
        ))
    }

    /// A node inside a flow collection.
    fn flow_node(&self, i: usize, at: usize) -> Option<(Node<'s>, usize)> {
        let b = self.bytes(i);
        match *b.get(at)? {
            b'[' | b'{' => self.flow(i, at),
            b'"' | b'\'' => self.quoted(i, at),
            b'-' if b
                .get(at + 1)
                .is_some_and(|&c| c != b' ' && !flow_indicator(c)) =>
            {
                self.plain_flow(i, at)
            }
            c if indicator(c) => None,
            _ => self.plain_flow(i, at),
        }
    }

    /// A plain scalar in a flow collection: to a flow indicator, a `:`
    /// before a blank or one, or a comment.
    fn plain_flow(&self, i: usize, at: usize) -> Option<(Node<'s>, usize)> {
        let b = self.bytes(i);
        let mut k = at;
        let mut to = at;
        while let Some(&c) = b.get(k) {
            match c {
                c if flow_indicator(c) => break,
                b':' if b.get(k + 1).is_none_or(|&n| n == b' ' || flow_indicator(n)) => break,
                b'#' if b[k - 1] == b' ' => return None,
                b'\t' => return None,
                b' ' => {}
                _ => to = k + 1,
            }
            k += 1;
        }
        self.plain(i, at, to)
    }
}

pub(super) fn skip_spaces(b: &[u8], mut k: usize) -> usize {
    while b.get(k) == Some(&b' ') {
        k += 1;
    }
    k
}

pub(super) fn str_of(b: &[u8]) -> Option<&str> {
    std::str::from_utf8(b).ok()
}

/// Just past the closing quote of a double-quoted scalar opening at
/// `at`, on the same line.
pub(super) fn skip_double(b: &[u8], at: usize) -> Option<usize> {
    let mut k = at + 1;
    loop {
        match b.get(k)? {
            b'\\' => k += 2,
            b'"' => return Some(k + 1),
            _ => k += 1,
        }
    }
}

/// Just past the closing quote of a single-quoted scalar opening at `at`,
/// on the same line (`''` is a quote inside).
pub(super) fn skip_single(b: &[u8], at: usize) -> Option<usize> {
    let mut k = at + 1;
    loop {
        match b.get(k)? {
            b'\'' if b.get(k + 1) == Some(&b'\'') => k += 2,
            b'\'' => return Some(k + 1),
            _ => k += 1,
        }
    }
}

pub(super) fn single(inner: &[u8]) -> Option<Cow<'_, str>> {
    let s = str_of(inner)?;
    Some(if s.contains('\'') {
        Cow::Owned(s.replace("''", "'"))
    } else {
        Cow::Borrowed(s)
    })
}

/// The text of a double-quoted scalar's inside; `None` for an escape the
/// subset leaves to the general reader.
pub(super) fn double(inner: &[u8]) -> Option<Cow<'_, str>> {
    let s = str_of(inner)?;
    if !s.contains('\\') {
        return Some(Cow::Borrowed(s));
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = chars.next()?;
        let hex = |chars: &mut std::str::Chars<'_>, digits: usize| {
            let h: String = chars.by_ref().take(digits).collect();
            if h.len() != digits || !h.bytes().all(|d| d.is_ascii_hexdigit()) {
                return None;
            }
            char::from_u32(u32::from_str_radix(&h, 16).ok()?)
        };
        out.push(match e {
            '0' => '\0',
            'a' => '\u{7}',
            'b' => '\u{8}',
            't' => '\t',
            'n' => '\n',
            'v' => '\u{b}',
            'f' => '\u{c}',
            'r' => '\r',
            'e' => '\u{1b}',
            ' ' => ' ',
            '"' => '"',
            '/' => '/',
            '\\' => '\\',
            'N' => '\u{85}',
            '_' => '\u{a0}',
            'L' => '\u{2028}',
            'P' => '\u{2029}',
            'x' => hex(&mut chars, 2)?,
            'u' => hex(&mut chars, 4)?,
            'U' => hex(&mut chars, 8)?,
            _ => return None,
        });
    }
    Some(Cow::Owned(out))
}
