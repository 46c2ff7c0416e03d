//! The HTTP API over real HTTP, on real stores (a SQLite file and a PostgreSQL schema): tokens and scopes, a
//! real scan, the quarantine with a real message, the whitelist and history, cases and statistics, the outbound
//! watch, and the audit log naming the token behind every change. Values from mail come back untouched.

mod common;

use common::{event, hostile_macro_mail, quarantine, Api, HOSTILE};
use fumidai_alerts::AlertsConfig;
use fumidai_engine::{Config, Envelope};
use fumidai_server::new_token;
use fumidai_store::{Direction, EventKind, Exchange, Notification, OutboundTally};
use hyper::header::{self, HeaderValue};
use hyper::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_needs_no_token_and_everything_else_a_token_with_the_scope() {
    fumidai_store::testing::each_backend(|store, _| async move {
        let api = Api::start(store.into(), Config::default()).await;

        let doc = api
            .request(Method::GET, "/api/openapi.json", None, None)
            .await;
        assert_eq!(doc.status, StatusCode::OK);
        assert_eq!(doc.json()["openapi"], "3.0.3");

        let none = api
            .request(Method::GET, "/api/v1/whitelist", None, None)
            .await;
        assert_eq!(none.status, StatusCode::UNAUTHORIZED);
        assert_eq!(none.error(), "unauthorized");
        assert_eq!(
            none.headers.get(header::WWW_AUTHENTICATE),
            Some(&HeaderValue::from_static("Bearer"))
        );

        let (secret, id) = api.token(&["history:read"]).await;
        let (wrong, _) = new_token("never stored", &["history:read"], 0).unwrap();
        for bad in [
            wrong.as_str(),
            "fdt_short",
            &secret[..secret.len() - 1],
            &secret.to_uppercase(),
        ] {
            let answer = api.get("/api/v1/whitelist", bad).await;
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{bad}");
            assert_eq!(answer.error(), "unauthorized");
            assert!(answer.headers.contains_key(header::WWW_AUTHENTICATE));
        }

        let ok = api.get("/api/v1/whitelist", &secret).await;
        assert_eq!(ok.status, StatusCode::OK);
        assert_eq!(ok.json(), json!({"items": []}));
        // The first use is recorded; later ones within the minute are not written again.
        let used = api.store.tokens().await.unwrap();
        let used_at = used
            .iter()
            .find(|t| t.id == id)
            .and_then(|t| t.last_used_at);
        assert!(used_at.is_some(), "{used:?}");

        let forbidden = api.get("/api/v1/quarantine", &secret).await;
        assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
        assert_eq!(forbidden.error(), "forbidden");
        let forbidden = api
            .post_json(
                "/api/v1/whitelist",
                &secret,
                json!({"pattern": "partner.example"}),
            )
            .await;
        assert_eq!(forbidden.status, StatusCode::FORBIDDEN, "read is not write");

        assert!(api
            .store
            .token_revoke(&id, fumidai_core::unix_now())
            .await
            .unwrap());
        let revoked = api.get("/api/v1/whitelist", &secret).await;
        assert_eq!(revoked.status, StatusCode::UNAUTHORIZED);
        assert_eq!(revoked.error(), "unauthorized");

        let nowhere = api
            .request(Method::GET, "/api/v1/nowhere", None, None)
            .await;
        assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
        assert_eq!(nowhere.error(), "not_found");
        let wrong_method = api
            .request(Method::PATCH, "/api/v1/whitelist", None, None)
            .await;
        assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(wrong_method.error(), "method_not_allowed");
        api.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_returns_the_report_the_cli_prints() {
    fumidai_store::testing::each_backend(|store, _| async move {
        let mut config = Config::default();
        config.milter.max_message_bytes = 64 << 10;
        let api = Api::start(store.into(), config).await;
        let (secret, _) = api.token(&["scan"]).await;
        let raw = hostile_macro_mail();

        let answer = api
            .request(
                Method::POST,
                "/api/v1/scan",
                Some(&secret),
                Some(("message/rfc822", raw.clone())),
            )
            .await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        let report = answer.json();
        assert_eq!(report["verdict"], "malicious");
        let ids: Vec<&str> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap())
            .collect();
        assert!(ids.contains(&"VBA_AUTOEXEC"), "{ids:?}");
        // Markup from the mail is a JSON string, byte for byte.
        assert_eq!(report["subject"], HOSTILE);
        assert!(answer
            .body
            .windows(HOSTILE.len())
            .any(|w| w == HOSTILE.as_bytes()));
        // The same JSON as the engine's report serialised (the CLI's line), but for the time taken.
        let mut expected =
            serde_json::to_value(api.engine.scan(&raw, &Envelope::default()).unwrap()).unwrap();
        let mut got = report.clone();
        expected["elapsed_us"] = json!(0);
        got["elapsed_us"] = json!(0);
        assert_eq!(got, expected);

        let octets = api
            .request(
                Method::POST,
                "/api/v1/scan",
                Some(&secret),
                Some(("application/octet-stream", raw.clone())),
            )
            .await;
        assert_eq!(octets.status, StatusCode::OK);

        let oversize = api
            .request(
                Method::POST,
                "/api/v1/scan",
                Some(&secret),
                Some(("message/rfc822", vec![b'a'; (64 << 10) + 1])),
            )
            .await;
        assert_eq!(oversize.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(oversize.error(), "too_large");

        let json_body = api
            .request(
                Method::POST,
                "/api/v1/scan",
                Some(&secret),
                Some(("application/json", b"{}".to_vec())),
            )
            .await;
        assert_eq!(json_body.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(json_body.error(), "unsupported_media_type");
        // An empty message is a message too: nothing in it.
        let empty = api
            .request(
                Method::POST,
                "/api/v1/scan",
                Some(&secret),
                Some(("message/rfc822", Vec::new())),
            )
            .await;
        assert_eq!(
            empty.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&empty.body)
        );
        assert_eq!(empty.json()["verdict"], "clean");
        let nothing = api
            .request(Method::POST, "/api/v1/scan", Some(&secret), None)
            .await;
        assert_eq!(nothing.status, StatusCode::BAD_REQUEST);
        assert_eq!(nothing.error(), "bad_request");
        api.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quarantine_is_listed_shown_downloaded_released_and_deleted() {
    fumidai_store::testing::each_backend(|store, _| async move {
        // A relay that refuses: a port nothing listens on.
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let refusing = closed.local_addr().unwrap().to_string();
        drop(closed);
        let mut with_relay = Config::default();
        with_relay.quarantine.release_relay = refusing.clone();

        let api = Api::start(store.into(), Config::default()).await;
        let raw = hostile_macro_mail();
        let now = fumidai_core::unix_now();
        let id = quarantine(&api, &raw, now - 60).await;
        let (reader, _) = api.token(&["quarantine:read"]).await;
        let (writer, writer_id) = api.token(&["quarantine:write", "audit:read"]).await;

        let list = api.get("/api/v1/quarantine", &reader).await;
        assert_eq!(list.status, StatusCode::OK);
        let items = list.json()["items"].as_array().unwrap().clone();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["id"], id.as_str());
        assert_eq!(items[0]["subject"], HOSTILE);
        assert_eq!(items[0]["verdict"], "malicious");
        assert_eq!(items[0]["size"], raw.len());
        assert!(
            items[0].get("report").is_none(),
            "lists leave the report out"
        );
        assert!(items[0].get("report_json").is_none());
        for (query, expected) in [
            ("finding=VBA_AUTOEXEC", 1),
            ("finding=NO_SUCH_FINDING", 0),
            ("sender=AP%40EXAMPLE", 1),
            ("recipient=victim", 1),
            ("recipient=someone-else", 0),
            ("text=%3Cscript%3E", 1),
            ("text=vba_autoexec", 1),
            ("text=no%20such%20text", 0),
            (&format!("since={now}"), 0),
            (&format!("since={}&until={now}&limit=1", now - 120), 1),
        ] {
            let answer = api
                .get(&format!("/api/v1/quarantine?{query}"), &reader)
                .await;
            assert_eq!(answer.status, StatusCode::OK, "{query}");
            assert_eq!(
                answer.json()["items"].as_array().unwrap().len(),
                expected,
                "{query}"
            );
        }
        for query in [
            "limit=0",
            "since=yesterday",
            "colour=red",
            "sender=a%00b",
            "limit=1&limit=2",
        ] {
            let answer = api
                .get(&format!("/api/v1/quarantine?{query}"), &reader)
                .await;
            assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{query}");
            assert_eq!(answer.error(), "bad_request");
        }

        let shown = api.get(&format!("/api/v1/quarantine/{id}"), &reader).await;
        assert_eq!(shown.status, StatusCode::OK);
        let shown = shown.json();
        assert_eq!(shown["report"]["verdict"], "malicious");
        assert_eq!(shown["report"]["subject"], HOSTILE);
        assert_eq!(shown["released"], json!([]));
        let absent = api
            .get("/api/v1/quarantine/20000101T000000-0000000000AA", &reader)
            .await;
        assert_eq!(absent.status, StatusCode::NOT_FOUND);
        assert_eq!(absent.error(), "not_found");
        let bad = api.get("/api/v1/quarantine/not%20an%20id", &reader).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);

        let path = format!("/api/v1/quarantine/{id}/original");
        assert_eq!(api.get(&path, &reader).await.status, StatusCode::FORBIDDEN);
        let original = api.get(&path, &writer).await;
        assert_eq!(original.status, StatusCode::OK);
        assert_eq!(original.body.as_ref(), raw.as_slice(), "byte for byte");
        assert_eq!(
            original.headers.get(header::CONTENT_TYPE).unwrap(),
            "application/octet-stream"
        );
        assert_eq!(
            original
                .headers
                .get(header::CONTENT_DISPOSITION)
                .unwrap()
                .to_str()
                .unwrap(),
            format!("attachment; filename=\"{id}.eml\"")
        );

        let release = format!("/api/v1/quarantine/{id}/release");
        let no_relay = api
            .request(Method::POST, &release, Some(&writer), None)
            .await;
        assert_eq!(no_relay.status, StatusCode::CONFLICT);
        assert_eq!(no_relay.error(), "no_relay");
        assert!(no_relay.json()["message"]
            .as_str()
            .unwrap()
            .contains("release_relay"));

        let deleted = api
            .delete(&format!("/api/v1/quarantine/{id}"), &writer)
            .await;
        assert_eq!(deleted.status, StatusCode::OK);
        assert_eq!(deleted.json(), json!({"id": id, "deleted": true}));
        let again = api
            .delete(&format!("/api/v1/quarantine/{id}"), &writer)
            .await;
        assert_eq!(again.status, StatusCode::NOT_FOUND);
        assert_eq!(
            api.get("/api/v1/quarantine", &reader).await.json(),
            json!({"items": []})
        );
        assert_eq!(
            api.audit(&writer).await,
            vec![(
                format!("token:{writer_id}"),
                "quarantine.delete".to_owned(),
                id.clone()
            )]
        );
        let store = api.store.clone();
        api.stop().await;

        // With a relay configured that refuses: 502, nothing recorded as released, nothing audited.
        let api = Api::start(store, with_relay).await;
        let id = quarantine(&api, &raw, now).await;
        let refused = api
            .request(
                Method::POST,
                &format!("/api/v1/quarantine/{id}/release"),
                Some(&writer),
                None,
            )
            .await;
        assert_eq!(refused.status, StatusCode::BAD_GATEWAY);
        assert_eq!(refused.error(), "relay_refused");
        assert!(refused.json()["message"]
            .as_str()
            .unwrap()
            .contains(&refusing));
        let item = api.store.quarantine_get(&id).await.unwrap().unwrap();
        assert!(item.released.is_empty());
        assert_eq!(api.audit(&writer).await.len(), 1, "only the deletion");
        api.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whitelist_and_the_history_lookup() {
    fumidai_store::testing::each_backend(|store, _| async move {
        let mut config = Config::default();
        config.sender.own_domains = vec!["corp.example.jp".into()];
        let api = Api::start(store.into(), config).await;
        let (reader, _) = api.token(&["history:read"]).await;
        let (writer, writer_id) = api.token(&["whitelist:write", "audit:read"]).await;

        let added = api
            .post_json(
                "/api/v1/whitelist",
                &writer,
                json!({"pattern": "*.Partner.example.jp", "comment": HOSTILE}),
            )
            .await;
        assert_eq!(added.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&added.body));
        let entry = added.json();
        assert_eq!(entry["pattern"], "partner.example.jp");
        assert_eq!(entry["comment"], HOSTILE);
        let listed = api.get("/api/v1/whitelist", &reader).await.json();
        assert_eq!(listed["items"], json!([entry]));

        for (body, status) in [
            (json!({"pattern": "not a domain"}), StatusCode::BAD_REQUEST),
            (json!({"pattern": "x.example", "colour": "red"}), StatusCode::BAD_REQUEST),
            (json!({"comment": "no pattern"}), StatusCode::BAD_REQUEST),
            (json!({"pattern": "x.example", "comment": "a\u{0}b"}), StatusCode::BAD_REQUEST),
        ] {
            let answer = api.post_json("/api/v1/whitelist", &writer, body.clone()).await;
            assert_eq!(answer.status, status, "{body}");
            assert_eq!(answer.error(), "bad_request");
        }
        let form = api
            .request(
                Method::POST,
                "/api/v1/whitelist",
                Some(&writer),
                Some(("application/x-www-form-urlencoded", b"pattern=x.example".to_vec())),
            )
            .await;
        assert_eq!(form.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

        // The history: a sender the organisation wrote to, one it never did, and the whitelisted domain.
        let now = fumidai_core::unix_now();
        api.store
            .record(&[Exchange {
                local: "tanaka@corp.example.jp".into(),
                external: "ken@supplier.example.jp".into(),
                direction: Direction::Outbound,
                at: now - 86_400,
            }])
            .await
            .unwrap();
        let known = api
            .get(
                "/api/v1/history/lookup?sender=ken%40supplier.example.jp&local=tanaka%40corp.example.jp",
                &reader,
            )
            .await;
        assert_eq!(known.status, StatusCode::OK);
        let known = known.json();
        assert_eq!(known["whitelisted"], false);
        assert_eq!(known["days_since_last"], 1);
        assert_eq!(known["findings"], json!([]));
        assert_eq!(known["pairs"][0]["local"], "tanaka@corp.example.jp");
        assert_eq!(known["pairs"][0]["address"]["outbound_count"], 1);
        let stranger = api
            .get(
                "/api/v1/history/lookup?sender=x%40stranger.example&local=tanaka%40corp.example.jp&local=sato%40corp.example.jp",
                &reader,
            )
            .await
            .json();
        assert_eq!(stranger["findings"][0]["id"], "FIRST_CONTACT");
        assert_eq!(stranger["pairs"].as_array().unwrap().len(), 2);
        assert_eq!(stranger["pairs"][0]["address"], Value::Null);
        let whitelisted = api
            .get(
                "/api/v1/history/lookup?sender=a%40mail.partner.example.jp&local=tanaka%40corp.example.jp",
                &reader,
            )
            .await
            .json();
        assert_eq!(whitelisted["whitelisted"], true);
        for query in ["local=tanaka%40corp.example.jp", "sender=a%40b.example", "sender=a%40b.example&local=x&at=now"] {
            let answer = api.get(&format!("/api/v1/history/lookup?{query}"), &reader).await;
            assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{query}");
        }
        // Junk that is no address is looked up as such: nothing known, never a server error.
        let junk = api.get("/api/v1/history/lookup?sender=%3C%3E&local=%40", &reader).await;
        assert_eq!(junk.status, StatusCode::OK, "{}", String::from_utf8_lossy(&junk.body));

        let removed = api.delete("/api/v1/whitelist/partner.example.jp", &writer).await;
        assert_eq!(removed.status, StatusCode::OK);
        assert_eq!(removed.json(), json!({"pattern": "partner.example.jp", "removed": true}));
        let again = api.delete("/api/v1/whitelist/partner.example.jp", &writer).await;
        assert_eq!(again.status, StatusCode::NOT_FOUND);
        let bad = api.delete("/api/v1/whitelist/no%20pattern", &writer).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert_eq!(api.get("/api/v1/whitelist", &reader).await.json(), json!({"items": []}));

        let actor = format!("token:{writer_id}");
        assert_eq!(
            api.audit(&writer).await,
            vec![
                (actor.clone(), "whitelist.remove".to_owned(), "partner.example.jp".to_owned()),
                (actor, "whitelist.add".to_owned(), "partner.example.jp".to_owned()),
            ]
        );
        api.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cases_change_state_and_count_in_the_statistics() {
    fumidai_store::testing::each_backend(|store, _| async move {
        let api = Api::start(store.into(), Config::default()).await;
        let (reader, _) = api.token(&["alerts:read", "stats:read"]).await;
        let (writer, writer_id) = api.token(&["alerts:write", "audit:read"]).await;
        let rules = AlertsConfig::default().case_rules();
        // 2022-03-15 12:00 JST.
        let observed = 1_647_313_200;
        let recorded = api
            .store
            .event_record(&event(1, "partner.co.jp", observed), &rules, false)
            .await
            .unwrap();
        let case = recorded.case_id;

        let list = api
            .get("/api/v1/cases?state=new&kind=springboard", &reader)
            .await;
        assert_eq!(list.status, StatusCode::OK);
        let items = list.json()["items"].as_array().unwrap().clone();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["id"], case);
        assert_eq!(items[0]["organisation"], "partner.co.jp");
        assert_eq!(
            items[0]["first_seen_jst"],
            fumidai_alerts::notice::jst(observed)
        );
        assert!(items[0].get("samples").is_none());
        assert_eq!(
            api.get("/api/v1/cases?state=resolved", &reader)
                .await
                .json(),
            json!({"items": []})
        );
        for query in ["state=open", "kind=spam", "limit=5000"] {
            assert_eq!(
                api.get(&format!("/api/v1/cases?{query}"), &reader)
                    .await
                    .status,
                StatusCode::BAD_REQUEST,
                "{query}"
            );
        }

        let shown = api
            .get(&format!("/api/v1/cases/{case}"), &reader)
            .await
            .json();
        assert_eq!(shown["samples"][0]["subject"], HOSTILE);
        assert_eq!(
            api.get("/api/v1/cases/999999", &reader).await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            api.get("/api/v1/cases/abc", &reader).await.status,
            StatusCode::BAD_REQUEST
        );

        let state_path = format!("/api/v1/cases/{case}/state");
        assert_eq!(
            api.post_json(&state_path, &reader, json!({"state": "acknowledged"}))
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        let acked = api
            .post_json(&state_path, &writer, json!({"state": "acknowledged"}))
            .await;
        assert_eq!(
            acked.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&acked.body)
        );
        assert_eq!(acked.json()["state"], "acknowledged");
        let by_hand = api
            .post_json(&state_path, &writer, json!({"state": "notified"}))
            .await;
        assert_eq!(by_hand.status, StatusCode::BAD_REQUEST);
        let absent = api
            .post_json(
                "/api/v1/cases/999999/state",
                &writer,
                json!({"state": "resolved"}),
            )
            .await;
        assert_eq!(absent.status, StatusCode::NOT_FOUND);
        assert_eq!(
            api.audit(&writer).await,
            vec![(
                format!("token:{writer_id}"),
                "case.state".to_owned(),
                case.to_string()
            )]
        );

        // One organisation notified in March 2022 (JST).
        assert!(api
            .store
            .notification_record(&Notification {
                case_id: case,
                organisation: "partner.co.jp".into(),
                kind: EventKind::Springboard,
                sent_at: observed + 3_600,
                recipient: "abuse@partner.co.jp".into(),
                language: "ja".into(),
                reference: "<notice-1@fumidai.example>".into(),
            })
            .await
            .unwrap());
        let stats = api
            .get("/api/v1/statistics?since=2022-02&until=2022-04", &reader)
            .await;
        assert_eq!(
            stats.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&stats.body)
        );
        let stats = stats.json();
        assert_eq!(
            (stats["since"].as_str(), stats["until"].as_str()),
            (Some("2022-02"), Some("2022-04"))
        );
        assert_eq!(
            stats["total"],
            json!({"springboard": 1, "impersonation": 0, "total": 1})
        );
        let months: Vec<(String, u64)> = stats["months"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["month"].as_str().unwrap().to_owned(),
                    m["total"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            months,
            vec![
                ("2022-02".into(), 0),
                ("2022-03".into(), 1),
                ("2022-04".into(), 0)
            ]
        );
        let defaulted = api
            .get("/api/v1/statistics?until=2022-04", &reader)
            .await
            .json();
        assert_eq!(defaulted["since"], "2022-03", "from the first notice");
        for query in [
            "since=2022-13",
            "since=March",
            "since=2022-05&until=2022-04",
        ] {
            let answer = api
                .get(&format!("/api/v1/statistics?{query}"), &reader)
                .await;
            assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{query}");
        }
        api.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_outbound_accounts_are_listed_and_released() {
    fumidai_store::testing::each_backend(|store, _| async move {
        let api = Api::start(store.into(), Config::default()).await;
        let (reader, _) = api.token(&["outbound:read"]).await;
        let (writer, writer_id) = api.token(&["outbound:write", "audit:read"]).await;
        let now = fumidai_core::unix_now();
        let window = Config::default().outbound.window_seconds();
        for (account, messages) in [("held@corp.example.jp", 300), ("busy@corp.example.jp", 12)] {
            api.store
                .outbound_add(
                    &OutboundTally {
                        account: account.into(),
                        at: now - 30,
                        messages,
                        recipients: messages,
                        new_recipients: 0,
                        risky: 0,
                    },
                    window,
                )
                .await
                .unwrap();
        }
        assert!(api
            .store
            .outbound_hold("held@corp.example.jp", now - 20, "messages 300 > 200")
            .await
            .unwrap());

        let status = api.get("/api/v1/outbound", &reader).await;
        assert_eq!(status.status, StatusCode::OK);
        let items = status.json()["items"].as_array().unwrap().clone();
        let accounts: Vec<(&str, bool, u64)> = items
            .iter()
            .map(|a| {
                (
                    a["account"].as_str().unwrap(),
                    a["held"].as_bool().unwrap(),
                    a["totals"]["messages"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            accounts,
            vec![
                ("held@corp.example.jp", true, 300),
                ("busy@corp.example.jp", false, 12)
            ]
        );
        let held_only = api.get("/api/v1/outbound?held=true", &reader).await.json();
        assert_eq!(held_only["items"].as_array().unwrap().len(), 1);
        assert_eq!(
            api.get("/api/v1/outbound?held=yes", &reader).await.status,
            StatusCode::BAD_REQUEST
        );

        let release = "/api/v1/outbound/held%40corp.example.jp/release";
        assert_eq!(
            api.request(Method::POST, release, Some(&reader), None)
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        let released = api
            .request(Method::POST, release, Some(&writer), None)
            .await;
        assert_eq!(
            released.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&released.body)
        );
        let released = released.json();
        assert_eq!(released["account"], "held@corp.example.jp");
        assert_eq!(released["released"], true);
        assert_eq!(released["by"], format!("token:{writer_id}"));
        let again = api
            .request(Method::POST, release, Some(&writer), None)
            .await;
        assert_eq!(again.status, StatusCode::CONFLICT);
        assert_eq!(again.error(), "not_held");
        let blank = api
            .request(
                Method::POST,
                "/api/v1/outbound/%20/release",
                Some(&writer),
                None,
            )
            .await;
        assert_eq!(blank.status, StatusCode::BAD_REQUEST);

        let after = api.get("/api/v1/outbound?held=true", &reader).await.json();
        assert_eq!(after, json!({"items": []}));
        // Released: not held, and its counts start again (the busy account's stay).
        let record = api
            .store
            .outbound_accounts(fumidai_core::unix_now(), window)
            .await
            .unwrap();
        assert!(record.iter().all(|a| !a.held), "{record:?}");
        assert_eq!(
            record
                .iter()
                .map(|a| a.account.as_str())
                .collect::<Vec<_>>(),
            vec!["busy@corp.example.jp"]
        );
        assert_eq!(
            api.audit(&writer).await,
            vec![(
                format!("token:{writer_id}"),
                "outbound.release".to_owned(),
                "held@corp.example.jp".to_owned()
            )]
        );
        let filtered = api
            .get("/api/v1/audit?action=quarantine.delete", &writer)
            .await
            .json();
        assert_eq!(filtered, json!({"items": []}));
        let by_actor = api
            .get(
                &format!("/api/v1/audit?actor=token:{writer_id}&limit=1"),
                &writer,
            )
            .await
            .json();
        assert_eq!(by_actor["items"].as_array().unwrap().len(), 1);
        assert_eq!(
            api.get("/api/v1/audit", &reader).await.status,
            StatusCode::FORBIDDEN
        );
        api.stop().await;
    })
    .await;
}
