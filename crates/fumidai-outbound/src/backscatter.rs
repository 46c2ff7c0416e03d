//! Backscatter: bounces that come back for mail in our name that we never sent. Someone else sends as our
//! domain, and the bounces of their mail reach us. Only judged when every message we send is remembered
//! (fumidai sees all outbound mail) and the bounced message is younger than the oldest one remembered.

use fumidai_core::Finding;
use fumidai_mime::dsn::{self, Bounce};
use fumidai_store::{registrable_domain_of_address, Store, StoreError};

use crate::findings::BACKSCATTER;
use crate::sent::is_own;

/// An inbound bounce, and `BACKSCATTER` when it is one of a message we never sent.
#[derive(Debug)]
pub struct BounceChecked<'a> {
    pub bounce: Bounce<'a>,
    pub backscatter: Option<Finding>,
}

/// `None` when `raw` is not a bounce. `own_domains` are the organisation's registrable domains (the caller
/// falls back to the recipients' when none are configured).
pub async fn check_bounce<'a>(
    store: &dyn Store,
    raw: &'a [u8],
    mail_from: Option<&str>,
    own_domains: &[String],
) -> Result<Option<BounceChecked<'a>>, StoreError> {
    let Some(bounce) = dsn::bounce(raw, mail_from) else {
        return Ok(None);
    };
    let backscatter = backscatter(store, &bounce, own_domains).await?;
    Ok(Some(BounceChecked {
        bounce,
        backscatter,
    }))
}

async fn backscatter(
    store: &dyn Store,
    bounce: &Bounce<'_>,
    own_domains: &[String],
) -> Result<Option<Finding>, StoreError> {
    let (Some(id), Some(from), Some(date)) = (
        bounce.original_message_id.as_deref(),
        bounce.original_from.as_deref(),
        bounce.original_date,
    ) else {
        // Without the original's id, sender and date nothing can be told.
        return Ok(None);
    };
    let ours = registrable_domain_of_address(from).is_some_and(|d| is_own(&d, own_domains));
    if !ours {
        return Ok(None);
    }
    let Some(since) = store.sent_since().await? else {
        return Ok(None);
    };
    if date < since || !store.sent_lookup(&[id.to_owned()]).await?.is_empty() {
        return Ok(None);
    }
    Ok(Some(Finding {
        id: BACKSCATTER.id,
        score: BACKSCATTER.score,
        part: "headers".into(),
        detail: format!("a bounce of <{id}> from {from}, which we never sent"),
    }))
}
