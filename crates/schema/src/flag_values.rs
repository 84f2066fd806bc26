//! Parsers of single flag values (`--eps 8/255`, `--steps 10`), shared by the command line and
//! the override groups that derive their flags here (the `clap` feature): each returns the
//! message clap shows after "invalid value".

use crate::settings::{Normalize, ThreatSpec};
use crate::threat::{Norm, parse_fraction};

/// A whole number of at least 1.
///
/// # Errors
/// Zero or not a whole number.
pub fn at_least_one(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("'{text}' is not a whole number")),
    }
}

/// A subset size: a whole number of at least 1, or `all`.
///
/// # Errors
/// Neither `all` nor a whole number of at least 1.
pub fn subset_size(text: &str) -> Result<crate::overrides::SubsetSize, String> {
    text.parse()
}

/// A finite number above 0.
///
/// # Errors
/// Not a number, not finite, or at most 0.
pub fn positive_number(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
        Ok(_) => Err(format!("'{text}' must be a finite number above 0")),
        Err(_) => Err(format!("'{text}' is not a number")),
    }
}

/// A finite number at or above 0.
///
/// # Errors
/// Not a number, not finite, or below 0.
pub fn non_negative_number(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
        Ok(_) => Err(format!("'{text}' must be a finite number at or above 0")),
        Err(_) => Err(format!("'{text}' is not a number")),
    }
}

/// A radius such as `0.1` or `8/255` ([`parse_fraction`]).
///
/// # Errors
/// As [`parse_fraction`].
pub fn parse_eps(text: &str) -> Result<f64, String> {
    parse_fraction(text)
}

/// An attack `NORM:EPS[:STEPS]` (`linf:8/255:10`), the norm in any case.
///
/// # Errors
/// A missing or unknown norm, a bad radius or step count, more parts.
pub fn parse_threat(text: &str) -> Result<ThreatSpec, String> {
    let mut parts = text.split(':');
    let norm = match parts.next() {
        Some(n) => match n.trim().to_ascii_lowercase().as_str() {
            "linf" => Norm::Linf,
            "l2" => Norm::L2,
            _ => return Err(format!("'{n}': norm must be linf or l2")),
        },
        None => return Err("expected `NORM:EPS[:STEPS]`".into()),
    };
    let eps = parse_fraction(parts.next().ok_or("expected `NORM:EPS[:STEPS]`")?)?;
    let steps = parts
        .next()
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| format!("'{s}': steps must be an integer"))
        })
        .transpose()?;
    if parts.next().is_some() {
        return Err(format!("'{text}': expected `NORM:EPS[:STEPS]`"));
    }
    Ok(ThreatSpec {
        norm,
        eps,
        steps,
        step_size: None,
        random_start: None,
        restarts: None,
    })
}

/// `--normalize`: a named set of constants or `MEAN,…/STD,…`.
///
/// # Errors
/// Anything else, naming the rule.
pub fn parse_normalize(text: &str) -> Result<Normalize, String> {
    if text == "cifar10" {
        // robust_overfitting's `cifar10_mean`/`cifar10_std` (utils.py).
        return Ok(Normalize {
            mean: vec![0.4914, 0.4822, 0.4465],
            std: vec![0.2471, 0.2435, 0.2616],
        });
    }
    let (mean, std) = text.split_once('/').ok_or_else(|| {
        format!("'{text}': expected `cifar10` or MEAN,MEAN,.../STD,STD,... (one per channel)")
    })?;
    let list = |part: &str, what: &str| {
        part.split(',')
            .map(|v| {
                v.trim()
                    .parse::<f64>()
                    .map_err(|_| format!("'{text}': {what} value '{v}' is not a number"))
            })
            .collect::<Result<Vec<f64>, String>>()
    };
    Ok(Normalize {
        mean: list(mean, "mean")?,
        std: list(std, "std")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_refused_with_the_rule_they_break() {
        assert_eq!(at_least_one("3"), Ok(3));
        assert_eq!(at_least_one("0").unwrap_err(), "must be at least 1");
        assert!(
            at_least_one("x")
                .unwrap_err()
                .contains("not a whole number")
        );
        assert_eq!(positive_number("0.5"), Ok(0.5));
        assert!(positive_number("0").unwrap_err().contains("above 0"));
        assert!(positive_number("inf").unwrap_err().contains("finite"));
        assert_eq!(non_negative_number("0"), Ok(0.0));
        assert!(
            non_negative_number("-1")
                .unwrap_err()
                .contains("at or above 0")
        );
        assert!((parse_eps("8/255").unwrap() - 8.0 / 255.0).abs() < 1e-15);
        let t = parse_threat("LINF:0.1:7").unwrap();
        assert_eq!((t.norm, t.eps, t.steps), (Norm::Linf, 0.1, Some(7)));
        assert_eq!(parse_threat("l2:0.5").unwrap().steps, None);
        assert!(
            parse_threat("l1:0.5")
                .unwrap_err()
                .contains("norm must be linf or l2")
        );
        assert!(parse_threat("l2:0.5:3:4").unwrap_err().contains("expected"));
    }
}
