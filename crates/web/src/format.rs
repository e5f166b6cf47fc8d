//! German formats: dates as `24.12.2026`, 24-hour times, in the tenant's time zone.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// The zone of a tenant (`Europe/Berlin` when the stored name is not one).
pub fn zone(name: &str) -> Tz {
    name.parse().unwrap_or(chrono_tz::Europe::Berlin)
}

/// `24.12.2026, 14:05 Uhr`
pub fn date_time(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz)
        .format("%d.%m.%Y, %H:%M Uhr")
        .to_string()
}

/// `24.12.2026`
pub fn date(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%d.%m.%Y").to_string()
}

/// `14:05`
pub fn time(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%H:%M").to_string()
}

/// The German weekday of a local instant.
pub fn weekday(at: DateTime<Utc>, tz: Tz) -> &'static str {
    use chrono::Datelike;
    match at.with_timezone(&tz).weekday() {
        chrono::Weekday::Mon => "Montag",
        chrono::Weekday::Tue => "Dienstag",
        chrono::Weekday::Wed => "Mittwoch",
        chrono::Weekday::Thu => "Donnerstag",
        chrono::Weekday::Fri => "Freitag",
        chrono::Weekday::Sat => "Samstag",
        chrono::Weekday::Sun => "Sonntag",
    }
}

/// How long until (or since) `due`: "noch 3 Std. 20 Min." / "seit 45 Min. überfällig".
pub fn countdown(due: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (due - now).num_seconds();
    let span = |s: i64| {
        let m = s / 60;
        let (d, h, m) = (m / (24 * 60), (m / 60) % 24, m % 60);
        if d > 0 {
            format!("{d} Tg. {h} Std.")
        } else if h > 0 {
            format!("{h} Std. {m} Min.")
        } else {
            format!("{m} Min.")
        }
    };
    if secs >= 0 {
        format!("noch {}", span(secs))
    } else {
        format!("seit {} überfällig", span(-secs))
    }
}

/// A search snippet from the engine (escaped text with `<mark>` around hits) as plain text
/// parts and whether each is a hit, so the template escapes everything itself.
pub fn marked(html: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut rest = html;
    while !rest.is_empty() {
        match rest.find("<mark>") {
            Some(start) => {
                if start > 0 {
                    out.push((unescape(&rest[..start]), false));
                }
                let after = &rest[start + 6..];
                let end = after.find("</mark>").unwrap_or(after.len());
                out.push((unescape(&after[..end]), true));
                rest = after.get(end + 7..).unwrap_or("");
            }
            None => {
                out.push((unescape(rest), false));
                break;
            }
        }
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn german_dates_in_the_tenant_zone() {
        let at = Utc.with_ymd_and_hms(2026, 12, 24, 13, 5, 0).unwrap();
        let tz = zone("Europe/Berlin");
        assert_eq!(date_time(at, tz), "24.12.2026, 14:05 Uhr");
        assert_eq!(date(at, tz), "24.12.2026");
        assert_eq!(weekday(at, tz), "Donnerstag");
    }

    #[test]
    fn countdown_reads_both_ways() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap();
        assert_eq!(
            countdown(now + chrono::Duration::minutes(200), now),
            "noch 3 Std. 20 Min."
        );
        assert_eq!(
            countdown(now - chrono::Duration::minutes(45), now),
            "seit 45 Min. überfällig"
        );
    }

    #[test]
    fn snippets_become_text_and_marks_without_html() {
        let parts = marked("Der <mark>Personalausweis</mark> &lt;script&gt; &amp; mehr");
        assert_eq!(
            parts,
            vec![
                ("Der ".to_owned(), false),
                ("Personalausweis".to_owned(), true),
                (" <script> & mehr".to_owned(), false),
            ]
        );
    }
}
