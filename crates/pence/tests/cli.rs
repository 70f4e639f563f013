//! The `pence` binary as a user drives it: admin commands, and `serve` as a real process.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pence_testkit::{Engine, TestDb};

const PENCE: &str = env!("CARGO_BIN_EXE_pence");

/// Runs `pence` on `db` as at an 80-column terminal (`COLUMNS`).
fn pence(db: &str, args: &[&str]) -> (i32, String, String) {
    pence_with(db, args, Some("80"))
}

fn pence_with(db: &str, args: &[&str], columns: Option<&str>) -> (i32, String, String) {
    let mut command = Command::new(PENCE);
    command
        .args(args)
        .env("PENCE_DATABASE_URL", db)
        .env_remove("PENCE_CONFIG")
        .env_remove("COLUMNS");
    if let Some(columns) = columns {
        command.env("COLUMNS", columns);
    }
    let out = command.output().expect("run pence");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(db: &str, args: &[&str]) -> String {
    let (code, stdout, stderr) = pence(db, args);
    assert_eq!(code, 0, "pence {args:?}: {stderr}");
    stdout
}

pence_testkit::engine_tests!(services_and_keys);
async fn services_and_keys(engine: Engine) {
    let db = TestDb::new(engine).await;
    let url = db.url.as_str();
    if engine == Engine::Sqlite {
        // An admin command on a database that does not exist refuses, and creates nothing.
        for args in [
            &["service", "list"][..],
            &["key", "list"],
            &["webhook", "list"],
        ] {
            let (code, _, stderr) = pence(url, args);
            assert_ne!(code, 0, "{args:?}");
            assert!(stderr.contains("no database at"), "{stderr}");
        }
        assert!(!db.path.as_ref().unwrap().exists(), "nothing was created");
    }
    ok(url, &["migrate"]);
    // No sandbox service yet: key create says what to do.
    let (code, _, stderr) = pence(url, &["key", "create"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("pence service create"), "{stderr}");

    let id = ok(url, &["service", "create", "--name", "Parking permits"]);
    let id = id.trim_end();
    assert_eq!(id.len(), 26, "only the id on stdout: {id:?}");
    let live = ok(url, &["service", "create", "--name", "Live one", "--live"]);
    let list = ok(url, &["service", "list"]);
    assert!(list.contains(id) && list.contains("Parking permits") && list.contains("test"));
    assert!(list.contains(live.trim_end()) && list.contains("live"));

    let key = ok(url, &["key", "create", "--description", "ci"]);
    let key = key.trim_end();
    assert!(
        key.starts_with("api_test_") && key.len() == 67 && !key.contains('\n'),
        "{key:?}"
    );
    let live_key = ok(url, &["key", "create", "--service", live.trim_end()]);
    assert!(live_key.starts_with("api_live_"));
    let (code, _, stderr) = pence(url, &["key", "create", "--service", "nope"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("no service nope"));

    let keys = ok(url, &["key", "list"]);
    assert!(keys.contains(&key[..13]) && keys.contains("active") && keys.contains("ci"));
    assert!(!keys.contains(key), "a key is never listed in full");
    let key_id = keys
        .lines()
        .find(|l| l.contains(&key[..12]))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();
    ok(url, &["key", "revoke", &key_id]);
    assert!(ok(url, &["key", "list"]).contains("revoked"));
    let (code, _, _) = pence(url, &["key", "revoke", &key_id]);
    assert_ne!(code, 0, "revoking twice fails");

    let (_, _, said) = pence(url, &["service", "update", id, "--rate-limit-post", "40"]);
    assert!(
        said.contains(&format!("service {id}: changed POST rate limit")),
        "{said}"
    );
    let (_, _, said) = pence(url, &["service", "update", id, "--rate-limit-post", "40"]);
    assert!(said.contains("nothing changed"), "{said}");
    // The README's own line: a list of brands is one value.
    ok(
        url,
        &[
            "service",
            "update",
            id,
            "--accepted-brands",
            "visa,master-card,maestro",
        ],
    );
    let shown = ok(url, &["service", "show", id]);
    assert!(
        shown.contains("visa, master-card, maestro") || shown.contains("visa,master-card,maestro"),
        "{shown}"
    );
    let (code, _, err) = pence(
        url,
        &["service", "update", id, "--accepted-brands", "visa,nope"],
    );
    assert_ne!(code, 0);
    assert!(err.contains("unknown brand"), "{err}");
    ok(
        url,
        &[
            "service",
            "update",
            id,
            "--recurring",
            "true",
            "--moto-api",
            "true",
        ],
    );
    let listed = ok(url, &["service", "list"]);
    let row = listed.lines().find(|l| l.contains(id)).unwrap();
    assert!(
        row.contains("recurring") && listed.contains("moto_api"),
        "{listed}"
    );
    let live_row = listed
        .lines()
        .find(|l| l.contains(live.trim_end()))
        .unwrap();
    assert!(!live_row.contains("recurring"), "{listed}");
}

#[test]
fn bad_settings_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pence.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:1\"\nno_such_key = 1\n").unwrap();
    let out = Command::new(PENCE)
        .args(["--config", file.to_str().unwrap(), "service", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no_such_key"));
    // A PostgreSQL nobody answers at is reported at once, with its cause.
    let started = Instant::now();
    let out = Command::new(PENCE)
        .args([
            "service",
            "list",
            "--database",
            "postgres://pence@127.0.0.1:1/pence",
        ])
        .env_remove("PENCE_CONFIG")
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Connection refused"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
    }
}

/// Reads the server's stdout until `want` lines have been seen.
fn read_banner(child: &mut Child) -> Vec<String> {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(line) => {
                let done = line.starts_with("Try:");
                lines.push(line);
                if done {
                    break;
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(_) => break,
        }
    }
    lines
}

pence_testkit::engine_tests!(serve_first_run_then_revoke_then_sigterm);
async fn serve_first_run_then_revoke_then_sigterm(engine: Engine) {
    let db = TestDb::new(engine).await;
    let mut child = Command::new(PENCE)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &db.url])
        .env_remove("PENCE_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let banner = read_banner(&mut child);
    let server = Server(child);
    let find = |prefix: &str| {
        banner
            .iter()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|s| s.trim().to_string()))
            .unwrap_or_else(|| panic!("no {prefix:?} in {banner:?}"))
    };
    let url = find("Pence is running at");
    let key = find("test API key:");
    let service_id = find("service id:");
    assert!(
        url.starts_with("http://127.0.0.1:") && !url.ends_with(":0"),
        "{url}"
    );
    assert_eq!(service_id.len(), 26);

    let http = reqwest::Client::new();
    let body = serde_json::json!({"amount": 100, "reference": "r", "description": "d", "return_url": "https://example.org/r"});
    let resp = http
        .post(format!("{url}/v1/payments"))
        .bearer_auth(&key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let json: serde_json::Value = resp.json().await.unwrap();
    pence_testkit::spec::validate_response("POST", "/v1/payments", 201, &json).unwrap();
    assert!(json["_links"]["next_url"]["href"]
        .as_str()
        .unwrap()
        .starts_with(&url));
    let health = http.get(format!("{url}/healthcheck")).send().await.unwrap();
    assert_eq!(health.status(), 200);

    // Revoked while the server runs: refused within the key cache's second.
    let keys = ok(&db.url, &["key", "list"]);
    let key_id = keys
        .lines()
        .find(|l| l.contains(&key[..12]))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    ok(&db.url, &["key", "revoke", &key_id]);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = http
            .get(format!(
                "{url}/v1/payments/{}",
                json["payment_id"].as_str().unwrap()
            ))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .status();
        if status == 401 {
            break;
        }
        assert!(Instant::now() < deadline, "revoked key still works");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // SIGTERM: a graceful stop, exit code 0.
    let mut server = server;
    let child = &mut server.0;
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");

    // A second start on the same database creates nothing new and prints no key.
    let mut again = Command::new(PENCE)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &db.url])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = again.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().unwrap().unwrap();
    let second = lines.next().unwrap().unwrap();
    let _ = again.kill();
    let _ = again.wait();
    assert!(first.starts_with("Pence is running at"));
    assert!(
        second.contains("pence key create") && !second.contains("api_test_"),
        "{second}"
    );
}

/// What `pence serve`'s first-start banner says.
struct Banner {
    url: String,
    key: String,
    service: String,
}

/// `pence serve` on a fresh database `db`, logging to `log` (at `level`, else the default):
/// the running server and its banner.
fn serve_logging(db: &str, log: &std::path::Path, level: Option<&str>) -> (Server, Banner) {
    let mut command = Command::new(PENCE);
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--database", db])
        .env_remove("PENCE_CONFIG")
        .env_remove("PENCE_LOG")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap());
    if let Some(level) = level {
        command.env("PENCE_LOG", level);
    }
    let mut child = command.spawn().unwrap();
    let banner = read_banner(&mut child);
    let find = |prefix: &str| {
        banner
            .iter()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|s| s.trim().to_string()))
            .unwrap()
    };
    let found = Banner {
        url: find("Pence is running at"),
        key: find("test API key:"),
        service: find("service id:"),
    };
    (Server(child), found)
}

/// A whole card journey against `pence serve` logging at trace level, with the service's
/// card page switched by `pence service update`: the card number appears in no log line
/// and in no database file.
#[tokio::test]
async fn card_numbers_stay_out_of_logs_and_database() {
    let db = TestDb::new(Engine::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("pence.log");
    let (_server, Banner { url, key, service }) = serve_logging(&db.url, &log_path, Some("trace"));
    // No email or address on this service's card page; debit cards only.
    ok(
        &db.url,
        &[
            "service",
            "update",
            &service,
            "--email-collection",
            "off",
            "--billing-address",
            "false",
            "--card-types",
            "debit",
        ],
    );
    let shown = ok(&db.url, &["service", "show", &service]);
    for setting in ["email", "off", "billing address", "card types", "debit"] {
        assert!(shown.contains(setting), "{shown}");
    }
    for line in ok(&db.url, &["service", "list"])
        .lines()
        .chain(shown.lines())
    {
        assert!(
            line.chars().count() <= 80,
            "wider than 80 columns: {line:?}"
        );
    }

    let api = reqwest::Client::new();
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let body = serde_json::json!({"amount": 100, "reference": "r", "description": "d", "return_url": "https://example.org/r"});
    let created: serde_json::Value = api
        .post(format!("{url}/v1/payments"))
        .bearer_auth(&key)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["payment_id"].as_str().unwrap();
    let next = created["_links"]["next_url"]["href"].as_str().unwrap();
    let page = browser
        .get(next)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"card-no\""));
    assert!(!page.contains("id=\"email\"") && !page.contains("id=\"address-line-1\""));
    let at = page.find("name=\"csrfToken\" value=\"").unwrap() + 24;
    let csrf = &page[at..at + page[at..].find('"').unwrap()];
    let form = |card: &'static str| {
        vec![
            ("csrfToken", csrf.to_string()),
            ("cardNo", card.to_string()),
            ("expiryMonth", "01".into()),
            ("expiryYear", "2032".into()),
            ("cardholderName", "Grace Hopper".into()),
            ("cvc", "321".into()),
        ]
    };
    // A credit card is refused on this service; the debit card then pays.
    let refused = browser
        .post(format!("{url}/card_details/{id}"))
        .form(&form("4444333322221111"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        refused.contains("Credit cards are not accepted"),
        "{refused}"
    );
    let paid = browser
        .post(format!("{url}/card_details/{id}"))
        .form(&form("4000056655665556"))
        .send()
        .await
        .unwrap();
    assert!(paid.url().path().ends_with("/confirm"), "{}", paid.url());
    let payment: serde_json::Value = api
        .get(format!("{url}/v1/payments/{id}"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(payment["card_details"]["last_digits_card_number"], "5556");
    assert!(payment["card_details"].get("billing_address").is_none());

    // The control API's paying user and the CLI's: refused (as a JSON number), then paid.
    let second: serde_json::Value = api
        .post(format!("{url}/v1/payments"))
        .bearer_auth(&key)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let second = second["payment_id"].as_str().unwrap();
    let pay = format!("{url}/sandbox/v1/payments/{second}/pay");
    let typed_as_number = api
        .post(&pay)
        .bearer_auth(&key)
        .header("Content-Type", "application/json")
        .body(r#"{"card_number": 4917610000000000003, "cvc": "321"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(typed_as_number.status(), 400);
    assert!(!typed_as_number
        .text()
        .await
        .unwrap()
        .contains("4917610000000000003"));
    let paid = api
        .post(&pay)
        .bearer_auth(&key)
        .json(&serde_json::json!({"card_number": "4917610000000000003", "cvc": "321"}))
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 200);
    let third: serde_json::Value = api
        .post(format!("{url}/v1/payments"))
        .bearer_auth(&key)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let third = third["payment_id"].as_str().unwrap();
    let said = ok(
        &db.url,
        &[
            "sandbox",
            "pay",
            third,
            "--card",
            "4988080000000000",
            "--cvc",
            "321",
        ],
    );
    assert!(said.contains("success"), "{said}");

    let logs = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        logs.contains("card_details"),
        "trace logs cover the journey's requests"
    );
    let mut stored = Vec::new();
    for suffix in ["", "-wal"] {
        let mut p = db.path.clone().unwrap().into_os_string();
        p.push(suffix);
        stored.extend(std::fs::read(&p).unwrap_or_default());
    }
    for card in [
        "4444333322221111",
        "4000056655665556",
        "4917610000000000003",
        "4988080000000000",
    ] {
        assert!(!logs.contains(card), "{card} in the logs");
        assert!(
            !stored.windows(card.len()).any(|w| w == card.as_bytes()),
            "{card} in the database"
        );
        assert!(!logs.contains("321\""), "no CVC in the logs");
    }
}

pence_testkit::engine_tests!(webhook_subscriptions_from_the_command_line);
async fn webhook_subscriptions_from_the_command_line(engine: Engine) {
    let db = TestDb::new(engine).await;
    let url = db.url.as_str();
    ok(url, &["migrate"]);
    let test = ok(url, &["service", "create", "--name", "Test"]);
    let live = ok(url, &["service", "create", "--name", "Live", "--live"]);
    let (test, live) = (test.trim_end(), live.trim_end());

    let created = ok(
        url,
        &[
            "webhook",
            "create",
            "--service",
            test,
            "--url",
            "http://127.0.0.1:9/hook",
            "--event",
            "card_payment_captured",
            "--event",
            "card_payment_failed",
            "--description",
            "Finance system",
        ],
    );
    let lines: Vec<&str> = created.lines().collect();
    assert_eq!(lines.len(), 2, "id then secret: {created:?}");
    let (id, secret) = (lines[0], lines[1]);
    assert_eq!(id.len(), 26);
    assert!(secret.starts_with("webhook_secret_") && secret.len() > 40);

    // Live services take https callbacks only; nonsense is refused with the reason.
    let (code, _, stderr) = pence(
        url,
        &[
            "webhook",
            "create",
            "--service",
            live,
            "--url",
            "http://pay.example.gov.uk/h",
        ],
    );
    assert_ne!(code, 0);
    assert!(stderr.contains("https"), "{stderr}");
    ok(
        url,
        &[
            "webhook",
            "create",
            "--service",
            live,
            "--url",
            "https://pay.example.gov.uk/h",
        ],
    );
    let (code, _, stderr) = pence(
        url,
        &["webhook", "create", "--service", test, "--url", "nope"],
    );
    assert_ne!(code, 0);
    assert!(stderr.contains("callback URL"), "{stderr}");
    let (code, _, stderr) = pence(
        url,
        &[
            "webhook",
            "create",
            "--service",
            test,
            "--url",
            "http://a.example/h",
            "--event",
            "card_paid",
        ],
    );
    assert_ne!(code, 0);
    assert!(stderr.contains("card_payment_settled"), "{stderr}");

    let list = ok(url, &["webhook", "list", "--service", test]);
    assert!(list.contains(id) && list.contains("active"), "{list}");
    assert!(list.contains("http://127.0.0.1:9/hook"), "{list}");
    assert!(!list.contains(secret), "secrets are never listed");
    assert!(!list.contains("pay.example.gov.uk"), "only that service's");
    let shown = ok(url, &["webhook", "show", id]);
    assert!(
        shown.contains("card_payment_captured, card_payment_failed"),
        "{shown}"
    );
    assert!(shown.contains("Finance system"), "{shown}");
    for line in list.lines().chain(shown.lines()) {
        assert!(
            line.chars().count() <= 80,
            "wider than 80 columns: {line:?}"
        );
    }

    ok(
        url,
        &[
            "webhook",
            "update",
            id,
            "--url",
            "http://127.0.0.1:10/new",
            "--event",
            "card_payment_refunded",
        ],
    );
    let list = ok(url, &["webhook", "list", "--service", test]);
    assert!(list.contains("http://127.0.0.1:10/new"), "{list}");
    let shown = ok(url, &["webhook", "show", id]);
    assert!(shown.contains("card_payment_refunded"), "{shown}");
    assert!(!shown.contains("card_payment_captured"), "{shown}");
    let (code, _, _) = pence(
        url,
        &["webhook", "update", live, "--url", "http://x.example/h"],
    );
    assert_ne!(code, 0, "{live} is a service, not a webhook");

    let faults = ok(
        url,
        &[
            "webhook",
            "faults",
            id,
            "--duplicate",
            "--drop-first-attempts",
            "2",
            "--out-of-order",
            "--wrong-secret",
        ],
    );
    assert!(
        faults.contains("duplicate true")
            && faults.contains("dropped 2")
            && faults.contains("out of order true")
            && faults.contains("wrong secret true"),
        "{faults}"
    );
    let shown = ok(url, &["webhook", "faults", id]);
    assert_eq!(shown, faults, "shown as set");
    let (code, _, stderr) = pence(url, &["webhook", "faults", id, "--delay-ms", "20000"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("delay_ms"), "{stderr}");
    // Seeded chaos, as the control API takes it.
    let chaos = ok(
        url,
        &[
            "webhook",
            "faults",
            id,
            "--chaos",
            "seed=42,duplicate=30,reorder=20,drop=10,drop_attempts=1,wrong_signature=5,old_secret=5",
        ],
    );
    assert!(
        chaos.contains("chaos with seed 42: duplicate 30%, reorder 20%")
            && chaos.contains("drop 10% for 1 attempts, wrong signature 5%, old secret 5%"),
        "{chaos}"
    );
    let (code, _, stderr) = pence(
        url,
        &["webhook", "faults", id, "--chaos", "seed=1,duplicate=101"],
    );
    assert_ne!(code, 0);
    assert!(stderr.contains("a percentage, 0 to 100"), "{stderr}");
    let (code, _, stderr) = pence(url, &["webhook", "faults", id, "--chaos", "drop=10"]);
    assert_ne!(code, 0);
    assert!(
        stderr.contains("drop_percent needs drop_attempts"),
        "{stderr}"
    );
    let cleared = ok(url, &["webhook", "faults", id, "--clear"]);
    assert!(
        cleared.contains("duplicate false") && cleared.contains("dropped 0"),
        "{cleared}"
    );
    let rotated = ok(url, &["webhook", "rotate-secret", id]);
    assert!(rotated.trim_end().starts_with("webhook_secret_") && rotated.trim_end() != secret);
    ok(url, &["webhook", "deactivate", id]);
    assert!(ok(url, &["webhook", "list", "--service", test]).contains("inactive"));
    ok(url, &["webhook", "update", id, "--active", "true"]);
    assert!(!ok(url, &["webhook", "list", "--service", test]).contains("inactive"));
    ok(url, &["webhook", "update", id, "--active", "false"]);
    assert_eq!(
        ok(url, &["webhook", "messages", id, "--status", "failed"]),
        ""
    );
    let (code, _, stderr) = pence(url, &["webhook", "resend", "nosuchmessage"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("no webhook message"), "{stderr}");
}

/// The access log at the default level: one line per request with its status and the
/// service it was made as, and a 401's reason; the next_url token is not in it.
#[tokio::test]
async fn the_access_log_names_each_request() {
    let db = TestDb::new(Engine::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("pence.log");
    let (server, Banner { url, key, service }) = serve_logging(&db.url, &log_path, None);
    let http = reqwest::Client::new();
    let unknown = http
        .get(format!("{url}/v1/payments/nosuchpayment"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let anonymous = http.get(format!("{url}/v1/payments")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let created: serde_json::Value = http
        .post(format!("{url}/v1/payments"))
        .bearer_auth(&key)
        .json(&serde_json::json!({"amount": 100, "reference": "r", "description": "d", "return_url": "https://example.org/r"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let next = created["_links"]["next_url"]["href"].as_str().unwrap();
    http.get(next).send().await.unwrap();
    // Lines are written by the server's log thread just after their answers: wait for the
    // last request's line (at most 10 s) before stopping the server.
    let waited = Instant::now();
    while !std::fs::read_to_string(&log_path)
        .unwrap_or_default()
        .contains("/secure/…")
    {
        assert!(
            waited.elapsed() < Duration::from_secs(10),
            "no line for next_url"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(server);
    let logs = std::fs::read_to_string(&log_path).unwrap();
    // A first start migrates a new database: one line says so, not one per migration.
    let migrated: Vec<&str> = logs.lines().filter(|l| l.contains("migration")).collect();
    assert_eq!(migrated.len(), 1, "{migrated:?}");
    assert!(migrated[0].contains("applied") && migrated[0].contains("migrations (1 to "));
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|l: &serde_json::Value| l["fields"]["message"] == "request")
        .collect();
    let line = |path: &str| {
        lines
            .iter()
            .find(|l| l["fields"]["path"] == path)
            .unwrap_or_else(|| panic!("no line for {path}: {logs}"))["fields"]
            .clone()
    };
    let found = line("/v1/payments/nosuchpayment");
    assert_eq!(
        (&found["method"], &found["status"], &found["service"]),
        (&"GET".into(), &404.into(), &service.clone().into())
    );
    assert!(found["ms"].as_f64().unwrap() >= 0.0);
    let ids: Vec<&str> = lines
        .iter()
        .filter_map(|l| l["span"]["request_id"].as_str())
        .collect();
    assert_eq!(
        ids.len(),
        lines.len(),
        "every line names its request: {logs}"
    );
    assert!(ids.iter().all(|id| id.len() == 26));
    let refused = lines
        .iter()
        .find(|l| l["fields"]["status"] == 401)
        .expect("a line for the 401");
    assert_eq!(refused["fields"]["refused"], "no bearer token");
    assert!(refused["fields"].get("service").is_none());
    assert_eq!(line("/secure/…")["status"], 303);
    let token = next.rsplit('/').next().unwrap();
    assert!(!logs.contains(token), "the next_url token is a secret");
}

/// A first start that cannot listen creates nothing (it binds before making the sandbox
/// service and key), so the next start still shows the first key.
#[tokio::test]
async fn a_first_start_that_cannot_listen_keeps_the_key_for_the_next() {
    let db = TestDb::new(Engine::Sqlite).await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let out = Command::new(PENCE)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--database",
            &db.url,
        ])
        .env_remove("PENCE_CONFIG")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("listening on"), "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("api_test_"));
    drop(taken);
    let mut child = Command::new(PENCE)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &db.url])
        .env_remove("PENCE_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let banner = read_banner(&mut child);
    let _server = Server(child);
    assert!(
        banner.iter().any(|l| l.contains("test API key: api_test_")),
        "{banner:?}"
    );
}

/// Payments at a terminal: a filtered list, one payment, a CSV export in GOV.UK Pay's
/// columns, all within 80 columns; and each command's help shows only its own options.
#[tokio::test]
async fn payments_at_a_terminal() {
    let server = pence_testkit::TestServer::start(Engine::Sqlite).await;
    let url = server.db.url.clone();
    let mut ids = Vec::new();
    for reference in ["INV-0001", "INV-0002", "OTHER-1"] {
        let body = serde_json::json!({"amount": 1250, "reference": reference, "description": "Parking permit", "return_url": "https://example.org/r"});
        let reply = server.post("/v1/payments", &body).await;
        assert_eq!(reply.status, 201);
        ids.push(reply.json["payment_id"].as_str().unwrap().to_string());
    }
    server
        .post(
            &format!("/v1/payments/{}/cancel", ids[1]),
            &serde_json::json!({}),
        )
        .await;

    let list = ok(&url, &["payment", "list", "--reference", "inv"]);
    assert!(list.contains(&ids[0]) && list.contains(&ids[1]), "{list}");
    assert!(!list.contains(&ids[2]), "{list}");
    assert!(
        list.contains("12.50") && list.contains("cancelled"),
        "{list}"
    );
    let (code, _, stderr) = pence(&url, &["payment", "list", "--state", "paid"]);
    assert_ne!(code, 0);
    assert!(
        stderr.contains("invalid --state (created, started"),
        "{stderr}"
    );
    let (code, _, stderr) = pence(&url, &["payment", "list", "--from-date", "yesterday"]);
    assert_ne!(code, 0);
    assert!(
        stderr.contains("invalid --from-date (a date and time like 2026-11-30T09:00:00Z)"),
        "{stderr}"
    );
    // A page past the end still says how many there are.
    let (code, _, stderr) = pence(
        &url,
        &["payment", "list", "--reference", "inv", "--page", "9"],
    );
    assert_eq!(code, 0);
    assert!(stderr.contains("0 of 2 (page 9)"), "{stderr}");
    // Narrow or piped, ids, dates and states are never split; piped, nothing wraps.
    let long = "A-REFERENCE-LONG-ENOUGH-TO-WRAP-AT-ANY-WIDTH-".repeat(3);
    let body = serde_json::json!({"amount": 1250, "reference": long, "description": "Parking permit", "return_url": "https://example.org/r"});
    let made = server.post("/v1/payments", &body).await;
    let long_id = made.json["payment_id"].as_str().unwrap().to_string();
    let (_, narrow, _) = pence(&url, &["payment", "list"]);
    for id in [&ids[0], &ids[1], &long_id] {
        assert!(narrow.contains(id.as_str()), "{id} whole: {narrow}");
    }
    assert!(narrow.lines().all(|l| l.chars().count() <= 80), "{narrow}");
    assert!(
        !narrow.contains(&long),
        "the long reference wraps: {narrow}"
    );
    let (_, piped, _) = pence_with(&url, &["payment", "list"], None);
    assert!(
        piped
            .lines()
            .any(|l| l.contains(&long_id) && l.contains(&long)),
        "one line a payment when piped: {piped}"
    );

    let shown = ok(&url, &["payment", "show", &ids[1]]);
    for expected in [
        "INV-0002",
        "cancelled (P0040)",
        "PAYMENT_CREATED",
        "CANCELLED_BY_EXTERNAL_SERVICE",
    ] {
        assert!(shown.contains(expected), "{expected}: {shown}");
    }
    for line in list.lines().chain(shown.lines()) {
        assert!(
            line.chars().count() <= 80,
            "wider than 80 columns: {line:?}"
        );
    }

    let csv = ok(
        &url,
        &["payment", "export", "--format", "csv", "--reference", "INV"],
    );
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "Reference,Description,Email,Amount,Card Brand,Cardholder Name,Card Expiry Date,\
         Card Number,State,Finished,Error Code,Error Message,Provider ID,GOV.UK Payment ID,\
         Issued By,Date Created,Time Created,Corporate Card Surcharge,Total Amount,Wallet Type,\
         Card Type"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 2, "{csv}");
    let cancelled = rows.iter().find(|r| r.contains(&ids[1])).unwrap();
    assert!(
        cancelled.starts_with("INV-0002,Parking permit,,12.50,")
            && cancelled.contains(",Cancelled,true,P0040,Payment was cancelled by the service,"),
        "{cancelled}"
    );
    // Text a spreadsheet would run is written as text (OWASP's advice on CSV injection).
    let body = serde_json::json!({"amount": 100, "reference": "=HYPERLINK(1)", "description": "@SUM(A1)", "return_url": "https://example.org/r", "metadata": {"-k": "+1"}});
    assert_eq!(server.post("/v1/payments", &body).await.status, 201);
    let csv = ok(
        &url,
        &[
            "payment",
            "export",
            "--format",
            "csv",
            "--reference",
            "hyperlink",
        ],
    );
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().ends_with(",'-k (metadata)"), "{csv}");
    let row = lines.next().unwrap();
    assert!(row.starts_with("'=HYPERLINK(1),'@SUM(A1),"), "{row}");
    assert!(row.ends_with(",'+1"), "{row}");

    let help = |args: &[&str]| {
        let out = Command::new(PENCE)
            .args(args)
            .arg("--help")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let serve = help(&["serve"]);
    assert!(
        serve.contains("--listen") && serve.contains("--public-url"),
        "{serve}"
    );
    let list_help = help(&["service", "list"]);
    assert!(!list_help.contains("--listen") && !list_help.contains("--no-rate-limits"));
    assert!(list_help.contains("--database"), "{list_help}");
    server.stop().await;
}

pence_testkit::engine_tests!(sandbox_controls_from_the_command_line);
/// `pence sandbox clock`: shown, moved forward (by seconds, to a time), refused backwards and
/// for live services, reset; `pence sandbox fault`: added, listed, removed.
async fn sandbox_controls_from_the_command_line(engine: Engine) {
    let db = TestDb::new(engine).await;
    let url = db.url.as_str();
    ok(url, &["migrate"]);
    let id = ok(url, &["service", "create", "--name", "Permits"]);
    let id = id.trim_end();
    let live = ok(url, &["service", "create", "--name", "Live one", "--live"]);
    let shown = ok(url, &["sandbox", "clock", "--service", id]);
    assert!(shown.contains("(0 s ahead of real time)"), "{shown}");
    let moved = ok(
        url,
        &["sandbox", "clock", "--service", id, "--advance", "3600"],
    );
    assert!(moved.contains("(3600 s ahead"), "{moved}");
    assert!(moved.contains("swept: 0 captured"), "{moved}");
    let (code, _, stderr) = pence(url, &["sandbox", "clock", "--service", id, "--advance=-5"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("only moves forward"), "{stderr}");
    let (code, _, stderr) = pence(
        url,
        &[
            "sandbox",
            "clock",
            "--service",
            id,
            "--to",
            "2020-01-01T00:00:00Z",
        ],
    );
    assert_ne!(code, 0, "{stderr}");
    let moved = ok(
        url,
        &[
            "sandbox",
            "clock",
            "--service",
            id,
            "--to",
            "2099-01-01T00:00:00Z",
        ],
    );
    assert!(moved.contains("2099-01-01T00:00:00.000Z"), "{moved}");
    let (code, _, stderr) = pence(url, &["sandbox", "clock", "--service", live.trim_end()]);
    assert_ne!(code, 0);
    assert!(stderr.contains("no test service"), "{stderr}");
    ok(
        url,
        &[
            "service",
            "update",
            id,
            "--email-refund",
            "false",
            "--email-custom-paragraph",
            "Keep $reference safe.",
        ],
    );
    let shown = ok(url, &["service", "show", id]);
    assert!(shown.contains("Keep $reference safe."), "{shown}");
    let refunds = shown.lines().find(|l| l.contains("refund emails")).unwrap();
    assert!(refunds.contains("off"), "{refunds}");
    let none = ok(url, &["sandbox", "emails", "--service", id]);
    assert_eq!(none, "", "no emails yet, nothing printed");
    let reset = ok(url, &["sandbox", "clock", "--service", id, "--reset"]);
    assert!(reset.contains("(0 s ahead of real time)"), "{reset}");

    // Fault rules: added, listed, removed; refused when they make no sense.
    let rule = ok(
        url,
        &[
            "sandbox",
            "fault",
            "add",
            "--service",
            id,
            "--method",
            "POST",
            "--path",
            "/v1/payments",
            "--next",
            "2",
            "--status",
            "503",
            "--code",
            "P0999",
        ],
    );
    let rule = rule.trim_end();
    let listed = ok(url, &["sandbox", "fault", "list", "--service", id]);
    assert!(
        listed.contains(rule) && listed.contains("POST /v1/payments"),
        "{listed}"
    );
    assert!(listed.contains("answer 503 P0999"), "{listed}");
    let (code, _, stderr) = pence(
        url,
        &[
            "sandbox",
            "fault",
            "add",
            "--service",
            id,
            "--path",
            "/v1/payments",
        ],
    );
    assert_ne!(code, 0);
    assert!(stderr.contains("give one of"), "{stderr}");
    ok(url, &["sandbox", "fault", "remove", rule, "--service", id]);
    let (code, _, _) = pence(url, &["sandbox", "fault", "remove", rule, "--service", id]);
    assert_ne!(code, 0, "removed once");
    let fault = |args: &[&str]| {
        let base = ["sandbox", "fault", "add", "--service", id];
        ok(url, &base.iter().chain(args).copied().collect::<Vec<_>>())
    };
    fault(&[
        "--provider",
        "capture_failure",
        "--fraction",
        "0.5",
        "--seed",
        "7",
        "--expires-in",
        "60",
    ]);
    fault(&["--path", "/v1/payments", "--drop-connection"]);
    let listed = ok(url, &["sandbox", "fault", "list", "--service", id]);
    let row = |what: &str| {
        let line = listed.lines().find(|l| l.contains(what));
        line.unwrap_or_else(|| panic!("no {what} in {listed}"))
            .to_string()
    };
    let (provider, dropping) = (row("capture_failure"), row("drop the connection"));
    assert!(provider.contains("all, 50% (seed 7)"), "{provider}");
    assert!(dropping.contains("/v1/payments"), "{dropping}");
    // Until: a minute on against the default hour (the last column, a date and time).
    let until = |line: &str| {
        let words: Vec<&str> = line.split_whitespace().collect();
        words[words.len() - 2..].join(" ")
    };
    assert!(until(&provider) < until(&dropping), "{listed}");
    let (code, _, stderr) = pence(
        url,
        &["sandbox", "fault", "list", "--service", live.trim_end()],
    );
    assert_ne!(code, 0);
    assert!(stderr.contains("live service"), "{stderr}");
}

/// `pence user`: staff of the admin tool; the link `create` prints last opens the page that
/// sets the password, on a running node.
#[tokio::test]
async fn staff_users_from_the_command_line() {
    let db = TestDb::new(Engine::Sqlite).await;
    let url = db.url.as_str();
    ok(url, &["migrate"]);
    let service = ok(url, &["service", "create", "--name", "Parking permits"]);
    let service = service.trim_end();
    let out = ok(
        url,
        &[
            "user",
            "create",
            "--email",
            "Ada@Council.example",
            "--service",
            service,
            "--role",
            "admin",
        ],
    );
    let link = out.lines().last().unwrap();
    assert!(
        link.starts_with("http://127.0.0.1:8080/admin/set-password/"),
        "{out}"
    );
    let (code, _, stderr) = pence(
        url,
        &[
            "user",
            "create",
            "--email",
            "ada@council.example",
            "--service",
            service,
        ],
    );
    assert_ne!(code, 0);
    assert!(stderr.contains("already exists"), "{stderr}");
    let (code, _, stderr) = pence(
        url,
        &[
            "user",
            "create",
            "--email",
            "b@council.example",
            "--service",
            service,
            "--role",
            "boss",
        ],
    );
    assert_ne!(code, 0);
    assert!(stderr.contains("view-and-refund"), "{stderr}");
    let list = ok(url, &["user", "list"]);
    assert!(
        list.contains("ada@council.example")
            && list.contains("invited")
            && list.contains(&format!("admin on {service}")),
        "{list}"
    );

    // The link works on a node serving that database, once. The CLI sealed the node's own
    // secrets with the key file it made beside the database; the node is given that key.
    let key = std::fs::read_to_string(format!("{url}.key")).expect("a key file beside it");
    let sealing = pence_store::SealingKeys {
        current: pence_store::SealingKey::parse(&key).unwrap(),
        previous: Vec::new(),
    };
    let node = pence_node::Node::start(pence_node::Settings {
        sweep_every: None,
        store: pence_store::StoreOptions {
            sealing: Some(sealing),
            ..Default::default()
        },
        ..pence_node::Settings::new(url)
    })
    .await
    .unwrap();
    let path = &link["http://127.0.0.1:8080".len()..];
    let page = reqwest::get(format!("{}{path}", node.public_url))
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("ada@council.example"));
    // Once a node has run, links use the address it is reached at, not the default.
    let out = ok(url, &["user", "link", "--email", "ada@council.example"]);
    let link = out.lines().last().unwrap();
    assert!(
        link.starts_with(&format!("{}/admin/set-password/", node.public_url)),
        "{out} (node at {})",
        node.public_url
    );
    node.stop().await;

    let (_, _, said) = pence(url, &["user", "disable", "--email", "ada@council.example"]);
    assert!(said.contains("disabled ada@council.example"), "{said}");
    assert!(ok(url, &["user", "list"]).contains("disabled"));
}

/// Secrets at rest: a new SQLite database gets a key file beside it (its owner's only), and
/// a rotation is a new key given with the old one as previous, then `secrets reseal`; after
/// it the new key alone opens the database.
#[tokio::test]
async fn secrets_are_sealed_with_a_key_that_rotates() {
    let db = TestDb::new(Engine::Sqlite).await;
    let url = db.url.as_str();
    ok(url, &["migrate"]);
    let key_file = format!("{url}.key");
    let old = std::fs::read_to_string(&key_file).expect("a key file beside the database");
    let old = old.trim();
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "readable by its owner only");
    ok(url, &["service", "create", "--name", "Parking permits"]);

    let new = ok(url, &["secrets", "new-key"]);
    let new = new.trim();
    assert_eq!(new.len(), 64);
    let run = |envs: &[(&str, &str)], args: &[&str]| {
        let mut command = Command::new(PENCE);
        command
            .args(args)
            .env("PENCE_DATABASE_URL", url)
            .env_remove("PENCE_CONFIG")
            .env_remove("PENCE_SECRET_KEY")
            .env_remove("PENCE_PREVIOUS_SECRET_KEYS");
        for (k, v) in envs {
            command.env(k, v);
        }
        command.output().unwrap()
    };
    let rotated = run(
        &[
            ("PENCE_SECRET_KEY", new),
            ("PENCE_PREVIOUS_SECRET_KEYS", old),
        ],
        &["secrets", "reseal"],
    );
    let said = String::from_utf8_lossy(&rotated.stderr);
    assert!(
        rotated.status.success() && said.contains("sealed"),
        "{said}"
    );
    let listed = run(&[("PENCE_SECRET_KEY", new)], &["service", "list"]);
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    // The old key (the file) alone no longer opens it, and says why.
    let refused = run(&[], &["service", "list"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("not given"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let bad = run(&[("PENCE_SECRET_KEY", "short")], &["service", "list"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("64 hexadecimal digits"));
}

/// On a first start the banner with the one-time key comes after the start's log lines
/// (stderr and stdout read as one, as a terminal shows them).
#[tokio::test]
async fn the_banner_comes_after_the_start_log() {
    let db = TestDb::new(Engine::Sqlite).await;
    let mut child = Command::new("sh")
        .args([
            "-c",
            &format!(
                "exec {PENCE} serve --listen 127.0.0.1:0 --database {} 2>&1",
                db.url
            ),
        ])
        .env_remove("PENCE_CONFIG")
        .env_remove("PENCE_LOG")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let done = line.contains("The key is shown only now");
        seen.push(line);
        if done {
            break;
        }
    }
    let _server = Server(child);
    let at = |text: &str| seen.iter().position(|l| l.contains(text));
    let migrated = at("applied").expect("the migrations' line");
    let banner = at("Pence is running at").expect("the banner");
    let key = at("test API key").expect("the key");
    assert!(migrated < banner && banner < key, "{seen:#?}");
    assert_eq!(
        key + 2,
        seen.len(),
        "nothing after the banner yet: {seen:#?}"
    );
}

/// Output piped into a command that stops reading (`pence key list | head -1`) ends the
/// command quietly, not with a panic's backtrace.
#[test]
fn a_closed_pipe_ends_a_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("p.db").display());
    ok(&db, &["migrate"]);
    ok(&db, &["service", "create", "--name", "Council"]);
    for _ in 0..3 {
        ok(&db, &["key", "create"]);
    }
    let mut child = Command::new(PENCE)
        .args(["key", "list"])
        .env("PENCE_DATABASE_URL", &db)
        .env("COLUMNS", "80")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(141), "{stderr}");
}

/// Every setting `service update` takes, set at once and read back by `service show`.
#[test]
fn every_service_setting_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("p.db").display());
    ok(&db, &["migrate"]);
    let id = ok(&db, &["service", "create", "--name", "Council"]);
    let id = id.trim();
    let said = {
        let (code, _, stderr) = pence(
            &db,
            &[
                "service",
                "update",
                id,
                "--rate-limit-get",
                "7",
                "--moto",
                "true",
                "--moto-mask-card-number",
                "true",
                "--moto-mask-security-code",
                "true",
                "--block-prepaid",
                "true",
                "--surcharge-credit",
                "250",
                "--surcharge-debit",
                "50",
                "--surcharge-prepaid-debit",
                "75",
                "--email-confirmation",
                "false",
            ],
        );
        assert_eq!(code, 0, "{stderr}");
        stderr
    };
    assert!(said.contains("changed GET rate limit, moto"), "{said}");
    let shown = ok(&db, &["service", "show", id]);
    let value = |setting: &str| {
        let line = shown.lines().find(|l| l.trim_start().starts_with(setting));
        let line = line.unwrap_or_else(|| panic!("no {setting} in {shown}"));
        line.trim_start()[setting.len()..].trim().to_string()
    };
    assert_eq!(value("rate limit (GET)"), "7/s");
    assert_eq!(value("MOTO "), "on");
    assert_eq!(value("MOTO card number masked"), "on");
    assert_eq!(value("MOTO security code masked"), "on");
    assert_eq!(value("prepaid cards"), "refused");
    assert_eq!(value("confirmation emails"), "off");
    assert_eq!(
        value("surcharges (pence)"),
        "credit 250, debit 50, prepaid debit 75"
    );
}

/// The sandbox's paying user with a name and expiry of their own, one stopping at the confirm
/// page; then the card filters of `payment list` and `payment export` find exactly the paid
/// one, and `sandbox emails --full` prints its confirmation's text.
#[tokio::test]
async fn payments_found_by_their_card_from_the_command_line() {
    let server = pence_testkit::TestServer::start(Engine::Sqlite).await;
    let url = server.db.url.clone();
    let mut ids = Vec::new();
    for reference in ["CARD-1", "CARD-2"] {
        let body = serde_json::json!({"amount": 1250, "reference": reference, "description": "Parking permit", "return_url": "https://example.org/r", "email": "payer@example.org"});
        let reply = server.post("/v1/payments", &body).await;
        assert_eq!(reply.status, 201);
        ids.push(reply.json["payment_id"].as_str().unwrap().to_string());
    }
    let paid = ok(
        &url,
        &[
            "sandbox",
            "pay",
            &ids[0],
            "--card",
            "4000056655665556",
            "--cardholder-name",
            "Grace Hopper",
            "--expiry",
            "01/32",
        ],
    );
    assert!(paid.contains("success"), "{paid}");
    let stopped = ok(
        &url,
        &[
            "sandbox",
            "pay",
            &ids[1],
            "--card",
            "4444333322221111",
            "--no-confirm",
        ],
    );
    assert!(!stopped.contains("success"), "{stopped}");
    let second = server.get(&format!("/v1/payments/{}", ids[1])).await;
    assert_eq!(
        second.json["state"]["status"], "submitted",
        "{}",
        second.json
    );
    let first = server.get(&format!("/v1/payments/{}", ids[0])).await;
    assert_eq!(first.json["card_details"]["expiry_date"], "01/32");
    assert_eq!(
        first.json["card_details"]["cardholder_name"],
        "Grace Hopper"
    );

    let filters = [
        "--card-brand",
        "visa",
        "--cardholder-name",
        "grace",
        "--first-digits-card-number",
        "400005",
        "--last-digits-card-number",
        "5556",
        "--to-date",
        "2999-01-01T00:00:00Z",
    ];
    let list: Vec<&str> = ["payment", "list", "--display-size", "1"]
        .into_iter()
        .chain(filters)
        .collect();
    let (code, listed, stderr) = pence(&url, &list);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        listed.contains(&ids[0]) && !listed.contains(&ids[1]),
        "{listed}"
    );
    assert!(stderr.contains("1 of 1"), "{stderr}");
    let export: Vec<&str> = ["payment", "export"].into_iter().chain(filters).collect();
    let csv = ok(&url, &export);
    assert_eq!(
        csv.lines().count(),
        2,
        "a header and the one payment: {csv}"
    );
    assert!(
        csv.contains(&ids[0]) && csv.contains("Grace Hopper"),
        "{csv}"
    );
    for (flag, other) in [
        ("--card-brand", "master-card"),
        ("--cardholder-name", "ada"),
        ("--first-digits-card-number", "444433"),
        ("--last-digits-card-number", "1111"),
        ("--to-date", "2001-01-01T00:00:00Z"),
    ] {
        let csv = ok(&url, &["payment", "export", flag, other]);
        assert!(!csv.contains(&ids[0]), "{flag} {other}: {csv}");
    }

    // A 3-D Secure challenge failed: the payment fails.
    let body = serde_json::json!({"amount": 500, "reference": "CARD-3", "description": "d", "return_url": "https://example.org/r"});
    let third = server.post("/v1/payments", &body).await;
    let third = third.json["payment_id"].as_str().unwrap().to_string();
    let refused = [
        "sandbox",
        "pay",
        &third,
        "--card",
        "4000002500003155",
        "--3ds",
        "fail",
    ];
    let (_, said, stderr) = pence(&url, &refused);
    let status = server.get(&format!("/v1/payments/{third}")).await.json["state"]["status"].clone();
    assert_eq!(status, "failed", "{said} {stderr}");

    let service = server.service.id.clone();
    let short = ok(&url, &["sandbox", "emails", "--service", &service]);
    let full = ok(
        &url,
        &["sandbox", "emails", "--service", &service, "--full"],
    );
    assert!(short.contains("payer@example.org"), "{short}");
    assert!(
        full.len() > short.len() && full.contains("CARD-1"),
        "{full}"
    );
}

/// `pence serve --metrics-listen` answers /metrics on its own address.
#[tokio::test]
async fn metrics_on_an_address_of_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("p.db").display());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let metrics = format!("127.0.0.1:{port}");
    let mut child = Command::new(PENCE)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &db])
        .args(["--metrics-listen", &metrics])
        .env_remove("PENCE_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _banner = read_banner(&mut child);
    let _server = Server(child);
    let body = reqwest::get(format!("http://{metrics}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("# TYPE"), "{body}");
}

/// Every flag of every command is run by a test: each appears, quoted, in this crate's or the
/// test kit's tests (a flag added without one fails here).
#[test]
fn every_flag_is_run_by_a_test() {
    let sources: String = ["tests", "../pence-testkit/tests"]
        .iter()
        .flat_map(|dir| walk(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    let mut missing = Vec::new();
    let mut commands = vec![Vec::<String>::new()];
    while let Some(command) = commands.pop() {
        let out = Command::new(PENCE)
            .args(&command)
            .arg("--help")
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut in_commands = false;
        for line in help.lines() {
            if line.starts_with("Commands:") {
                in_commands = true;
                continue;
            }
            if in_commands {
                match line.split_whitespace().next() {
                    Some("help") | None => in_commands = !line.trim().is_empty(),
                    Some(sub) => {
                        commands.push(command.iter().cloned().chain([sub.to_string()]).collect())
                    }
                }
                continue;
            }
            let Some(flag) = line.split_whitespace().find(|w| w.starts_with("--")) else {
                continue;
            };
            let flag = flag.trim_end_matches(',');
            let common = ["--help", "--database", "--config", "--version"];
            if !common.contains(&flag) && !sources.contains(&format!("\"{flag}\"")) {
                missing.push(format!("pence {} {flag}", command.join(" ")));
            }
        }
    }
    missing.sort();
    missing.dedup();
    assert!(missing.is_empty(), "flags no test runs: {missing:#?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

pence_testkit::engine_tests!(payment_links_from_the_command_line);
async fn payment_links_from_the_command_line(engine: Engine) {
    let db = TestDb::new(engine).await;
    let url = db.url.as_str();
    ok(url, &["migrate"]);
    let service = ok(url, &["service", "create", "--name", "Borough Council"]);
    let service = service.trim_end();
    let made = ok(
        url,
        &[
            "link",
            "create",
            "--service",
            service,
            "--title",
            "Pay for a parking permit",
            "--details",
            "Residents only",
            "--reference-label",
            "Permit number",
            "--reference-hint",
            "On your letter",
            "--amount-hint",
            "Up to £50",
            "--language",
            "cy",
            "--column",
            "cost_centre=AB12",
            "--column",
            "team=parking",
        ],
    );
    let lines: Vec<&str> = made.lines().collect();
    assert_eq!(lines.len(), 2, "id then address: {made:?}");
    let id = lines[0];
    assert!(
        lines[1].ends_with("/payments/borough-council/pay-for-parking-permit"),
        "{made}"
    );
    let shown = ok(url, &["link", "show", "--service", service, id]);
    for expected in [
        "payer enters: Permit number",
        "On your letter",
        "Up to £50",
        "cy",
        "cost_centre=AB12, team=parking",
    ] {
        assert!(shown.contains(expected), "{expected}: {shown}");
    }

    // A second link may not take the address; a bad field is named as its flag.
    let (code, _, stderr) = pence(
        url,
        &[
            "link",
            "create",
            "--service",
            service,
            "--title",
            "Pay for parking permit",
        ],
    );
    assert_ne!(code, 0);
    assert!(
        stderr.contains("The website address is already taken"),
        "{stderr}"
    );
    let (code, _, stderr) = pence(
        url,
        &[
            "link",
            "create",
            "--service",
            service,
            "--title",
            "x",
            "--amount",
            "10",
        ],
    );
    assert_ne!(code, 0);
    assert!(
        stderr.contains("--amount: Enter a valid payment amount"),
        "{stderr}"
    );

    // Changes keep what they do not name.
    let moved = ok(
        url,
        &[
            "link",
            "update",
            "--service",
            service,
            id,
            "--amount",
            "2500",
            "--made-up-reference",
            "--service-path",
            "council",
            "--link-path",
            "permits",
        ],
    );
    assert!(
        moved.trim_end().ends_with("/payments/council/permits"),
        "{moved}"
    );
    let shown = ok(url, &["link", "show", "--service", service, id]);
    assert!(
        shown.contains("£25.00") && shown.contains("made up"),
        "{shown}"
    );
    assert!(
        shown.contains("Residents only") && shown.contains("cy"),
        "{shown}"
    );
    ok(
        url,
        &[
            "link",
            "update",
            "--service",
            service,
            id,
            "--payer-enters-amount",
        ],
    );
    let listed = ok(url, &["link", "list", "--service", service]);
    assert!(
        listed.contains(id) && listed.contains("payer enters"),
        "{listed}"
    );

    // Paid as its payer would, by its address; answers its pages would refuse are refused.
    let address = "http://127.0.0.1:8080/payments/council/permits?x=1";
    let paid = ok(
        url,
        &[
            "sandbox",
            "pay-link",
            address,
            "--amount",
            "1234",
            "--card",
            "4444333322221111",
        ],
    );
    assert!(paid.contains("success"), "{paid}");
    let (code, _, stderr) = pence(
        url,
        &[
            "sandbox",
            "pay-link",
            id,
            "--amount",
            "1234",
            "--reference",
            "R1",
            "--card",
            "4444333322221111",
        ],
    );
    assert_ne!(code, 0);
    assert!(
        stderr.contains("--reference: The link makes up its references"),
        "{stderr}"
    );
    let (code, _, stderr) = pence(
        url,
        &["sandbox", "pay-link", id, "--card", "4444333322221111"],
    );
    assert_ne!(code, 0);
    assert!(
        stderr.contains("--amount: Cofnodwch swm o arian i’w dalu"),
        "in the link's Welsh: {stderr}"
    );

    ok(url, &["link", "delete", "--service", service, id]);
    let (code, _, stderr) = pence(url, &["link", "show", "--service", service, id]);
    assert_ne!(code, 0);
    assert!(stderr.contains("no payment link"), "{stderr}");
}

#[tokio::test]
async fn a_signed_body_to_any_url_shows_the_answer() {
    let receiver = pence_testkit::Receiver::start().await;
    receiver.script([pence_testkit::Answer::Status(401)]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("message.json");
    let body = r#"{"webhook_message_id":"x","resource":{"amount":1}}"#;
    std::fs::write(&file, body).unwrap();
    let secret = "webhook_secret_for_a_receiver_in_development";
    let url = receiver.url.clone();
    let file_arg = file.to_str().unwrap().to_string();
    // No database needed: the command only sends.
    let out = tokio::task::spawn_blocking(move || {
        pence_with(
            "sqlite:///nonexistent/pence.db",
            &[
                "webhook",
                "send",
                "--url",
                &url,
                "--secret",
                secret,
                "--body",
                &file_arg,
                "--timeout-ms",
                "5000",
            ],
            None,
        )
    })
    .await
    .unwrap();
    let (code, stdout, stderr) = out;
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("HTTP 401 in "), "{stdout}");
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, body.as_bytes(), "sent as it is");
    assert!(got[0].signed_with(secret), "signed as GOV.UK Pay signs");
    assert_eq!(got[0].content_type.as_deref(), Some("application/json"));

    // Nobody listening: said, and a failure.
    let (code, _, stderr) = pence_with(
        "sqlite:///nonexistent/pence.db",
        &[
            "webhook",
            "send",
            "--url",
            "http://127.0.0.1:9/hook",
            "--secret",
            "s",
            "--body",
            file.to_str().unwrap(),
        ],
        None,
    );
    assert_ne!(code, 0);
    assert!(stderr.contains("could not connect"), "{stderr}");
}

pence_testkit::engine_tests!(a_link_made_by_the_cli_is_the_links_apis_link);
async fn a_link_made_by_the_cli_is_the_links_apis_link(engine: Engine) {
    let server = pence_testkit::TestServer::start(engine).await;
    let db = server.db.url.clone();
    let service = server.service.id.clone();
    let made = ok(
        &db,
        &[
            "link",
            "create",
            "--service",
            &service,
            "--title",
            "Skip hire",
            "--amount",
            "4000",
            "--reference-label",
            "Booking number",
            "--language",
            "cy",
            "--column",
            "team=waste",
            "--link-path",
            "skips-cli",
        ],
    );
    let cli_id = made.lines().next().unwrap().to_string();
    let body = serde_json::json!({"title": "Skip hire", "amount": 4000,
        "reference": {"label": "Booking number"}, "language": "cy",
        "reporting_columns": {"team": "waste"}, "link_path": "skips-api"});
    let by_api = server.post("/pence/v1/payment_links", &body).await;
    assert_eq!(by_api.status, 201, "{}", by_api.text);
    let by_cli = server
        .get(&format!("/pence/v1/payment_links/{cli_id}"))
        .await;
    assert_eq!(by_cli.status, 200, "{}", by_cli.text);
    // The same link but for what names it.
    let same = |v: &serde_json::Value| {
        let mut v = v.clone();
        for k in ["id", "link_path", "url", "created_date", "updated_date"] {
            v.as_object_mut().unwrap().remove(k);
        }
        v
    };
    assert_eq!(same(&by_cli.json), same(&by_api.json));
    // And both take the same payment.
    for id in [cli_id.as_str(), by_api.json["id"].as_str().unwrap()] {
        let paid = server
            .post(
                &format!("/sandbox/v1/payment_links/{id}/pay"),
                &serde_json::json!({"reference": "B-1", "card_number": "4444333322221111"}),
            )
            .await;
        assert_eq!(paid.status, 200, "{}", paid.text);
        assert_eq!(
            (paid.json["amount"].clone(), paid.json["metadata"].clone()),
            (
                serde_json::json!(4000),
                serde_json::json!({"team": "waste"})
            )
        );
    }
    server.stop().await;
}

pence_testkit::engine_tests!(a_message_triggered_from_the_command_line_with_overrides);
async fn a_message_triggered_from_the_command_line_with_overrides(engine: Engine) {
    let server = pence_testkit::TestServer::start(engine).await;
    let db = server.db.url.clone();
    let hook = server
        .post(
            "/sandbox/v1/webhooks",
            &serde_json::json!({"callback_url": "http://127.0.0.1:9/hook"}),
        )
        .await;
    let hook = hook.json["id"].as_str().unwrap().to_string();
    let body = serde_json::json!({"amount": 100, "reference": "r", "description": "d",
        "return_url": "https://example.org/r"});
    let created = server.post("/v1/payments", &body).await;
    let id = created.json["payment_id"].as_str().unwrap().to_string();
    let ids = ok(
        &db,
        &[
            "sandbox",
            "trigger",
            &id,
            "card_payment_succeeded",
            "--set",
            "resource.amount=1",
            "--set",
            "resource.state.status=failed",
        ],
    );
    assert_eq!(ids.lines().count(), 1, "{ids}");
    let log = pence_with(&db, &["webhook", "messages", &hook], None).1;
    assert!(
        log.contains(
            r#"succeeded (triggered with overrides: resource.amount=1, resource.state.status="failed")"#
        ),
        "{log}"
    );
    let (code, _, stderr) = pence(
        &db,
        &[
            "sandbox",
            "trigger",
            &id,
            "card_payment_succeeded",
            "--set",
            "amount=1",
        ],
    );
    assert_ne!(code, 0);
    assert!(
        stderr.contains("only the resource's fields can be overridden"),
        "{stderr}"
    );
    server.stop().await;
}

pence_testkit::engine_tests!(a_fixture_file_in_toml_or_json_from_the_command_line);
/// A team keeps its fixtures in version control and loads them with the CLI: the same file
/// in TOML or JSON makes the same payments as the control API would.
async fn a_fixture_file_in_toml_or_json_from_the_command_line(engine: Engine) {
    let server = pence_testkit::TestServer::start(engine).await;
    let db = server.db.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("payments.toml");
    std::fs::write(
        &toml,
        "[[payments]]\ncount = 2\nstate = \"success\"\namount = 2500\nrefunds = [500]\n\n\
         [[payments]]\nstate = \"expired\"\n",
    )
    .unwrap();
    let json = dir.path().join("payments.json");
    std::fs::write(
        &json,
        r#"{"payments": [{"count": 2, "state": "success", "amount": 2500, "refunds": [500]},
            {"state": "expired"}]}"#,
    )
    .unwrap();
    let mut states = Vec::new();
    for file in [&toml, &json] {
        let (code, out, err) = pence(
            &db,
            &[
                "sandbox",
                "fixture",
                file.to_str().unwrap(),
                "--service",
                &server.service.id,
            ],
        );
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("made 3 payments and 0 agreements"), "{err}");
        let rows: Vec<&str> = out.lines().filter(|l| l.contains("payments[")).collect();
        assert_eq!(rows.len(), 3, "{out}");
        states.push(
            rows.iter()
                .map(|r| r.split_whitespace().nth(2).unwrap().to_string())
                .collect::<Vec<_>>(),
        );
        assert!(rows[0].contains("refund "), "{out}");
    }
    assert_eq!(states[0], ["success", "success", "failed"]);
    assert_eq!(states[0], states[1], "the same fixture either way");
    let all = server.get("/v1/payments?state=success").await;
    assert_eq!(all.json["total"], 4, "{}", all.text);
    // A file that asks for what no journey reaches is refused, naming the file and the entry.
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"payments": [{"state": "created", "refunds": [1]}]}"#,
    )
    .unwrap();
    let (code, _, err) = pence(&db, &["sandbox", "fixture", bad.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(
        err.contains("bad.json: payments[0]: only a successful payment has refunds"),
        "{err}"
    );
    server.stop().await;
}

pence_testkit::engine_tests!(snapshots_from_the_command_line_move_between_databases);
/// A team's CI script: save a service's state, export it to a file, restore it between
/// tests, empty the service, and import the file into another database (SQLite here).
async fn snapshots_from_the_command_line_move_between_databases(engine: Engine) {
    let server = pence_testkit::TestServer::start(engine).await;
    let db = server.db.url.clone();
    let id = server.service.id.clone();
    let made = server
        .post(
            "/v1/payments",
            &serde_json::json!({"amount": 1500, "reference": "kept",
            "description": "d", "return_url": "https://example.org/r"}),
        )
        .await;
    let kept = made.json["payment_id"].as_str().unwrap().to_string();
    let run = |db: &str, args: &[&str]| {
        let (code, out, err) = pence(db, args);
        assert_eq!(code, 0, "pence {args:?}: {err}");
        out
    };
    let out = run(
        &db,
        &["sandbox", "snapshot", "save", "base", "--service", &id],
    );
    assert!(out.contains("base"), "{out}");
    let listed = run(&db, &["sandbox", "snapshot", "list", "--service", &id]);
    assert!(
        listed
            .lines()
            .any(|l| l.trim_start().starts_with("base ") && l.contains(" 1 ")),
        "{listed}"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("base.json");
    let file = file.to_str().unwrap();
    run(
        &db,
        &[
            "sandbox",
            "snapshot",
            "export",
            "base",
            "--out",
            file,
            "--service",
            &id,
        ],
    );

    let later = server
        .post(
            "/v1/payments",
            &serde_json::json!({"amount": 99, "reference": "later",
            "description": "d", "return_url": "https://example.org/r"}),
        )
        .await;
    let later = later.json["payment_id"].as_str().unwrap().to_string();
    run(&db, &["sandbox", "snapshot", "restore", "base"]);
    assert_eq!(
        server.get(&format!("/v1/payments/{later}")).await.status,
        404
    );
    assert_eq!(
        server.get(&format!("/v1/payments/{kept}")).await.status,
        200
    );
    run(&db, &["sandbox", "reset", "--service", &id]);
    assert_eq!(server.get("/v1/payments").await.json["total"], 0);

    // Another database: the file is imported under a name of its own and restored there.
    let other = pence_testkit::TestServer::start(Engine::Sqlite).await;
    let other_db = other.db.url.clone();
    run(
        &other_db,
        &["sandbox", "snapshot", "import", file, "--name", "from-ci"],
    );
    run(&other_db, &["sandbox", "snapshot", "restore", "from-ci"]);
    let there = other.get(&format!("/v1/payments/{kept}")).await;
    assert_eq!(there.status, 200, "{}", there.text);
    assert_eq!(there.json["reference"], "kept");

    run(
        &db,
        &["sandbox", "snapshot", "delete", "base", "--service", &id],
    );
    let (code, _, err) = pence(&db, &["sandbox", "snapshot", "restore", "base"]);
    assert_ne!(code, 0);
    assert!(err.contains("no snapshot base"), "{err}");
    let (code, _, err) = pence(&other_db, &["sandbox", "snapshot", "save", "a/b"]);
    assert_ne!(code, 0);
    assert!(err.contains("A snapshot's name is 1 to 64"), "{err}");
    other.stop().await;
    server.stop().await;
}

pence_testkit::engine_tests!(the_ci_script_in_the_docs_runs_as_written);
/// docs/testing.md shows a team's CI script; it runs here as written, with `pence` on the
/// PATH and the database of a node that serves the sandbox service.
async fn the_ci_script_in_the_docs_runs_as_written(engine: Engine) {
    let server = pence_testkit::TestServer::start(engine).await;
    let docs = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/testing.md"),
    )
    .unwrap();
    let after = docs
        .split("<!-- ci-script:")
        .nth(1)
        .expect("the marked script");
    let script = after
        .split("```sh\n")
        .nth(1)
        .and_then(|s| s.split("\n```").next())
        .expect("a sh block after the mark");
    let dir = tempfile::tempdir().unwrap();
    let bin = std::path::Path::new(PENCE).parent().unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(dir.path())
        .env("PATH", path)
        .env("PENCE_DATABASE_URL", &server.db.url)
        .env_remove("PENCE_CONFIG")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("run the month-end tests here"), "{stdout}");
    let file = std::fs::read_to_string(dir.path().join("seeded.json")).unwrap();
    assert!(file.contains("\"format\":\"pence-snapshot/1\""));
    // The service after the script: the fixture's payments, a month on.
    let all = server.get("/v1/payments").await;
    assert_eq!(all.json["total"], 4, "{}", all.text);
    let clock = server.get("/sandbox/v1/clock").await;
    assert!(clock.json["offset_ms"].as_i64().unwrap() >= 2_592_000_000 - 60_000);
    server.stop().await;
}
