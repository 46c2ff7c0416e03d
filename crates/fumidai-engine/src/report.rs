//! What a scan says about one message.

use fumidai_core::{FileReport, Finding, Verdict};
use serde::Serialize;

/// One message's result; serialises to the documented JSON line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessageReport {
    /// Where the message came from (file, `mbox#N`), set by the front end.
    pub path: Option<String>,
    pub message_id: Option<String>,
    /// The Message-IDs of In-Reply-To and References, as written (without angle brackets).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    pub subject: Option<String>,
    /// The header From address (what the recipient sees as the sender).
    pub from: Option<String>,
    /// The To and Cc addresses, in order, without repeats.
    pub recipients: Vec<String>,
    /// The Date header in Unix seconds, when it parses.
    pub date: Option<i64>,
    pub verdict: Verdict,
    pub score: f64,
    pub findings: Vec<Finding>,
    pub attachments: Vec<FileReport>,
    /// Links in the message body (text and HTML).
    pub links: usize,
    pub elapsed_us: u64,
}

impl MessageReport {
    /// Whether a finding with this id was raised anywhere in the message.
    pub fn has(&self, id: &str) -> bool {
        self.findings.iter().any(|f| f.id == id)
    }
}
