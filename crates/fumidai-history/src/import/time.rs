//! Calendar arithmetic for log and CSV timestamps (no time-zone database: offsets are explicit).

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date (year, month, day) of a day count since 1970-01-01: the inverse of
/// [`days_from_civil`].
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `2026-11-28 02:47:31Z`: Unix seconds as UTC, for people.
pub fn format_utc(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let t = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}Z",
        t / 3600,
        t % 3600 / 60,
        t % 60
    )
}

/// Unix seconds of a civil date and time, or `None` when a field is out of range.
pub fn unix_time(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Option<i64> {
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    if !(1..=9999).contains(&y) {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86_400 + i64::from(h * 3600 + mi * 60 + s))
}

fn num(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 9 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    b.iter().try_fold(0u32, |a, &c| {
        a.checked_mul(10)?.checked_add(u32::from(c - b'0'))
    })
}

/// Parses RFC 3339 (`2026-11-27T20:47:31.123456+09:00`, `...Z`, a space instead of `T` accepted) to Unix
/// seconds; fractions are dropped.
pub fn parse_rfc3339(s: &[u8]) -> Option<i64> {
    let g = |a: usize, b: usize| s.get(a..b).and_then(num);
    let y = g(0, 4)?;
    if s.get(4) != Some(&b'-') || s.get(7) != Some(&b'-') || s.get(13) != Some(&b':') {
        return None;
    }
    if !matches!(s.get(10), Some(b'T' | b't' | b' ')) || s.get(16) != Some(&b':') {
        return None;
    }
    let t = unix_time(
        i64::from(y),
        g(5, 7)?,
        g(8, 10)?,
        g(11, 13)?,
        g(14, 16)?,
        g(17, 19)?,
    )?;
    let mut i = 19;
    if s.get(i) == Some(&b'.') {
        i += 1;
        while s.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    let offset = match s.get(i) {
        Some(b'Z' | b'z') => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let oh = g(i + 1, i + 3)?;
            let om = if s.get(i + 3) == Some(&b':') {
                g(i + 4, i + 6)?
            } else {
                g(i + 3, i + 5)?
            };
            let o = i64::from(oh * 3600 + om * 60);
            if sign == b'+' {
                o
            } else {
                -o
            }
        }
        _ => return None,
    };
    Some(t - offset)
}

/// Month number (1-12) of an English three-letter month abbreviation.
pub fn month_of(b: &[u8]) -> Option<u32> {
    const M: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let b = b.get(..3)?;
    M.iter()
        .position(|m| m.as_slice() == b)
        .and_then(|p| u32::try_from(p + 1).ok())
}

/// Month, day, hour, minute, second of a syslog stamp.
pub type SyslogStamp = (u32, u32, u32, u32, u32);

/// A classic syslog stamp `Nov 27 20:47:31` (day may be space-padded): (month, day, h, m, s) and the
/// length consumed.
pub fn parse_syslog_stamp(s: &[u8]) -> Option<(SyslogStamp, usize)> {
    let mo = month_of(s)?;
    if s.get(3) != Some(&b' ') {
        return None;
    }
    let mut i = 4;
    if s.get(i) == Some(&b' ') {
        i += 1;
    }
    let ds = i;
    while s.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    let d = s.get(ds..i).and_then(num)?;
    if s.get(i) != Some(&b' ') {
        return None;
    }
    let t = s.get(i + 1..i + 9)?;
    if t.get(2) != Some(&b':') || t.get(5) != Some(&b':') {
        return None;
    }
    let h = t.get(0..2).and_then(num)?;
    let mi = t.get(3..5).and_then(num)?;
    let se = t.get(6..8).and_then(num)?;
    Some(((mo, d, h, mi, se), i + 9))
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_from_days_inverts_days_from_civil() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = super::civil_from_days(days);
            assert_eq!(super::days_from_civil(y, m, d), days);
        }
        assert_eq!(super::format_utc(1_795_834_051), "2026-11-28 02:47:31Z");
    }

    use super::*;

    #[test]
    fn rfc3339_and_civil() {
        assert_eq!(unix_time(1970, 1, 1, 0, 0, 0), Some(0));
        assert_eq!(parse_rfc3339(b"2000-03-01T00:00:00Z"), Some(951_868_800));
        assert_eq!(
            parse_rfc3339(b"2026-11-27T20:47:31.123456+09:00"),
            parse_rfc3339(b"2026-11-27T11:47:31Z")
        );
        assert_eq!(parse_rfc3339(b"2026-13-27T20:47:31Z"), None);
        assert_eq!(parse_rfc3339(b"2026-11-27T20:47"), None);
        assert_eq!(
            parse_syslog_stamp(b"Nov  7 20:47:31 host").map(|x| x.0),
            Some((11, 7, 20, 47, 31))
        );
        assert_eq!(parse_syslog_stamp(b"Foo  7 20:47:31 host"), None);
    }
}
