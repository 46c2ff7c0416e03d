//! Postfix log import speed on a generated 1,000,000-line log, against a baseline that only counts
//! lines with memchr. Run: `cargo bench -p fumidai-history --bench postfix_log`.

use fumidai_history::import::{no_progress, PostfixLog, PostfixOptions};
use fumidai_history::HistoryConfig;
use std::fmt::Write;
use std::time::Instant;

/// A realistic mix per message: smtpd connect, cleanup message-id, qmgr from, 1-3 deliveries (mostly
/// sent, some deferred/bounced), qmgr removed; plus unrelated daemon noise.
fn generate(lines: usize) -> String {
    let mut s = String::with_capacity(lines * 170);
    let mut n = 0usize;
    let mut msg = 0u64;
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    while n < lines {
        msg += 1;
        let r = next();
        let day = 1 + (msg / 20_000) % 28;
        let (h, m, sec) = ((msg / 3600) % 24, (msg / 60) % 60, msg % 60);
        let ts = format!("Nov {day:>2} {h:02}:{m:02}:{sec:02}");
        let id = format!(
            "4B{:010X}",
            msg.wrapping_mul(2_654_435_761) & 0xff_ffff_ffff
        );
        let outbound = r % 3 != 0;
        let (from, to_dom) = if outbound {
            (
                format!("user{}@corp.example.jp", r % 500),
                format!("partner{}.co.jp", (r >> 8) % 3000),
            )
        } else {
            (
                format!("sender{}@partner{}.co.jp", r % 900, (r >> 8) % 3000),
                "corp.example.jp".to_owned(),
            )
        };
        let _ = writeln!(
            s,
            "{ts} mx1 postfix/smtpd[2{}]: {id}: client=host{}.example.net[192.0.2.{}]",
            r % 1000,
            r % 77,
            r % 250
        );
        let _ = writeln!(
            s,
            "{ts} mx1 postfix/cleanup[3{}]: {id}: message-id=<{msg}.{r}@mail.example>",
            r % 1000
        );
        let _ = writeln!(
            s,
            "{ts} mx1 postfix/qmgr[1234]: {id}: from=<{from}>, size={}, nrcpt=2 (queue active)",
            r % 100_000
        );
        n += 3;
        for k in 0..1 + (r >> 20) % 3 {
            let service = if outbound { "smtp" } else { "lmtp" };
            let status = match (r >> (24 + k)) % 20 {
                0 => {
                    "deferred (connect to mx.partner.co.jp[198.51.100.1]:25: Connection timed out)"
                }
                1 => "bounced (host said: 550 5.1.1 User unknown)",
                _ => "sent (250 2.0.0 Ok: queued as 4AbCdEf)",
            };
            let _ = writeln!(s, "{ts} mx1 postfix/{service}[4{}]: {id}: to=<rcpt{k}{}@{to_dom}>, relay=mx.{to_dom}[198.51.100.{}]:25, delay=0.{}, delays=0.1/0/0.2/0.3, dsn=2.0.0, status={status}", r % 1000, r % 300, r % 250, r % 9);
            n += 1;
        }
        let _ = writeln!(s, "{ts} mx1 postfix/qmgr[1234]: {id}: removed");
        let _ = writeln!(
            s,
            "{ts} mx1 dovecot: imap(user{}@corp.example.jp)<{}>: Logged out in=12 out=345",
            r % 500,
            r % 99999
        );
        n += 2;
    }
    s
}

fn main() {
    let lines = 1_000_000;
    let t = Instant::now();
    let log = generate(lines);
    eprintln!(
        "generated {} lines, {} MB in {:?}",
        lines,
        log.len() >> 20,
        t.elapsed()
    );
    let cfg = HistoryConfig {
        local_domains: vec!["corp.example.jp".into()],
        ..HistoryConfig::default()
    };

    for round in 0..2 {
        let t = Instant::now();
        let count = memchr::memchr_iter(b'\n', log.as_bytes()).count();
        let base = t.elapsed();

        let t = Instant::now();
        let mut it = PostfixLog::new(
            log.as_bytes(),
            &cfg,
            PostfixOptions::new(2026),
            &no_progress,
        );
        let exchanges = it.by_ref().filter(Result::is_ok).count();
        let parse = t.elapsed();
        let st = it.stats();
        assert_eq!(st.items as usize, count);
        let lps = |d: std::time::Duration| count as f64 / d.as_secs_f64();
        println!(
            "round {round}: {count} lines, {exchanges} exchanges; baseline memchr line count {:.0} lines/s ({base:?}); \
             postfix parser {:.0} lines/s ({parse:?}, {:.0} MB/s); ratio {:.1}x",
            lps(base),
            lps(parse),
            log.len() as f64 / parse.as_secs_f64() / 1e6,
            parse.as_secs_f64() / base.as_secs_f64()
        );
    }
}
