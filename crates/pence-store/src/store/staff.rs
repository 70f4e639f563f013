//! The admin tool's tables (migration 0026): `users`, `user_roles`, `user_links`,
//! `staff_sessions`, `audit_log`.

use async_trait::async_trait;
use pence_core::payment::status::Status;
use pence_core::ports::DayTotals;
use pence_core::staff::{AuditEntry, Invitation, Role, StaffSession, User};
use pence_core::{StaffStore, StoreError};

use super::{columns, corrupt, count, set_clause, SqlStore};
use pence_sql::{vals, Row, Stmt};

columns! {
    /// A user's columns.
    USER_COLUMNS, user_values(u: &User) {
        id: &u.id,
        email: &u.email,
        password_hash: u.password_hash.as_deref(),
        totp_secret: u.totp_secret.as_deref(),
        totp_confirmed: u.totp_confirmed,
        disabled: u.disabled,
        created_ms: u.created_ms,
    }
}

columns! {
    /// A session's columns.
    SESSION_COLUMNS, session_values(s: &StaffSession) {
        id_hash: &s.id_hash,
        user_id: &s.user_id,
        csrf: &s.csrf,
        created_ms: s.created_ms,
        expires_ms: s.expires_ms,
        two_factor_ms: s.two_factor_ms,
    }
}

columns! {
    /// An audit entry's columns.
    AUDIT_COLUMNS, audit_values(e: &AuditEntry) {
        id: &e.id,
        user_id: &e.user_id,
        service_id: e.service_id.as_deref(),
        action: &e.action,
        detail: &e.detail,
        created_ms: e.created_ms,
    }
}

/// `change` with the audit row of the staff action it is, if any: both commit or neither.
pub(super) fn audited(mut change: Vec<Stmt>, audit: Option<&AuditEntry>) -> Vec<Stmt> {
    change.extend(audit.map(audit_insert));
    change
}

/// The statement writing an audit row.
pub(super) fn audit_insert(entry: &AuditEntry) -> Stmt {
    Stmt::insert("audit_log", AUDIT_COLUMNS, audit_values(entry))
}

fn set_role_stmt(user_id: &str, service_id: &str, role: Role) -> Stmt {
    Stmt::exec(
        "INSERT INTO user_roles (user_id, service_id, role) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id, service_id) DO UPDATE SET role = $3",
        vals![user_id, service_id, role.as_str()],
    )
}

fn user_from(mut r: Row) -> Result<User, StoreError> {
    Ok(User {
        id: r.text("id")?,
        email: r.text("email")?,
        password_hash: r.opt_text("password_hash")?,
        totp_secret: r.opt_text("totp_secret")?,
        totp_confirmed: r.bool("totp_confirmed")?,
        disabled: r.bool("disabled")?,
        created_ms: r.i64("created_ms")?,
    })
}

fn session_from(mut r: Row) -> Result<StaffSession, StoreError> {
    Ok(StaffSession {
        id_hash: r.text("id_hash")?,
        user_id: r.text("user_id")?,
        csrf: r.text("csrf")?,
        created_ms: r.i64("created_ms")?,
        expires_ms: r.i64("expires_ms")?,
        two_factor_ms: r.opt_i64("two_factor_ms")?,
    })
}

fn audit_from(mut r: Row) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        id: r.text("id")?,
        user_id: r.text("user_id")?,
        service_id: r.opt_text("service_id")?,
        action: r.text("action")?,
        detail: r.text("detail")?,
        created_ms: r.i64("created_ms")?,
    })
}

fn role_from(mut r: Row) -> Result<(String, Role), StoreError> {
    let role = r.text("role")?;
    Ok((
        r.text("service_id")?,
        Role::parse(&role).ok_or_else(|| corrupt("role", &role))?,
    ))
}

/// Every column but the id and creation time, matched by id.
fn update_user_sql() -> String {
    let n = count(USER_COLUMNS);
    format!(
        "{} WHERE id = ${}",
        set_clause("users", USER_COLUMNS, 1),
        n + 1
    )
}

impl SqlStore {
    /// The user as stored: the authenticator key sealed.
    fn sealed_user(&self, user: &User) -> User {
        User {
            totp_secret: user.totp_secret.as_deref().map(|s| self.sealed_text(s)),
            ..user.clone()
        }
    }

    /// The user as read: the authenticator key opened.
    fn opened_user(&self, user: User) -> Result<User, StoreError> {
        Ok(User {
            totp_secret: user.totp_secret.map(|s| self.opened_text(s)).transpose()?,
            ..user
        })
    }
}

/// Sign-in counts unused this long are deleted.
const FORGET_ATTEMPTS_MS: i64 = 24 * 60 * 60 * 1000;

/// A conditional change refused (a statement that had to change one row changed none, and
/// the change was undone) as `false`.
fn refused_as_false(applied: Result<(), StoreError>) -> Result<bool, StoreError> {
    match applied {
        Ok(()) => Ok(true),
        Err(StoreError::Conflict) => Ok(false),
        Err(e) => Err(e),
    }
}

#[async_trait]
impl StaffStore for SqlStore {
    async fn insert_user(
        &self,
        user: &User,
        invitation: &Invitation<'_>,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError> {
        let stored = self.sealed_user(user);
        let change = vec![
            Stmt::insert("users", USER_COLUMNS, user_values(&stored)),
            set_role_stmt(&user.id, invitation.service_id, invitation.role),
            Stmt::insert(
                "user_links",
                "token_hash, user_id, expires_ms",
                vals![invitation.link_hash, &user.id, invitation.link_expires_ms],
            ),
        ];
        self.db.apply(audited(change, audit)).await
    }

    async fn update_user(&self, user: &User, audit: Option<&AuditEntry>) -> Result<(), StoreError> {
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(update_user_sql);
        let mut params = user_values(&self.sealed_user(user));
        params.push(user.id.clone().into());
        let sql: &'static str = SQL.as_str();
        let change = vec![Stmt::exec_one(sql, params)];
        self.db.apply(audited(change, audit)).await
    }

    async fn user(&self, id: &str) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let user = self.read_one(&sql, vals![id], user_from).await?;
        user.map(|u| self.opened_user(u)).transpose()
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
        let user = self.read_one(&sql, vals![email], user_from).await?;
        user.map(|u| self.opened_user(u)).transpose()
    }

    async fn users(&self) -> Result<Vec<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY email");
        let users = self.read(&sql, vec![], user_from).await?;
        users.into_iter().map(|u| self.opened_user(u)).collect()
    }

    async fn set_role(
        &self,
        user_id: &str,
        service_id: &str,
        role: Role,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError> {
        let change = vec![set_role_stmt(user_id, service_id, role)];
        self.db.apply(audited(change, audit)).await
    }

    async fn members(&self, service_id: &str) -> Result<Vec<(User, Role)>, StoreError> {
        let columns: Vec<String> = USER_COLUMNS.split(", ").map(|c| format!("u.{c}")).collect();
        let sql = format!(
            "SELECT {}, r.role FROM users u JOIN user_roles r ON r.user_id = u.id \
             WHERE r.service_id = $1 ORDER BY u.email",
            columns.join(", ")
        );
        let rows = self.db.query(&sql, vals![service_id]).await?;
        rows.into_iter()
            .map(|mut r| {
                let role = r.text("role")?;
                let role = Role::parse(&role).ok_or_else(|| corrupt("role", &role))?;
                Ok((self.opened_user(user_from(r)?)?, role))
            })
            .collect()
    }

    async fn roles(&self, user_id: &str) -> Result<Vec<(String, Role)>, StoreError> {
        self.read(
            "SELECT service_id, role FROM user_roles WHERE user_id = $1 ORDER BY service_id",
            vals![user_id],
            role_from,
        )
        .await
    }

    async fn insert_link(
        &self,
        token_hash: &str,
        user_id: &str,
        expires_ms: i64,
    ) -> Result<(), StoreError> {
        self.db
            .apply(vec![Stmt::insert(
                "user_links",
                "token_hash, user_id, expires_ms",
                vals![token_hash, user_id, expires_ms],
            )])
            .await
    }

    async fn link_user(&self, token_hash: &str, now_ms: i64) -> Result<Option<String>, StoreError> {
        let rows = self
            .db
            .query(
                "SELECT user_id FROM user_links \
                 WHERE token_hash = $1 AND used_ms IS NULL AND expires_ms > $2",
                vals![token_hash, now_ms],
            )
            .await?;
        rows.into_iter()
            .next()
            .map(|mut r| r.text("user_id"))
            .transpose()
    }

    async fn insert_session(&self, session: &StaffSession) -> Result<(), StoreError> {
        self.db
            .apply(vec![Stmt::insert(
                "staff_sessions",
                SESSION_COLUMNS,
                session_values(session),
            )])
            .await
    }

    async fn session(&self, id_hash: &str) -> Result<Option<StaffSession>, StoreError> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM staff_sessions WHERE id_hash = $1");
        self.read_one(&sql, vals![id_hash], session_from).await
    }

    async fn replace_session(
        &self,
        old_id_hash: &str,
        new: &StaffSession,
        audit: Option<&AuditEntry>,
    ) -> Result<bool, StoreError> {
        let change = vec![
            Stmt::exec_one(
                "DELETE FROM staff_sessions WHERE id_hash = $1",
                vals![old_id_hash],
            ),
            Stmt::insert("staff_sessions", SESSION_COLUMNS, session_values(new)),
        ];
        refused_as_false(self.db.apply(audited(change, audit)).await)
    }

    async fn set_password(
        &self,
        user_id: &str,
        password_hash: &str,
        link_hash: &str,
        now_ms: i64,
        audit: Option<&AuditEntry>,
    ) -> Result<bool, StoreError> {
        let change = vec![
            Stmt::exec_one(
                "UPDATE user_links SET used_ms = $2 WHERE token_hash = $1 \
                     AND user_id = $3 AND used_ms IS NULL AND expires_ms > $2",
                vals![link_hash, now_ms, user_id],
            ),
            Stmt::exec_one(
                "UPDATE users SET password_hash = $2 WHERE id = $1",
                vals![user_id, password_hash],
            ),
            Stmt::exec(
                "UPDATE user_links SET used_ms = $2 WHERE user_id = $1 AND used_ms IS NULL",
                vals![user_id, now_ms],
            ),
            Stmt::exec(
                "DELETE FROM staff_sessions WHERE user_id = $1",
                vals![user_id],
            ),
        ];
        refused_as_false(self.db.apply(audited(change, audit)).await)
    }

    async fn claim_sign_in(
        &self,
        key: &str,
        now_ms: i64,
        max: i64,
        lock_ms: i64,
    ) -> Result<bool, StoreError> {
        let claimed = self
            .db
            .apply(vec![
                Stmt::exec(
                    "INSERT INTO sign_in_attempts (key, failures, locked_until_ms, updated_ms) \
                     VALUES ($1, 0, 0, $2) ON CONFLICT (key) DO NOTHING",
                    vals![key, now_ms],
                ),
                // The lock and the count in one write: concurrent guesses queue on the row.
                Stmt::exec_one(
                    "UPDATE sign_in_attempts SET \
                     failures = CASE WHEN failures + 1 >= $3 THEN 0 ELSE failures + 1 END, \
                     locked_until_ms = CASE WHEN failures + 1 >= $3 THEN $2 + $4 \
                       ELSE locked_until_ms END, \
                     updated_ms = $2 \
                     WHERE key = $1 AND locked_until_ms <= $2",
                    vals![key, now_ms, max, lock_ms],
                ),
                Stmt::exec(
                    "DELETE FROM sign_in_attempts WHERE updated_ms < $1",
                    vals![now_ms - FORGET_ATTEMPTS_MS],
                ),
            ])
            .await;
        refused_as_false(claimed)
    }

    async fn clear_sign_in(&self, key: &str) -> Result<(), StoreError> {
        self.db
            .apply(vec![Stmt::exec(
                "UPDATE sign_in_attempts SET failures = 0, locked_until_ms = 0 WHERE key = $1",
                vals![key],
            )])
            .await
    }

    async fn spend_totp_step(&self, user_id: &str, step: i64) -> Result<bool, StoreError> {
        let spent = self
            .db
            .apply(vec![Stmt::exec_one(
                "UPDATE users SET totp_step = $2 WHERE id = $1 AND totp_step < $2",
                vals![user_id, step],
            )])
            .await;
        refused_as_false(spent)
    }

    async fn delete_session(
        &self,
        id_hash: &str,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError> {
        const SQL: &str = "DELETE FROM staff_sessions WHERE id_hash = $1";
        let Some(audit) = audit else {
            return self.db.apply(vec![Stmt::exec(SQL, vals![id_hash])]).await;
        };
        let change = audited(vec![Stmt::exec_one(SQL, vals![id_hash])], Some(audit));
        match self.db.apply(change).await {
            Err(StoreError::Conflict) => Ok(()),
            other => other,
        }
    }

    async fn insert_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.db
            .apply(vec![Stmt::insert(
                "audit_log",
                AUDIT_COLUMNS,
                audit_values(entry),
            )])
            .await
    }

    async fn daily_totals(
        &self,
        service_id: &str,
        from_ms: i64,
    ) -> Result<Vec<DayTotals>, StoreError> {
        const DAY: i64 = 86_400_000;
        // Successful: the internal statuses that show as `success` publicly.
        let success: Vec<&str> = Status::ALL
            .iter()
            .filter(|s| s.external().status == "success")
            .map(|s| s.as_str())
            .collect();
        let list: Vec<String> = (0..success.len()).map(|i| format!("${}", i + 3)).collect();
        let sql = format!(
            "SELECT created_ms / {DAY} AS day, COUNT(*) AS n, \
             CAST(SUM(amount + COALESCE(corporate_surcharge, 0)) AS BIGINT) AS total \
             FROM payments WHERE service_id = $1 AND created_ms >= $2 AND status IN ({}) \
             GROUP BY created_ms / {DAY}",
            list.join(", ")
        );
        let mut params = vals![service_id, from_ms];
        params.extend(success.iter().map(|s| (*s).into()));
        let mut days: std::collections::BTreeMap<i64, DayTotals> = Default::default();
        for mut r in self.db.query(&sql, params).await? {
            let day = r.i64("day")?;
            let t = days.entry(day).or_insert(DayTotals {
                day,
                ..Default::default()
            });
            t.payments = r.i64("n")?;
            t.paid = r.i64("total")?;
        }
        let rows = self
            .db
            .query(
                &format!(
                    "SELECT created_ms / {DAY} AS day, COUNT(*) AS n, CAST(SUM(amount) AS BIGINT) AS total \
                     FROM refunds WHERE service_id = $1 AND created_ms >= $2 AND status = 'success' \
                     GROUP BY created_ms / {DAY}"
                ),
                vals![service_id, from_ms],
            )
            .await?;
        for mut r in rows {
            let day = r.i64("day")?;
            let t = days.entry(day).or_insert(DayTotals {
                day,
                ..Default::default()
            });
            t.refunds = r.i64("n")?;
            t.refunded = r.i64("total")?;
        }
        Ok(days.into_values().collect())
    }

    async fn service_audit_log(
        &self,
        service_id: &str,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE service_id = $1 \
             ORDER BY created_ms DESC, id DESC LIMIT $2"
        );
        self.read(&sql, vals![service_id, limit as i64], audit_from)
            .await
    }

    async fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log ORDER BY created_ms DESC, id DESC LIMIT $1"
        );
        self.read(&sql, vals![limit as i64], audit_from).await
    }
}
