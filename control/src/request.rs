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
/// Longest `route` name.
pub const MAX_ROUTE_LEN: usize = 64;

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

fn bad(message: impl Into<String>) -> BadRequest {
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
    let text = std::str::from_utf8(body).map_err(|e| {
        bad(format!(
            "body is not valid UTF-8 (bad byte at offset {})",
            e.valid_up_to()
        ))
    })?;
    if text.trim().is_empty() {
        return Ok(Inject::default());
    }
    let fields = match serde_json::from_str::<TopLevel>(text) {
        Ok(TopLevel::Object(fields)) => fields,
        Ok(TopLevel::Other(kind)) => {
            return Err(bad(format!("body must be a JSON object, got {kind}")))
        }
        Err(e) => return Err(bad(format!("body is not valid JSON: {e}"))),
    };
    let mut inject = Inject::default();
    let mut seen: Vec<&str> = Vec::with_capacity(fields.len());
    for (name, value) in &fields {
        // serde_json::Value keeps only the last of repeated keys; an ambiguous
        // request is refused instead.
        if seen.contains(&name.as_str()) {
            return Err(bad(format!("field {} given more than once", quote(name))));
        }
        seen.push(name);
        apply_json_field(&mut inject, name, value)?;
    }
    Ok(inject)
}

/// Check one body field and store it in `inject`.
fn apply_json_field(inject: &mut Inject, name: &str, value: &Value) -> Result<(), BadRequest> {
    match name {
        "ttl" => inject.ttl = json_integer(name, value, 0, MAX_TTL)?,
        "chaos" => inject.chaos = json_integer(name, value, 0, MAX_CHAOS)? as u16,
        "count" => inject.count = json_integer(name, value, 1, MAX_COUNT)? as u32,
        "route" => {
            inject.route = match value {
                Value::String(s) => check_route(s)?,
                other => return Err(route_error(&show(other))),
            }
        }
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
        unknown => {
            return Err(bad(format!(
                "unknown field {}; allowed fields: {BODY_FIELDS}",
                quote(unknown)
            )))
        }
    }
    Ok(())
}

/// A JSON integer within `min..=max`. Floats (even `5.0`), negatives, strings,
/// booleans and null are all refused: the API takes integers only.
fn json_integer(name: &str, value: &Value, min: u64, max: u64) -> Result<u64, BadRequest> {
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

fn route_error(got: &str) -> BadRequest {
    bad(format!(
        "route must be a string of 1-{MAX_ROUTE_LEN} characters of [a-z0-9_-], got {got}"
    ))
}

/// A route (link name): 1–64 characters of `[a-z0-9_-]`.
fn check_route(route: &str) -> Result<String, BadRequest> {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-';
    let len = route.chars().count();
    if (1..=MAX_ROUTE_LEN).contains(&len) && route.chars().all(allowed) {
        Ok(route.to_string())
    } else {
        Err(route_error(&quote(route)))
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
        "route" => inject.route = check_route(value)?,
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
fn quote(s: &str) -> String {
    let cut: String = s.chars().take(MAX_QUOTED_CHARS).collect();
    let quoted = Value::String(cut).to_string();
    if s.chars().count() > MAX_QUOTED_CHARS {
        format!("{quoted}…")
    } else {
        quoted
    }
}

/// A JSON value as compact JSON, cut short if long.
fn show(value: &Value) -> String {
    match value {
        Value::String(s) => quote(s),
        Value::Array(_) => "an array".to_string(),
        Value::Object(_) => "an object".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests;
