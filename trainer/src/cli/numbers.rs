//! clap value parsers for the numeric flags. A learning rate of `nan` or a dropout of 1.5 fails when the
//! command is read, and clap's message names the flag; checked later, it would fail (or train on NaN)
//! after hours of training.

fn parse_finite(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    if value.is_finite() {
        Ok(value)
    } else {
        Err(format!("{value} is not a finite number"))
    }
}

/// Any finite number (a bias).
pub fn finite_f32(text: &str) -> Result<f32, String> {
    let value = parse_finite(text)? as f32;
    // An f64 beyond f32's range becomes infinite here.
    value
        .is_finite()
        .then_some(value)
        .ok_or_else(|| format!("{text} is beyond an f32's range"))
}

/// The finite number in `text` when `holds` is true of it; else an error stating the `rule`.
fn checked(text: &str, holds: fn(f64) -> bool, rule: &str) -> Result<f64, String> {
    let value = parse_finite(text)?;
    if holds(value) {
        Ok(value)
    } else {
        Err(format!("{value} {rule}"))
    }
}

/// A finite number above zero (a learning rate).
pub fn positive(text: &str) -> Result<f64, String> {
    checked(text, |v| v > 0.0, "must be above 0")
}

/// A finite number of at least zero (weight decay, clipping norm, where 0 turns it off).
pub fn non_negative(text: &str) -> Result<f64, String> {
    checked(text, |v| v >= 0.0, "must not be negative")
}

/// A share from 0 to 1, both included (the warmup's share of the steps).
pub fn share(text: &str) -> Result<f64, String> {
    checked(
        text,
        |v| (0.0..=1.0).contains(&v),
        "must lie between 0 and 1",
    )
}

/// A probability from 0 up to but not including 1 (dropout, label smoothing: at 1 nothing is left to learn).
pub fn below_one(text: &str) -> Result<f64, String> {
    checked(
        text,
        |v| (0.0..1.0).contains(&v),
        "must be at least 0 and below 1",
    )
}

/// A probability strictly between 0 and 1 (the share of sub-tokens to mask: at 0 nothing is learned).
pub fn strictly_between_zero_and_one(text: &str) -> Result<f64, String> {
    checked(
        text,
        |v| v > 0.0 && v < 1.0,
        "must lie strictly between 0 and 1",
    )
}

/// [`below_one`] as the f32 that the model's dropout takes.
pub fn below_one_f32(text: &str) -> Result<f32, String> {
    below_one(text).map(|value| value as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_parser_takes_its_range_and_names_what_is_wrong() {
        assert_eq!(finite_f32("-1.5"), Ok(-1.5));
        assert_eq!(finite_f32("nan").unwrap_err(), "NaN is not a finite number");
        assert_eq!(
            finite_f32("1e39").unwrap_err(),
            "1e39 is beyond an f32's range"
        );
        assert_eq!(finite_f32("two").unwrap_err(), "`two` is not a number");
        assert_eq!(positive("2e-4"), Ok(2e-4));
        assert!(positive("0").unwrap_err().contains("above 0"));
        assert!(positive("inf").unwrap_err().contains("not a finite number"));
        assert_eq!(non_negative("0"), Ok(0.0));
        assert!(non_negative("-0.01").unwrap_err().contains("negative"));
        assert_eq!(share("1"), Ok(1.0));
        assert!(share("1.1").unwrap_err().contains("between 0 and 1"));
        assert_eq!(below_one("0"), Ok(0.0));
        assert_eq!(below_one_f32("0.1"), Ok(0.1));
        assert!(below_one("1").unwrap_err().contains("below 1"));
        assert!(below_one("-0.1").is_err());
        assert_eq!(strictly_between_zero_and_one("0.15"), Ok(0.15));
        assert!(strictly_between_zero_and_one("0")
            .unwrap_err()
            .contains("strictly between 0 and 1"));
        assert!(strictly_between_zero_and_one("1").is_err());
    }
}
