//! `/sandbox/v1/snapshots` and `/sandbox/v1/reset` (issue 31): a test service's whole state
//! saved, restored exactly (every API answer as when it was saved), emptied, and carried as a
//! file to a node on the other engine; bad files refused whole; other services untouched.

use pence_core::ports::prelude::*;
use pence_testkit::{Engine, Reply, ServerOptions, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

use super::{base, without_token};

/// Everything the service's API and control API show, read call by call: the payment
/// search, every payment with its events and refunds, the refund, dispute and agreement
/// searches and each agreement, a search by state (a count over frozen payments), the
/// webhook subscriptions with their message logs, the emails and the fault rules.
async fn view(server: &TestServer) -> Value {
    let ok = |r: Reply, what: &str| {
        assert_eq!(r.status, 200, "{what}: {}", r.text);
        r.json
    };
    let search = ok(server.get("/v1/payments?display_size=500").await, "search");
    let mut payments = Vec::new();
    for p in search["results"].as_array().unwrap() {
        let id = p["payment_id"].as_str().unwrap();
        let refunds = ok(
            server.get(&format!("/v1/payments/{id}/refunds")).await,
            "refunds",
        );
        let mut each = Vec::new();
        for r in refunds["_embedded"]["refunds"].as_array().unwrap() {
            let rid = r["refund_id"].as_str().unwrap();
            each.push(ok(
                server
                    .get(&format!("/v1/payments/{id}/refunds/{rid}"))
                    .await,
                "refund",
            ));
        }
        let payment = ok(server.get(&format!("/v1/payments/{id}")).await, "payment");
        let payment = without_token(payment);
        payments.push(json!({
            "payment": payment,
            "events": ok(server.get(&format!("/v1/payments/{id}/events")).await, "events"),
            "refunds": refunds,
            "each_refund": each,
        }));
    }
    let agreements = ok(server.get("/v1/agreements").await, "agreements");
    let mut each_agreement = Vec::new();
    for a in agreements["results"].as_array().unwrap() {
        let id = a["agreement_id"].as_str().unwrap();
        each_agreement.push(ok(
            server.get(&format!("/v1/agreements/{id}")).await,
            "agreement",
        ));
    }
    let webhooks = ok(server.get("/sandbox/v1/webhooks").await, "webhooks");
    let mut logs = Vec::new();
    for w in webhooks["webhooks"].as_array().unwrap() {
        let id = w["id"].as_str().unwrap();
        logs.push(ok(
            server
                .get(&format!("/sandbox/v1/webhooks/{id}/messages"))
                .await,
            "messages",
        ));
    }
    json!({
        "search": search,
        "payments": payments,
        "successes": ok(server.get("/v1/payments?state=success").await, "by state"),
        "refund_search": ok(server.get("/v1/refunds").await, "refund search"),
        "disputes": ok(server.get("/v1/disputes").await, "disputes"),
        "agreements": agreements,
        "each_agreement": each_agreement,
        "webhooks": webhooks,
        "logs": logs,
        "emails": ok(server.get("/sandbox/v1/emails").await, "emails"),
        "faults": ok(server.get("/sandbox/v1/faults").await, "faults"),
    })
}

/// Where two views first differ, and how: a failure names the field rather than print both.
fn first_difference(a: &Value, b: &Value, at: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => x.keys().chain(y.keys()).find_map(|k| {
            let (l, r) = (
                x.get(k).unwrap_or(&Value::Null),
                y.get(k).unwrap_or(&Value::Null),
            );
            first_difference(l, r, &format!("{at}.{k}"))
        }),
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (l, r))| first_difference(l, r, &format!("{at}[{i}]"))),
        _ if a == b => None,
        _ => Some(format!("{at}: {a} against {b}")),
    }
}

/// The two views are the same, or the failure says where not.
fn assert_same(got: &Value, want: &Value, what: &str) {
    if let Some(difference) = first_difference(got, want, "") {
        panic!("{what}: {difference}");
    }
}

async fn service_now(server: &TestServer) -> i64 {
    let clock = server.get("/sandbox/v1/clock").await;
    pence_core::timefmt::parse(clock.json["now"].as_str().unwrap()).unwrap()
}

async fn restore(server: &TestServer, name: &str) -> Reply {
    let reply = server
        .post(&format!("/sandbox/v1/snapshots/{name}/restore"), &json!({}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply
}

/// A service with something of everything: payments in many states with refunds and a
/// dispute, an agreement with payments, a subscription with failed deliveries, emails, a
/// fault rule, and its clock moved. The subscription's id and signing secret.
async fn seed(server: &TestServer) -> (String, String) {
    let mut service = server.service.clone();
    service.recurring_enabled = true;
    server.store.update_service(&service, None).await.unwrap();
    let hook = server
        .post(
            "/sandbox/v1/webhooks",
            &json!({"callback_url": "http://127.0.0.1:9/hook"}),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.text);
    let made = server
        .post(
            "/sandbox/v1/fixtures",
            &json!({
                "payments": [
                    {"count": 2, "state": "success", "amount": 1000, "refunds": [200],
                     "email": "payer@example.org"},
                    {"state": "success", "dispute": "lost"},
                    {"state": "capturable"},
                    {"state": "expired"},
                    {"state": "created"},
                    {"state": "success", "delayed_capture": true,
                     "metadata": {"ledger_code": "AB1"}}
                ],
                "agreements": [{"state": "active", "payments": 2, "amount": 1500}]
            }),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.text);
    server.drain_webhooks().await;
    let rule = server
        .post(
            "/sandbox/v1/faults",
            &json!({"method": "POST", "path": "/v1/agreements", "next": 2,
                    "answer": {"status": 500}}),
        )
        .await;
    assert_eq!(rule.status, 201, "{}", rule.text);
    let moved = server
        .post("/sandbox/v1/clock", &json!({"advance_seconds": 600}))
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    // Final payments frozen, so a search by state counts over frozen batches.
    server.sweep().await;
    let text = |v: &Value| v.as_str().unwrap().to_string();
    (text(&hook.json["id"]), text(&hook.json["secret"]))
}

/// Changes of every kind after a snapshot: a new paid payment, a refund, a cancel, two
/// hours on the clock (the created payment expires), a new subscription, the rule removed.
async fn change_everything(server: &TestServer) {
    let created = server.post("/v1/payments", &base()).await;
    let id = created.json["payment_id"].as_str().unwrap().to_string();
    let paid = server
        .post(
            &format!("/sandbox/v1/payments/{id}/pay"),
            &json!({"card_number": "4444333322221111"}),
        )
        .await;
    assert_eq!(paid.status, 200, "{}", paid.text);
    let all = server.get("/v1/payments?display_size=500").await.json;
    let find = |f: &dyn Fn(&Value) -> bool| {
        let p = all["results"].as_array().unwrap().iter().find(|p| f(p));
        p.unwrap()["payment_id"].as_str().unwrap().to_string()
    };
    let paid_id = find(&|p| p["refund_summary"]["status"] == "available");
    let refund = server
        .post(
            &format!("/v1/payments/{paid_id}/refunds"),
            &json!({"amount": 100}),
        )
        .await;
    assert_eq!(refund.status, 202, "{}", refund.text);
    let cid = find(&|p| p["state"]["status"] == "capturable");
    let cancelled = server
        .post(&format!("/v1/payments/{cid}/cancel"), &json!({}))
        .await;
    assert_eq!(cancelled.status, 204, "{}", cancelled.text);
    let moved = server
        .post("/sandbox/v1/clock", &json!({"advance_seconds": 7200}))
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    let hook = server
        .post(
            "/sandbox/v1/webhooks",
            &json!({"callback_url": "https://example.org/other"}),
        )
        .await;
    assert_eq!(hook.status, 201);
    let rules = server.get("/sandbox/v1/faults").await;
    let rule_id = rules.json["faults"][0]["id"].as_str().unwrap();
    let path = format!("/sandbox/v1/faults/{rule_id}");
    let gone = server
        .send(Method::DELETE, &path, Some(&server.key), &[], None)
        .await;
    assert_eq!(gone.status, 204);
    server.sweep().await;
}

pence_testkit::engine_tests!(a_restore_answers_every_call_as_when_saved);
async fn a_restore_answers_every_call_as_when_saved(engine: Engine) {
    let server = TestServer::start_with(engine, ServerOptions::driven_delivery()).await;
    let (_, other_key) = server.new_service(false).await;
    let theirs = server.post_as(&other_key, "/v1/payments", &base()).await;
    let their_id = theirs.json["payment_id"].as_str().unwrap().to_string();
    let their_path = format!("/v1/payments/{their_id}");
    let theirs_now = || async { without_token(server.get_as(&other_key, &their_path).await.json) };
    let their_payment = theirs_now().await;
    seed(&server).await;

    let saved_view = view(&server).await;
    let saved_now = service_now(&server).await;
    let saved = server
        .post("/sandbox/v1/snapshots", &json!({"name": "seeded"}))
        .await;
    assert_eq!(saved.status, 201, "{}", saved.text);
    assert_eq!(saved.json["rows"]["payments"], 10, "{}", saved.text);
    assert_eq!(saved.json["rows"]["webhooks"], 1);

    // Changed, then restored twice: each time the service answers as when it was saved.
    for round in 0..2 {
        change_everything(&server).await;
        let changed = view(&server).await;
        assert_ne!(changed["search"]["total"], saved_view["search"]["total"]);
        assert_ne!(changed["successes"], saved_view["successes"]);
        let restored = restore(&server, "seeded").await;
        assert_eq!(restored.json["name"], "seeded");
        let after = view(&server).await;
        assert_same(&after, &saved_view, &format!("round {round}: restored"));
        let now = service_now(&server).await;
        assert!(
            (saved_now..saved_now + 30_000).contains(&now),
            "the clock reads again what it read when saved: {saved_now} then {now}"
        );
        // Nothing the snapshot holds fell due because time passed since it was saved.
        server.sweep().await;
        assert_eq!(
            view(&server).await,
            saved_view,
            "nothing fell due on restoring"
        );
    }
    // Another service on the node is not touched.
    assert_eq!(theirs_now().await, their_payment);

    let listed = server.get("/sandbox/v1/snapshots").await;
    assert_eq!(
        listed.json["snapshots"][0]["name"], "seeded",
        "{}",
        listed.text
    );

    // Reset: nothing of the service is left, its clock is the node's; the snapshot stays.
    let reset = server.post("/sandbox/v1/reset", &json!({})).await;
    assert_eq!(reset.status, 204, "{}", reset.text);
    let empty = view(&server).await;
    assert_eq!(empty["search"]["total"], 0);
    assert_eq!(empty["successes"]["total"], 0);
    assert_eq!(empty["agreements"]["total"], 0);
    assert_eq!(empty["webhooks"]["webhooks"], json!([]));
    assert_eq!(empty["emails"]["emails"], json!([]));
    assert_eq!(empty["faults"]["faults"], json!([]));
    let clock = server.get("/sandbox/v1/clock").await;
    assert_eq!(clock.json["offset_ms"], 0, "{}", clock.text);
    assert_eq!(theirs_now().await, their_payment);
    // New payments after a reset are searched and counted as any.
    assert_eq!(server.post("/v1/payments", &base()).await.status, 201);
    assert_eq!(view(&server).await["search"]["total"], 1);
    restore(&server, "seeded").await;
    assert_same(&view(&server).await, &saved_view, "restored after a reset");

    let deleted = server
        .send(
            Method::DELETE,
            "/sandbox/v1/snapshots/seeded",
            Some(&server.key),
            &[],
            None,
        )
        .await;
    assert_eq!(deleted.status, 204);
    let again = server
        .post("/sandbox/v1/snapshots/seeded/restore", &json!({}))
        .await;
    assert_eq!(again.status, 404, "{}", again.text);
}

/// The other engine's server, where PostgreSQL is configured (else another SQLite one).
fn other(engine: Engine) -> Engine {
    match engine {
        Engine::Sqlite if pence_testkit::db::postgres_configured() => Engine::Postgres,
        Engine::Postgres | Engine::Sqlite => Engine::Sqlite,
    }
}

pence_testkit::engine_tests!(a_snapshot_file_moves_to_the_other_engine);
async fn a_snapshot_file_moves_to_the_other_engine(engine: Engine) {
    let from = TestServer::start_with(engine, ServerOptions::driven_delivery()).await;
    let (hook_id, secret) = seed(&from).await;
    let saved_view = view(&from).await;
    assert_eq!(
        from.post("/sandbox/v1/snapshots", &json!({"name": "seeded"}))
            .await
            .status,
        201
    );
    let file = from.get("/sandbox/v1/snapshots/seeded").await;
    assert_eq!(file.status, 200, "{}", file.text);
    assert_eq!(file.json["format"], "pence-snapshot/1");
    // The secret a receiver checks signatures with travels in the clear.
    assert!(
        file.text.contains(&secret),
        "the file holds the signing secret"
    );

    let to = TestServer::start_with(other(engine), ServerOptions::driven_delivery()).await;
    let mut service = to.service.clone();
    service.recurring_enabled = true;
    to.store.update_service(&service, None).await.unwrap();
    let imported = to
        .send(
            Method::PUT,
            "/sandbox/v1/snapshots/from-elsewhere",
            Some(&to.key),
            &[("Content-Type", "application/json")],
            Some(file.text.clone().into_bytes()),
        )
        .await;
    assert_eq!(imported.status, 201, "{}", imported.text);
    assert_eq!(imported.json["name"], "from-elsewhere");
    restore(&to, "from-elsewhere").await;
    // The same answers, but for the address each node is reached at.
    let same = |v: &Value, url: &str| -> Value {
        serde_json::from_str(&v.to_string().replace(url, "http://node")).unwrap()
    };
    let (there, here) = (
        same(&view(&to).await, &to.url),
        same(&saved_view, &from.url),
    );
    assert_same(&there, &here, &format!("{engine:?} to {:?}", other(engine)));
    // Signatures go on with the same secret there.
    let there = to.store.webhook_secret(&hook_id, 1).await.unwrap();
    assert_eq!(there.as_deref(), Some(secret.as_str()));

    // Imported back where it came from, into another service, it clashes with its own
    // payments: refused whole, and the first service is untouched.
    let (_, other_key) = from.new_service(false).await;
    let back = from
        .send(
            Method::PUT,
            "/sandbox/v1/snapshots/copy",
            Some(&other_key),
            &[("Content-Type", "application/json")],
            Some(file.text.clone().into_bytes()),
        )
        .await;
    assert_eq!(back.status, 201, "{}", back.text);
    let clash = from
        .post_as(&other_key, "/sandbox/v1/snapshots/copy/restore", &json!({}))
        .await;
    assert_eq!(clash.status, 409, "{}", clash.text);
    assert_same(
        &view(&from).await,
        &saved_view,
        "the first service after a clash",
    );
    let theirs = from.get_as(&other_key, "/v1/payments").await;
    assert_eq!(
        theirs.json["total"], 0,
        "nothing of the refused restore stays"
    );
}

pence_testkit::engine_tests!(bad_files_and_names_are_refused_whole);
async fn bad_files_and_names_are_refused_whole(engine: Engine) {
    let server = TestServer::start(engine).await;
    assert_eq!(server.post("/v1/payments", &base()).await.status, 201);
    let saved = server
        .post("/sandbox/v1/snapshots", &json!({"name": "one"}))
        .await;
    assert_eq!(saved.status, 201);
    let file = server.get("/sandbox/v1/snapshots/one").await.json;
    let put = |body: Vec<u8>| {
        server.send(
            Method::PUT,
            "/sandbox/v1/snapshots/two",
            Some(&server.key),
            &[("Content-Type", "application/json")],
            Some(body),
        )
    };
    let changed = |f: &dyn Fn(&mut Value)| {
        let mut bad = file.clone();
        f(&mut bad);
        bad.to_string().into_bytes()
    };
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (b"{not json".to_vec(), 400, "Invalid request body"),
        (
            changed(&|f| f["format"] = json!("other/2")),
            422,
            "format must be",
        ),
        (
            changed(&|f| f["tables"]["users"] = json!({"columns": [], "rows": []})),
            422,
            "tables.users is not a table",
        ),
        (
            changed(&|f| f["tables"]["payments"]["rows"][0][0] = json!(5)),
            422,
            "tables.payments.rows[0].id must be a string",
        ),
        (
            changed(&|f| {
                let columns = f["tables"]["payments"]["columns"].as_array().unwrap();
                let status = columns.iter().position(|c| c == "status").unwrap();
                f["tables"]["payments"]["rows"][0][status] = json!("NONSENSE");
            }),
            422,
            "tables.payments.rows[0] is not a row Pence reads back",
        ),
        (
            changed(&|f| {
                f["tables"]["payments"]["columns"]
                    .as_array_mut()
                    .unwrap()
                    .pop();
            }),
            422,
            "tables.payments.columns lacks",
        ),
        (
            changed(&|f| f["saved_at"] = json!("yesterday")),
            422,
            "saved_at",
        ),
    ];
    for (body, status, says) in cases {
        let reply = put(body).await;
        assert_eq!(reply.status, status, "{}", reply.text);
        assert!(
            reply.json["description"].as_str().unwrap().contains(says),
            "{}",
            reply.text
        );
    }
    // Over the limit a node holds in memory for an import: refused before it is read.
    let too_big = put(vec![b' '; 33 * 1024 * 1024]).await;
    assert_eq!(too_big.status, 413, "{}", too_big.text);
    assert_eq!(too_big.json["code"], "S0413", "{}", too_big.text);
    let listed = server.get("/sandbox/v1/snapshots").await;
    assert_eq!(
        listed.json["snapshots"].as_array().unwrap().len(),
        1,
        "nothing kept"
    );

    for name in [".hidden", "a b", &"x".repeat(65)] {
        let reply = server
            .post("/sandbox/v1/snapshots", &json!({"name": name}))
            .await;
        assert_eq!(reply.status, 422, "{name}: {}", reply.text);
    }
    for path in [
        "/sandbox/v1/snapshots/none",
        "/sandbox/v1/snapshots/none/restore",
    ] {
        let reply = match path.ends_with("restore") {
            true => server.post(path, &json!({})).await,
            false => server.get(path).await,
        };
        assert_eq!(reply.status, 404, "{path}: {}", reply.text);
    }
    // A live service has none of it.
    let (_, live_key) = server.new_service(true).await;
    for (method, path) in [
        (Method::GET, "/sandbox/v1/snapshots"),
        (Method::POST, "/sandbox/v1/reset"),
        (Method::POST, "/sandbox/v1/snapshots/one/restore"),
    ] {
        let reply = server.send(method, path, Some(&live_key), &[], None).await;
        assert_eq!(reply.status, 404, "{path}: {}", reply.text);
    }
}
