//! A node's side of the collector: events recorded with `outbox` wait in the node's own store until the collector
//! has answered 200 for them, so a collector that is down or unreachable loses nothing; the next drain sends them.
//! The collector counts each event id once, so a batch sent again after a lost answer does no harm.

use std::time::Duration;

use axum::body::Bytes;
use fumidai_store::{Store, StoreError};
use http_body_util::{BodyExt, Full};
use hyper::{Request, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::collector::MAX_BATCH;

/// One request to the collector, answer included, at most this long.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error("collector URL {0:?}: {1}")]
    BadUrl(String, String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("collector {url}: {problem}")]
    Collector { url: String, problem: String },
}

/// Sends a node's outbox to its collector.
pub struct Forwarder {
    url: Uri,
    token: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Forwarder {
    /// `url`: the collector's events URL (`http://host:port/api/v1/events`). Plain HTTP only: TLS belongs to a
    /// reverse proxy in front of the collector.
    pub fn new(url: &str, token: &str) -> Result<Forwarder, ForwardError> {
        let bad = |why: &str| ForwardError::BadUrl(url.to_owned(), why.to_owned());
        let uri: Uri = url
            .parse()
            .map_err(|e: hyper::http::uri::InvalidUri| bad(&e.to_string()))?;
        if uri.scheme_str() != Some("http") || uri.host().is_none() {
            return Err(bad("expected http://host[:port]/path"));
        }
        Ok(Forwarder {
            url: uri,
            token: token.to_owned(),
            client: Client::builder(TokioExecutor::new()).build_http(),
        })
    }

    /// Sends the outbox in batches until it is empty, taking each batch out once the collector answered 200.
    /// Returns how many events were forwarded; on an error, those sent before it stay forwarded.
    pub async fn drain(&self, store: &dyn Store) -> Result<usize, ForwardError> {
        let mut sent = 0;
        loop {
            let events = store.events_outbox(MAX_BATCH as u32).await?;
            if events.is_empty() {
                return Ok(sent);
            }
            let body = serde_json::to_vec(&events).map_err(|e| self.error(e.to_string()))?;
            self.post(body).await?;
            let ids: Vec<String> = events.into_iter().map(|e| e.id).collect();
            store.events_forwarded(&ids).await?;
            sent += ids.len();
        }
    }

    async fn post(&self, body: Vec<u8>) -> Result<(), ForwardError> {
        let request = Request::post(self.url.clone())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(
                hyper::header::AUTHORIZATION,
                format!("Bearer {}", self.token),
            )
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| self.error(e.to_string()))?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| self.error(format!("cannot connect: {e}")))?;
            let status = response.status();
            let answer = response
                .into_body()
                .collect()
                .await
                .map_err(|e| self.error(e.to_string()))?
                .to_bytes();
            if status.is_success() {
                Ok(())
            } else {
                let answer = String::from_utf8_lossy(&answer[..answer.len().min(500)]).into_owned();
                Err(self.error(format!("answered {status}: {answer}")))
            }
        };
        tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| self.error(format!("no answer within {REQUEST_TIMEOUT:?}")))?
    }

    fn error(&self, problem: String) -> ForwardError {
        ForwardError::Collector {
            url: self.url.to_string(),
            problem,
        }
    }
}
