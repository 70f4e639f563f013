//! Dates: GOV.UK Pay's formats (pence-wire's `dates`, which the service side shares) and the
//! form a person reads on a page.

use pence_wire::dates::at;
pub use pence_wire::dates::{date, date_time, parse};

/// UTC epoch milliseconds as a person reads them on a page: `7 December 2026, 1:09am UTC`
/// (the day without a leading zero, the month in words, a 12-hour clock).
pub fn readable(ms: i64) -> String {
    let t = at(ms);
    let (hour, half) = match t.hour() {
        0 => (12, "am"),
        h @ 1..=11 => (h, "am"),
        12 => (12, "pm"),
        h => (h - 12, "pm"),
    };
    format!(
        "{} {} {}, {hour}:{:02}{half} UTC",
        t.day(),
        t.month(),
        t.year(),
        t.minute()
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_a_person_reads() {
        // 2026-12-07T01:09:00Z and 2026-06-21T13:05:00Z, 2026-01-01T00:00:00Z.
        assert_eq!(
            super::readable(1_796_605_740_000),
            "7 December 2026, 1:09am UTC"
        );
        assert_eq!(
            super::readable(1_782_047_100_000),
            "21 June 2026, 1:05pm UTC"
        );
        assert_eq!(
            super::readable(1_767_225_600_000),
            "1 January 2026, 12:00am UTC"
        );
    }
}
