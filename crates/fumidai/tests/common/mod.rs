//! The binary run against a site of its own: a configuration for corp.example.jp and a store in a
//! temporary directory (or the PostgreSQL URL given).
#![allow(dead_code)] // each test binary uses its own subset

pub mod browser;
pub mod daemon;
pub mod http;

use std::path::PathBuf;
use std::process::{Command, Output};

/// A configuration for corp.example.jp with its store at `store`.
pub struct Site {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

impl Site {
    pub fn new(store: Option<&str>) -> Site {
        Site::with_config(store, "")
    }

    /// As [`Site::new`], with more TOML after the `[sender]` and `[store]` sections.
    pub fn with_config(store: Option<&str>, more: &str) -> Site {
        let dir = tempfile::tempdir().expect("temporary directory");
        let config = dir.path().join("fumidai.toml");
        let location = store.map_or_else(
            || dir.path().join("fumidai.db").to_string_lossy().into_owned(),
            str::to_owned,
        );
        std::fs::write(
            &config,
            format!("[sender]\nown_domains = [\"corp.example.jp\"]\n\n[store]\nlocation = {location:?}\n\n{more}"),
        )
        .expect("write config");
        Site { dir, config }
    }

    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_fumidai"))
            .arg("-c")
            .arg(&self.config)
            .args(args)
            .env("FUMIDAI_DATA_DIR", self.dir.path())
            .output()
            .expect("run fumidai")
    }

    pub fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "fumidai {args:?}: {:?}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// A path in the site's directory.
    pub fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }
}

/// A loopback port free right now (the kernel's pick).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// JSON Lines output, one value per line.
pub fn json_lines(out: &str) -> Vec<serde_json::Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}
