//! Signing in to the admin tool over HTTP, as an attacker would try it: guesses are counted
//! before they are checked (a burst cannot slip past the lock), per email and source (an
//! email without an account answers exactly as one with, and a stranger's guesses do not
//! lock the user out elsewhere), an authenticator code signs in once, the session's token
//! changes when the second factor is given, and setting a password ends every other session
//! and link of the user. On both engines.

use std::net::IpAddr;
use std::sync::Arc;

use reqwest::cookie::{CookieStore, Jar};

use pence_core::clock::Clock;
use pence_core::ports::prelude::*;
use pence_core::staff;
use pence_core::staff::{secrets, Role};
use pence_testkit::paying_user::csrf_of;
use pence_testkit::{Engine, TestServer};

use crate::admin::{new_user, signed_in_client, PASSWORD};

const WRONG: &str = "The email address or password is not correct";
const LOCKED: &str = "Your account is locked after too many attempts";

/// A cookie-keeping client that does not follow redirects, connecting from `from`.
fn client_from(from: &str) -> reqwest::Client {
    with_jar(from, Arc::default())
}

fn with_jar(from: &str, jar: Arc<Jar>) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_provider(jar)
        .redirect(reqwest::redirect::Policy::none())
        .local_address(from.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

/// The sign-in form's CSRF token for `c`.
async fn login_csrf(server: &TestServer, c: &reqwest::Client) -> String {
    let page = c
        .get(format!("{}/admin/login", server.url))
        .send()
        .await
        .unwrap();
    csrf_of(&page.text().await.unwrap())
}

/// One password guess: its status and page.
async fn guess(
    server: &TestServer,
    c: &reqwest::Client,
    csrf: &str,
    email: &str,
    password: &str,
) -> (u16, String) {
    let reply = c
        .post(format!("{}/admin/login", server.url))
        .form(&[
            ("csrfToken", csrf),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    (reply.status().as_u16(), reply.text().await.unwrap())
}

pence_testkit::engine_tests!(multi_thread: a_burst_of_guesses_meets_the_lock_after_five);
/// Thirty wrong passwords sent at once: five are checked (and answered "not correct"), the
/// rest are refused by the lock, which then holds the right password too. An email without
/// an account is answered word for word the same. From another address the user still
/// signs in.
async fn a_burst_of_guesses_meets_the_lock_after_five(engine: Engine) {
    let server = Arc::new(TestServer::start(engine).await);
    new_user(&server, "clerk@council.example", Role::ViewOnly).await;
    for email in ["clerk@council.example", "nobody@council.example"] {
        let c = client_from("127.0.0.1");
        let csrf = login_csrf(&server, &c).await;
        let burst = (0..30).map(|_| {
            let (server, c, csrf) = (server.clone(), c.clone(), csrf.clone());
            tokio::spawn(async move { guess(&server, &c, &csrf, email, "not it at all").await })
        });
        let mut answers = Vec::new();
        for g in burst {
            answers.push(g.await.unwrap());
        }
        let wrong = answers.iter().filter(|(_, p)| p.contains(WRONG)).count();
        let locked = answers.iter().filter(|(_, p)| p.contains(LOCKED)).count();
        assert_eq!((wrong, locked), (5, 25), "{email}");
        let (status, page) = guess(&server, &c, &csrf, email, PASSWORD).await;
        assert!(status == 200 && page.contains(LOCKED), "{email}: {status}");
    }
    // The stranger's guesses locked their own address only.
    let elsewhere = client_from("127.0.0.2");
    let csrf = login_csrf(&server, &elsewhere).await;
    let (status, _) = guess(
        &server,
        &elsewhere,
        &csrf,
        "clerk@council.example",
        PASSWORD,
    )
    .await;
    assert_eq!(status, 303, "signed in from another address");
    Arc::into_inner(server).unwrap().stop().await;
}

pence_testkit::engine_tests!(a_code_signs_in_once_and_the_token_changes);
/// A code that signed in is refused to a second browser in the same 30 seconds; the cookie
/// the browser had before its second factor no longer opens anything after it.
async fn a_code_signs_in_once_and_the_token_changes(engine: Engine) {
    let server = TestServer::start(engine).await;
    // "The code just used" is the code of this 30-second step: start a second into a step,
    // so that a slow run does not cross into the next one before the code is tried again.
    let into_step = server.clock.now_ms().rem_euclid(30_000);
    server.clock.advance(30_000 - into_step + 1_000);
    new_user(&server, "clerk@council.example", Role::ViewOnly).await;
    let (first, _) = signed_in_client(&server, "clerk@council.example").await;
    let home = first
        .get(format!("{}/admin", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), 200, "the first browser is in");

    // A second browser with the password and the code just used.
    let jar = Arc::new(Jar::default());
    let second = with_jar("127.0.0.1", jar.clone());
    let csrf = login_csrf(&server, &second).await;
    let (status, _) = guess(&server, &second, &csrf, "clerk@council.example", PASSWORD).await;
    assert_eq!(status, 303);
    let admin_url = format!("{}/admin/", server.url).parse().unwrap();
    let before = jar.cookies(&admin_url).expect("a session cookie");
    let page = second
        .get(format!("{}/admin/two-factor", server.url))
        .send()
        .await
        .unwrap();
    let csrf = csrf_of(&page.text().await.unwrap());
    let user = server
        .store
        .user_by_email("clerk@council.example")
        .await
        .unwrap()
        .unwrap();
    let secret = user.totp_secret.clone().unwrap();
    let used = secrets::code_at(&secret, &user.email, server.clock.now_ms()).unwrap();
    let code = |code: String| {
        let (second, csrf, url) = (second.clone(), csrf.clone(), server.url.clone());
        async move {
            let reply = second
                .post(format!("{url}/admin/two-factor"))
                .form(&[("csrfToken", csrf.as_str()), ("code", code.as_str())])
                .send()
                .await
                .unwrap();
            (reply.status().as_u16(), reply.text().await.unwrap())
        }
    };
    let (status, page) = code(used).await;
    assert!(
        status == 200 && page.contains("The security code is not correct"),
        "a used code: {status}"
    );
    // The next code (the app's next 30 seconds) signs in.
    server.clock.advance(30_000);
    let fresh = secrets::code_at(&secret, &user.email, server.clock.now_ms()).unwrap();
    let (status, _) = code(fresh).await;
    assert_eq!(status, 303);
    // The cookie from before the second factor is worth nothing now.
    let stale = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let reply = stale
        .get(format!("{}/admin", server.url))
        .header("cookie", before)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 303, "the old token was replaced");
    server.stop().await;
}

pence_testkit::engine_tests!(a_new_password_ends_other_sessions_and_links);
/// Setting a password (say after a reset, when the old one may be known) signs every
/// browser of the user out and spends every other link the user was sent.
async fn a_new_password_ends_other_sessions_and_links(engine: Engine) {
    let server = TestServer::start(engine).await;
    let email = "clerk@council.example";
    new_user(&server, email, Role::ViewOnly).await;
    let (signed, _) = signed_in_client(&server, email).await;
    let admin = format!("{}/admin", server.url);
    assert_eq!(signed.get(&admin).send().await.unwrap().status(), 200);
    let user = server.store.user_by_email(email).await.unwrap().unwrap();
    let (store, clock) = (server.store.as_ref(), server.clock.as_ref());
    let older = staff::operations::new_link(store, clock, &user)
        .await
        .unwrap();
    let newer = staff::operations::new_link(store, clock, &user)
        .await
        .unwrap();

    let c = client_from("127.0.0.1");
    let url = format!("{}/admin/set-password/{newer}", server.url);
    let page = c.get(&url).send().await.unwrap().text().await.unwrap();
    let csrf = csrf_of(&page);
    let password = "another long enough password";
    let set = c
        .post(&url)
        .form(&[
            ("csrfToken", csrf.as_str()),
            ("password", password),
            ("passwordConfirm", password),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 303);
    let out = signed.get(&admin).send().await.unwrap();
    assert_eq!(out.status(), 303, "the other browser is signed out");
    let spent = c
        .get(format!("{}/admin/set-password/{older}", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(spent.status(), 404, "the older link is spent");
    let csrf = login_csrf(&server, &c).await;
    let (status, _) = guess(&server, &c, &csrf, email, password).await;
    assert_eq!(status, 303, "the new password signs in");
    server.stop().await;
}
