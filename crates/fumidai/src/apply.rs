//! `fumidai scan --apply DIR`: the policy carried out offline. Each message gets the action the
//! milter would take; what the recipients would get is written to DIR (one `.eml` per delivered
//! message) and, unless `--no-store`, originals go into the store's quarantine as they would in
//! production.

use crate::inputs::{self, Unit};
use crate::output::{Applied, Line};
use bytes::Bytes;
use fumidai_act::{Actor, Arrival, Client};
use fumidai_engine::{Direction, Envelope};
use fumidai_store::Store;
use std::path::Path;

/// One `--apply` run: the actor, the store (none with `--no-store`), the output directory, the
/// direction and the time every message is judged at.
pub struct ApplyRun<'a> {
    pub actor: &'a Actor,
    pub store: Option<&'a dyn Store>,
    pub dir: &'a Path,
    pub direction: Direction,
    pub now: i64,
}

impl ApplyRun<'_> {
    /// Carries out the policy for every judged message of a batch (`units` and `lines` in step) and
    /// attaches what was done to its line. `first` numbers the batch's files within the run.
    pub async fn batch(&self, first: usize, units: &[Unit], lines: &mut [Line]) {
        for (n, (unit, line)) in units.iter().zip(lines.iter_mut()).enumerate() {
            let Line::Report(report, applied) = line else {
                continue;
            };
            let raw = match inputs::with_bytes(unit, Bytes::copy_from_slice) {
                // A file given directly is judged, not acted on: it is not mail.
                Ok(raw) if !inputs::is_message(unit, &raw) => continue,
                Ok(raw) => raw,
                Err(error) => {
                    *line = Line::Error {
                        path: unit.label(),
                        error,
                    };
                    continue;
                }
            };
            let envelope = Envelope::default();
            let arrival = Arrival {
                envelope: &envelope,
                client: &Client::default(),
                direction: self.direction,
                at: self.now,
            };
            let decision = self.actor.decide(report, arrival);
            let outcome = self
                .actor
                .carry_out(self.store, raw.clone(), report, arrival, decision)
                .await;
            let mut output = None;
            if let Some(message) = outcome.delivered_message(&raw) {
                let path = self.dir.join(output_name(first + n, &unit.label()));
                if let Err(e) = std::fs::write(&path, message) {
                    *line = Line::Error {
                        path: unit.label(),
                        error: format!("writing {}: {e}", path.display()),
                    };
                    continue;
                }
                output = Some(path.display().to_string());
            }
            *applied = Some(Applied {
                action: outcome.action.as_str(),
                quarantine_id: outcome.quarantine_id,
                output,
                reply: outcome.reply.map(|r| r.to_string()),
                note: outcome.note,
            });
        }
    }
}

/// `000042-invoice.eml`: numbered so names never collide, and only `[A-Za-z0-9._-]` from the input's
/// own name, so a hostile name cannot leave DIR.
fn output_name(n: usize, label: &str) -> String {
    let base = label.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut safe: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    while safe.starts_with('.') {
        safe.remove(0);
    }
    let stem = safe.strip_suffix(".eml").unwrap_or(&safe);
    format!("{:06}-{stem}.eml", n + 1)
}

#[cfg(test)]
mod tests {
    use super::output_name;

    #[test]
    fn output_names_are_numbered_and_cannot_escape_the_directory() {
        assert_eq!(output_name(0, "mail/invoice.eml"), "000001-invoice.eml");
        assert_eq!(output_name(4, "sent.mbox#3"), "000005-sent.mbox_3.eml");
        assert_eq!(output_name(9, "../../etc/passwd"), "000010-passwd.eml");
        assert_eq!(output_name(1, "..."), "000002-.eml");
        assert_eq!(output_name(2, "請求書.eml"), "000003-___.eml");
    }
}
