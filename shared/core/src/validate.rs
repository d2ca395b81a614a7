//! Reading request bodies into validated domain values ("parse, don't validate").
//!
//! A `Validator` walks a JSON object, collects *every* problem (each named by its dotted
//! attribute path, e.g. `company.addresses[1].zip`) and refuses unknown attributes, so a
//! client learns all that is wrong in one answer.

use serde_json::{Map, Value};

use crate::error::{Category, Error, ErrorDetail};

#[derive(Debug, Default)]
pub struct Validator {
    errors: Vec<ErrorDetail>,
}

/// A JSON object being read, with its path for error keys.
#[derive(Debug, Clone)]
pub struct Obj<'a> {
    path: String,
    map: &'a Map<String, Value>,
}

/// Limits for a text attribute.
#[derive(Debug, Clone, Copy)]
pub struct Text {
    pub max_chars: usize,
}

impl Text {
    pub const NAME: Text = Text { max_chars: 100 };
    pub const LONG_NAME: Text = Text { max_chars: 200 };
    pub const SHORT: Text = Text { max_chars: 50 };
}

/// Characters that show nothing or reorder what follows: zero-width spaces and joiners, the
/// direction marks, embeddings, overrides and isolates (the "Trojan Source" characters), the
/// byte order mark, line and paragraph separators, fillers and tags. In a name (a person's,
/// a company's, anything typed and shown to others) they only serve to make two names look
/// alike or one read otherwise than it is, so text attributes refuse them.
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' // soft hyphen
        | '\u{034F}' // combining grapheme joiner
        | '\u{061C}' // Arabic letter mark
        | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' // Hangul fillers
        | '\u{17B4}' | '\u{17B5}' // Khmer inherent vowels
        | '\u{180B}'..='\u{180F}' // Mongolian variation selectors and vowel separator
        | '\u{200B}'..='\u{200F}' // zero-width space, non-joiner, joiner; LRM, RLM
        | '\u{2028}'..='\u{202E}' // line and paragraph separators; LRE, RLE, PDF, LRO, RLO
        | '\u{2060}'..='\u{206F}' // word joiner, invisible operators; LRI, RLI, FSI, PDI; deprecated formats
        | '\u{FEFF}' // zero-width no-break space (byte order mark)
        | '\u{FFF9}'..='\u{FFFB}' // interlinear annotation
        | '\u{1D173}'..='\u{1D17A}' // musical formatting
        | '\u{E0000}'..='\u{E007F}' // tags
    )
}

pub fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

impl<'a> Obj<'a> {
    pub fn root(map: &'a Map<String, Value>) -> Self {
        Obj {
            path: String::new(),
            map,
        }
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// The value of `key`, treating JSON `null` as absent.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// Whether `key` was sent at all, even as `null`.
    pub fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// Whether `key` was sent as `null`: a clear, for an attribute that can be cleared.
    pub fn is_null(&self, key: &str) -> bool {
        self.map.get(key).is_some_and(Value::is_null)
    }

    /// Whether nothing was sent.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn error(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.errors
            .push(ErrorDetail::new(key, Category::InvalidAttributeValue, message));
    }

    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// `Ok(value)` when nothing was wrong, else every problem found.
    pub fn finish<T>(self, value: Option<T>) -> Result<T, Error> {
        match value {
            Some(v) if self.errors.is_empty() => Ok(v),
            _ if !self.errors.is_empty() => Err(Error::Refused(self.errors)),
            _ => Err(Error::invalid("body", "The request body is not valid.")),
        }
    }

    /// Refuses attributes not in `allowed`.
    pub fn only(&mut self, obj: &Obj<'_>, allowed: &[&str]) {
        for key in obj.map.keys() {
            if !allowed.contains(&key.as_str()) {
                let path = join(&obj.path, key);
                self.error(&path, format!("`{path}` is not a known attribute."));
            }
        }
    }

    fn missing(&mut self, path: &str) {
        self.error(path, format!("`{path}` is required."));
    }

    fn wrong_type(&mut self, path: &str, expected: &str) {
        self.error(path, format!("`{path}` must be {expected}."));
    }

    /// A required or optional nested object.
    pub fn object<'a>(&mut self, parent: &Obj<'a>, key: &str, required: bool) -> Option<Obj<'a>> {
        let path = join(&parent.path, key);
        match parent.get(key) {
            None => {
                if required {
                    self.missing(&path);
                }
                None
            }
            Some(Value::Object(map)) => Some(Obj { path, map }),
            Some(_) => {
                self.wrong_type(&path, "an object");
                None
            }
        }
    }

    /// Element `index` of the array at `array_path`, which must be an object.
    pub fn element<'a>(&mut self, value: &'a Value, array_path: &str, index: usize) -> Option<Obj<'a>> {
        let path = format!("{array_path}[{index}]");
        match value {
            Value::Object(map) => Some(Obj { path, map }),
            _ => {
                self.wrong_type(&path, "an object");
                None
            }
        }
    }

    /// A string attribute: trimmed, non-empty when present, within `limits`, without
    /// control characters, nor invisible or text-direction ones (see `invisible`).
    pub fn text(&mut self, obj: &Obj<'_>, key: &str, required: bool, limits: Text) -> Option<String> {
        let path = join(&obj.path, key);
        match obj.get(key) {
            None => {
                if required {
                    self.missing(&path);
                }
                None
            }
            Some(Value::String(s)) => {
                let s = s.trim();
                if s.is_empty() {
                    if required {
                        self.missing(&path);
                    } else {
                        self.error(&path, format!("`{path}` must not be blank when given."));
                    }
                    None
                } else if s.chars().count() > limits.max_chars {
                    self.error(
                        &path,
                        format!("`{path}` must be at most {} characters.", limits.max_chars),
                    );
                    None
                } else if s.chars().any(char::is_control) {
                    self.error(&path, format!("`{path}` must not contain control characters."));
                    None
                } else if s.chars().any(invisible) {
                    self.error(
                        &path,
                        format!("`{path}` must not contain invisible or text-direction characters."),
                    );
                    None
                } else {
                    Some(s.to_owned())
                }
            }
            Some(_) => {
                self.wrong_type(&path, "a string");
                None
            }
        }
    }

    /// A text attribute turned into a domain value by `parse`, which explains a refusal.
    pub fn parsed<T>(
        &mut self,
        obj: &Obj<'_>,
        key: &str,
        required: bool,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let raw = self.text(obj, key, required, Text { max_chars: 320 })?;
        match parse(&raw) {
            Ok(v) => Some(v),
            Err(why) => {
                let path = join(&obj.path, key);
                self.error(&path, format!("`{path}` {why}"));
                None
            }
        }
    }

    /// A whole number between `min` and `max`.
    pub fn integer(&mut self, obj: &Obj<'_>, key: &str, required: bool, min: i64, max: i64) -> Option<i64> {
        let path = join(&obj.path, key);
        match obj.get(key) {
            None => {
                if required {
                    self.missing(&path);
                }
                None
            }
            Some(Value::Number(n)) => match n.as_i64() {
                Some(i) if i < min && min == 0 => {
                    self.error(&path, format!("`{path}` must not be negative."));
                    None
                }
                Some(i) if i < min || i > max => {
                    self.error(&path, format!("`{path}` must be between {min} and {max}."));
                    None
                }
                Some(i) => Some(i),
                None => {
                    self.wrong_type(&path, "a whole number");
                    None
                }
            },
            Some(_) => {
                self.wrong_type(&path, "a whole number");
                None
            }
        }
    }

    /// A boolean that also accepts the strings `"true"` and `"false"`.
    pub fn boolish(&mut self, obj: &Obj<'_>, key: &str) -> Option<bool> {
        let path = join(&obj.path, key);
        match obj.get(key)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) if s == "true" => Some(true),
            Value::String(s) if s == "false" => Some(false),
            _ => {
                self.wrong_type(&path, "true or false");
                None
            }
        }
    }

    /// An array of at most `max_len` elements.
    pub fn array<'a>(&mut self, obj: &Obj<'a>, key: &str, max_len: usize) -> Option<&'a [Value]> {
        let path = join(&obj.path, key);
        match obj.get(key)? {
            Value::Array(items) if items.len() > max_len => {
                self.error(&path, format!("`{path}` takes at most {max_len} entries."));
                None
            }
            Value::Array(items) => Some(items),
            _ => {
                self.wrong_type(&path, "an array");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn collects_every_problem_with_its_path() {
        let body = map(json!({"name": "  ", "count": -1, "flag": "yes", "extra": 1, "user": {"x": 1}}));
        let root = Obj::root(&body);
        let mut v = Validator::new();
        assert_eq!(v.text(&root, "name", true, Text::NAME), None);
        assert_eq!(v.integer(&root, "count", false, 0, 10), None);
        assert_eq!(v.boolish(&root, "flag"), None);
        let user = v.object(&root, "user", true).unwrap();
        assert_eq!(v.text(&user, "email", true, Text::NAME), None);
        v.only(&user, &["email"]);
        v.only(&root, &["name", "count", "flag", "user"]);
        let Err(Error::Refused(errors)) = v.finish(Some(())) else {
            panic!("expected refusal")
        };
        let keys: Vec<_> = errors.iter().map(|e| e.error_key.as_str()).collect();
        assert_eq!(keys, ["name", "count", "flag", "user.email", "user.x", "extra"]);
        assert!(errors[1].message.contains("negative"));
    }

    #[test]
    fn accepts_good_values_and_treats_null_as_absent() {
        let body = map(json!({"name": " Frank ", "count": 8, "flag": "false", "note": null}));
        let root = Obj::root(&body);
        let mut v = Validator::new();
        assert_eq!(v.text(&root, "name", true, Text::NAME).as_deref(), Some("Frank"));
        assert_eq!(v.integer(&root, "count", false, 0, 10), Some(8));
        assert_eq!(v.boolish(&root, "flag"), Some(false));
        assert_eq!(v.text(&root, "note", false, Text::NAME), None);
        assert!(v.is_ok());
    }

    /// Issue 25: names took zero-width and bidi-override characters ("Ada\u{202E}ecalevoL"
    /// shows as another name).
    #[test]
    fn names_refuse_zero_width_and_text_direction_characters() {
        let hidden = [
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{200E}',
            '\u{200F}',
            '\u{202A}',
            '\u{202B}',
            '\u{202C}',
            '\u{202D}',
            '\u{202E}',
            '\u{2066}',
            '\u{2067}',
            '\u{2068}',
            '\u{2069}',
            '\u{FEFF}',
            '\u{2060}',
            '\u{061C}',
            '\u{00AD}',
            '\u{2028}',
            '\u{2029}',
            '\u{180E}',
            '\u{3164}',
            '\u{E0041}',
        ];
        for c in hidden {
            let mut names = vec![format!("Ada{c}Lovelace")];
            // (Line and paragraph separators are white space: at either end they are trimmed.)
            if !c.is_whitespace() {
                names.extend([format!("{c}Ada"), format!("Ada{c}")]);
            }
            for name in names {
                let body = map(json!({ "first_name": name }));
                let mut v = Validator::new();
                assert_eq!(
                    v.text(&Obj::root(&body), "first_name", true, Text::NAME),
                    None,
                    "U+{:04X}",
                    c as u32
                );
                let Err(Error::Refused(errors)) = v.finish(Some(())) else {
                    panic!("U+{:04X} accepted", c as u32)
                };
                assert_eq!(errors[0].error_key, "first_name");
                assert!(errors[0].message.contains("invisible"), "{}", errors[0].message);
            }
        }
        for name in [
            "Zoë",
            "Łukasz",
            "O'Brien-Smith",
            "José María",
            "李小龙",
            "محمد",
            "דוד",
            "Nguyễn",
            "Ægir",
            "ß",
            "Frank's Ocean, LLC",
            "Ünïcödé & Sons",
        ] {
            let body = map(json!({ "name": name }));
            let mut v = Validator::new();
            assert_eq!(
                v.text(&Obj::root(&body), "name", true, Text::LONG_NAME)
                    .as_deref(),
                Some(name)
            );
            assert!(v.is_ok(), "{name}");
        }
    }

    #[test]
    fn refuses_fractions_wrong_types_and_control_characters() {
        let body = map(json!({"count": 8.5, "name": 3, "other": "a\u{0007}b"}));
        let root = Obj::root(&body);
        let mut v = Validator::new();
        assert_eq!(v.integer(&root, "count", false, 0, 10), None);
        assert_eq!(v.text(&root, "name", false, Text::NAME), None);
        assert_eq!(v.text(&root, "other", false, Text::NAME), None);
        let Err(Error::Refused(errors)) = v.finish(Some(())) else {
            panic!("expected refusal")
        };
        assert_eq!(errors.len(), 3);
    }
}
