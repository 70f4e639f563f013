//! A service's API keys, for its admins: created with a description and shown once, revoked.
//! The same use cases as the CLI (`pence key …`).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use pence_core::service;
use pence_core::service::administer::{self, Revoked};
use pence_core::staff::{self, Actor};
use pence_core::timefmt;

use super::access::{Admin, OnService};
use super::views::{ApiKeysPage, Frame, KeyRow};
use super::{form, not_found, page, see_other, AdminError, Answer, NoteQuery, SettingsForm};
use crate::state::AppState;

async fn keys_page(
    state: &AppState,
    on: &OnService,
    new_key: Option<String>,
    note: Option<String>,
    errors: Vec<(&'static str, String)>,
) -> Answer {
    let keys = staff::views::api_keys(state.store.as_ref(), &on.service.id).await?;
    let keys = keys
        .into_iter()
        .map(|k| KeyRow {
            active: k.revoked_ms.is_none(),
            state: if k.revoked_ms.is_none() {
                "active"
            } else {
                "revoked"
            },
            id: k.id,
            description: k.description,
            prefix: format!("{}…", k.display_prefix),
            created: timefmt::readable(k.created_ms),
            last_used: k
                .last_used_ms
                .map_or_else(|| "never".to_string(), timefmt::readable),
        })
        .collect();
    let view = ApiKeysPage {
        frame: Frame::on(&on.staff, &on.service, "API keys"),
        keys,
        new_key,
        note,
        errors,
    };
    Ok(page(StatusCode::OK, view))
}

pub async fn api_keys(
    State(state): State<AppState>,
    Admin(on): Admin,
    RawQuery(query): RawQuery,
) -> Answer {
    let q: NoteQuery = form(query.unwrap_or_default().as_bytes());
    let note = (q.note.as_deref() == Some("revoked")).then(|| "The key is revoked.".to_string());
    keys_page(&state, &on, None, note, Vec::new()).await
}

pub async fn create_api_key(
    State(state): State<AppState>,
    Admin(on): Admin,
    body: Bytes,
) -> Answer {
    let f: SettingsForm = form(&body);
    on.check_form(&f.csrf)?;
    let description = f.description.trim();
    if description.is_empty() || description.len() > 255 {
        let error = ("api-key-description", "Say what the key is for".to_string());
        return keys_page(&state, &on, None, None, vec![error]).await;
    }
    let (store, clock) = (state.store.as_ref(), state.clock.as_ref());
    let actor = Actor::Staff(&on.staff.user);
    let secrets = &state.secrets;
    let (_, key) =
        service::create_api_key(store, clock, actor, secrets, &on.service, description).await?;
    keys_page(&state, &on, Some(key), None, Vec::new()).await
}

pub async fn revoke_api_key(
    State(state): State<AppState>,
    Admin(on): Admin,
    Path((_, key_id)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    let f: SettingsForm = form(&body);
    on.check_form(&f.csrf)?;
    let (store, clock) = (state.store.as_ref(), state.clock.as_ref());
    let actor = Actor::Staff(&on.staff.user);
    // Only this service's keys; one revoked already is as good as gone.
    match administer::revoke_key(store, clock, actor, Some(&on.service.id), &key_id).await {
        Ok(Revoked::Now | Revoked::Already) => {}
        Ok(Revoked::NoSuchKey) => return Ok(not_found(Some(&on.staff.signed_in()))),
        Err(e) => return Err(AdminError::fault(e)),
    }
    Ok(see_other(&format!(
        "/admin/services/{}/api-keys?note=revoked",
        on.service.id
    )))
}
