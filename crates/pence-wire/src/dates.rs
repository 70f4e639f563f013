//! GOV.UK Pay's date formats on the wire: `2016-01-21T17:15:00.000Z` and `2016-01-21`, and
//! the date-times its searches take.

use time::{format_description::FormatItem, macros::format_description, OffsetDateTime};

const DATE_TIME: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
const DATE: &[FormatItem<'static>] = format_description!("[year]-[month]-[day]");

/// UTC epoch milliseconds as a date-time (the epoch when out of range).
pub fn at(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// UTC epoch milliseconds as `YYYY-MM-DDThh:mm:ss.SSSZ`.
pub fn date_time(ms: i64) -> String {
    at(ms).format(DATE_TIME).unwrap_or_default()
}

/// UTC epoch milliseconds as `YYYY-MM-DD`.
pub fn date(ms: i64) -> String {
    at(ms).format(DATE).unwrap_or_default()
}

/// A date and time as GOV.UK Pay's searches take one (Java's ISO_ZONED_DATE_TIME), in
/// epoch milliseconds.
pub fn parse(s: &str) -> Option<i64> {
    // Java's ISO_ZONED_DATE_TIME: seconds optional, an offset required, a [zone] suffix allowed.
    let s = s.split('[').next().unwrap_or(s);
    let parsed = OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .or_else(|| {
            let t = s.find('T')?;
            let rest = &s[t + 1..];
            let zone = rest.find(['Z', 'z', '+', '-'])?;
            (rest[..zone].len() == 5)
                .then(|| format!("{}:00{}", &s[..t + 1 + zone], &rest[zone..]))
                .and_then(|with_seconds| {
                    OffsetDateTime::parse(
                        &with_seconds,
                        &time::format_description::well_known::Rfc3339,
                    )
                    .ok()
                })
        })?;
    Some((parsed.unix_timestamp_nanos() / 1_000_000) as i64)
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_like_gov_uk_pay() {
        assert_eq!(
            super::date_time(1_453_396_500_000),
            "2016-01-21T17:15:00.000Z"
        );
        assert_eq!(
            super::date_time(1_453_396_500_007),
            "2016-01-21T17:15:00.007Z"
        );
        assert_eq!(super::date(1_453_396_500_000), "2016-01-21");
    }
}
