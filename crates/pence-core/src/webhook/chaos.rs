//! Seeded chaos for a test service's webhook subscription (issue 31): each fault happens to
//! a share of the messages, chosen by the seed and the message's place in the subscription's
//! log (its ordinal), so the same seed and the same run give the same deliveries. The plan
//! for a message is worked out from those two numbers alone, by every node alike.

use serde::{Deserialize, Serialize};

/// The shares (percentages, 0 to 100) of messages each fault happens to, and its seed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Chaos {
    pub seed: u64,
    /// Sent twice.
    pub duplicate_percent: u8,
    /// Sent after the rest of the batch it was claimed with.
    pub reorder_percent: u8,
    /// Held for `delay_ms` before it is sent.
    pub delay_percent: u8,
    pub delay_ms: u64,
    /// Its first `drop_attempts` attempts dropped (the receiver never sees them; the retry
    /// ladder follows).
    pub drop_percent: u8,
    pub drop_attempts: i64,
    /// Signed with a secret that is not the subscription's.
    pub wrong_signature_percent: u8,
    /// Signed with the subscription's previous secret (after a rotation; a wrong one before).
    pub old_secret_percent: u8,
}

/// How a message is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Signature {
    Right,
    Wrong,
    OldSecret,
}

/// What the chaos does to one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub duplicate: bool,
    pub reorder: bool,
    pub delay_ms: u64,
    pub drop_attempts: i64,
    pub signature: Signature,
}

impl Plan {
    /// The plan of a subscription without chaos.
    pub const NONE: Plan = Plan {
        duplicate: false,
        reorder: false,
        delay_ms: 0,
        drop_attempts: 0,
        signature: Signature::Right,
    };

    /// What the plan did to attempt number `attempt` (0 first), in words for the delivery
    /// log: `duplicate, wrong signature`; `None` when it did nothing to it.
    pub fn applied(&self, attempt: i64) -> Option<String> {
        let mut did = Vec::new();
        if attempt < self.drop_attempts {
            did.push("dropped".to_string());
        } else {
            if self.duplicate {
                did.push("duplicate".into());
            }
            match self.signature {
                Signature::Right => {}
                Signature::Wrong => did.push("wrong signature".into()),
                Signature::OldSecret => did.push("old secret".into()),
            }
        }
        if self.reorder && attempt == 0 {
            did.push("reordered".into());
        }
        if self.delay_ms > 0 {
            did.push(format!("delayed {} ms", self.delay_ms));
        }
        (!did.is_empty()).then(|| did.join(", "))
    }

    /// Whether the receiver should have refused what it was sent at attempt `attempt`.
    pub fn badly_signed(&self, attempt: i64) -> bool {
        attempt >= self.drop_attempts && self.signature != Signature::Right
    }
}

/// SplitMix64: a well-mixed 64-bit value from any 64-bit input, so nearby seeds and
/// ordinals give unrelated draws.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Chaos {
    /// The longest delay a message is held.
    pub const LONGEST_DELAY_MS: u64 = 10_000;

    /// Whether this chaos can be applied, or why not.
    pub fn check(&self) -> Result<(), &'static str> {
        let shares = [
            self.duplicate_percent,
            self.reorder_percent,
            self.delay_percent,
            self.drop_percent,
            self.wrong_signature_percent,
            self.old_secret_percent,
        ];
        if shares.iter().any(|p| *p > 100) {
            return Err("each chaos share is a percentage, 0 to 100");
        }
        if self.wrong_signature_percent as u16 + self.old_secret_percent as u16 > 100 {
            return Err("wrong_signature_percent and old_secret_percent together at most 100");
        }
        if self.delay_ms > Self::LONGEST_DELAY_MS {
            return Err("chaos delay_ms must be at most 10000");
        }
        if self.drop_attempts < 0 || self.drop_attempts > 6 {
            return Err("chaos drop_attempts must be 0 to 6");
        }
        if self.delay_percent > 0 && self.delay_ms == 0 {
            return Err("chaos delay_percent needs delay_ms");
        }
        if self.drop_percent > 0 && self.drop_attempts == 0 {
            return Err("chaos drop_percent needs drop_attempts");
        }
        Ok(())
    }

    /// A draw in 0..100 for fault `kind` of message `ordinal`.
    fn draw(&self, ordinal: u64, kind: u64) -> u8 {
        (mix(mix(self.seed ^ kind.wrapping_mul(0xA24B_AED4_963E_E407)) ^ ordinal) % 100) as u8
    }

    /// The plan for the subscription's message number `ordinal` (0 first).
    pub fn plan(&self, ordinal: u64) -> Plan {
        let hit = |kind: u64, percent: u8| self.draw(ordinal, kind) < percent;
        let signature = match self.draw(ordinal, 5) {
            d if d < self.wrong_signature_percent => Signature::Wrong,
            d if d < self.wrong_signature_percent + self.old_secret_percent => Signature::OldSecret,
            _ => Signature::Right,
        };
        Plan {
            duplicate: hit(1, self.duplicate_percent),
            reorder: hit(2, self.reorder_percent),
            delay_ms: if hit(3, self.delay_percent) {
                self.delay_ms
            } else {
                0
            },
            drop_attempts: if hit(4, self.drop_percent) {
                self.drop_attempts
            } else {
                0
            },
            signature,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chaos(seed: u64) -> Chaos {
        Chaos {
            seed,
            duplicate_percent: 30,
            reorder_percent: 20,
            drop_percent: 10,
            drop_attempts: 1,
            wrong_signature_percent: 10,
            old_secret_percent: 5,
            ..Chaos::default()
        }
    }

    #[test]
    fn one_seed_gives_one_plan_and_the_shares_hold() {
        let a: Vec<Plan> = (0..10_000).map(|n| chaos(7).plan(n)).collect();
        let b: Vec<Plan> = (0..10_000).map(|n| chaos(7).plan(n)).collect();
        assert_eq!(a, b);
        let other: Vec<Plan> = (0..10_000).map(|n| chaos(8).plan(n)).collect();
        assert_ne!(a, other);
        let share = |f: &dyn Fn(&Plan) -> bool| a.iter().filter(|p| f(p)).count() as f64 / 100.0;
        let near = |got: f64, want: f64| (got - want).abs() < 1.5;
        assert!(near(share(&|p| p.duplicate), 30.0));
        assert!(near(share(&|p| p.reorder), 20.0));
        assert!(near(share(&|p| p.drop_attempts > 0), 10.0));
        assert!(near(share(&|p| p.signature == Signature::Wrong), 10.0));
        assert!(near(share(&|p| p.signature == Signature::OldSecret), 5.0));
        // The faults are drawn apart: duplicates are not also the reordered ones.
        let both = a.iter().filter(|p| p.duplicate && p.reorder).count() as f64 / 100.0;
        assert!(near(both, 6.0), "{both}");
    }

    #[test]
    fn out_of_bounds_chaos_is_refused() {
        for bad in [
            Chaos {
                duplicate_percent: 101,
                ..Chaos::default()
            },
            Chaos {
                wrong_signature_percent: 60,
                old_secret_percent: 50,
                ..Chaos::default()
            },
            Chaos {
                delay_percent: 10,
                ..Chaos::default()
            },
            Chaos {
                drop_percent: 10,
                ..Chaos::default()
            },
            Chaos {
                delay_percent: 1,
                delay_ms: 10_001,
                ..Chaos::default()
            },
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
        assert!(chaos(1).check().is_ok());
    }

    #[test]
    fn the_log_says_what_was_done_to_each_attempt() {
        let plan = Plan {
            duplicate: true,
            reorder: true,
            delay_ms: 0,
            drop_attempts: 1,
            signature: Signature::Wrong,
        };
        assert_eq!(plan.applied(0).unwrap(), "dropped, reordered");
        assert_eq!(plan.applied(1).unwrap(), "duplicate, wrong signature");
        assert!(!plan.badly_signed(0) && plan.badly_signed(1));
        assert_eq!(Plan::NONE.applied(0), None);
    }
}
