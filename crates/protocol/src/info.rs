//! JSON bodies of INFO (server to client) and CONNECT (client to server).

use serde::{Deserialize, Serialize};

fn is_false(b: &bool) -> bool {
    !*b
}

/// The INFO a server sends. Field names and omission rules follow nats-server 2.9.10.
/// Deserialising tolerates missing and unknown fields, so nats-server's own INFO parses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerInfo {
    pub server_id: String,
    pub server_name: String,
    /// The nats-server version whose protocol this server implements.
    pub version: String,
    pub proto: i32,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub git_commit: String,
    pub go: String,
    pub host: String,
    pub port: u16,
    pub headers: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub auth_required: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub tls_required: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub tls_verify: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub tls_available: bool,
    pub max_payload: usize,
    #[serde(skip_serializing_if = "is_false")]
    pub jetstream: bool,
    pub client_id: u64,
    pub client_ip: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub connect_urls: Vec<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub ldm: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xkey: Option<String>,
    /// Weir's own version, reported beside the nats-server `version` it implements.
    pub weir_version: String,
}

/// The options a client sends in CONNECT. Unknown fields are ignored.
///
/// Absent fields take nats-server's defaults, which are not all `false`: a client that
/// omits `verbose`, `pedantic` or `echo` gets `true` for each (nats-server decodes CONNECT
/// over `{verbose: true, pedantic: true, echo: true}`; verified against 2.9.10, where
/// `CONNECT {}` is answered with `+OK`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConnectInfo {
    pub verbose: bool,
    pub pedantic: bool,
    pub tls_required: bool,
    pub auth_token: Option<String>,
    pub user: Option<String>,
    pub pass: Option<String>,
    pub name: Option<String>,
    pub lang: Option<String>,
    pub version: Option<String>,
    pub protocol: i32,
    pub echo: bool,
    pub sig: Option<String>,
    pub jwt: Option<String>,
    pub nkey: Option<String>,
    pub no_responders: bool,
    pub headers: bool,
}

impl Default for ConnectInfo {
    fn default() -> Self {
        ConnectInfo {
            verbose: true,
            pedantic: true,
            tls_required: false,
            auth_token: None,
            user: None,
            pass: None,
            name: None,
            lang: None,
            version: None,
            protocol: 0,
            echo: true,
            sig: None,
            jwt: None,
            nkey: None,
            no_responders: false,
            headers: false,
        }
    }
}

impl ConnectInfo {
    /// Decodes the JSON carried by `ClientOp::Connect`. nats-server closes the connection
    /// without an `-ERR` when this fails.
    pub fn parse(json: &[u8]) -> Result<ConnectInfo, serde_json::Error> {
        serde_json::from_slice(json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_defaults_follow_nats_server() {
        let c = ConnectInfo::parse(b"{}").expect("empty object is valid");
        assert!(c.verbose && c.pedantic && c.echo);
        assert!(!c.headers && !c.no_responders && !c.tls_required);
        assert_eq!(c.name, None);
    }

    #[test]
    fn connect_typical_client() {
        let json = br#"{"verbose":false,"pedantic":false,"tls_required":false,"name":"svc",
            "lang":"rust","version":"0.33.0","protocol":1,"echo":false,"headers":true,
            "no_responders":true,"user":"u","pass":"p","unknown_field":[1,2]}"#;
        let c = ConnectInfo::parse(json).expect("valid");
        assert!(!c.verbose && !c.pedantic && !c.echo);
        assert!(c.headers && c.no_responders);
        assert_eq!(c.protocol, 1);
        assert_eq!(c.name.as_deref(), Some("svc"));
        assert_eq!(c.lang.as_deref(), Some("rust"));
        assert_eq!(
            (c.user.as_deref(), c.pass.as_deref()),
            (Some("u"), Some("p"))
        );
        let c = ConnectInfo::parse(br#"{"auth_token":"t","jwt":"j","nkey":"n","sig":"s"}"#)
            .expect("valid");
        assert_eq!(c.auth_token.as_deref(), Some("t"));
        assert_eq!(
            (c.jwt.as_deref(), c.nkey.as_deref(), c.sig.as_deref()),
            (Some("j"), Some("n"), Some("s"))
        );
    }

    #[test]
    fn connect_rejects_non_json() {
        assert!(ConnectInfo::parse(b"notjson").is_err());
        assert!(ConnectInfo::parse(b"").is_err());
        assert!(ConnectInfo::parse(br#"{"verbose":"yes"}"#).is_err());
    }

    #[test]
    fn info_omits_unset_optional_fields() {
        let info = ServerInfo {
            server_id: "id".into(),
            ..ServerInfo::default()
        };
        let json = serde_json::to_string(&info).expect("serialises");
        for absent in [
            "auth_required",
            "tls_required",
            "tls_verify",
            "tls_available",
            "jetstream",
            "nonce",
            "ldm",
            "connect_urls",
            "git_commit",
            "domain",
            "xkey",
        ] {
            assert!(!json.contains(absent), "{absent} in {json}");
        }
        for present in [
            "server_id",
            "version",
            "proto",
            "headers",
            "max_payload",
            "weir_version",
        ] {
            assert!(json.contains(present), "{present} missing from {json}");
        }
    }

    #[test]
    fn info_emits_set_optional_fields() {
        let info = ServerInfo {
            auth_required: true,
            nonce: Some("n".into()),
            connect_urls: vec!["127.0.0.1:4222".into()],
            ldm: true,
            ..ServerInfo::default()
        };
        let json = serde_json::to_string(&info).expect("serialises");
        assert!(json.contains(r#""auth_required":true"#));
        assert!(json.contains(r#""nonce":"n""#));
        assert!(json.contains(r#""connect_urls":["127.0.0.1:4222"]"#));
        assert!(json.contains(r#""ldm":true"#));
    }

    #[test]
    fn info_from_nats_server_parses() {
        // Captured from nats-server 2.9.10.
        let json = br#"{"server_id":"NDYL","server_name":"NDYL","version":"2.9.10","proto":1,"go":"go1.19.8","host":"127.0.0.1","port":14222,"headers":true,"max_payload":1048576,"client_id":145,"client_ip":"127.0.0.1"}"#;
        let info: ServerInfo = serde_json::from_slice(json).expect("parses");
        assert_eq!(info.version, "2.9.10");
        assert_eq!(info.port, 14222);
        assert_eq!(info.client_id, 145);
        assert!(info.headers);
        assert_eq!(info.weir_version, "");
    }
}
