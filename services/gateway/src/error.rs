//! The closed list of error codes a client sees in `extensions.code`. Internals (SQL,
//! server paths) never reach a response: they are logged once, where they are handled.

use async_graphql::{Error, ErrorExtensions};

/// Machine-readable error codes, documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The named thing does not exist.
    NotFound,
    /// An argument is invalid (page size, cursor, filter).
    BadInput,
    /// A connector's source could not be read (preview).
    SourceUnreadable,
    /// The request needs credentials it did not carry (or carried wrong ones).
    Unauthenticated,
    /// The request may not change this (a connector provisioned from the config file).
    Forbidden,
    /// The hub failed; the log has the details.
    Internal,
}

impl ErrorCode {
    /// The code as clients see it.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::BadInput => "BAD_INPUT",
            ErrorCode::SourceUnreadable => "SOURCE_UNREADABLE",
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::Internal => "INTERNAL",
        }
    }

    /// An error with this code and message.
    pub fn error(self, message: impl Into<String>) -> Error {
        Error::new(message).extend_with(|_, e| e.set("code", self.as_str()))
    }
}

/// Turns a store error into an INTERNAL error without its details.
pub(crate) fn internal(error: impl std::fmt::Display) -> Error {
    tracing::error!(error = %error, "query failed");
    ErrorCode::Internal.error("internal error; the hub's log has the details")
}

/// A value from the database that should be one of our words and is not.
pub(crate) fn corrupt(what: &str, value: &str) -> Error {
    internal(format!(
        "database holds {what} {value:?}, which this hub does not know"
    ))
}
