//! The unified model of abe-hub: the rows every connector is mapped into, their
//! validation, and the Thai helpers (area codes, Buddhist-era years, Thai digits,
//! number formats, dates and reporting periods) that the mapping language and the store
//! share. No I/O lives here.

pub mod model;
pub mod period;
pub mod position;
pub mod thai;

pub use model::*;
pub use position::{Reject, SourcePosition};

/// The URL without its password, fit for logs and errors.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            redact_url("postgres://abe:s3cret@db:5432/abe"),
            "postgres://abe:***@db:5432/abe"
        );
        assert_eq!(redact_url("postgres://abe@db/abe"), "postgres://abe@db/abe");
        assert_eq!(redact_url("sqlite://abe-hub.db"), "sqlite://abe-hub.db");
    }
}
