//! The control component's HTTP API, as a client: `GET /status`,
//! `POST /packets`, and the check that it serves.

use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::time::Duration;

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(2))
        .timeout(Duration::from_secs(10))
        .build()
}

/// The body of an answer, whatever its status: (status, JSON).
fn call(req: ureq::Request, body: Option<&Value>) -> Result<(u16, Value)> {
    let url = req.url().to_string();
    let answer = match body {
        Some(b) => req.set("Content-Type", "application/json").send_string(&b.to_string()),
        None => req.call(),
    };
    let resp = match answer {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => bail!("{url} does not answer: {e}"),
    };
    let status = resp.status();
    let text = resp.into_string().with_context(|| format!("cannot read the answer of {url}"))?;
    let json = serde_json::from_str(&text).with_context(|| format!("{url} answered {status} with no JSON: {text}"))?;
    Ok((status, json))
}

/// The error text of a refused request (`{"error": "..."}`), or the body.
fn refusal(json: &Value) -> String {
    json.get("error").and_then(Value::as_str).map_or_else(|| json.to_string(), str::to_string)
}

pub fn status(http: &str) -> Result<Value> {
    let (code, json) = call(agent().get(&format!("{http}/status")), None)?;
    if code != 200 {
        bail!("GET {http}/status answered {code}: {}", refusal(&json));
    }
    Ok(json)
}

pub fn inject(http: &str, body: &Value) -> Result<Value> {
    let (code, json) = call(agent().post(&format!("{http}/packets")), Some(body))?;
    if code != 200 {
        bail!("POST {http}/packets answered {code}: {}", refusal(&json));
    }
    Ok(json)
}

/// Whether `POST /packets` works: an invalid body on purpose, answered 400
/// by a serving control component, so nothing is injected.
pub fn serves(http: &str) -> Result<()> {
    let (code, json) = call(agent().post(&format!("{http}/packets")), Some(&serde_json::json!({"ttl": -1})))?;
    if code != 400 {
        bail!("POST {http}/packets answered {code} to an invalid body (want 400): {json}");
    }
    Ok(())
}
