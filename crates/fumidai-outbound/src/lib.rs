//! The outbound watch (issue 7: our own mail system as the springboard).
//!
//! - [`watch`]: every outbound message counts against its account (SASL login, else envelope sender) in
//!   rolling per-minute buckets in the store, shared by every node on PostgreSQL. An account that crosses a
//!   threshold of `[outbound]` (messages, recipients, new recipients and their share, risky verdicts) is held:
//!   its mail gets `OUTBOUND_ACCOUNT_HELD`, whose action is policy (`quarantine` by default, or `tempfail`),
//!   until an administrator releases it. The hold is one conditional write, so the alert is raised once.
//! - [`sent`]: Message-IDs of delivered outbound mail are remembered for `remember_sent_days`, with the
//!   recipients' organisations. An inbound message that references one of them but comes from another
//!   organisation is a stolen thread (`HIJACKED_REPLY_REFERENCE`).
//! - [`backscatter`]: an inbound bounce (fumidai-mime's `dsn`) of a message in our name that we never sent is
//!   evidence that someone sends in our name (`BACKSCATTER`); the front end files it as an impersonation of our
//!   own domain and tells the administrators.
//!
//! Everything here reads and writes the store only; there is no network access.

pub mod backscatter;
mod config;
pub mod sent;
pub mod watch;

pub use config::OutboundConfig;

/// Findings of the outbound watch (all on the `headers` part).
pub mod findings {
    fumidai_core::findings! {
        OUTBOUND_ACCOUNT_HELD = 0.0, "The sending account crossed an outbound threshold ([outbound]) and is held: the action is [policy.outbound.findings] (quarantine by default).";
        HIJACKED_REPLY_REFERENCE = 6.0, "The message replies to (references) mail we sent, but comes from an organisation we did not send it to: a stolen thread.";
        BACKSCATTER = 3.0, "A bounce for a message in our name that we never sent: someone is sending mail as our domain.";
    }
}

/// Every finding this crate can raise.
pub use findings::ALL as FINDINGS;
