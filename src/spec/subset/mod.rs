//! A reader for the YAML most target files are written in: block mappings
//! and sequences, one-line flow collections, plain, quoted and literal
//! scalars, comments. It builds the same tree as the general reader
//! (`tree.rs`, over saphyr-parser's events) about ten times faster, and
//! gives up (`None`) on anything else: anchors, tags, folded or
//! multi-line scalars, flow collections over several lines, tabs, a
//! duplicate key, any mistake. The general reader then reads the file and
//! says what is wrong and where, so this one never has to.
//!
//! What it accepts it must read exactly as YAML 1.2 does; the tests
//! compare the two readers on every file in the repository and on
//! generated text meant to find their edges.

mod flow;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::HashSet;

use super::error::{Pos, Span};
use super::tree::{Node, NodeKind};
use flow::{double, indicator, single, skip_double, skip_single, skip_spaces, str_of};

/// The tree of `text`, or `None` when the text is outside the subset.
pub(super) fn parse(text: &str) -> Option<Node<'_>> {
    if !plain_characters(text.as_bytes()) {
        return None;
    }
    let r = Reader::new(text)?;
    let first = r.content_from(0)?;
    let indent = r.lines[first].indent;
    let (node, next) = if matches!(r.bytes(first)[indent], b'{' | b'[') {
        // A flow collection on one line (`{}`: what an empty schema dumps as).
        let (node, _) = r.value(first, indent)?;
        (node, r.content_from(first + 1))
    } else {
        r.block(first, indent)?
    };
    match next {
        None => Some(node),
        Some(_) => None,
    }
}

/// No byte the subset leaves to the general reader: carriage returns,
/// control characters (a tab is checked where it stands), a byte-order
/// mark, the C1 controls, the line and paragraph separators (line breaks
/// to YAML 1.1) and the non-characters U+FFFE and U+FFFF.
fn plain_characters(b: &[u8]) -> bool {
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c < 0x20 && c != b'\n' && c != b'\t' || c == 0x7f {
            return false;
        }
        if c == 0xc2 && b.get(i + 1).is_some_and(|&n| (0x80..=0x9f).contains(&n)) {
            return false;
        }
        if c == 0xe2 && b.get(i + 1) == Some(&0x80) && matches!(b.get(i + 2), Some(0xa8 | 0xa9)) {
            return false;
        }
        if c == 0xef
            && matches!(
                (b.get(i + 1), b.get(i + 2)),
                (Some(0xbb), Some(0xbf)) | (Some(0xbf), Some(0xbe | 0xbf))
            )
        {
            return false;
        }
        i += 1;
    }
    true
}

#[derive(Clone, Copy, PartialEq)]
enum LineKind {
    /// Nothing but spaces (or nothing).
    Blank,
    /// A comment after optional spaces.
    Comment,
    Content,
}

#[derive(Clone, Copy)]
struct Line {
    /// Byte offsets of the line's first character and of its end (the
    /// newline or the end of the text).
    start: usize,
    end: usize,
    /// Leading spaces.
    indent: usize,
    kind: LineKind,
}

struct Reader<'s> {
    text: &'s str,
    lines: Vec<Line>,
}

/// The keys of a mapping so far, to refuse a duplicate: a scan while
/// there are few, a hash set beyond (a schema's tables are thousands).
#[derive(Default)]
struct Keys<'s> {
    set: Option<HashSet<Cow<'s, str>>>,
}

impl<'s> Keys<'s> {
    /// Whether `key` is not yet among `entries`' keys.
    fn fresh(&mut self, entries: &[(Node<'s>, Node<'s>)], key: &Node<'s>) -> bool {
        // A clone of borrowed text is a copy of its address.
        let text_of = |n: &Node<'s>| match &n.kind {
            NodeKind::Scalar { text, .. } => Some(text.clone()),
            _ => None,
        };
        let Some(text) = text_of(key) else {
            return true;
        };
        if entries.len() < 16 {
            return !entries
                .iter()
                .any(|(k, _)| matches!(&k.kind, NodeKind::Scalar { text: t, .. } if *t == text));
        }
        self.set
            .get_or_insert_with(|| entries.iter().filter_map(|(k, _)| text_of(k)).collect())
            .insert(text)
    }
}

/// The longest implicit key YAML allows.
const MAX_KEY: usize = 1024;

impl<'s> Reader<'s> {
    /// The text's lines; `None` for a tab in an indentation or a document
    /// marker or directive at the start of a line.
    fn new(text: &'s str) -> Option<Self> {
        let b = text.as_bytes();
        let mut lines = Vec::with_capacity(b.len() / 32 + 1);
        let mut start = 0;
        while start <= b.len() {
            let end = b[start..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(b.len(), |p| start + p);
            let mut indent = 0;
            while start + indent < end && b[start + indent] == b' ' {
                indent += 1;
            }
            let kind = match b.get(start + indent) {
                _ if start + indent == end => LineKind::Blank,
                Some(b'\t') => return None,
                Some(b'#') => LineKind::Comment,
                _ => LineKind::Content,
            };
            let line = &b[start..end];
            if indent == 0
                && (line.starts_with(b"---") || line.starts_with(b"...") || line.starts_with(b"%"))
            {
                return None;
            }
            lines.push(Line {
                start,
                end,
                indent,
                kind,
            });
            if end == b.len() {
                break;
            }
            start = end + 1;
        }
        Some(Reader { text, lines })
    }

    /// The first line at or after `i` with content.
    fn content_from(&self, mut i: usize) -> Option<usize> {
        while let Some(l) = self.lines.get(i) {
            if l.kind == LineKind::Content {
                return Some(i);
            }
            i += 1;
        }
        None
    }

    fn bytes(&self, i: usize) -> &'s [u8] {
        let l = self.lines[i];
        &self.text.as_bytes()[l.start..l.end]
    }

    /// Where byte `at` of line `i` is.
    fn pos(&self, i: usize, at: usize) -> Pos {
        let l = self.lines[i];
        let before = &self.text[l.start..l.start + at];
        let column = if before.is_ascii() {
            at
        } else {
            before.chars().count()
        };
        Pos {
            line: u32::try_from(i + 1).unwrap_or(u32::MAX),
            column: u32::try_from(column + 1).unwrap_or(u32::MAX),
        }
    }

    fn span(&self, i: usize, from: usize, to: usize) -> Span {
        Span {
            start: self.pos(i, from),
            end: self.pos(i, to),
        }
    }

    /// Whether line `i` is a sequence entry (`-` then a space or its end).
    fn is_entry(&self, i: usize) -> bool {
        let b = self.bytes(i);
        let at = self.lines[i].indent;
        b[at] == b'-' && b.get(at + 1).is_none_or(|&c| c == b' ')
    }

    /// A block collection whose first line is `i`, indented by `n`; the
    /// node and the next line with content, if any.
    fn block(&self, i: usize, n: usize) -> Option<(Node<'s>, Option<usize>)> {
        if self.is_entry(i) {
            self.sequence(i, n)
        } else {
            self.mapping(i, n, n)
        }
    }

    /// After an entry's value at indentation `n`: the next content line,
    /// which may not be indented further (a continuation line).
    fn after(&self, from: usize, n: usize) -> Option<Option<usize>> {
        match self.content_from(from) {
            Some(j) if self.lines[j].indent > n => None,
            next => Some(next),
        }
    }

    /// A block sequence of entries at indentation `n`.
    fn sequence(&self, first: usize, n: usize) -> Option<(Node<'s>, Option<usize>)> {
        let mut items = Vec::new();
        let mut i = first;
        let start = self.pos(i, n);
        loop {
            let b = self.bytes(i);
            let mut at = n + 1;
            while b.get(at) == Some(&b' ') {
                at += 1;
            }
            let (item, next) = if at == b.len() || b[at] == b'#' {
                self.nested(i, n, at)?
            } else if b[at] == b'-' || b[at] == b'|' || b[at] == b'>' {
                return None;
            } else if self.key_end(b, at).is_some() {
                // `- key: value`: a mapping indented to its first key.
                self.mapping(i, at, at)?
            } else {
                let (node, _) = self.value(i, at)?;
                (node, self.after(i + 1, n)?)
            };
            items.push(item);
            match next {
                Some(j) if self.lines[j].indent == n && self.is_entry(j) => i = j,
                Some(j) if self.lines[j].indent > n => return None,
                next => {
                    let end = items.last().map_or(start, |n| n.span.end);
                    let node = Node {
                        kind: NodeKind::Seq(items.into_boxed_slice()),
                        span: Span { start, end },
                    };
                    return Some((node, next));
                }
            }
        }
    }

    /// The value of an entry whose line `i` ends at byte `at` (with a
    /// comment or nothing): the block on the lines below, or an empty
    /// scalar. `compact` allows a sequence at the entry's own indentation
    /// `n` (a mapping's value may be written so).
    fn nested(&self, i: usize, n: usize, at: usize) -> Option<(Node<'s>, Option<usize>)> {
        self.nested_in(i, n, at, false)
    }

    fn nested_in(
        &self,
        i: usize,
        n: usize,
        at: usize,
        compact: bool,
    ) -> Option<(Node<'s>, Option<usize>)> {
        let b = self.bytes(i);
        if at < b.len() && b[at - 1] != b' ' {
            return None;
        }
        match self.content_from(i + 1) {
            Some(j) if self.lines[j].indent > n => {
                let m = self.lines[j].indent;
                self.block(j, m)
            }
            Some(j) if compact && self.lines[j].indent == n && self.is_entry(j) => {
                self.sequence(j, n)
            }
            next => {
                let here = self.pos(i, at.min(b.len()));
                let node = Node {
                    kind: NodeKind::Scalar {
                        text: "".into(),
                        plain: true,
                    },
                    span: Span {
                        start: here,
                        end: here,
                    },
                };
                Some((node, next))
            }
        }
    }

    /// The byte just past the `:` of a block mapping key starting at
    /// `at` of `b`, if the line is one.
    fn key_end(&self, b: &[u8], at: usize) -> Option<usize> {
        let mut k = match b[at] {
            b'"' => skip_double(b, at)?,
            b'\'' => skip_single(b, at)?,
            c if indicator(c) => return None,
            _ => {
                let mut k = at;
                loop {
                    match b.get(k) {
                        None => return None,
                        Some(b':') if b.get(k + 1).is_none_or(|&c| c == b' ') => break,
                        Some(b'#') if b[k - 1] == b' ' => return None,
                        Some(b'\t') => return None,
                        _ => k += 1,
                    }
                }
                k
            }
        };
        while b.get(k) == Some(&b' ') {
            k += 1;
        }
        if k - at > MAX_KEY || b.get(k) != Some(&b':') {
            return None;
        }
        match b.get(k + 1) {
            None | Some(b' ') => Some(k + 1),
            _ => None,
        }
    }

    /// A block mapping whose first key starts at byte `at` of line
    /// `first`; later keys are indented by `n`.
    fn mapping(&self, first: usize, n: usize, at: usize) -> Option<(Node<'s>, Option<usize>)> {
        let mut entries: Vec<(Node<'s>, Node<'s>)> = Vec::new();
        let mut keys = Keys::default();
        let mut i = first;
        let mut at = at;
        let start = self.pos(i, at);
        loop {
            let b = self.bytes(i);
            let colon = self.key_end(b, at)?;
            let key = self.key(i, at, colon - 1)?;
            let mut v = colon;
            while b.get(v) == Some(&b' ') {
                v += 1;
            }
            let (value, next) = if v == b.len() || b[v] == b'#' {
                self.nested_in(i, n, v, true)?
            } else if b[v] == b'|' {
                self.literal(i, n, v)?
            } else {
                let (node, _) = self.value(i, v)?;
                (node, self.after(i + 1, n)?)
            };
            if !keys.fresh(&entries, &key) {
                return None;
            }
            entries.push((key, value));
            match next {
                Some(j) if self.lines[j].indent == n && !self.is_entry(j) => {
                    i = j;
                    at = n;
                }
                Some(j) if self.lines[j].indent >= n => return None,
                next => {
                    let end = entries.last().map_or(start, |(_, v)| v.span.end);
                    let node = Node {
                        kind: NodeKind::Map(entries.into_boxed_slice()),
                        span: Span { start, end },
                    };
                    return Some((node, next));
                }
            }
        }
    }

    /// The key from byte `at` to just before the `:` at `colon`.
    fn key(&self, i: usize, at: usize, colon: usize) -> Option<Node<'s>> {
        let b = self.bytes(i);
        let (text, plain, to) = match b[at] {
            b'"' => {
                let to = skip_double(b, at)?;
                (double(&b[at + 1..to - 1])?, false, to)
            }
            b'\'' => {
                let to = skip_single(b, at)?;
                (single(&b[at + 1..to - 1])?, false, to)
            }
            _ => {
                let mut to = colon;
                while b[to - 1] == b' ' {
                    to -= 1;
                }
                (str_of(&b[at..to])?.into(), true, to)
            }
        };
        Some(Node {
            kind: NodeKind::Scalar { text, plain },
            span: self.span(i, at, to),
        })
    }

    /// A literal block scalar (`|` or `|-`) as the value of a key on line
    /// `i` indented by `n`; its header at byte `at`.
    fn literal(&self, i: usize, n: usize, at: usize) -> Option<(Node<'s>, Option<usize>)> {
        let b = self.bytes(i);
        let mut k = at + 1;
        let strip = b.get(k) == Some(&b'-');
        if strip {
            k += 1;
        }
        let rest = skip_spaces(b, k);
        if rest < b.len() && (b[rest] != b'#' || rest == k) {
            return None;
        }
        // The content's indentation is that of its first line.
        let first = i + 1;
        let mut j = first;
        while self.lines.get(j).is_some_and(|l| l.start == l.end) {
            j += 1;
        }
        let m = match self.lines.get(j) {
            Some(l) if l.kind != LineKind::Blank && l.indent > n => l.indent,
            _ => return None,
        };
        // Empty lines before the first line of text, and between lines,
        // are newlines of the text; those after its last line are not.
        let mut text = "\n".repeat(j - first);
        let mut empty = 0;
        let mut last = j;
        let mut end = j;
        while let Some(l) = self.lines.get(end) {
            if l.start == l.end {
                empty += 1;
                end += 1;
                continue;
            }
            if l.kind == LineKind::Blank || l.indent < m {
                break;
            }
            if end != j {
                text.push('\n');
            }
            for _ in 0..empty {
                text.push('\n');
            }
            empty = 0;
            text.push_str(&self.text[l.start + m..l.end]);
            last = end;
            end += 1;
        }
        if !strip {
            text.push('\n');
        }
        if self
            .lines
            .get(end)
            .is_some_and(|l| l.kind == LineKind::Blank)
        {
            return None;
        }
        let next = self.after(end, n)?;
        let node = Node {
            kind: NodeKind::Scalar {
                text: text.into(),
                plain: false,
            },
            span: Span {
                start: self.pos(j, m),
                end: self.pos(last, self.lines[last].end - self.lines[last].start),
            },
        };
        Some((node, next))
    }
}
