mod common;
use common::*;
use fumidai_carriers::lnk;
use serde_json::Value;

const SAMPLES: &[&str] = &[
    "broken_link_info",
    "console_properties_block",
    "darwin_block",
    "microsoft_example",
    "network_info",
    "padded_cli_arguments",
    "sample",
    "unknown_target",
];

fn expected(name: &str) -> Value {
    let raw = corpus(&format!("carriers/lnk/LnkParse3/json/{name}.json"));
    serde_json::from_slice(&raw).unwrap()
}

fn s(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

#[test]
fn string_data_link_info_and_id_list_match_lnkparse3() {
    for name in SAMPLES {
        let data = lnk_sample(name);
        let l = lnk::parse(&data).unwrap_or_else(|| panic!("{name}: not parsed"));
        let j = expected(name);
        let d = &j["data"];
        assert_eq!(l.name, s(&d["description"]), "{name} name");
        assert_eq!(
            l.relative_path,
            s(&d["relative_path"]),
            "{name} relative_path"
        );
        assert_eq!(
            l.working_dir,
            s(&d["working_directory"]),
            "{name} working dir"
        );
        assert_eq!(
            l.arguments,
            s(&d["command_line_arguments"]),
            "{name} arguments"
        );
        assert_eq!(l.icon_location, s(&d["icon_location"]), "{name} icon");
        let li = &j["link_info"];
        let base = s(&li["local_base_path"]);
        assert_eq!(l.local_base_path, base, "{name} local base path");
        if li.get("common_path_suffix").is_some() {
            assert_eq!(
                l.common_path_suffix,
                s(&li["common_path_suffix"]),
                "{name} suffix"
            );
        }
        let loc = &li["location_info"];
        assert_eq!(l.net_name, s(&loc["net_name"]), "{name} net name");
        assert_eq!(l.device_name, s(&loc["device_name"]), "{name} device name");
        let env = &j["extra"]["ENVIRONMENTAL_VARIABLES_LOCATION_BLOCK"];
        assert_eq!(l.env_target, s(&env["target_unicode"]), "{name} env target");
        let names: Vec<String> = j["target"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["class"] == "File entry")
            .filter_map(|i| s(&i["primary_name"]))
            .collect();
        assert_eq!(l.id_names, names, "{name} id list names");
    }
}

#[test]
fn targets_are_resolved() {
    let t = |n: &str| lnk::parse(&lnk_sample(n)).unwrap().target();
    assert_eq!(t("microsoft_example").as_deref(), Some("C:\\test\\a.txt"));
    assert_eq!(
        t("network_info").as_deref(),
        Some("\\\\10.0.0.150\\LMmetal\\A - LM METAL LIFT\\01.OBCHOD - BROŽURY - Prodejní a technické informace o produktech\\ETN\\ETN-Katalog-ENG\\Katalog ETN 10_2017\\Lift-programme\\ETN-lift programme 2017.pdf")
    );
    // No LinkInfo: the ID list gives the path, with long names.
    assert_eq!(
        t("padded_cli_arguments").as_deref(),
        Some("C:\\Windows\\System32\\cmd.exe")
    );
    assert_eq!(
        t("console_properties_block").as_deref(),
        Some("C:\\Windows\\SysWOW64\\WindowsPowerShell\\v1.0\\powershell.exe")
    );
}

#[test]
fn every_shortcut_is_flagged_and_only_the_padded_one_is_suspicious() {
    for name in SAMPLES {
        let data = lnk_sample(name);
        let (report, f) = run(fumidai_carriers::inspect_lnk, name, &data);
        assert_eq!(report.detected_type, fumidai_core::FileKind::Lnk);
        assert_eq!(count(&f, "LNK_FILE"), 1, "{name}");
        let suspicious = count(&f, "LNK_SUSPICIOUS_COMMAND");
        assert_eq!(
            suspicious,
            usize::from(*name == "padded_cli_arguments"),
            "{name}: {f:?}"
        );
    }
    let (_, f) = run(
        fumidai_carriers::inspect_lnk,
        "p",
        &lnk_sample("padded_cli_arguments"),
    );
    let d = detail(&f, "LNK_SUSPICIOUS_COMMAND");
    assert!(d.contains("cmd.exe") && d.contains("padded"), "{d}");
    assert!(detail(&f, "LNK_FILE").contains("target: C:\\Windows\\System32\\cmd.exe"));
}

/// A minimal shortcut built here: powershell with an encoded command in StringData.
fn crafted(args: &str) -> Vec<u8> {
    let mut d = fumidai_carriers::sniff::LNK_MAGIC.to_vec();
    d.extend_from_slice(&(0x20u32 | 0x80).to_le_bytes()); // HasArguments | IsUnicode
    d.resize(0x4C, 0);
    let units: Vec<u16> = args.encode_utf16().collect();
    d.extend_from_slice(&(units.len() as u16).to_le_bytes());
    for u in units {
        d.extend_from_slice(&u.to_le_bytes());
    }
    // EnvironmentVariableDataBlock naming powershell.
    let mut block = vec![0u8; 0x314];
    block[..4].copy_from_slice(&0x314u32.to_le_bytes());
    block[4..8].copy_from_slice(&0xA000_0001u32.to_le_bytes());
    let target = "%SystemRoot%\\System32\\WindowsPowerShell\\v1.0\\powershell.exe";
    block[8..8 + target.len()].copy_from_slice(target.as_bytes());
    d.extend_from_slice(&block);
    d.extend_from_slice(&0u32.to_le_bytes());
    d
}

#[test]
fn crafted_encoded_powershell_is_suspicious_and_truncation_is_safe() {
    let data = crafted("-w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0A");
    let (_, f) = run(fumidai_carriers::inspect_lnk, "invoice.lnk", &data);
    assert_eq!(count(&f, "LNK_SUSPICIOUS_COMMAND"), 1, "{f:?}");
    assert!(detail(&f, "LNK_FILE").contains("powershell.exe"));
    let benign = crafted("");
    let (_, f) = run(fumidai_carriers::inspect_lnk, "a.lnk", &benign);
    assert_eq!(count(&f, "LNK_SUSPICIOUS_COMMAND"), 0);
    for cut in 0..data.len() {
        let _ = run(fumidai_carriers::inspect_lnk, "cut.lnk", &data[..cut]);
    }
}
