//! Link checks on real mails (rspamd and SpamAssassin corpora) and crafted links.

use fumidai_core::{hash_only, Limits, Scan};
use fumidai_text::{check_body_links, check_url, text_urls, LinkSummary};

fn corpus(rel: &str) -> String {
    let path = format!("{}/../../testdata/corpus/{rel}", env!("CARGO_MANIFEST_DIR"));
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    String::from_utf8_lossy(&raw).into_owned()
}

/// The body after the header block (these test mails have a single HTML body).
fn body(mail: &str) -> &str {
    let mail_start = mail
        .find("\n\n")
        .or_else(|| mail.find("\r\n\r\n"))
        .unwrap_or(0);
    mail.get(mail_start..).unwrap_or("")
}

/// A crude cut of the first text/html part of a multipart mail, up to the next boundary line.
fn html_part(mail: &str) -> &str {
    let Some(ct) = mail.to_ascii_lowercase().find("content-type: text/html") else {
        return "";
    };
    let rest = mail.get(ct..).unwrap_or("");
    let start = rest
        .find("\n\n")
        .or_else(|| rest.find("\r\n\r\n"))
        .unwrap_or(0);
    let rest = rest.get(start..).unwrap_or("");
    let end = rest.find("\n--").unwrap_or(rest.len());
    rest.get(..end).unwrap_or("")
}

fn run(text: &str, html: &str) -> (LinkSummary, Vec<(String, String)>) {
    let limits = Limits::default();
    let mut scan = Scan::new(&limits, hash_only);
    let s = check_body_links(&mut scan, "body", text, html);
    let f = scan
        .findings()
        .iter()
        .map(|f| (f.id.to_owned(), f.detail.clone()))
        .collect();
    (s, f)
}

fn ids(f: &[(String, String)]) -> Vec<&str> {
    f.iter().map(|(i, _)| i.as_str()).collect()
}

#[test]
fn rspamd_phishing_mismatches() {
    for (file, shown) in [
        ("phishing1.eml", "cnn.com"),
        ("phishing2.eml", "myspace.com"),
        ("phishing3.eml", "bank.com"),
    ] {
        let mail = corpus(&format!("phishing/rspamd/{file}"));
        let (s, f) = run("", body(&mail));
        assert_eq!(ids(&f), ["LINK_TEXT_MISMATCH"], "{file}: {f:?}");
        let detail = &f.first().map(|x| x.1.clone()).unwrap_or_default();
        assert!(
            detail.contains(shown) && detail.contains("example.net"),
            "{detail}"
        );
        assert_eq!(s, LinkSummary { links: 1, risky: 1 });
    }
}

#[test]
fn rspamd_redirector_showing_another_domain_is_a_mismatch() {
    let mail = corpus("phishing/rspamd/redir_phishing_safe.eml");
    let (_, f) = run("", body(&mail));
    assert_eq!(ids(&f), ["LINK_TEXT_MISMATCH"], "{f:?}");
    assert!(
        f.iter()
            .any(|(_, d)| d.contains("text shows example.com, link goes to example.net")),
        "{f:?}"
    );
}

#[test]
fn rspamd_multiple_at_is_userinfo() {
    let mail = corpus("phishing/rspamd/url_suspect_multiple_at.eml");
    let (s, f) = run("", body(&mail));
    assert_eq!(ids(&f), ["LINK_USERINFO"], "{f:?}");
    assert!(
        f.iter()
            .any(|(_, d)| d.contains("several '@'") && d.contains("phishing.com")),
        "{f:?}"
    );
    assert_eq!(s.risky, 1);
}

#[test]
fn rspamd_html_phishing_has_links_but_no_lying_text() {
    let mail = corpus("phishing/rspamd/html_phishing.eml");
    let (s, f) = run("", body(&mail));
    // Three anchors and one image; the anchors say "Verify Now" / "click here", not another domain.
    assert_eq!(s.links, 4, "{s:?}");
    assert!(f.is_empty(), "{f:?}");
}

#[test]
fn clean_mails_give_no_finding() {
    for rel in [
        "email/rspamd/ham.eml",
        "email/spamassassin/nice/001",
        "email/rspamd/zerofont.eml",
        "email/rspamd/mixed-html-zip.eml",
    ] {
        let mail = corpus(rel);
        let html = html_part(&mail);
        let (s, f) = run(&mail, html);
        assert!(f.is_empty(), "{rel}: {f:?}");
        assert!(s.links >= 1, "{rel}: {s:?}");
        assert_eq!(s.risky, 0);
    }
    let ham = corpus("email/rspamd/ham.eml");
    let (s, _) = run("", html_part(&ham));
    assert!(s.links >= 4, "ham html links: {s:?}");
}

#[test]
fn ip_hosts_in_every_form() {
    for url in [
        "http://192.168.10.1/login",
        "http://3232238081/login",
        "http://0xC0A80A01/",
        "http://0300.0250.012.01/",
        "http://[2001:db8::1]/x",
    ] {
        let (_, f) = run(&format!("see {url} now"), "");
        assert_eq!(ids(&f), ["LINK_IP_HOST"], "{url}: {f:?}");
    }
    let (_, f) = run("http://3232238081/", "");
    assert!(f.iter().any(|(_, d)| d.contains("obfuscated")), "{f:?}");
    let (_, f) = run("http://192.168.10.1.example.com/", "");
    assert!(f.is_empty(), "{f:?}");
}

#[test]
fn downloads_punycode_and_lookalikes() {
    let (_, f) = run(
        "請求書はこちら https://files.example.co.jp/dl/invoice_4471.exe をご確認ください",
        "",
    );
    assert_eq!(ids(&f), ["LINK_EXECUTABLE_DOWNLOAD"], "{f:?}");
    assert!(f.iter().any(|(_, d)| d.contains(".exe")));
    let (_, f) = run(
        "",
        r#"<a href="https://example.com/a/%E8%AB%8B%E6%B1%82.xlsm?dl=1">請求書</a>"#,
    );
    assert_eq!(ids(&f), ["LINK_RISKY_DOWNLOAD"], "{f:?}");
    let (_, f) = run(
        "https://example.com/report.pdf https://example.com/a.php?f=x.exe",
        "",
    );
    assert!(f.is_empty(), "{f:?}");

    // Japanese IDN: punycode only, not a look-alike.
    let (_, f) = run("http://xn--wgv71a119e.jp/", "");
    assert_eq!(ids(&f), ["LINK_PUNYCODE"], "{f:?}");
    // Cyrillic а in "apple", written raw and as punycode.
    for url in ["https://\u{430}pple.com/id", "https://xn--pple-43d.com/id"] {
        let (_, f) = run(url, "");
        assert!(ids(&f).contains(&"LINK_CONFUSABLE_HOST"), "{url}: {f:?}");
    }
    // All-Cyrillic "раураl" imitates "paypal".
    let (_, f) = run(
        "",
        "<a href='https://\u{440}\u{430}\u{443}\u{440}\u{430}\u{4cf}.com/'>login</a>",
    );
    assert!(
        f.iter()
            .any(|(i, d)| i == "LINK_CONFUSABLE_HOST" && d.contains("ASCII")),
        "{f:?}"
    );
}

#[test]
fn anchor_text_and_forms() {
    let html = r#"<p>Log in at <a href="https://secure-login.example.net/x">https://www.mybank.co.jp/login</a>,
        <a href="https://www.mybank.co.jp/help">www.mybank.co.jp/help</a>,
        <a href='https://evil.example/'>PayPal.com</a>,
        <a href="https://example.com/invoice.zip">invoice.zip</a>,
        <a href="mailto:a@example.com">b@example.org</a>
        <area href="https://evil.example/" alt="mybank.co.jp">
        <form action="https://collect.example/post.php" method=post><input type=password></form>"#;
    let (s, f) = run("", html);
    let mism = f
        .iter()
        .find(|(i, _)| i == "LINK_TEXT_MISMATCH")
        .map(|x| x.1.clone())
        .unwrap_or_default();
    assert!(
        mism.contains("mybank.co.jp") && mism.contains("example.net") && mism.contains("(+2 more)"),
        "{mism}"
    );
    assert!(ids(&f).contains(&"LINK_HTML_FORM"), "{f:?}");
    assert!(ids(&f).contains(&"LINK_RISKY_DOWNLOAD"), "{f:?}");
    assert_eq!(f.len(), 3, "{f:?}");
    // Five anchors (the mailto one counted, not checked), the form; the area repeats an anchor's URL.
    assert_eq!(s.links, 6, "{s:?}");
}

#[test]
fn entities_in_href_and_text_are_decoded() {
    let (_, f) = run(
        "",
        "<a href=\"http&#58;//evil&#46;example/\">&#x77;ww.mybank.co.jp</a>",
    );
    assert_eq!(ids(&f), ["LINK_TEXT_MISMATCH"], "{f:?}");
}

#[test]
fn single_urls_from_documents() {
    let limits = Limits::default();
    let mut scan = Scan::new(&limits, hash_only);
    assert!(check_url(
        &mut scan,
        "a.pdf",
        "http://bank.example@203.0.113.9/x.hta",
        None
    ));
    let got: Vec<&str> = scan.findings().iter().map(|f| f.id).collect();
    assert_eq!(
        got,
        ["LINK_USERINFO", "LINK_IP_HOST", "LINK_EXECUTABLE_DOWNLOAD"]
    );
    assert!(scan.findings().iter().all(|f| f.part == "a.pdf"));
    assert!(!check_url(
        &mut scan,
        "a.pdf",
        "https://www.example.co.jp/",
        Some("www.example.co.jp")
    ));
    assert!(check_url(
        &mut scan,
        "a.docx",
        "https://evil.example/",
        Some("https://www.example.co.jp/")
    ));
}

#[test]
fn text_url_extraction() {
    let t = "See (https://example.com/a_(b)) and https://example.com/x. Also <http://a.example/p>, www.b.example/q?x=1; \
             ftp://f.example/ and javascript://no, mail@www.c.example. 詳しくはhttps://d.example/日本";
    assert_eq!(
        text_urls(t),
        [
            "https://example.com/a_(b)",
            "https://example.com/x",
            "http://a.example/p",
            "www.b.example/q?x=1",
            "ftp://f.example/",
            "https://d.example/"
        ]
    );
}

#[test]
fn many_links_are_bounded_and_reported_once() {
    let text: String = (0..5000)
        .map(|i| format!("http://10.0.{}.{}/ ", i / 256, i % 256))
        .collect();
    let (s, f) = run(&text, "");
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f.iter().all(|(_, d)| d.contains("more)")));
    assert!(s.links >= 2000 && s.risky <= 2000, "{s:?}");
}

#[test]
fn alternatives_count_each_url_once() {
    let (s, f) = run(
        "see https://a.example/x",
        "<p>see <a href='https://a.example/x'>here</a></p>",
    );
    assert_eq!(s, LinkSummary { links: 1, risky: 0 });
    assert!(f.is_empty());
}

#[test]
fn links_to_web_pages_are_not_downloads() {
    let (summary, findings) = run(
        "see http://www.example.co.jp/products/index.html and https://example.com/a.htm",
        "",
    );
    assert_eq!(summary.risky, 0, "{findings:?}");
    let (_, findings) = run("get http://example.com/invoice.zip", "");
    assert!(
        ids(&findings).contains(&"LINK_RISKY_DOWNLOAD"),
        "{findings:?}"
    );
}
