//! A serde `Deserializer` over the located tree. Because the whole tree is
//! in memory, a broken entry can be reported and skipped (`Checked`) while
//! the rest of the file is still read, and every value can carry its
//! position (`Located`). Both work through the ordinary derive: the spec
//! types stay plain serde types, and the JSON Schema comes from them too.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    Unexpected, VariantAccess, Visitor,
};

use super::error::{Diagnostic, Pos, Span, did_you_mean};
use super::tree::{Node, NodeKind, Resolved};

mod access;
mod located;

use access::{CheckedSeq, Enum, LocatedSeq, Map, Seq};
pub use located::{Checked, Located, OrderedMap};

const LOCATED: &str = "__bellows_located";
const CHECKED: &str = "__bellows_checked";

/// An error while reading a value, with the node it is about.
#[derive(Debug, Clone)]
pub struct DeError {
    pub message: String,
    pub help: Option<String>,
    pub span: Option<Span>,
    /// Where in the document, as `tables.users.columns.email`.
    pub path: Option<String>,
}

impl DeError {
    fn at(mut self, span: Span, path: Option<&PathSeg<'_>>) -> Self {
        if self.span.is_none() {
            self.span = Some(span);
            self.path = path.map(PathSeg::render);
        }
        self
    }

    pub fn into_diagnostic(self) -> Diagnostic {
        let message = match self.path {
            Some(p) if !p.is_empty() => format!("{} in `{p}`", self.message),
            _ => self.message,
        };
        Diagnostic {
            span: self.span,
            message,
            help: self.help,
        }
    }
}

/// One step of the way from the document root to a node.
pub struct PathSeg<'p> {
    parent: Option<&'p PathSeg<'p>>,
    step: Step<'p>,
}

/// A mapping's key or a sequence's index: written out only for a message.
#[derive(Clone, Copy)]
pub(super) enum Step<'p> {
    Key(&'p str),
    Index(usize),
}

impl PathSeg<'_> {
    fn render(&self) -> String {
        let mut steps = vec![self.step];
        let mut cur = self.parent;
        while let Some(p) = cur {
            steps.push(p.step);
            cur = p.parent;
        }
        steps.reverse();
        let mut out = String::new();
        for s in steps {
            match s {
                Step::Key(k) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(k);
                }
                Step::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

fn list(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError {
            message: msg.to_string(),
            help: None,
            span: None,
            path: None,
        }
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        let mut help = format!("allowed keys here: {}", list(expected));
        if let Some(m) = did_you_mean(field, expected) {
            help = format!("did you mean `{m}`? {help}");
        } else if field.contains(')') {
            help = format!(
                "inside `{{ ... }}` a comma ends the value: quote values that contain one, as in `type: \"numeric(12,2)\"`; {help}"
            );
        }
        DeError {
            message: format!("unknown key `{field}`"),
            help: Some(help),
            span: None,
            path: None,
        }
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        let mut help = format!("allowed values: {}", list(expected));
        if let Some(m) = did_you_mean(variant, expected) {
            help = format!("did you mean `{m}`? {help}");
        }
        DeError {
            message: format!("unknown value `{variant}`"),
            help: Some(help),
            span: None,
            path: None,
        }
    }

    fn missing_field(field: &'static str) -> Self {
        DeError {
            message: format!("missing key `{field}`"),
            help: Some(format!("add `{field}: ...` here")),
            span: None,
            path: None,
        }
    }

    fn invalid_type(unexp: Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        let found = match unexp {
            Unexpected::Unit => "null".to_string(),
            Unexpected::Map => "a mapping".to_string(),
            Unexpected::Seq => "a list".to_string(),
            Unexpected::Str(s) => format!("the text `{s}`"),
            Unexpected::Bool(b) => format!("the boolean `{b}`"),
            Unexpected::Signed(i) => format!("the number `{i}`"),
            Unexpected::Unsigned(i) => format!("the number `{i}`"),
            Unexpected::Float(x) => format!("the number `{x}`"),
            other => other.to_string(),
        };
        let mut e = DeError::custom(format_args!("expected {exp}, found {found}"));
        if exp.to_string().contains("boolean") {
            e.help = Some("write `true` or `false`".to_string());
        }
        e
    }
}

/// Where errors of skipped (`Checked`) entries are collected.
pub type Sink = RefCell<Vec<Diagnostic>>;

/// Deserializes one node.
#[derive(Clone, Copy)]
pub struct NodeDe<'a> {
    pub node: &'a Node<'a>,
    pub sink: &'a Sink,
    path: Option<&'a PathSeg<'a>>,
}

impl<'a> NodeDe<'a> {
    pub fn new(node: &'a Node<'a>, sink: &'a Sink) -> Self {
        NodeDe {
            node,
            sink,
            path: None,
        }
    }

    fn scalar(&self) -> Option<Resolved<'a>> {
        self.node.resolve()
    }

    fn text(&self) -> Option<&'a str> {
        match &self.node.kind {
            NodeKind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    fn unexpected(&self) -> Unexpected<'a> {
        match self.scalar() {
            Some(Resolved::Null) => Unexpected::Unit,
            Some(Resolved::Bool(b)) => Unexpected::Bool(b),
            Some(Resolved::Int(i)) => Unexpected::Signed(i),
            Some(Resolved::Float(x)) => Unexpected::Float(x),
            Some(Resolved::Str(s)) => Unexpected::Str(s),
            None => match self.node.kind {
                NodeKind::Seq(_) => Unexpected::Seq,
                _ => Unexpected::Map,
            },
        }
    }

    fn stamp<T>(&self, r: Result<T, DeError>) -> Result<T, DeError> {
        r.map_err(|e| e.at(self.node.span, self.path))
    }
}

impl<'de, 'a> VariantAccess<'de> for NodeDe<'a> {
    type Error = DeError;
    fn unit_variant(self) -> Result<(), DeError> {
        Ok(())
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        seed.deserialize(self)
    }
    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_map(visitor)
    }
}

macro_rules! via_any {
    ($($name:ident)*) => {$(
        fn $name<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            self.deserialize_any(visitor)
        }
    )*};
}

impl<'de, 'a> Deserializer<'de> for NodeDe<'a> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let r = match &self.node.kind {
            NodeKind::Seq(items) => visitor.visit_seq(Seq {
                items: items.iter().enumerate(),
                sink: self.sink,
                path: self.path,
            }),
            NodeKind::Map(entries) => visitor.visit_map(Map {
                entries: entries.iter().collect::<Vec<_>>().into_iter(),
                value: None,
                sink: self.sink,
                path: self.path,
            }),
            NodeKind::Scalar { .. } => match self.scalar() {
                Some(Resolved::Null) => visitor.visit_unit(),
                Some(Resolved::Bool(b)) => visitor.visit_bool(b),
                Some(Resolved::Int(i)) => visitor.visit_i64(i),
                Some(Resolved::Float(x)) => visitor.visit_f64(x),
                Some(Resolved::Str(s)) => visitor.visit_str(s),
                None => visitor.visit_unit(),
            },
        };
        self.stamp(r)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let r = match self.scalar() {
            Some(Resolved::Bool(b)) => visitor.visit_bool(b),
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        };
        self.stamp(r)
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let r = match self.scalar() {
            Some(Resolved::Int(i)) => visitor.visit_i64(i),
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        };
        self.stamp(r)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let r = match self.scalar() {
            Some(Resolved::Int(i)) => visitor.visit_f64(i as f64),
            Some(Resolved::Float(x)) => visitor.visit_f64(x),
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        };
        self.stamp(r)
    }

    /// Any scalar but null reads as its text, so `default: 0` and
    /// `default: true` are the SQL `0` and `true`.
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let r = match (self.scalar(), self.text()) {
            (Some(Resolved::Null), _) | (None, _) => {
                Err(de::Error::invalid_type(self.unexpected(), &visitor))
            }
            (Some(_), Some(text)) => visitor.visit_str(text),
            (Some(_), None) => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        };
        self.stamp(r)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.scalar() {
            Some(Resolved::Null) => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let r = match self.scalar() {
            Some(Resolved::Null) => visitor.visit_unit(),
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        };
        self.stamp(r)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match name {
            LOCATED => visitor.visit_seq(LocatedSeq { de: self, state: 0 }),
            CHECKED => visitor.visit_seq(CheckedSeq { de: Some(self) }),
            _ => visitor.visit_newtype_struct(self),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let r = match &self.node.kind {
            NodeKind::Seq(items) => visitor.visit_seq(Seq {
                items: items.iter().enumerate(),
                sink: self.sink,
                path: self.path,
            }),
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        };
        self.stamp(r)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let r = match &self.node.kind {
            NodeKind::Map(entries) => visitor.visit_map(Map {
                entries: entries.iter().collect::<Vec<_>>().into_iter(),
                value: None,
                sink: self.sink,
                path: self.path,
            }),
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        };
        self.stamp(r)
    }

    /// Every unknown key of a struct is reported (not only the first, as
    /// serde's `deny_unknown_fields` would), and the struct is read
    /// without them, so the rest of it is still checked.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let NodeKind::Map(entries) = &self.node.kind else {
            return self.deserialize_map(visitor);
        };
        let mut known = Vec::with_capacity(entries.len());
        for entry in entries.iter() {
            let key = match &entry.0.kind {
                NodeKind::Scalar { text, .. } => Some(&**text),
                _ => None,
            };
            match key {
                // The tail of a value that a comma cut short (`type:
                // numeric(12,2)` in a flow mapping): the value before it is
                // broken too, so this one error says it all.
                Some(k) if !fields.contains(&k) && k.contains(')') => {
                    return Err(<DeError as de::Error>::unknown_field(k, fields)
                        .at(entry.0.span, self.path));
                }
                Some(k) if !fields.contains(&k) => {
                    let e = <DeError as de::Error>::unknown_field(k, fields)
                        .at(entry.0.span, self.path);
                    self.sink.borrow_mut().push(e.into_diagnostic());
                }
                _ => known.push(entry),
            }
        }
        let r = visitor.visit_map(Map {
            entries: known.into_iter(),
            value: None,
            sink: self.sink,
            path: self.path,
        });
        self.stamp(r)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let r = visitor.visit_enum(Enum { de: self });
        self.stamp(r)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    via_any! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_char deserialize_bytes deserialize_byte_buf
    }
}
