//! Springboard alerts (踏み台通知): the organisations whose mail systems sent attack mail, or whose names were used
//! in it, found, told and counted.
//!
//! - `classify` and `evidence`: one inspected inbound message → a [`SpringboardEvent`] (springboard or
//!   impersonation, the organisation, the sample), using SPF/DKIM results verified with mail-auth.
//! - `notice`: the notices (Japanese and English plain text, ARF and CSV copies) for a case.
//! - `admin`: alerts about our own organisation (a held outbound account, our domain spoofed) for its
//!   administrators.
//! - `report`: statistics of organisations notified per JST month, by kind and industry.
//! - `config`: the `[alerts]` section.
//!
//! The store keeps events, cases, notifications and the directory (`fumidai_store::alerts`).

pub mod admin;
pub mod auth;
pub mod classify;
pub mod collector;
pub mod config;
pub mod directory;
pub mod evidence;
pub mod forward;
pub mod freemail;
pub mod jsic;
pub mod machine;
pub mod notice;
pub mod report;

pub use admin::{AdminAlert, AdminNotice};
pub use auth::Authenticator;
pub use classify::{Attribution, Classifier};
pub use config::AlertsConfig;
pub use evidence::{springboard_event, EventContext, MessageFacts, SmtpFacts};
pub use freemail::FreeMail;
pub use fumidai_store::alerts::*;
