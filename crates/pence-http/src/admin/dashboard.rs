//! A service's dashboard: today's and this week's (from Monday, UTC) successful payments,
//! refunds and net amount, and the last fortnight's payments a day as a server-drawn SVG chart.

use axum::extract::State;
use axum::http::StatusCode;
use pence_core::ports::DayTotals;
use pence_core::staff;

use super::access::OnService;
use super::views::{Bar, Chart, DashboardPage, Frame, Period};
use super::{page, Answer};
use crate::pages::text::money;
use crate::state::AppState;

const DAY_MS: i64 = 86_400_000;
const CHART_DAYS: i64 = 14;

fn period(id: &'static str, name: &'static str, days: &[DayTotals], from_day: i64) -> Period {
    let mut p = DayTotals::default();
    for d in days.iter().filter(|d| d.day >= from_day) {
        p.payments += d.payments;
        p.paid += d.paid;
        p.refunds += d.refunds;
        p.refunded += d.refunded;
    }
    Period {
        id,
        name,
        payments: p.payments,
        paid: money(p.paid),
        refunds: p.refunds,
        refunded: money(p.refunded),
        net: money(p.paid - p.refunded),
    }
}

/// `Mon 30` for a day number.
fn day_label(day: i64) -> String {
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    let date = pence_core::timefmt::date(day * DAY_MS);
    format!("{} {}", WEEKDAYS[day.rem_euclid(7) as usize], &date[8..10])
}

fn chart(days: &[DayTotals], today: i64) -> Chart {
    // The bars start right of the axis, whose labels (0 and the day's most) say the scale.
    let (width, height, top, bottom, left) = (600, 180, 10, 20, 40);
    let first = today - CHART_DAYS + 1;
    let counts: Vec<(i64, i64)> = (first..=today)
        .map(|day| {
            let n = days.iter().find(|d| d.day == day).map_or(0, |d| d.payments);
            (day, n)
        })
        .collect();
    let most = counts.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let slot = (width - left) / CHART_DAYS;
    let bars = counts
        .iter()
        .enumerate()
        .map(|(i, (day, n))| {
            let h = (height - top - bottom) * n / most;
            let x = left + i as i64 * slot + 4;
            // Counting back from today, so today's bar is always named.
            let named = (CHART_DAYS - 1 - i as i64) % 2 == 0;
            Bar {
                x,
                y: height - bottom - h,
                w: slot - 8,
                h,
                label_x: x + (slot - 8) / 2,
                day: named.then(|| day_label(*day)),
                label: format!("{}: {n} successful payments", day_label(*day)),
            }
        })
        .collect();
    let total: i64 = counts.iter().map(|(_, n)| n).sum();
    Chart {
        width,
        height,
        bars,
        summary: format!(
            "{total} successful payments in the last {CHART_DAYS} days, at most {most} in a day"
        ),
        most,
        axis_x: left - 6,
        top_y: top,
        base_y: height - bottom,
    }
}

pub async fn dashboard(State(state): State<AppState>, on: OnService) -> Answer {
    let OnService { staff, service, .. } = on;
    let today = state.clock.now_ms().div_euclid(DAY_MS);
    // Day 0 (1 January 1970) was a Thursday: Monday is 3 days after.
    let monday = today - (today - 4).rem_euclid(7);
    let from = (today - CHART_DAYS + 1).min(monday) * DAY_MS;
    let days = staff::views::daily_totals(state.store.as_ref(), &service.id, from).await?;
    let view = DashboardPage {
        frame: Frame::on(&staff, &service, "Dashboard"),
        periods: vec![
            period("today", "Today", &days, today),
            period("week", "This week", &days, monday),
        ],
        chart: chart(&days, today),
    };
    Ok(page(StatusCode::OK, view))
}

#[cfg(test)]
mod tests {
    #[test]
    fn days_are_named() {
        // 30 November 2026 is a Monday.
        let day = 1_796_000_000_000i64.div_euclid(super::DAY_MS);
        assert_eq!(pence_core::timefmt::date(day * super::DAY_MS), "2026-11-30");
        assert_eq!(super::day_label(day), "Mon 30");
        assert_eq!(super::day_label(day - 1), "Sun 29");
    }
}
