//! The date that chat templates print (`strftime_now`, `date_string`): a calendar date that is
//! valid by construction, so formatting it cannot fail.

use crate::error::{Error, Result};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A day of the proleptic Gregorian calendar. The fields are private: a `Date` comes from
/// [`Date::new`] (checked), [`Date::today`] or [`Date::from_unix_days`], so its month is always
/// 1–12 and its day exists in that month.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Date {
    year: i64,
    month: u32,
    day: u32,
}

impl Date {
    /// The date `year`-`month`-`day`; [`Error::InvalidArgument`] unless the month is 1–12 and the
    /// day exists in it (February 29 only in leap years).
    pub fn new(year: i64, month: u32, day: u32) -> Result<Self> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return Err(Error::InvalidArgument(format!("{year}-{month:02}-{day:02} is not a date")));
        }
        Ok(Date { year, month, day })
    }

    /// Today (UTC).
    pub fn today() -> Self {
        let secs = web_time::SystemTime::now()
            .duration_since(web_time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Self::from_unix_days((secs / 86_400) as i64)
    }

    /// The date `days` days after 1970-01-01 (before it when negative).
    pub fn from_unix_days(days: i64) -> Self {
        // Howard Hinnant's civil_from_days, in 400-year eras of 146,097 days; the month and day
        // it computes are always in range. Clamped so that the shifts below cannot overflow.
        let z = days.clamp(-(1 << 50), 1 << 50) + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        Date { year: yoe + era * 400 + i64::from(month <= 2), month, day }
    }

    /// (year, month 1–12, day 1–31).
    pub fn ymd(&self) -> (i64, u32, u32) {
        (self.year, self.month, self.day)
    }

    /// The date in a strftime `format`. Only the fields templates use for a date are replaced
    /// (`%d %m %Y %B %b`); everything else is printed as it is.
    pub fn strftime(&self, format: &str) -> String {
        let month = MONTHS[(self.month - 1) as usize];
        format
            .replace("%d", &format!("{:02}", self.day))
            .replace("%m", &format!("{:02}", self.month))
            .replace("%Y", &self.year.to_string())
            .replace("%B", month)
            .replace("%b", &month[..3])
    }
}

fn days_in_month(year: i64, month: u32) -> u32 {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_since_the_epoch() {
        assert_eq!(Date::from_unix_days(0).ymd(), (1970, 1, 1));
        assert_eq!(Date::from_unix_days(20_415).ymd(), (2025, 11, 23));
        assert_eq!(Date::from_unix_days(-1).ymd(), (1969, 12, 31));
        // 2000 is a leap year (divisible by 400): day 11,016 is Feb 29.
        assert_eq!(Date::from_unix_days(11_016).ymd(), (2000, 2, 29));
        // Consecutive days agree with Date::new's calendar over four centuries, and the extremes
        // give a date too.
        let mut prev = Date::from_unix_days(-80_000);
        for d in -79_999..80_000 {
            let next = Date::from_unix_days(d);
            let (y, m, day) = prev.ymd();
            let expected = Date::new(y, m, day + 1)
                .or_else(|_| Date::new(y, m + 1, 1))
                .or_else(|_| Date::new(y + 1, 1, 1))
                .unwrap();
            assert_eq!(next, expected, "day {d}");
            prev = next;
        }
        for d in [i64::MIN, i64::MAX] {
            let (_, m, day) = Date::from_unix_days(d).ymd();
            assert!((1..=12).contains(&m) && (1..=31).contains(&day));
        }
    }

    /// The old `(year, month, day)` field let a caller set month 0 or 13, and formatting it
    /// panicked; now such a date cannot be made, and every date that can be made formats.
    #[test]
    fn only_real_dates_exist_and_all_of_them_format() {
        let mut made = 0;
        for year in [-1, 0, 1900, 2000, 2023, 2024, i64::MAX] {
            for month in 0..=13 {
                for day in 0..=32 {
                    match Date::new(year, month, day) {
                        Ok(d) => {
                            made += 1;
                            let s = d.strftime("%Y-%m-%d %B %b");
                            assert!(s.starts_with(&format!("{year}-{month:02}-{day:02} ")), "{s}");
                        }
                        Err(e) => assert_eq!(e.code(), "invalid_argument"),
                    }
                }
            }
        }
        // Leap years: 0, 2000 and 2024; not -1, 1900, 2023 or i64::MAX (2^63 - 1 is odd).
        assert_eq!(made, 4 * 365 + 3 * 366);
        assert!(Date::new(2024, 2, 29).is_ok() && Date::new(2023, 2, 29).is_err());
        assert!(Date::new(1900, 2, 29).is_err() && Date::new(2000, 2, 29).is_ok());
        let d = Date::new(2025, 3, 14).unwrap();
        assert_eq!(d.strftime("%d %b %Y"), "14 Mar 2025");
        assert_eq!(d.strftime("%B %d, %Y (%m) %H"), "March 14, 2025 (03) %H");
    }
}
