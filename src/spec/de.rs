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
    key: String,
}

impl PathSeg<'_> {
    fn render(&self) -> String {
        let mut parts = vec![self.key.as_str()];
        let mut cur = self.parent;
        while let Some(p) = cur {
            parts.push(&p.key);
            cur = p.parent;
        }
        parts.reverse();
        let mut out = String::new();
        for p in parts {
            if !out.is_empty() && !p.starts_with('[') {
                out.push('.');
            }
            out.push_str(p);
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
    pub node: &'a Node,
    pub sink: &'a Sink,
    path: Option<&'a PathSeg<'a>>,
}

impl<'a> NodeDe<'a> {
    pub fn new(node: &'a Node, sink: &'a Sink) -> Self {
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

struct Seq<'a> {
    items: std::iter::Enumerate<std::slice::Iter<'a, Node>>,
    sink: &'a Sink,
    path: Option<&'a PathSeg<'a>>,
}

impl<'de, 'a> SeqAccess<'de> for Seq<'a> {
    type Error = DeError;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        match self.items.next() {
            Some((i, node)) => {
                let seg = PathSeg {
                    parent: self.path,
                    key: format!("[{i}]"),
                };
                let de = NodeDe {
                    node,
                    sink: self.sink,
                    path: Some(&seg),
                };
                seed.deserialize(de)
                    .map(Some)
                    .map_err(|e| e.at(node.span, Some(&seg)))
            }
            None => Ok(None),
        }
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct Map<'a> {
    entries: std::vec::IntoIter<&'a (Node, Node)>,
    value: Option<(&'a Node, &'a Node)>,
    sink: &'a Sink,
    path: Option<&'a PathSeg<'a>>,
}

impl<'de, 'a> MapAccess<'de> for Map<'a> {
    type Error = DeError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        match self.entries.next() {
            Some((k, v)) => {
                self.value = Some((k, v));
                let de = NodeDe {
                    node: k,
                    sink: self.sink,
                    path: self.path,
                };
                seed.deserialize(de)
                    .map(Some)
                    .map_err(|e| e.at(k.span, self.path))
            }
            None => Ok(None),
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let (key, node) = self
            .value
            .take()
            .ok_or_else(|| <DeError as de::Error>::custom("value requested before its key"))?;
        let seg = PathSeg {
            parent: self.path,
            key: match &key.kind {
                NodeKind::Scalar { text, .. } => text.to_string(),
                _ => "?".to_string(),
            },
        };
        let de = NodeDe {
            node,
            sink: self.sink,
            path: Some(&seg),
        };
        seed.deserialize(de)
            .map_err(|e| e.at(node.span, Some(&seg)))
    }
}

/// Hands `Located` its span first, then the value.
struct LocatedSeq<'a> {
    de: NodeDe<'a>,
    state: u8,
}

impl<'de, 'a> SeqAccess<'de> for LocatedSeq<'a> {
    type Error = DeError;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        self.state += 1;
        match self.state {
            1 => {
                let s = self.de.node.span;
                let nums = [s.start.line, s.start.column, s.end.line, s.end.column];
                let seq = serde::de::value::SeqDeserializer::<_, DeError>::new(
                    nums.into_iter().map(|n| n as u64),
                );
                seed.deserialize(seq).map(Some)
            }
            2 => seed.deserialize(self.de).map(Some),
            _ => Ok(None),
        }
    }
}

/// Gives `Checked` its value, or records the error and gives nothing.
struct CheckedSeq<'a> {
    de: Option<NodeDe<'a>>,
}

impl<'de, 'a> SeqAccess<'de> for CheckedSeq<'a> {
    type Error = DeError;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        let Some(de) = self.de.take() else {
            return Ok(None);
        };
        match seed.deserialize(de) {
            Ok(v) => Ok(Some(v)),
            Err(e) => {
                de.sink
                    .borrow_mut()
                    .push(e.at(de.node.span, de.path).into_diagnostic());
                Ok(None)
            }
        }
    }
}

struct Enum<'a> {
    de: NodeDe<'a>,
}

impl<'de, 'a> EnumAccess<'de> for Enum<'a> {
    type Error = DeError;
    type Variant = NodeDe<'a>;
    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, NodeDe<'a>), DeError> {
        match &self.de.node.kind {
            NodeKind::Scalar { text, .. } => {
                let v = seed.deserialize((&**text).into_deserializer())?;
                Ok((v, self.de))
            }
            NodeKind::Map(entries) if entries.len() == 1 => {
                let (k, v) = &entries[0];
                let key_de = NodeDe { node: k, ..self.de };
                let tag = seed
                    .deserialize(key_de)
                    .map_err(|e| e.at(k.span, self.de.path))?;
                Ok((tag, NodeDe { node: v, ..self.de }))
            }
            _ => Err(<DeError as de::Error>::custom(
                "expected one of the allowed values, or a mapping with a single key",
            )),
        }
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

/// A value and the span of the YAML node it came from.
#[derive(Debug, Clone)]
pub struct Located<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Located<T> {
    pub fn span(&self) -> Option<Span> {
        Some(self.span)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Located<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Located<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a located value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Located<T>, A::Error> {
                let [sl, sc, el, ec]: [u64; 4] = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::custom("missing span"))?;
                let value = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::custom("missing value"))?;
                let pos = |l: u64, c: u64| Pos {
                    line: u32::try_from(l).unwrap_or(u32::MAX),
                    column: u32::try_from(c).unwrap_or(u32::MAX),
                };
                Ok(Located {
                    value,
                    span: Span {
                        start: pos(sl, sc),
                        end: pos(el, ec),
                    },
                })
            }
        }
        d.deserialize_newtype_struct(LOCATED, V(PhantomData))
    }
}

impl<T: JsonSchema> JsonSchema for Located<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        T::json_schema(g)
    }
}

/// An entry that either read correctly or whose errors are already
/// reported; the reader skips `Invalid` entries and goes on.
#[derive(Debug, Clone)]
pub enum Checked<T> {
    Valid(T),
    Invalid,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Checked<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Checked<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked<T>, A::Error> {
                Ok(match seq.next_element()? {
                    Some(v) => Checked::Valid(v),
                    None => Checked::Invalid,
                })
            }
        }
        d.deserialize_newtype_struct(CHECKED, V(PhantomData))
    }
}

impl<T: JsonSchema> JsonSchema for Checked<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        T::json_schema(g)
    }
}

/// A mapping read in file order, keys with their positions.
#[derive(Debug, Clone)]
pub struct OrderedMap<V>(pub Vec<(Located<String>, V)>);

impl<V> Default for OrderedMap<V> {
    fn default() -> Self {
        OrderedMap(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for OrderedMap<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for Vis<V> {
            type Value = OrderedMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping of names to definitions")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedMap<V>, A::Error> {
                let mut out = Vec::new();
                while let Some(k) = map.next_key::<Located<String>>()? {
                    out.push((k, map.next_value()?));
                }
                Ok(OrderedMap(out))
            }
            fn visit_unit<E: de::Error>(self) -> Result<OrderedMap<V>, E> {
                Ok(OrderedMap(Vec::new()))
            }
        }
        // Through `any`, so that an empty section (`tables:`) reads as empty.
        d.deserialize_any(Vis(PhantomData))
    }
}

impl<V: JsonSchema> JsonSchema for OrderedMap<V> {
    fn schema_name() -> Cow<'static, str> {
        format!("Map_of_{}", V::schema_name()).into()
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "additionalProperties": g.subschema_for::<V>(),
        })
    }
}
