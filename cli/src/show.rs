//! `lwc status` and `lwc inject`: the ring as tables (or JSON), and
//! packets in.

use anyhow::Result;
use serde_json::{json, Value};

use crate::args::InjectArgs;
use crate::ctx::Ctx;

pub fn status(ctx: &Ctx, as_json: bool) -> Result<i32> {
    let env = ctx.require_ring()?;
    // One entry per host (packed hosts share a pid), then the servers.
    let servers = ctx.running_all().into_iter().filter(|p| crate::nats::is_server_name(&p.name));
    let procs: Vec<Value> = ctx
        .running_hosts()
        .into_iter()
        .chain(servers)
        .map(|p| json!({"name": p.name, "pid": p.pid}))
        .collect();
    let api = if env.http.is_empty() {
        Err(anyhow::anyhow!("the manifest has no HTTP component"))
    } else {
        crate::api::status(&env.http)
    };
    if as_json {
        let out = json!({
            "dir": ctx.state.dir,
            "http": env.http,
            "lattice": env.lattice,
            "nats_url": env.nats_url,
            "processes": procs,
            "status": api.as_ref().ok(),
            "error": api.as_ref().err().map(|e| format!("{e:#}")),
        });
        println!("{out}");
        return Ok(if api.is_ok() { 0 } else { 1 });
    }
    println!("ring {}  ({})", env.describe(), ctx.state.dir.display());
    match api {
        Ok(status) => {
            print!("{}", render(&status, &procs));
            Ok(0)
        }
        Err(e) => {
            let names: Vec<String> = procs.iter().map(|p| format!("{} {}", p["name"], p["pid"])).collect();
            println!("processes: {}", names.join(", "));
            eprintln!("lwc: error: {e:#}");
            Ok(1)
        }
    }
}

/// The tables of `lwc status` from the JSON of `GET /status`.
pub fn render(status: &Value, procs: &[Value]) -> String {
    let pid_of = |h: &str| {
        procs
            .iter()
            .find(|p| p["name"] == h)
            .map_or("-".to_string(), |p| p["pid"].to_string())
    };
    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    let mut rows = vec![vec!["HOST".into(), "PID".into(), "UP".into(), "COMPONENTS".into(), "INVOCATIONS".into(), "TRAPS".into()]];
    for h in status["hosts"].as_array().into_iter().flatten() {
        let name = text(&h["host"]);
        let comps: Vec<String> = h["components"].as_array().into_iter().flatten().map(text).collect();
        rows.push(vec![
            pid_of(&name),
            if h["up"] == true { "up".into() } else { "DOWN".into() },
            comps.join(","),
            h["counters"]["invocations"].as_u64().map_or("-".into(), |n| n.to_string()),
            h["counters"]["trap"].as_u64().map_or("-".into(), |n| n.to_string()),
        ]);
        let last = rows.len() - 1;
        rows[last].insert(0, name);
    }
    let mut out = table(&rows);
    let mut links = vec![vec!["LINK SOURCE".into(), "NAME".into(), "TARGET".into()]];
    for l in status["links"].as_array().into_iter().flatten() {
        links.push(vec![text(&l["source"]), text(&l["name"]), text(&l["target"])]);
    }
    out.push('\n');
    out.push_str(&table(&links));
    let ledger = &status["ledger"];
    let lost: Vec<String> = ledger["lost"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(r, n)| format!("{r} {n}"))
        .collect();
    out.push_str(&format!(
        "\nledger: injected {}  expired {}  lost {}{}  in flight {}\n",
        ledger["injected"],
        ledger["expired"],
        ledger["lost_total"],
        if lost.is_empty() { String::new() } else { format!(" ({})", lost.join(", ")) },
        ledger["in_flight"]
    ));
    out
}

/// Left-aligned columns, two spaces apart.
fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in rows {
        let cells: Vec<String> = r.iter().enumerate().map(|(i, s)| format!("{s:<w$}", w = widths[i])).collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

pub fn inject(ctx: &Ctx, args: &InjectArgs) -> Result<i32> {
    let env = ctx.require_ring()?;
    if env.http.is_empty() {
        anyhow::bail!("this ring has no HTTP API (its manifest has no component with `http`)");
    }
    let mut body = serde_json::Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            body.insert(k.into(), v);
        }
    };
    put("ttl", args.ttl.map(Value::from));
    put("count", args.count.map(Value::from));
    put("route", args.route.clone().map(Value::from));
    put("chaos", args.chaos.map(Value::from));
    put("trace", args.trace.then_some(Value::Bool(true)));
    let answer = crate::api::inject(&env.http, &Value::Object(body))?;
    println!("{answer}");
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_hosts_links_and_the_ledger() {
        let status = json!({
            "hosts": [{"host": "north", "up": true, "components": ["north"], "counters": {"invocations": 7, "trap": 1}},
                      {"host": "west", "up": false}],
            "links": [{"source": "north", "name": "default", "target": "west"}],
            "ledger": {"injected": 5, "expired": 4, "lost": {"unreachable": 1}, "lost_total": 1, "in_flight": 0},
        });
        let out = render(&status, &[json!({"name": "north", "pid": 42})]);
        assert!(out.contains("north  42   up    north"), "{out}");
        assert!(out.contains("west   -    DOWN"), "{out}");
        assert!(out.contains("north        default  west"), "{out}");
        assert!(out.contains("injected 5  expired 4  lost 1 (unreachable 1)  in flight 0"), "{out}");
    }
}
