//! NUL characters (which PostgreSQL text cannot hold) in every admin form field, query and
//! path id: each page answers with its own error or nothing found, never a 500, on both
//! engines.

use pence_core::ports::prelude::*;
use pence_core::staff::Role;
use pence_testkit::paying_user::csrf_of;
use pence_testkit::{Engine, TestServer};

use crate::admin::{new_user, signed_in_client};

/// Every field name the admin forms use, each given a NUL.
const FIELDS: &[&str] = &[
    "email",
    "password",
    "passwordConfirm",
    "code",
    "amount",
    "refund_amount_available",
    "reference",
    "cardholder_name",
    "card_brand",
    "last_digits_card_number",
    "metadata",
    "state",
    "from_date",
    "to_date",
    "description",
    "url",
    "event",
    "types",
    "role",
    "brand",
    "billingAddress",
    "blockPrepaid",
    "customParagraph",
    "emailCollection",
    "emailConfirmation",
    "emailRefund",
    "moto",
    "recurring",
    "surchargeCredit",
    "surchargeDebit",
    "surchargePrepaid",
];

pence_testkit::engine_tests!(nul_characters_never_break_an_admin_page);
async fn nul_characters_never_break_an_admin_page(engine: Engine) {
    let server = TestServer::start(engine).await;
    let email = "admin@council.example";
    new_user(&server, email, Role::Admin).await;
    let svc = server.service.id.clone();
    let base = format!("{}/admin/services/{svc}", server.url);

    // Signed out: the sign-in and set-password forms.
    let c = pence_testkit::paying_user::browser_like();
    let login = c
        .get(format!("{}/admin/login", server.url))
        .send()
        .await
        .unwrap();
    let csrf = csrf_of(&login.text().await.unwrap());
    let mut form: Vec<(&str, &str)> = FIELDS.iter().map(|f| (*f, "a\0b")).collect();
    form.push(("csrfToken", &csrf));
    let reply = c
        .post(format!("{}/admin/login", server.url))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200, "sign-in");
    let reply = c
        .get(format!("{}/admin/set-password/a%00b", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 404, "set-password link");

    let (c, _) = signed_in_client(&server, email).await;
    let page = c
        .get(format!("{base}/transactions"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&page);
    let mut form: Vec<(&str, &str)> = FIELDS.iter().map(|f| (*f, "a\0b")).collect();
    form.push(("csrfToken", &csrf));
    let query: String = FIELDS
        .iter()
        .map(|f| format!("{f}=a%00b"))
        .collect::<Vec<_>>()
        .join("&");
    let n = "a%00b";
    let gets = [
        format!("{base}/transactions?{query}"),
        format!("{base}/transactions/download?{query}"),
        format!("{base}/transactions/{n}"),
        format!("{base}/webhooks/{n}"),
        format!("{}/admin/services/{n}/transactions", server.url),
        format!("{}/admin/services/{n}/dashboard", server.url),
    ];
    for url in gets {
        let reply = c.get(&url).send().await.unwrap();
        let status = reply.status().as_u16();
        assert!((200..500).contains(&status), "GET {url}: {status}");
    }
    let posts = [
        format!("{base}/api-keys"),
        format!("{base}/api-keys/{n}/revoke"),
        format!("{base}/agreements/{n}/cancel"),
        format!("{base}/settings"),
        format!("{base}/team"),
        format!("{base}/team/{n}/role"),
        format!("{base}/webhooks"),
        format!("{base}/webhooks/{n}/rotate"),
        format!("{base}/webhooks/{n}/events"),
        format!("{base}/webhooks/{n}/toggle"),
        format!("{base}/webhooks/{n}/messages/{n}/resend"),
        format!("{base}/transactions/{n}/refund"),
        format!("{base}/transactions/{n}/capture"),
        format!("{base}/transactions/{n}/cancel"),
    ];
    for url in posts {
        let reply = c.post(&url).form(&form).send().await.unwrap();
        let status = reply.status().as_u16();
        assert!(
            (200..500).contains(&status),
            "POST {url}: {status} {}",
            reply.text().await.unwrap()
        );
    }
    // Nothing was stored from them: still one user, no webhook.
    let users = server.store.users().await.unwrap();
    assert_eq!(users.len(), 1);
    server.stop().await;
}
