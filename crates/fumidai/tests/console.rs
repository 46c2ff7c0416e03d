//! The web console end to end in headless Chromium: `fumidai serve` with the API, the console and the milter on one
//! configuration, behind a real Postfix (the rig). Users are made with `fumidai user add`; attack mail sent through
//! Postfix is quarantined; an operator logs in, finds it, releases it and it reaches the sink; a hostile message's
//! subject and HTML stay inert text; a viewer cannot release, not even with a valid CSRF token; repeated wrong
//! passwords are rate limited. Screenshots go to `$FUMIDAI_ARTIFACTS/console/` (see common/browser.rs).
//! Needs Postfix, swaks, Chromium and ChromeDriver (`.ci/run` installs them; FUMIDAI_SKIP_POSTFIX=1 or
//! FUMIDAI_SKIP_BROWSER=1 skips).

mod common;
mod rig;

use common::browser::{self, Browser};
use common::daemon::{text, Daemon, WAIT};
use common::http::{http, Response};
use common::{json_lines, Site};
use rig::{Mail, Rig, RigOptions, Xclient};
use std::io::Write;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ATTACK: &str = "testdata/corpus/email/generated/emotet_style_autoexec_xlsm.eml";
const ATTACK_ID: &str = "console-attack@attacker.example";
const HOSTILE_ID: &str = "console-hostile@attacker.example";
const HOSTILE_SUBJECT: &str = "<script>alert(1)</script>";
const ALICE: (&str, &str) = ("alice", "correct horse battery staple");
const VICTOR: (&str, &str) = ("victor", "viewer's own passphrase");

/// `fumidai user add NAME --role ROLE --password-stdin`, the password written to its standard input.
fn add_user(site: &Site, (name, password): (&str, &str), role: &str) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fumidai"))
        .arg("-c")
        .arg(&site.config)
        .args(["user", "add", name, "--role", role, "--password-stdin"])
        .env("FUMIDAI_DATA_DIR", site.dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run fumidai user add");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{password}\n").as_bytes())
        .expect("write the password");
    let out = child.wait_with_output().expect("fumidai user add");
    assert!(
        out.status.success(),
        "fumidai user add {name}: {:?}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The Emotet-style .xlsm mail with its own Message-ID.
fn attack() -> Vec<u8> {
    let mut raw = format!("Message-ID: <{ATTACK_ID}>\n").into_bytes();
    for line in text(ATTACK).split_inclusive('\n') {
        if !line.to_ascii_lowercase().starts_with("message-id:") {
            raw.extend_from_slice(line.as_bytes());
        }
    }
    raw
}

/// A message whose subject is a script tag and whose HTML part loads an image from `image_port` and runs a
/// script, carrying the same .xlsm so that it is quarantined.
fn hostile(image_port: u16) -> Vec<u8> {
    let original = text(ATTACK);
    let start = original
        .find("Content-Type: application/vnd.ms-excel")
        .expect("the attachment part");
    let end = original.rfind("\n--=").expect("the closing boundary");
    let attachment = &original[start..end];
    format!(
        "From: \"Billing\" <billing@attacker.example>\n\
         To: tanaka@corp.example.jp\n\
         Subject: {HOSTILE_SUBJECT}\n\
         Date: Sun, 06 Dec 2026 09:00:00 +0900\n\
         Message-ID: <{HOSTILE_ID}>\n\
         MIME-Version: 1.0\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\n\
         \n\
         --b1\n\
         Content-Type: text/html; charset=UTF-8\n\
         \n\
         <html><body><p>Invoice</p><img src=\"http://127.0.0.1:{image_port}/x.png\">\
         <script>alert(2)</script></body></html>\n\
         --b1\n\
         {attachment}\n\
         --b1--\n"
    )
    .into_bytes()
}

/// Waits until every Message-ID is in the quarantine; their quarantine ids, in the same order.
fn quarantined(site: &Site, message_ids: &[&str]) -> Vec<String> {
    let deadline = Instant::now() + WAIT;
    loop {
        let out = site.ok(&["quarantine", "list", "--json"]);
        let items = json_lines(&String::from_utf8_lossy(&out.stdout));
        let ids: Vec<Option<String>> = message_ids
            .iter()
            .map(|mid| {
                items
                    .iter()
                    .find(|i| i["message_id"].as_str() == Some(mid))
                    .and_then(|i| i["id"].as_str().map(str::to_owned))
            })
            .collect();
        if ids.iter().all(Option::is_some) {
            return ids.into_iter().flatten().collect();
        }
        assert!(
            Instant::now() < deadline,
            "{message_ids:?} not all quarantined: {items:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn login(b: &Browser, base: &str, (name, password): (&str, &str)) {
    b.goto(&format!("{base}/console/login"));
    b.find("#login input[name=username]").send_keys(name);
    b.find("#login input[name=password]").send_keys(password);
    b.follow("#login-submit");
}

/// `application/x-www-form-urlencoded`.
fn form(fields: &[(&str, &str)]) -> String {
    let encode = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The `value` of the first `<input>` named `name` in raw HTML.
fn input_value(html: &str, name: &str) -> Option<String> {
    html.split("<input").skip(1).find_map(|tag| {
        let tag = &tag[..tag.find('>')?];
        tag.contains(&format!("name=\"{name}\"")).then_some(())?;
        let value = &tag[tag.find("value=\"")? + 7..];
        Some(value[..value.find('"')?].to_owned())
    })
}

/// The console's Content-Security-Policy must forbid remote images and inline scripts.
fn assert_csp(response: &Response) {
    let csp = response
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("no Content-Security-Policy: {:?}", response.headers));
    let directive = |name: &str| -> Option<Vec<String>> {
        csp.split(';').find_map(|d| {
            let mut words = d.split_whitespace();
            (words.next()? == name).then(|| words.map(str::to_owned).collect())
        })
    };
    let default = directive("default-src");
    let images = directive("img-src")
        .or(default.clone())
        .unwrap_or_else(|| panic!("images unrestricted: {csp}"));
    assert!(
        images
            .iter()
            .all(|s| ["'self'", "'none'", "data:"].contains(&s.as_str())),
        "remote images allowed: {csp}"
    );
    let scripts = directive("script-src")
        .or(default)
        .unwrap_or_else(|| panic!("scripts unrestricted: {csp}"));
    assert!(
        !scripts.iter().any(|s| s == "'unsafe-inline'" || s == "*"),
        "inline scripts allowed: {csp}"
    );
}

#[test]
fn the_console_in_a_browser() {
    if !rig::require_postfix() || !browser::require_browser() {
        return;
    }
    let (milter_port, port) = (Rig::free_port(), Rig::free_port());
    let rig = Rig::start(RigOptions {
        milter: Some(format!("inet:127.0.0.1:{milter_port}")),
        ..RigOptions::default()
    })
    .expect("rig");
    let addr = format!("127.0.0.1:{port}");
    let base = format!("http://{addr}");
    // The API, the console and the milter on one configuration; loopback clients are inbound, and a release goes
    // through the rig's milter-less listener to the sink.
    let site = Site::with_config(
        None,
        &format!(
            "[server]\nlisten = {addr:?}\nmilter = true\n\n\
             [milter]\nlisten = [\"inet:127.0.0.1:{milter_port}\"]\nhttp_listen = \"\"\nlocal_networks = []\n\n\
             [quarantine]\nrelease_relay = {:?}\n",
            rig.release_relay()
        ),
    );
    add_user(&site, ALICE, "operator");
    add_user(&site, VICTOR, "viewer");
    let config = site.config.to_string_lossy().into_owned();
    let served = Daemon::spawn(
        &site,
        "serve.log",
        &["-c", &config, "serve"],
        "milter listening",
    );

    // Two messages through Postfix, both quarantined: the attack, and the hostile one whose HTML would fetch an
    // image from this listener if anything rendered it.
    let images = TcpListener::bind("127.0.0.1:0").expect("image listener");
    images.set_nonblocking(true).expect("non-blocking");
    let image_port = images.local_addr().expect("address").port();
    let internet = Xclient::addr("203.0.113.7");
    for raw in [attack(), hostile(image_port)] {
        let sent = rig.send(
            &Mail::new(
                "billing@attacker.example",
                &["tanaka@corp.example.jp"],
                &raw,
            )
            .xclient(internet.clone()),
        );
        assert_eq!(sent.code, 0, "{}", sent.transcript);
    }
    let ids = quarantined(&site, &[ATTACK_ID, HOSTILE_ID]);
    let (attack_id, hostile_id) = (&ids[0], &ids[1]);

    let b = Browser::start();
    // A wrong password: the login page again, with an error.
    login(&b, &base, (ALICE.0, "not the password"));
    let error = b.find("#error").text();
    assert!(
        b.exists("#login") && !error.is_empty(),
        "not the login page with an error: {}",
        b.find("body").text()
    );
    // The operator: the dashboard, with the operator's navigation and the session cookie as the contract says.
    login(&b, &base, ALICE);
    assert_eq!(
        b.url(),
        format!("{base}/console/"),
        "{}",
        b.find("body").text()
    );
    for id in [
        "#traffic-chart",
        "#top-findings",
        "#held-accounts",
        "a#nav-dashboard",
        "a#nav-quarantine",
        "a#nav-cases",
        "a#nav-history",
        "a#nav-statistics",
        "a#lang-ja",
        "a#lang-en",
        "#logout input[name=csrf]",
    ] {
        b.find(id);
    }
    assert!(
        !b.exists("#nav-users") && !b.exists("#nav-audit"),
        "an operator is not an administrator"
    );
    let session = b.cookie("fumidai_session").expect("the session cookie");
    assert_eq!(session["httpOnly"], true, "{session}");
    assert_eq!(session["sameSite"], "Strict", "{session}");
    assert_eq!(session["path"], "/console", "{session}");
    // In Japanese from here on. The milter writes the dashboard's counts every few seconds: both attack mails
    // appear as malicious, quarantined, with their findings.
    b.follow("a#lang-ja");
    assert!(b.find("#nav-quarantine").text().contains("隔離"));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !b.find("#top-findings").text().contains("VBA_AUTOEXEC") {
        assert!(
            Instant::now() < deadline,
            "no counts on the dashboard: {}",
            served.log()
        );
        std::thread::sleep(Duration::from_millis(500));
        b.goto(&format!("{base}/console/"));
    }
    assert_eq!(
        b.find_all("#traffic-chart rect.malicious").len(),
        1,
        "one day's bar of malicious mail"
    );
    b.screenshot("dashboard");

    // The quarantine: search by part of the subject, open the item, release it.
    b.follow("a#nav-quarantine");
    b.find("#quarantine-search input[name=q]")
        .send_keys("Updated price");
    b.follow("#search-submit");
    assert!(b.url().contains("q="), "{}", b.url());
    let rows: Vec<String> = b
        .find_all("#quarantine-items tr.item")
        .iter()
        .filter_map(|r| r.attr("data-id"))
        .collect();
    assert_eq!(
        rows,
        [attack_id.as_str()],
        "the search finds the attack only"
    );
    b.screenshot("quarantine");
    b.follow(&format!("tr.item[data-id='{attack_id}'] a.item-link"));
    assert_eq!(b.url(), format!("{base}/console/quarantine/{attack_id}"));
    assert_eq!(b.find("#item-subject").text(), "RE: Updated price list");
    assert!(!b.find("#item-findings").text().is_empty());
    assert!(b.find("#item-headers").text().contains(ATTACK_ID));
    assert!(b.find("#item-body").text().contains("enable editing"));
    assert!(b
        .find("#item-attachments")
        .text()
        .contains("Price_list_2022.xlsm"));
    b.screenshot("quarantine-item");
    b.follow("#release");
    assert!(!b.find("#flash").text().is_empty());
    // Back on the item page (its query names what was done).
    let back = b.url();
    assert_eq!(
        back.split('?').next(),
        Some(format!("{base}/console/quarantine/{attack_id}").as_str()),
        "{back}"
    );
    let released = rig
        .wait_for_header("Message-ID", &format!("<{ATTACK_ID}>"), WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}", served.log()));
    assert!(
        released.header("X-Fumidai-Action").is_none(),
        "not re-filtered"
    );

    // The hostile item: its subject is text, nothing of its HTML runs or loads, in the list and on its page.
    b.goto(&format!("{base}/console/quarantine"));
    let row = format!("tr.item[data-id='{hostile_id}'] td.subject");
    assert_eq!(b.find(&row).text(), HOSTILE_SUBJECT);
    b.goto(&format!("{base}/console/quarantine/{hostile_id}"));
    assert_eq!(b.find("#item-subject").text(), HOSTILE_SUBJECT);
    assert_eq!(b.alert_text(), None, "a script ran");
    let off_site = b.execute(
        "return Array.from(document.images).map(i => i.src)\
           .filter(s => !s.startsWith(location.origin + '/') && !s.startsWith('data:'));",
        &[],
    );
    assert_eq!(off_site, serde_json::json!([]), "images from elsewhere");
    let inline = b.execute(
        "return Array.from(document.scripts).filter(s => s.textContent.includes('alert')).length;",
        &[],
    );
    assert_eq!(inline, 0, "the mail's scripts are in the page");
    assert!(!b.source().contains("<script>alert"), "{}", b.source());
    b.screenshot("quarantine-hostile");
    // The same page as served, byte for byte: escaped, and under the CSP.
    let cookie = format!(
        "fumidai_session={}",
        session["value"].as_str().expect("cookie value")
    );
    let page = http(
        &addr,
        "GET",
        &format!("/console/quarantine/{hostile_id}"),
        &[("Cookie", &cookie)],
        b"",
    );
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!page.body.contains("<script>alert"), "{}", page.body);
    assert!(!page.body.contains("<img src=\"http:"), "{}", page.body);
    assert_csp(&page);

    // The viewer: no release or delete on the item page, and a release posted with the viewer's own session and
    // CSRF token is refused; the item stays quarantined.
    b.follow("#logout-submit");
    b.find("#login");
    login(&b, &base, VICTOR);
    assert_eq!(
        b.url(),
        format!("{base}/console/"),
        "{}",
        b.find("body").text()
    );
    b.goto(&format!("{base}/console/quarantine/{hostile_id}"));
    assert_eq!(b.find("#item-subject").text(), HOSTILE_SUBJECT);
    assert!(
        !b.exists("#release") && !b.exists("#delete"),
        "a viewer sees release or delete"
    );
    let csrf = b
        .find("#logout input[name=csrf]")
        .attr("value")
        .expect("a CSRF token");
    let viewer = b.cookie("fumidai_session").expect("the viewer's session");
    let viewer = format!(
        "fumidai_session={}",
        viewer["value"].as_str().unwrap_or_default()
    );
    let post = |path: &str| {
        http(
            &addr,
            "POST",
            path,
            &[
                ("Cookie", &viewer),
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Origin", &base),
            ],
            form(&[("csrf", &csrf)]).as_bytes(),
        )
    };
    let refused = post(&format!("/console/quarantine/{hostile_id}/release"));
    assert_eq!(refused.status, 403, "{}", refused.body);
    // The session and token were good (they sign out): the role is what refused the release.
    assert_eq!(post("/console/logout").status, 303);
    let shown: serde_json::Value = serde_json::from_slice(
        &site
            .ok(&["quarantine", "show", hostile_id, "--json"])
            .stdout,
    )
    .expect("JSON");
    assert!(
        shown["released"].as_array().is_none_or(Vec::is_empty),
        "released by a viewer: {shown}"
    );
    drop(b);

    // Six wrong passwords from one client: the later ones are refused before the password is even checked.
    let mut codes = Vec::new();
    for _ in 0..6 {
        let page = http(&addr, "GET", "/console/login", &[], b"");
        assert_eq!(page.status, 200, "{}", page.body);
        assert_csp(&page);
        let login_cookie = page.cookie("fumidai_login").expect("the login cookie");
        let csrf = input_value(&page.body, "csrf").expect("the login form's CSRF token");
        let tried = http(
            &addr,
            "POST",
            "/console/login",
            &[
                ("Cookie", &format!("fumidai_login={login_cookie}")),
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Origin", &base),
            ],
            form(&[
                ("username", ALICE.0),
                ("password", "guess"),
                ("csrf", &csrf),
            ])
            .as_bytes(),
        );
        codes.push(tried.status);
    }
    assert_eq!(codes[0], 401, "{codes:?}");
    assert_eq!(codes[5], 429, "{codes:?}");
    let limited = codes.iter().position(|&c| c == 429).unwrap_or(codes.len());
    assert!(
        codes[..limited].iter().all(|&c| c == 401) && codes[limited..].iter().all(|&c| c == 429),
        "{codes:?}"
    );

    // Nothing ever fetched the hostile message's image.
    match images.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the image listener was reached: {other:?}"),
    }
    assert!(
        rig.wait_for_header(
            "Message-ID",
            &format!("<{HOSTILE_ID}>"),
            Duration::from_secs(1)
        )
        .is_err(),
        "the hostile message was delivered"
    );
    served.stop();
}
