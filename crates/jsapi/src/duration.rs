//! Go's `time.Duration.String`, which nats-server uses wherever a duration
//! appears in an error text or a pull status (`Exceeded MaxRequestExpires
//! of 1m0s`, `… inactive threshold exceeds system limit of 5s`).

/// Formats nanoseconds as Go's `time.Duration.String` does: `0s`, `1.5µs`,
/// `100ms`, `1.5s`, `1m0s`, `2h0m0s`, `-3s`.
pub fn go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".to_string();
    }
    let neg = ns < 0;
    let u = ns.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        // Below a second Go picks the largest unit that keeps an integer part.
        let (prec, unit) = match u {
            0..=999 => (0, "ns"),
            1_000..=999_999 => (3, "µs"),
            _ => (6, "ms"),
        };
        out.push_str(&with_fraction(u, prec));
        out.push_str(unit);
    } else {
        let secs = u / 1_000_000_000;
        let frac = u % 1_000_000_000;
        let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
        if h > 0 {
            out.push_str(&format!("{h}h{m}m"));
        } else if m > 0 {
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&with_fraction(s * 1_000_000_000 + frac, 9));
        out.push('s');
    }
    if neg {
        out.insert(0, '-');
    }
    out
}

/// `v / 10^prec` with the fraction's trailing zeros (and a bare point) dropped.
fn with_fraction(v: u64, prec: u32) -> String {
    let scale = 10u64.pow(prec);
    let (int, frac) = (v / scale, v % scale);
    if frac == 0 {
        return int.to_string();
    }
    let digits = format!("{frac:0width$}", width = prec as usize);
    format!("{int}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::go_duration;

    #[test]
    fn matches_go_duration_string() {
        let cases = [
            (0, "0s"),
            (1, "1ns"),
            (999, "999ns"),
            (1_500, "1.5µs"),
            (1_000_000, "1ms"),
            (100_000_000, "100ms"),
            (1_500_000_000, "1.5s"),
            (5_000_000_000, "5s"),
            (60_000_000_000, "1m0s"),
            (90_500_000_000, "1m30.5s"),
            (7_200_000_000_000, "2h0m0s"),
            (-3_000_000_000, "-3s"),
            (i64::MIN, "-2562047h47m16.854775808s"),
        ];
        for (ns, want) in cases {
            assert_eq!(go_duration(ns), want, "{ns}");
        }
    }
}
