//! Exports' vocabulary (issue 13 §4): the lists a file can be made of, the file's format, and
//! where an export made by a job stands. Writing the file is the server's (`api::export`);
//! keeping it is the store's (`rivet_store::exports`).

use crate::choices::choice_enum;

choice_enum!(
    /// The lists an export can name.
    ExportEntity {
        Leads => "leads",
        Accounts => "accounts",
        Contacts => "contacts",
        Deals => "deals",
        Tasks => "tasks",
        Activities => "activities",
    }
);

choice_enum!(
    /// The file an export writes.
    ExportFormat {
        Csv => "csv",
        Xlsx => "xlsx",
    }
);

impl ExportFormat {
    /// The file name's extension.
    pub fn extension(self) -> &'static str {
        self.as_str()
    }

    /// The media type the file is served with.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

choice_enum!(
    /// Where an export made by a job stands: `queued` and `running` (its job), then
    /// `completed` (the file can be downloaded until it expires), `failed` (the error says why)
    /// or `cancelled`.
    ExportStatus {
        Queued => "queued",
        Running => "running",
        Completed => "completed",
        Failed => "failed",
        Cancelled => "cancelled",
    }
);

impl ExportStatus {
    /// A job is, or is about to be, writing the file.
    pub fn is_busy(self) -> bool {
        matches!(self, Self::Queued | Self::Running)
    }
}
