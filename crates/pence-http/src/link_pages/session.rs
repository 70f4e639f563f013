//! What a payer has entered on links' pages, kept between them as GOV.UK Pay keeps it: in an
//! encrypted, authenticated cookie (axum-extra's private jar), per link, for the 10 links the
//! browser opened last, with the CSRF secret the pages' forms carry.

use axum_extra::extract::cookie::PrivateCookieJar;
use serde::{Deserialize, Serialize};

use crate::pages::session::{read_cookie, same_secret, write_cookie};

const COOKIE: &str = "pence_links";
const MAX_LINKS: usize = 10;

/// The payer's answers for one link.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Answers {
    pub link_id: String,
    pub reference: Option<String>,
    pub amount: Option<i64>,
    /// Given by the link's query: the payer cannot change them (GOV.UK Pay).
    pub reference_prefilled: bool,
    pub amount_prefilled: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinkSession {
    csrf: String,
    links: Vec<Answers>,
}

impl LinkSession {
    pub fn from_jar(jar: &PrivateCookieJar) -> LinkSession {
        read_cookie(jar, COOKIE).unwrap_or_else(|| LinkSession {
            csrf: pence_core::ids::random_base32(32),
            links: Vec::new(),
        })
    }

    /// The answers for `link_id` so far (none yet: empty).
    pub fn answers(&self, link_id: &str) -> Answers {
        self.links
            .iter()
            .find(|a| a.link_id == link_id)
            .cloned()
            .unwrap_or_else(|| Answers {
                link_id: link_id.into(),
                ..Default::default()
            })
    }

    pub fn save(&mut self, answers: Answers) {
        self.links.retain(|a| a.link_id != answers.link_id);
        self.links.push(answers);
        if self.links.len() > MAX_LINKS {
            self.links.remove(0);
        }
    }

    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    pub fn csrf_ok(&self, sent: &str) -> bool {
        same_secret(&self.csrf, sent)
    }

    pub fn store(&self, jar: PrivateCookieJar, secure: bool) -> PrivateCookieJar {
        write_cookie(jar, COOKIE, self, secure)
    }
}
