use fumidai_history::lookalike::{CorrespondentIndex, LookalikeReason};
use fumidai_history::{lookalike_of, LookalikeConfig};
use std::time::Instant;

const CORRESPONDENTS: &[&str] = &[
    "example.co.jp",
    "toyota.co.jp",
    "hitachi.co.jp",
    "fujitsu.com",
    "nec.co.jp",
    "panasonic.com",
    "sony.co.jp",
    "canon.co.jp",
    "mitsubishicorp.com",
    "mitsui.com",
    "sumitomocorp.com",
    "marubeni.com",
    "itochu.co.jp",
    "kddi.com",
    "ntt.co.jp",
    "softbank.jp",
    "rakuten.co.jp",
    "nomura.co.jp",
    "mizuho-fg.co.jp",
    "smbc.co.jp",
    "mufg.jp",
    "daikin.co.jp",
    "kubota.co.jp",
    "komatsu.jp",
    "shiseido.co.jp",
    "kao.co.jp",
    "suntory.co.jp",
    "kirin.co.jp",
    "nissan.co.jp",
    "honda.co.jp",
    "denso.com",
    "takeda.com",
    "bridgestone.co.jp",
    "yakult.co.jp",
];

/// Real, unrelated organisations' domains: none may be called a look-alike.
const UNRELATED: &[&str] = &[
    "yahoo.co.jp",
    "google.com",
    "gmail.com",
    "microsoft.com",
    "outlook.jp",
    "docomo.ne.jp",
    "ezweb.ne.jp",
    "nikkei.com",
    "asahi-net.or.jp",
    "sakura.ne.jp",
    "biglobe.ne.jp",
    "nifty.com",
    "ocn.ne.jp",
    "so-net.ne.jp",
    "zozo.jp",
    "mercari.com",
    "line.me",
    "cybozu.co.jp",
    "freee.co.jp",
    "moneyforward.com",
    "sansan.com",
    "recruit.co.jp",
    "benesse.co.jp",
    "uniqlo.com",
    "nitori.co.jp",
    "aeon.info",
    "lawson.co.jp",
    "familymart.co.jp",
    "jr-central.co.jp",
    "tepco.co.jp",
    "kepco.co.jp",
    "osakagas.co.jp",
    "tokyo-gas.co.jp",
    "dentsu.co.jp",
    "hakuhodo.co.jp",
    "nintendo.co.jp",
    "sega.co.jp",
    "bandainamco.co.jp",
    "square-enix.com",
    "konami.com",
    "capcom.co.jp",
    "olympus.co.jp",
    "nikon.co.jp",
    "ricoh.co.jp",
    "epson.jp",
    "brother.co.jp",
    "shimadzu.co.jp",
    "murata.com",
    "kyocera.co.jp",
    "omron.co.jp",
    "keyence.co.jp",
    "fanuc.co.jp",
    "terumo.co.jp",
    "eisai.co.jp",
    "otsuka.co.jp",
    "kose.co.jp",
    "lion.co.jp",
    "unicharm.co.jp",
    "ajinomoto.co.jp",
    "kikkoman.co.jp",
    "nissin.com",
    "hitachi-solutions.co.jp",
    "sony-semicon.com",
    "u-tokyo.ac.jp",
    "city.yokohama.lg.jp",
    "pref.osaka.lg.jp",
];

/// Crafted look-alikes and the correspondent each imitates.
const LOOKALIKES: &[(&str, &str)] = &[
    ("examp1e.co.jp", "example.co.jp"),
    ("example-co.jp.net", "example.co.jp"),
    ("examplecojp.com", "example.co.jp"),
    ("example.jp", "example.co.jp"),
    ("example.com", "example.co.jp"),
    ("example.co.jp.evil.example", "example.co.jp"),
    ("mail.example.co.jp.evil.example", "example.co.jp"),
    ("ex-ample.co.jp", "example.co.jp"),
    ("examp1e-co.jp", "example.co.jp"),
    ("exmaple.co.jp", "example.co.jp"),
    ("t0yota.co.jp", "toyota.co.jp"),
    ("tοyota.co.jp", "toyota.co.jp"),
    ("hitachi-co.jp", "hitachi.co.jp"),
    ("fujitsu.co", "fujitsu.com"),
    ("fujltsu.com", "fujitsu.com"),
    ("panasonlc.com", "panasonic.com"),
    ("panasonic-jp.com", "panasonic.com"),
    ("mitsubishicorp.co.jp", "mitsubishicorp.com"),
    ("mitsubishi-corp.com", "mitsubishicorp.com"),
    ("sumitomocorp.co", "sumitomocorp.com"),
    ("rnarubeni.com", "marubeni.com"),
    ("itochu-co.jp", "itochu.co.jp"),
    ("softbank.co.jp", "softbank.jp"),
    ("rakuten.co.jp.login-secure.com", "rakuten.co.jp"),
    ("nomura-co.jp", "nomura.co.jp"),
    ("mizuho-fg.com", "mizuho-fg.co.jp"),
    ("mizuhofg.co.jp", "mizuho-fg.co.jp"),
    ("daikin.jp.co", "daikin.co.jp"),
    ("shiseldo.co.jp", "shiseido.co.jp"),
    ("suntroy.co.jp", "suntory.co.jp"),
    ("bridgeston.co.jp", "bridgestone.co.jp"),
    ("yakullt.co.jp", "yakult.co.jp"),
    ("ѕony.co.jp", "sony.co.jp"),
    ("xn--ony-ehd.co.jp", "sony.co.jp"),
    ("nес.co.jp", "nec.co.jp"),
    ("honda-co.jp.net", "honda.co.jp"),
    ("denso.co.jp", "denso.com"),
    ("komatsu.co.jp", "komatsu.jp"),
];

fn corr() -> Vec<String> {
    CORRESPONDENTS.iter().map(|s| s.to_string()).collect()
}

#[test]
fn unrelated_domains_are_not_lookalikes() {
    let idx = CorrespondentIndex::new(&corr(), &LookalikeConfig::default());
    assert_eq!(idx.len(), CORRESPONDENTS.len());
    let flagged: Vec<_> = UNRELATED
        .iter()
        .filter_map(|d| idx.find(d).map(|m| (*d, m)))
        .collect();
    assert!(flagged.is_empty(), "false positives: {flagged:#?}");
}

#[test]
fn correspondents_and_their_subdomains_are_not_lookalikes() {
    let idx = CorrespondentIndex::new(&corr(), &LookalikeConfig::default());
    for d in CORRESPONDENTS {
        assert_eq!(idx.find(d), None, "{d}");
        assert_eq!(idx.find(&format!("mail.{d}")), None, "mail.{d}");
        assert_eq!(
            idx.find(&format!("user@{}", d.to_uppercase())),
            None,
            "{d} upper-case"
        );
    }
}

#[test]
fn crafted_lookalikes_name_the_right_correspondent() {
    let idx = CorrespondentIndex::new(&corr(), &LookalikeConfig::default());
    let mut wrong = Vec::new();
    for (d, want) in LOOKALIKES {
        match idx.find(d) {
            Some(m) if m.correspondent == *want => {}
            other => wrong.push((*d, *want, other)),
        }
    }
    assert!(wrong.is_empty(), "missed or misnamed: {wrong:#?}");
    // The convenience function agrees with the index.
    assert_eq!(
        lookalike_of("examp1e.co.jp", &corr(), &LookalikeConfig::default()).as_deref(),
        Some("example.co.jp")
    );
}

#[test]
fn reasons_and_settings() {
    let cfg = LookalikeConfig::default();
    let idx = CorrespondentIndex::new(&corr(), &cfg);
    let reason = |d: &str| idx.find(d).map(|m| m.reason);
    assert_eq!(reason("examp1e.co.jp"), Some(LookalikeReason::Confusable));
    assert_eq!(reason("example.com"), Some(LookalikeReason::OtherSuffix));
    assert_eq!(
        reason("examplecojp.com"),
        Some(LookalikeReason::EmbeddedDomain)
    );
    assert_eq!(
        reason("suntroy.co.jp"),
        Some(LookalikeReason::EditDistance(1))
    );
    // Short labels: another suffix or an edit does not count, confusable characters do.
    assert_eq!(idx.find("nec.com"), None);
    assert_eq!(idx.find("nek.co.jp"), None);
    // Disabled, or a larger minimum label length.
    let off = CorrespondentIndex::new(
        &corr(),
        &LookalikeConfig {
            enabled: false,
            ..cfg.clone()
        },
    );
    assert_eq!(off.find("examp1e.co.jp"), None);
    let strict = CorrespondentIndex::new(
        &corr(),
        &LookalikeConfig {
            max_edit_distance: 0,
            ..cfg
        },
    );
    assert_eq!(strict.find("suntroy.co.jp"), None);
    assert!(strict.find("examp1e.co.jp").is_some());
}

#[test]
fn hostile_names_do_not_panic() {
    let idx = CorrespondentIndex::new(&corr(), &LookalikeConfig::default());
    let long = "a".repeat(300);
    let many = "a.".repeat(200) + "jp";
    for d in [
        "",
        ".",
        "..",
        "jp",
        "co.jp",
        "[192.0.2.1]",
        "192.0.2.1",
        "xn--",
        "xn--zz.jp",
        "-.jp",
        "@",
        "a@b@c",
        "\u{0}.jp",
        long.as_str(),
        many.as_str(),
        "ëxample.co.jp",
        "例え.jp",
    ] {
        let _ = idx.find(d);
    }
    let junk: Vec<String> = ["", "jp", "..", "[::1]"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert!(CorrespondentIndex::new(&junk, &LookalikeConfig::default()).is_empty());
}

/// Thousands of correspondents: building is done once, a query must stay far below a millisecond.
#[test]
fn fast_with_thousands_of_correspondents() {
    let mut many = corr();
    let syll = [
        "ka", "ki", "ku", "ke", "ko", "sa", "shi", "su", "ta", "to", "na", "ni", "ha", "ma", "ya",
        "ra", "wa", "da", "mo", "no",
    ];
    let sfx = ["co.jp", "com", "jp", "ne.jp", "or.jp"];
    let mut n = 0usize;
    'outer: for a in syll {
        for b in syll {
            for c in syll {
                many.push(format!("{a}{b}{c}-{}.{}", n % 97, sfx[n % sfx.len()]));
                n += 1;
                if n >= 5000 {
                    break 'outer;
                }
            }
        }
    }
    let t = Instant::now();
    let idx = CorrespondentIndex::new(&many, &LookalikeConfig::default());
    let build = t.elapsed();
    let t = Instant::now();
    let mut hits = 0;
    let rounds = 20;
    for _ in 0..rounds {
        for d in UNRELATED.iter().chain(LOOKALIKES.iter().map(|(d, _)| d)) {
            hits += usize::from(idx.find(d).is_some());
        }
    }
    let queries = rounds * (UNRELATED.len() + LOOKALIKES.len());
    let per = t.elapsed() / u32::try_from(queries).unwrap();
    eprintln!(
        "{} correspondents: index built in {build:?}, {per:?} per query",
        idx.len()
    );
    assert!(hits >= rounds * LOOKALIKES.len());
    assert!(per.as_micros() < 1000, "{per:?} per query");
}
