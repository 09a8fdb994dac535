//! Which endpoint a method and path select, with no wasm imports.

/// An endpoint this component serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /packets`: inject `count` packets described by a JSON body.
    PostPackets,
    /// `GET /?ttl=&chaos=&route=`: inject one packet (the original demo's API).
    GetRoot,
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
pub fn resolve(method: &str, path: &str) -> Result<Endpoint, Refusal> {
    let (endpoint, allow) = match path {
        "/packets" => (Endpoint::PostPackets, "POST"),
        "/" => (Endpoint::GetRoot, "GET"),
        other => {
            return Err(Refusal::NotFound {
                message: format!("no such path: {other}"),
            })
        }
    };
    if method == allow {
        Ok(endpoint)
    } else {
        Err(Refusal::MethodNotAllowed {
            allow,
            message: format!("method {method} not allowed on {path}; use {allow}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_paths_with_their_method() {
        assert_eq!(resolve("POST", "/packets"), Ok(Endpoint::PostPackets));
        assert_eq!(resolve("GET", "/"), Ok(Endpoint::GetRoot));
    }

    #[test]
    fn unknown_path_is_404_naming_it() {
        let refusal = resolve("GET", "/x").unwrap_err();
        assert_eq!(refusal.status(), 404);
        assert_eq!(refusal.message(), "no such path: /x");
        assert_eq!(resolve("POST", "/packets/").unwrap_err().status(), 404);
        assert_eq!(
            resolve("GET", "/chaos").unwrap_err().message(),
            "no such path: /chaos"
        );
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
}
