//! Query-string values as Keycloak's clients send them. A boolean is `true`
//! or `false` in any case: Keycloak reads them that way, and its Python
//! client sends `True` (a Python bool turned into text). Every boolean query
//! parameter is declared with one of these:
//!
//! ```ignore
//! #[serde(default, deserialize_with = "crate::http::query::optional_boolean")]
//! pub exact: Option<bool>,
//! ```

use std::fmt;

use serde::de::{self, Deserializer, Visitor};

struct Flag;

impl Visitor<'_> for Flag {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("`true` or `false`")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<bool, E> {
        Ok(value)
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<bool, E> {
        if value.eq_ignore_ascii_case("true") {
            Ok(true)
        } else if value.eq_ignore_ascii_case("false") {
            Ok(false)
        } else {
            Err(E::invalid_value(de::Unexpected::Str(value), &self))
        }
    }
}

/// A required boolean parameter, case-insensitive.
pub fn boolean<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    deserializer.deserialize_any(Flag)
}

/// An optional boolean parameter, case-insensitive (use with
/// `#[serde(default)]`, so an absent one is `None`).
pub fn optional_boolean<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<bool>, D::Error> {
    deserializer.deserialize_any(Flag).map(Some)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Query {
        #[serde(default, deserialize_with = "super::optional_boolean")]
        exact: Option<bool>,
    }

    fn parse(q: &str) -> Result<Option<bool>, actix_web::error::QueryPayloadError> {
        actix_web::web::Query::<Query>::from_query(q).map(|q| q.into_inner().exact)
    }

    #[test]
    fn any_case_of_true_and_false() {
        for text in ["true", "True", "TRUE", "tRuE"] {
            assert_eq!(parse(&format!("exact={text}")).unwrap(), Some(true));
        }
        for text in ["false", "False", "FALSE"] {
            assert_eq!(parse(&format!("exact={text}")).unwrap(), Some(false));
        }
        assert_eq!(parse("").unwrap(), None);
    }

    #[test]
    fn anything_else_is_refused() {
        for text in ["yes", "1", "", "truee"] {
            assert!(parse(&format!("exact={text}")).is_err(), "{text}");
        }
    }
}
