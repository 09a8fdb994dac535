//! Which endpoint a method and path select, with no wasm imports.

/// An endpoint this component serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /packets`: inject `count` packets described by a JSON body.
    PostPackets,
    /// `GET /?ttl=&chaos=&route=`: inject one packet (the original demo's API).
    GetRoot,
    /// `GET /chaos`: every host's chaos settings.
    GetChaos,
    /// `PUT /chaos`: change one host's chaos (or every host's, with `*`).
    PutChaos,
    /// `GET /links`: the link table.
    GetLinks,
    /// `PUT /links`: add or repoint a link.
    PutLinks,
    /// `DELETE /links`: remove a link.
    DeleteLinks,
    /// `GET /status`: hosts, components, links and ledger counters.
    GetStatus,
    /// `POST /load`: start steady injection on the control host.
    PostLoad,
    /// `GET /load`: the running load and the last one that ended.
    GetLoad,
    /// `DELETE /load`: stop the running load.
    DeleteLoad,
}

impl Endpoint {
    /// Whether the endpoint reads the request body (the others ignore it and
    /// never read it, so a GET with a body is fine).
    pub fn reads_body(self) -> bool {
        matches!(
            self,
            Endpoint::PostPackets
                | Endpoint::PutChaos
                | Endpoint::PutLinks
                | Endpoint::DeleteLinks
                | Endpoint::PostLoad
        )
    }
}

/// Each path: the value of the `allow` header, and its methods.
fn methods(path: &str) -> Option<(&'static str, &'static [(&'static str, Endpoint)])> {
    Some(match path {
        "/packets" => ("POST", &[("POST", Endpoint::PostPackets)]),
        "/" => ("GET", &[("GET", Endpoint::GetRoot)]),
        "/chaos" => (
            "GET, PUT",
            &[("GET", Endpoint::GetChaos), ("PUT", Endpoint::PutChaos)],
        ),
        "/links" => (
            "GET, PUT, DELETE",
            &[
                ("GET", Endpoint::GetLinks),
                ("PUT", Endpoint::PutLinks),
                ("DELETE", Endpoint::DeleteLinks),
            ],
        ),
        "/status" => ("GET", &[("GET", Endpoint::GetStatus)]),
        "/load" => (
            "GET, POST, DELETE",
            &[
                ("GET", Endpoint::GetLoad),
                ("POST", Endpoint::PostLoad),
                ("DELETE", Endpoint::DeleteLoad),
            ],
        ),
        _ => return None,
    })
}

/// Why a request selects no endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 404: no endpoint at this path.
    NotFound { message: String },
    /// 405: the path exists but not with this method; `allow` is the method
    /// that does work there (for the `allow` header).
    MethodNotAllowed {
        allow: &'static str,
        message: String,
    },
}

impl Refusal {
    /// The HTTP status of this refusal.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::NotFound { .. } => 404,
            Refusal::MethodNotAllowed { .. } => 405,
        }
    }

    /// The message for the `{"error":…}` body.
    pub fn message(&self) -> &str {
        match self {
            Refusal::NotFound { message } | Refusal::MethodNotAllowed { message, .. } => message,
        }
    }
}

/// Select the endpoint for `method` (e.g. `"POST"`) and `path` (no query).
/// Methods and paths match exactly (`/chaos/` is not `/chaos`).
pub fn resolve(method: &str, path: &str) -> Result<Endpoint, Refusal> {
    let Some((allow, methods)) = methods(path) else {
        return Err(Refusal::NotFound {
            message: format!("no such path: {path}"),
        });
    };
    match methods.iter().find(|(m, _)| *m == method) {
        Some(&(_, endpoint)) => Ok(endpoint),
        None => {
            let names: Vec<&str> = methods.iter().map(|(m, _)| *m).collect();
            let usable = match names.split_last() {
                Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
                _ => names.join(""),
            };
            Err(Refusal::MethodNotAllowed {
                allow,
                message: format!("method {method} not allowed on {path}; use {usable}"),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_paths_with_their_method() {
        for (method, path, endpoint) in [
            ("POST", "/packets", Endpoint::PostPackets),
            ("GET", "/", Endpoint::GetRoot),
            ("GET", "/chaos", Endpoint::GetChaos),
            ("PUT", "/chaos", Endpoint::PutChaos),
            ("GET", "/links", Endpoint::GetLinks),
            ("PUT", "/links", Endpoint::PutLinks),
            ("DELETE", "/links", Endpoint::DeleteLinks),
            ("GET", "/status", Endpoint::GetStatus),
            ("POST", "/load", Endpoint::PostLoad),
            ("GET", "/load", Endpoint::GetLoad),
            ("DELETE", "/load", Endpoint::DeleteLoad),
        ] {
            assert_eq!(resolve(method, path), Ok(endpoint), "{method} {path}");
        }
    }

    #[test]
    fn only_writes_read_the_body() {
        for endpoint in [
            Endpoint::PostPackets,
            Endpoint::PutChaos,
            Endpoint::PutLinks,
            Endpoint::DeleteLinks,
            Endpoint::PostLoad,
        ] {
            assert!(endpoint.reads_body(), "{endpoint:?}");
        }
        for endpoint in [
            Endpoint::GetRoot,
            Endpoint::GetChaos,
            Endpoint::GetLinks,
            Endpoint::GetStatus,
            Endpoint::GetLoad,
            Endpoint::DeleteLoad,
        ] {
            assert!(!endpoint.reads_body(), "{endpoint:?}");
        }
    }

    #[test]
    fn unknown_path_is_404_naming_it() {
        let refusal = resolve("GET", "/x").unwrap_err();
        assert_eq!(refusal.status(), 404);
        assert_eq!(refusal.message(), "no such path: /x");
        for path in [
            "/packets/",
            "/chaos/",
            "/chaos/north",
            "/Chaos",
            "/links/x",
            "/status/",
            "/link",
            "",
            "//",
        ] {
            assert_eq!(resolve("GET", path).unwrap_err().status(), 404, "{path:?}");
            assert_eq!(resolve("PUT", path).unwrap_err().status(), 404, "{path:?}");
        }
    }

    #[test]
    fn wrong_method_is_405_with_allow() {
        let refusal = resolve("GET", "/packets").unwrap_err();
        assert_eq!(refusal.status(), 405);
        assert_eq!(
            refusal.message(),
            "method GET not allowed on /packets; use POST"
        );
        assert!(matches!(
            refusal,
            Refusal::MethodNotAllowed { allow: "POST", .. }
        ));
        for method in ["POST", "PUT", "DELETE", "HEAD"] {
            assert_eq!(
                resolve(method, "/").unwrap_err().status(),
                405,
                "{method} /"
            );
        }
        assert_eq!(resolve("PUT", "/packets").unwrap_err().status(), 405);
    }

    #[test]
    fn wrong_method_on_control_plane_paths() {
        for (method, path, allow, message) in [
            (
                "POST",
                "/chaos",
                "GET, PUT",
                "method POST not allowed on /chaos; use GET or PUT",
            ),
            (
                "DELETE",
                "/chaos",
                "GET, PUT",
                "method DELETE not allowed on /chaos; use GET or PUT",
            ),
            (
                "POST",
                "/links",
                "GET, PUT, DELETE",
                "method POST not allowed on /links; use GET, PUT or DELETE",
            ),
            (
                "PATCH",
                "/links",
                "GET, PUT, DELETE",
                "method PATCH not allowed on /links; use GET, PUT or DELETE",
            ),
            (
                "PUT",
                "/status",
                "GET",
                "method PUT not allowed on /status; use GET",
            ),
            (
                "PUT",
                "/load",
                "GET, POST, DELETE",
                "method PUT not allowed on /load; use GET, POST or DELETE",
            ),
            (
                "HEAD",
                "/status",
                "GET",
                "method HEAD not allowed on /status; use GET",
            ),
            (
                "get",
                "/chaos",
                "GET, PUT",
                "method get not allowed on /chaos; use GET or PUT",
            ),
        ] {
            let refusal = resolve(method, path).unwrap_err();
            assert_eq!(refusal.status(), 405, "{method} {path}");
            assert_eq!(refusal.message(), message);
            match refusal {
                Refusal::MethodNotAllowed { allow: got, .. } => assert_eq!(got, allow),
                other => panic!("{method} {path}: {other:?}"),
            }
        }
    }
}
