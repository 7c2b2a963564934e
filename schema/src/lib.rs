//! The unified model of abe-hub: the rows every connector is mapped into and their
//! one description each ([`target`], [`targets`]), their validation, the closed list of
//! error codes ([`error`]), the one redaction rule ([`redact`]), and the Thai helpers
//! (area codes, Buddhist-era years, Thai digits, number formats, dates and reporting
//! periods) that the mapping language and the store share. No I/O lives here.

pub mod alerting;
pub mod error;
pub mod model;
pub mod period;
pub mod position;
pub mod redact;
pub mod registry;
pub mod summary;
pub mod target;
pub mod targets;
pub mod thai;

pub use alerting::{AlertRule, LegendEntry};
pub use error::{Code, ErrorCode};
pub use model::*;
pub use position::{Reject, SourcePosition};
pub use registry::Topic;
pub use summary::{ReasonCount, ReasonSummary};
pub use target::{
    Column, ColumnType, FieldError, Fields, Ownership, References, TargetDesc, TargetRow, Value,
};
pub use targets::{AreaRow, ObservationRow, ProblemRow, ResourceRow, SchoolRow};
