//! Getting in and out: the set-password link, sign-in with email and password, the
//! authenticator code (set up on the first sign-in: the key as text and as a QR code), sign-out.

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use axum_extra::extract::cookie::PrivateCookieJar;
use pence_core::staff::secrets;
use pence_core::staff::{
    self,
    operations::{Source, StaffRefusal},
};
use serde::Deserialize;
use std::net::SocketAddr;

use super::session::{self, anonymous_csrf, anonymous_csrf_ok};
use super::views::{Frame, LoginPage, SetPasswordPage, TotpSetup, TwoFactorPage};
use super::{message, page, see_other, AdminError, Answer};
use crate::state::AppState;

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    #[serde(default)]
    from: Option<String>,
}

fn login_view(csrf: String, email: String, errors: Vec<(&'static str, String)>) -> LoginPage {
    LoginPage {
        frame: Frame::signing_in("Sign in", csrf),
        email,
        note: None,
        errors,
    }
}

pub async fn login_page(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    RawQuery(query): RawQuery,
) -> Answer {
    let q: LoginQuery = super::form(query.unwrap_or_default().as_bytes());
    let (jar, csrf) = anonymous_csrf(&state, jar);
    let mut view = login_view(csrf, String::new(), Vec::new());
    view.note = match q.from.as_deref() {
        Some("password") => Some("Your password is saved. Sign in with it now.".into()),
        Some("signed-out") => Some("You have signed out.".into()),
        _ => None,
    };
    Ok((jar, page(StatusCode::OK, view)).into_response())
}

#[derive(Deserialize, Default)]
pub struct LoginForm {
    #[serde(default, rename = "csrfToken")]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// A refusal as the field it is about and its words.
fn field_error(e: &StaffRefusal) -> (&'static str, String) {
    let field = match e {
        StaffRefusal::WrongCode => "code",
        StaffRefusal::ShortPassword | StaffRefusal::PasswordsDiffer => "password",
        StaffRefusal::BadEmail => "email",
        _ => "password",
    };
    (field, e.to_string())
}

/// The client's address, which sign-in guesses are counted by (`staff::operations::Source`).
fn source(peer: &Option<Extension<ConnectInfo<SocketAddr>>>) -> String {
    peer.as_ref()
        .map_or_else(String::new, |Extension(ConnectInfo(addr))| {
            addr.ip().to_string()
        })
}

pub async fn login(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    jar: PrivateCookieJar,
    body: Bytes,
) -> Answer {
    let form: LoginForm = super::form(&body);
    if !anonymous_csrf_ok(&jar, &form.csrf) {
        return Ok(refused_form());
    }
    let (store, clock) = (state.store.as_ref(), state.clock.as_ref());
    let from = source(&peer);
    let checked =
        staff::operations::check_password(store, clock, &form.email, &form.password, Source(&from))
            .await;
    match checked {
        Ok(user) => match staff::operations::start_session(store, clock, &user).await {
            Ok((token, _)) => {
                let jar = session::start(&state, jar, token);
                Ok((jar, see_other("/admin/two-factor")).into_response())
            }
            Err(e) => Err(AdminError::fault(e)),
        },
        Err(StaffRefusal::Store(e)) => Err(AdminError::fault(e)),
        Err(e) => {
            let (jar, csrf) = anonymous_csrf(&state, jar);
            let view = login_view(csrf, form.email, vec![field_error(&e)]);
            Ok((jar, page(StatusCode::OK, view)).into_response())
        }
    }
}

fn refused_form() -> Response {
    message(
        StatusCode::FORBIDDEN,
        None,
        "This form has expired",
        "Go back, reload the page and try again.",
    )
}

/// The user's key as an SVG QR code of its `otpauth://` URL.
fn qr_svg(secret: &str, email: &str) -> Option<String> {
    let url = secrets::otpauth_url(secret, email)?;
    let code = qrcode::QrCode::new(url.as_bytes()).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    // Inline in the page: without the XML prolog.
    svg.find("<svg").map(|at| svg[at..].to_string())
}

async fn two_factor_view(
    state: &AppState,
    csrf: String,
    user: staff::User,
    errors: Vec<(&'static str, String)>,
) -> Answer {
    let setup = if user.totp_confirmed {
        None
    } else {
        match staff::operations::totp_secret(state.store.as_ref(), user).await {
            Ok(user) => {
                let secret = user.totp_secret.clone().unwrap_or_default();
                let qr_svg = qr_svg(&secret, &user.email).unwrap_or_default();
                Some(TotpSetup { secret, qr_svg })
            }
            Err(e) => return Err(AdminError::fault(e)),
        }
    };
    let view = TwoFactorPage {
        frame: Frame::signing_in("Security code", csrf),
        setup,
        errors,
    };
    Ok(page(StatusCode::OK, view))
}

pub async fn two_factor_page(State(state): State<AppState>, jar: PrivateCookieJar) -> Answer {
    match session::current(&state, &jar).await {
        Some((s, _)) if s.two_factor_ms.is_some() => Ok(see_other("/admin")),
        Some((s, user)) => two_factor_view(&state, s.csrf, user, Vec::new()).await,
        None => Ok(see_other("/admin/login")),
    }
}

#[derive(Deserialize, Default)]
pub struct CodeForm {
    #[serde(default, rename = "csrfToken")]
    csrf: String,
    #[serde(default)]
    code: String,
}

pub async fn two_factor(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    jar: PrivateCookieJar,
    body: Bytes,
) -> Answer {
    let form: CodeForm = super::form(&body);
    let Some((s, user)) = session::current(&state, &jar).await else {
        return Ok(see_other("/admin/login"));
    };
    if !session::same(&s.csrf, &form.csrf) {
        return Ok(refused_form());
    }
    let (store, clock) = (state.store.as_ref(), state.clock.as_ref());
    let from = source(&peer);
    match staff::operations::check_code(store, clock, &user.id, &form.code, Source(&from)).await {
        Ok(user) => match staff::operations::complete_sign_in(store, clock, &s, &user).await {
            Ok(Some(token)) => {
                let jar = session::start(&state, jar, token);
                Ok((jar, see_other("/admin")).into_response())
            }
            // Signed out meanwhile (in another tab).
            Ok(None) => Ok(see_other("/admin/login")),
            Err(e) => Err(AdminError::fault(e)),
        },
        Err(StaffRefusal::Store(e)) => Err(AdminError::fault(e)),
        Err(e) => {
            let user = match staff::views::user(store, &user.id).await {
                Ok(Some(u)) => u,
                _ => user,
            };
            two_factor_view(&state, s.csrf, user, vec![field_error(&e)]).await
        }
    }
}

#[derive(Deserialize, Default)]
pub struct CsrfForm {
    #[serde(default, rename = "csrfToken")]
    csrf: String,
}

pub async fn logout(State(state): State<AppState>, jar: PrivateCookieJar, body: Bytes) -> Answer {
    let form: CsrfForm = super::form(&body);
    if let Some((s, user)) = session::current(&state, &jar).await {
        if !session::same(&s.csrf, &form.csrf) {
            return Ok(refused_form());
        }
        let (store, clock) = (state.store.as_ref(), state.clock.as_ref());
        staff::operations::sign_out(store, clock, &s, &user).await?;
    }
    Ok((session::end(jar), see_other("/admin/login?from=signed-out")).into_response())
}

fn link_refused() -> Response {
    message(
        StatusCode::NOT_FOUND,
        None,
        "This link has expired or has already been used",
        "Ask an admin of your service for a new one.",
    )
}

pub async fn set_password_page(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    Path(token): Path<String>,
) -> Answer {
    match staff::operations::link_user(state.store.as_ref(), state.clock.as_ref(), &token).await {
        Ok(user) => {
            let (jar, csrf) = anonymous_csrf(&state, jar);
            let view = SetPasswordPage {
                frame: Frame::signing_in("Create your password", csrf),
                email: user.email,
                errors: Vec::new(),
            };
            Ok((jar, page(StatusCode::OK, view)).into_response())
        }
        Err(StaffRefusal::Store(e)) => Err(AdminError::fault(e)),
        Err(_) => Ok(link_refused()),
    }
}

#[derive(Deserialize, Default)]
pub struct PasswordForm {
    #[serde(default, rename = "csrfToken")]
    csrf: String,
    #[serde(default)]
    password: String,
    #[serde(default, rename = "passwordConfirm")]
    password_confirm: String,
}

pub async fn set_password(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    Path(token): Path<String>,
    body: Bytes,
) -> Answer {
    let form: PasswordForm = super::form(&body);
    if !anonymous_csrf_ok(&jar, &form.csrf) {
        return Ok(refused_form());
    }
    let (store, clock) = (state.store.as_ref(), state.clock.as_ref());
    match staff::operations::set_password(
        store,
        clock,
        &token,
        &form.password,
        &form.password_confirm,
    )
    .await
    {
        Ok(_) => Ok(see_other("/admin/login?from=password")),
        Err(StaffRefusal::Store(e)) => Err(AdminError::fault(e)),
        Err(StaffRefusal::BadLink) => Ok(link_refused()),
        Err(e) => {
            let email = staff::operations::link_user(store, clock, &token)
                .await
                .map(|u| u.email)
                .unwrap_or_default();
            let (jar, csrf) = anonymous_csrf(&state, jar);
            let field = if matches!(e, StaffRefusal::PasswordsDiffer) {
                "password-confirm"
            } else {
                "password"
            };
            let view = SetPasswordPage {
                frame: Frame::signing_in("Create your password", csrf),
                email,
                errors: vec![(field, e.to_string())],
            };
            Ok((jar, page(StatusCode::OK, view)).into_response())
        }
    }
}
