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
