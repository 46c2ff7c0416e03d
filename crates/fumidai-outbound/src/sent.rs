//! Sent Message-IDs: remembered for delivered outbound mail, then asked about by inbound replies (a reply to
//! our mail from an organisation we never sent it to is a stolen thread).

use fumidai_core::Finding;
use fumidai_store::{
    registrable_domain_of, registrable_domain_of_address, SentMessage, Store, StoreError,
};

use crate::findings::HIJACKED_REPLY_REFERENCE;

/// Recipient domains kept per sent message.
const MAX_RECIPIENT_DOMAINS: usize = 50;

/// The record of a delivered outbound message; `None` without a Message-ID.
pub fn sent_message(
    message_id: Option<&str>,
    account: &str,
    recipients: &[String],
    at: i64,
) -> Option<SentMessage> {
    let message_id = bare_id(message_id?)?;
    let mut recipient_domains: Vec<String> = Vec::new();
    for domain in recipients
        .iter()
        .filter_map(|r| registrable_domain_of_address(r))
    {
        if recipient_domains.len() < MAX_RECIPIENT_DOMAINS && !recipient_domains.contains(&domain) {
            recipient_domains.push(domain);
        }
    }
    Some(SentMessage {
        message_id,
        account: account.to_owned(),
        sent_at: at,
        recipient_domains,
    })
}

/// A Message-ID without its angle brackets and space; `None` when nothing is left.
pub fn bare_id(id: &str) -> Option<String> {
    let id = id
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    (!id.is_empty()).then(|| id.to_owned())
}

/// `HIJACKED_REPLY_REFERENCE` when the message references (In-Reply-To, References) mail we sent, and its
/// sender's organisation is neither ours nor one we sent any of that mail to.
pub async fn check_references(
    store: &dyn Store,
    references: &[String],
    from: Option<&str>,
    own_domains: &[String],
) -> Result<Option<Finding>, StoreError> {
    let Some(from_domain) = from.and_then(registrable_domain_of_address) else {
        return Ok(None);
    };
    if references.is_empty() || is_own(&from_domain, own_domains) {
        return Ok(None);
    }
    let sent = store.sent_lookup(references).await?;
    if sent.is_empty()
        || sent
            .iter()
            .any(|s| s.recipient_domains.contains(&from_domain))
    {
        return Ok(None);
    }
    let first = &sent[0];
    Ok(Some(Finding {
        id: HIJACKED_REPLY_REFERENCE.id,
        score: HIJACKED_REPLY_REFERENCE.score,
        part: "headers".into(),
        detail: format!(
            "references <{}>, which {} sent to {}; this reply comes from {from_domain}",
            first.message_id,
            first.account,
            if first.recipient_domains.is_empty() {
                "nobody outside".to_owned()
            } else {
                first.recipient_domains.join(", ")
            }
        ),
    }))
}

/// Whether `domain` (registrable) is one of ours.
pub fn is_own(domain: &str, own_domains: &[String]) -> bool {
    own_domains
        .iter()
        .filter_map(|d| registrable_domain_of(d))
        .any(|d| d == domain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sent_message_keeps_each_registrable_domain_once() {
        let recipients = [
            "a@mail.partner.co.jp".to_owned(),
            "b@partner.co.jp".to_owned(),
            "<c@other.example>".to_owned(),
            "not-an-address".to_owned(),
        ];
        let sent = sent_message(Some(" <id-1@example.jp> "), "taro", &recipients, 7).unwrap();
        assert_eq!(sent.message_id, "id-1@example.jp");
        assert_eq!(sent.recipient_domains, ["partner.co.jp", "other.example"]);
        assert_eq!(sent_message(Some("<>"), "taro", &recipients, 7), None);
        assert_eq!(sent_message(None, "taro", &recipients, 7), None);
    }
}
