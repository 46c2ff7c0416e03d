//! Sanitisation (無害化): turning a risky message's content into a harmless form the recipient can
//! still use. Pure functions on borrowed bytes: no I/O, no network, bounded work, errors instead of
//! panics on hostile input.
//!
//! What it does today:
//! - [`strip_ooxml_macros`]: a macro-free copy of an OOXML document or template (Word, Excel,
//!   PowerPoint): VBA projects and their signatures, Word's `vbaData.xml` and attached toolbars,
//!   Ribbon customisations that call macros, Excel 4.0 macro sheets (with their `<sheet>` entries and
//!   the defined names such as `Auto_Open` that point at them), their relationships and content
//!   types go; the main part gets the macro-free content type and the file the matching name
//!   (`.docm` → `.docx`). It goes by the package's content, not its name, so macro content under a
//!   `.docx` name is handled too.
//! - [`defang_url`] and [`defang_text`]: URLs made unclickable (`hxxps://example[.]com/path`), using
//!   the URL finder of `fumidai-text` so sanitisation defangs exactly the links the checks saw.
//! - [`banner`] and [`sanitized_header_value`]: the bilingual (Japanese, then English) notice of
//!   what was done and why, and the `X-Fumidai-Sanitized` header value.
//!
//! - [`rebuild_message`]: the sanitised message itself. The caller decides per attachment
//!   ([`Disposition`]: keep, strip macros, remove) in a [`Plan`]; the result ([`Rebuilt`]) is a new
//!   body (banner, a bilingual notice per removed file with its SHA-256 and quarantine id, the text
//!   with HTML converted and URLs defanged as asked, the kept files) and the top-level fields to
//!   delete and add, which is what a milter needs; [`Rebuilt::message`] gives the whole message.
//!
//! What it does not do yet: remove macros from binary documents (.doc/.xls/.ppt, .xlsb), decrypt
//! password-protected documents, or remove ActiveX controls, OLE embeddings, DDE fields and
//! external links; such files are refused with a [`SanitizeError`] and must be removed whole.

mod banner;
mod defang;
mod edit;
mod message;
mod ooxml;
mod xml;

pub use banner::{banner, sanitized_header_value, Action, Reason, SANITIZED_HEADER};
pub use defang::{defang_text, defang_url};
pub use edit::edit_message;
pub use message::{rebuild_message, Disposition, Plan, Rebuilt, RemovedFile};
pub use ooxml::{strip_ooxml_macros, StripLimits, Stripped};

/// Why a file could not be sanitised. Every variant means the file cannot be delivered sanitised;
/// the caller removes it whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SanitizeError {
    #[error("not an OOXML package: {0}")]
    NotOoxml(String),
    #[error("the file is encrypted ({0}) and cannot be sanitised without its password")]
    Encrypted(&'static str),
    #[error("damaged ZIP package: {0}")]
    Corrupt(String),
    #[error("part {part} inflates to more than {limit} bytes")]
    PartTooLarge { part: String, limit: u64 },
    #[error("the package inflates to more than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the package has more than {limit} parts")]
    TooManyParts { limit: usize },
    #[error("malformed XML in {part}: {detail}")]
    Xml { part: String, detail: String },
    #[error("the macros cannot be removed without breaking the document ({0})")]
    MustRemoveWhole(String),
    #[error("the plan has {planned} attachment decisions but the message has {found} attachments")]
    PlanMismatch { planned: usize, found: usize },
}
