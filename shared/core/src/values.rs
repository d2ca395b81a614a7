//! Parsers for the value types of requests: each returns the normalised value or says,
//! in a phrase that follows the attribute name, what is wrong.

use std::str::FromStr;

/// The 50 states and the District of Columbia.
pub const US_STATES: [&str; 51] = [
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS",
    "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC",
    "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY",
];

/// An email address, trimmed; `key()` is its case-insensitive identity.
pub fn email(raw: &str) -> Result<String, String> {
    const WHY: &str = "must be a valid email address such as name@example.com.";
    let raw = raw.trim();
    if raw.len() > 254 {
        return Err("must be at most 254 characters.".into());
    }
    let parsed = email_address::EmailAddress::from_str(raw).map_err(|_| WHY.to_owned())?;
    let domain = parsed.domain();
    // A login email needs a real domain: no IP literals, no single-label hosts.
    let labels_ok = domain
        .split('.')
        .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    if !domain.contains('.') || !labels_ok || parsed.display_part() != "" {
        return Err(WHY.into());
    }
    Ok(raw.to_owned())
}

/// The identity of an email address: emails are unique without regard to case.
pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A US phone number as its 10 digits; accepts common punctuation and a leading +1 or 1.
pub fn phone(raw: &str) -> Result<String, String> {
    const WHY: &str = "must be a 10-digit US phone number such as 2345558899.";
    let mut digits: String = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' | '+' => {}
            _ => return Err(WHY.into()),
        }
    }
    if digits.len() == 11 && digits.starts_with('1') {
        digits.remove(0);
    }
    // North American numbers never start their area code with 0 or 1.
    if digits.len() != 10 || digits.starts_with(['0', '1']) {
        return Err(WHY.into());
    }
    Ok(digits)
}

/// An EIN as its 9 digits; accepts `123456789` or `12-3456789`.
pub fn ein(raw: &str) -> Result<String, String> {
    const WHY: &str = "must be a 9-digit employer identification number such as 12-3456789.";
    let digits = if raw.is_ascii() && raw.len() == 10 && raw.as_bytes()[2] == b'-' {
        format!("{}{}", &raw[..2], &raw[3..])
    } else {
        raw.to_owned()
    };
    if digits.len() != 9 || !digits.bytes().all(|b| b.is_ascii_digit()) || digits == "000000000" {
        return Err(WHY.into());
    }
    Ok(digits)
}

/// A US ZIP code: 5 digits or ZIP+4.
pub fn zip(raw: &str) -> Result<String, String> {
    let b = raw.as_bytes();
    let five = |s: &[u8]| s.len() == 5 && s.iter().all(u8::is_ascii_digit);
    let ok = match b.len() {
        5 => five(b),
        10 => five(&b[..5]) && b[5] == b'-' && b[6..].iter().all(u8::is_ascii_digit),
        _ => false,
    };
    if ok {
        Ok(raw.to_owned())
    } else {
        Err("must be a US ZIP code such as 80202 or 80202-1234.".into())
    }
}

/// A two-letter US state code (or DC), normalised to upper case.
pub fn state(raw: &str) -> Result<String, String> {
    let code = raw.to_ascii_uppercase();
    if US_STATES.contains(&code.as_str()) {
        Ok(code)
    } else {
        Err("must be a two-letter US state code such as CO.".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(email(" Frank@Example.com ").unwrap(), "Frank@Example.com");
        assert_eq!(email_key(" Frank@Example.COM"), "frank@example.com");
        for bad in [
            "frank",
            "frank@",
            "@example.com",
            "frank@localhost",
            "frank@[10.0.0.1]",
            "Frank <f@example.com>",
            "a b@example.com",
        ] {
            assert!(email(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn phones() {
        assert_eq!(phone("2345558899").unwrap(), "2345558899");
        assert_eq!(phone("+1 (234) 555-8899").unwrap(), "2345558899");
        for bad in ["555-8899", "0345558899", "23455588990", "234555889x"] {
            assert!(phone(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn eins() {
        assert_eq!(ein("123456789").unwrap(), "123456789");
        assert_eq!(ein("12-3456789").unwrap(), "123456789");
        for bad in ["12345678", "1234567890", "12345678a", "123-456789", "000000000"] {
            assert!(ein(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn zips_and_states() {
        assert!(zip("80202").is_ok());
        assert!(zip("80202-1234").is_ok());
        for bad in ["8020", "802021", "80202-12", "abcde", "80202 1234"] {
            assert!(zip(bad).is_err(), "{bad} should be refused");
        }
        assert_eq!(state("co").unwrap(), "CO");
        assert_eq!(state("DC").unwrap(), "DC");
        assert!(state("XX").is_err());
        assert!(state("Colorado").is_err());
    }
}
