//! Threat feed indicators against both backends (a real SQLite file, a real PostgreSQL schema).

use fumidai_store::testing::each_backend;
use fumidai_store::{Indicator, IndicatorKind};

fn url(value: &str, threat: &str) -> Indicator {
    Indicator {
        kind: IndicatorKind::Url,
        value: value.into(),
        source: "urlhaus".into(),
        threat: threat.into(),
        first_seen: Some(1_725_358_326),
    }
}

fn ip(value: &str, malware: &str) -> Indicator {
    Indicator {
        kind: IndicatorKind::Ip,
        value: value.into(),
        source: "feodo".into(),
        threat: malware.into(),
        first_seen: None,
    }
}

fn values(all: &[Indicator], source: &str) -> Vec<String> {
    all.iter()
        .filter(|i| i.source == source)
        .map(|i| i.value.clone())
        .collect()
}

#[tokio::test]
async fn imports_are_idempotent_upserts_and_replace_is_per_source() {
    each_backend(|store, _location| async move {
        assert!(store.feed_status().await.unwrap().is_empty());
        let first = [
            url("http://117.215.50.1:43413/i", "malware_download"),
            url("http://evil.example/", "malware_download"),
        ];
        assert_eq!(
            store.feed_import("urlhaus", &first, false).await.unwrap(),
            2
        );
        let feodo = [ip("51.178.161.32", "Emotet"), ip("2001:db8::7", "QakBot")];
        assert_eq!(store.feed_import("feodo", &feodo, false).await.unwrap(), 2);

        // The same list again, one threat changed, one URL repeated: still two rows, the last word wins.
        let again = [
            url("http://117.215.50.1:43413/i", "malware_download: elf,Mozi"),
            url("http://evil.example/", "x"),
            url("http://evil.example/", "malware_download"),
        ];
        assert_eq!(
            store.feed_import("urlhaus", &again, false).await.unwrap(),
            2
        );
        let all = store.feed_indicators().await.unwrap();
        assert_eq!(all.len(), 4);
        let mozi = all
            .iter()
            .find(|i| i.value == "http://117.215.50.1:43413/i")
            .unwrap();
        assert_eq!(mozi.threat, "malware_download: elf,Mozi");
        assert_eq!(
            (mozi.kind, mozi.first_seen),
            (IndicatorKind::Url, Some(1_725_358_326))
        );
        let emotet = all.iter().find(|i| i.value == "51.178.161.32").unwrap();
        assert_eq!(*emotet, ip("51.178.161.32", "Emotet"));

        // Without replace the old URL stays; with it only the new snapshot remains, and feodo is untouched.
        let snapshot = [url("https://new.example/a.zip", "malware_download")];
        store
            .feed_import("urlhaus", &snapshot, false)
            .await
            .unwrap();
        assert_eq!(
            values(&store.feed_indicators().await.unwrap(), "urlhaus").len(),
            3
        );
        store.feed_import("urlhaus", &snapshot, true).await.unwrap();
        let all = store.feed_indicators().await.unwrap();
        assert_eq!(values(&all, "urlhaus"), ["https://new.example/a.zip"]);
        assert_eq!(values(&all, "feodo").len(), 2);

        let status = store.feed_status().await.unwrap();
        let now = fumidai_core::unix_now();
        assert_eq!(status.len(), 2);
        assert_eq!((status[0].0.as_str(), status[0].1), ("feodo", 2));
        assert_eq!((status[1].0.as_str(), status[1].1), ("urlhaus", 1));
        assert!(
            status.iter().all(|s| (now - 60..=now).contains(&s.2)),
            "{status:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_refused_import_writes_nothing() {
    each_backend(|store, _location| async move {
        store
            .feed_import("feodo", &[ip("51.178.161.32", "Emotet")], false)
            .await
            .unwrap();
        // A replace whose list holds another source's indicator: refused before the delete.
        let mixed = [ip("192.0.2.9", "Dridex"), url("http://x.example/", "y")];
        assert!(store.feed_import("feodo", &mixed, true).await.is_err());
        let all = store.feed_indicators().await.unwrap();
        assert_eq!(values(&all, "feodo"), ["51.178.161.32"]);
        assert!(store.feed_import("", &[], false).await.is_err());

        // Many rows: more than one INSERT statement, all in.
        let many: Vec<Indicator> = (0..2_500)
            .map(|n| url(&format!("http://h{n}.example/p"), "malware_download"))
            .collect();
        assert_eq!(
            store.feed_import("urlhaus", &many, true).await.unwrap(),
            2_500
        );
        let status = store.feed_status().await.unwrap();
        assert_eq!(status.iter().map(|s| s.1).collect::<Vec<_>>(), [1, 2_500]);
    })
    .await;
}
