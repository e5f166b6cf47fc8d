//! The workflow state of a stored description: draft → published → archived.
//!
//! The enum lives in `verbund_schema::types` (it types the `status` column); it is re-exported
//! here at its old path.

use crate::model::PublishState;

pub use verbund_schema::types::ServiceStatus;

impl From<PublishState> for ServiceStatus {
    fn from(state: PublishState) -> Self {
        match state {
            PublishState::Draft => Self::Draft,
            PublishState::Published => Self::Published,
        }
    }
}
