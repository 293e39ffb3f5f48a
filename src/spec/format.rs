//! The YAML target format, as serde types. These types are the format's
//! single definition: the reader deserializes them, and `bellows schema`
//! prints the JSON Schema generated from them (doc comments become the
//! descriptions editors show). Each kind's types are in its module under
//! `kinds/`, with its reading and writing; here are the forms they share.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

pub use super::kinds::*;

/// A short list form or a full mapping form of the same thing.
#[derive(Debug)]
pub enum ListOr<L, M> {
    List(L),
    Map(M),
}

impl<'de, L: Deserialize<'de>, M: Deserialize<'de>> Deserialize<'de> for ListOr<L, M> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<L, M>(PhantomData<(L, M)>);
        impl<'de, L: Deserialize<'de>, M: Deserialize<'de>> Visitor<'de> for V<L, M> {
            type Value = ListOr<L, M>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list or a mapping")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                L::deserialize(SeqAccessDeserializer::new(seq)).map(ListOr::List)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                M::deserialize(MapAccessDeserializer::new(map)).map(ListOr::Map)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

impl<L: JsonSchema, M: JsonSchema> JsonSchema for ListOr<L, M> {
    fn schema_name() -> Cow<'static, str> {
        format!("{}_or_{}", L::schema_name(), M::schema_name()).into()
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        json_schema!({ "anyOf": [g.subschema_for::<L>(), g.subschema_for::<M>()] })
    }
}

/// A short text form or a full mapping form of the same thing.
#[derive(Debug)]
pub enum TextOr<M> {
    Text(String),
    Map(M),
}

impl<'de, M: Deserialize<'de>> Deserialize<'de> for TextOr<M> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<M>(PhantomData<M>);
        impl<'de, M: Deserialize<'de>> Visitor<'de> for V<M> {
            type Value = TextOr<M>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an SQL expression or a mapping")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(TextOr::Text(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(TextOr::Text(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                M::deserialize(MapAccessDeserializer::new(map)).map(TextOr::Map)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

impl<M: JsonSchema> JsonSchema for TextOr<M> {
    fn schema_name() -> Cow<'static, str> {
        format!("text_or_{}", M::schema_name()).into()
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        json_schema!({ "anyOf": [{ "type": "string" }, g.subschema_for::<M>()] })
    }
}

/// A parameter's value: a YAML number, boolean or string, kept as the
/// text it stands for (`70`, `0.01`, `false`, `auto`).
#[derive(Debug)]
pub struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number, a boolean or a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for Scalar {
    fn schema_name() -> Cow<'static, str> {
        "scalar".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": ["number", "boolean", "string"] })
    }
}
