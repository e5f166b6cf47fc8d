//! The service calendar: public holidays of the German states, weekly opening hours, closing
//! days, special days and service-time arithmetic.
//!
//! Ticketing uses it for answer deadlines ("one working day, counted in service hours") and the
//! at-risk check; knowledge uses it for the opening hours of offices. Everything here is pure
//! logic: no database, no clock, no I/O. Instants are `DateTime<Utc>`; opening hours are local
//! wall-clock times in the calendar's time zone.
//!
//! Daylight saving time: a local opening time that does not exist (the spring-forward gap) is
//! mapped to the first instant after the gap; an ambiguous one (fall back) to the earlier of the
//! two instants.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone,
    Timelike, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Days without any opening after which a forward search (next opening, adding service time)
/// gives up and returns `None`.
pub const SEARCH_DAYS: i64 = 400;

/// Hard limit of any day-by-day walk, about 100 years. Instants further apart than this are not
/// related by the service-time functions (they return `None` or count only up to the limit).
pub const MAX_HORIZON_DAYS: i64 = 36_525;

/// The calendar works on instants and dates within this many years of year 0, far inside
/// chrono's range (about ±262 000 years), so that time-zone offsets and day-by-day walks can
/// never overflow it. Outside, the functions answer as for a calendar that is never open
/// (`None`, no intervals, zero service time) instead of panicking.
pub const SUPPORTED_YEARS: i32 = 100_000;

fn supported_date(date: NaiveDate) -> bool {
    (-SUPPORTED_YEARS..=SUPPORTED_YEARS).contains(&date.year())
}

fn supported(at: DateTime<Utc>) -> bool {
    supported_date(at.date_naive())
}

/// The codes of the 16 German states (ISO 3166-2:DE without the `DE-` prefix).
pub const STATES: [&str; 16] = [
    "BW", "BY", "BE", "BB", "HB", "HH", "HE", "MV", "NI", "NW", "RP", "SL", "SN", "ST", "SH", "TH",
];

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Why a schedule or calendar setting is not acceptable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// A field failed validation. `field` names the JSON field (`mon`, `start`, `intervals`, ...).
    #[error("invalid {field}: {reason}")]
    Invalid { field: String, reason: String },
    /// The time zone name is not in the IANA database.
    #[error("unknown time zone {0:?}")]
    UnknownTimeZone(String),
}

impl CalendarError {
    fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl From<CalendarError> for crate::Error {
    fn from(err: CalendarError) -> Self {
        match err {
            CalendarError::Invalid { field, reason } => crate::Error::Invalid { field, reason },
            CalendarError::UnknownTimeZone(name) => {
                crate::Error::invalid("time_zone", format!("unknown time zone {name:?}"))
            }
        }
    }
}

/// Parses an IANA time zone name such as `Europe/Berlin`.
pub fn parse_tz(name: &str) -> Result<Tz, CalendarError> {
    name.trim()
        .parse::<Tz>()
        .map_err(|_| CalendarError::UnknownTimeZone(name.to_owned()))
}

// ---------------------------------------------------------------------------------------------
// Holidays
// ---------------------------------------------------------------------------------------------

/// Easter Sunday of `year` in the Gregorian calendar (anonymous Gregorian computus, also known
/// as the Meeus/Jones/Butcher algorithm).
///
/// Years outside chrono's date range are clamped to `NaiveDate::MIN` / `NaiveDate::MAX`.
pub fn easter_sunday(year: i32) -> NaiveDate {
    let y = i64::from(year);
    let a = y.rem_euclid(19);
    let b = y.div_euclid(100);
    let c = y.rem_euclid(100);
    let d = b.div_euclid(4);
    let e = b.rem_euclid(4);
    let f = (b + 8).div_euclid(25);
    let g = (b - f + 1).div_euclid(3);
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c.div_euclid(4);
    let k = c.rem_euclid(4);
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l).div_euclid(451);
    let month = (h + l - 7 * m + 114).div_euclid(31);
    let day = (h + l - 7 * m + 114).rem_euclid(31) + 1;
    // month is 3 or 4 and day 1..=31, so the conversions cannot fail.
    let month = u32::try_from(month).unwrap_or(4);
    let day = u32::try_from(day).unwrap_or(1);
    NaiveDate::from_ymd_opt(year, month, day).unwrap_or(if year < 0 {
        NaiveDate::MIN
    } else {
        NaiveDate::MAX
    })
}

/// One public holiday.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, ToSchema)]
pub struct Holiday {
    pub date: NaiveDate,
    /// German name, e.g. `Fronleichnam`.
    pub name: &'static str,
}

/// A German federal state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    BadenWuerttemberg,
    Bayern,
    Berlin,
    Brandenburg,
    Bremen,
    Hamburg,
    Hessen,
    MecklenburgVorpommern,
    Niedersachsen,
    NordrheinWestfalen,
    RheinlandPfalz,
    Saarland,
    Sachsen,
    SachsenAnhalt,
    SchleswigHolstein,
    Thueringen,
}

impl State {
    /// Looks up a state by its two-letter code (`RP`, case-insensitive, `DE-` prefix allowed).
    pub fn from_code(code: &str) -> Option<Self> {
        let code = code.trim().to_ascii_uppercase();
        let code = code.strip_prefix("DE-").unwrap_or(&code);
        Some(match code {
            "BW" => Self::BadenWuerttemberg,
            "BY" => Self::Bayern,
            "BE" => Self::Berlin,
            "BB" => Self::Brandenburg,
            "HB" => Self::Bremen,
            "HH" => Self::Hamburg,
            "HE" => Self::Hessen,
            "MV" => Self::MecklenburgVorpommern,
            "NI" => Self::Niedersachsen,
            "NW" => Self::NordrheinWestfalen,
            "RP" => Self::RheinlandPfalz,
            "SL" => Self::Saarland,
            "SN" => Self::Sachsen,
            "ST" => Self::SachsenAnhalt,
            "SH" => Self::SchleswigHolstein,
            "TH" => Self::Thueringen,
            _ => return None,
        })
    }

    /// The two-letter code, e.g. `RP`.
    pub fn code(self) -> &'static str {
        match self {
            Self::BadenWuerttemberg => "BW",
            Self::Bayern => "BY",
            Self::Berlin => "BE",
            Self::Brandenburg => "BB",
            Self::Bremen => "HB",
            Self::Hamburg => "HH",
            Self::Hessen => "HE",
            Self::MecklenburgVorpommern => "MV",
            Self::Niedersachsen => "NI",
            Self::NordrheinWestfalen => "NW",
            Self::RheinlandPfalz => "RP",
            Self::Saarland => "SL",
            Self::Sachsen => "SN",
            Self::SachsenAnhalt => "ST",
            Self::SchleswigHolstein => "SH",
            Self::Thueringen => "TH",
        }
    }
}

/// Whether `code` names one of the 16 German states.
pub fn is_known_state(code: &str) -> bool {
    State::from_code(code).is_some()
}

/// The statutory public holidays of a German state in `year`, sorted by date.
///
/// `state` is the two-letter code (`RP`, `BY`, ...; case-insensitive). An unknown code yields
/// only the nationwide holidays. Holidays that apply only in some municipalities (Mariä
/// Himmelfahrt in Catholic parts of Bavaria, Fronleichnam in parts of Saxony and Thuringia, the
/// Augsburger Friedensfest) are not included. The rules are those in force since 1995, plus the
/// later introductions (Reformationstag in the northern states 2018, Internationaler Frauentag in
/// Berlin 2019 and Mecklenburg-Vorpommern 2023, Weltkindertag in Thuringia 2019) and the
/// one-time holidays (Reformationstag 2017 nationwide, Berlin 2020, 2025 and 2028). Before 1995
/// Buß- und Bettag was a holiday everywhere.
pub fn public_holidays(state: &str, year: i32) -> Vec<Holiday> {
    use State::*;

    let state = State::from_code(state);
    let is = |states: &[State]| state.is_some_and(|s| states.contains(&s));
    let easter = easter_sunday(year);

    let mut out = Vec::with_capacity(16);
    let mut fixed = |month: u32, day: u32, name: &'static str| {
        if let Some(date) = NaiveDate::from_ymd_opt(year, month, day) {
            out.push(Holiday { date, name });
        }
    };

    // Fixed dates.
    fixed(1, 1, "Neujahr");
    if is(&[BadenWuerttemberg, Bayern, SachsenAnhalt]) {
        fixed(1, 6, "Heilige Drei Könige");
    }
    if (is(&[Berlin]) && year >= 2019) || (is(&[MecklenburgVorpommern]) && year >= 2023) {
        fixed(3, 8, "Internationaler Frauentag");
    }
    fixed(5, 1, "Tag der Arbeit");
    if is(&[Berlin]) && (year == 2020 || year == 2025) {
        fixed(5, 8, "Tag der Befreiung");
    }
    if is(&[Berlin]) && year == 2028 {
        fixed(6, 17, "Jahrestag des Volksaufstandes vom 17. Juni 1953");
    }
    if is(&[Saarland]) {
        fixed(8, 15, "Mariä Himmelfahrt");
    }
    if is(&[Thueringen]) && year >= 2019 {
        fixed(9, 20, "Weltkindertag");
    }
    if year >= 1990 {
        fixed(10, 3, "Tag der Deutschen Einheit");
    }
    let reformation = year == 2017
        || is(&[
            Brandenburg,
            MecklenburgVorpommern,
            Sachsen,
            SachsenAnhalt,
            Thueringen,
        ])
        || (year >= 2018 && is(&[Bremen, Hamburg, Niedersachsen, SchleswigHolstein]));
    if reformation {
        fixed(10, 31, "Reformationstag");
    }
    if is(&[
        BadenWuerttemberg,
        Bayern,
        NordrheinWestfalen,
        RheinlandPfalz,
        Saarland,
    ]) {
        fixed(11, 1, "Allerheiligen");
    }
    fixed(12, 25, "1. Weihnachtstag");
    fixed(12, 26, "2. Weihnachtstag");

    // Buß- und Bettag: the Wednesday before 23 November (16 to 22 November).
    if (is(&[Sachsen]) || year <= 1994)
        && let Some(nov22) = NaiveDate::from_ymd_opt(year, 11, 22)
    {
        let back = i64::from(
            (nov22.weekday().num_days_from_monday() + 7 - Weekday::Wed.num_days_from_monday()) % 7,
        );
        if let Some(date) = nov22.checked_sub_signed(Duration::days(back)) {
            out.push(Holiday {
                date,
                name: "Buß- und Bettag",
            });
        }
    }

    // Dates relative to Easter Sunday.
    let mut movable = |offset: i64, name: &'static str| {
        if let Some(date) = easter.checked_add_signed(Duration::days(offset))
            && date.year() == year
        {
            out.push(Holiday { date, name });
        }
    };
    movable(-2, "Karfreitag");
    if is(&[Brandenburg]) {
        movable(0, "Ostersonntag");
    }
    movable(1, "Ostermontag");
    movable(39, "Christi Himmelfahrt");
    if is(&[Brandenburg]) {
        movable(49, "Pfingstsonntag");
    }
    movable(50, "Pfingstmontag");
    if is(&[
        BadenWuerttemberg,
        Bayern,
        Hessen,
        NordrheinWestfalen,
        RheinlandPfalz,
        Saarland,
    ]) {
        movable(60, "Fronleichnam");
    }

    out.sort_by_key(|h| h.date);
    out
}

/// The holidays of one year, kept while a search walks day by day.
#[derive(Debug, Default)]
struct HolidayCache {
    year: Option<i32>,
    dates: Vec<NaiveDate>,
}

impl HolidayCache {
    fn is_holiday(&mut self, state: &str, date: NaiveDate) -> bool {
        if self.year != Some(date.year()) {
            self.dates = public_holidays(state, date.year())
                .into_iter()
                .map(|h| h.date)
                .collect();
            self.year = Some(date.year());
        }
        self.dates.contains(&date)
    }
}

// ---------------------------------------------------------------------------------------------
// Schedule types
// ---------------------------------------------------------------------------------------------

/// Parses a strict `HH:MM` time (two digits each, 00:00 to 23:59).
pub fn parse_hhmm(s: &str) -> Option<NaiveTime> {
    let [h1, h2, b':', m1, m2] = s.as_bytes() else {
        return None;
    };
    let digit = |b: &u8| b.is_ascii_digit().then(|| u32::from(b - b'0'));
    let hour = digit(h1)? * 10 + digit(h2)?;
    let minute = digit(m1)? * 10 + digit(m2)?;
    NaiveTime::from_hms_opt(hour, minute, 0)
}

/// Serializes a `NaiveTime` as `HH:MM` and parses it strictly.
mod hhmm {
    use chrono::{NaiveTime, Timelike};
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub fn serialize<S: Serializer>(time: &NaiveTime, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&format_args!("{:02}:{:02}", time.hour(), time.minute()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveTime, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        super::parse_hhmm(&text)
            .ok_or_else(|| D::Error::custom(format!("invalid time {text:?}, expected HH:MM")))
    }
}

/// A local opening interval within one day, `[start, end)`. Times are `HH:MM` in JSON.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Interval {
    /// Opening time, inclusive.
    #[serde(with = "hhmm")]
    #[schema(value_type = String, example = "08:00", pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub start: NaiveTime,
    /// Closing time, exclusive; later than `start`.
    #[serde(with = "hhmm")]
    #[schema(value_type = String, example = "18:00", pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub end: NaiveTime,
}

impl Interval {
    /// A validated interval.
    pub fn new(start: NaiveTime, end: NaiveTime) -> Result<Self, CalendarError> {
        let interval = Self { start, end };
        interval.validate()?;
        Ok(interval)
    }

    /// A validated interval from hours and minutes, e.g. `Interval::hm(8, 0, 18, 0)`.
    pub fn hm(start_h: u32, start_m: u32, end_h: u32, end_m: u32) -> Result<Self, CalendarError> {
        let time = |h, m, field: &str| {
            NaiveTime::from_hms_opt(h, m, 0)
                .ok_or_else(|| CalendarError::invalid(field, format!("{h}:{m} is not a time")))
        };
        Self::new(time(start_h, start_m, "start")?, time(end_h, end_m, "end")?)
    }

    /// Checks that start is before end and both are whole minutes.
    pub fn validate(&self) -> Result<(), CalendarError> {
        for (field, time) in [("start", self.start), ("end", self.end)] {
            if time.second() != 0 || time.nanosecond() != 0 {
                return Err(CalendarError::invalid(
                    field,
                    "times must be whole minutes (HH:MM)",
                ));
            }
        }
        if self.start >= self.end {
            return Err(CalendarError::invalid(
                "end",
                format!("interval {self} is empty: start must be before end"),
            ));
        }
        Ok(())
    }

    /// The length of the interval (zero if it is empty).
    pub fn duration(&self) -> Duration {
        (self.end - self.start).max(Duration::zero())
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02}:{:02}-{:02}:{:02}",
            self.start.hour(),
            self.start.minute(),
            self.end.hour(),
            self.end.minute()
        )
    }
}

/// Checks a list of intervals of one day: each non-empty, sorted, not overlapping (touching is
/// fine). `field` and `label` name the day in the error.
pub fn validate_intervals(
    field: &str,
    label: &str,
    intervals: &[Interval],
) -> Result<(), CalendarError> {
    let mut previous: Option<&Interval> = None;
    for interval in intervals {
        interval.validate().map_err(|err| match err {
            CalendarError::Invalid { reason, .. } => {
                CalendarError::invalid(field, format!("{label}: {reason}"))
            }
            other => other,
        })?;
        if let Some(prev) = previous {
            if interval.start < prev.start {
                return Err(CalendarError::invalid(
                    field,
                    format!("{label}: intervals are not sorted ({interval} after {prev})"),
                ));
            }
            if interval.start < prev.end {
                return Err(CalendarError::invalid(
                    field,
                    format!("{label}: intervals {prev} and {interval} overlap"),
                ));
            }
        }
        previous = Some(interval);
    }
    Ok(())
}

/// Drops empty intervals, sorts by start and merges overlapping ones (touching ones stay apart).
fn normalize(intervals: &[Interval]) -> Vec<Interval> {
    let mut sorted: Vec<Interval> = intervals
        .iter()
        .copied()
        .filter(|i| i.start < i.end)
        .collect();
    sorted.sort();
    let mut out: Vec<Interval> = Vec::with_capacity(sorted.len());
    for interval in sorted {
        match out.last_mut() {
            Some(last) if interval.start < last.end => last.end = last.end.max(interval.end),
            _ => out.push(interval),
        }
    }
    out
}

/// Regular opening hours per weekday. A day missing in JSON is closed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WeeklyHours {
    #[serde(default)]
    pub mon: Vec<Interval>,
    #[serde(default)]
    pub tue: Vec<Interval>,
    #[serde(default)]
    pub wed: Vec<Interval>,
    #[serde(default)]
    pub thu: Vec<Interval>,
    #[serde(default)]
    pub fri: Vec<Interval>,
    #[serde(default)]
    pub sat: Vec<Interval>,
    #[serde(default)]
    pub sun: Vec<Interval>,
}

impl Default for WeeklyHours {
    /// The 115 service hours: Monday to Friday 08:00 to 18:00.
    fn default() -> Self {
        let day = vec![Interval {
            start: NaiveTime::from_hms_opt(8, 0, 0).unwrap_or(NaiveTime::MIN),
            end: NaiveTime::from_hms_opt(18, 0, 0).unwrap_or(NaiveTime::MIN),
        }];
        Self {
            mon: day.clone(),
            tue: day.clone(),
            wed: day.clone(),
            thu: day.clone(),
            fri: day,
            sat: Vec::new(),
            sun: Vec::new(),
        }
    }
}

const WEEKDAYS: [(Weekday, &str, &str); 7] = [
    (Weekday::Mon, "mon", "Monday"),
    (Weekday::Tue, "tue", "Tuesday"),
    (Weekday::Wed, "wed", "Wednesday"),
    (Weekday::Thu, "thu", "Thursday"),
    (Weekday::Fri, "fri", "Friday"),
    (Weekday::Sat, "sat", "Saturday"),
    (Weekday::Sun, "sun", "Sunday"),
];

impl WeeklyHours {
    /// Closed on every day.
    pub fn closed() -> Self {
        Self {
            mon: Vec::new(),
            tue: Vec::new(),
            wed: Vec::new(),
            thu: Vec::new(),
            fri: Vec::new(),
            sat: Vec::new(),
            sun: Vec::new(),
        }
    }

    /// The same intervals on Monday to Friday, closed at the weekend.
    pub fn weekdays(intervals: Vec<Interval>) -> Self {
        Self {
            mon: intervals.clone(),
            tue: intervals.clone(),
            wed: intervals.clone(),
            thu: intervals.clone(),
            fri: intervals,
            ..Self::closed()
        }
    }

    /// The intervals of a weekday.
    pub fn on(&self, weekday: Weekday) -> &[Interval] {
        match weekday {
            Weekday::Mon => &self.mon,
            Weekday::Tue => &self.tue,
            Weekday::Wed => &self.wed,
            Weekday::Thu => &self.thu,
            Weekday::Fri => &self.fri,
            Weekday::Sat => &self.sat,
            Weekday::Sun => &self.sun,
        }
    }

    /// Replaces the intervals of a weekday.
    pub fn set(&mut self, weekday: Weekday, intervals: Vec<Interval>) {
        let day = match weekday {
            Weekday::Mon => &mut self.mon,
            Weekday::Tue => &mut self.tue,
            Weekday::Wed => &mut self.wed,
            Weekday::Thu => &mut self.thu,
            Weekday::Fri => &mut self.fri,
            Weekday::Sat => &mut self.sat,
            Weekday::Sun => &mut self.sun,
        };
        *day = intervals;
    }

    /// Checks every day; the error names the weekday (`field` is `mon`, `tue`, ...).
    pub fn validate(&self) -> Result<(), CalendarError> {
        for (weekday, field, label) in WEEKDAYS {
            validate_intervals(field, label, self.on(weekday))?;
        }
        Ok(())
    }

    /// Whether no day has any interval.
    pub fn is_always_closed(&self) -> bool {
        WEEKDAYS.iter().all(|(day, _, _)| self.on(*day).is_empty())
    }

    fn normalized(&self) -> Self {
        Self {
            mon: normalize(&self.mon),
            tue: normalize(&self.tue),
            wed: normalize(&self.wed),
            thu: normalize(&self.thu),
            fri: normalize(&self.fri),
            sat: normalize(&self.sat),
            sun: normalize(&self.sun),
        }
    }
}

/// Hours of one date that replace the regular ones: no intervals means closed that day,
/// intervals mean these hours instead of the weekday's (even on a holiday).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpecialDay {
    pub date: NaiveDate,
    #[serde(default)]
    pub intervals: Vec<Interval>,
    /// Free text shown with the hours, e.g. "Rosenmontag: nur vormittags".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl SpecialDay {
    /// Checks the intervals; the error names the date.
    pub fn validate(&self) -> Result<(), CalendarError> {
        validate_intervals("intervals", &self.date.to_string(), &self.intervals)
    }
}

// ---------------------------------------------------------------------------------------------
// Calendar
// ---------------------------------------------------------------------------------------------

/// A service calendar: opening hours in a time zone, minus the public holidays of a state and
/// the closing days, with special days overriding everything for their date.
///
/// The calendar holds no interior mutability (it is `Send + Sync` and cheap to clone);
/// holidays are computed per year and kept only for the duration of one search.
#[derive(Clone, Debug, PartialEq)]
pub struct Calendar {
    tz: Tz,
    holidays_state: String,
    weekly: WeeklyHours,
    closing_days: BTreeSet<NaiveDate>,
    special_days: BTreeMap<NaiveDate, Vec<Interval>>,
    observe_holidays: bool,
}

impl Calendar {
    /// A calendar that observes the public holidays of `state` (two-letter code; an unknown
    /// code means only the nationwide holidays). Invalid intervals in `weekly` are tolerated:
    /// empty ones are ignored and overlapping ones merged. Use [`Calendar::try_new`] to reject
    /// them instead.
    pub fn new(tz: Tz, state: &str, weekly: WeeklyHours) -> Self {
        Self {
            tz,
            holidays_state: state.trim().to_ascii_uppercase(),
            weekly: weekly.normalized(),
            closing_days: BTreeSet::new(),
            special_days: BTreeMap::new(),
            observe_holidays: true,
        }
    }

    /// Like [`Calendar::new`], but rejects invalid weekly hours.
    pub fn try_new(tz: Tz, state: &str, weekly: WeeklyHours) -> Result<Self, CalendarError> {
        weekly.validate()?;
        Ok(Self::new(tz, state, weekly))
    }

    /// Like [`Calendar::try_new`] with a time zone name such as `Europe/Berlin`.
    pub fn from_tz_name(
        tz_name: &str,
        state: &str,
        weekly: WeeklyHours,
    ) -> Result<Self, CalendarError> {
        Self::try_new(parse_tz(tz_name)?, state, weekly)
    }

    /// The 115 default: Europe/Berlin, Mon–Fri 08:00–18:00, holidays of `state`.
    pub fn service_115(state: &str) -> Self {
        Self::new(chrono_tz::Europe::Berlin, state, WeeklyHours::default())
    }

    /// Adds days on which the center is closed (unless a special day says otherwise).
    pub fn with_closing_days(mut self, days: impl IntoIterator<Item = NaiveDate>) -> Self {
        self.closing_days.extend(days);
        self
    }

    /// Adds special days; a later entry for the same date replaces an earlier one.
    pub fn with_special_days(mut self, days: impl IntoIterator<Item = SpecialDay>) -> Self {
        for day in days {
            self.special_days
                .insert(day.date, normalize(&day.intervals));
        }
        self
    }

    /// Whether public holidays close the center (default: yes).
    pub fn with_observe_holidays(mut self, observe: bool) -> Self {
        self.observe_holidays = observe;
        self
    }

    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// The state code whose holidays apply, upper case.
    pub fn holidays_state(&self) -> &str {
        &self.holidays_state
    }

    pub fn weekly(&self) -> &WeeklyHours {
        &self.weekly
    }

    pub fn closing_days(&self) -> &BTreeSet<NaiveDate> {
        &self.closing_days
    }

    pub fn special_days(&self) -> &BTreeMap<NaiveDate, Vec<Interval>> {
        &self.special_days
    }

    pub fn observes_holidays(&self) -> bool {
        self.observe_holidays
    }

    /// The public holiday on `date` in this calendar's state, if any (whether or not the
    /// calendar observes holidays).
    pub fn holiday_on(&self, date: NaiveDate) -> Option<Holiday> {
        public_holidays(&self.holidays_state, date.year())
            .into_iter()
            .find(|h| h.date == date)
    }

    /// The local opening hours of `date` after holidays, closing days and special days.
    pub fn hours_on(&self, date: NaiveDate) -> Vec<Interval> {
        self.local_hours(date, &mut HolidayCache::default())
            .to_vec()
    }

    /// Whether the center is open at some time on the local `date`.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        !self.hours_on(date).is_empty()
    }

    fn local_hours(&self, date: NaiveDate, holidays: &mut HolidayCache) -> &[Interval] {
        if let Some(intervals) = self.special_days.get(&date) {
            return intervals;
        }
        if self.closing_days.contains(&date)
            || (self.observe_holidays && holidays.is_holiday(&self.holidays_state, date))
        {
            return &[];
        }
        self.weekly.on(date.weekday())
    }

    /// The open intervals of the local `date`, as `[start, end)` in UTC, sorted and merged.
    pub fn intervals_on(&self, date: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        self.utc_intervals(date, &mut HolidayCache::default())
    }

    fn utc_intervals(
        &self,
        date: NaiveDate,
        holidays: &mut HolidayCache,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let mut out: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
        if !supported_date(date) {
            return out;
        }
        for interval in self.local_hours(date, holidays) {
            let (Some(start), Some(end)) = (
                local_to_utc(self.tz, date.and_time(interval.start)),
                local_to_utc(self.tz, date.and_time(interval.end)),
            ) else {
                continue;
            };
            if start < end {
                out.push((start, end));
            }
        }
        out.sort();
        let mut merged: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::with_capacity(out.len());
        for (start, end) in out {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        merged
    }

    /// The open intervals from `from` on, in order; the first one is clipped to start at
    /// `from`. Ends after [`SEARCH_DAYS`] days without any opening.
    pub fn open_intervals(
        &self,
        from: DateTime<Utc>,
    ) -> impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)> + '_ {
        self.walk(from, None, Some(SEARCH_DAYS))
    }

    fn walk(
        &self,
        from: DateTime<Utc>,
        until: Option<DateTime<Utc>>,
        idle_limit: Option<i64>,
    ) -> OpenIntervals<'_> {
        let first = self.local_date(from);
        // Start a day early: an interval of the previous local date may still be running.
        let start = first.pred_opt().unwrap_or(first);
        let mut last = first
            .checked_add_signed(Duration::days(MAX_HORIZON_DAYS))
            .unwrap_or(NaiveDate::MAX);
        if let Some(until) = until {
            let until_date = self.local_date(until);
            last = last.min(until_date.succ_opt().unwrap_or(until_date));
        }
        // Outside the supported years there is nothing to walk.
        let in_range = supported(from) && until.is_none_or(supported);
        OpenIntervals {
            calendar: self,
            from,
            until,
            next_date: in_range.then_some(start),
            last_date: last,
            idle_limit,
            idle_days: 0,
            pending: Vec::new().into_iter(),
            holidays: HolidayCache::default(),
        }
    }

    /// The local date of `at`; the UTC date where the local one would leave chrono's range
    /// (such instants are outside the supported years anyway).
    fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        use chrono::Offset;
        let offset = self.tz.offset_from_utc_datetime(&at.naive_utc()).fix();
        at.naive_utc()
            .checked_add_signed(Duration::seconds(i64::from(offset.local_minus_utc())))
            .map_or(at.date_naive(), |local| local.date())
    }

    /// The open interval containing `at`, if the center is open then.
    pub fn current_interval(&self, at: DateTime<Utc>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        if !supported(at) {
            return None;
        }
        let date = self.local_date(at);
        let mut holidays = HolidayCache::default();
        [date.pred_opt(), Some(date), date.succ_opt()]
            .into_iter()
            .flatten()
            .flat_map(|d| self.utc_intervals(d, &mut holidays))
            .find(|(start, end)| *start <= at && at < *end)
    }

    /// Whether the center is open at `at` (opening time inclusive, closing time exclusive).
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        self.current_interval(at).is_some()
    }

    /// `at` if the center is open then, otherwise the next opening. `None` if there is no
    /// opening within [`SEARCH_DAYS`] days.
    pub fn next_opening(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.never_open() {
            return None;
        }
        self.open_intervals(at).next().map(|(start, _)| start)
    }

    /// The instant at which `amount` of open time has passed, counting from `from` (or from the
    /// next opening if closed then). If the amount runs out exactly at a closing time, that
    /// closing time is returned. `None` for a negative amount or if the calendar does not open
    /// again (no opening within [`SEARCH_DAYS`] days).
    pub fn add_service_time(&self, from: DateTime<Utc>, amount: Duration) -> Option<DateTime<Utc>> {
        if amount < Duration::zero() || self.never_open() {
            return None;
        }
        let mut remaining = amount;
        for (start, end) in self.open_intervals(from) {
            let available = end - start;
            if remaining <= available {
                return start.checked_add_signed(remaining);
            }
            remaining -= available;
        }
        None
    }

    /// The open time in `[a, b)`; zero if `b <= a`.
    pub fn service_time_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Duration {
        if b <= a || self.never_open() {
            return Duration::zero();
        }
        self.walk(a, Some(b), None)
            .fold(Duration::zero(), |total, (start, end)| {
                total.checked_add(&(end - start)).unwrap_or(Duration::MAX)
            })
    }

    /// The answer deadline of a ticket that arrived at `arrival`: `service_day_hours` hours of
    /// service time later.
    pub fn due_at(&self, arrival: DateTime<Utc>, service_day_hours: u32) -> Option<DateTime<Utc>> {
        self.add_service_time(arrival, Duration::try_hours(i64::from(service_day_hours))?)
    }

    /// Whether no date can ever be open (no weekly hours, no special day with hours).
    fn never_open(&self) -> bool {
        self.weekly.is_always_closed() && self.special_days.values().all(Vec::is_empty)
    }
}

/// Walks the open intervals of a calendar day by day.
struct OpenIntervals<'a> {
    calendar: &'a Calendar,
    from: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
    next_date: Option<NaiveDate>,
    last_date: NaiveDate,
    idle_limit: Option<i64>,
    idle_days: i64,
    pending: std::vec::IntoIter<(DateTime<Utc>, DateTime<Utc>)>,
    holidays: HolidayCache,
}

impl Iterator for OpenIntervals<'_> {
    type Item = (DateTime<Utc>, DateTime<Utc>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((start, end)) = self.pending.next() {
                let start = start.max(self.from);
                let end = match self.until {
                    Some(until) => end.min(until),
                    None => end,
                };
                if start < end {
                    return Some((start, end));
                }
                continue;
            }
            let date = self.next_date?;
            if date > self.last_date {
                return None;
            }
            if self.idle_limit.is_some_and(|limit| self.idle_days > limit) {
                return None;
            }
            let intervals = self.calendar.utc_intervals(date, &mut self.holidays);
            if intervals.is_empty() {
                self.idle_days += 1;
            } else {
                self.idle_days = 0;
            }
            self.pending = intervals.into_iter();
            self.next_date = date.succ_opt();
        }
    }
}

/// Converts a local wall-clock time to UTC: ambiguous times (fall back) map to the earlier
/// instant, non-existent ones (spring-forward gap) to the first instant after the gap.
fn local_to_utc(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => Some(a.with_timezone(&Utc).min(b.with_timezone(&Utc))),
        LocalResult::None => end_of_gap(tz, local),
    }
}

/// The first instant whose local time is at or after `local`, for a `local` inside a gap.
/// Found by bisection (on whole seconds) within a day either side.
fn end_of_gap(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    const WINDOW: i64 = 26 * 3600;
    let wall = |secs: i64| -> Option<NaiveDateTime> {
        DateTime::from_timestamp(secs, 0).map(|t| t.with_timezone(&tz).naive_local())
    };
    let base = local.and_utc().timestamp();
    let mut lo = base.checked_sub(WINDOW)?;
    let mut hi = base.checked_add(WINDOW)?;
    if wall(lo)? >= local || wall(hi)? < local {
        return None;
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if wall(mid)? >= local {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    DateTime::from_timestamp(hi, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Offset;
    use chrono_tz::Europe::Berlin;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    /// A local Berlin time that exists and is unambiguous.
    fn berlin(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Berlin
            .with_ymd_and_hms(y, m, d, h, mi, 0)
            .single()
            .expect("unambiguous local time")
            .with_timezone(&Utc)
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, mi, 0)
            .single()
            .expect("valid utc")
    }

    fn offset_hours(at: DateTime<Utc>) -> i32 {
        at.with_timezone(&Berlin).offset().fix().local_minus_utc() / 3600
    }

    fn iv(sh: u32, sm: u32, eh: u32, em: u32) -> Interval {
        Interval::hm(sh, sm, eh, em).expect("valid interval")
    }

    fn rp() -> Calendar {
        Calendar::new(Berlin, "RP", WeeklyHours::default())
    }

    type Local = (i32, u32, u32, u32, u32);

    /// (state, year, number of holidays, holidays it must have, dates that are no holiday)
    type StateCase<'a> = (
        &'a str,
        i32,
        usize,
        &'a [(NaiveDate, &'static str)],
        &'a [NaiveDate],
    );

    #[test]
    fn calendar_easter_sunday() {
        let cases = [
            (1818, date(1818, 3, 22)),
            (1943, date(1943, 4, 25)),
            (2000, date(2000, 4, 23)),
            (2019, date(2019, 4, 21)),
            (2024, date(2024, 3, 31)),
            (2025, date(2025, 4, 20)),
            (2026, date(2026, 4, 5)),
            (2027, date(2027, 3, 28)),
            (2028, date(2028, 4, 16)),
            (2038, date(2038, 4, 25)),
            (2285, date(2285, 3, 22)),
        ];
        for (year, expected) in cases {
            assert_eq!(easter_sunday(year), expected, "Easter {year}");
        }
        for year in 1583..2500 {
            let easter = easter_sunday(year);
            assert_eq!(easter.weekday(), Weekday::Sun, "Easter {year} is a Sunday");
            assert!(
                easter >= date(year, 3, 22) && easter <= date(year, 4, 25),
                "Easter {year} in range"
            );
        }
    }

    #[test]
    fn calendar_holidays_rp_2026_exact() {
        let expected = [
            (date(2026, 1, 1), "Neujahr"),
            (date(2026, 4, 3), "Karfreitag"),
            (date(2026, 4, 6), "Ostermontag"),
            (date(2026, 5, 1), "Tag der Arbeit"),
            (date(2026, 5, 14), "Christi Himmelfahrt"),
            (date(2026, 5, 25), "Pfingstmontag"),
            (date(2026, 6, 4), "Fronleichnam"),
            (date(2026, 10, 3), "Tag der Deutschen Einheit"),
            (date(2026, 11, 1), "Allerheiligen"),
            (date(2026, 12, 25), "1. Weihnachtstag"),
            (date(2026, 12, 26), "2. Weihnachtstag"),
        ];
        let actual: Vec<(NaiveDate, &str)> = public_holidays("RP", 2026)
            .into_iter()
            .map(|h| (h.date, h.name))
            .collect();
        assert_eq!(actual, expected);
        assert_eq!(public_holidays("rp", 2026), public_holidays("RP", 2026));
    }

    #[test]
    fn calendar_holidays_movable_feasts() {
        let cases = [
            ("Christi Himmelfahrt", date(2026, 5, 14), date(2027, 5, 6)),
            ("Pfingstmontag", date(2026, 5, 25), date(2027, 5, 17)),
            ("Fronleichnam", date(2026, 6, 4), date(2027, 5, 27)),
            ("Karfreitag", date(2026, 4, 3), date(2027, 3, 26)),
            ("Ostermontag", date(2026, 4, 6), date(2027, 3, 29)),
        ];
        for (name, in_2026, in_2027) in cases {
            for (year, expected) in [(2026, in_2026), (2027, in_2027)] {
                let found = public_holidays("RP", year)
                    .into_iter()
                    .find(|h| h.name == name)
                    .map(|h| h.date);
                assert_eq!(found, Some(expected), "{name} {year}");
            }
        }
        assert_eq!(public_holidays("RP", 2027).len(), 11);
    }

    #[test]
    fn calendar_holidays_other_states() {
        // (state, year, count, must contain, must not contain)
        let cases: [StateCase<'_>; 13] = [
            (
                "BY",
                2026,
                12,
                &[
                    (date(2026, 1, 6), "Heilige Drei Könige"),
                    (date(2026, 6, 4), "Fronleichnam"),
                    (date(2026, 11, 1), "Allerheiligen"),
                ],
                &[date(2026, 8, 15), date(2026, 10, 31)],
            ),
            (
                "SN",
                2026,
                11,
                &[
                    (date(2026, 10, 31), "Reformationstag"),
                    (date(2026, 11, 18), "Buß- und Bettag"),
                ],
                &[date(2026, 6, 4), date(2026, 11, 1)],
            ),
            (
                "SN",
                2027,
                11,
                &[(date(2027, 11, 17), "Buß- und Bettag")],
                &[],
            ),
            (
                "BE",
                2026,
                10,
                &[(date(2026, 3, 8), "Internationaler Frauentag")],
                &[date(2026, 10, 31), date(2026, 5, 8)],
            ),
            (
                "BE",
                2025,
                11,
                &[(date(2025, 5, 8), "Tag der Befreiung")],
                &[],
            ),
            ("BE", 2018, 9, &[], &[date(2018, 3, 8)]),
            (
                "MV",
                2023,
                11,
                &[(date(2023, 3, 8), "Internationaler Frauentag")],
                &[],
            ),
            (
                "MV",
                2022,
                10,
                &[(date(2022, 10, 31), "Reformationstag")],
                &[date(2022, 3, 8)],
            ),
            (
                "TH",
                2026,
                11,
                &[(date(2026, 9, 20), "Weltkindertag")],
                &[date(2026, 6, 4)],
            ),
            (
                "SL",
                2026,
                12,
                &[(date(2026, 8, 15), "Mariä Himmelfahrt")],
                &[],
            ),
            (
                "BB",
                2026,
                12,
                &[
                    (date(2026, 4, 5), "Ostersonntag"),
                    (date(2026, 5, 24), "Pfingstsonntag"),
                ],
                &[],
            ),
            // Reformationstag 2017 was a one-time holiday in every state.
            (
                "RP",
                2017,
                12,
                &[(date(2017, 10, 31), "Reformationstag")],
                &[],
            ),
            // An unknown state code: only the nine nationwide holidays.
            ("XX", 2026, 9, &[], &[date(2026, 6, 4), date(2026, 11, 1)]),
        ];
        for (state, year, count, present, absent) in cases {
            let holidays = public_holidays(state, year);
            assert_eq!(holidays.len(), count, "{state} {year}: {holidays:?}");
            for (d, name) in present {
                assert!(
                    holidays.contains(&Holiday { date: *d, name }),
                    "{state} {year} has {name} on {d}"
                );
            }
            for d in absent {
                assert!(
                    holidays.iter().all(|h| h.date != *d),
                    "{state} {year} has no holiday on {d}"
                );
            }
        }
        for (state, count) in [
            ("BW", 12),
            ("HB", 10),
            ("HH", 10),
            ("HE", 10),
            ("NI", 10),
            ("NW", 11),
            ("ST", 11),
            ("SH", 10),
        ] {
            assert_eq!(public_holidays(state, 2026).len(), count, "{state} 2026");
        }
    }

    #[test]
    fn calendar_holidays_sorted_and_bettag_on_wednesday() {
        for year in 1995..2100 {
            for state in STATES {
                let holidays = public_holidays(state, year);
                assert!(
                    holidays.windows(2).all(|w| w[0].date <= w[1].date),
                    "{state} {year} sorted"
                );
                assert!(holidays.iter().all(|h| h.date.year() == year));
            }
            let bettag = public_holidays("SN", year)
                .into_iter()
                .find(|h| h.name == "Buß- und Bettag")
                .expect("Buß- und Bettag in Saxony");
            assert_eq!(bettag.date.weekday(), Weekday::Wed, "{year}");
            assert!((16..=22).contains(&bettag.date.day()) && bettag.date.month() == 11);
        }
    }

    #[test]
    fn calendar_due_at_table() {
        // (arrival local, due local, offset at arrival, offset at due, what it checks)
        let cases: [(Local, Local, i32, i32, &str); 21] = [
            (
                (2026, 11, 16, 15, 0),
                (2026, 11, 17, 15, 0),
                1,
                1,
                "Mon 15:00 -> Tue 15:00",
            ),
            (
                (2026, 11, 20, 17, 0),
                (2026, 11, 23, 17, 0),
                1,
                1,
                "Fri 17:00 -> Mon 17:00",
            ),
            (
                (2026, 11, 21, 11, 0),
                (2026, 11, 23, 18, 0),
                1,
                1,
                "Sat 11:00 -> Mon 18:00",
            ),
            (
                (2026, 11, 16, 19, 30),
                (2026, 11, 17, 18, 0),
                1,
                1,
                "Mon 19:30 -> Tue 18:00",
            ),
            (
                (2026, 11, 16, 8, 0),
                (2026, 11, 16, 18, 0),
                1,
                1,
                "Mon 08:00 -> same day 18:00",
            ),
            (
                (2026, 11, 16, 18, 0),
                (2026, 11, 17, 18, 0),
                1,
                1,
                "Mon 18:00 -> Tue 18:00",
            ),
            (
                (2026, 11, 16, 7, 0),
                (2026, 11, 16, 18, 0),
                1,
                1,
                "Mon 07:00 -> Mon 18:00",
            ),
            (
                (2026, 4, 2, 12, 0),
                (2026, 4, 7, 12, 0),
                2,
                2,
                "Karfreitag and Ostermontag",
            ),
            (
                (2026, 4, 30, 17, 0),
                (2026, 5, 4, 17, 0),
                2,
                2,
                "Tag der Arbeit (Fri)",
            ),
            (
                (2026, 5, 13, 12, 0),
                (2026, 5, 15, 12, 0),
                2,
                2,
                "Christi Himmelfahrt",
            ),
            (
                (2026, 5, 22, 12, 0),
                (2026, 5, 26, 12, 0),
                2,
                2,
                "Pfingstmontag",
            ),
            (
                (2026, 6, 3, 12, 0),
                (2026, 6, 5, 12, 0),
                2,
                2,
                "Fronleichnam",
            ),
            // 24 Dec is a working day in RP; 25 and 26 Dec are holidays.
            (
                (2026, 12, 23, 15, 0),
                (2026, 12, 24, 15, 0),
                1,
                1,
                "23 Dec -> 24 Dec",
            ),
            (
                (2026, 12, 24, 15, 0),
                (2026, 12, 28, 15, 0),
                1,
                1,
                "24 Dec -> 28 Dec",
            ),
            (
                (2026, 12, 31, 15, 0),
                (2027, 1, 4, 15, 0),
                1,
                1,
                "Neujahr 2027 (Fri)",
            ),
            (
                (2026, 3, 27, 17, 0),
                (2026, 3, 30, 17, 0),
                1,
                2,
                "spring forward 2026-03-29",
            ),
            (
                (2026, 10, 23, 17, 0),
                (2026, 10, 26, 17, 0),
                2,
                1,
                "fall back 2026-10-25",
            ),
            (
                (2027, 3, 25, 17, 0),
                (2027, 3, 30, 17, 0),
                1,
                2,
                "spring forward 2027-03-28, Easter",
            ),
            (
                (2027, 10, 29, 17, 0),
                (2027, 11, 2, 17, 0),
                2,
                1,
                "fall back 2027-10-31, Allerheiligen Mon",
            ),
            (
                (2026, 10, 30, 17, 0),
                (2026, 11, 2, 17, 0),
                1,
                1,
                "Allerheiligen 2026 is a Sunday",
            ),
            (
                (2026, 10, 2, 17, 0),
                (2026, 10, 5, 17, 0),
                2,
                2,
                "Einheit 2026 is a Saturday",
            ),
        ];
        let cal = rp();
        for (from, due, from_offset, due_offset, what) in cases {
            let arrival = berlin(from.0, from.1, from.2, from.3, from.4);
            let expected = berlin(due.0, due.1, due.2, due.3, due.4);
            assert_eq!(cal.due_at(arrival, 10), Some(expected), "{what}");
            assert_eq!(
                offset_hours(arrival),
                from_offset,
                "{what}: offset at arrival"
            );
            assert_eq!(offset_hours(expected), due_offset, "{what}: offset at due");
            assert_eq!(
                cal.service_time_between(arrival, expected),
                Duration::hours(10),
                "{what}: service time between"
            );
        }
        // The DST deadlines as plain UTC.
        assert_eq!(
            cal.due_at(berlin(2026, 3, 27, 17, 0), 10),
            Some(utc(2026, 3, 30, 15, 0))
        );
        assert_eq!(
            cal.due_at(berlin(2026, 10, 23, 17, 0), 10),
            Some(utc(2026, 10, 26, 16, 0))
        );
    }

    #[test]
    fn calendar_allerheiligen_2027_monday_closed() {
        let cal = rp();
        assert!(cal.intervals_on(date(2027, 11, 1)).is_empty());
        assert!(!cal.is_open(berlin(2027, 11, 1, 10, 0)));
        assert_eq!(
            cal.holiday_on(date(2027, 11, 1)).map(|h| h.name),
            Some("Allerheiligen")
        );
        assert_eq!(
            cal.next_opening(berlin(2027, 10, 30, 10, 0)),
            Some(berlin(2027, 11, 2, 8, 0))
        );
        assert!(cal.is_working_day(date(2026, 12, 24)));
        assert!(!cal.is_working_day(date(2026, 12, 25)));
    }

    #[test]
    fn calendar_is_open_boundaries() {
        let cal = rp();
        let cases = [
            (berlin(2026, 11, 16, 7, 59), false),
            (berlin(2026, 11, 16, 8, 0), true),
            (berlin(2026, 11, 16, 12, 0), true),
            (berlin(2026, 11, 16, 17, 59), true),
            (berlin(2026, 11, 16, 18, 0), false),
            (berlin(2026, 11, 21, 10, 0), false),
            (berlin(2026, 4, 3, 10, 0), false),
        ];
        for (at, open) in cases {
            assert_eq!(cal.is_open(at), open, "{at}");
        }
        assert_eq!(
            cal.current_interval(berlin(2026, 11, 16, 12, 0)),
            Some((berlin(2026, 11, 16, 8, 0), berlin(2026, 11, 16, 18, 0)))
        );
        assert_eq!(cal.current_interval(berlin(2026, 11, 16, 18, 0)), None);
    }

    #[test]
    fn calendar_next_opening() {
        let cal = rp();
        let cases = [
            (
                berlin(2026, 11, 21, 10, 0),
                berlin(2026, 11, 23, 8, 0),
                "Saturday -> Monday",
            ),
            (
                berlin(2026, 11, 16, 8, 0),
                berlin(2026, 11, 16, 8, 0),
                "at opening",
            ),
            (
                berlin(2026, 11, 16, 12, 0),
                berlin(2026, 11, 16, 12, 0),
                "while open",
            ),
            (
                berlin(2026, 11, 16, 18, 0),
                berlin(2026, 11, 17, 8, 0),
                "at closing",
            ),
            (
                berlin(2026, 4, 2, 18, 30),
                berlin(2026, 4, 7, 8, 0),
                "over Easter",
            ),
            (
                berlin(2026, 12, 24, 18, 0),
                berlin(2026, 12, 28, 8, 0),
                "over Christmas",
            ),
        ];
        for (at, expected, what) in cases {
            assert_eq!(cal.next_opening(at), Some(expected), "{what}");
        }
    }

    #[test]
    fn calendar_never_open() {
        let cal = Calendar::new(Berlin, "RP", WeeklyHours::closed());
        let at = berlin(2026, 11, 16, 10, 0);
        assert_eq!(cal.next_opening(at), None);
        assert_eq!(cal.due_at(at, 10), None);
        assert!(!cal.is_open(at));
        assert_eq!(
            cal.service_time_between(at, berlin(2027, 11, 16, 10, 0)),
            Duration::zero()
        );
        // Open only on weekdays, but every weekday is a closing day for far more than the
        // search window: the search gives up instead of looping.
        let start = date(2026, 1, 1);
        let closed = Calendar::new(Berlin, "RP", WeeklyHours::default())
            .with_closing_days(start.iter_days().take(3000));
        assert_eq!(closed.next_opening(at), None);
        assert_eq!(closed.due_at(at, 10), None);
    }

    #[test]
    fn calendar_add_service_time_edges() {
        let cal = rp();
        let monday = berlin(2026, 11, 16, 8, 0);
        // Runs out exactly at the closing time: that closing time, not the next opening.
        assert_eq!(
            cal.add_service_time(berlin(2026, 11, 16, 17, 0), Duration::hours(1)),
            Some(berlin(2026, 11, 16, 18, 0))
        );
        assert_eq!(
            cal.add_service_time(monday, Duration::hours(20)),
            Some(berlin(2026, 11, 17, 18, 0))
        );
        // Zero: `from` if open, else the next opening.
        assert_eq!(cal.add_service_time(monday, Duration::zero()), Some(monday));
        assert_eq!(
            cal.add_service_time(berlin(2026, 11, 21, 10, 0), Duration::zero()),
            Some(monday + Duration::days(7))
        );
        assert_eq!(cal.add_service_time(monday, Duration::hours(-1)), None);
        // A week of service time: 5 days of 10 h.
        assert_eq!(
            cal.add_service_time(monday, Duration::hours(50)),
            Some(berlin(2026, 11, 20, 18, 0))
        );
    }

    #[test]
    fn calendar_service_time_between() {
        let cal = rp();
        let cases = [
            (
                berlin(2026, 11, 16, 15, 0),
                berlin(2026, 11, 17, 15, 0),
                600,
                "a day",
            ),
            (
                berlin(2026, 11, 17, 15, 0),
                berlin(2026, 11, 16, 15, 0),
                0,
                "b before a",
            ),
            (
                berlin(2026, 11, 16, 15, 0),
                berlin(2026, 11, 16, 15, 0),
                0,
                "empty",
            ),
            (
                berlin(2026, 11, 21, 0, 0),
                berlin(2026, 11, 23, 0, 0),
                0,
                "weekend",
            ),
            (
                berlin(2026, 11, 16, 17, 30),
                berlin(2026, 11, 16, 19, 0),
                30,
                "past closing",
            ),
            (
                berlin(2026, 4, 2, 0, 0),
                berlin(2026, 4, 8, 0, 0),
                1200,
                "Easter week",
            ),
            (
                berlin(2026, 11, 16, 0, 0),
                berlin(2026, 11, 23, 0, 0),
                3000,
                "a week",
            ),
        ];
        for (a, b, minutes, what) in cases {
            assert_eq!(
                cal.service_time_between(a, b),
                Duration::minutes(minutes),
                "{what}"
            );
        }
    }

    #[test]
    fn calendar_add_and_between_agree() {
        let cal = rp();
        let mut at = berlin(2026, 1, 1, 0, 0);
        let end = berlin(2028, 1, 1, 0, 0);
        while at < end {
            for hours in [1, 10, 37] {
                let due = cal
                    .add_service_time(at, Duration::hours(hours))
                    .expect("calendar opens");
                assert_eq!(
                    cal.service_time_between(at, due),
                    Duration::hours(hours),
                    "{at} + {hours} h"
                );
                assert!(cal.is_open(due - Duration::seconds(1)), "{at} + {hours} h");
            }
            at += Duration::minutes(7 * 60 + 13);
        }
    }

    #[test]
    fn calendar_closing_and_special_days() {
        let base = rp();
        // (calendar, arrival, due, what)
        let cases = [
            (
                base.clone().with_closing_days([date(2026, 11, 17)]),
                berlin(2026, 11, 16, 15, 0),
                berlin(2026, 11, 18, 15, 0),
                "closing day on Tuesday",
            ),
            (
                base.clone().with_special_days([SpecialDay {
                    date: date(2026, 11, 21),
                    intervals: vec![iv(9, 0, 13, 0)],
                    note: Some("Samstagsöffnung".to_owned()),
                }]),
                berlin(2026, 11, 20, 17, 0),
                berlin(2026, 11, 23, 13, 0),
                "extra Saturday hours",
            ),
            (
                base.clone().with_special_days([SpecialDay {
                    date: date(2026, 6, 4),
                    intervals: vec![iv(10, 0, 14, 0)],
                    note: None,
                }]),
                berlin(2026, 6, 3, 12, 0),
                berlin(2026, 6, 4, 14, 0),
                "open on a holiday",
            ),
            (
                base.clone().with_special_days([SpecialDay {
                    date: date(2026, 12, 24),
                    intervals: vec![iv(8, 0, 12, 0)],
                    note: Some("Heiligabend".to_owned()),
                }]),
                berlin(2026, 12, 23, 15, 0),
                berlin(2026, 12, 28, 11, 0),
                "short hours on 24 Dec",
            ),
            (
                base.clone().with_special_days([SpecialDay {
                    date: date(2026, 11, 17),
                    intervals: Vec::new(),
                    note: None,
                }]),
                berlin(2026, 11, 16, 15, 0),
                berlin(2026, 11, 18, 15, 0),
                "special day without hours closes",
            ),
            (
                base.clone()
                    .with_closing_days([date(2026, 11, 17)])
                    .with_special_days([SpecialDay {
                        date: date(2026, 11, 17),
                        intervals: vec![iv(8, 0, 18, 0)],
                        note: None,
                    }]),
                berlin(2026, 11, 16, 15, 0),
                berlin(2026, 11, 17, 15, 0),
                "special day beats closing day",
            ),
            (
                base.clone().with_observe_holidays(false),
                berlin(2026, 4, 2, 12, 0),
                berlin(2026, 4, 3, 12, 0),
                "holidays not observed",
            ),
        ];
        for (cal, arrival, due, what) in cases {
            assert_eq!(cal.due_at(arrival, 10), Some(due), "{what}");
        }
        let cal = base.with_special_days([SpecialDay {
            date: date(2026, 11, 21),
            intervals: vec![iv(9, 0, 13, 0)],
            note: None,
        }]);
        assert_eq!(cal.hours_on(date(2026, 11, 21)), vec![iv(9, 0, 13, 0)]);
        assert!(cal.is_open(berlin(2026, 11, 21, 9, 0)));
    }

    #[test]
    fn calendar_lunch_break() {
        let weekly = WeeklyHours::weekdays(vec![iv(8, 0, 12, 0), iv(13, 0, 17, 30)]);
        weekly.validate().expect("valid hours");
        let cal = Calendar::try_new(Berlin, "RP", weekly).expect("valid calendar");
        let mon = |h, m| berlin(2026, 11, 16, h, m);
        let tue = |h, m| berlin(2026, 11, 17, h, m);
        let cases = [
            (
                mon(11, 0),
                60,
                mon(12, 0),
                "ends at the break, not after it",
            ),
            (mon(11, 0), 120, mon(14, 0), "break counted out"),
            (mon(12, 30), 60, mon(14, 0), "arrival during the break"),
            (mon(15, 0), 600, tue(16, 30), "one service day"),
        ];
        for (from, minutes, expected, what) in cases {
            assert_eq!(
                cal.add_service_time(from, Duration::minutes(minutes)),
                Some(expected),
                "{what}"
            );
            assert_eq!(
                cal.service_time_between(from, expected),
                Duration::minutes(minutes),
                "{what}"
            );
        }
        assert!(!cal.is_open(mon(12, 0)));
        assert!(cal.is_open(mon(13, 0)));
        assert_eq!(cal.next_opening(mon(12, 15)), Some(mon(13, 0)));
        assert_eq!(cal.intervals_on(date(2026, 11, 16)).len(), 2);
    }

    #[test]
    fn calendar_intervals_on_dst_days() {
        let special = |d: NaiveDate, intervals: Vec<Interval>| SpecialDay {
            date: d,
            intervals,
            note: None,
        };
        let spring = date(2026, 3, 29);
        let autumn = date(2026, 10, 25);
        // (local intervals, date, expected UTC intervals)
        let cases = [
            (
                vec![iv(1, 0, 4, 0)],
                spring,
                vec![(utc(2026, 3, 29, 0, 0), utc(2026, 3, 29, 2, 0))],
            ),
            // 02:30 does not exist: the gap ends at 03:00 CEST = 01:00 UTC.
            (
                vec![iv(2, 30, 5, 0)],
                spring,
                vec![(utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 3, 0))],
            ),
            // Entirely inside the gap: nothing left.
            (vec![iv(2, 0, 2, 45)], spring, vec![]),
            (
                vec![iv(1, 0, 4, 0)],
                autumn,
                vec![(utc(2026, 10, 24, 23, 0), utc(2026, 10, 25, 3, 0))],
            ),
            // 02:30 happens twice: the earlier one (CEST) counts.
            (
                vec![iv(2, 30, 3, 30)],
                autumn,
                vec![(utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 2, 30))],
            ),
            (
                vec![iv(8, 0, 18, 0)],
                autumn,
                vec![(utc(2026, 10, 25, 7, 0), utc(2026, 10, 25, 17, 0))],
            ),
        ];
        for (intervals, d, expected) in cases {
            let cal = rp().with_special_days([special(d, intervals.clone())]);
            assert_eq!(cal.intervals_on(d), expected, "{d} {intervals:?}");
        }
        // The 2027 transition days (both Sundays) with long special hours: 22 h and 24 h.
        let cal = rp().with_special_days([
            special(date(2027, 3, 28), vec![iv(0, 0, 23, 0)]),
            special(date(2027, 10, 31), vec![iv(0, 0, 23, 0)]),
        ]);
        let span = |d: NaiveDate| {
            cal.intervals_on(d)
                .iter()
                .map(|(s, e)| *e - *s)
                .sum::<Duration>()
        };
        assert_eq!(span(date(2027, 3, 28)), Duration::hours(22));
        assert_eq!(span(date(2027, 10, 31)), Duration::hours(24));
    }

    #[test]
    fn calendar_schedule_validation() {
        let mut weekly = WeeklyHours::default();
        assert!(weekly.validate().is_ok());
        weekly.set(Weekday::Wed, vec![iv(8, 0, 12, 0), iv(11, 0, 13, 0)]);
        let err = weekly.validate().expect_err("overlap");
        assert!(matches!(&err, CalendarError::Invalid { field, reason }
            if field == "wed" && reason.contains("Wednesday") && reason.contains("overlap")));

        let mut weekly = WeeklyHours::default();
        weekly.set(Weekday::Fri, vec![iv(13, 0, 17, 0), iv(8, 0, 12, 0)]);
        let err = weekly.validate().expect_err("unsorted");
        assert!(matches!(&err, CalendarError::Invalid { field, reason }
            if field == "fri" && reason.contains("not sorted")));

        let mut weekly = WeeklyHours::default();
        let empty = Interval {
            start: NaiveTime::from_hms_opt(9, 0, 0).expect("time"),
            end: NaiveTime::from_hms_opt(9, 0, 0).expect("time"),
        };
        weekly.set(Weekday::Mon, vec![empty]);
        let err = weekly.validate().expect_err("empty");
        assert!(matches!(&err, CalendarError::Invalid { field, reason }
            if field == "mon" && reason.contains("Monday") && reason.contains("empty")));
        assert!(Calendar::try_new(Berlin, "RP", weekly.clone()).is_err());
        // `new` tolerates it: the empty interval is simply ignored.
        assert!(
            Calendar::new(Berlin, "RP", weekly)
                .hours_on(date(2026, 11, 16))
                .is_empty()
        );

        let touching = WeeklyHours::weekdays(vec![iv(8, 0, 12, 0), iv(12, 0, 16, 0)]);
        assert!(touching.validate().is_ok());
        assert!(Interval::hm(18, 0, 8, 0).is_err());
        assert!(Interval::hm(24, 0, 25, 0).is_err());
        let seconds = Interval {
            start: NaiveTime::from_hms_opt(8, 0, 30).expect("time"),
            end: NaiveTime::from_hms_opt(9, 0, 0).expect("time"),
        };
        assert!(seconds.validate().is_err());
        assert!(
            SpecialDay {
                date: date(2026, 12, 24),
                intervals: vec![iv(12, 0, 14, 0), iv(8, 0, 9, 0)],
                note: None
            }
            .validate()
            .is_err()
        );

        assert!(matches!(
            Calendar::from_tz_name("Mars/Olympus", "RP", WeeklyHours::default()),
            Err(CalendarError::UnknownTimeZone(_))
        ));
        let cal = Calendar::from_tz_name("Europe/Berlin", "rp", WeeklyHours::default())
            .expect("valid calendar");
        assert_eq!(cal.holidays_state(), "RP");
        assert_eq!(cal, Calendar::service_115("RP"));
        let err: crate::Error = CalendarError::invalid("mon", "bad").into();
        assert!(matches!(err, crate::Error::Invalid { .. }));
    }

    #[test]
    fn calendar_serde() {
        let interval = iv(8, 0, 12, 30);
        assert_eq!(
            serde_json::to_value(interval).expect("serialize"),
            serde_json::json!({"start": "08:00", "end": "12:30"})
        );
        let parsed: Interval =
            serde_json::from_str(r#"{"start":"13:00","end":"17:30"}"#).expect("parse");
        assert_eq!(parsed, iv(13, 0, 17, 30));
        for bad in [
            r#"{"start":"8:00","end":"12:00"}"#,
            r#"{"start":"24:00","end":"12:00"}"#,
            r#"{"start":"08:00:00","end":"12:00"}"#,
            r#"{"start":"08:00","end":"12:00","x":1}"#,
            r#"{"start":"08:00"}"#,
        ] {
            assert!(serde_json::from_str::<Interval>(bad).is_err(), "{bad}");
        }

        let weekly = WeeklyHours::default();
        let json = serde_json::to_value(&weekly).expect("serialize");
        assert_eq!(
            json["mon"],
            serde_json::json!([{"start": "08:00", "end": "18:00"}])
        );
        assert_eq!(json["sat"], serde_json::json!([]));
        let back: WeeklyHours = serde_json::from_value(json).expect("parse");
        assert_eq!(back, weekly);
        let partial: WeeklyHours =
            serde_json::from_str(r#"{"mon":[{"start":"08:00","end":"12:00"}]}"#).expect("parse");
        assert_eq!(partial.mon, vec![iv(8, 0, 12, 0)]);
        assert!(partial.tue.is_empty());
        assert!(serde_json::from_str::<WeeklyHours>(r#"{"monday":[]}"#).is_err());

        let special: SpecialDay = serde_json::from_str(r#"{"date":"2026-12-24"}"#).expect("parse");
        assert!(special.intervals.is_empty() && special.note.is_none());
        let special: SpecialDay = serde_json::from_str(
            r#"{"date":"2026-02-16","intervals":[{"start":"08:00","end":"12:00"}],"note":"Rosenmontag"}"#,
        )
        .expect("parse");
        assert_eq!(special.intervals, vec![iv(8, 0, 12, 0)]);
        assert!(
            serde_json::from_str::<SpecialDay>(r#"{"date":"2026-12-24","open":true}"#).is_err()
        );
    }

    #[test]
    fn calendar_extreme_instants_and_dates_never_panic() {
        let cal = rp();
        let now = utc(2026, 11, 16, 9, 0);
        let edges = [
            DateTime::<Utc>::MIN_UTC,
            DateTime::<Utc>::MAX_UTC,
            NaiveDate::from_ymd_opt(262_142, 12, 31)
                .and_then(|d| d.and_hms_opt(23, 59, 59))
                .expect("date")
                .and_utc(),
            NaiveDate::from_ymd_opt(-262_143, 1, 1)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .expect("date")
                .and_utc(),
            utc(9999, 12, 31, 23, 59),
            utc(1, 1, 1, 0, 0),
        ];
        for at in edges {
            let _ = cal.due_at(at, 10);
            let _ = cal.next_opening(at);
            let _ = cal.is_open(at);
            let _ = cal.open_intervals(at).take(3).count();
            let _ = cal.service_time_between(now, at);
            let _ = cal.service_time_between(at, now);
            let _ = cal.add_service_time(at, Duration::hours(10));
            let date = at.date_naive();
            let _ = cal.intervals_on(date);
            let _ = cal.hours_on(date);
            let _ = cal.is_working_day(date);
            let _ = cal.holiday_on(date);
        }
        for date in [NaiveDate::MIN, NaiveDate::MAX] {
            assert!(cal.intervals_on(date).is_empty());
            let _ = cal.hours_on(date);
            let _ = cal.holiday_on(date);
        }
        // The end of year 9999 still computes: the caller decides whether it can be written.
        let late = cal.due_at(utc(9999, 12, 31, 12, 0), 10).expect("due");
        assert_eq!(late.year(), 10_000);
        assert_eq!(cal.due_at(DateTime::<Utc>::MAX_UTC, 10), None);
    }
}
