//! Headless Chromium driven through ChromeDriver, for the console's end-to-end test, over the tests' HTTP/1.1
//! client (`super::http`, also used directly against the console where a test needs the raw response).
//!
//! A small blocking client over the W3C WebDriver protocol (JSON over HTTP) on std and serde_json, rather than
//! fantoccini: the tests are synchronous, and fantoccini (even without TLS) brings an async runtime and about 30
//! crates (webdriver, ICU segmentation data, a second `http`) for the dozen commands used here.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them); see [`require_browser`]. Screenshots
//! go to `$FUMIDAI_ARTIFACTS/console/` (default `<workspace>/target/artifacts/console/`), with ChromeDriver's log.

use super::http::try_http;
use base64::Engine as _;
use serde_json::{json, Value};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long `find` waits for an element to appear (WebDriver's implicit wait).
const IMPLICIT_WAIT_MS: u64 = 5000;

/// Whether the browser tests can run here: `true` when Chromium and ChromeDriver are installed. When one is
/// missing: `false` after printing `skipped: ...` if `FUMIDAI_SKIP_BROWSER=1` (the caller returns), a panic saying
/// how to install otherwise.
pub fn require_browser() -> bool {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|p| !Path::new(p).is_file())
        .collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var("FUMIDAI_SKIP_BROWSER").as_deref() == Ok("1") {
        eprintln!(
            "skipped: the browser tests need {} and FUMIDAI_SKIP_BROWSER=1",
            missing.join(", ")
        );
        return false;
    }
    panic!(
        "the browser tests need {} (missing). `.ci/run` installs them; by hand, as root: \
         `apt-get install -y --no-install-recommends chromium chromium-driver`. Or set FUMIDAI_SKIP_BROWSER=1 to skip",
        missing.join(", ")
    );
}

/// Where screenshots go: `$FUMIDAI_ARTIFACTS/console`, or `<workspace>/target/artifacts/console`; created.
pub fn artifacts_dir() -> PathBuf {
    let base = std::env::var_os("FUMIDAI_ARTIFACTS")
        .map_or_else(|| super::daemon::repo("target/artifacts"), PathBuf::from);
    let dir = base.join("console");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

/// A failed WebDriver command: the protocol's error code (`no such element`, `no such alert`, ...) and message.
#[derive(Debug)]
pub struct WebDriverError {
    pub status: u16,
    pub error: String,
    pub message: String,
}

/// ChromeDriver on a free port with one headless Chromium session. Dropping it ends the session (Chromium
/// exits) and kills ChromeDriver; when the thread is panicking, it first saves `failure.png` and `failure.html`.
pub struct Browser {
    driver: Child,
    addr: String,
    session: String,
}

impl Browser {
    pub fn start() -> Browser {
        let port = super::free_port();
        let addr = format!("127.0.0.1:{port}");
        let log = artifacts_dir().join("chromedriver.log");
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {CHROMEDRIVER}: {e}"));
        let mut browser = Browser {
            driver,
            addr,
            session: String::new(),
        };
        browser.wait_ready(&log);
        let created = browser.call(
            "POST",
            "/session",
            Some(json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                // An alert left open is reported by `alert_text`, not dismissed by the next command.
                "unhandledPromptBehavior": "ignore",
                "goog:chromeOptions": {
                    "binary": CHROMIUM,
                    "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                             "--window-size=1280,1000", "--no-first-run", "--no-default-browser-check"],
                },
            }}})),
        );
        browser.session = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session id in {created}"))
            .to_owned();
        browser.session_call(
            "POST",
            "/timeouts",
            Some(json!({"implicit": IMPLICIT_WAIT_MS, "pageLoad": 30_000, "script": 30_000})),
        );
        browser
    }

    fn wait_ready(&mut self, log: &Path) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(exit)) = self.driver.try_wait() {
                panic!(
                    "{CHROMEDRIVER} exited ({exit}): {}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
            if TcpStream::connect(&self.addr).is_ok() {
                let status = self.call("GET", "/status", None);
                if status["ready"] == true {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "{CHROMEDRIVER} not ready on {}",
                self.addr
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A WebDriver command: its `value`, or the error it reported.
    pub fn command(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, WebDriverError> {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut headers = vec![("Accept", "application/json")];
        if method == "POST" {
            headers.push(("Content-Type", "application/json; charset=utf-8"));
        }
        let failed = |status: u16, message: String| WebDriverError {
            status,
            error: String::new(),
            message,
        };
        let response = try_http(&self.addr, method, path, &headers, body.as_bytes())
            .map_err(|e| failed(0, e))?;
        let parsed: Value = serde_json::from_str(&response.body)
            .map_err(|e| failed(response.status, format!("{e}: {}", response.body)))?;
        let value = parsed.get("value").cloned().unwrap_or(Value::Null);
        if response.status == 200 {
            return Ok(value);
        }
        Err(WebDriverError {
            status: response.status,
            error: value["error"].as_str().unwrap_or_default().to_owned(),
            message: value["message"].as_str().unwrap_or_default().to_owned(),
        })
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.command(method, path, body)
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e:?}"))
    }

    /// A command on this session (`path` after `/session/ID`).
    fn session_call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.call(method, &format!("/session/{}{path}", self.session), body)
    }

    /// Loads a URL and waits for the page.
    pub fn goto(&self, url: &str) {
        self.session_call("POST", "/url", Some(json!({ "url": url })));
    }

    /// Clicks what loads another page (a link, a form's button) and waits until that page has loaded: a form's
    /// POST is still in flight when the click returns.
    pub fn follow(&self, css: &str) {
        // The old document keeps this mark; the new one has none.
        self.execute("window.fumidaiOldPage = true;", &[]);
        self.find(css).click();
        let deadline = Instant::now() + Duration::from_secs(30);
        let check = json!({
            "script": "return window.fumidaiOldPage === undefined && document.readyState === 'complete';",
            "args": [],
        });
        let path = format!("/session/{}/execute/sync", self.session);
        // A script run while the page unloads may fail: try again.
        while self.command("POST", &path, Some(check.clone())).ok() != Some(Value::Bool(true)) {
            assert!(
                Instant::now() < deadline,
                "{css}: no new page loaded from {}",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self) -> String {
        self.session_call("GET", "/url", None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The first element matching a CSS selector, waiting for it up to the implicit wait; panics without one.
    pub fn find(&self, css: &str) -> Element<'_> {
        let found = self
            .command(
                "POST",
                &format!("/session/{}/element", self.session),
                Some(json!({"using": "css selector", "value": css})),
            )
            .unwrap_or_else(|e| panic!("{css}: {e:?} on {}", self.url()));
        self.element(&found)
    }

    /// Every element matching a CSS selector (waits up to the implicit wait for at least one).
    pub fn find_all(&self, css: &str) -> Vec<Element<'_>> {
        let found = self.session_call(
            "POST",
            "/elements",
            Some(json!({"using": "css selector", "value": css})),
        );
        found
            .as_array()
            .map(|a| a.iter().map(|e| self.element(e)).collect())
            .unwrap_or_default()
    }

    /// Whether an element matches a CSS selector now (no waiting).
    pub fn exists(&self, css: &str) -> bool {
        self.execute(
            "return document.querySelector(arguments[0]) !== null;",
            &[json!(css)],
        ) == true
    }

    fn element(&self, reference: &Value) -> Element<'_> {
        // The W3C web element identifier.
        let id = reference["element-6066-11e4-a52e-4f735466cecf"]
            .as_str()
            .unwrap_or_else(|| panic!("not an element reference: {reference}"))
            .to_owned();
        Element { browser: self, id }
    }

    /// The page's DOM, serialised.
    pub fn source(&self) -> String {
        self.session_call("GET", "/source", None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Runs a script in the page (WebDriver's own evaluation, not subject to the page's CSP); its return value.
    pub fn execute(&self, script: &str, args: &[Value]) -> Value {
        self.session_call(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
    }

    /// The text of an open alert, confirm or prompt, if one is open.
    pub fn alert_text(&self) -> Option<String> {
        match self.command(
            "GET",
            &format!("/session/{}/alert/text", self.session),
            None,
        ) {
            Ok(text) => Some(text.as_str().unwrap_or_default().to_owned()),
            Err(e) if e.error == "no such alert" => None,
            Err(e) => panic!("get alert text: {e:?}"),
        }
    }

    /// A cookie of the current page as WebDriver gives it (`name`, `value`, `path`, `httpOnly`, `sameSite`, ...),
    /// HttpOnly ones included.
    pub fn cookie(&self, name: &str) -> Option<Value> {
        self.command(
            "GET",
            &format!("/session/{}/cookie/{name}", self.session),
            None,
        )
        .ok()
    }

    /// Saves a screenshot of the viewport as `<artifacts>/console/<name>.png`; its path.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.session_call("GET", "/screenshot", None);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap_or_default())
            .expect("a base64 screenshot");
        assert!(bytes.starts_with(b"\x89PNG"), "not a PNG");
        let path = artifacts_dir().join(format!("{name}.png"));
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            if std::thread::panicking() {
                // What the page showed when the test failed, for the CI artifacts; best effort.
                let session = format!("/session/{}", self.session);
                let dir = artifacts_dir();
                if let Ok(png) = self.command("GET", &format!("{session}/screenshot"), None) {
                    if let Ok(bytes) = base64::engine::general_purpose::STANDARD
                        .decode(png.as_str().unwrap_or_default())
                    {
                        let _ = std::fs::write(dir.join("failure.png"), bytes);
                    }
                }
                if let Ok(html) = self.command("GET", &format!("{session}/source"), None) {
                    let _ =
                        std::fs::write(dir.join("failure.html"), html.as_str().unwrap_or_default());
                }
                eprintln!(
                    "browser: the page at the failure is in {}/failure.png and failure.html",
                    dir.display()
                );
            }
            let _ = self.command("DELETE", &format!("/session/{}", self.session), None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// An element of the current page.
pub struct Element<'a> {
    browser: &'a Browser,
    id: String,
}

impl Element<'_> {
    fn call(&self, method: &str, what: &str, body: Option<Value>) -> Value {
        self.browser
            .session_call(method, &format!("/element/{}{what}", self.id), body)
    }

    pub fn click(&self) {
        self.call("POST", "/click", Some(json!({})));
    }

    pub fn send_keys(&self, text: &str) {
        self.call("POST", "/value", Some(json!({ "text": text })));
    }

    /// The rendered text.
    pub fn text(&self) -> String {
        self.call("GET", "/text", None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// An attribute as written in the markup (`None` when absent).
    pub fn attr(&self, name: &str) -> Option<String> {
        self.call("GET", &format!("/attribute/{name}"), None)
            .as_str()
            .map(str::to_owned)
    }
}
