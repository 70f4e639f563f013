//! A service (GOV.UK Pay's gateway account): test or live, its payment provider, what it is
//! allowed to do and its rate limits.

/// Rate limits per service and fixed one-second window (reference §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Create-payment POSTs a second.
    pub create_payment: u32,
    /// Capture POSTs a second.
    pub capture: u32,
    /// Other POSTs a second.
    pub other_post: u32,
    /// Each non-POST method, a second.
    pub get: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            create_payment: 15,
            capture: 15,
            other_post: 15,
            get: 75,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub id: String,
    pub name: String,
    /// Live services take real money: https return URLs only, `api_live_` keys.
    pub live: bool,
    pub payment_provider: String,
    pub created_ms: i64,
    /// Per-service overrides; `None` takes the instance's defaults.
    pub rate_limit_post: Option<u32>,
    pub rate_limit_get: Option<u32>,
    pub moto_enabled: bool,
    pub moto_api_enabled: bool,
    pub recurring_enabled: bool,
    pub zero_amount_enabled: bool,
    pub disabled: bool,
}

impl Service {
    /// A new sandbox service with GOV.UK Pay's defaults (no MOTO, no recurring).
    pub fn new_sandbox(id: String, name: String, live: bool, now_ms: i64) -> Self {
        Service {
            id,
            name,
            live,
            payment_provider: "sandbox".into(),
            created_ms: now_ms,
            rate_limit_post: None,
            rate_limit_get: None,
            moto_enabled: false,
            moto_api_enabled: false,
            recurring_enabled: false,
            zero_amount_enabled: false,
            disabled: false,
        }
    }

    /// The limits in force for this service, given the instance's defaults.
    pub fn rate_limits(&self, defaults: RateLimits) -> RateLimits {
        let post = self.rate_limit_post;
        RateLimits {
            create_payment: post.unwrap_or(defaults.create_payment),
            capture: post.unwrap_or(defaults.capture),
            other_post: post.unwrap_or(defaults.other_post),
            get: self.rate_limit_get.unwrap_or(defaults.get),
        }
    }
}
