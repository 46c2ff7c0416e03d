//! Springboard alerts (踏み台通知): the organisations whose mail systems sent attack mail, or whose names were used
//! in it, found, told and counted.
//!
//! - `classify` and `evidence`: one inspected inbound message → a [`SpringboardEvent`] (springboard or
//!   impersonation, the organisation, the sample), using SPF/DKIM results verified with mail-auth.
//! - `notice`: the notices (Japanese and English plain text, ARF and CSV copies) for a case.
//! - `report`: statistics of organisations notified per JST month, by kind and industry.
//! - `config`: the `[alerts]` section.
//!
//! The store keeps events, cases, notifications and the directory (`fumidai_store::alerts`).

pub mod collector;
pub mod config;
pub mod forward;

pub use config::AlertsConfig;
pub use fumidai_store::alerts::*;
