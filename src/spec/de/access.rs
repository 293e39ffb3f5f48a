//! serde's access traits over the tree: sequences, maps, enums, and the
//! sequences that carry a value's span (`Located`) or report and skip a
//! broken entry (`Checked`).

use super::*;

pub(super) struct Seq<'a> {
    pub(super) items: std::iter::Enumerate<std::slice::Iter<'a, Node<'a>>>,
    pub(super) sink: &'a Sink,
    pub(super) path: Option<&'a PathSeg<'a>>,
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
                    step: Step::Index(i),
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

pub(super) struct Map<'a> {
    pub(super) entries: std::vec::IntoIter<&'a (Node<'a>, Node<'a>)>,
    pub(super) value: Option<(&'a Node<'a>, &'a Node<'a>)>,
    pub(super) sink: &'a Sink,
    pub(super) path: Option<&'a PathSeg<'a>>,
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
            step: Step::Key(match &key.kind {
                NodeKind::Scalar { text, .. } => text,
                _ => "?",
            }),
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
pub(super) struct LocatedSeq<'a> {
    pub(super) de: NodeDe<'a>,
    pub(super) state: u8,
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
pub(super) struct CheckedSeq<'a> {
    pub(super) de: Option<NodeDe<'a>>,
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

pub(super) struct Enum<'a> {
    pub(super) de: NodeDe<'a>,
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
