use crate::FileKind;
use serde::Serialize;

/// One file met during a scan (an attachment, an archive entry, an embedded object) and what it contains.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileReport {
    /// The name as given by the sender (decoded; may be empty, may be hostile: never use it as a path).
    pub name: String,
    /// Where the file sits in the message, as findings name it (`invoice.zip > macro.docm`); findings
    /// whose part is this or starts with it and ` > ` are about this file or what it holds.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub part: String,
    /// Content-Type the sender declared, when there was one.
    pub declared_type: Option<String>,
    /// What the bytes really are.
    pub detected_type: FileKind,
    /// Size in bytes, including any padding that was not kept in memory.
    pub size: u64,
    /// SHA-256 of the whole file, hex.
    pub sha256: String,
    /// Encrypted (password ZIP entry, encrypted Office, encrypted PDF ...).
    pub encrypted: bool,
    /// Files found inside (archive entries, embedded objects, decrypted payloads).
    pub children: Vec<FileReport>,
}

impl FileReport {
    /// A report for `data` with its hash and size filled in and nothing inspected yet.
    pub fn new(name: &str, declared_type: Option<&str>, kind: FileKind, data: &[u8]) -> Self {
        use sha2::Digest;
        FileReport {
            name: name.to_owned(),
            part: String::new(),
            declared_type: declared_type.map(str::to_owned),
            detected_type: kind,
            size: data.len() as u64,
            sha256: hex::encode(sha2::Sha256::digest(data)),
            encrypted: false,
            children: Vec::new(),
        }
    }

    /// Whether a finding located at `part` is about this file or something inside it.
    pub fn contains_part(&self, part: &str) -> bool {
        part.strip_prefix(self.part.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(" > "))
    }

    /// This file and everything inside it, depth first.
    pub fn walk(&self) -> Vec<&FileReport> {
        let mut out = vec![self];
        for c in &self.children {
            out.extend(c.walk());
        }
        out
    }
}
