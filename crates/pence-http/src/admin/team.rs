//! A service's team, for its admins: who has a role on it, invitations (a one-time link to set
//! a password, as `pence user create` prints), and role changes.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use pence_core::service::administer::{self, Actor, Given};
use pence_core::staff::operations::StaffRefusal;
use pence_core::staff::Role;
use pence_core::staff::{self, views::Audited};
use serde::Deserialize;

use super::access::Admin;
use super::access::OnService;
use super::views::{AuditPage, AuditRow, Frame, MemberRow, TeamPage};
use super::{form, not_found, page, see_other, Answer};
use crate::state::AppState;

#[derive(Deserialize, Default)]
pub struct TeamForm {
    #[serde(default, rename = "csrfToken")]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

async fn team_page(
    state: &AppState,
    on: &OnService,
    invite: Option<(String, String)>,
    note: Option<String>,
    errors: Vec<(&'static str, String)>,
) -> Answer {
    let members = staff::views::team(state.store.as_ref(), &on.service.id).await?;
    let (invited, invite_link) = match invite {
        Some((email, link)) => (email, Some(link)),
        None => (String::new(), None),
    };
    let view = TeamPage {
        frame: Frame::on(&on.staff, &on.service, "Team members"),
        members: members
            .into_iter()
            .map(|(u, role)| MemberRow {
                changeable: u.id != on.staff.user.id,
                state: if u.disabled {
                    "disabled"
                } else if u.password_hash.is_none() {
                    "invited"
                } else {
                    "active"
                },
                id: u.id,
                email: u.email,
                role: role.as_str(),
            })
            .collect(),
        roles: Role::ALL.map(Role::as_str),
        invite_link,
        invited,
        note,
        errors,
    };
    Ok(page(StatusCode::OK, view))
}

pub async fn team(
    State(state): State<AppState>,
    Admin(on): Admin,
    RawQuery(query): RawQuery,
) -> Answer {
    let changed = query.as_deref() == Some("note=role");
    let note = changed.then(|| "The role is changed.".to_string());
    team_page(&state, &on, None, note, Vec::new()).await
}

pub async fn invite(State(state): State<AppState>, Admin(on): Admin, body: Bytes) -> Answer {
    let f: TeamForm = form(&body);
    on.check_form(&f.csrf)?;
    let Some(role) = Role::parse(&f.role) else {
        let error = ("invite-role", "Choose a role".to_string());
        return team_page(&state, &on, None, None, vec![error]).await;
    };
    let (store, clock) = (state.store.as_ref(), state.clock.as_ref());
    let actor = Actor::Staff(&on.staff.user);
    match administer::give_role(store, clock, actor, &on.service.id, &f.email, role).await {
        Ok(Given::Invited(user, token)) => {
            let link = format!("{}/admin/set-password/{token}", state.public_url);
            team_page(&state, &on, Some((user.email, link)), None, Vec::new()).await
        }
        Ok(Given::Role(user)) => {
            let note = format!("{} now has the {} role.", user.email, role.as_str());
            team_page(&state, &on, None, Some(note), Vec::new()).await
        }
        Err(StaffRefusal::Store(e)) => Err(e.into()),
        Err(e) => {
            team_page(
                &state,
                &on,
                None,
                None,
                vec![("invite-email", e.to_string())],
            )
            .await
        }
    }
}

pub async fn change_role(
    State(state): State<AppState>,
    Admin(on): Admin,
    Path((_, user_id)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    let f: TeamForm = form(&body);
    on.check_form(&f.csrf)?;
    let Some(role) = Role::parse(&f.role) else {
        let error = ("team", "Choose a role".to_string());
        return team_page(&state, &on, None, None, vec![error]).await;
    };
    let (store, clock) = (state.store.as_ref(), state.clock.as_ref());
    let actor = Actor::Staff(&on.staff.user);
    match administer::change_role(store, clock, actor, &on.service.id, &user_id, role).await {
        Ok(_) => Ok(see_other(&format!(
            "/admin/services/{}/team?note=role",
            on.service.id
        ))),
        Err(StaffRefusal::NoSuchUser) => Err(not_found(Some(&on.staff.signed_in())).into()),
        Err(StaffRefusal::Store(e)) => Err(e.into()),
        Err(e) => team_page(&state, &on, None, None, vec![("team", e.to_string())]).await,
    }
}

/// What staff did on the service, newest first (the last 500), for its admins.
pub async fn audit(State(state): State<AppState>, Admin(on): Admin) -> Answer {
    let log = staff::views::audit_log(state.store.as_ref(), &on.service.id, 500).await?;
    let rows = log
        .into_iter()
        .map(|Audited { entry, email }| AuditRow {
            when: pence_core::timefmt::readable(entry.created_ms),
            who: email,
            action: entry.action,
            detail: entry.detail,
        })
        .collect();
    let view = AuditPage {
        frame: Frame::on(&on.staff, &on.service, "Audit log"),
        entries: rows,
    };
    Ok(page(StatusCode::OK, view))
}
