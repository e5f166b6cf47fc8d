//! The workflow state of a stored description: draft → published → archived.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::model::PublishState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ServiceStatus {
    /// Being edited; visible only inside the owning tenant.
    Draft,
    /// Visible to every agent in the Verbund and in search.
    Published,
    /// Withdrawn; kept with its history, visible only inside the owning tenant.
    Archived,
}

impl ServiceStatus {
    pub const ALL: [ServiceStatus; 3] = [Self::Draft, Self::Published, Self::Archived];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Published => "published",
            Self::Archived => "archived",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// German label for the UI.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Draft => "Entwurf",
            Self::Published => "Veröffentlicht",
            Self::Archived => "Archiviert",
        }
    }
}

impl From<PublishState> for ServiceStatus {
    fn from(state: PublishState) -> Self {
        match state {
            PublishState::Draft => Self::Draft,
            PublishState::Published => Self::Published,
        }
    }
}

impl fmt::Display for ServiceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
