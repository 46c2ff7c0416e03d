//! Pathological inputs: every entry point stays fast (linear) and never panics.

use fumidai_core::{hash_only, FileInput, FileKind, FileReport, Limits, Scan};
use fumidai_text::{check_body_links, harvest_passwords, html_to_text, inspect_html};
use std::time::{Duration, Instant};

fn all_entry_points(s: &str) -> Duration {
    let t = Instant::now();
    let limits = Limits::default();
    let mut scan = Scan::new(&limits, hash_only);
    let _ = harvest_passwords(s);
    let _ = check_body_links(&mut scan, "body", s, s);
    let _ = html_to_text(s);
    let input = FileInput {
        name: "x.html",
        declared_type: None,
        data: s.as_bytes(),
        part: "x.html".into(),
        whole: None,
    };
    let mut report = FileReport::new("x.html", None, FileKind::Html, s.as_bytes());
    inspect_html(&mut scan, &input, &mut report);
    assert!(report.children.len() <= 8);
    t.elapsed()
}

#[test]
fn megabyte_patterns_stay_linear() {
    const N: usize = 1 << 20;
    let patterns = [
        "http://",
        "://",
        "www.",
        "data:,",
        "data:application/zip;base64,UEsDBA",
        "<a href=",
        "<a href='",
        "&#x",
        "&amp",
        "<!--",
        "<script>",
        "[1,",
        "(255,",
        "パスワード：",
        "pw is below\n",
        "p",
        "\"AAAA\"+",
        "location.href=\"http://a/\";",
        ".download=\"a\";",
        "<meta http-equiv=refresh content='0;url=http://x/'>",
        "http://a@b@c/",
        "\u{430}",
    ];
    for p in patterns {
        let s = p.repeat(N / p.len());
        let took = all_entry_points(&s);
        eprintln!("{p:?}: {took:?}");
        assert!(took < Duration::from_secs(5), "{p:?} took {took:?}");
    }
}

#[test]
fn truncated_prefixes_never_panic() {
    let page = "<html><a href=\"http://[::1]:80/a.exe\">www.a.example</a><script>var d=\"UEsDBAoAAAAAA\"+\"AAAAAAAAAAAA\";atob(d);\
                new Blob([1,2,3]);a.download='x';</script><meta http-equiv=refresh content=\"0;url=http://0x7f000001/\">\
                パスワードは「ｐａｓｓ」です&#12354;&#x;&;</html>";
    for cut in 0..=page.len() {
        if let Some(prefix) = page.get(..cut) {
            let _ = all_entry_points(prefix);
        }
    }
}
