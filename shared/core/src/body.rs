//! Request bodies as types ("parse, don't validate"). Each body is one type: it describes
//! its schema for the OpenAPI document (`utoipa::ToSchema`) and it is what a use case works
//! with, built by [`Body::parse`] with the [`Validator`]'s rules (every problem named by its
//! dotted path and reported together, unknown attributes refused, `null` taken as absent for
//! optional attributes, strings trimmed and not blank).
//!
//! A body arrives as an [`Unparsed`] JSON object and is parsed where its problems may be
//! told: after the caller is authorized, and after whatever it is read against (the team
//! member, the app, the catalog) is found. So a body's errors never answer before a 401,
//! 403 or 404 would, and a caller without access learns nothing from them. Where nothing
//! comes between authorization and the body, the handler parses it and the use case takes
//! the parsed type; otherwise the use case takes the `Unparsed` body and parses it there.

use std::marker::PhantomData;

use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::error::Result;
use crate::validate::{Obj, Validator};

/// A request body (or an object within one), read from JSON with the validator's rules.
/// `Cx` is what reading it needs besides the JSON (the app whose credential fields it holds,
/// the catalog its app slugs name); `()` for most bodies.
pub trait Body<Cx = ()>: Sized {
    /// Reads `obj`, reporting every problem to `v`; `None` when the body cannot be built
    /// (then at least one problem was reported, or `Validator::finish` reports the body).
    fn parse(v: &mut Validator, obj: &Obj<'_>, cx: Cx) -> Option<Self>;
}

/// A JSON object received as a `T`, not read yet.
pub struct Unparsed<T> {
    /// Only the core reads the object itself (the provision idempotency hash is of the body
    /// as sent); everyone else gets a `T`.
    pub(crate) object: Map<String, Value>,
    body: PhantomData<fn() -> T>,
}

impl<T> Unparsed<T> {
    pub fn new(object: Map<String, Value>) -> Self {
        Self {
            object,
            body: PhantomData,
        }
    }

    /// The `T`, or every problem found.
    pub fn parse(&self) -> Result<T>
    where
        T: Body,
    {
        self.parse_for(())
    }

    /// The `T` read against `cx`, or every problem found.
    pub fn parse_for<Cx>(&self, cx: Cx) -> Result<T>
    where
        T: Body<Cx>,
    {
        let mut v = Validator::new();
        let body = T::parse(&mut v, &Obj::root(&self.object), cx);
        v.finish(body)
    }
}

/// A boolean that is also accepted as the string `"true"` or `"false"`.
// The schema of what `Validator::boolish` reads: body types describe such an attribute
// with `#[schema(value_type = Option<Boolish>)]` and hold a `bool`.
#[derive(ToSchema)]
#[serde(untagged)]
pub enum Boolish {
    Bool(bool),
    Text(BoolText),
}

#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BoolText {
    True,
    False,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::error::{Category, Error};
    use crate::validate::Text;

    /// A body with a nested object, an optional attribute and a context.
    #[derive(Debug, PartialEq)]
    struct Visit {
        guest: Guest,
        note: Option<String>,
        rooms: i64,
    }

    #[derive(Debug, PartialEq)]
    struct Guest {
        name: String,
        email: String,
    }

    impl Body for Guest {
        fn parse(v: &mut Validator, obj: &Obj<'_>, (): ()) -> Option<Self> {
            v.only(obj, &["name", "email"]);
            let name = v.text(obj, "name", true, Text::NAME);
            let email = v.parsed(obj, "email", true, crate::values::email);
            Some(Guest {
                name: name?,
                email: email?,
            })
        }
    }

    /// The context: how many rooms there are.
    impl Body<i64> for Visit {
        fn parse(v: &mut Validator, obj: &Obj<'_>, rooms: i64) -> Option<Self> {
            v.only(obj, &["guest", "note", "rooms"]);
            let guest = v.object(obj, "guest", true).and_then(|o| Guest::parse(v, &o, ()));
            let note = v.text(obj, "note", false, Text::NAME);
            let wanted = v.integer(obj, "rooms", true, 1, rooms);
            Some(Visit {
                guest: guest?,
                note,
                rooms: wanted?,
            })
        }
    }

    fn unparsed<T>(body: Value) -> Unparsed<T> {
        match body {
            Value::Object(map) => Unparsed::new(map),
            _ => unreachable!("bodies are objects"),
        }
    }

    fn refusal<T: std::fmt::Debug>(parsed: Result<T>) -> Vec<(String, String)> {
        match parsed {
            Err(Error::Refused(details)) => details
                .into_iter()
                .inspect(|d| assert_eq!(d.category, Category::InvalidAttributeValue))
                .map(|d| (d.error_key, d.message))
                .collect(),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn parses_a_body_into_its_type() {
        let body = json!({"guest": {"name": " Ada ", "email": "ada@example.com"}, "rooms": 2});
        assert_eq!(
            unparsed::<Visit>(body).parse_for(3).unwrap(),
            Visit {
                guest: Guest {
                    name: "Ada".into(),
                    email: "ada@example.com".into()
                },
                note: None,
                rooms: 2,
            }
        );
    }

    #[test]
    fn reports_every_problem_with_its_dotted_path() {
        let body = json!({
            "guest": {"name": "", "email": "not an email", "age": 3},
            "note": 7,
            "rooms": 9,
            "pets": true,
        });
        let keys: Vec<String> = refusal(unparsed::<Visit>(body).parse_for(3))
            .into_iter()
            .map(|(key, _)| key)
            .collect();
        assert_eq!(
            keys,
            ["pets", "guest.age", "guest.name", "guest.email", "note", "rooms"]
        );
    }

    #[test]
    fn refuses_unknown_attributes_by_name() {
        let body = json!({"name": "Ada", "email": "ada@example.com", "nickname": "A"});
        assert_eq!(
            refusal(unparsed::<Guest>(body).parse()),
            [(
                "nickname".to_owned(),
                "`nickname` is not a known attribute.".to_owned()
            )]
        );
    }

    #[test]
    fn takes_null_as_absent() {
        // Optional: null is as if not sent.
        let body = json!({"guest": {"name": "Ada", "email": "ada@example.com"}, "note": null, "rooms": 1});
        assert_eq!(unparsed::<Visit>(body).parse_for(1).unwrap().note, None);
        // Required: null is missing.
        let body = json!({"guest": null, "rooms": 1});
        assert_eq!(
            refusal(unparsed::<Visit>(body).parse_for(1)),
            [("guest".to_owned(), "`guest` is required.".to_owned())]
        );
    }

    #[test]
    fn reads_against_its_context() {
        let body = json!({"guest": {"name": "Ada", "email": "ada@example.com"}, "rooms": 2});
        let wanted = unparsed::<Visit>(body);
        assert_eq!(wanted.parse_for(2).unwrap().rooms, 2);
        assert_eq!(
            refusal(wanted.parse_for(1)),
            [("rooms".to_owned(), "`rooms` must be between 1 and 1.".to_owned())]
        );
    }
}
