//! `fumidai milter` as a test runs it: started with the systemd unit's ExecStart (binary and
//! configuration path replaced), reloaded with its ExecReload, stopped with SIGTERM.

use super::Site;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const WAIT: Duration = Duration::from_secs(30);

pub fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

pub fn read(rel: &str) -> Vec<u8> {
    std::fs::read(repo(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

pub fn text(rel: &str) -> String {
    String::from_utf8(read(rel)).expect("UTF-8")
}

/// `fumidai milter`, started with the unit file's ExecStart (binary and configuration path replaced).
pub struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    pub fn start(site: &Site, log_name: &str) -> Daemon {
        let unit = text("dist/systemd/fumidai-milter.service");
        let exec = unit
            .lines()
            .find_map(|l| l.strip_prefix("ExecStart="))
            .expect("ExecStart in the unit");
        let words: Vec<&str> = exec.split_whitespace().collect();
        assert_eq!(words[0], "/usr/local/bin/fumidai", "{exec}");
        assert!(words.contains(&"/etc/fumidai/fumidai.toml"), "{exec}");
        let config = site.config.to_string_lossy().into_owned();
        let args: Vec<&str> = words[1..]
            .iter()
            .map(|w| {
                if *w == "/etc/fumidai/fumidai.toml" {
                    config.as_str()
                } else {
                    w
                }
            })
            .collect();
        Daemon::spawn(site, log_name, &args, "milter listening")
    }

    /// `fumidai ARGS`, its log (stderr) in the site's `log_name`, ready once the log says `ready`.
    pub fn spawn(site: &Site, log_name: &str, args: &[&str], ready: &str) -> Daemon {
        let log = PathBuf::from(site.path(log_name));
        let child = Command::new(env!("CARGO_BIN_EXE_fumidai"))
            .args(args)
            .env("FUMIDAI_LOG", "info")
            .env("FUMIDAI_DATA_DIR", site.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start fumidai");
        let daemon = Daemon { child, log };
        daemon.wait_log(ready, 1);
        daemon
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until `needle` is in the log `count` times.
    pub fn wait_log(&self, needle: &str, count: usize) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let log = self.log();
            if log.matches(needle).count() >= count {
                return log;
            }
            assert!(
                Instant::now() < deadline,
                "{needle:?} x{count} not logged:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The unit's ExecReload, as written ($MAINPID replaced).
    pub fn reload(&self) {
        let unit = text("dist/systemd/fumidai-milter.service");
        let exec = unit
            .lines()
            .find_map(|l| l.strip_prefix("ExecReload="))
            .expect("ExecReload in the unit")
            .replace("$MAINPID", &self.child.id().to_string());
        let words: Vec<&str> = exec.split_whitespace().collect();
        let status = Command::new(words[0]).args(&words[1..]).status().unwrap();
        assert!(status.success(), "{exec}");
    }

    /// SIGTERM, without waiting.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the daemon to exit on its own; it must exit 0.
    pub fn wait_exit(mut self) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(exit) = self.child.try_wait().unwrap() {
                assert!(exit.success(), "milter exited with {exit}:\n{}", self.log());
                break;
            }
            assert!(
                Instant::now() < deadline,
                "milter did not stop:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        self.log()
    }

    /// SIGTERM; the daemon must exit 0 on its own.
    pub fn stop(self) -> String {
        self.terminate();
        self.wait_exit()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP GET: (status code, body).
pub fn http_get(addr: &str, path: &str) -> (u16, String) {
    http_get_with(addr, path, &[])
}

/// An HTTP GET with more header fields (`Authorization: Bearer ...`): (status code, body).
pub fn http_get_with(addr: &str, path: &str, headers: &[&str]) -> (u16, String) {
    let fields: Vec<(&str, &str)> = headers
        .iter()
        .filter_map(|h| h.split_once(':'))
        .map(|(name, value)| (name.trim(), value.trim()))
        .collect();
    let response = super::http::http(addr, "GET", path, &fields, b"");
    (response.status, response.body)
}
