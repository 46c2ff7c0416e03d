//! The console over real HTTP on real stores (a SQLite file and a PostgreSQL schema): sign-in and its limits,
//! sessions and CSRF, what each role may do, every page in both languages, the audit log naming the user, and
//! hostile mail shown as inert text. The browser's view of the same is in crates/fumidai/tests/console.rs.

mod common;

use common::{event, hostile_macro_mail, quarantine, testdata, Answer, Api, HOSTILE, MACRO_MAIL};
use fumidai_engine::Config;
use fumidai_server::console::new_user;
use fumidai_store::{Role, Traffic};
use hyper::{header, Method, StatusCode};

const PASSWORD: &str = "a long enough password";

/// A browser's state: its cookies and the CSRF token of the last page that had one.
struct Browser<'a> {
    api: &'a Api,
    cookies: Vec<(String, String)>,
    csrf: String,
    /// `Origin` sent with posts (a browser always sends one).
    origin: String,
}

/// The value of the first hidden `csrf` field of a page.
fn csrf_of(page: &str) -> Option<String> {
    let at = page.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    Some(page[at..].split('"').next()?.to_owned())
}

impl<'a> Browser<'a> {
    fn new(api: &'a Api) -> Browser<'a> {
        Browser {
            api,
            cookies: Vec::new(),
            csrf: String::new(),
            origin: api.base.clone(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, answer: &Answer) {
        for value in answer.headers.get_all(header::SET_COOKIE) {
            let value = value.to_str().unwrap();
            let (pair, attributes) = value.split_once(';').unwrap_or((value, ""));
            let (name, val) = pair.split_once('=').unwrap();
            self.cookies.retain(|(k, _)| k != name);
            if !attributes.contains("Max-Age=0") {
                self.cookies.push((name.to_owned(), val.to_owned()));
            }
        }
    }

    async fn get(&mut self, path: &str) -> Answer {
        let cookie = self.cookie_header();
        let answer = self
            .api
            .request_with(Method::GET, path, &[("cookie", &cookie)], None)
            .await;
        self.keep_cookies(&answer);
        if let Some(token) = csrf_of(&String::from_utf8_lossy(&answer.body)) {
            self.csrf = token;
        }
        answer
    }

    /// Posts `fields` as a form, with this browser's CSRF token unless `fields` has its own.
    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let body = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            if !fields.iter().any(|(k, _)| *k == "csrf") {
                form.append_pair("csrf", &self.csrf);
            }
            for (k, v) in fields {
                form.append_pair(k, v);
            }
            form.finish()
        };
        let cookie = self.cookie_header();
        let origin = self.origin.clone();
        let answer = self
            .api
            .request_with(
                Method::POST,
                path,
                &[("cookie", &cookie), ("origin", &origin)],
                Some(("application/x-www-form-urlencoded", body.into_bytes())),
            )
            .await;
        self.keep_cookies(&answer);
        answer
    }

    async fn sign_in(&mut self, name: &str, password: &str) -> Answer {
        let form = self.get("/console/login").await;
        assert_eq!(form.status, StatusCode::OK);
        self.post(
            "/console/login",
            &[("username", name), ("password", password)],
        )
        .await
    }

    /// Signs in and fails the test unless it worked.
    async fn signed_in(api: &'a Api, name: &str) -> Browser<'a> {
        let mut browser = Browser::new(api);
        let answer = browser.sign_in(name, PASSWORD).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", text(&answer));
        assert_eq!(location(&answer), "/console/");
        let home = browser.get("/console/").await;
        assert_eq!(home.status, StatusCode::OK, "{}", text(&home));
        browser
    }
}

/// As the templates escape text (minijinja's HTML escaping).
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('/', "&#x2f;")
}

fn text(answer: &Answer) -> String {
    String::from_utf8_lossy(&answer.body).into_owned()
}

fn location(answer: &Answer) -> &str {
    answer
        .headers
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap())
        .unwrap_or("")
}

async fn add_user(api: &Api, name: &str, role: Role) {
    let user = new_user(name, PASSWORD, role, fumidai_core::unix_now()).unwrap();
    api.store.user_create(&user).await.unwrap();
}

/// The server on `store` with three users: alice (operator), victor (viewer) and root (admin).
async fn start_with_users(store: Box<dyn fumidai_store::Store>, config: Config) -> Api {
    let api = Api::start(store.into(), config).await;
    add_user(&api, "alice", Role::Operator).await;
    add_user(&api, "victor", Role::Viewer).await;
    add_user(&api, "root", Role::Admin).await;
    api
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_sessions_and_csrf() {
    fumidai_store::testing::each_backend(|store, _| async move {
        let api = start_with_users(store, Config::default()).await;

        // Pages send strangers to the sign-in page, and back afterwards.
        let mut browser = Browser::new(&api);
        let away = browser.get("/console/quarantine?q=x").await;
        assert_eq!(away.status, StatusCode::SEE_OTHER);
        assert_eq!(
            location(&away),
            "/console/login?next=%2Fconsole%2Fquarantine%3Fq%3Dx"
        );

        for (name, password) in [("alice", "wrong password!"), ("nobody", PASSWORD), ("", "")] {
            let refused = browser.sign_in(name, password).await;
            assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{name}");
            assert!(text(&refused).contains("id=\"error\""));
            assert!(!browser.cookies.iter().any(|(k, _)| k == "fumidai_session"));
        }

        // The sign-in form's token must match its cookie (login CSRF).
        let mut forged = Browser::new(&api);
        let answer = forged
            .post(
                "/console/login",
                &[
                    ("csrf", "forged"),
                    ("username", "alice"),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN);

        // Names are matched lower-cased; the session cookie is locked down.
        let ok = browser.sign_in("Alice", PASSWORD).await;
        assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", text(&ok));
        let set = ok
            .headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|v| v.starts_with("fumidai_session="))
            .expect("a session cookie");
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
            assert!(set.contains(attribute), "{set}");
        }
        let secret = set["fumidai_session=".len()..].split(';').next().unwrap();
        // Only the secret's hash is stored.
        let stored = api
            .store
            .session_get(&fumidai_server::auth::hash_secret(secret))
            .await
            .unwrap()
            .expect("the session is stored by its hash");
        assert_eq!(stored.user_name, "alice");
        assert!(api.store.session_get(secret).await.unwrap().is_none());

        let home = browser.get("/console/").await;
        assert_eq!(home.status, StatusCode::OK);
        let csp = home.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        for part in [
            "script-src 'self'",
            "img-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(part), "{csp}");
        }
        assert_eq!(home.headers[header::CACHE_CONTROL], "no-store");

        // A form without the session's token, or from another site, changes nothing.
        let whitelisted = || async { api.store.whitelist().await.unwrap().len() };
        let no_token = browser
            .post(
                "/console/whitelist/add",
                &[("csrf", "wrong"), ("pattern", "partner.example")],
            )
            .await;
        assert_eq!(no_token.status, StatusCode::FORBIDDEN);
        browser.origin = "http://evil.example".into();
        let cross_site = browser
            .post("/console/whitelist/add", &[("pattern", "partner.example")])
            .await;
        assert_eq!(cross_site.status, StatusCode::FORBIDDEN);
        assert_eq!(whitelisted().await, 0);
        browser.origin = api.base.clone();
        let ok = browser
            .post(
                "/console/whitelist/add",
                &[("pattern", "Partner.Example"), ("comment", "取引先")],
            )
            .await;
        assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", text(&ok));
        assert_eq!(location(&ok), "/console/history?done=whitelist_added");
        assert_eq!(whitelisted().await, 1);
        let flash = browser.get(location(&ok)).await;
        assert!(text(&flash).contains("id=\"flash\""));

        let audit = api.store.audit_log(&Default::default()).await.unwrap();
        assert_eq!(
            (
                audit[0].actor.as_str(),
                audit[0].action.as_str(),
                audit[0].target.as_str()
            ),
            ("user:alice", "whitelist.add", "partner.example")
        );

        // Signing out ends the session in the store, not just in the browser.
        let out = browser.post("/console/logout", &[]).await;
        assert_eq!(out.status, StatusCode::SEE_OTHER);
        assert!(api
            .store
            .session_get(&stored.id_hash)
            .await
            .unwrap()
            .is_none());
        browser
            .cookies
            .push(("fumidai_session".into(), secret.to_owned()));
        assert_eq!(browser.get("/console/").await.status, StatusCode::SEE_OTHER);

        // A new password ends the user's sessions.
        let victor = Browser::signed_in(&api, "victor").await;
        let mut root = Browser::signed_in(&api, "root").await;
        let set = root
            .post(
                "/console/users/password",
                &[("name", "victor"), ("password", "another long password")],
            )
            .await;
        assert_eq!(set.status, StatusCode::SEE_OTHER, "{}", text(&set));
        let mut victor = victor;
        assert_eq!(victor.get("/console/").await.status, StatusCode::SEE_OTHER);
        assert_eq!(
            Browser::new(&api)
                .sign_in("victor", "another long password")
                .await
                .status,
            StatusCode::SEE_OTHER
        );
        api.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_end_when_idle_or_old_and_with_their_user_and_are_purged() {
    fumidai_store::testing::each_backend(|store, _| async move {
        let api = start_with_users(store, Config::default()).await;
        let now = fumidai_core::unix_now();
        // A session as sign-in makes one, with its times set: (last seen, expires).
        let session =
            |secret: &str, last_seen_at: i64, expires_at: i64| fumidai_store::ConsoleSession {
                id_hash: fumidai_server::auth::hash_secret(secret),
                user_name: "alice".into(),
                csrf: "token".into(),
                created_at: now - 7200,
                last_seen_at,
                expires_at,
                peer: "192.0.2.1".into(),
            };
        let fresh = session("fresh-secret", now - 30 * 60, now + 3600);
        let idle = session("idle-secret", now - 61 * 60, now + 3600);
        let old = session("old-secret", now - 60, now - 1);
        for s in [&fresh, &idle, &old] {
            api.store.session_create(s).await.unwrap();
        }
        let mut browser = Browser::new(&api);
        for (secret, stored, works) in [
            ("fresh-secret", &fresh, true),
            ("idle-secret", &idle, false),
            ("old-secret", &old, false),
        ] {
            browser.cookies = vec![("fumidai_session".into(), secret.into())];
            let answer = browser.get("/console/").await;
            let expected = if works {
                StatusCode::OK
            } else {
                StatusCode::SEE_OTHER
            };
            assert_eq!(answer.status, expected, "{secret}");
            // An ended session is deleted, not just refused.
            let kept = api.store.session_get(&stored.id_hash).await.unwrap();
            assert_eq!(kept.is_some(), works, "{secret}");
        }
        // Used after more than a minute, the fresh one is marked as seen now (so it stays alive while used).
        let seen = api
            .store
            .session_get(&fresh.id_hash)
            .await
            .unwrap()
            .unwrap();
        assert!(seen.last_seen_at >= now, "{seen:?}");
        // An ended session nobody presents again is deleted when a server starts (and every 10 minutes).
        let forgotten = session("forgotten-secret", now - 2 * 3600, now + 3600);
        api.store.session_create(&forgotten).await.unwrap();
        let second = Api::start(api.store.clone(), Config::default()).await;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while api
            .store
            .session_get(&forgotten.id_hash)
            .await
            .unwrap()
            .is_some()
        {
            assert!(
                std::time::Instant::now() < deadline,
                "the ended session was not purged"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(
            api.store
                .session_get(&fresh.id_hash)
                .await
                .unwrap()
                .is_some(),
            "a live one stays"
        );
        second.stop().await;
        // Removing the user ends the session.
        assert!(api.store.user_delete("alice").await.unwrap());
        browser.cookies = vec![("fumidai_session".into(), "fresh-secret".into())];
        assert_eq!(browser.get("/console/").await.status, StatusCode::SEE_OTHER);
        api.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_failures_are_rate_limited() {
    let mut config = Config::default();
    config.server.login_failures = 3;
    fumidai_store::testing::each_backend(move |store, _| {
        let config = config.clone();
        async move {
            let api = start_with_users(store, config).await;
            let mut browser = Browser::new(&api);
            for _ in 0..3 {
                assert_eq!(
                    browser.sign_in("alice", "not the password").await.status,
                    StatusCode::UNAUTHORIZED
                );
            }
            let limited = browser.sign_in("alice", "not the password").await;
            assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
            let wait: i64 = limited.headers[header::RETRY_AFTER]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=900).contains(&wait), "{wait}");
            // Even the right password waits: the guesser cannot tell.
            assert_eq!(
                browser.sign_in("alice", PASSWORD).await.status,
                StatusCode::TOO_MANY_REQUESTS
            );
            // Other users are not locked out by it.
            assert_eq!(
                browser.sign_in("victor", PASSWORD).await.status,
                StatusCode::SEE_OTHER
            );
            api.stop().await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_decide_who_releases_deletes_downloads_and_manages() {
    fumidai_store::testing::each_backend(|store, _| async move {
        let api = start_with_users(store, Config::default()).await;
        let now = fumidai_core::unix_now();
        let macro_mail = testdata(MACRO_MAIL);
        let id = quarantine(&api, &macro_mail, now - 60).await;
        let item = format!("/console/quarantine/{id}");

        let mut viewer = Browser::signed_in(&api, "victor").await;
        let page = viewer.get(&item).await;
        assert_eq!(page.status, StatusCode::OK);
        let body = text(&page);
        assert!(
            !body.contains("id=\"release\""),
            "a viewer has no release button"
        );
        assert!(!body.contains("attachment-download"));
        for (method, path) in [
            (Method::POST, format!("{item}/release")),
            (Method::POST, format!("{item}/delete")),
            (Method::GET, format!("{item}/original")),
            (Method::GET, format!("{item}/attachments/0")),
            (Method::GET, "/console/users".to_owned()),
            (Method::GET, "/console/audit".to_owned()),
            (Method::POST, "/console/whitelist/add".to_owned()),
        ] {
            let answer = if method == Method::POST {
                viewer.post(&path, &[("pattern", "x.example")]).await
            } else {
                viewer.get(&path).await
            };
            assert_eq!(answer.status, StatusCode::FORBIDDEN, "{method} {path}");
        }
        assert!(api.store.quarantine_get(&id).await.unwrap().is_some());

        let mut operator = Browser::signed_in(&api, "alice").await;
        let page = text(&operator.get(&item).await);
        assert!(page.contains("id=\"release\""));
        // The attachment downloads as bytes, under a name cleaned of anything a file system would act on.
        let download = operator.get(&format!("{item}/attachments/0")).await;
        assert_eq!(download.status, StatusCode::OK);
        assert_eq!(
            download.headers[header::CONTENT_TYPE],
            "application/octet-stream"
        );
        let disposition = download.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap();
        assert!(
            disposition.starts_with("attachment; filename=\""),
            "{disposition}"
        );
        assert_eq!(&download.body[..2], b"PK", "the .xlsm itself");
        assert_eq!(
            operator.get(&format!("{item}/attachments/9")).await.status,
            StatusCode::NOT_FOUND
        );
        let original = operator.get(&format!("{item}/original")).await;
        assert_eq!(&original.body[..], &macro_mail[..]);
        // No relay configured: the release is refused and the item stays.
        let release = operator.post(&format!("{item}/release"), &[]).await;
        assert_eq!(release.status, StatusCode::CONFLICT);
        assert_eq!(
            operator.get("/console/users").await.status,
            StatusCode::FORBIDDEN
        );
        let deleted = operator.post(&format!("{item}/delete"), &[]).await;
        assert_eq!(deleted.status, StatusCode::SEE_OTHER);
        assert!(api.store.quarantine_get(&id).await.unwrap().is_none());
        assert_eq!(operator.get(&item).await.status, StatusCode::NOT_FOUND);

        let mut admin = Browser::signed_in(&api, "root").await;
        let added = admin
            .post(
                "/console/users/add",
                &[("name", "Eve"), ("password", PASSWORD), ("role", "viewer")],
            )
            .await;
        assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", text(&added));
        let eve = api.store.user_get("eve").await.unwrap().expect("eve");
        assert_eq!(eve.role, Role::Viewer);
        assert!(eve.password_hash.starts_with("$argon2id$"));
        assert_eq!(
            admin
                .post(
                    "/console/users/role",
                    &[("name", "eve"), ("role", "operator")]
                )
                .await
                .status,
            StatusCode::SEE_OTHER
        );
        assert_eq!(
            api.store.user_get("eve").await.unwrap().unwrap().role,
            Role::Operator
        );
        // Nobody demotes or removes themselves from the console.
        assert_eq!(
            admin
                .post(
                    "/console/users/role",
                    &[("name", "root"), ("role", "viewer")]
                )
                .await
                .status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            admin
                .post("/console/users/delete", &[("name", "root")])
                .await
                .status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            admin
                .post("/console/users/delete", &[("name", "eve")])
                .await
                .status,
            StatusCode::SEE_OTHER
        );
        assert!(api.store.user_get("eve").await.unwrap().is_none());

        let audit = text(&admin.get("/console/audit").await);
        for line in [
            "user:alice",
            "quarantine.delete",
            "user:root",
            "user.add",
            "user.role",
            "user.delete",
        ] {
            assert!(audit.contains(line), "{line}");
        }
        api.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_renders_in_both_languages_and_mail_stays_text() {
    fumidai_store::testing::each_backend(|store, _| async move {
        let api = start_with_users(store, Config::default()).await;
        let now = fumidai_core::unix_now();
        // The hostile mail: a markup subject, and an HTML body that would run script and fetch remote images.
        let raw = String::from_utf8(hostile_macro_mail()).unwrap().replacen(
            "\r\n\r\n",
            "\r\nX-Evil: <img src=\"http://evil.example/h.png\">\r\n\r\n",
            1,
        );
        let id = quarantine(&api, raw.as_bytes(), now - 120).await;
        api.store
            .traffic_add(&[
                Traffic {
                    at: now,
                    direction: "inbound".into(),
                    verdict: "malicious".into(),
                    action: "quarantine".into(),
                    findings: vec!["VBA_AUTOEXEC".into()],
                },
                Traffic {
                    at: now,
                    direction: "inbound".into(),
                    verdict: "clean".into(),
                    action: "deliver".into(),
                    findings: vec![],
                },
            ])
            .await
            .unwrap();

        // A case with its evidence and one notice sent.
        let rules = fumidai_alerts::AlertsConfig::default().case_rules();
        let case = api
            .store
            .event_record(&event(1, "partner.co.jp", now - 600), &rules, false)
            .await
            .unwrap()
            .case_id;
        api.store
            .notification_record(&fumidai_store::Notification {
                case_id: case,
                organisation: "partner.co.jp".into(),
                kind: fumidai_store::EventKind::Springboard,
                sent_at: now - 300,
                recipient: "abuse@partner.co.jp".into(),
                language: "ja".into(),
                reference: "<notice-1@fumidai.example>".into(),
            })
            .await
            .unwrap();

        let mut admin = Browser::signed_in(&api, "root").await;
        let pages = [
            "/console/".to_owned(),
            "/console/quarantine".to_owned(),
            format!("/console/quarantine?q={}", &id[..8]),
            format!("/console/quarantine/{id}"),
            "/console/cases".to_owned(),
            format!("/console/cases/{case}"),
            "/console/history?sender=a%40partner.example&local=b%40example.org".to_owned(),
            "/console/statistics".to_owned(),
            "/console/users".to_owned(),
            "/console/audit".to_owned(),
        ];
        for (lang, word) in [("ja", "隔離"), ("en", "Quarantine")] {
            let switched = admin
                .get(&format!("/console/lang?to={lang}&back=%2Fconsole%2Fcases"))
                .await;
            assert_eq!(location(&switched), "/console/cases");
            for page in &pages {
                let answer = admin.get(page).await;
                let body = text(&answer);
                assert_eq!(answer.status, StatusCode::OK, "{lang} {page}: {body}");
                assert!(
                    body.contains(&format!("<html lang=\"{lang}\">")),
                    "{lang} {page}"
                );
                assert!(body.contains(word), "{lang} {page}");
                assert!(!body.contains("<script>alert"), "{lang} {page}");
                assert!(!body.contains("<img"), "{lang} {page}");
            }
        }
        // The language switch never sends anyone off the console.
        let off = admin
            .get("/console/lang?to=en&back=https%3A%2F%2Fevil.example%2F")
            .await;
        assert_eq!(location(&off), "/console/");

        let item = text(&admin.get(&format!("/console/quarantine/{id}")).await);
        assert!(
            item.contains(&format!(
                "<h1 id=\"item-subject\">{}</h1>",
                escaped(HOSTILE)
            )),
            "{item}"
        );
        assert!(
            item.contains(&escaped("X-Evil: <img src=\"http://evil.example/h.png\">")),
            "the header, as text"
        );
        assert!(item.contains("VBA_AUTOEXEC"), "the findings");

        let case_page = text(&admin.get(&format!("/console/cases/{case}")).await);
        assert!(case_page.contains("abuse@partner.co.jp"), "the notice sent");
        assert!(case_page.contains(&escaped("<notice-1@fumidai.example>")));
        assert!(case_page.contains("192.0.2.7"), "the evidence's source");
        assert!(
            case_page.contains(&escaped(HOSTILE)),
            "the sample's subject, as text"
        );

        let dashboard = text(&admin.get("/console/").await);
        assert!(dashboard.contains("<svg id=\"traffic-chart\""));
        assert!(dashboard.contains("VBA_AUTOEXEC"), "top findings");
        assert!(
            dashboard.contains("class=\"malicious\""),
            "a bar for the malicious message"
        );

        let search = text(
            &admin
                .get("/console/quarantine?q=nothing-matches-this")
                .await,
        );
        assert!(!search.contains("class=\"item\""));
        let found = text(
            &admin
                .get(&format!("/console/quarantine?q={}", &id[..8]))
                .await,
        );
        assert!(found.contains(&format!("data-id=\"{id}\"")));

        assert_eq!(
            admin.get("/console/no-such-page").await.status,
            StatusCode::NOT_FOUND
        );
        api.stop().await;
    })
    .await;
}
