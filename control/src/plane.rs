//! The control-plane endpoints' bodies and answers (`/chaos`, `/links`), with
//! no wasm imports.
//!
//! Bodies go through the same machinery as `POST /packets`
//! ([`crate::request::parse_object`]): every field is checked, in the order
//! sent, before anything reaches the host, and every failure is a
//! [`BadRequest`] naming the field.
//!
//! The types here mirror the `wasmcloud:lwc/control-plane` records so that the
//! validation and the JSON shapes can be tested natively; the component
//! converts them to and from the generated bindings.

use serde::Serialize;
use serde_json::Value;

use crate::request::{
    bad, is_name, json_integer, json_name, missing_field, parse_object, quote, show, unknown_field,
    BadRequest, MAX_NAME_LEN,
};

/// Largest `trap` and `drop` (percentages).
pub const MAX_PERCENT: u64 = 100;
/// Largest `delay_ms` and `jitter_ms`: one minute.
pub const MAX_DELAY_MS: u64 = 60_000;
/// Largest `down_s`: one hour.
pub const MAX_DOWN_S: u64 = 3_600;
/// The `host` of a `PUT /chaos` that applies to every host.
pub const ALL_HOSTS: &str = "*";

const CHAOS_FIELDS: &str = "host, trap, delay_ms, jitter_ms, drop, down_s";
const PUT_LINK_FIELDS: &str = "source, name, target";
const DELETE_LINK_FIELDS: &str = "source, name, target (optional, ignored)";

/// One host's chaos settings, as `GET /chaos` lists them (field order is the
/// JSON order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostChaos {
    pub host: String,
    pub trap: u8,
    pub delay_ms: u32,
    pub jitter_ms: u32,
    pub drop: u8,
    pub down_s: u32,
}

/// A change to chaos: `None` keeps the current value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChaosPatch {
    pub trap: Option<u8>,
    pub delay_ms: Option<u32>,
    pub jitter_ms: Option<u32>,
    pub drop: Option<u8>,
    pub down_s: Option<u32>,
}

/// A validated `PUT /chaos`: `host` is a host name or [`ALL_HOSTS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetChaos {
    pub host: String,
    pub patch: ChaosPatch,
}

/// A link: `source`'s calls on link `name` go to `target`. Also a validated
/// `PUT /links`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    pub source: String,
    pub name: String,
    pub target: String,
}

/// A validated `DELETE /links`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteLink {
    pub source: String,
    pub name: String,
}

/// A refusal by the host (the `ctl-error` variant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CtlError {
    /// The request names something that does not exist: 400.
    BadRequest(String),
    /// The lattice did not confirm the change in time: 503.
    Unavailable(String),
    /// The request conflicts with what runs (a second load): 409.
    Conflict(String),
}

impl CtlError {
    /// The HTTP status of this refusal.
    pub fn status(&self) -> u16 {
        match self {
            CtlError::BadRequest(_) => 400,
            CtlError::Unavailable(_) => 503,
            CtlError::Conflict(_) => 409,
        }
    }

    /// The message for the `{"error":…}` body.
    pub fn message(&self) -> &str {
        match self {
            CtlError::BadRequest(message)
            | CtlError::Unavailable(message)
            | CtlError::Conflict(message) => message,
        }
    }
}

// ---------------------------------------------------------------------------
// Bodies
// ---------------------------------------------------------------------------

/// Parse a `PUT /chaos` body: `host` required, every other field optional.
pub fn parse_set_chaos(body: &[u8]) -> Result<SetChaos, BadRequest> {
    let mut host = None;
    let mut patch = ChaosPatch::default();
    for (name, value) in &parse_object(body)? {
        match name.as_str() {
            "host" => host = Some(json_host(value)?),
            "trap" => patch.trap = Some(json_integer(name, value, 0, MAX_PERCENT)? as u8),
            "drop" => patch.drop = Some(json_integer(name, value, 0, MAX_PERCENT)? as u8),
            "delay_ms" => patch.delay_ms = Some(json_integer(name, value, 0, MAX_DELAY_MS)? as u32),
            "jitter_ms" => {
                patch.jitter_ms = Some(json_integer(name, value, 0, MAX_DELAY_MS)? as u32)
            }
            "down_s" => patch.down_s = Some(json_integer(name, value, 0, MAX_DOWN_S)? as u32),
            unknown => return Err(unknown_field(unknown, CHAOS_FIELDS)),
        }
    }
    Ok(SetChaos {
        host: host.ok_or_else(|| missing_field("host"))?,
        patch,
    })
}

/// `host`: [`ALL_HOSTS`] or a host name.
fn json_host(value: &Value) -> Result<String, BadRequest> {
    let got = match value {
        Value::String(s) if s == ALL_HOSTS || is_name(s) => return Ok(s.clone()),
        Value::String(s) => quote(s),
        other => show(other),
    };
    Err(bad(format!(
        "host must be \"{ALL_HOSTS}\" (every host) or a string of 1-{MAX_NAME_LEN} \
         characters of [a-z0-9_-], got {got}"
    )))
}

/// Parse a `PUT /links` body: `source`, `name` and `target`, all required.
pub fn parse_put_link(body: &[u8]) -> Result<Link, BadRequest> {
    let [source, name, target] = link_fields(body, PUT_LINK_FIELDS)?;
    Ok(Link {
        source: source.ok_or_else(|| missing_field("source"))?,
        name: name.ok_or_else(|| missing_field("name"))?,
        target: target.ok_or_else(|| missing_field("target"))?,
    })
}

/// Parse a `DELETE /links` body: `source` and `name` required; `target` may
/// be given (it is checked like any name, then ignored: a link is identified by
/// its source and name).
pub fn parse_delete_link(body: &[u8]) -> Result<DeleteLink, BadRequest> {
    let [source, name, _target] = link_fields(body, DELETE_LINK_FIELDS)?;
    Ok(DeleteLink {
        source: source.ok_or_else(|| missing_field("source"))?,
        name: name.ok_or_else(|| missing_field("name"))?,
    })
}

/// The `source`, `name` and `target` fields of a link body, each checked as a
/// name; `allowed` lists them for the unknown-field message.
fn link_fields(body: &[u8], allowed: &str) -> Result<[Option<String>; 3], BadRequest> {
    let mut found = [None, None, None];
    for (field, value) in &parse_object(body)? {
        let slot = match field.as_str() {
            "source" => 0,
            "name" => 1,
            "target" => 2,
            unknown => return Err(unknown_field(unknown, allowed)),
        };
        found[slot] = Some(json_name(field, value)?);
    }
    Ok(found)
}

// ---------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------

/// The `200` answer of `GET /chaos` and `PUT /chaos`: `{"chaos":[…]}`.
pub fn chaos_answer(hosts: &[HostChaos]) -> String {
    #[derive(Serialize)]
    struct Answer<'a> {
        chaos: &'a [HostChaos],
    }
    serde_json::to_string(&Answer { chaos: hosts }).expect("chaos serializes")
}

/// The `200` answer of `GET`, `PUT` and `DELETE /links`: `{"links":[…]}`.
pub fn links_answer(links: &[Link]) -> String {
    #[derive(Serialize)]
    struct Answer<'a> {
        links: &'a [Link],
    }
    serde_json::to_string(&Answer { links }).expect("links serialize")
}

#[cfg(test)]
mod tests;
