//! The one closed list of error codes a client of the hub sees: in GraphQL errors'
//! `extensions.code`, in a run's `errorCode`, in HTTP error bodies. Every error type of
//! the hub implements [`ErrorCode`], so each maps to this list once, where it is defined
//! (as meilisearch keeps one list of codes). A code says whether the error's own text
//! may be shown to anyone; when it may not, callers get the code's fixed public message
//! and the text goes to the log.

/// Declares the codes with their HTTP status, public message and whether the error's
/// own text is fit for every caller.
macro_rules! codes {
    ($($(#[$meta:meta])* $variant:ident = $word:literal, $status:literal, $detail_public:literal, $message:literal;)+) => {
        /// A machine-readable error code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code { $($(#[$meta])* $variant),+ }

        impl Code {
            /// Every code, in the order the README lists them.
            pub const ALL: &'static [Code] = &[$(Code::$variant),+];

            /// The code as clients see it, e.g. `NOT_FOUND`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $word),+ }
            }

            /// The HTTP status that goes with it where HTTP carries it.
            pub fn http_status(self) -> u16 {
                match self { $(Code::$variant => $status),+ }
            }

            /// Whether the error's own text may be shown to any caller. When not, only
            /// [`Code::public_message`] is, and the text goes to the log.
            pub fn detail_is_public(self) -> bool {
                match self { $(Code::$variant => $detail_public),+ }
            }

            /// The fixed message that stands for errors of this code.
            pub fn public_message(self) -> &'static str {
                match self { $(Code::$variant => $message),+ }
            }
        }

        impl std::str::FromStr for Code {
            type Err = crate::UnknownWord;
            fn from_str(word: &str) -> Result<Self, crate::UnknownWord> {
                match word {
                    $($word => Ok(Code::$variant),)+
                    other => Err(crate::UnknownWord { vocabulary: "Code", word: other.to_string() }),
                }
            }
        }
    };
}

codes! {
    /// The named thing does not exist.
    NotFound = "NOT_FOUND", 404, true, "not found";
    /// An argument or a definition is invalid; the message names the field.
    BadInput = "BAD_INPUT", 400, true, "the input is invalid";
    /// The HTTP request is not a GraphQL request (no query, a body that is not JSON).
    BadRequest = "BAD_REQUEST", 400, true, "the request is not a valid GraphQL request";
    /// The query does not parse or does not validate against the schema.
    QueryInvalid = "QUERY_INVALID", 400, true, "the query is not valid";
    /// The query is too deep, too complex or too large once its fragments are expanded.
    TooComplex = "TOO_COMPLEX", 400, true, "the query is too complex";
    /// The request needs credentials it did not carry, or carried wrong ones.
    Unauthenticated = "UNAUTHENTICATED", 401, true, "credentials are missing or wrong";
    /// The caller may not do this.
    Forbidden = "FORBIDDEN", 403, true, "not allowed";
    /// The HTTP method is not allowed for this request (a mutation over GET).
    MethodNotAllowed = "METHOD_NOT_ALLOWED", 405, true, "this HTTP method is not allowed here";
    /// No response media type the client accepts can be given.
    NotAcceptable = "NOT_ACCEPTABLE", 406, true, "no acceptable response media type";
    /// The request body is larger than the hub accepts.
    PayloadTooLarge = "PAYLOAD_TOO_LARGE", 413, true, "the request body is too large";
    /// The request body's media type is not one the hub reads.
    UnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE", 415, true, "the request's content type is not supported";
    /// The request did not finish within the hub's time limit and was stopped.
    Timeout = "TIMEOUT", 503, true, "the request took too long and was stopped";
    /// The hub's database does not answer; try again later.
    Unavailable = "UNAVAILABLE", 503, false, "the hub's database is unavailable; try again later";
    /// A connector's source could not be read (a file, a web API, a database).
    SourceUnreadable = "SOURCE_UNREADABLE", 502, false, "the connector's source could not be read";
    /// A connector's source is not what its mapping expects (format, header, shape).
    SourceInvalid = "SOURCE_INVALID", 422, false, "the connector's source does not have the shape its mapping expects";
    /// A connector's definition cannot run as it is (a missing secret, a bad option).
    ConfigInvalid = "CONFIG_INVALID", 422, false, "the connector's configuration cannot run";
    /// A run rejected more rows than its connector allows; nothing was loaded.
    TooManyRejects = "TOO_MANY_REJECTS", 422, true, "too many rows were rejected; nothing was loaded";
    /// A full refresh found no rows to load and kept the loaded ones.
    EmptySource = "EMPTY_SOURCE", 422, true, "the source gave no rows to load; nothing was changed";
    /// A run would change reference rows (areas, schools) another connector loaded,
    /// and its connector asks to fail then.
    OwnedElsewhere = "OWNED_ELSEWHERE", 409, true, "the run would change rows another connector loaded; nothing was changed";
    /// A row to remove is still referred to (an area with schools or observations).
    InUse = "IN_USE", 409, true, "the row is still referred to; nothing was removed";
    /// The connector is running now; runs of one connector never overlap.
    AlreadyRunning = "ALREADY_RUNNING", 409, true, "the connector is already running";
    /// The process running the run stopped answering; its lease expired.
    Abandoned = "ABANDONED", 500, true, "the process running this run stopped; the previous data stands";
    /// The run was stopped on request and rolled back.
    Cancelled = "CANCELLED", 499, true, "the run was cancelled; the previous data stands";
    /// The hub failed; the log has the details.
    Internal = "INTERNAL", 500, false, "internal error";
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error that knows its code in the closed list.
pub trait ErrorCode: std::error::Error {
    /// The code clients see.
    fn error_code(&self) -> Code;

    /// The message for a caller who may not see internals: the error's text when its
    /// code allows, else the code's fixed message.
    fn public_message(&self) -> String {
        let code = self.error_code();
        if code.detail_is_public() {
            self.to_string()
        } else {
            code.public_message().to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for code in Code::ALL {
            assert_eq!(code.as_str().parse::<Code>(), Ok(*code));
            assert!(seen.insert(code.as_str()), "{code} twice");
            assert!(!code.public_message().is_empty());
        }
        assert!("NOPE".parse::<Code>().is_err());
    }

    #[test]
    fn the_readme_lists_every_code_with_its_status() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
            .expect("README.md");
        for code in Code::ALL {
            let row = format!("| `{}` | {} |", code.as_str(), code.http_status());
            assert!(readme.contains(&row), "README.md lacks the row {row}");
        }
    }
}
