//! `config.example.yaml` documents exactly the keys the config schema accepts: every key
//! path in the file is one the schema knows, and every key the schema knows is in the
//! file (but the secret sources it shows one of). The schema's side is read from the
//! schema itself, through serde, so a key added to the code and not to the example (or
//! dropped from the example) fails here.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde::de::value::{Error, StrDeserializer};
use serde::de::{self, DeserializeSeed, IntoDeserializer as _, MapAccess, SeqAccess, Visitor};

const EXAMPLE: &str = include_str!("../../config.example.yaml");

/// Keys the schema accepts that the example leaves out on purpose: each channel secret
/// has three mutually exclusive sources, and the example shows one per channel and
/// names the others in a comment (`*_file`, `*_env`, inline).
const ALTERNATIVES: &[&str] = &[
    "notifications.telegram.bot_token",
    "notifications.telegram.bot_token_env",
    "notifications.resend.api_key",
    "notifications.resend.api_key_file",
    "fleet.password_env",
];

/// What a key's value is, as far as the comparison cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// A value or a section: the keys below it (if any) are the schema's.
    Fixed,
    /// A map with free keys (`env`, `targets`, `headers`): what is below is data.
    FreeMap,
}

/// Every key path the schema of `T` accepts (`claude.env`, `accounts[].home`, …).
fn accepted<'de, T: Deserialize<'de>>() -> BTreeMap<String, Shape> {
    let keys = RefCell::new(BTreeMap::new());
    T::deserialize(Tracer {
        path: String::new(),
        keys: &keys,
    })
    .unwrap_or_else(|e| panic!("the schema cannot be traced: {e}"));
    keys.into_inner()
}

/// Every key path a YAML text holds; below a free map of the schema, nothing.
fn documented(text: &str, free: &BTreeSet<String>) -> BTreeSet<String> {
    fn walk(
        v: &serde_yaml::Value,
        path: &str,
        free: &BTreeSet<String>,
        out: &mut BTreeSet<String>,
    ) {
        match v {
            serde_yaml::Value::Mapping(m) => {
                for (k, v) in m {
                    let k = k.as_str().expect("the example's keys are strings");
                    let p = join(path, k);
                    out.insert(p.clone());
                    if !free.contains(&p) {
                        walk(v, &p, free, out);
                    }
                }
            }
            serde_yaml::Value::Sequence(items) => {
                for item in items {
                    walk(item, &format!("{path}[]"), free, out);
                }
            }
            _ => {}
        }
    }
    let doc: serde_yaml::Value = serde_yaml::from_str(text).expect("the example is YAML");
    let mut out = BTreeSet::new();
    walk(&doc, "", free, &mut out);
    out
}

/// How a config text differs from the schema's keys.
#[derive(Debug, Default, PartialEq)]
struct Gaps {
    /// Accepted by the schema, absent from the text (and not a listed alternative).
    missing: BTreeSet<String>,
    /// In the text, unknown to the schema.
    unknown: BTreeSet<String>,
}

fn gaps(text: &str) -> Gaps {
    let schema = accepted::<ccf::config::schema::File>();
    let free: BTreeSet<String> = schema
        .iter()
        .filter(|(_, s)| **s == Shape::FreeMap)
        .map(|(k, _)| k.clone())
        .collect();
    let doc = documented(text, &free);
    Gaps {
        missing: schema
            .keys()
            .filter(|k| !doc.contains(*k) && !ALTERNATIVES.contains(&k.as_str()))
            .cloned()
            .collect(),
        unknown: doc
            .into_iter()
            .filter(|k| !schema.contains_key(k))
            .collect(),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn set(keys: &[&str]) -> BTreeSet<String> {
    keys.iter().map(|k| (*k).to_string()).collect()
}

#[test]
fn the_example_config_documents_exactly_the_keys_the_schema_accepts() {
    assert_eq!(gaps(EXAMPLE), Gaps::default());
    // The exceptions are exact too: each is a key of the schema the example lacks, and
    // the example says where the other sources are.
    let schema = accepted::<ccf::config::schema::File>();
    let doc = documented(EXAMPLE, &BTreeSet::new());
    for k in ALTERNATIVES {
        assert!(schema.contains_key(*k), "{k} is not a key of the schema");
        assert!(
            !doc.contains(*k),
            "{k} is documented: drop it from ALTERNATIVES"
        );
    }
    for source in ["*_file", "*_env", "an inline secret"] {
        assert!(
            EXAMPLE.contains(source),
            "the example does not mention {source}"
        );
    }
}

#[test]
fn the_checker_names_a_key_removed_from_a_copy_of_the_example_or_one_the_schema_lacks() {
    let without = |line: &str| -> String {
        let text: Vec<&str> = EXAMPLE.lines().filter(|l| !l.starts_with(line)).collect();
        assert_eq!(text.len() + 1, EXAMPLE.lines().count(), "one line {line:?}");
        text.join("\n")
    };
    // `task_timeout:` still holds the text `timeout:`: a substring check missed this.
    let no_timeout = without("  timeout: 10s");
    assert!(no_timeout.contains("timeout:"));
    assert_eq!(gaps(&no_timeout).missing, set(&["notifications.timeout"]));
    assert_eq!(gaps(&without("  env: {}")).missing, set(&["claude.env"]));
    assert_eq!(
        gaps(&without("    home: ~/.claude-compte1")),
        Gaps::default(),
        "one list item documenting a key is enough"
    );
    let no_homes =
        without("    home: ~/.claude-compte1").replace("    home: ~/.claude-compte2\n", "");
    assert_eq!(gaps(&no_homes).missing, set(&["accounts[].home"]));
    let no_janitor = EXAMPLE.replace(
        "janitor:\n  keep_finished: 7d           # prune done/ and failed/ tasks older than this\n",
        "",
    );
    assert_ne!(no_janitor, EXAMPLE);
    assert_eq!(
        gaps(&no_janitor).missing,
        set(&["janitor", "janitor.keep_finished"])
    );
    let extra = EXAMPLE.replace("  env: {}", "  env: {IS_SANDBOX: \"1\"}\n  shell: bash");
    assert_eq!(
        gaps(&extra),
        Gaps {
            missing: BTreeSet::new(),
            unknown: set(&["claude.shell"]),
        },
        "the keys inside a free map are data, a new key beside it is not"
    );
}

/// A deserializer that answers every struct with all of its fields, recording each
/// field's key path, and gives every other value something plausible: serde's derive
/// then walks the whole schema.
struct Tracer<'a> {
    path: String,
    keys: &'a RefCell<BTreeMap<String, Shape>>,
}

impl<'de> de::Deserializer<'de> for Tracer<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Error> {
        Err(de::Error::custom(format!(
            "no value to trace {} with: teach the tracer this type",
            self.path
        )))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_map(StructFields {
            path: self.path,
            remaining: fields.iter(),
            keys: self.keys,
        })
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.keys.borrow_mut().insert(self.path, Shape::FreeMap);
        visitor.visit_map(serde::de::value::MapDeserializer::new(std::iter::empty::<(
            String,
            String,
        )>()))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_seq(One {
            item: Some(Tracer {
                path: format!("{}[]", self.path),
                keys: self.keys,
            }),
        })
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        // A duration reads as one too.
        visitor.visit_str("1s")
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_str("1s")
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_bool(false)
    }

    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_u32(1)
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_u64(1)
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_i64(1)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_f64(1.0)
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i32 i128 u8 u16 u128 f32 char bytes byte_buf unit unit_struct
        tuple tuple_struct enum identifier ignored_any
    }
}

/// A struct's fields, each with a traced value.
struct StructFields<'a> {
    path: String,
    remaining: std::slice::Iter<'static, &'static str>,
    keys: &'a RefCell<BTreeMap<String, Shape>>,
}

impl<'de> MapAccess<'de> for StructFields<'_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some(field) = self.remaining.as_slice().first() else {
            return Ok(None);
        };
        let key: StrDeserializer<'_, Error> = field.into_deserializer();
        seed.deserialize(key).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let field = self.remaining.next().expect("a value follows its key");
        let path = join(&self.path, field);
        self.keys.borrow_mut().insert(path.clone(), Shape::Fixed);
        seed.deserialize(Tracer {
            path,
            keys: self.keys,
        })
    }
}

/// A list of one traced item.
struct One<'a> {
    item: Option<Tracer<'a>>,
}

impl<'de> SeqAccess<'de> for One<'_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.item.take().map(|t| seed.deserialize(t)).transpose()
    }
}
