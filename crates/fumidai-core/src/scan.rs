use crate::findings::{NESTING_TOO_DEEP, SCAN_LIMIT_REACHED};
use crate::{FileKind, FileReport, Finding, FindingDef, Limits};
use std::time::Instant;

/// The engine's dispatcher: looks at a file's bytes and hands it to the inspector for its kind.
pub type Dispatch = fn(&mut Scan<'_>, FileInput<'_>) -> FileReport;

/// An inspector for one kind of file: reads `input`, records findings in `scan`, fills `report`
/// (refined kind, encryption, children). The engine's dispatcher picks one per kind.
pub type Inspector = fn(&mut Scan<'_>, &FileInput<'_>, &mut FileReport);

/// A dispatcher that opens nothing: it only hashes. Inspector crates use it in their own tests to see
/// which children they hand on, without depending on the engine.
pub fn hash_only(_scan: &mut Scan<'_>, input: FileInput<'_>) -> FileReport {
    FileReport::new(
        input.name,
        input.declared_type,
        FileKind::Unknown,
        input.data,
    )
}

/// A file handed to the dispatcher. Borrowed: inspectors never copy what they can point into.
#[derive(Debug, Clone)]
pub struct FileInput<'d> {
    /// Name as given by the sender or the container (hostile: never a path).
    pub name: &'d str,
    pub declared_type: Option<&'d str>,
    /// The bytes to inspect. For a streamed file this is the kept prefix, see `whole`.
    pub data: &'d [u8],
    /// Part path for findings, e.g. `invoice.zip > a.doc`.
    pub part: String,
    /// Set when `data` is not the whole file (trailing padding dropped, or a prefix kept):
    /// the real size and SHA-256, which the report must show.
    pub whole: Option<Whole>,
}

/// Size and hash of a file that was streamed rather than held whole.
#[derive(Debug, Clone, PartialEq)]
pub struct Whole {
    pub size: u64,
    pub sha256: String,
}

/// State of one message's inspection: limits, budgets, candidate passwords and the findings so far.
pub struct Scan<'a> {
    limits: &'a Limits,
    dispatch: Dispatch,
    passwords: Vec<String>,
    findings: Vec<Finding>,
    depth: u32,
    entries: u32,
    inflated: u64,
    started: Instant,
    limit_reported: bool,
}

impl<'a> Scan<'a> {
    pub fn new(limits: &'a Limits, dispatch: Dispatch) -> Self {
        Scan {
            limits,
            dispatch,
            passwords: Vec::new(),
            findings: Vec::new(),
            depth: 0,
            entries: 0,
            inflated: 0,
            started: Instant::now(),
            limit_reported: false,
        }
    }

    pub fn limits(&self) -> &Limits {
        self.limits
    }

    /// Records a finding at its default score (the engine applies configured scores later).
    pub fn add(&mut self, def: &'static FindingDef, part: &str, detail: impl Into<String>) {
        self.findings.push(Finding {
            id: def.id,
            score: def.score,
            part: part.to_owned(),
            detail: detail.into(),
        });
    }

    /// Whether a finding with this id was already recorded (to avoid repeating one per entry).
    pub fn has(&self, def: &FindingDef) -> bool {
        self.findings.iter().any(|f| f.id == def.id)
    }

    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    pub fn into_findings(self) -> Vec<Finding> {
        self.findings
    }

    /// Candidate passwords for encrypted archives and documents (harvested from the body, plus defaults).
    pub fn passwords(&self) -> &[String] {
        &self.passwords
    }

    pub fn add_password(&mut self, password: impl Into<String>) {
        let p = password.into();
        if !p.is_empty() && !self.passwords.contains(&p) {
            self.passwords.push(p);
        }
    }

    /// How deep the file being inspected now sits (0 outside any file, 1 for an attachment).
    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// Inspects a file through the dispatcher, one level deeper than the current one.
    /// Past the depth limit the file is hashed but not opened, and NESTING_TOO_DEEP is recorded.
    pub fn inspect(&mut self, input: FileInput<'_>) -> FileReport {
        if self.depth >= self.limits.max_depth {
            let detail = format!(
                "depth limit {} reached at {}",
                self.limits.max_depth, input.part
            );
            if !self.has(&NESTING_TOO_DEEP) {
                self.add(&NESTING_TOO_DEEP, &input.part, detail);
            }
            let mut report = FileReport::new(
                input.name,
                input.declared_type,
                FileKind::Unknown,
                input.data,
            );
            report.part = input.part;
            return report;
        }
        self.depth += 1;
        let part = input.part.clone();
        let mut report = (self.dispatch)(self, input);
        self.depth -= 1;
        report.part = part;
        report
    }

    /// Inspects a file found inside the one at `parent_part` (archive entry, embedded object).
    pub fn inspect_child(&mut self, parent_part: &str, name: &str, data: &[u8]) -> FileReport {
        let part = child_part(parent_part, name);
        self.inspect(FileInput {
            name,
            declared_type: None,
            data,
            part,
            whole: None,
        })
    }

    /// Counts one more archive entry or embedded object; false (with a finding) once the budget is spent.
    pub fn charge_entry(&mut self, part: &str) -> bool {
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            self.limit_reached(
                part,
                format!("more than {} entries", self.limits.max_entries),
            );
            return false;
        }
        self.within_time(part)
    }

    /// Counts inflated bytes; false (with a finding) once the message's budget is spent.
    pub fn charge_inflated(&mut self, part: &str, bytes: u64) -> bool {
        self.inflated = self.inflated.saturating_add(bytes);
        if self.inflated > self.limits.max_inflated_bytes {
            self.limit_reached(
                part,
                format!(
                    "more than {} bytes inflated",
                    self.limits.max_inflated_bytes
                ),
            );
            return false;
        }
        self.within_time(part)
    }

    /// False (with a finding) once the message's time is up. Call it in long loops.
    pub fn within_time(&mut self, part: &str) -> bool {
        if self.started.elapsed() > self.limits.max_time() {
            self.limit_reached(
                part,
                format!("time limit of {} ms", self.limits.max_time_ms),
            );
            return false;
        }
        true
    }

    /// Whether any budget has been spent; inspectors stop opening new things once it is.
    pub fn exhausted(&self) -> bool {
        self.limit_reported
    }

    fn limit_reached(&mut self, part: &str, detail: String) {
        if !self.limit_reported {
            self.limit_reported = true;
            self.add(&SCAN_LIMIT_REACHED, part, detail);
        }
    }
}

/// The part path of a file named `name` inside the one at `parent`.
pub fn child_part(parent: &str, name: &str) -> String {
    let name = if name.is_empty() { "(unnamed)" } else { name };
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent} > {name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(scan: &mut Scan<'_>, input: FileInput<'_>) -> FileReport {
        let mut r = FileReport::new(input.name, input.declared_type, FileKind::Text, input.data);
        // Recurse forever: the depth limit must stop it.
        r.children
            .push(scan.inspect_child(&input.part, "again", input.data));
        r
    }

    #[test]
    fn depth_limit_stops_endless_recursion() {
        let limits = Limits {
            max_depth: 5,
            ..Limits::default()
        };
        let mut scan = Scan::new(&limits, leaf);
        let r = scan.inspect(FileInput {
            name: "a",
            declared_type: None,
            data: b"x",
            part: "a".into(),
            whole: None,
        });
        assert_eq!(r.walk().len(), 6);
        assert_eq!(
            scan.findings()
                .iter()
                .filter(|f| f.id == "NESTING_TOO_DEEP")
                .count(),
            1
        );
        assert_eq!(scan.depth(), 0);
    }

    #[test]
    fn inflated_budget_reports_once() {
        let limits = Limits {
            max_inflated_bytes: 10,
            ..Limits::default()
        };
        let mut scan = Scan::new(&limits, leaf);
        assert!(scan.charge_inflated("p", 10));
        assert!(!scan.charge_inflated("p", 1));
        assert!(!scan.charge_inflated("p", 1));
        assert_eq!(scan.findings().len(), 1);
        assert!(scan.exhausted());
    }
}
