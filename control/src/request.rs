//! Parsing and validation of injection requests, with no wasm imports.
//!
//! Both `POST /packets` (JSON body) and `GET /` (query string) end up as one
//! [`Inject`]. Every check happens here, before anything is injected, and every
//! failure is a [`BadRequest`] whose message names the field and what it may be.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{json, Value};

/// Largest accepted request body, in bytes (over it: 413).
pub const MAX_BODY_BYTES: usize = 65_536;
/// Largest `ttl`.
pub const MAX_TTL: u64 = 10_000_000;
/// Largest `chaos` (a percentage).
pub const MAX_CHAOS: u64 = 100;
/// Largest `count` per request.
pub const MAX_COUNT: u64 = 10_000;
/// Longest name: `route`, a host, a component, a link name.
pub const MAX_NAME_LEN: usize = 64;

/// Error messages quote what the client sent; long values are cut to this.
const MAX_QUOTED_CHARS: usize = 40;

const BODY_FIELDS: &str = "ttl, chaos, route, count, trace";
const QUERY_PARAMS: &str = "ttl, chaos, route, trace";

/// One validated injection request: `count` packets with the same settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inject {
    pub ttl: u64,
    pub chaos: u16,
    pub route: String,
    pub count: u32,
    pub trace: bool,
}

impl Default for Inject {
    fn default() -> Self {
        Inject {
            ttl: 100,
            chaos: 0,
            route: "default".to_string(),
            count: 1,
            trace: false,
        }
    }
}

impl Inject {
    /// The `200` answer once the packets with ids `ids` are injected.
    pub fn answer(&self, ids: &[u64]) -> Value {
        json!({
            "packets": ids,
            "ttl": self.ttl,
            "chaos": self.chaos,
            "route": self.route,
            "count": self.count,
            "trace": self.trace,
        })
    }
}

/// A client error (HTTP 400); the message is meant for the client to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRequest(pub String);

impl fmt::Display for BadRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadRequest {}

pub(crate) fn bad(message: impl Into<String>) -> BadRequest {
    BadRequest(message.into())
}

/// The JSON body of every error answer: `{"error":"…"}`.
pub fn error_body(message: &str) -> Value {
    json!({ "error": message })
}

// ---------------------------------------------------------------------------
// POST /packets: JSON body
// ---------------------------------------------------------------------------

/// Parse a `POST /packets` body. An empty (or all-whitespace) body means all
/// defaults. The caller has already enforced [`MAX_BODY_BYTES`].
pub fn parse_body(body: &[u8]) -> Result<Inject, BadRequest> {
    let mut inject = Inject::default();
    for (name, value) in &parse_object(body)? {
        apply_json_field(&mut inject, name, value)?;
    }
    Ok(inject)
}

/// The fields of a JSON object body, in the order sent. Shared by every
/// endpoint that takes a body: the body must be UTF-8 and one JSON object, and
/// no key may repeat. An empty (or all-whitespace) body is an object with no
/// fields. Checking the fields themselves is up to the caller.
pub(crate) fn parse_object(body: &[u8]) -> Result<Vec<(String, Value)>, BadRequest> {
    let text = std::str::from_utf8(body).map_err(|e| {
        bad(format!(
            "body is not valid UTF-8 (bad byte at offset {})",
            e.valid_up_to()
        ))
    })?;
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let fields = match serde_json::from_str::<TopLevel>(text) {
        Ok(TopLevel::Object(fields)) => fields,
        Ok(TopLevel::Other(kind)) => {
            return Err(bad(format!("body must be a JSON object, got {kind}")))
        }
        Err(e) => return Err(bad(format!("body is not valid JSON: {e}"))),
    };
    for (i, (name, _)) in fields.iter().enumerate() {
        // serde_json::Value keeps only the last of repeated keys; an ambiguous
        // request is refused instead.
        if fields[..i].iter().any(|(earlier, _)| earlier == name) {
            return Err(bad(format!("field {} given more than once", quote(name))));
        }
    }
    Ok(fields)
}

/// Check one body field and store it in `inject`.
fn apply_json_field(inject: &mut Inject, name: &str, value: &Value) -> Result<(), BadRequest> {
    match name {
        "ttl" => inject.ttl = json_integer(name, value, 0, MAX_TTL)?,
        "chaos" => inject.chaos = json_integer(name, value, 0, MAX_CHAOS)? as u16,
        "count" => inject.count = json_integer(name, value, 1, MAX_COUNT)? as u32,
        "route" => inject.route = json_name(name, value)?,
        "trace" => {
            inject.trace = match value {
                Value::Bool(b) => *b,
                other => {
                    return Err(bad(format!(
                        "trace must be a boolean (true or false), got {}",
                        show(other)
                    )))
                }
            }
        }
        unknown => return Err(unknown_field(unknown, BODY_FIELDS)),
    }
    Ok(())
}

/// The error for a body field that the endpoint does not take.
pub(crate) fn unknown_field(name: &str, allowed: &str) -> BadRequest {
    bad(format!(
        "unknown field {}; allowed fields: {allowed}",
        quote(name)
    ))
}

/// The error for a required body field that is absent.
pub(crate) fn missing_field(name: &str) -> BadRequest {
    bad(format!("missing required field {}", quote(name)))
}

/// A JSON integer within `min..=max`. Floats (even `5.0`), negatives, strings,
/// booleans and null are all refused: the API takes integers only.
pub(crate) fn json_integer(
    name: &str,
    value: &Value,
    min: u64,
    max: u64,
) -> Result<u64, BadRequest> {
    // as_u64 is None for negatives and for any number written with a
    // fraction or exponent.
    match value.as_u64() {
        Some(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(integer_error(name, min, max, &show(value))),
    }
}

fn integer_error(name: &str, min: u64, max: u64, got: &str) -> BadRequest {
    bad(format!(
        "{name} must be an integer {min}..={max}, got {got}"
    ))
}

/// The error for a name field (route, link name, host …) that is not 1–64
/// characters of `[a-z0-9_-]`.
pub(crate) fn name_error(field: &str, got: &str) -> BadRequest {
    bad(format!(
        "{field} must be a string of 1-{MAX_NAME_LEN} characters of [a-z0-9_-], got {got}"
    ))
}

/// Whether `name` is a valid name: 1–64 characters of `[a-z0-9_-]`.
pub(crate) fn is_name(name: &str) -> bool {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-';
    (1..=MAX_NAME_LEN).contains(&name.chars().count()) && name.chars().all(allowed)
}

/// A name given as text (route, in a query string).
fn check_name(field: &str, text: &str) -> Result<String, BadRequest> {
    if is_name(text) {
        Ok(text.to_string())
    } else {
        Err(name_error(field, &quote(text)))
    }
}

/// A name given as a JSON value: a string of 1–64 characters of `[a-z0-9_-]`.
pub(crate) fn json_name(field: &str, value: &Value) -> Result<String, BadRequest> {
    match value {
        Value::String(s) => check_name(field, s),
        other => Err(name_error(field, &show(other))),
    }
}

/// The top level of a body: an object's fields in order (so that repeated
/// keys can be seen), or the kind of JSON value it was instead.
enum TopLevel {
    Object(Vec<(String, Value)>),
    Other(&'static str),
}

impl<'de> Deserialize<'de> for TopLevel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TopLevelVisitor)
    }
}

struct TopLevelVisitor;

impl<'de> Visitor<'de> for TopLevelVisitor {
    type Value = TopLevel;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TopLevel, A::Error> {
        let mut fields = Vec::new();
        while let Some(entry) = map.next_entry::<String, Value>()? {
            fields.push(entry);
        }
        Ok(TopLevel::Object(fields))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TopLevel, A::Error> {
        // Consume the array so that its syntax is still checked.
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(TopLevel::Other("an array"))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<TopLevel, E> {
        Ok(TopLevel::Other("a string"))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<TopLevel, E> {
        Ok(TopLevel::Other("a boolean"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<TopLevel, E> {
        Ok(TopLevel::Other("a number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<TopLevel, E> {
        Ok(TopLevel::Other("a number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<TopLevel, E> {
        Ok(TopLevel::Other("a number"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<TopLevel, E> {
        Ok(TopLevel::Other("null"))
    }
}

// ---------------------------------------------------------------------------
// GET /: query string
// ---------------------------------------------------------------------------

/// Parse the query string of `GET /` (without the `?`). It always injects one
/// packet, so `count` is refused along with any other unknown parameter.
pub fn parse_query(query: Option<&str>) -> Result<Inject, BadRequest> {
    let mut inject = Inject::default();
    let mut seen: Vec<String> = Vec::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = percent_decode(raw_name, "a query parameter name")?;
        let value = percent_decode(raw_value, &format!("query parameter {}", quote(&name)))?;
        if seen.contains(&name) {
            return Err(bad(format!(
                "query parameter {} given more than once",
                quote(&name)
            )));
        }
        apply_query_param(&mut inject, &name, &value)?;
        seen.push(name);
    }
    Ok(inject)
}

/// Check one query parameter and store it in `inject`.
fn apply_query_param(inject: &mut Inject, name: &str, value: &str) -> Result<(), BadRequest> {
    match name {
        "ttl" => inject.ttl = text_integer(name, value, 0, MAX_TTL)?,
        "chaos" => inject.chaos = text_integer(name, value, 0, MAX_CHAOS)? as u16,
        "route" => inject.route = check_name(name, value)?,
        "trace" => {
            inject.trace = match value {
                "true" => true,
                "false" => false,
                other => {
                    return Err(bad(format!(
                        "trace must be true or false, got {}",
                        quote(other)
                    )))
                }
            }
        }
        "count" => {
            return Err(bad(
                "unknown query parameter \"count\": GET / injects one packet; \
                 use POST /packets for more",
            ))
        }
        unknown => {
            return Err(bad(format!(
                "unknown query parameter {}; allowed: {QUERY_PARAMS}",
                quote(unknown)
            )))
        }
    }
    Ok(())
}

/// A decimal integer within `min..=max`, digits only (no sign, no fraction).
fn text_integer(name: &str, text: &str, min: u64, max: u64) -> Result<u64, BadRequest> {
    let digits_only = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    match text.parse::<u64>() {
        Ok(n) if digits_only && (min..=max).contains(&n) => Ok(n),
        _ => Err(integer_error(name, min, max, &quote(text))),
    }
}

/// Decode `%XX` escapes and `+` (space) in one query component.
fn percent_decode(raw: &str, what: &str) -> Result<String, BadRequest> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                // from_str_radix alone would also take a sign ("%+5").
                let byte = bytes
                    .get(i + 1..i + 3)
                    .filter(|hex| hex.iter().all(u8::is_ascii_hexdigit))
                    .and_then(|hex| std::str::from_utf8(hex).ok())
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                    .ok_or_else(|| bad(format!("{what} has a bad %-escape: {}", quote(raw))))?;
                out.push(byte);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| bad(format!("{what} is not valid UTF-8 once decoded")))
}

// ---------------------------------------------------------------------------
// Quoting client input in messages
// ---------------------------------------------------------------------------

/// A string as a JSON string literal, cut short if long.
pub(crate) fn quote(s: &str) -> String {
    let cut: String = s.chars().take(MAX_QUOTED_CHARS).collect();
    let quoted = Value::String(cut).to_string();
    if s.chars().count() > MAX_QUOTED_CHARS {
        format!("{quoted}…")
    } else {
        quoted
    }
}

/// A JSON value as compact JSON, cut short if long.
pub(crate) fn show(value: &Value) -> String {
    match value {
        Value::String(s) => quote(s),
        Value::Array(_) => "an array".to_string(),
        Value::Object(_) => "an object".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests;
