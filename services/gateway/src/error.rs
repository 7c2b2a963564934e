//! Errors as clients see them: every GraphQL error carries `extensions.code` from the
//! one closed list ([`Code`]). An error's own text reaches the caller only when its code
//! allows it, or when the caller is an admin; otherwise the caller gets the code's fixed
//! message and an error id, and the log has the text under that id.

use abe_schema::{Code, ErrorCode};
use async_graphql::{Context, Error, ErrorExtensions};
use std::fmt::Display;

/// Makes GraphQL errors from codes.
pub(crate) trait CodeExt {
    /// An error with this code and message.
    fn error(self, message: impl Into<String>) -> Error;
}

impl CodeExt for Code {
    fn error(self, message: impl Into<String>) -> Error {
        Error::new(message).extend_with(|_, e| e.set("code", self.as_str()))
    }
}

/// A short random id that a public message quotes and the log line carries.
pub(crate) fn error_id() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    id[..12].to_string()
}

/// An error whose text the caller may not see: logged with an id, answered with the
/// code's fixed message quoting it.
pub(crate) fn withheld(code: Code, detail: &dyn Display) -> Error {
    let id = error_id();
    tracing::error!(error_id = %id, code = %code, error = %detail, "request failed");
    code.error(format!(
        "{} (error {id}; the hub's log has the details)",
        code.public_message()
    ))
}

/// An error of the hub as any caller may see it.
pub(crate) fn failure<E: ErrorCode>(error: E) -> Error {
    let code = error.error_code();
    if code.detail_is_public() {
        code.error(error.to_string())
    } else {
        withheld(code, &error)
    }
}

/// An error of the hub as this caller may see it: in full for an admin.
pub(crate) fn failure_for<E: ErrorCode>(ctx: &Context<'_>, error: E) -> Error {
    if crate::Caller::of(ctx).is_admin() {
        let code = error.error_code();
        code.error(error.to_string())
    } else {
        failure(error)
    }
}

/// The hub failed in a way no caller should see the details of.
pub(crate) fn internal(error: impl Display) -> Error {
    withheld(Code::Internal, &error)
}

/// A value from the database that should be one of our words and is not.
pub(crate) fn corrupt(what: &str, value: &str) -> Error {
    internal(format!(
        "database holds {what} {value:?}, which this hub does not know"
    ))
}
