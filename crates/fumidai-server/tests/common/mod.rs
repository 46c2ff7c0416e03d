//! What the API's and the console's tests share: the server on a free port over a real store, a client, and
//! test mail from the corpus.
#![allow(dead_code)] // each test file uses its part

use std::sync::Arc;

use bytes::Bytes;
use fumidai_engine::{Config, Engine, Envelope};
use fumidai_server::{new_token, serve, ApiState};
use fumidai_store::{
    Direction, EventKind, QuarantineId, QuarantineMeta, Sample, SpringboardEvent, Store,
};
use http_body_util::{BodyExt, Full};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tokio::sync::oneshot;

pub const MACRO_MAIL: &str = "corpus/email/generated/emotet_style_autoexec_xlsm.eml";
pub const HOSTILE: &str = "<script>alert(1)</script>";

pub fn testdata(rel: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The macro mail with its subject replaced by markup.
pub fn hostile_macro_mail() -> Vec<u8> {
    let raw = String::from_utf8(testdata(MACRO_MAIL)).expect("the sample is ASCII");
    let replaced = raw.replacen(
        "Subject: RE: Updated price list",
        &format!("Subject: {HOSTILE}"),
        1,
    );
    assert_ne!(raw, replaced, "the sample's subject line");
    replaced.into_bytes()
}

/// The API served on a free port until dropped.
pub struct Api {
    pub base: String,
    pub client: Client<HttpConnector, Full<Bytes>>,
    pub store: Arc<dyn Store>,
    pub engine: Arc<Engine>,
    pub stop: Option<oneshot::Sender<()>>,
    pub served: tokio::task::JoinHandle<std::io::Result<()>>,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// An error answer's code, after checking its shape.
    pub fn error(&self) -> String {
        let body = self.json();
        assert!(body["message"].is_string(), "{body}");
        assert_eq!(
            self.headers.get(header::CONTENT_TYPE),
            Some(&HeaderValue::from_static("application/json"))
        );
        body["error"].as_str().expect("an error code").to_owned()
    }
}

impl Api {
    pub async fn start(store: Arc<dyn Store>, config: Config) -> Api {
        let engine = Arc::new(Engine::new(config).expect("engine"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let state = ApiState::new(engine.clone(), store.clone());
        let served = tokio::spawn(serve(listener, state, async {
            let _ = stopped.await;
        }));
        Api {
            base,
            client: Client::builder(TokioExecutor::new()).build_http(),
            store,
            engine,
            stop: Some(stop),
            served,
        }
    }

    /// Stops the server and waits until it has finished.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.served).await.unwrap().unwrap();
    }

    /// A new token with `scopes`, stored; returns its secret and id.
    pub async fn token(&self, scopes: &[&str]) -> (String, String) {
        let (secret, token) =
            new_token("api test", scopes, fumidai_core::unix_now()).expect("token");
        self.store.token_create(&token).await.expect("token_create");
        (secret, token.id)
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        secret: Option<&str>,
        body: Option<(&str, Vec<u8>)>,
    ) -> Answer {
        let bearer = secret.map(|s| format!("Bearer {s}"));
        let mut headers = Vec::new();
        if let Some(bearer) = &bearer {
            headers.push((header::AUTHORIZATION.as_str(), bearer.as_str()));
        }
        self.request_with(method, path, &headers, body).await
    }

    /// A request with these headers (and a body of its Content-Type).
    pub async fn request_with(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, Vec<u8>)>,
    ) -> Answer {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let body = match body {
            Some((content_type, bytes)) => {
                request = request.header(header::CONTENT_TYPE, content_type);
                Bytes::from(bytes)
            }
            None => Bytes::new(),
        };
        let response = self
            .client
            .request(request.body(Full::new(body)).unwrap())
            .await
            .expect("the server answers");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, secret: &str) -> Answer {
        self.request(Method::GET, path, Some(secret), None).await
    }

    pub async fn post_json(&self, path: &str, secret: &str, body: Value) -> Answer {
        self.request(
            Method::POST,
            path,
            Some(secret),
            Some(("application/json", body.to_string().into_bytes())),
        )
        .await
    }

    pub async fn delete(&self, path: &str, secret: &str) -> Answer {
        self.request(Method::DELETE, path, Some(secret), None).await
    }

    /// The audit log as (actor, action, target), newest first.
    pub async fn audit(&self, secret: &str) -> Vec<(String, String, String)> {
        let answer = self.get("/api/v1/audit", secret).await;
        assert_eq!(answer.status, StatusCode::OK);
        answer.json()["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|e| {
                (
                    e["actor"].as_str().unwrap().to_owned(),
                    e["action"].as_str().unwrap().to_owned(),
                    e["target"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }
}

/// Quarantines `raw` as the act stage does: its scan report, envelope and the original.
pub async fn quarantine(api: &Api, raw: &[u8], received_at: i64) -> String {
    let envelope = Envelope {
        mail_from: Some("ap@example.com".into()),
        rcpt_to: vec!["victim@example.org".into()],
    };
    let report = api.engine.scan(raw, &envelope).unwrap();
    let id = QuarantineId::generate(received_at);
    let meta = QuarantineMeta {
        id: id.clone(),
        received_at,
        direction: Direction::Inbound,
        mail_from: envelope.mail_from.clone(),
        rcpt_to: envelope.rcpt_to.clone(),
        from: report.from.clone(),
        subject: report.subject.clone(),
        message_id: report.message_id.clone(),
        verdict: report.verdict.as_str().to_owned(),
        score: report.score,
        action: "quarantine".into(),
        reason: "malicious".into(),
        findings: report.findings.iter().map(|f| f.id.to_owned()).collect(),
        report_json: serde_json::to_string(&report).unwrap(),
    };
    api.store
        .quarantine_put(&meta, Bytes::copy_from_slice(raw))
        .await
        .unwrap();
    id
}

/// Springboard event `n` of `organisation`: a sample with a markup subject.
pub fn event(n: u32, organisation: &str, observed_at: i64) -> SpringboardEvent {
    SpringboardEvent {
        id: format!("{:064x}", u64::from(n) * 7919),
        site: "site-a".into(),
        kind: EventKind::Springboard,
        organisation: organisation.into(),
        observed_at,
        verdict: "malicious".into(),
        score: 12.0,
        sample: Sample {
            message_id: Some(format!("<{n}@mail.{organisation}>")),
            source_ip: Some("192.0.2.7".into()),
            subject: Some(HOSTILE.into()),
            ..Sample::default()
        },
    }
}
