//! Every finding any checker can raise, gathered from the checker crates' own tables.

use fumidai_core::FindingDef;

/// All findings, in documentation order (by crate, then as declared).
pub fn all() -> impl Iterator<Item = &'static FindingDef> {
    [
        fumidai_core::FINDINGS,
        fumidai_mime::FINDINGS,
        fumidai_text::FINDINGS,
        fumidai_archive::FINDINGS,
        fumidai_office::FINDINGS,
        fumidai_xlm::FINDINGS,
        fumidai_carriers::FINDINGS,
        fumidai_history::FINDINGS,
        fumidai_outbound::FINDINGS,
        crate::feeds::FINDINGS,
    ]
    .into_iter()
    .flatten()
    .copied()
}

/// The finding with this id.
pub fn find(id: &str) -> Option<&'static FindingDef> {
    all().find(|d| d.id == id)
}

/// The documentation table (Markdown), as kept in docs/findings.md.
pub fn markdown_table() -> String {
    let mut out = String::from("| id | default score | meaning |\n|---|---:|---|\n");
    for d in all() {
        out.push_str(&format!("| `{}` | {} | {} |\n", d.id, d.score, d.summary));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_upper_snake() {
        let mut seen = std::collections::HashSet::new();
        for d in all() {
            assert!(seen.insert(d.id), "finding {} declared twice", d.id);
            assert!(
                d.id.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'),
                "{} is not UPPER_SNAKE",
                d.id
            );
        }
    }

    #[test]
    fn docs_table_is_current() {
        let doc = include_str!("../../../docs/findings.md");
        assert!(
            doc.contains(&markdown_table()),
            "docs/findings.md is out of date: regenerate it with `fumidai findings --markdown`"
        );
    }
}
