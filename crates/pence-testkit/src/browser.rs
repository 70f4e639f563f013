//! Real headless Chromium for the paying user's pages, driven over WebDriver (fantoccini and
//! Debian's chromedriver). Each `Browser` is its own chromedriver and profile, so two of them
//! are two different people's browsers (separate cookies).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Map, Value};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// At most this many browsers at once: a 2-core machine runs tests in parallel.
static SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
    _slot: tokio::sync::SemaphorePermit<'static>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl Browser {
    /// A fresh headless Chromium with JavaScript on.
    pub async fn start() -> Browser {
        Self::launch(true).await
    }

    /// A fresh headless Chromium with JavaScript switched off.
    pub async fn start_without_js() -> Browser {
        Self::launch(false).await
    }

    async fn launch(javascript: bool) -> Browser {
        for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
            assert!(
                std::path::Path::new(path).exists(),
                "{path} is missing: browser tests need Debian's `{package}` package \
                 (apt-get install chromium chromium-driver)"
            );
        }
        let slot = SLOTS.acquire().await.expect("browser slots");
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::tempdir().expect("profile dir");
        let mut options = Map::new();
        options.insert("binary".into(), json!(CHROMIUM));
        options.insert(
            "args".into(),
            json!([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--window-size=1000,1400",
                format!("--user-data-dir={}", profile.path().display()),
            ]),
        );
        if !javascript {
            options.insert(
                "prefs".into(),
                json!({"profile.managed_default_content_settings.javascript": 2}),
            );
        }
        let mut caps = Map::new();
        caps.insert("goog:chromeOptions".into(), Value::Object(options));
        let url = format!("http://127.0.0.1:{port}");
        let mut last = None;
        // chromedriver takes a moment to listen.
        for _ in 0..100 {
            // Plain HTTP to chromedriver on loopback: no TLS stack needed.
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            let connected = ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&url)
                .await;
            match connected {
                Ok(client) => {
                    return Browser {
                        client,
                        driver,
                        _profile: profile,
                        _slot: slot,
                    }
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not start: {last:?}");
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("goto");
        // A navigation now and then ends on an empty document, or Chromium's own error page,
        // in full test runs (not when a suite runs alone): most likely the browser reused a
        // kept-alive connection just as the node closed it for idling (10 s). A person would
        // reload; so does the test, once.
        let page = self.page().await;
        if page.is_empty() || page.contains("id=\"main-frame-error\"") {
            self.client.goto(url).await.expect("goto");
        }
    }

    pub async fn url(&self) -> String {
        self.client.current_url().await.expect("url").to_string()
    }

    pub async fn page(&self) -> String {
        self.client.source().await.expect("source")
    }

    /// Makes the page `width` CSS pixels wide (as a phone's or a desktop's), whatever the
    /// window's frame takes.
    pub async fn viewport_width(&self, width: u32) {
        self.client
            .set_window_size(width, 900)
            .await
            .expect("window size");
        let inner = self.script("return window.innerWidth").await;
        let outer = self.client.get_window_size().await.expect("window size").0;
        let frame = (outer as u32).saturating_sub(inner.as_u64().unwrap_or(width as u64) as u32);
        if frame > 0 {
            self.client
                .set_window_size(width + frame, 900)
                .await
                .expect("window size");
        }
    }

    /// Runs JavaScript in the page (with JavaScript on): what it returns.
    pub async fn script(&self, js: &str) -> Value {
        self.client.execute(js, Vec::new()).await.expect("script")
    }

    /// Types into the input with this id (clearing it first).
    pub async fn fill(&self, id: &str, text: &str) {
        let el = self
            .client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("#{id}: {e}"));
        el.clear().await.expect("clear");
        el.send_keys(text).await.expect("type");
    }

    pub async fn select(&self, id: &str, value: &str) {
        let el = self
            .client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("#{id}: {e}"));
        el.select_by_value(value).await.expect("select");
    }

    /// Clicks the checkbox or radio button with this id (the page stays).
    pub async fn toggle(&self, id: &str) {
        self.client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("#{id}: {e}"))
            .click()
            .await
            .expect("click");
    }

    /// Clicks the element (a link or a submit button) and waits until the browser has left
    /// the page it was on, so what a test reads next is the page the click led to.
    pub async fn click(&self, css: &str) {
        let old_page = self.client.find(Locator::Css("html")).await.expect("page");
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .expect("click");
        for _ in 0..200 {
            // The old document's root goes stale once the next page has replaced it.
            if old_page.tag_name().await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("clicking {css} did not lead to another page");
    }

    /// The text of the element matching `css`, if there is one.
    pub async fn text(&self, css: &str) -> Option<String> {
        match self.client.find(Locator::Css(css)).await {
            Ok(el) => Some(el.text().await.expect("text")),
            Err(_) => None,
        }
    }

    /// The value attribute of the input with this id.
    pub async fn value(&self, id: &str) -> String {
        let el = self.client.find(Locator::Id(id)).await.expect("input");
        el.prop("value").await.expect("value").unwrap_or_default()
    }

    /// The browser's cookies as a `Cookie` header, to fetch as it would (a download).
    pub async fn cookie_header(&self) -> String {
        let cookies: Vec<String> = self
            .client
            .get_all_cookies()
            .await
            .expect("cookies")
            .iter()
            .map(|c| format!("{}={}", c.name(), c.value()))
            .collect();
        cookies.join("; ")
    }

    /// Ends the WebDriver session, which quits Chromium.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

/// Stops chromedriver; a Chromium it still runs (a test that panicked before `close`) loses
/// its control pipe and exits.
impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// The service's own site: where return_url points. Answers every GET with a page.
pub struct ServiceSite {
    pub url: String,
}

impl ServiceSite {
    pub async fn start() -> ServiceSite {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let app = axum::Router::new().fallback(|| async {
            axum::response::Html(
                "<!DOCTYPE html><title>Service</title><h1 id=\"service\">Back at the service</h1>",
            )
        });
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        ServiceSite { url }
    }
}
