use serde::Serialize;

/// A kind of finding: a stable UPPER_SNAKE id, a default score and a one-line meaning.
///
/// Declared with [`findings!`](crate::findings) as statics, so ids are checked by the compiler and
/// the documentation table is generated from the same declarations.
#[derive(Debug, PartialEq)]
pub struct FindingDef {
    pub id: &'static str,
    pub score: f64,
    pub summary: &'static str,
}

/// One thing the engine noticed, with where (the part path) and the evidence (detail).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub id: &'static str,
    pub score: f64,
    /// Where it was seen: `headers`, `body`, or the attachment path such as `請求書.zip > a.doc`.
    pub part: String,
    pub detail: String,
}

/// Declares findings as `pub static NAME: FindingDef` plus `pub static ALL` listing them.
///
/// ```
/// fumidai_core::findings! {
///     EXAMPLE_FINDING = 1.5, "What it means, in one sentence.";
/// }
/// assert_eq!(EXAMPLE_FINDING.id, "EXAMPLE_FINDING");
/// assert_eq!(ALL.len(), 1);
/// ```
#[macro_export]
macro_rules! findings {
    ($( $name:ident = $score:expr, $summary:expr; )*) => {
        $(
            #[doc = $summary]
            pub static $name: $crate::FindingDef =
                $crate::FindingDef { id: stringify!($name), score: $score, summary: $summary };
        )*
        /// Every finding declared in this list.
        pub static ALL: &[&$crate::FindingDef] = &[$(&$name),*];
    };
}

/// Each finding id once, at its highest score, in the order first seen: how a message's findings
/// count (like rspamd symbols, a hundred IP-literal links are one piece of evidence) and are shown.
pub fn strongest<'f>(findings: impl IntoIterator<Item = &'f Finding>) -> Vec<(&'static str, f64)> {
    let mut best: Vec<(&'static str, f64)> = Vec::new();
    for f in findings {
        match best.iter_mut().find(|(id, _)| *id == f.id) {
            Some(entry) => entry.1 = entry.1.max(f.score),
            None => best.push((f.id, f.score)),
        }
    }
    best
}
